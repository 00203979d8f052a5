// Client benchmark: Eddy's client against kafkajs, @platformatic/kafka and (when installed)
// node-rdkafka, on the same broker in one run, with the same record counts and settings.
// Reported: records/s for produce (acks=1, acks=all) and consume, and each client's ratio
// to @platformatic/kafka measured in the same run.
//
// Run: npm run bench:client [-- --bootstrap host:port] [--records N] [--partitions P]
//   The broker is, in order: --bootstrap / EDDY_BENCH_BOOTSTRAP; Eddy's embedded broker
//   (startBroker from src/index.ts) in a child process; librdkafka's mock cluster
//   (@platformatic/kafka cannot talk to it: it needs ApiVersions v3+).
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Admin, Consumer, Producer } from '../src/client/index.js';
import { type MockCluster, startMockCluster } from '../test/helpers/rdkafka-mock/index.js';

const require = createRequire(import.meta.url);

interface Options {
  bootstrap: string | undefined;
  records: number;
  partitions: number;
  valueBytes: number;
  chunk: number;
  concurrency: number;
  clients: string[];
}

function parseArgs(): Options {
  const args = process.argv.slice(2);
  const get = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  return {
    bootstrap: get('bootstrap') ?? process.env.EDDY_BENCH_BOOTSTRAP,
    records: Number(get('records') ?? 200_000),
    partitions: Number(get('partitions') ?? 4),
    valueBytes: Number(get('value-bytes') ?? 100),
    chunk: Number(get('chunk') ?? 1000),
    concurrency: Number(get('concurrency') ?? 8),
    clients: (get('clients') ?? 'eddy,kafkajs,platformatic,rdkafka').split(','),
  };
}

// ---- the broker under test

interface Target {
  bootstrap: string;
  kind: 'external' | 'eddy' | 'mock';
  createTopic(name: string, partitions: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts Eddy's embedded broker in a child process, so it does not share our event loop. */
async function startEddyChild(partitions: number): Promise<{ bootstrap: string; child: ChildProcess } | null> {
  const entry = new URL('../src/index.js', import.meta.url).href;
  const script = `
    const m = await import(${JSON.stringify(entry)});
    if (typeof m.startBroker !== 'function') process.exit(3);
    const b = await m.startBroker({ config: { 'num.partitions': ${partitions}, 'group.initial.rebalance.delay.ms': 0 } });
    console.log('BOOTSTRAP ' + b.bootstrap);
    process.stdin.on('end', async () => { await b.stop(); process.exit(0); });
    process.stdin.resume();`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const bootstrap = await new Promise<string | null>((resolve) => {
    lines.once('line', (l) => resolve(l.startsWith('BOOTSTRAP ') ? l.slice(10) : null));
    child.once('exit', () => resolve(null));
  });
  if (bootstrap === null) {
    child.kill();
    return null;
  }
  return { bootstrap, child };
}

async function startTarget(opts: Options): Promise<Target> {
  const adminCreate = async (bootstrap: string, name: string, partitions: number): Promise<void> => {
    const admin = new Admin({ bootstrapServers: bootstrap, logger: null });
    try {
      await admin.createTopics([{ name, numPartitions: partitions, replicationFactor: 1 }]);
    } finally {
      await admin.close();
    }
  };
  if (opts.bootstrap) {
    const bootstrap = opts.bootstrap;
    return { bootstrap, kind: 'external', createTopic: (n, p) => adminCreate(bootstrap, n, p), stop: async () => {} };
  }
  const eddy = await startEddyChild(opts.partitions);
  if (eddy) {
    return {
      bootstrap: eddy.bootstrap,
      kind: 'eddy',
      createTopic: (n, p) => adminCreate(eddy.bootstrap, n, p),
      stop: async () => {
        eddy.child.stdin?.end();
        await new Promise((r) => eddy.child.once('exit', r));
      },
    };
  }
  const mock: MockCluster = await startMockCluster(1);
  return {
    bootstrap: mock.bootstrap,
    kind: 'mock',
    createTopic: (n, p) => mock.createTopic(n, p),
    stop: () => mock.stop(),
  };
}

// ---- workloads

type Acks = 1 | -1;

interface ConsumeTiming {
  startedAt: number;
  firstAt: number;
  lastAt: number;
}

interface ClientUnderTest {
  name: string;
  /** Sends `count` records of `value` to `topic` in chunks, `concurrency` chunks at a time. */
  produce(bootstrap: string, topic: string, acks: Acks, value: Buffer, opts: Options): Promise<void>;
  /** Reads `count` records from the beginning of `topic`; returns when the first and last arrived (performance.now()). */
  consume(bootstrap: string, topic: string, count: number): Promise<ConsumeTiming>;
}

/** Runs chunk sends with a bounded number outstanding. */
async function windowed(
  total: number,
  chunk: number,
  concurrency: number,
  send: (n: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const n = Math.min(chunk, total - next);
      next += n;
      await send(n);
    }
  });
  await Promise.all(workers);
}

const eddyClient: ClientUnderTest = {
  name: 'eddy',
  async produce(bootstrap, topic, acks, value, opts) {
    const producer = new Producer({
      bootstrapServers: bootstrap,
      acks: acks === -1 ? 'all' : 1,
      logger: null,
    });
    await producer.connect();
    await producer.cluster.ensureTopics([topic]);
    const records = Array.from({ length: opts.chunk }, () => ({ topic, value }));
    await windowed(opts.records, opts.chunk, opts.concurrency, (n) =>
      producer.sendBatch(n === records.length ? records : records.slice(0, n)),
    );
    await producer.close();
  },
  async consume(bootstrap, topic, count) {
    const startedAt = performance.now();
    let firstAt = 0;
    let lastAt = 0;
    const consumer = new Consumer({
      bootstrapServers: bootstrap,
      groupId: `bench-${topic}`,
      autoOffsetReset: 'earliest',
      autoCommit: false,
      logger: null,
    });
    consumer.subscribe(topic);
    let n = 0;
    for await (const batch of consumer) {
      if (n === 0) firstAt = performance.now();
      n += batch.messages.length;
      if (n >= count) break;
    }
    lastAt = performance.now();
    await consumer.close();
    return { startedAt, firstAt, lastAt };
  },
};

/** Eddy's fire-and-forget produce() with flush(), for reference (no other client has it). */
const eddyFireAndForget: ClientUnderTest = {
  name: 'eddy produce()',
  async produce(bootstrap, topic, acks, value, opts) {
    const producer = new Producer({
      bootstrapServers: bootstrap,
      acks: acks === -1 ? 'all' : 1,
      logger: null,
    });
    await producer.connect();
    await producer.cluster.ensureTopics([topic]);
    const record = { topic, value };
    for (let i = 0; i < opts.records; i++) {
      if (!producer.produce(record)) await producer.drained();
    }
    await producer.flush();
    await producer.close();
  },
  consume: eddyClient.consume,
};

// Third-party clients are loaded loosely typed: only their documented calls are used.
// biome-ignore lint/suspicious/noExplicitAny: third-party module under test
type Loose = any;

const kafkajsClient: ClientUnderTest = {
  name: 'kafkajs',
  async produce(bootstrap, topic, acks, value, opts) {
    const { Kafka, logLevel } = require('kafkajs') as Loose;
    const kafka = new Kafka({ clientId: 'bench', brokers: [bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const messages = Array.from({ length: opts.chunk }, () => ({ value }));
    await windowed(opts.records, opts.chunk, opts.concurrency, (n) =>
      producer.send({ topic, acks, messages: n === messages.length ? messages : messages.slice(0, n) }),
    );
    await producer.disconnect();
  },
  async consume(bootstrap, topic, count) {
    const { Kafka, logLevel } = require('kafkajs') as Loose;
    const kafka = new Kafka({ clientId: 'bench', brokers: [bootstrap], logLevel: logLevel.NOTHING });
    const startedAt = performance.now();
    let firstAt = 0;
    let lastAt = 0;
    const consumer = kafka.consumer({ groupId: `bench-kafkajs-${topic}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let n = 0;
    await new Promise<void>((resolve) => {
      consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }: Loose) => {
          if (n === 0) firstAt = performance.now();
          n += batch.messages.length;
          if (n >= count) {
            lastAt = performance.now();
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    return { startedAt, firstAt, lastAt };
  },
};

const platformaticClient: ClientUnderTest = {
  name: '@platformatic/kafka',
  async produce(bootstrap, topic, acks, value, opts) {
    const { Producer: PProducer } = require('@platformatic/kafka') as Loose;
    const producer = new PProducer({ clientId: 'bench', bootstrapBrokers: [bootstrap], acks, idempotent: false });
    const messages = Array.from({ length: opts.chunk }, () => ({ topic, value }));
    await windowed(opts.records, opts.chunk, opts.concurrency, (n) =>
      producer.send({ messages: n === messages.length ? messages : messages.slice(0, n) }),
    );
    await producer.close();
  },
  async consume(bootstrap, topic, count) {
    const { Consumer: PConsumer } = require('@platformatic/kafka') as Loose;
    const startedAt = performance.now();
    let firstAt = 0;
    let lastAt = 0;
    const consumer = new PConsumer({
      clientId: 'bench',
      groupId: `bench-platformatic-${topic}`,
      bootstrapBrokers: [bootstrap],
    });
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 100 });
    let n = 0;
    await new Promise<void>((resolve, reject) => {
      stream.on('data', () => {
        if (n === 0) firstAt = performance.now();
        n++;
        if (n === count) {
          lastAt = performance.now();
          resolve();
        }
      });
      stream.on('error', reject);
    });
    await stream.close();
    await consumer.close(true);
    return { startedAt, firstAt, lastAt };
  },
};

function rdkafkaClient(): ClientUnderTest | null {
  let Kafka: Loose;
  try {
    Kafka = require('node-rdkafka');
  } catch {
    return null;
  }
  return {
    name: 'node-rdkafka',
    async produce(bootstrap, topic, acks, value, opts) {
      const producer = new Kafka.Producer({ 'metadata.broker.list': bootstrap, dr_cb: true, 'linger.ms': 5 }, { acks });
      await new Promise((r) => producer.connect({}, r));
      producer.setPollInterval(10);
      let delivered = 0;
      const done = new Promise<void>((resolve) =>
        producer.on('delivery-report', () => {
          if (++delivered === opts.records) resolve();
        }),
      );
      for (let i = 0; i < opts.records; i++) {
        for (;;) {
          try {
            producer.produce(topic, null, value);
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 1));
          }
        }
      }
      await done;
      await new Promise((r) => producer.disconnect(r));
    },
    async consume(bootstrap, topic, count) {
      const startedAt = performance.now();
      let firstAt = 0;
      let lastAt = 0;
      const consumer = new Kafka.KafkaConsumer(
        { 'metadata.broker.list': bootstrap, 'group.id': `bench-rdkafka-${topic}`, 'enable.auto.commit': false },
        { 'auto.offset.reset': 'earliest' },
      );
      await new Promise((r) => consumer.connect({}, r));
      consumer.subscribe([topic]);
      let n = 0;
      await new Promise<void>((resolve) => {
        const loop = (): void => {
          consumer.consume(1000, (_err: unknown, msgs: unknown[]) => {
            if (msgs.length > 0 && n === 0) firstAt = performance.now();
            n += msgs.length;
            if (n >= count) {
              lastAt = performance.now();
              resolve();
            } else setImmediate(loop);
          });
        };
        loop();
      });
      await new Promise((r) => consumer.disconnect(r));
      return { startedAt, firstAt, lastAt };
    },
  };
}

// ---- driver

interface Row {
  client: string;
  produceAcks1: number;
  produceAcksAll: number;
  consume: number;
  consumeFirstMs: number;
}

const ROUNDS = 3;

function emptyRow(client: string): Row {
  return {
    client,
    produceAcks1: Number.NaN,
    produceAcksAll: Number.NaN,
    consume: Number.NaN,
    consumeFirstMs: Number.NaN,
  };
}

const best = (a: number, b: number): number => (Number.isNaN(a) ? b : Math.max(a, b));

/** One round of every workload for one client; keeps the best figure per workload in `row`. */
async function measureRound(
  c: ClientUnderTest,
  target: Target,
  opts: Options,
  value: Buffer,
  doConsume: boolean,
  row: Row,
  round: number,
): Promise<void> {
  const slug = c.name.replace(/[^a-z0-9]+/gi, '-');
  for (const acks of [1, -1] as Acks[]) {
    const topic = `bench-${slug}-acks${acks === 1 ? '1' : 'all'}-${round}-${Date.now()}`;
    await target.createTopic(topic, opts.partitions);
    const started = performance.now();
    try {
      await c.produce(target.bootstrap, topic, acks, value, opts);
      const rate = opts.records / ((performance.now() - started) / 1000);
      if (acks === 1) row.produceAcks1 = best(row.produceAcks1, rate);
      else row.produceAcksAll = best(row.produceAcksAll, rate);
    } catch (err) {
      process.stderr.write(`${c.name} produce acks=${acks} failed: ${String(err)}\n`);
    }
  }
  if (!doConsume) return;
  // Every client reads the same data: written by Eddy's producer beforehand.
  const topic = `bench-${slug}-consume-${round}-${Date.now()}`;
  await target.createTopic(topic, opts.partitions);
  await eddyClient.produce(target.bootstrap, topic, 1, value, opts);
  try {
    const t = await c.consume(target.bootstrap, topic, opts.records);
    // From the first record to the last: group join and fetch start-up are reported apart.
    row.consume = best(row.consume, opts.records / ((t.lastAt - t.firstAt) / 1000));
    const first = t.firstAt - t.startedAt;
    row.consumeFirstMs = Number.isNaN(row.consumeFirstMs) ? first : Math.min(row.consumeFirstMs, first);
  } catch (err) {
    process.stderr.write(`${c.name} consume failed: ${String(err)}\n`);
  }
}

function fmt(n: number): string {
  return Number.isNaN(n) ? 'n/a' : Math.round(n).toLocaleString('en-US');
}

function ratio(n: number, base: number): string {
  return Number.isNaN(n) || Number.isNaN(base) || base === 0 ? 'n/a' : `${(n / base).toFixed(2)}x`;
}

async function main(): Promise<void> {
  const opts = parseArgs();
  const target = await startTarget(opts);
  const value = Buffer.alloc(opts.valueBytes);
  for (let i = 0; i < value.length; i++) value[i] = 97 + (i % 26);
  const clients: ClientUnderTest[] = [];
  for (const name of opts.clients) {
    if (name === 'eddy') clients.push(eddyClient, eddyFireAndForget);
    else if (name === 'kafkajs') clients.push(kafkajsClient);
    else if (name === 'platformatic') {
      if (target.kind === 'mock')
        process.stderr.write('skipping @platformatic/kafka: the mock cluster is too old for it\n');
      else clients.push(platformaticClient);
    } else if (name === 'rdkafka') {
      const c = rdkafkaClient();
      if (c) clients.push(c);
      else process.stderr.write('skipping node-rdkafka: not installed\n');
    }
  }
  process.stdout.write(
    `broker: ${target.kind} ${target.bootstrap}; ${opts.records} records of ${opts.valueBytes} bytes, ` +
      `${opts.partitions} partitions, ${opts.chunk} records per send call, ${opts.concurrency} calls in flight\n`,
  );
  const rows = clients.map((c) => emptyRow(c.name));
  try {
    // A warm-up pass so JIT compilation and connection setup do not count for whoever runs first.
    await measureRound(
      eddyClient,
      target,
      { ...opts, records: Math.min(opts.records, 20_000) },
      value,
      true,
      emptyRow('warm-up'),
      -1,
    );
    // Rounds interleave the clients, and each keeps its best round: a busy machine then
    // disturbs every client alike instead of whichever happened to run at the bad moment.
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, c] of clients.entries()) {
        await measureRound(c, target, opts, value, c !== eddyFireAndForget, rows[i] as Row, round);
      }
      process.stdout.write(`  round ${round + 1} of ${ROUNDS} done\n`);
    }
  } finally {
    await target.stop();
  }
  const base = rows.find((r) => r.client === '@platformatic/kafka');
  const header = [
    'client',
    'produce acks=1 rec/s',
    'ratio',
    'produce acks=all rec/s',
    'ratio',
    'consume rec/s',
    'ratio',
    'first record ms',
  ];
  const lines = rows.map((r) => [
    r.client,
    fmt(r.produceAcks1),
    ratio(r.produceAcks1, base?.produceAcks1 ?? Number.NaN),
    fmt(r.produceAcksAll),
    ratio(r.produceAcksAll, base?.produceAcksAll ?? Number.NaN),
    fmt(r.consume),
    ratio(r.consume, base?.consume ?? Number.NaN),
    fmt(r.consumeFirstMs),
  ]);
  process.stdout.write(`\nratios are to @platformatic/kafka in this run\n`);
  process.stdout.write(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n`);
  for (const l of lines) process.stdout.write(`| ${l.join(' | ')} |\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
