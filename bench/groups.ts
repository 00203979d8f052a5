// Consumer-group benchmark (issue 5): how long 10 consumers take to join one group and
// start consuming, and how long the group takes to rebalance when one member leaves.
//
// Clients: kafkajs 2.x consumers (an Eddy-independent client), all in this process; the
// broker runs in its own process. Each run uses a fresh group on a 10-partition topic that a
// producer keeps feeding, so every member consumes as soon as it has its partition.
//
//   npm run bench:groups -- [--repeat 3] [--members 10] [--json FILE]
//
// Two broker settings are measured: Kafka's default group.initial.rebalance.delay.ms
// (3000: the coordinator waits for more members before the first rebalance of an empty
// group) and 0 (every arrival triggers a rebalance at once).
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { createTopic } from './lib/admin.js';
import { type EddyProcess, startEddyProcess } from './lib/eddy-process.js';
import { loadAverage } from './lib/proc.js';
import { median, ms, table } from './lib/stats.js';

/** kafkajs settings: members notice a rebalance at their next heartbeat or fetch return. */
const HEARTBEAT_INTERVAL_MS = 500;
const SESSION_TIMEOUT_MS = 10_000;
const MAX_WAIT_TIME_MS = 500;
/** One record per partition this often while the group forms and rebalances. */
const FEED_INTERVAL_MS = 50;

interface Options {
  repeat: number;
  members: number;
  jsonFile: string | null;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { repeat: 3, members: 10, jsonFile: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${a} needs a value`);
    i++;
    if (a === '--repeat') opts.repeat = Math.max(1, Number(v));
    else if (a === '--members') opts.members = Math.max(2, Number(v));
    else if (a === '--json') opts.jsonFile = v;
    else throw new Error(`unknown option ${a}`);
  }
  return opts;
}

interface GroupRun {
  /** From the first connect() until every member has its assignment (GROUP_JOIN). */
  allJoinedMs: number;
  /** From the first connect() until every member has consumed its first record. */
  allConsumingMs: number;
  /** Most assignments any member received while the group formed (1: a single rebalance). */
  joinsPerMember: number;
  /** From the leaver's disconnect() until every remaining member has its new assignment. */
  rebalanceMs: number;
  /** From the leave until a record produced then to each partition is consumed (the leaver's included). */
  recoveredMs: number;
}

interface Member {
  consumer: Consumer;
  joins: number[];
  firstMessageAt: number | null;
  seen: Set<string>;
}

async function runOnce(kafka: Kafka, topic: string, partitions: number, members: number, seq: number) {
  const groupId = `bench-group-${seq}-${Date.now()}`;
  const group: Member[] = [];
  const t0 = performance.now();
  const waiters: (() => void)[] = [];
  const changed = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  const until = async (cond: () => boolean, timeoutMs: number, what: string): Promise<number> => {
    const deadline = performance.now() + timeoutMs;
    while (!cond()) {
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return performance.now();
  };
  // Records keep arriving on every partition, so a member consumes as soon as it has partitions
  // (with auto-commit, a first member would otherwise drain what later members are given).
  const producer = kafka.producer();
  await producer.connect();
  let producing = true;
  const feeder = (async () => {
    while (producing) {
      await producer.send({
        topic,
        acks: 1,
        messages: Array.from({ length: partitions }, (_, p) => ({ partition: p, value: `tick-${p}` })),
      });
      await new Promise((r) => setTimeout(r, FEED_INTERVAL_MS));
    }
  })();
  for (let i = 0; i < members; i++) {
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: SESSION_TIMEOUT_MS,
      heartbeatInterval: HEARTBEAT_INTERVAL_MS,
      maxWaitTimeInMs: MAX_WAIT_TIME_MS,
      retry: { retries: 10 },
    });
    const m: Member = { consumer, joins: [], firstMessageAt: null, seen: new Set() };
    group.push(m);
    consumer.on(consumer.events.GROUP_JOIN, () => {
      m.joins.push(performance.now());
      changed();
    });
  }
  // All members start at once, as a deployment of 10 instances would; kafkajs's run() returns
  // only after the member has joined, so starting them one by one would measure 10 rebalances.
  await Promise.all(
    group.map(async (m) => {
      await m.consumer.connect();
      await m.consumer.subscribe({ topic, fromBeginning: true });
      await m.consumer.run({
        eachMessage: async ({ message }) => {
          m.firstMessageAt ??= performance.now();
          if (message.value) m.seen.add(message.value.toString());
          changed();
        },
      });
    }),
  );
  try {
    const joinedAt = await until(() => group.every((m) => m.joins.length > 0), 60_000, 'all members to join');
    const consumingAt = await until(() => group.every((m) => m.firstMessageAt !== null), 60_000, 'all to consume');
    const result: GroupRun = {
      allJoinedMs: joinedAt - t0,
      allConsumingMs: consumingAt - t0,
      joinsPerMember: 0,
      rebalanceMs: Number.NaN,
      recoveredMs: Number.NaN,
    };
    // Let the group settle (late rebalances from the join storm), then one member leaves.
    await new Promise((r) => setTimeout(r, 2000));
    result.joinsPerMember = Math.max(...group.map((m) => m.joins.length));
    const leaver = group.pop() as Member;
    const joinsBefore = group.map((m) => m.joins.length);
    const tLeave = performance.now();
    await leaver.consumer.disconnect();
    const marker = `after-leave-${seq}`;
    await producer.send({
      topic,
      acks: 1,
      messages: Array.from({ length: partitions }, (_, p) => ({ partition: p, value: `${marker}-${p}` })),
    });
    const rebalancedAt = await until(
      () => group.every((m, i) => m.joins.length > (joinsBefore[i] as number)),
      60_000,
      'the remaining members to rejoin',
    );
    const recoveredAt = await until(
      () => {
        let n = 0;
        for (const m of group) for (const v of m.seen) if (v.startsWith(marker)) n++;
        return n >= partitions;
      },
      60_000,
      'records on every partition after the leave',
    );
    result.rebalanceMs = rebalancedAt - tLeave;
    result.recoveredMs = recoveredAt - tLeave;
    return result;
  } finally {
    producing = false;
    await feeder.catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await Promise.all(group.map((m) => m.consumer.disconnect().catch(() => undefined)));
  }
}

async function measure(delayMs: number, opts: Options, log: (s: string) => void): Promise<GroupRun[]> {
  let eddy: EddyProcess | null = null;
  try {
    eddy = await startEddyProcess({ config: { 'group.initial.rebalance.delay.ms': delayMs } });
    const partitions = opts.members;
    const topic = 'group-bench';
    await createTopic(eddy.bootstrap, topic, partitions);
    const kafka = new Kafka({ clientId: 'eddy-bench', brokers: [eddy.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: 1,
      messages: Array.from({ length: partitions * 10 }, (_, i) => ({ partition: i % partitions, value: `seed-${i}` })),
    });
    await producer.disconnect();
    const runs: GroupRun[] = [];
    for (let i = 0; i < opts.repeat; i++) {
      log(`group.initial.rebalance.delay.ms=${delayMs}: run ${i + 1}`);
      runs.push(await runOnce(kafka, topic, partitions, opts.members, i));
    }
    return runs;
  } finally {
    await eddy?.stop();
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const log = (s: string): void => {
    process.stderr.write(`[bench:groups] ${s}\n`);
  };
  const loadAtStart = loadAverage();
  const results: { delayMs: number; runs: GroupRun[] }[] = [];
  for (const delayMs of [3000, 0]) results.push({ delayMs, runs: await measure(delayMs, opts, log) });
  const out: string[] = [];
  out.push('Eddy consumer-group benchmark (single node, broker in its own process)');
  out.push(
    `machine: ${os.cpus().length} CPUs; node ${process.version}; load average ${loadAtStart} at start, ${loadAverage()} at end`,
  );
  out.push(
    `clients: ${opts.members} kafkajs consumers in one process (heartbeatInterval ${HEARTBEAT_INTERVAL_MS} ms, sessionTimeout ${SESSION_TIMEOUT_MS} ms, maxWaitTimeInMs ${MAX_WAIT_TIME_MS}), ${opts.members} partitions, ${opts.repeat} runs each, median shown [min-max]`,
  );
  const cell = (values: number[]): string =>
    `${ms(median(values), 0)} [${Math.min(...values).toFixed(0)}-${Math.max(...values).toFixed(0)}]`;
  out.push(
    table(
      [
        'initial rebalance delay',
        'all joined',
        'all consuming',
        'joins per member',
        'rebalance after leave',
        'leaver partition consumed',
      ],
      results.map(({ delayMs, runs }) => [
        `${delayMs} ms`,
        cell(runs.map((r) => r.allJoinedMs)),
        cell(runs.map((r) => r.allConsumingMs)),
        String(median(runs.map((r) => r.joinsPerMember))),
        cell(runs.map((r) => r.rebalanceMs)),
        cell(runs.map((r) => r.recoveredMs)),
      ]),
    ),
  );
  out.push(
    '"rebalance after leave": from the leaver\'s disconnect() (LeaveGroup) until every remaining member has its new assignment.',
  );
  process.stdout.write(`${out.join('\n')}\n`);
  if (opts.jsonFile) writeFileSync(opts.jsonFile, `${JSON.stringify(results, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:groups failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
