// Consumer-group interop harness: an embedded Eddy broker that can be restarted on the same
// data dir and port, a paced producer, and group members run as child processes (kafkajs,
// node-rdkafka, confluent-kafka, kafka-python, kcat -G) that report assignments and every
// processed record on stdout. Run as a script (`node support.js kafkajs-member SPEC`, or
// `node-rdkafka-member`), this file is the kafkajs or node-rdkafka member. With EDDY_GROUPS_DEBUG
// set (librdkafka debug contexts, e.g. cgrp,fetch), members' stderr goes to /tmp/eddy-groups-NAME.log.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Admin, Kafka, logLevel, type Producer } from 'kafkajs';
import { type EmbeddedBroker, startBroker } from '../../src/index.js';
import { waitFor } from '../helpers/client.js';

export type ClientKind = 'kafkajs' | 'confluent' | 'kafka-python' | 'kcat' | 'node-rdkafka';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Repo root, from dist/test/interop-groups (compiled) or test/interop-groups (source). */
const REPO_ROOT = HERE.includes(join('dist', 'test')) ? join(HERE, '..', '..', '..') : join(HERE, '..', '..');
const PYTHON_DIR = join(REPO_ROOT, 'test', 'interop-groups', 'python');
const PYTHON = '/usr/bin/python3';

export const PARTITIONS = 6;
export const ALL_PARTITIONS = Array.from({ length: PARTITIONS }, (_, p) => p);

// ---------------------------------------------------------------------------------------------
// Broker

export const BROKER_CONFIG = {
  'group.initial.rebalance.delay.ms': 0,
  // Lets members use short session timeouts, so a killed member expires within seconds.
  'group.min.session.timeout.ms': 1000,
  'num.partitions': PARTITIONS,
  'auto.create.topics.enable': false,
};

/** An embedded broker on a fixed data dir that restarts on the same port. */
export class RestartableBroker {
  private constructor(
    private current: EmbeddedBroker,
    readonly dataDir: string,
  ) {}

  static async start(): Promise<RestartableBroker> {
    const dataDir = mkdtempSync(join(tmpdir(), 'eddy-groups-'));
    const broker = await startBroker({ dataDir, config: BROKER_CONFIG });
    return new RestartableBroker(broker, dataDir);
  }

  get bootstrap(): string {
    return this.current.bootstrap;
  }

  async restart(): Promise<void> {
    const port = this.current.port;
    await this.current.stop();
    this.current = await startBroker({ dataDir: this.dataDir, port, config: BROKER_CONFIG });
    assert.equal(this.current.port, port);
  }

  async stop(): Promise<void> {
    await this.current.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** The test's own kafkajs admin and producer (recreated around a broker restart). */
export class Tools {
  private constructor(
    readonly kafka: Kafka,
    readonly admin: Admin,
    readonly producer: Producer,
  ) {}

  static async connect(bootstrap: string): Promise<Tools> {
    const kafka = new Kafka({
      clientId: 'groups-test',
      brokers: [bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100 },
    });
    const admin = kafka.admin();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await admin.connect();
    await producer.connect();
    return new Tools(kafka, admin, producer);
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }

  /** Log end offset of every partition, indexed by partition. */
  async endOffsets(topic: string): Promise<number[]> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    const out = new Array<number>(PARTITIONS).fill(-1);
    for (const o of offsets) out[o.partition] = Number(o.high);
    return out;
  }

  /** The group's committed offset of every partition (OffsetFetch), -1 when none. */
  async committedOffsets(group: string, topic: string): Promise<number[]> {
    const [entry] = await this.admin.fetchOffsets({ groupId: group, topics: [topic] });
    const out = new Array<number>(PARTITIONS).fill(-1);
    for (const p of entry?.partitions ?? []) out[p.partition] = Number(p.offset);
    return out;
  }

  /** Produces `perPartition` records to every partition (explicit partitions). */
  async produceEach(topic: string, perPartition: number, tag: string): Promise<void> {
    await this.producer.send({
      topic,
      acks: -1,
      messages: ALL_PARTITIONS.flatMap((partition) =>
        Array.from({ length: perPartition }, (_, i) => ({ partition, value: `${tag}-${partition}-${i}` })),
      ),
    });
  }
}

/**
 * Produces `total` records round-robin over the partitions at about `ratePerSec`, so that group
 * changes happen while records flow; `finish()` produces the rest at full speed.
 */
export class PacedProducer {
  produced = 0;
  private rushing = false;
  private stopped = false;
  readonly done: Promise<void>;

  constructor(
    private readonly tools: Tools,
    private readonly topic: string,
    private readonly total: number,
    ratePerSec: number,
  ) {
    this.done = this.run(ratePerSec);
    // Surface a failure at `await done`, not as an unhandled rejection meanwhile.
    this.done.catch(() => undefined);
  }

  private async run(ratePerSec: number): Promise<void> {
    const tickMs = 100;
    while (this.produced < this.total && !this.stopped) {
      const chunk = Math.min(this.total - this.produced, this.rushing ? 5000 : Math.ceil((ratePerSec * tickMs) / 1000));
      await this.send(chunk);
      if (!this.rushing) await new Promise((r) => setTimeout(r, tickMs));
    }
  }

  private async send(count: number): Promise<void> {
    // Reserve the numbers first: a burst may run alongside the paced loop.
    const start = this.produced;
    this.produced += count;
    await this.tools.producer.send({
      topic: this.topic,
      acks: -1,
      messages: Array.from({ length: count }, (_, i) => ({
        partition: (start + i) % PARTITIONS,
        value: `record-${start + i}`,
      })),
    });
  }

  /** Produces `count` records (of the total) at once, to give members a backlog. */
  burst(count: number): Promise<void> {
    return this.send(Math.min(count, this.total - this.produced));
  }

  finish(): Promise<void> {
    this.rushing = true;
    return this.done;
  }

  stop(): void {
    this.stopped = true;
  }
}

// ---------------------------------------------------------------------------------------------
// Coverage: which (partition, offset) pairs some member processed

export class Coverage {
  private readonly seen: Uint8Array[] = ALL_PARTITIONS.map(() => new Uint8Array(1 << 16));
  processed = 0;
  duplicates = 0;

  /** Who processed an offset last, for the diagnosis of a gap: "partition:offset" → member. */
  private readonly lastBy = new Map<string, string>();

  add(partition: number, offset: number, by = ''): void {
    this.lastBy.set(`${partition}:${offset}`, by);
    let bits = this.seen[partition];
    assert.ok(bits !== undefined, `record from unknown partition ${partition}`);
    if (offset >= bits.length) {
      const grown = new Uint8Array(Math.max(bits.length * 2, offset + 1));
      grown.set(bits);
      this.seen[partition] = grown;
      bits = grown;
    }
    this.processed++;
    if (bits[offset] === 1) this.duplicates++;
    bits[offset] = 1;
  }

  /** Offsets below `endOffsets[p]` that no member processed, per partition (at most 10 listed each). */
  missing(endOffsets: number[]): Map<number, number[]> {
    const out = new Map<number, number[]>();
    for (const p of ALL_PARTITIONS) {
      const bits = this.seen[p]!;
      const gaps: number[] = [];
      const end = endOffsets[p] ?? 0;
      let count = 0;
      for (let o = 0; o < end; o++) {
        if (bits[o] !== 1) {
          count++;
          if (gaps.length < 10) gaps.push(o);
        }
      }
      if (count > 0) out.set(p, [...gaps, -count]);
    }
    return out;
  }

  /** For each partition's first gap: the member that processed the offset before and after it. */
  describeGaps(endOffsets: number[]): string {
    const out: string[] = [];
    for (const p of ALL_PARTITIONS) {
      const bits = this.seen[p]!;
      const end = endOffsets[p] ?? 0;
      let o = 0;
      while (o < end && bits[o] === 1) o++;
      if (o >= end) continue;
      let after = o;
      while (after < end && bits[after] !== 1) after++;
      out.push(
        `p${p}: [${o}, ${after}) missing; ${o - 1} by ${this.lastBy.get(`${p}:${o - 1}`)}, ${after} by ${this.lastBy.get(`${p}:${after}`)}`,
      );
    }
    return out.join('\n');
  }

  complete(endOffsets: number[]): boolean {
    return this.missing(endOffsets).size === 0;
  }

  /** Unprocessed offsets below `endOffsets[p]` as "partition:offset", at most `limit`. */
  gaps(endOffsets: number[], limit = 1000): string[] {
    const out: string[] = [];
    for (const p of ALL_PARTITIONS) {
      const bits = this.seen[p]!;
      for (let o = 0; o < (endOffsets[p] ?? 0) && out.length < limit; o++) if (bits[o] !== 1) out.push(`${p}:${o}`);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Members

export interface MemberSpec {
  kind: ClientKind;
  name: string;
  bootstrap: string;
  group: string;
  topic: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  instanceId?: string;
  assignor: 'range' | 'cooperative-sticky';
  /** confluent only: commit() after each batch (default), or store_offsets() + auto-commit. */
  commitMode?: 'sync' | 'store';
  /** confluent only: batch consume() (default) or one message per poll(). */
  consumeApi?: 'batch' | 'poll';
  /** librdkafka debug contexts (confluent, node-rdkafka), from EDDY_GROUPS_DEBUG, for diagnosis. */
  debug?: string;
}

export interface MemberEvent {
  type: 'assign' | 'revoke' | 'lost';
  partitions: number[];
  atMs: number;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Kills every member process still running (for `after` hooks, also after a failure). */
export function killAllMembers(): void {
  for (const child of live) child.kill('SIGKILL');
}

function parsePartitions(text: string): number[] {
  return text.trim() === '' ? [] : text.split(',').map((s) => Number(s));
}

export class Member {
  readonly events: MemberEvent[] = [];
  readonly assignment = new Set<number>();
  /** Records this member processed, and the first offset it processed per partition. */
  processed = 0;
  readonly firstOffset = new Map<number, number>();
  readonly lastOffset = new Map<number, number>();
  errors: string[] = [];
  stderr = '';
  closedCleanly = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(
    readonly spec: MemberSpec,
    private readonly coverage: Coverage,
  ) {
    this.child = spawnMember(spec);
    live.add(this.child);
    this.exited = new Promise((resolve) => {
      // A client that cannot start (missing binary) fails the waits that follow, with this error.
      this.child.on('error', (err) => {
        this.errors.push(`spawn ${err.message}`);
        live.delete(this.child);
        resolve({ code: null, signal: null });
      });
      this.child.on('exit', (code, signal) => {
        live.delete(this.child);
        resolve({ code, signal });
      });
    });
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.onLine(line);
    });
    let errPartial = '';
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-20_000);
      if (process.env.EDDY_GROUPS_DEBUG) appendFileSync(`/tmp/eddy-groups-${spec.name}.log`, chunk);
      if (spec.kind !== 'kcat') return;
      errPartial += chunk;
      const lines = errPartial.split('\n');
      errPartial = lines.pop() ?? '';
      for (const line of lines) this.onKcatStderr(line);
    });
  }

  private onLine(line: string): void {
    const tag = line.slice(0, 2);
    const rest = line.slice(2);
    switch (tag) {
      case 'R ': {
        const [p, o] = rest.split(' ').map(Number) as [number, number];
        this.processed++;
        if (!this.firstOffset.has(p)) this.firstOffset.set(p, o);
        this.lastOffset.set(p, o);
        this.coverage.add(p, o, this.spec.name);
        return;
      }
      case 'A ':
        this.onAssignment('assign', parsePartitions(rest));
        return;
      case 'S ':
        // kafkajs reports whole assignments (eager: a new generation replaces the old one).
        this.assignment.clear();
        this.onAssignment('assign', parsePartitions(rest));
        return;
      case 'V ':
        this.onAssignment('revoke', parsePartitions(rest));
        return;
      case 'L ':
        this.onAssignment('lost', parsePartitions(rest));
        return;
      case 'E ':
        this.errors.push(rest);
        return;
      default:
        if (line === 'CLOSED') this.closedCleanly = true;
    }
  }

  // kcat, eager: "% Group g rebalanced (memberid m): assigned: t [0], t [1]" (or "revoked: ...");
  // cooperative: "% Group g rebalanced: incremental assignment of 2 partition(s) (memberid m,
  // COOPERATIVE rebalance protocol): t [0], t [1]" (or "incremental revoke", ", assignment lost").
  private onKcatStderr(line: string): void {
    const partitionsOf = (text: string) => [...text.matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]));
    const eager = /rebalanced \(memberid [^)]*\): (assigned|revoked): (.*)$/.exec(line);
    if (eager !== null) {
      this.onAssignment(eager[1] === 'assigned' ? 'assign' : 'revoke', partitionsOf(eager[2]!));
      return;
    }
    const incremental =
      /rebalanced: incremental (assignment|revoke) of \d+ partition\(s\) \(memberid ([^)]*)\): (.*)$/.exec(line);
    if (incremental !== null) {
      const type =
        incremental[1] === 'assignment' ? 'assign' : /assignment lost/.test(incremental[2]!) ? 'lost' : 'revoke';
      this.onAssignment(type, partitionsOf(incremental[3]!));
      return;
    }
    if (/ERROR/.test(line)) this.errors.push(line);
  }

  private onAssignment(type: MemberEvent['type'], partitions: number[]): void {
    this.events.push({ type, partitions, atMs: Date.now() });
    for (const p of partitions) {
      if (type === 'assign') this.assignment.add(p);
      else this.assignment.delete(p);
    }
  }

  get name(): string {
    return this.spec.name;
  }

  /** Clean shutdown: SIGTERM, the client closes (and commits / leaves as it does). */
  async stop(timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }

  describe(): string {
    return `${this.name}: assignment [${[...this.assignment].sort()}], processed ${this.processed}, errors ${JSON.stringify(this.errors.slice(-5))}, stderr tail: ${this.stderr.slice(-1500)}`;
  }
}

function spawnMember(spec: MemberSpec): ChildProcess {
  const stdio: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
  switch (spec.kind) {
    case 'kafkajs':
      return spawn(process.execPath, [fileURLToPath(import.meta.url), 'kafkajs-member', JSON.stringify(spec)], {
        stdio,
      });
    case 'node-rdkafka':
      return spawn(process.execPath, [fileURLToPath(import.meta.url), 'node-rdkafka-member', JSON.stringify(spec)], {
        stdio,
      });
    case 'confluent':
      return spawn(PYTHON, [join(PYTHON_DIR, 'confluent_member.py'), JSON.stringify(spec)], { stdio });
    case 'kafka-python':
      return spawn(PYTHON, [join(PYTHON_DIR, 'kafka_python_member.py'), JSON.stringify(spec)], { stdio });
    case 'kcat': {
      // kcat has no manual commit: it commits, every 200 ms, the offsets librdkafka stored when
      // each record was handed to kcat, which prints it unbuffered (-u) straight away.
      const args = ['-b', spec.bootstrap, '-G', spec.group, spec.topic, '-f', 'R %p %o\n', '-u'];
      const conf: Record<string, string | number> = {
        'client.id': spec.name,
        'auto.offset.reset': 'earliest',
        'enable.auto.commit': 'true',
        'auto.commit.interval.ms': 200,
        'session.timeout.ms': spec.sessionTimeoutMs,
        'heartbeat.interval.ms': spec.heartbeatIntervalMs,
        'partition.assignment.strategy': spec.assignor,
        'fetch.wait.max.ms': 100,
      };
      if (spec.instanceId !== undefined) conf['group.instance.id'] = spec.instanceId;
      for (const [k, v] of Object.entries(conf)) args.push('-X', `${k}=${v}`);
      return spawn('kcat', args, { stdio });
    }
  }
}

/** Whether the members' current assignments split the topic's partitions exactly among all of them. */
export function assignmentsCoverAll(members: Member[]): boolean {
  const owners = new Map<number, number>();
  for (const m of members) {
    if (m.assignment.size === 0) return false;
    for (const p of m.assignment) owners.set(p, (owners.get(p) ?? 0) + 1);
  }
  return ALL_PARTITIONS.every((p) => owners.get(p) === 1) && owners.size === PARTITIONS;
}

export async function waitForAssignments(members: Member[], timeoutMs: number, what: string): Promise<void> {
  await waitFor(
    () => assignmentsCoverAll(members),
    timeoutMs,
    `${what}\n${members.map((m) => m.describe()).join('\n')}`,
  );
}

/** Waits until each member has processed at least `count` more records than `since`. */
export async function waitForProgress(members: Member[], count: number, timeoutMs: number, what: string) {
  const since = members.map((m) => m.processed);
  await waitFor(
    () => members.every((m, i) => m.processed >= since[i]! + count),
    timeoutMs,
    `${what}\n${members.map((m) => m.describe()).join('\n')}`,
  );
}

// ---------------------------------------------------------------------------------------------
// kafkajs member (this file run as a script)

async function kafkajsMember(spec: MemberSpec): Promise<void> {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  const kafka = new Kafka({
    clientId: spec.name,
    brokers: [spec.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 100 },
  });
  const consumer = kafka.consumer({
    groupId: spec.group,
    sessionTimeout: spec.sessionTimeoutMs,
    heartbeatInterval: spec.heartbeatIntervalMs,
    rebalanceTimeout: 20_000,
    maxBytesPerPartition: 64 * 1024,
    maxWaitTimeInMs: 100,
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    out(`S ${(e.payload.memberAssignment[spec.topic] ?? []).join(',')}`);
  });
  consumer.on(consumer.events.CRASH, (e) => out(`E crash ${e.payload.error.message}`));
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    consumer.disconnect().then(
      () => {
        out('CLOSED');
        process.exit(0);
      },
      () => process.exit(1),
    );
  });
  await consumer.connect();
  await consumer.subscribe({ topic: spec.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const chunkSize = 200;
      for (let i = 0; i < batch.messages.length; i += chunkSize) {
        if (!isRunning() || isStale()) return;
        const chunk = batch.messages.slice(i, i + chunkSize);
        out(chunk.map((m) => `R ${batch.partition} ${m.offset}`).join('\n'));
        const last = chunk[chunk.length - 1]!.offset;
        resolveOffset(last);
        try {
          await consumer.commitOffsets([
            { topic: batch.topic, partition: batch.partition, offset: String(Number(last) + 1) },
          ]);
        } catch (err) {
          // Refused during a rebalance: the new owner reprocesses from the last commit.
          out(`E commit ${(err as Error).message}`);
          return;
        }
        await heartbeat();
      }
    },
  });
}

// ---------------------------------------------------------------------------------------------
// node-rdkafka member (this file run as a script): librdkafka through node-rdkafka's API

function nodeRdkafkaMember(spec: MemberSpec): void {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  // Loaded here only: the other members and the tests do not need the native module.
  const Kafka = createRequire(import.meta.url)('node-rdkafka') as typeof import('node-rdkafka');
  const consumer = new Kafka.KafkaConsumer(
    {
      'bootstrap.servers': spec.bootstrap,
      'group.id': spec.group,
      'client.id': spec.name,
      'enable.auto.commit': false,
      'session.timeout.ms': spec.sessionTimeoutMs,
      'heartbeat.interval.ms': spec.heartbeatIntervalMs,
      'partition.assignment.strategy': spec.assignor,
      'fetch.wait.max.ms': 100,
      'check.crcs': true,
      // node-rdkafka assigns/unassigns itself and emits 'rebalance'.
      rebalance_cb: true,
      ...(spec.instanceId !== undefined ? { 'group.instance.id': spec.instanceId } : {}),
      ...(spec.debug !== undefined ? { debug: spec.debug } : {}),
    },
    { 'auto.offset.reset': 'earliest' },
  );
  consumer.on('rebalance', (err, assignment) => {
    const partitions = assignment.map((a) => a.partition).join(',');
    if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) out(`A ${partitions}`);
    else if (err.code === Kafka.CODES.ERRORS.ERR__REVOKE_PARTITIONS) out(`V ${partitions}`);
  });
  consumer.on('event.error', (err) => out(`E event ${err.message}`));
  let stopping = false;
  const loop = () => {
    if (stopping) return;
    consumer.consume(200, (err, messages) => {
      if (err) out(`E consume ${err.message}`);
      else if (messages.length > 0 && !stopping) {
        const last = new Map<number, number>();
        out(messages.map((m) => `R ${m.partition} ${m.offset}`).join('\n'));
        for (const m of messages) last.set(m.partition, m.offset);
        try {
          consumer.commitSync([...last].map(([partition, o]) => ({ topic: spec.topic, partition, offset: o + 1 })));
        } catch (e) {
          // Refused during a rebalance: the new owner reprocesses from the last commit.
          out(`E commit ${(e as Error).message}`);
        }
      }
      setImmediate(loop);
    });
  };
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    consumer.disconnect(() => {
      out('CLOSED');
      process.exit(0);
    });
  });
  consumer.setDefaultConsumeTimeout(200);
  consumer.on('ready', () => {
    consumer.subscribe([spec.topic]);
    loop();
  });
  consumer.connect();
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const [mode, specJson] = process.argv.slice(2);
  const spec = specJson === undefined ? undefined : (JSON.parse(specJson) as MemberSpec);
  if (mode === 'kafkajs-member' && spec !== undefined) {
    kafkajsMember(spec).catch((err: unknown) => {
      process.stdout.write(`E fatal ${(err as Error).message}\n`);
      process.exit(1);
    });
  } else if (mode === 'node-rdkafka-member' && spec !== undefined) {
    nodeRdkafkaMember(spec);
  }
}

/**
 * Waits until every offset below the end offsets was processed by some member. With
 * `cleanStopMayDropHeldRecord` (kcat), the record right after the last one a cleanly stopped
 * member printed on a partition may be missing, at most one per stop. Returns those missing.
 */
export async function waitForCoverage(
  coverage: Coverage,
  endOffsets: number[],
  opts: { cleanlyStopped: Member[]; cleanStopMayDropHeldRecord: boolean; describe: () => string },
): Promise<string[]> {
  const mayBeDropped = new Set<string>();
  if (opts.cleanStopMayDropHeldRecord) {
    for (const m of opts.cleanlyStopped) for (const [p, o] of m.lastOffset) mayBeDropped.add(`${p}:${o + 1}`);
  }
  const unexplainedGaps = () => coverage.gaps(endOffsets).filter((g) => !mayBeDropped.has(g));
  await waitFor(() => unexplainedGaps().length === 0, 120_000, `every record processed\n${opts.describe()}`).catch(
    (err: Error) => {
      throw new Error(
        `${err.message}\nmissing: ${JSON.stringify([...coverage.missing(endOffsets)])}\n${coverage.describeGaps(endOffsets)}`,
      );
    },
  );
  const dropped = coverage.gaps(endOffsets);
  assert.ok(dropped.length <= opts.cleanlyStopped.length, `more records dropped than clean stops: ${dropped}`);
  return dropped;
}

// ---------------------------------------------------------------------------------------------
// The scenario every client runs

export const RECORD_COUNT = 100_000;
const DYNAMIC_SESSION_TIMEOUT_MS = 4000;
const HEARTBEAT_INTERVAL_MS = 500;
// The static member must outlive its own restart (a process start, up to seconds when loaded).
const STATIC_SESSION_TIMEOUT_MS = 20_000;

export interface ScenarioOptions {
  kind: ClientKind;
  /**
   * kcat only: on SIGTERM kcat drops the record it holds without printing it, and its close
   * commits the offset librdkafka stored for it when handing it over. So each clean stop of a
   * kcat member may skip exactly one record: the one after the last it printed on a partition.
   */
  cleanStopMayDropHeldRecord?: boolean;
  /** Whether the client supports static membership (group.instance.id, KIP-345). */
  staticMembership: boolean;
  log: (text: string) => void;
}

/**
 * Three members join a 6-partition topic as 100k records are produced; one leaves cleanly; the
 * static one restarts and gets its partitions back while the other sees no rebalance; one is
 * SIGKILLed and expires by session timeout. Every offset of every partition must be processed;
 * after a broker restart the committed offsets are unchanged and a member resumes from them.
 */
export async function runGroupScenario(opts: ScenarioOptions): Promise<void> {
  const { kind, log } = opts;
  const broker = await RestartableBroker.start();
  let tools = await Tools.connect(broker.bootstrap);
  const coverage = new Coverage();
  let paced: PacedProducer | undefined;
  const cleanlyStopped: Member[] = [];
  try {
    const topic = `groups-${kind}`;
    const group = `group-${kind}`;
    await tools.admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    const member = (name: string, extra: Partial<MemberSpec> = {}) =>
      new Member(
        {
          kind,
          name,
          bootstrap: broker.bootstrap,
          group,
          topic,
          sessionTimeoutMs: DYNAMIC_SESSION_TIMEOUT_MS,
          heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
          assignor: 'range',
          ...(process.env.EDDY_GROUPS_DEBUG ? { debug: process.env.EDDY_GROUPS_DEBUG } : {}),
          ...extra,
        },
        coverage,
      );
    const staticSpec: Partial<MemberSpec> = opts.staticMembership
      ? { instanceId: `${kind}-static-c`, sessionTimeoutMs: STATIC_SESSION_TIMEOUT_MS }
      : {};

    paced = new PacedProducer(tools, topic, RECORD_COUNT, 4000);
    // c joins first, so it leads the group (the first member leads): its static restart below is
    // then a leader's, which the coordinator must handle without a rebalance too.
    let c = member('c', staticSpec);
    await waitFor(() => c.assignment.size > 0, 60_000, `c joins the group\n${c.describe()}`);
    const a = member('a');
    const b = member('b');
    await waitForAssignments([a, b, c], 60_000, 'three members share the partitions');
    await waitForProgress([a, b, c], 1, 60_000, 'three members process records');
    log(`three members joined; ${coverage.processed} records processed so far`);

    // a leaves cleanly: b and c take over its partitions.
    const aExit = await a.stop();
    cleanlyStopped.push(a);
    assert.equal(aExit.code, 0, `a did not close cleanly: ${a.describe()}`);
    await waitForAssignments([b, c], 30_000, 'b and c share the partitions after a left');
    await waitForProgress([b, c], 1, 30_000, 'b and c process records after a left');
    log(`a left; ${coverage.processed} records processed so far`);

    // c restarts. A static member gets its partitions back with no rebalance: b's assignment
    // never changes. Without static membership c simply leaves and rejoins (two rebalances).
    const cAssignment = [...c.assignment].sort();
    const bEventsBefore = b.events.length;
    const cExit = await c.stop();
    cleanlyStopped.push(c);
    assert.equal(cExit.code, 0, `c did not close cleanly: ${c.describe()}`);
    c = member('c2', staticSpec);
    if (opts.staticMembership) {
      await waitFor(() => c.assignment.size > 0, 30_000, `restarted c gets an assignment\n${c.describe()}`);
      assert.deepEqual([...c.assignment].sort(), cAssignment, 'static member got other partitions back');
      await waitForProgress([b, c], 200, 30_000, 'b and restarted c process records');
      assert.deepEqual(b.events.slice(bEventsBefore), [], 'b saw a rebalance when static member c restarted');
      log(`static c restarted with partitions [${cAssignment}] and no rebalance`);
    } else {
      await waitForAssignments([b, c], 30_000, 'b and restarted c share the partitions');
      await waitForProgress([b, c], 1, 30_000, 'b and restarted c process records');
      log(`c restarted (dynamic member: rebalanced)`);
    }

    // b is killed while working through a backlog, so some records it processed are likely not
    // yet committed. It sends nothing more: only its session timeout removes it.
    await paced.burst(20_000);
    await waitForProgress([b], 500, 30_000, 'b works through the burst');
    b.kill();
    const killedAtMs = Date.now();
    await b.exited;
    await waitFor(() => c.assignment.size === PARTITIONS, 60_000, `c takes over all partitions\n${c.describe()}`);
    const takeoverMs = Date.now() - killedAtMs;
    log(`b killed; c owned all partitions ${takeoverMs} ms later (session.timeout.ms ${DYNAMIC_SESSION_TIMEOUT_MS})`);
    // The last heartbeat came at most one interval before the kill.
    assert.ok(
      takeoverMs >= DYNAMIC_SESSION_TIMEOUT_MS - HEARTBEAT_INTERVAL_MS - 250,
      `b expired after ${takeoverMs} ms, before its session timeout`,
    );

    await paced.finish();
    const endOffsets = await tools.endOffsets(topic);
    assert.equal(
      endOffsets.reduce((s, o) => s + o, 0),
      RECORD_COUNT,
      `end offsets ${endOffsets}`,
    );
    const dropped = await waitForCoverage(coverage, endOffsets, {
      cleanlyStopped,
      cleanStopMayDropHeldRecord: opts.cleanStopMayDropHeldRecord === true,
      describe: () => c.describe(),
    });
    log(
      `all ${RECORD_COUNT} records processed (${coverage.processed} deliveries, ${coverage.duplicates} repeats` +
        `${opts.cleanStopMayDropHeldRecord ? `, ${dropped.length} dropped by kcat on SIGTERM: [${dropped}]` : ''})`,
    );
    await waitFor(
      async () => (await tools.committedOffsets(group, topic)).every((o, p) => o === endOffsets[p]),
      30_000,
      'c commits the end offsets',
    );
    const cFinal = await c.stop();
    assert.equal(cFinal.code, 0, `c did not close cleanly: ${c.describe()}`);

    // Broker restart on the same data dir and port: the committed offsets survive.
    const committedBefore = await tools.committedOffsets(group, topic);
    await tools.close();
    const restartStartMs = Date.now();
    await broker.restart();
    log(`broker restarted in ${Date.now() - restartStartMs} ms`);
    tools = await Tools.connect(broker.bootstrap);
    assert.deepEqual(await tools.committedOffsets(group, topic), committedBefore, 'committed offsets after restart');
    assert.deepEqual(committedBefore, endOffsets);

    // A member (c again, with its instance id where static) resumes from the committed offsets.
    const extra = 50;
    await tools.produceEach(topic, extra, 'after-restart');
    const resumed = member('c3', staticSpec);
    await waitFor(
      () => ALL_PARTITIONS.every((p) => resumed.lastOffset.get(p) === endOffsets[p]! + extra - 1),
      60_000,
      `resumed member reads the new records\n${resumed.describe()}`,
    );
    for (const p of ALL_PARTITIONS) {
      assert.equal(resumed.firstOffset.get(p), committedBefore[p], `partition ${p}: resumed member started elsewhere`);
    }
    assert.equal(resumed.processed, PARTITIONS * extra, 'resumed member reprocessed records');
    log(`after the broker restart a member resumed at the committed offsets [${committedBefore}]`);
    await resumed.stop();
  } finally {
    paced?.stop();
    killAllMembers();
    await tools.close();
    await broker.stop();
  }
}
