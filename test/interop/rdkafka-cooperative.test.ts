// node-rdkafka consumer group with partition.assignment.strategy=cooperative-sticky against
// Eddy (KIP-429 incremental rebalancing). Members are child processes with manual commits;
// they join and leave one by one while records flow, and no record is lost.
//
// librdkafka 2.0.2 drops its whole assignment when a manual commit sent during a rebalance
// comes back ILLEGAL_GENERATION (the commit queues behind the member's JoinGroup and is
// answered after the generation moved on; librdkafka issue #4059, fixed in later releases).
// So stickiness (members keep what they own, never drop to nothing) is checked with members
// that commit only on close; members that commit after every batch are checked for what
// still holds with that bug: every rebalance converges and no record is lost.
//
// node-rdkafka 2.15 does not expose incremental_assign/incremental_unassign to JavaScript
// (its assign() is the eager one, which librdkafka refuses under the cooperative protocol),
// so the members install no rebalance callback and librdkafka's built-in handler applies
// the incremental assignments. Assignments are observed by polling consumer.assignments().
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { uniqueName, waitFor } from '../helpers/client.js';
import { startEddyBroker, type TestBroker } from '../helpers/eddy-broker.js';
import {
  addExpected,
  balanced,
  Coverage,
  createAdmin,
  createTopic,
  describeGroup,
  GroupMember,
  type ProcessedRecord,
  produceNumbered,
} from './rdkafka-support.js';

const PARTITIONS = 6;
const RECORDS = Number(process.env.EDDY_RDKAFKA_COOP_RECORDS ?? 40_000);
const SESSION_MS = 15_000;
const HEARTBEAT_MS = 1000;
const SLOW_RATE_PER_SEC = 400;

let broker: TestBroker;
const members: GroupMember[] = [];

before(async () => {
  broker = await startEddyBroker({ 'auto.create.topics.enable': false });
});

after(async () => {
  for (const m of members) await m.kill();
  await broker.stop();
});

function isSubset(small: readonly number[], big: readonly number[]): boolean {
  return small.every((p) => big.includes(p));
}

/** Whether a member's reported assignment went empty after `sinceIndex` in its history. */
function droppedToNothing(m: GroupMember, sinceIndex: number): boolean {
  return m.assignmentHistory.slice(sinceIndex).some((h) => h.partitions.length === 0);
}

interface ScenarioResult {
  members: GroupMember[];
  coverage: Coverage;
  /** Commits answered ILLEGAL_GENERATION (each makes librdkafka 2.0.2 drop its assignment). */
  illegalGenerationCommits: number;
}

/**
 * c1 starts alone; c2 and c3 join; c2 and c3 leave cleanly; c1 drains the topic. With
 * `checkSticky`, each step also checks that the members kept what they owned.
 */
async function scenario(commitEachBatch: boolean, checkSticky: boolean): Promise<ScenarioResult> {
  const topic = uniqueName('rdk-coop');
  const groupId = uniqueName('rdk-coop-g');
  const admin = createAdmin(broker.bootstrap);
  await createTopic(admin, topic, PARTITIONS);
  admin.disconnect();
  const expected: string[][] = Array.from({ length: PARTITIONS }, () => []);
  addExpected(expected, await produceNumbered(broker.bootstrap, topic, PARTITIONS, RECORDS));
  const coverage = new Coverage(expected);
  const onRecords = (_m: GroupMember, records: ProcessedRecord[]): void => {
    for (const r of records) coverage.add(r);
  };
  const member = (name: string): GroupMember => {
    const m = new GroupMember(
      name,
      {
        bootstrap: broker.bootstrap,
        topic,
        groupId,
        strategy: 'cooperative-sticky',
        sessionTimeoutMs: SESSION_MS,
        heartbeatIntervalMs: HEARTBEAT_MS,
        ratePerSec: SLOW_RATE_PER_SEC,
        commitEachBatch,
      },
      onRecords,
    );
    members.push(m);
    return m;
  };
  const sticky = (ok: boolean, message: string): void => {
    if (checkSticky) assert.ok(ok, message);
  };

  const c1 = member('c1');
  await waitFor(() => c1.assignment?.length === PARTITIONS, 120_000, `c1 alone owns everything:\n${c1.describe()}`);
  await waitFor(() => c1.processedCount > 0, 60_000, 'c1 processing');

  // Joins: the existing members keep a subset of what they had and never drop to nothing in
  // between (cooperative: only the partitions that move are revoked).
  const c2 = member('c2');
  let mark = c1.assignmentHistory.length;
  let c1Before = c1.assignment ?? [];
  await waitFor(() => balanced([c1, c2], PARTITIONS), 120_000, `c2 joined:\n${describeGroup([c1, c2])}`);
  sticky(isSubset(c1.assignment ?? [], c1Before), `c1 kept part of ${c1Before}: ${c1.assignment}`);
  sticky(!droppedToNothing(c1, mark), `c1 was fully revoked: ${JSON.stringify(c1.assignmentHistory)}`);
  await waitFor(() => c2.processedCount > 0, 60_000, 'c2 processing');

  const c3 = member('c3');
  mark = c1.assignmentHistory.length;
  const c2Mark = c2.assignmentHistory.length;
  c1Before = c1.assignment ?? [];
  const c2Before = c2.assignment ?? [];
  await waitFor(() => balanced([c1, c2, c3], PARTITIONS), 120_000, `c3 joined:\n${describeGroup([c1, c2, c3])}`);
  for (const m of [c1, c2, c3]) assert.equal(m.assignment?.length, 2, m.describe());
  sticky(isSubset(c1.assignment ?? [], c1Before), `c1 kept part of ${c1Before}: ${c1.assignment}`);
  sticky(isSubset(c2.assignment ?? [], c2Before), `c2 kept part of ${c2Before}: ${c2.assignment}`);
  sticky(!droppedToNothing(c1, mark), `c1 was fully revoked: ${JSON.stringify(c1.assignmentHistory)}`);
  sticky(!droppedToNothing(c2, c2Mark), `c2 was fully revoked: ${JSON.stringify(c2.assignmentHistory)}`);
  await waitFor(() => c3.processedCount > 0, 60_000, 'c3 processing');

  // Leaves: the remaining members keep what they had and gain the leaver's partitions.
  c1Before = c1.assignment ?? [];
  const c3Before = c3.assignment ?? [];
  await c2.stop();
  assert.ok(c2.closedCleanly, c2.describe());
  await waitFor(() => balanced([c1, c3], PARTITIONS), 60_000, `c2 left:\n${describeGroup([c1, c3])}`);
  sticky(isSubset(c1Before, c1.assignment ?? []), `c1 kept ${c1Before}: ${c1.assignment}`);
  sticky(isSubset(c3Before, c3.assignment ?? []), `c3 kept ${c3Before}: ${c3.assignment}`);

  c1Before = c1.assignment ?? [];
  await c3.stop();
  assert.ok(c3.closedCleanly, c3.describe());
  await waitFor(() => c1.assignment?.length === PARTITIONS, 60_000, `c3 left:\n${c1.describe()}`);
  sticky(isSubset(c1Before, c1.assignment ?? []), `c1 kept ${c1Before}: ${c1.assignment}`);

  // c1 drains the rest; every record is processed at least once.
  c1.send('rate 0');
  await waitFor(
    () => coverage.missingCount() === 0,
    300_000,
    `all records processed; gaps ${JSON.stringify([...coverage.gaps()])}`,
  );
  await c1.stop();
  assert.ok(c1.closedCleanly, c1.describe());
  assert.deepEqual(coverage.wrongValues, []);
  assert.deepEqual([...coverage.gaps()], []);
  const group = [c1, c2, c3];
  for (const m of group) assert.ok(!m.errors.some((e) => e.startsWith('fatal')), m.describe());
  const illegalGenerationCommits = group.flatMap((m) => m.errors).filter((e) => e.startsWith('commit 22 ')).length;
  return { members: group, coverage, illegalGenerationCommits };
}

it('node-rdkafka cooperative-sticky: members join and leave, assignments move incrementally and stick, no record lost', {
  timeout: 900_000,
}, async () => {
  const r = await scenario(false, true);
  // Committing only on close, no commit can race a rebalance.
  assert.equal(r.illegalGenerationCommits, 0);
  console.log(
    `# cooperative-sticky, commit on close: ${RECORDS} records; processed ${r.members.map((m) => `${m.name} ${m.processedCount}`).join(', ')}; ${r.coverage.duplicates} duplicates`,
  );
});

it('node-rdkafka cooperative-sticky with a commit after every batch: rebalances converge, no record lost', {
  timeout: 900_000,
}, async () => {
  const r = await scenario(true, false);
  console.log(
    `# cooperative-sticky, commit per batch: ${RECORDS} records; processed ${r.members.map((m) => `${m.name} ${m.processedCount}`).join(', ')}; ${r.coverage.duplicates} duplicates; ${r.illegalGenerationCommits} commits answered ILLEGAL_GENERATION during rebalances`,
  );
});
