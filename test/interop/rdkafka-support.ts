// Shared helpers for the node-rdkafka interop tests: promise wrappers around node-rdkafka's
// callback API, a producer with delivery tracking, and an Eddy broker run as a child process
// (so a test can restart it on the same port and data dir).
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Kafka, {
  type ConsumerGlobalConfig,
  type DeliveryReport,
  type IAdminClient,
  type KafkaConsumer,
  type LibrdKafkaError,
  type Message,
  type MessageHeader,
  type Metadata,
  type NewTopic,
  type Producer,
  type ProducerGlobalConfig,
  type ProducerTopicConfig,
} from 'node-rdkafka';

export { Kafka };

/** librdkafka's local error for a full producer queue (RD_KAFKA_RESP_ERR__QUEUE_FULL). */
export const ERR_QUEUE_FULL = -184;

/** Repository root, found from this file's place in dist/test/interop or test/interop. */
export function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${join('dist', 'test')}`) ? join(here, '..', '..', '..') : join(here, '..', '..');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function connectClient(client: Producer | KafkaConsumer, timeoutMs = 30_000): Promise<Metadata> {
  return new Promise((resolve, reject) => {
    client.connect({ timeout: timeoutMs }, (err, metadata) => (err ? reject(rdError(err)) : resolve(metadata)));
  });
}

export function disconnectClient(client: Producer | KafkaConsumer): Promise<void> {
  return new Promise((resolve) => {
    if (!client.isConnected()) {
      resolve();
      return;
    }
    client.disconnect(() => resolve());
  });
}

export function rdError(err: LibrdKafkaError | Error): Error {
  if (err instanceof Error) return err;
  const e = new Error(`librdkafka error ${err.code}: ${err.message}`);
  (e as Error & { code?: number }).code = err.code;
  return e;
}

export function createAdmin(bootstrap: string): IAdminClient {
  return Kafka.AdminClient.create({ 'metadata.broker.list': bootstrap, 'client.id': 'rdkafka-interop-admin' });
}

export function createTopic(
  admin: IAdminClient,
  topic: string,
  partitions: number,
  config?: Record<string, string>,
  timeoutMs = 30_000,
): Promise<void> {
  const spec: NewTopic = { topic, num_partitions: partitions, replication_factor: 1 };
  if (config) spec.config = config;
  return new Promise((resolve, reject) => {
    admin.createTopic(spec, timeoutMs, (err) => (err ? reject(rdError(err)) : resolve()));
  });
}

export function getTopicMetadata(
  client: Producer | KafkaConsumer,
  topic: string,
  timeoutMs = 15_000,
): Promise<Metadata> {
  return new Promise((resolve, reject) => {
    client.getMetadata({ topic, timeout: timeoutMs }, (err, md) => (err ? reject(rdError(err)) : resolve(md)));
  });
}

export interface OutRecord {
  /** null lets the configured partitioner choose. */
  partition: number | null;
  key: Buffer | null;
  value: Buffer;
  headers?: MessageHeader[];
  timestamp?: number;
}

export interface Delivered {
  partition: number;
  offset: number;
}

/**
 * Produces every record and waits for all delivery reports. Returns, by record index, where
 * each landed; rejects on the first delivery error. A full local queue is waited out.
 */
export async function produceAll(
  producer: Producer,
  topic: string,
  records: readonly OutRecord[],
  timeoutMs = 120_000,
): Promise<Delivered[]> {
  const delivered: (Delivered | undefined)[] = new Array(records.length);
  let reports = 0;
  let failure: Error | null = null;
  const onReport = (err: LibrdKafkaError | null, report: DeliveryReport): void => {
    reports++;
    if (err) {
      failure ??= rdError(err);
      return;
    }
    const index = report.opaque as unknown as number;
    delivered[index] = { partition: report.partition, offset: report.offset };
  };
  producer.on('delivery-report', onReport);
  producer.setPollInterval(10);
  const deadline = Date.now() + timeoutMs;
  try {
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as OutRecord;
      for (;;) {
        try {
          producer.produce(topic, r.partition, r.value, r.key, r.timestamp ?? null, i, r.headers);
          break;
        } catch (err) {
          if ((err as LibrdKafkaError).code !== ERR_QUEUE_FULL) throw err;
          if (Date.now() > deadline) throw new Error(`producer queue stayed full; ${reports} reports`);
          await sleep(5);
        }
      }
    }
    while (reports < records.length && failure === null) {
      if (Date.now() > deadline) throw new Error(`timed out: ${reports} of ${records.length} delivery reports`);
      await sleep(10);
    }
  } finally {
    producer.setPollInterval(0);
    producer.removeListener('delivery-report', onReport);
  }
  if (failure) throw failure;
  return delivered.map((d, i) => {
    if (!d) throw new Error(`record ${i} has no delivery report`);
    return d;
  });
}

/** A producer with delivery reports enabled, connected. */
export async function connectedProducer(
  bootstrap: string,
  conf: Partial<ProducerGlobalConfig> = {},
  topicConf: ProducerTopicConfig = {},
): Promise<Producer> {
  const producer = new Kafka.Producer(
    {
      'metadata.broker.list': bootstrap,
      dr_cb: true,
      'linger.ms': 5,
      ...conf,
    },
    topicConf,
  );
  await connectClient(producer);
  return producer;
}

/** A KafkaConsumer for manual assignment (a group id is required, but no group is joined). */
export async function connectedConsumer(
  bootstrap: string,
  conf: Partial<ConsumerGlobalConfig> = {},
): Promise<KafkaConsumer> {
  const consumer = new Kafka.KafkaConsumer(
    {
      'metadata.broker.list': bootstrap,
      'group.id': `rdkafka-interop-reader-${process.pid}-${Date.now()}`,
      'enable.auto.commit': false,
      'fetch.wait.max.ms': 100,
      ...conf,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  await connectClient(consumer);
  return consumer;
}

export function consumeBatch(consumer: KafkaConsumer, max: number): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    consumer.consume(max, (err, messages) => (err ? reject(rdError(err)) : resolve(messages)));
  });
}

/**
 * Consumes until `onMessages` returns true (it sees each batch); fails after `timeoutMs`
 * with `describe()` in the message.
 */
export async function consumeUntil(
  consumer: KafkaConsumer,
  onMessages: (batch: Message[]) => boolean,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  consumer.setDefaultConsumeTimeout(200);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await consumeBatch(consumer, 2000);
    if (onMessages(batch)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
  }
}

export function seek(consumer: KafkaConsumer, topic: string, partition: number, offset: number): Promise<void> {
  return new Promise((resolve, reject) => {
    consumer.seek({ topic, partition, offset }, 10_000, (err) => (err ? reject(rdError(err)) : resolve()));
  });
}

/** Picks a free loopback port (the OS's choice, released right away for the broker to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => done(true));
  });
}

export interface BrokerProcess {
  readonly bootstrap: string;
  readonly port: number;
  readonly dataDir: string;
  /** Clean stop (SIGTERM): the broker flushes and exits. */
  stop(timeoutMs?: number): Promise<void>;
  output(): string;
}

/** Runs `node bin/eddy.js broker start` on a fixed port and data dir; resolves once it listens. */
export async function startBrokerProcess(
  dataDir: string,
  port: number,
  config: Record<string, string | number> = {},
  startTimeoutMs = 60_000,
): Promise<BrokerProcess> {
  const overrides: Record<string, string | number> = {
    'node.id': 1,
    listeners: `PLAINTEXT://127.0.0.1:${port}`,
    'log.dirs': dataDir,
    'group.initial.rebalance.delay.ms': 0,
    ...config,
  };
  const args = [join(repoRoot(), 'bin', 'eddy.js'), 'broker', 'start'];
  for (const [k, v] of Object.entries(overrides)) args.push('--override', `${k}=${v}`);
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (chunk: Buffer): void => {
    out += chunk.toString();
    if (out.length > 100_000) out = out.slice(-50_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  // A test process that dies must not leave the broker running.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      process.removeListener('exit', killOnExit);
      resolve();
    });
  });
  const deadline = Date.now() + startTimeoutMs;
  while (!(await canConnect(port))) {
    if (exited) throw new Error(`broker exited during start (code ${child.exitCode}):\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`broker did not listen on ${port} within ${startTimeoutMs} ms:\n${out}`);
    }
    await sleep(100);
  }
  return {
    bootstrap: `127.0.0.1:${port}`,
    port,
    dataDir,
    output: () => out,
    async stop(timeoutMs = 30_000) {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Options of a group member child (test/interop/rdkafka-children/group-member.ts). */
export interface MemberOptions {
  bootstrap: string;
  topic: string;
  groupId: string;
  instanceId?: string;
  strategy: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  ratePerSec: number;
  /** Commit after every processed batch (default); when false, only on revoke and close. */
  commitEachBatch?: boolean;
  /** librdkafka debug contexts (for example 'cgrp'), logged to the member's stderr. */
  debug?: string;
}

export interface ProcessedRecord {
  partition: number;
  offset: number;
  value: string;
}

/** A group member running as a child process; parses its event lines as they come. */
export class GroupMember {
  /** Its latest reported assignment (sorted partitions); null before the first report. */
  assignment: number[] | null = null;
  readonly assignmentHistory: { atMs: number; partitions: number[] }[] = [];
  readonly errors: string[] = [];
  readonly firstOffsets = new Map<number, number>();
  processedCount = 0;
  ready = false;
  closedCleanly = false;
  exitCode: number | null = null;
  exitSignal: string | null = null;
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private pending = '';
  private stderr = '';

  constructor(
    readonly name: string,
    opts: MemberOptions,
    private readonly onRecords: (member: GroupMember, records: ProcessedRecord[]) => void,
  ) {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'rdkafka-children', 'group-member.js');
    this.child = spawn(process.execPath, [script, JSON.stringify(opts)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (chunk: Buffer) => this.onData(chunk));
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-20_000);
    });
    this.child.stdin?.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  describe(): string {
    return `${this.name}: assignment ${JSON.stringify(this.assignment)}, processed ${this.processedCount}, errors ${JSON.stringify(this.errors.slice(-5))}, stderr ${this.stderr.slice(-2000)}`;
  }

  send(line: string): void {
    if (this.running) this.child.stdin?.write(`${line}\n`);
  }

  /** Clean close: the member commits, leaves (unless static) and exits. */
  async stop(timeoutMs = 60_000): Promise<void> {
    this.send('stop');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  private onData(chunk: Buffer): void {
    this.pending += chunk.toString();
    let nl = this.pending.indexOf('\n');
    while (nl >= 0) {
      this.onLine(this.pending.slice(0, nl));
      this.pending = this.pending.slice(nl + 1);
      nl = this.pending.indexOf('\n');
    }
  }

  private onLine(line: string): void {
    const kind = line.slice(0, 1);
    const rest = line.slice(2);
    if (line === 'READY') this.ready = true;
    else if (line === 'CLOSED') this.closedCleanly = true;
    else if (kind === 'A') {
      const partitions = rest === '-' ? [] : rest.split(',').map(Number);
      this.assignment = partitions;
      this.assignmentHistory.push({ atMs: Date.now(), partitions });
    } else if (kind === 'E') this.errors.push(rest);
    else if (kind === 'M') {
      const records = rest.split(' ').map((item): ProcessedRecord => {
        const [p, o, ...v] = item.split(':');
        return { partition: Number(p), offset: Number(o), value: v.join(':') };
      });
      for (const r of records) if (!this.firstOffsets.has(r.partition)) this.firstOffsets.set(r.partition, r.offset);
      this.processedCount += records.length;
      this.onRecords(this, records);
    }
  }
}

/**
 * Which offsets of each partition were processed, and how often; checks each processed value
 * against what was produced at that offset.
 */
export class Coverage {
  private readonly counts: Uint16Array[];
  duplicates = 0;
  readonly wrongValues: string[] = [];

  constructor(private readonly expectedValues: string[][]) {
    this.counts = expectedValues.map((v) => new Uint16Array(v.length));
  }

  add(r: ProcessedRecord): void {
    const counts = this.counts[r.partition];
    const expected = this.expectedValues[r.partition]?.[r.offset];
    if (!counts || expected === undefined) {
      this.wrongValues.push(`unknown record ${r.partition}/${r.offset}`);
      return;
    }
    if (expected !== r.value) this.wrongValues.push(`${r.partition}/${r.offset}: ${r.value} != ${expected}`);
    if (counts[r.offset] !== 0) this.duplicates++;
    counts[r.offset] = Math.min(65_535, (counts[r.offset] as number) + 1);
  }

  /** Offsets never processed, per partition (first few of each). */
  gaps(): Map<number, number[]> {
    const out = new Map<number, number[]>();
    this.counts.forEach((counts, partition) => {
      const missing: number[] = [];
      for (let o = 0; o < counts.length && missing.length < 10; o++) if (counts[o] === 0) missing.push(o);
      if (missing.length) out.set(partition, missing);
    });
    return out;
  }

  missingCount(): number {
    let n = 0;
    for (const counts of this.counts) for (const c of counts) if (c === 0) n++;
    return n;
  }
}

/**
 * Produces `count` records spread evenly over `partitions` (record i to partition i % n, value
 * "i") and returns the expected value at every offset: expected[partition][offset].
 */
export async function produceNumbered(
  bootstrap: string,
  topic: string,
  partitions: number,
  count: number,
  firstIndex = 0,
): Promise<{ partition: number; offset: number; value: string }[]> {
  const producer = await connectedProducer(bootstrap, { 'enable.idempotence': true, 'linger.ms': 20 });
  try {
    const records: OutRecord[] = Array.from({ length: count }, (_, i) => ({
      partition: (firstIndex + i) % partitions,
      key: Buffer.from(`k${firstIndex + i}`),
      value: Buffer.from(String(firstIndex + i)),
    }));
    const delivered = await produceAll(producer, topic, records);
    return delivered.map((d, i) => ({ ...d, value: String(firstIndex + i) }));
  } finally {
    await disconnectClient(producer);
  }
}

/** Adds produced records to expected[partition][offset]. */
export function addExpected(
  expected: string[][],
  produced: readonly { partition: number; offset: number; value: string }[],
): void {
  for (const r of produced) {
    const list = expected[r.partition];
    if (!list) throw new Error(`partition ${r.partition} out of range`);
    list[r.offset] = r.value;
  }
  for (const [p, list] of expected.entries()) {
    for (let o = 0; o < list.length; o++) if (list[o] === undefined) throw new Error(`hole at ${p}/${o}`);
  }
}

/** True when the members' assignments are disjoint, cover all `partitions` and are even. */
export function balanced(group: readonly GroupMember[], partitions: number): boolean {
  const all = group.flatMap((m) => m.assignment ?? []);
  const sizes = group.map((m) => m.assignment?.length ?? 0);
  return (
    all.length === partitions &&
    new Set(all).size === partitions &&
    Math.max(...sizes) - Math.min(...sizes) <= 1 &&
    Math.min(...sizes) > 0
  );
}

export function describeGroup(group: readonly GroupMember[]): string {
  return group.map((m) => m.describe()).join('\n');
}
