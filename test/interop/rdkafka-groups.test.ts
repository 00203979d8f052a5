// node-rdkafka consumer groups against an Eddy broker process. Group members are child
// processes (test/interop/rdkafka-children/group-member.ts) with manual commits, so one can
// be SIGKILLed. Over a 100k-record, 6-partition topic: three members join, one leaves
// cleanly, a static member (group.instance.id) restarts and gets its partitions back without
// a rebalance, one is killed and expires by session timeout, every record is processed at
// least once with no gap, and after a broker restart (same data dir and port) the committed
// offsets are intact and a new member resumes from them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Admin } from '../../src/client/admin.js';
import { uniqueName, waitFor } from '../helpers/client.js';
import {
  addExpected,
  type BrokerProcess,
  balanced,
  Coverage,
  createAdmin,
  createTopic,
  describeGroup,
  freePort,
  GroupMember,
  type MemberOptions,
  type ProcessedRecord,
  produceNumbered,
  startBrokerProcess,
} from './rdkafka-support.js';

const PARTITIONS = 6;
const RECORDS = Number(process.env.EDDY_RDKAFKA_GROUP_RECORDS ?? 100_000);
/** Dynamic members: long enough that a clean leave clearly beats it, short enough to wait out. */
const DYNAMIC_SESSION_MS = 15_000;
/** The static member's session outlives its restart, so it keeps its place in the group. */
const STATIC_SESSION_MS = 60_000;
const HEARTBEAT_MS = 1000;
/** Each member's pace while the membership changes, so the topic is not drained too early. */
const SLOW_RATE_PER_SEC = 300;

let dataDir: string;
let port: number;
let broker: BrokerProcess;
const members: GroupMember[] = [];
const brokerConfig = { 'auto.create.topics.enable': 'false', 'num.partitions': 1 };

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'eddy-rdkafka-groups-'));
  port = await freePort();
  broker = await startBrokerProcess(dataDir, port, brokerConfig);
});

after(async () => {
  for (const m of members) await m.kill();
  await broker?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function committedOffsets(bootstrap: string, groupId: string, topic: string): Promise<number[]> {
  const admin = new Admin({ bootstrapServers: bootstrap, logger: null });
  try {
    const offsets = await admin.fetchOffsets(
      groupId,
      Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })),
    );
    const out = new Array<number>(PARTITIONS).fill(-1);
    for (const o of offsets) out[o.partition] = o.offset;
    return out;
  } finally {
    await admin.close();
  }
}

it('node-rdkafka group: join, clean leave, static restart, session expiry, no gap, offsets survive a broker restart', {
  timeout: 900_000,
}, async () => {
  const topic = uniqueName('rdk-group');
  const groupId = uniqueName('rdk-group-g');
  const admin = createAdmin(broker.bootstrap);
  await createTopic(admin, topic, PARTITIONS);
  admin.disconnect();

  const expected: string[][] = Array.from({ length: PARTITIONS }, () => []);
  addExpected(expected, await produceNumbered(broker.bootstrap, topic, PARTITIONS, RECORDS));
  const ends = expected.map((l) => l.length);
  const coverage = new Coverage(expected);
  const onRecords = (_m: GroupMember, records: ProcessedRecord[]): void => {
    for (const r of records) coverage.add(r);
  };
  const member = (name: string, extra: Partial<MemberOptions> = {}): GroupMember => {
    const m = new GroupMember(
      name,
      {
        bootstrap: broker.bootstrap,
        topic,
        groupId,
        strategy: 'range',
        sessionTimeoutMs: DYNAMIC_SESSION_MS,
        heartbeatIntervalMs: HEARTBEAT_MS,
        ratePerSec: SLOW_RATE_PER_SEC,
        ...extra,
      },
      onRecords,
    );
    members.push(m);
    return m;
  };
  const staticOpts = { instanceId: 'static-1', sessionTimeoutMs: STATIC_SESSION_MS };

  // Three members join and split the six partitions two by two.
  const m1 = member('m1');
  const m2 = member('m2');
  const s1 = member('s1', staticOpts);
  let group = [m1, m2, s1];
  await waitFor(() => balanced(group, PARTITIONS), 120_000, `three balanced members:\n${describeGroup(group)}`);
  for (const m of group) assert.equal(m.assignment?.length, 2, m.describe());
  await waitFor(() => group.every((m) => m.processedCount > 0), 60_000, 'every member processing');

  // m1 leaves cleanly: LeaveGroup lets the others take over well before a session timeout.
  await m1.stop();
  assert.equal(m1.exitCode, 0, m1.describe());
  assert.ok(m1.closedCleanly, m1.describe());
  const leftAt = Date.now();
  group = [m2, s1];
  await waitFor(() => balanced(group, PARTITIONS), 60_000, `rebalance after m1 left:\n${describeGroup(group)}`);
  const leaveRebalanceMs = Date.now() - leftAt;
  assert.ok(leaveRebalanceMs < DYNAMIC_SESSION_MS, `rebalance after a clean leave took ${leaveRebalanceMs} ms`);

  // The static member restarts within its session: it gets the same partitions back and the
  // other member is not rebalanced (KIP-345).
  const staticPartitions = s1.assignment;
  const m2Changes = m2.assignmentHistory.length;
  await s1.stop();
  assert.equal(s1.exitCode, 0, s1.describe());
  const s1b = member('s1-restarted', staticOpts);
  await waitFor(
    () => (s1b.assignment?.length ?? 0) > 0,
    STATIC_SESSION_MS,
    `restarted static member assigned:\n${s1b.describe()}`,
  );
  assert.deepEqual(s1b.assignment, staticPartitions, 'the static member gets its partitions back');
  assert.equal(
    m2.assignmentHistory.length,
    m2Changes,
    `m2 kept its assignment: ${JSON.stringify(m2.assignmentHistory)}`,
  );
  await waitFor(() => s1b.processedCount > 0, 60_000, `restarted static member processing:\n${s1b.describe()}`);

  // m2 is killed: its partitions move to s1 only once its session times out.
  const killedAt = Date.now();
  await m2.kill();
  await waitFor(
    () => s1b.assignment?.length === PARTITIONS,
    DYNAMIC_SESSION_MS + 90_000,
    `s1 takes all partitions after m2's session expires:\n${s1b.describe()}`,
  );
  const expiryMs = Date.now() - killedAt;
  assert.ok(
    expiryMs >= DYNAMIC_SESSION_MS - 3 * HEARTBEAT_MS,
    `m2's partitions moved after ${expiryMs} ms, before its ${DYNAMIC_SESSION_MS} ms session could expire`,
  );

  // s1 drains the rest at full speed; every record is processed at least once, no gap.
  s1b.send('rate 0');
  await waitFor(
    () => coverage.missingCount() === 0,
    300_000,
    `all records processed; gaps ${JSON.stringify([...coverage.gaps()])}`,
  );
  await s1b.stop();
  assert.ok(s1b.closedCleanly, s1b.describe());
  assert.deepEqual(coverage.wrongValues, []);
  assert.deepEqual([...coverage.gaps()], []);
  for (const m of [m1, m2, s1, s1b]) {
    assert.ok(!m.errors.some((e) => e.startsWith('fatal')), m.describe());
  }

  // The final commits reached the end of every partition, and survive a broker restart.
  const committedBefore = await committedOffsets(broker.bootstrap, groupId, topic);
  assert.deepEqual(committedBefore, ends, 'committed offsets are at the end of each partition');
  await broker.stop();
  broker = await startBrokerProcess(dataDir, port, brokerConfig);
  const committedAfter = await committedOffsets(broker.bootstrap, groupId, topic);
  assert.deepEqual(committedAfter, committedBefore, 'committed offsets after the broker restart');

  // A new member resumes from the committed offsets: it sees only records produced after them.
  const more = 600;
  addExpected(expected, await produceNumbered(broker.bootstrap, topic, PARTITIONS, more, RECORDS));
  const tail = new Coverage(expected);
  const below: string[] = [];
  const resumed = new GroupMember(
    'resumed',
    {
      bootstrap: broker.bootstrap,
      topic,
      groupId,
      strategy: 'range',
      sessionTimeoutMs: DYNAMIC_SESSION_MS,
      heartbeatIntervalMs: HEARTBEAT_MS,
      ratePerSec: 0,
    },
    (_m, records) => {
      for (const r of records) {
        if (r.offset < (committedAfter[r.partition] as number)) below.push(`${r.partition}/${r.offset}`);
        tail.add(r);
      }
    },
  );
  members.push(resumed);
  await waitFor(
    () => tail.missingCount() <= RECORDS,
    120_000,
    `resumed member read the new records:\n${resumed.describe()}`,
  );
  await resumed.stop();
  assert.deepEqual(below, [], 'no record below the committed offsets is read again');
  assert.deepEqual(tail.wrongValues, []);
  for (let p = 0; p < PARTITIONS; p++) assert.equal(resumed.firstOffsets.get(p), committedAfter[p]);
  console.log(
    `# ${RECORDS} records; clean-leave rebalance ${leaveRebalanceMs} ms; killed member's partitions moved after ${expiryMs} ms; ${coverage.duplicates} records processed twice or more`,
  );
});
