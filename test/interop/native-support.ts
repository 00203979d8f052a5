// Shared pieces of the interop tests with native and Python Kafka clients (kcat/librdkafka,
// confluent-kafka, kafka-python): child-process runners, the deterministic test records
// (mirrored by test/interop/python/records.py) and the "consumer saw exactly what was
// produced" check.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Admin } from '../../src/client/admin.js';
import { partitionForKey } from '../../src/client/partitioner.js';
import { startEddyBroker, type TestBroker } from '../helpers/eddy-broker.js';

/** Debian's Python packages (confluent_kafka, kafka) are visible to this interpreter only. */
export const PYTHON = '/usr/bin/python3';

/** Python drivers run from the source tree: tsc compiles only .ts into dist/. */
export const PYTHON_DIR = fileURLToPath(new URL('../../../test/interop/python/', import.meta.url));

/** Records per produce/consume run; EDDY_INTEROP_RECORDS lowers it for quick local runs. */
export const RECORD_COUNT = Number(process.env.EDDY_INTEROP_RECORDS ?? 100_000);

/** Generous: the CI machine is small and shared. */
export const CHILD_TIMEOUT_MS = 240_000;

export const FIVE_MIB = 5 * 1024 * 1024;

/**
 * A broker whose limits let a 5 MiB record through; everything else at Kafka's defaults.
 * Started in this process: children talk to it while the test awaits them asynchronously.
 */
export function startNativeTestBroker(config: Record<string, string | number | boolean> = {}): Promise<TestBroker> {
  return startEddyBroker({ 'message.max.bytes': 8 * 1024 * 1024, ...config });
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a child process without blocking the event loop (the broker may live in this process). */
export function runChild(
  cmd: string,
  args: readonly string[],
  input?: string | Buffer,
  timeoutMs = CHILD_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    // An aborted signal kills the child (SIGTERM) and rejects with an AbortError.
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], signal });
    const out: Buffer[] = [];
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      // Keep the tail only: librdkafka can be chatty on a slow machine.
      stderr = (stderr + d.toString()).slice(-20_000);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr });
    });
    child.stdin.on('error', () => {}); // a child that exits early closes its stdin: not our error
    child.stdin.end(input ?? '');
  });
}

/** Runs a Python driver op (ck = confluent-kafka, kp = kafka-python); resolves with its JSON answer. */
export async function runPy<T = Record<string, unknown>>(
  driver: 'ck' | 'kp',
  job: Record<string, unknown>,
  timeoutMs = CHILD_TIMEOUT_MS,
): Promise<T> {
  const r = await runChild(PYTHON, [join(PYTHON_DIR, `${driver}.py`), JSON.stringify(job)], undefined, timeoutMs);
  const text = r.stdout.toString();
  const last = text.trimEnd().split('\n').at(-1) ?? '';
  if (r.code !== 0) {
    throw new Error(
      `${driver}.py ${String(job.op)} exited ${r.code ?? r.signal}\nstdout: ${last}\nstderr: ${r.stderr}`,
    );
  }
  return JSON.parse(last) as T;
}

/** Runs kcat; rejects on a non-zero exit with its stderr. */
export async function runKcat(args: readonly string[], input?: string | Buffer, timeoutMs = CHILD_TIMEOUT_MS) {
  const r = await runChild('kcat', args, input, timeoutMs);
  if (r.code !== 0) throw new Error(`kcat ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr}`);
  return r;
}

/** A temp dir for consumer output files; removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `eddy-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function createTopicsWithEddy(
  bootstrap: string,
  topics: { name: string; partitions: number; configs?: Record<string, string> }[],
): Promise<void> {
  const admin = new Admin({ bootstrapServers: bootstrap, logger: null, requestTimeoutMs: 60_000 });
  try {
    const results = await admin.createTopics(
      topics.map((t) => ({ name: t.name, numPartitions: t.partitions, replicationFactor: 1, configs: t.configs })),
      { timeoutMs: 60_000 },
    );
    assert.deepEqual(results.map((r) => r.created).every(Boolean), true, JSON.stringify(results));
  } finally {
    await admin.close();
  }
  for (const t of topics) await waitForPartitionsReady(bootstrap, t.name, t.partitions);
}

/**
 * Waits until every partition of a new topic answers ListOffsets. Metadata names a leader as soon
 * as the topic is committed, but the broker creates the logs after that (1000 of them take
 * seconds); a producer that starts earlier gets retriable errors, and a client without
 * idempotence may reorder records when it retries. The tests want the ordering guarantee, so
 * they start producing once the partitions are ready.
 */
export async function waitForPartitionsReady(bootstrap: string, topic: string, partitions: number): Promise<void> {
  const admin = new Admin({ bootstrapServers: bootstrap, logger: null, requestTimeoutMs: 30_000 });
  try {
    const deadline = Date.now() + 180_000;
    for (;;) {
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        if (offsets.length === partitions) return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) throw new Error(`${topic}: partitions not ready after 180 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await admin.close();
  }
}

// ---- the deterministic records (same as records.py)

export interface TestRecord {
  key: string;
  value: string;
  headers: [string, string][];
}

export function expectedRecord(prefix: string, i: number): TestRecord {
  return {
    key: `${prefix}-key-${i}`,
    value: `${prefix}-value-${i}-${'abcdefghij'.repeat(i % 17)}`,
    headers: [
      ['i', String(i)],
      ['src', prefix],
    ],
  };
}

/** records.EDGE_RECORDS: null and empty keys and values, multi-byte UTF-8, null and repeated headers. */
export const EDGE_RECORDS: readonly { key: string | null; value: string | null; headers: [string, string | null][] }[] =
  [
    { key: 'tombstone', value: null, headers: [] },
    { key: null, value: 'no key', headers: [] },
    { key: '', value: '', headers: [] },
    { key: 'ключ-🔑', value: 'значение-✓', headers: [['ü', 'ä']] },
    { key: 'null header', value: 'v', headers: [['h', null]] },
    {
      key: 'repeated headers',
      value: 'v',
      headers: [
        ['dup', '1'],
        ['dup', '2'],
        ['empty', ''],
      ],
    },
  ];

/** records.big_value: SHA-256 digests of 'big-<j>' concatenated, cut to sizeBytes. */
export function bigValue(sizeBytes: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (let j = 0; total < sizeBytes; j++) {
    const d = createHash('sha256').update(`big-${j}`).digest();
    chunks.push(d);
    total += d.length;
  }
  return Buffer.concat(chunks).subarray(0, sizeBytes);
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Where Java's default partitioner (murmur2, positive, modulo) puts a key. */
export function javaPartition(key: string, partitionCount: number): number {
  return partitionForKey(Buffer.from(key), partitionCount);
}

/** One consumed record as the Python drivers write it (and as kcat output is parsed into). */
export interface ConsumedRecord {
  p: number;
  o: number;
  ts: number;
  k: string | null;
  v: string | null;
  vlen: number;
  vsha?: string | null;
  h: [string, string | null][];
}

export function readRecordLines(file: string): ConsumedRecord[] {
  const text = readFileSync(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as ConsumedRecord);
}

export interface ExactCheck {
  prefix: string;
  count: number;
  partitions: number;
  /** Headers the consumer must see on record i (default: expectedRecord's). */
  headers?: (i: number) => [string, string][];
  /** Offset of the first record in every partition (default 0: a fresh topic). */
  firstOffset?: number;
}

/**
 * Asserts that `consumed` holds exactly records 0..count-1 of `prefix`: each in the partition
 * murmur2 gives its key, partitions in production order with consecutive offsets, nothing
 * missing, duplicated or extra, keys, values and headers byte for byte.
 */
export function assertExactlyProduced(consumed: readonly ConsumedRecord[], check: ExactCheck): void {
  const expectedByPartition: number[][] = Array.from({ length: check.partitions }, () => []);
  for (let i = 0; i < check.count; i++) {
    const rec = expectedRecord(check.prefix, i);
    expectedByPartition[javaPartition(rec.key, check.partitions)]?.push(i);
  }
  const seenByPartition: ConsumedRecord[][] = Array.from({ length: check.partitions }, () => []);
  for (const c of consumed) {
    const list = seenByPartition[c.p];
    assert.ok(list, `record from unknown partition ${c.p}`);
    list.push(c);
  }
  assert.equal(consumed.length, check.count, 'consumed record count');
  for (let p = 0; p < check.partitions; p++) {
    const want = expectedByPartition[p] ?? [];
    const got = seenByPartition[p] ?? [];
    assert.equal(got.length, want.length, `record count in partition ${p}`);
    for (let n = 0; n < want.length; n++) {
      const i = want[n] as number;
      const c = got[n] as ConsumedRecord;
      const rec = expectedRecord(check.prefix, i);
      const where = `partition ${p}, position ${n} (record ${i})`;
      assert.equal(c.o, (check.firstOffset ?? 0) + n, `offset at ${where}`);
      assert.equal(c.k, rec.key, `key at ${where}`);
      assert.equal(c.v, rec.value, `value at ${where}`);
      assert.deepEqual(c.h, check.headers ? check.headers(i) : rec.headers, `headers at ${where}`);
    }
  }
}

/** Asserts a producer's delivery reports put record i where murmur2 puts its key. */
export function assertMurmur2Placement(
  reported: readonly number[],
  prefix: string,
  partitions: number,
  start = 0,
): void {
  assert.equal(reported.length > 0, true, 'no delivery reports');
  for (let n = 0; n < reported.length; n++) {
    const i = start + n;
    const want = javaPartition(expectedRecord(prefix, i).key, partitions);
    if (reported[n] !== want) {
      assert.fail(
        `record ${i} (key ${expectedRecord(prefix, i).key}) went to partition ${reported[n]}, murmur2 says ${want}`,
      );
    }
  }
}

// ---- the same suite for both Python clients (their drivers answer the same ops)

export type PyDriver = 'ck' | 'kp';

export interface ProduceAnswer {
  delivered: number;
  partitions: number[];
  errors: string[];
}

export interface PythonClientSuite {
  driver: PyDriver;
  /** The client's name in test titles. */
  name: string;
  /** Codecs this client can write and read with the installed libraries. */
  codecs: readonly string[];
  /** Producer settings that make keyed records land where Java's default partitioner puts them. */
  producerConfig: Record<string, unknown>;
  /** Producer settings for records up to 8 MiB. */
  bigProducerConfig: Record<string, unknown>;
  /** Consumer settings for records up to 8 MiB. */
  bigConsumerConfig: Record<string, unknown>;
  /** ConfigSource numbers as the client reports them (DescribeConfigs v1+): dynamic topic, static broker, default. */
  configSources: { dynamicTopic: number; staticBroker: number; default: number };
}

/** Produces records 0..count-1 of `prefix` with the client and checks every delivery report. */
export async function pyProduce(
  suite: PythonClientSuite,
  bootstrap: string,
  job: Record<string, unknown> & { topic: string; prefix: string; count: number },
  partitions: number,
): Promise<ProduceAnswer> {
  const answer = await runPy<ProduceAnswer>(suite.driver, {
    op: 'produce',
    bootstrap,
    ...job,
    config: { ...suite.producerConfig, ...((job.config as Record<string, unknown> | undefined) ?? {}) },
  });
  assert.deepEqual(answer.errors, [], 'delivery errors');
  assert.equal(answer.delivered, job.count, 'delivered records');
  if (job.partition === undefined) assertMurmur2Placement(answer.partitions, job.prefix, partitions);
  return answer;
}

/** Consumes with the client into a temp file and returns the records it saw. */
export async function pyConsume(
  driver: PyDriver,
  bootstrap: string,
  job: Record<string, unknown> & { topic: string; partitions: number; expect: number },
): Promise<{ records: ConsumedRecord[]; answer: Record<string, unknown> }> {
  const { dir, cleanup } = tempDir(`${driver}-consume`);
  try {
    const out = join(dir, 'records.jsonl');
    const answer = await runPy(driver, { op: job.op ?? 'consume', bootstrap, out, ...job });
    return { records: readRecordLines(out), answer };
  } finally {
    cleanup();
  }
}

const SUITE_TEST_TIMEOUT_MS = 300_000;

/** Registers the interop tests for one Python client against an embedded Eddy broker. */
export function describePythonClient(suite: PythonClientSuite): void {
  const { driver } = suite;
  let broker: TestBroker;
  before(async () => {
    broker = await startNativeTestBroker();
  });
  after(async () => {
    await broker.stop();
  });

  async function createTopics(topics: { name: string; partitions: number; config?: Record<string, string> }[]) {
    const answer = await runPy<{ created: string[] }>(driver, {
      op: 'create_topics',
      bootstrap: broker.bootstrap,
      topics,
    });
    assert.deepEqual(answer.created, topics.map((t) => t.name).sort());
    for (const t of topics) await waitForPartitionsReady(broker.bootstrap, t.name, t.partitions);
  }

  describe(`${suite.name} against Eddy`, () => {
    for (const codec of suite.codecs) {
      it(`produces and consumes ${RECORD_COUNT} keyed records with headers, compression ${codec}`, {
        timeout: SUITE_TEST_TIMEOUT_MS,
      }, async () => {
        const topic = `${driver}-codec-${codec}-${process.pid}`;
        const partitions = 6;
        await createTopics([{ name: topic, partitions }]);
        const prefix = `${driver}-${codec}`;
        await pyProduce(
          suite,
          broker.bootstrap,
          { topic, prefix, count: RECORD_COUNT, compression: codec },
          partitions,
        );
        const { records } = await pyConsume(driver, broker.bootstrap, { topic, partitions, expect: RECORD_COUNT });
        assertExactlyProduced(records, { prefix, count: RECORD_COUNT, partitions });
      });
    }

    it('produces and consumes a 5 MiB record with raised limits, and is refused one over the topic limit', {
      timeout: SUITE_TEST_TIMEOUT_MS,
    }, async () => {
      const topic = `${driver}-big-${process.pid}`;
      const small = `${driver}-big-refused-${process.pid}`;
      await createTopics([
        { name: topic, partitions: 1, config: { 'max.message.bytes': String(8 * 1024 * 1024) } },
        { name: small, partitions: 1, config: { 'max.message.bytes': String(1024 * 1024) } },
      ]);
      const ok = await runPy<{ delivered: [number, number][]; errors: string[] }>(driver, {
        op: 'produce_big',
        bootstrap: broker.bootstrap,
        topic,
        size: FIVE_MIB,
        config: suite.bigProducerConfig,
      });
      assert.deepEqual(ok, { delivered: [[0, 0]], errors: [] });
      const { records } = await pyConsume(driver, broker.bootstrap, {
        topic,
        partitions: 1,
        expect: 1,
        config: suite.bigConsumerConfig,
      });
      assert.equal(records.length, 1);
      assert.equal(records[0]?.k, 'big');
      assert.equal(records[0]?.vlen, FIVE_MIB);
      assert.equal(records[0]?.vsha, sha256Hex(bigValue(FIVE_MIB)));

      // The same record to a topic whose max.message.bytes is 1 MiB: the broker refuses it.
      const refused = await runPy<{ delivered: [number, number][]; errors: string[] }>(driver, {
        op: 'produce_big',
        bootstrap: broker.bootstrap,
        topic: small,
        size: FIVE_MIB,
        config: { ...suite.bigProducerConfig, ...(driver === 'ck' ? { 'message.timeout.ms': 30_000 } : {}) },
      });
      assert.deepEqual(refused.delivered, []);
      assert.match(refused.errors.join('\n'), /too large|TooLarge|MSG_SIZE_TOO_LARGE/i);
    });

    it('produces to all 1000 partitions of a topic and reads every one back', {
      timeout: SUITE_TEST_TIMEOUT_MS,
    }, async () => {
      const topic = `${driver}-1000p-${process.pid}`;
      const partitions = 1000;
      await createTopics([{ name: topic, partitions }]);
      const prefix = `${driver}-1000p`;
      // Enough keys that murmur2 covers every partition (asserted, not assumed).
      const count = 10_000;
      const covered = new Set<number>();
      for (let i = 0; i < count; i++) covered.add(javaPartition(expectedRecord(prefix, i).key, partitions));
      assert.equal(covered.size, partitions, 'the keys cover every partition');
      // A longer linger fills batches for 1000 partitions (kafka-python takes twice as long without).
      const linger = driver === 'ck' ? { 'linger.ms': 200 } : { linger_ms: 200 };
      await pyProduce(suite, broker.bootstrap, { topic, prefix, count, config: linger }, partitions);
      const { records } = await pyConsume(driver, broker.bootstrap, { topic, partitions, expect: count });
      assert.equal(new Set(records.map((r) => r.p)).size, partitions, 'partitions read back');
      assertExactlyProduced(records, { prefix, count, partitions });
    });

    it('seeks to the earliest offset, the latest offset and a timestamp', {
      timeout: SUITE_TEST_TIMEOUT_MS,
    }, async () => {
      const topic = `${driver}-seek-${process.pid}`;
      const partitions = 3;
      await createTopics([{ name: topic, partitions }]);
      const prefix = `${driver}-seek`;
      const count = 300;
      const baseTs = Date.now() - 3_600_000;
      // Explicit CreateTimes one second apart: record i has baseTs + i*1000.
      await pyProduce(
        suite,
        broker.bootstrap,
        { topic, prefix, count, timestamps: { base: baseTs, step: 1000 } },
        partitions,
      );

      const all = (await pyConsume(driver, broker.bootstrap, { topic, partitions, expect: count, start: 'earliest' }))
        .records;
      assertExactlyProduced(all, { prefix, count, partitions });
      for (const r of all) assert.equal(r.ts, baseTs + Number(r.h[0]?.[1]) * 1000, 'CreateTime kept');

      // offsets_for_times: per partition, the first offset whose timestamp is >= the target.
      const target = baseTs + 149_500;
      const want: Record<string, number> = {};
      for (let p = 0; p < partitions; p++) {
        want[String(p)] = all.find((r) => r.p === p && r.ts >= target)?.o ?? -1;
      }
      const found = await runPy<{ offsets: Record<string, number> }>(driver, {
        op: 'offsets_for_times',
        bootstrap: broker.bootstrap,
        topic,
        partitions,
        timestamp: target,
      });
      assert.deepEqual(found.offsets, want, 'offsets for the timestamp');
      const past = await runPy<{ offsets: Record<string, number> }>(driver, {
        op: 'offsets_for_times',
        bootstrap: broker.bootstrap,
        topic,
        partitions,
        timestamp: baseTs + count * 1000,
      });
      assert.deepEqual(past.offsets, { '0': -1, '1': -1, '2': -1 }, 'no record at or after a later timestamp');

      // seek() to those offsets, then read: exactly the records from the target time on.
      const later = all.filter((r) => r.ts >= target);
      assert.equal(later.length, 150);
      const seeked = await pyConsume(driver, broker.bootstrap, {
        op: 'seek_timestamp',
        topic,
        partitions,
        timestamp: target,
        expect: later.length,
      });
      assert.deepEqual(sortRecords(seeked.records), sortRecords(later));

      // Latest: positioned at the high watermarks, the consumer sees only records produced after.
      const high: Record<string, number> = {};
      for (let p = 0; p < partitions; p++) high[String(p)] = all.filter((r) => r.p === p).length;
      const fresh = 30;
      const latest = await pyConsume(driver, broker.bootstrap, {
        op: 'consume_latest',
        topic,
        partitions,
        prefix: `${driver}-fresh`,
        fresh,
        producer_config: suite.producerConfig,
        expect: fresh,
      });
      assert.deepEqual(latest.answer.positions, high, 'positions at the end');
      assertExactlyProduced(
        latest.records.map((r) => ({ ...r, o: r.o - (high[String(r.p)] ?? 0) })),
        { prefix: `${driver}-fresh`, count: fresh, partitions },
      );
    });

    it('describes and alters topic and broker configs', { timeout: SUITE_TEST_TIMEOUT_MS }, async () => {
      const topic = `${driver}-configs-${process.pid}`;
      await createTopics([{ name: topic, partitions: 1, config: { 'max.message.bytes': '2000000' } }]);
      type Described = { configs: Record<string, { value: string | null; read_only: boolean; source?: number }> };
      const describe = (resource: string, name: string) =>
        runPy<Described>(driver, { op: 'describe_configs', bootstrap: broker.bootstrap, resource, name });

      const before = await describe('topic', topic);
      assert.equal(before.configs['max.message.bytes']?.value, '2000000');
      assert.equal(before.configs['max.message.bytes']?.source, suite.configSources.dynamicTopic);
      assert.equal(before.configs['retention.ms']?.value, '604800000', "Kafka's default retention");
      assert.equal(before.configs['retention.ms']?.source, suite.configSources.default);
      assert.equal(before.configs['cleanup.policy']?.value, 'delete');

      // AlterConfigs (not incremental) replaces the topic's whole set of dynamic configs.
      await runPy(driver, {
        op: 'alter_configs',
        bootstrap: broker.bootstrap,
        resource: 'topic',
        name: topic,
        set: { 'retention.ms': '3600000', 'cleanup.policy': 'compact' },
      });
      const afterAlter = await describe('topic', topic);
      assert.equal(afterAlter.configs['retention.ms']?.value, '3600000');
      assert.equal(afterAlter.configs['retention.ms']?.source, suite.configSources.dynamicTopic);
      assert.equal(afterAlter.configs['cleanup.policy']?.value, 'compact');
      assert.equal(afterAlter.configs['max.message.bytes']?.value, '8388608', 'back to the broker-wide value');

      // Eddy's own admin client sees the same.
      const admin = new Admin({ bootstrapServers: broker.bootstrap, logger: null });
      try {
        const [res] = await admin.describeConfigs([{ type: 'topic', name: topic }]);
        const retention = res?.configs.find((e) => e.name === 'retention.ms');
        assert.equal(retention?.value, '3600000');
      } finally {
        await admin.close();
      }

      // The broker's static settings, as this test's broker was started with them.
      const brokerConfigs = await describe('broker', '1');
      assert.equal(brokerConfigs.configs['message.max.bytes']?.value, String(8 * 1024 * 1024));
      assert.equal(brokerConfigs.configs['message.max.bytes']?.source, suite.configSources.staticBroker);
    });
  });
}

function sortRecords(list: readonly ConsumedRecord[]): ConsumedRecord[] {
  return [...list].sort((a, b) => a.p - b.p || a.o - b.o);
}

// ---- kcat

/** kcat -P input: one "key<TAB>value" line per record i in [start, start+count). */
export function kcatLines(prefix: string, start: number, count: number): string {
  const lines: string[] = [];
  for (let i = start; i < start + count; i++) {
    const r = expectedRecord(prefix, i);
    lines.push(`${r.key}\t${r.value}\n`);
  }
  return lines.join('');
}

/** kcat's producer arguments: keys split at a tab, Java-compatible murmur2 partitioner. */
export function kcatProducerArgs(bootstrap: string, topic: string, extra: string[] = []): string[] {
  return ['-P', '-b', bootstrap, '-t', topic, '-K', '\\t', '-X', 'topic.partitioner=murmur2_random', ...extra];
}

interface KcatJson {
  partition: number;
  offset: number;
  ts: number;
  key: string | null;
  payload: string | null;
  headers?: string[];
}

/** Parses `kcat -C -J` output (headers come as a flat [name, value, ...] list). */
export function parseKcatJson(stdout: Buffer): ConsumedRecord[] {
  return stdout
    .toString()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      const j = JSON.parse(l) as KcatJson;
      const h: [string, string | null][] = [];
      const flat = j.headers ?? [];
      for (let n = 0; n + 1 < flat.length; n += 2) h.push([flat[n] as string, flat[n + 1] ?? null]);
      return {
        p: j.partition,
        o: j.offset,
        ts: j.ts,
        k: j.key,
        v: j.payload,
        vlen: j.payload === null ? 0 : Buffer.byteLength(j.payload),
        h,
      };
    });
}

/** Reads a topic with kcat from `offset` (beginning, end, -N, s@ts) to the end of every partition. */
export async function kcatConsume(
  bootstrap: string,
  topic: string,
  offset: string,
  extra: string[] = [],
): Promise<ConsumedRecord[]> {
  const r = await runKcat(['-C', '-b', bootstrap, '-t', topic, '-o', offset, '-e', '-J', '-q', ...extra]);
  return parseKcatJson(r.stdout);
}
