// Live fuzzing of a running broker: hostile frames (test/helpers/fuzz.ts: garbage, mutated
// real frames, wrong and oversized size prefixes, plus unmutated random valid requests) over
// many concurrent connections, while a well-behaved client keeps checking the broker with
// real requests and produce/fetch round trips. Used by live-broker.test.ts (bounded, in CI)
// and soak.ts (`npm run fuzz:soak`, any duration and seed).
//
// Every hostile frame must end in a response, a closed connection, or a wait the request
// asked for (Fetch max.wait, JoinGroup/SyncGroup rebalances); anything else is a hang. The
// broker runs in a child process (broker-child.ts) so a crash, its memory and its event loop
// are observed apart from the fuzzer's own.
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Reader } from '../../src/protocol/codec.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { decodeRequestBody, decodeRequestHeader, encodeRequestFrame } from '../../src/protocol/messages.js';
import {
  CompressionType,
  CRC_OFFSET,
  computeBatchCrc,
  decodeRecordBatches,
  encodeRecordBatch,
} from '../../src/records/index.js';
import { type FuzzCase, type FuzzKind, fuzzCases, mutate, Rng, validRequestFrames } from '../helpers/fuzz.js';
import { RawClient } from '../helpers/raw-client.js';
import type { BrokerStats, ChildMessage, ParentMessage } from './broker-child.js';

export interface LiveFuzzOptions {
  seed: number;
  /** Hostile frames per round; one round unless durationMs asks for more. */
  framesPerRound: number;
  /** Keep starting new rounds (seed, seed+1, ...) until this much time has passed. */
  durationMs?: number;
  /** Connections sending hostile frames at once. */
  concurrency: number;
  /** Share of frames sent unmutated (valid random requests). */
  validShare?: number;
  /**
   * Include CreateTopics/CreatePartitions with absurd partition counts (default true). These
   * currently exhaust the broker's heap (see the bench report); the CI test leaves them out
   * until the controller bounds partition counts per request.
   */
  adminAbuse?: boolean;
  /** How long a complete frame may go unanswered (and the connection open) before it is a hang. */
  answerTimeoutMs?: number;
  /** The broker's socket.request.max.bytes (oversize frames are aimed just past it). */
  maxRequestBytes?: number;
  /** How long the well-behaved client waits for each answer before calling it a failure. */
  probeTimeoutMs?: number;
  /** Progress lines (soak). */
  onProgress?: (line: string) => void;
}

/**
 * response    the broker answered
 * closed      the broker closed the connection
 * waiting     no answer, and the request said so: a Fetch's max wait, a JoinGroup or
 *             SyncGroup waiting for the group, a Produce with acks=0
 * incomplete  the size prefix promised more bytes than were sent; the broker is right to wait
 * hang        anything else: a finding
 */
export type Outcome = 'response' | 'closed' | 'waiting' | 'incomplete' | 'hang';

export interface Finding {
  problem: string;
  seed: number;
  round: number;
  caseIndex: number;
  kind: string;
  apiKey: number | null;
  apiVersion: number | null;
  /** The frame, size prefix included (first 4 KiB). */
  hex: string;
}

export interface LiveFuzzReport {
  frames: number;
  rounds: number;
  /** Requests pipelined by clients that never read their responses. */
  floodRequests: number;
  /** The slowest answered frame. */
  slowestAnswer: { ms: number; kind: string; apiKey: number | null; apiVersion: number | null } | null;
  outcomes: Record<Outcome, number>;
  byKind: Record<string, Record<Outcome, number>>;
  findings: Finding[];
  /** The broker stopped answering the probe (three failures running) and the run stopped. */
  unresponsive: boolean;
  /** Set when the broker process exited during the run. */
  crash: { code: number | null; signal: string | null; stderr: string; lastCases: Finding[] } | null;
  probe: { checks: number; failures: string[]; maxMs: number };
  memory: {
    baselineHeapBytes: number;
    finalHeapBytes: number;
    peakRssBytes: number;
    baselineRssBytes: number;
    finalRssBytes: number;
  };
  eventLoopDelayMaxMs: number;
  connectionsAtEnd: number;
  topicsAtEnd: number;
  /** Lines the broker logged at error level (handler exceptions and the like). */
  brokerErrors: string[];
  elapsedMs: number;
}

const CHILD = fileURLToPath(new URL('./broker-child.js', import.meta.url));
const PROBE_TOPIC = 'fuzz-probe';
/** Well-formed requests with hostile contents go to this topic (it exists, with 3 partitions). */
const TARGET_TOPIC = 'fuzz-target';
const TARGET_PARTITIONS = 3;

class BrokerChild {
  private readonly child: ChildProcess;
  private statsWaiters: ((s: BrokerStats) => void)[] = [];
  stderr = '';
  exited: { code: number | null; signal: string | null } | null = null;
  private exitWaiters: (() => void)[] = [];

  private constructor(
    child: ChildProcess,
    readonly dataDir: string,
  ) {
    this.child = child;
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-256 * 1024);
    });
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'stats') {
        const { type: _type, ...stats } = m;
        for (const w of this.statsWaiters.splice(0)) w(stats);
      }
    });
    child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      rmSync(this.dataDir, { recursive: true, force: true });
      for (const w of this.exitWaiters.splice(0)) w();
    });
  }

  static start(config: Record<string, string | number | boolean>): Promise<{ child: BrokerChild; bootstrap: string }> {
    const dataDir = mkdtempSync(join(os.tmpdir(), 'eddy-fuzz-'));
    const proc = fork(CHILD, [JSON.stringify(config), dataDir], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const bc = new BrokerChild(proc, dataDir);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`broker child did not start: ${bc.stderr}`));
      }, 30_000);
      proc.once('message', (m: ChildMessage) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve({ child: bc, bootstrap: m.bootstrap });
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`broker child exited (${code}) before it was ready: ${bc.stderr}`));
      });
    });
  }

  /** The child's stats; null when it does not answer within the timeout (or has exited). */
  stats(gc = false, timeoutMs = 10_000): Promise<BrokerStats | null> {
    if (this.exited) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      this.statsWaiters.push((s) => {
        clearTimeout(timer);
        resolve(s);
      });
      const msg: ParentMessage = { type: 'stats', gc };
      this.child.send(msg);
    });
  }

  onExit(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const msg: ParentMessage = { type: 'stop' };
    this.child.send(msg);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.onExit();
    clearTimeout(timer);
  }
}

async function createTopic(bootstrap: string, name: string, partitions: number): Promise<void> {
  const c = await RawClient.connect(bootstrap);
  try {
    const res = await c.request(ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10_000,
    });
    const code = res.topics[0]?.errorCode;
    if (code !== 0) throw new Error(`creating ${name}: error ${code}`);
  } finally {
    c.close();
  }
}

/** Whether a request that got no answer asked for none, or to wait at least that long. */
export function asksToWait(bytes: Buffer, waitedMs: number): boolean {
  try {
    if (bytes.length < 4 || bytes.readInt32BE(0) !== bytes.length - 4) return false;
    const r = new Reader(bytes.subarray(4));
    const h = decodeRequestHeader(r);
    if (h.requestApiKey === ApiKey.Fetch) {
      const body = decodeRequestBody(ApiKey.Fetch, h.requestApiVersion, r);
      return body.maxWaitMs >= waitedMs * 0.8;
    }
    if (h.requestApiKey === ApiKey.Produce) {
      return decodeRequestBody(ApiKey.Produce, h.requestApiVersion, r).acks === 0;
    }
    // A JoinGroup waits for the rebalance, a SyncGroup for the leader's assignment.
    return h.requestApiKey === ApiKey.JoinGroup || h.requestApiKey === ApiKey.SyncGroup;
  } catch {
    return false;
  }
}

/**
 * 'oversize': a negative size prefix or one above the broker's limit (must be closed at once);
 * 'short': the prefix promises more bytes than follow; 'long': fewer; 'exact'.
 */
function sizeMismatch(bytes: Buffer, maxRequestBytes: number): 'oversize' | 'short' | 'long' | 'exact' {
  if (bytes.length < 4) return 'short';
  const declared = bytes.readInt32BE(0);
  if (declared < 0 || declared > maxRequestBytes) return 'oversize';
  if (declared > bytes.length - 4) return 'short';
  return declared < bytes.length - 4 ? 'long' : 'exact';
}

function emptyOutcomes(): Record<Outcome, number> {
  return { response: 0, closed: 0, waiting: 0, incomplete: 0, hang: 0 };
}

/** A well-behaved client checking the broker while it is fuzzed. */
class Probe {
  checks = 0;
  consecutiveFailures = 0;
  failures: string[] = [];
  maxMs = 0;
  private running = true;
  private client: RawClient | null = null;
  private done: Promise<void> = Promise.resolve();
  private seq = 0;

  constructor(
    private readonly bootstrap: string,
    private readonly timeoutMs: number,
  ) {}

  start(intervalMs: number): void {
    this.done = (async () => {
      while (this.running) {
        await this.checkOnce();
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    this.client?.close();
  }

  private async withTimeout<T>(what: string, p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${what}: no answer in ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** ApiVersions, Metadata, then a produce and a fetch of the same record. */
  async checkOnce(): Promise<void> {
    const started = performance.now();
    const value = `probe-${++this.seq}-${Date.now()}`;
    try {
      if (this.client === null || this.client.closed) {
        if (this.client?.closed) this.failures.push(`check ${this.seq}: the broker closed the probe's connection`);
        this.client = await this.withTimeout('connect', RawClient.connect(this.bootstrap));
      }
      const c = this.client;
      const av = await this.withTimeout(
        'ApiVersions',
        c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'eddy-probe', clientSoftwareVersion: '1' }),
      );
      if (av.errorCode !== 0) throw new Error(`ApiVersions error ${av.errorCode}`);
      const md = await this.withTimeout(
        'Metadata',
        c.request(ApiKey.Metadata, 12, { topics: [{ name: PROBE_TOPIC }], allowAutoTopicCreation: true }),
      );
      const t = md.topics[0];
      if (t?.errorCode !== 0 || t.partitions.length === 0) {
        throw new Error(`Metadata for ${PROBE_TOPIC}: error ${t?.errorCode}`);
      }
      const batch = encodeRecordBatch({ records: [{ value: Buffer.from(value) }] });
      const pr = await this.withTimeout(
        'Produce',
        c.request(ApiKey.Produce, 9, {
          transactionalId: null,
          acks: 1,
          timeoutMs: 5000,
          topicData: [{ name: PROBE_TOPIC, partitionData: [{ index: 0, records: batch }] }],
        }),
      );
      const pp = pr.responses[0]?.partitionResponses[0];
      if (pp?.errorCode !== 0) throw new Error(`Produce error ${pp?.errorCode} ${pp?.errorMessage ?? ''}`);
      const fr = await this.withTimeout(
        'Fetch',
        c.request(ApiKey.Fetch, 12, {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 1,
          maxBytes: 1 << 20,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic: PROBE_TOPIC,
              partitions: [
                { partition: 0, fetchOffset: pp.baseOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 },
              ],
            },
          ],
        }),
      );
      const fp = fr.responses[0]?.partitions[0];
      if (fp?.errorCode !== 0 || !fp.records) throw new Error(`Fetch error ${fp?.errorCode}`);
      const rec = decodeRecordBatches(fp.records)
        .flatMap((b) => b.records)
        .find((x) => x.offset === pp.baseOffset);
      if (rec?.value?.toString() !== value) throw new Error(`fetched ${rec?.value?.toString()}, produced ${value}`);
      this.checks++;
      this.consecutiveFailures = 0;
    } catch (err) {
      this.consecutiveFailures++;
      this.failures.push(`check ${this.seq}: ${err instanceof Error ? err.message : String(err)}`);
      this.client?.close();
      this.client = null;
    } finally {
      this.maxMs = Math.max(this.maxMs, performance.now() - started);
    }
  }
}

interface PlannedCase extends Omit<FuzzCase, 'kind'> {
  kind: FuzzKind | 'valid' | 'targeted';
  round: number;
  index: number;
}

/** A raw connection for hostile bytes: all it tracks is whether anything came back. */
class FuzzConnection {
  private receivedBytes = 0;
  closed = false;
  private waiters: (() => void)[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.receivedBytes += d.length;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(bootstrap: string): Promise<FuzzConnection> {
    const [host, port] = bootstrap.split(':');
    return new Promise((resolve, reject) => {
      const s = net.connect(Number(port), host, () => {
        s.off('error', reject);
        resolve(new FuzzConnection(s));
      });
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /**
   * Sends `bytes` and waits for the broker's reaction: 'response' when bytes come back,
   * 'closed' when the connection closes first, 'timeout' when neither happens in time.
   * Bytes still in flight from an earlier frame count too; only the broker's liveness matters.
   */
  async exchange(bytes: Buffer, timeoutMs: number): Promise<'response' | 'closed' | 'timeout'> {
    const before = this.receivedBytes;
    this.socket.write(bytes);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.receivedBytes > before) return 'response';
      if (this.closed) return 'closed';
      const left = deadline - performance.now();
      if (left <= 0) return 'timeout';
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * A well-formed request about the target topic with hostile contents: a Produce of a real
 * record batch that was then mutated (half the time with its CRC recomputed, so the damage
 * reaches the checks behind the CRC), or a Fetch or ListOffsets at a random offset,
 * timestamp or partition. The broker must answer these, not close the connection.
 */
function targetedFrame(rng: Rng, adminAbuse: boolean): { apiKey: number; apiVersion: number; bytes: Buffer } {
  const partition = rng.chance(0.9) ? rng.int(TARGET_PARTITIONS) : rng.pick([-1, TARGET_PARTITIONS, 0x7fffffff]);
  const correlationId = rng.int(0x7fffffff);
  const frame = (chunks: Buffer[]): Buffer => Buffer.concat(chunks);
  if (adminAbuse && rng.chance(0.1)) return adminAbuseFrame(rng, correlationId);
  const which = rng.int(10);
  if (which < 6) {
    const records = Array.from({ length: 1 + rng.int(5) }, () => ({
      key: rng.chance(0.5) ? rng.bytes(rng.int(16)) : null,
      value: rng.chance(0.9) ? rng.bytes(rng.int(200)) : null,
      headers: rng.chance(0.3) ? [{ key: 'h', value: rng.bytes(rng.int(8)) }] : [],
    }));
    const compression = rng.pick([
      CompressionType.None,
      CompressionType.None,
      CompressionType.Gzip,
      CompressionType.Zstd,
    ]);
    const batches: Buffer[] = [];
    for (let i = 0, n = 1 + rng.int(3); i < n; i++) {
      let b = Buffer.from(encodeRecordBatch({ records, compression }));
      if (rng.chance(0.8)) {
        b = Buffer.from(mutate(rng, b));
        if (b.length >= 61 && rng.chance(0.5)) {
          // The batch length field may now disagree with the buffer; CRC what is there.
          const declared = b.readInt32BE(8) + 12;
          const size = Math.min(b.length, Math.max(21, declared));
          b.writeUInt32BE(computeBatchCrc(b, 0, size), CRC_OFFSET);
        }
      }
      batches.push(b);
    }
    const apiVersion = rng.pick([3, 7, 9, 11]);
    return {
      apiKey: ApiKey.Produce,
      apiVersion,
      bytes: frame(
        encodeRequestFrame({
          apiKey: ApiKey.Produce,
          apiVersion,
          correlationId,
          clientId: 'fuzz',
          body: {
            transactionalId: null,
            acks: rng.pick([1, -1]),
            timeoutMs: 5000,
            topicData: [{ name: TARGET_TOPIC, partitionData: [{ index: partition, records: Buffer.concat(batches) }] }],
          },
        }),
      ),
    };
  }
  const offset = rng.pick([0, 1, -1, -2, rng.int(1000), 2 ** 31, Number.MAX_SAFE_INTEGER]);
  if (which < 8) {
    const apiVersion = rng.pick([4, 11, 12]);
    return {
      apiKey: ApiKey.Fetch,
      apiVersion,
      bytes: frame(
        encodeRequestFrame({
          apiKey: ApiKey.Fetch,
          apiVersion,
          correlationId,
          clientId: 'fuzz',
          body: {
            replicaId: -1,
            maxWaitMs: rng.int(200),
            minBytes: rng.pick([0, 1, 1 << 20]),
            maxBytes: rng.pick([0, 1, 1 << 20, 0x7fffffff]),
            isolationLevel: rng.int(2),
            sessionId: 0,
            sessionEpoch: -1,
            topics: [
              {
                topic: TARGET_TOPIC,
                partitions: [
                  {
                    partition,
                    fetchOffset: offset,
                    partitionMaxBytes: rng.pick([0, 1, 1 << 20, 0x7fffffff]),
                    currentLeaderEpoch: rng.pick([-1, 0, 5]),
                  },
                ],
              },
            ],
          },
        }),
      ),
    };
  }
  const apiVersion = rng.pick([1, 5, 7]);
  return {
    apiKey: ApiKey.ListOffsets,
    apiVersion,
    bytes: frame(
      encodeRequestFrame({
        apiKey: ApiKey.ListOffsets,
        apiVersion,
        correlationId,
        clientId: 'fuzz',
        body: {
          replicaId: rng.pick([-1, -2]),
          isolationLevel: rng.int(2),
          topics: [
            {
              name: TARGET_TOPIC,
              partitions: [
                { partitionIndex: partition, timestamp: rng.pick([-1, -2, -3, -4, -5, -6, 0, Date.now(), offset]) },
              ],
            },
          ],
        },
      }),
    ),
  };
}

/**
 * CreateTopics and CreatePartitions asking for absurd partition counts (validateOnly or not).
 * Kafka 4 rejects a CreateTopics adding more than 10,000 partitions with POLICY_VIOLATION;
 * counts in the legitimate range are left out, as creating thousands of logs is slow, not wrong.
 */
function adminAbuseFrame(rng: Rng, correlationId: number): { apiKey: number; apiVersion: number; bytes: Buffer } {
  const validateOnly = rng.chance(0.5);
  if (rng.chance(0.5)) {
    const count = rng.pick([0, -7, 10_001, 100_000, 0x7fffffff]);
    const apiVersion = rng.pick([2, 5, 7]);
    const frame = encodeRequestFrame({
      apiKey: ApiKey.CreateTopics,
      apiVersion,
      correlationId,
      clientId: 'fuzz',
      body: {
        topics: [
          {
            name: `fuzz-new-${rng.int(1000)}`,
            numPartitions: count,
            replicationFactor: rng.pick([1, -1, 0, 32767]),
            assignments: [],
            configs: [],
          },
        ],
        timeoutMs: 10_000,
        validateOnly,
      },
    });
    return { apiKey: ApiKey.CreateTopics, apiVersion, bytes: Buffer.concat(frame) };
  }
  // CreatePartitions takes the new total; past int32 partition ids nothing can be valid.
  const count = rng.pick([0, -7, 0x7fffffff]);
  const apiVersion = rng.pick([0, 3]);
  const frame = encodeRequestFrame({
    apiKey: ApiKey.CreatePartitions,
    apiVersion,
    correlationId,
    clientId: 'fuzz',
    body: { topics: [{ name: TARGET_TOPIC, count, assignments: null }], timeoutMs: 10_000, validateOnly },
  });
  return { apiKey: ApiKey.CreatePartitions, apiVersion, bytes: Buffer.concat(frame) };
}

/** One round's frames: hostile cases, some unmutated valid requests and targeted ones mixed in. */
function planRound(
  seed: number,
  round: number,
  count: number,
  validShare: number,
  maxRequestBytes: number,
  adminAbuse: boolean,
) {
  const roundSeed = (seed + round) >>> 0;
  const hostile = fuzzCases(roundSeed, count, { maxFrameBytes: maxRequestBytes });
  const valid = validRequestFrames(roundSeed);
  const rng = new Rng(roundSeed ^ 0x1ee7);
  return hostile.map((c, index): PlannedCase => {
    if (rng.chance(validShare)) {
      const v = rng.pick(valid);
      return { kind: 'valid', apiKey: v.apiKey, apiVersion: v.apiVersion, bytes: v.frame, round, index };
    }
    if (rng.chance(validShare)) return { kind: 'targeted', ...targetedFrame(rng, adminAbuse), round, index };
    return { ...c, round, index };
  });
}

/**
 * A client that pipelines requests and never reads the responses: the broker must stop
 * reading from it (back-pressure) rather than buffer answers without bound.
 */
async function flood(bootstrap: string, rng: Rng, keepGoing: () => boolean): Promise<number> {
  let sent = 0;
  while (keepGoing()) {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const [host, port] = bootstrap.split(':');
      const s = net.connect(Number(port), host, () => resolve(s));
      s.once('error', reject);
    }).catch(() => null);
    if (socket === null) return sent;
    socket.on('error', () => undefined);
    socket.pause();
    const fetch = Buffer.concat(
      encodeRequestFrame({
        apiKey: ApiKey.Fetch,
        apiVersion: 12,
        correlationId: 1,
        clientId: 'flood',
        body: {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1 << 20,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic: TARGET_TOPIC,
              partitions: [{ partition: rng.int(TARGET_PARTITIONS), fetchOffset: 0, partitionMaxBytes: 1 << 20 }],
            },
          ],
        },
      }),
    );
    const metadata = Buffer.concat(
      encodeRequestFrame({
        apiKey: ApiKey.Metadata,
        apiVersion: 12,
        correlationId: 2,
        clientId: 'flood',
        body: { topics: null, allowAutoTopicCreation: false },
      }),
    );
    const until = performance.now() + 1000 + rng.int(2000);
    while (keepGoing() && performance.now() < until && !socket.destroyed) {
      // Stop writing once the kernel pushes back: the point is unread responses, not our memory.
      if (socket.writableLength < 1 << 20) {
        socket.write(rng.chance(0.5) ? fetch : metadata);
        sent++;
      }
      await new Promise((r) => setImmediate(r));
    }
    socket.destroy();
  }
  return sent;
}

function finding(problem: string, seed: number, c: PlannedCase): Finding {
  return {
    problem,
    seed,
    round: c.round,
    caseIndex: c.index,
    kind: c.kind,
    apiKey: c.apiKey,
    apiVersion: c.apiVersion,
    hex: c.bytes.subarray(0, 4096).toString('hex'),
  };
}

export async function runLiveFuzz(opts: LiveFuzzOptions): Promise<LiveFuzzReport> {
  const started = performance.now();
  const answerTimeoutMs = opts.answerTimeoutMs ?? 5000;
  const maxRequestBytes = opts.maxRequestBytes ?? 1024 * 1024;
  const validShare = opts.validShare ?? 0.2;
  /** An incomplete frame: the broker can only wait for the rest (or reject an oversize prefix at once). */
  const incompleteWaitMs = 300;
  const progress = opts.onProgress ?? (() => undefined);
  const { child, bootstrap } = await BrokerChild.start({
    // Long enough that a stalled event loop cannot idle-close the probe's connection; the
    // fuzzer closes connections it left with incomplete frames itself.
    'connections.max.idle.ms': 60_000,
    'socket.request.max.bytes': maxRequestBytes,
    'group.initial.rebalance.delay.ms': 0,
  });
  const report: LiveFuzzReport = {
    frames: 0,
    rounds: 0,
    floodRequests: 0,
    slowestAnswer: null,
    unresponsive: false,
    outcomes: emptyOutcomes(),
    byKind: {},
    findings: [],
    crash: null,
    probe: { checks: 0, failures: [], maxMs: 0 },
    memory: { baselineHeapBytes: 0, finalHeapBytes: 0, peakRssBytes: 0, baselineRssBytes: 0, finalRssBytes: 0 },
    eventLoopDelayMaxMs: 0,
    connectionsAtEnd: -1,
    topicsAtEnd: -1,
    brokerErrors: [],
    elapsedMs: 0,
  };
  const probe = new Probe(bootstrap, opts.probeTimeoutMs ?? 5000);
  const recent: PlannedCase[] = [];
  let crashed = false;
  // A broker that fails the probe three times running is wedged: stop instead of piling up
  // hang findings for every frame sent after the one that wedged it.
  const stopped = (): boolean => crashed || probe.consecutiveFailures >= 3;
  const crashWatch = child.onExit().then(() => {
    crashed = true;
  });
  let sampler: NodeJS.Timeout | null = null;
  try {
    // Warm up: the topics exist and one full check passes before the baseline.
    await createTopic(bootstrap, TARGET_TOPIC, TARGET_PARTITIONS);
    await probe.checkOnce();
    const base = await child.stats(true);
    if (base) {
      report.memory.baselineHeapBytes = base.heapUsedBytes;
      report.memory.baselineRssBytes = base.rssBytes;
      report.memory.peakRssBytes = base.rssBytes;
    }
    probe.start(100);
    let sampling = false;
    sampler = setInterval(() => {
      if (sampling) return;
      sampling = true;
      void child.stats().then((s) => {
        sampling = false;
        if (!s) return;
        report.memory.peakRssBytes = Math.max(report.memory.peakRssBytes, s.rssBytes);
        report.eventLoopDelayMaxMs = Math.max(report.eventLoopDelayMaxMs, s.eventLoopDelayMaxMs);
      });
    }, 250);

    // One round, or rounds until the duration is up.
    const deadline = opts.durationMs !== undefined ? started + opts.durationMs : 0;
    for (let round = 0; !stopped(); round++) {
      if (round > 0 && performance.now() >= deadline) break;
      const cases = planRound(
        opts.seed,
        round,
        opts.framesPerRound,
        validShare,
        maxRequestBytes,
        opts.adminAbuse ?? true,
      );
      let next = 0;
      const worker = async (): Promise<void> => {
        let conn: FuzzConnection | null = null;
        try {
          while (!stopped() && next < cases.length) {
            const c = cases[next++] as PlannedCase;
            recent.push(c);
            if (recent.length > 64) recent.shift();
            // A targeted request gets a connection of its own, so a close is its own doing.
            if (c.kind === 'targeted' && conn !== null) {
              conn.close();
              conn = null;
            }
            if (conn === null || conn.closed) {
              try {
                conn = await FuzzConnection.connect(bootstrap);
              } catch (err) {
                if (!stopped()) report.findings.push(finding(`connect failed: ${String(err)}`, opts.seed, c));
                return;
              }
            }
            const sentAt = performance.now();
            const mismatch = sizeMismatch(c.bytes, maxRequestBytes);
            let outcome: Outcome;
            const reaction = await conn.exchange(c.bytes, mismatch === 'short' ? incompleteWaitMs : answerTimeoutMs);
            if (reaction !== 'timeout') {
              outcome = reaction;
              const tookMs = performance.now() - sentAt;
              if (reaction === 'response' && tookMs > (report.slowestAnswer?.ms ?? -1)) {
                report.slowestAnswer = { ms: tookMs, kind: c.kind, apiKey: c.apiKey, apiVersion: c.apiVersion };
              }
              if (reaction === 'closed' && c.kind === 'targeted' && !stopped()) {
                report.findings.push(
                  finding('closed the connection instead of answering a well-formed request', opts.seed, c),
                );
              }
              if (reaction === 'response' && mismatch === 'oversize' && !stopped()) {
                report.findings.push(finding('answered a frame with an invalid size prefix', opts.seed, c));
              }
            } else if (mismatch === 'short') {
              outcome = 'incomplete';
            } else {
              outcome = mismatch === 'exact' && asksToWait(c.bytes, performance.now() - sentAt) ? 'waiting' : 'hang';
              if (outcome === 'hang' && !stopped()) {
                report.findings.push(finding(`no response and no close within ${answerTimeoutMs} ms`, opts.seed, c));
              }
            }
            // After a size mismatch the stream is out of step; start the next case afresh.
            if (outcome === 'incomplete' || outcome === 'waiting' || outcome === 'hang' || mismatch !== 'exact') {
              conn.close();
              conn = null;
            }
            report.frames++;
            report.outcomes[outcome]++;
            report.byKind[c.kind] ??= emptyOutcomes();
            (report.byKind[c.kind] as Record<Outcome, number>)[outcome]++;
          }
        } finally {
          conn?.close();
        }
      };
      let roundDone = false;
      const floods = Array.from({ length: 2 }, (_, i) =>
        flood(bootstrap, new Rng((opts.seed + round) ^ (0xf100d + i)), () => !roundDone && !stopped()),
      );
      await Promise.race([Promise.all(Array.from({ length: opts.concurrency }, worker)), crashWatch]);
      roundDone = true;
      report.floodRequests += (await Promise.all(floods)).reduce((a, b) => a + b, 0);
      report.rounds++;
      progress(
        `round ${round} (seed ${(opts.seed + round) >>> 0}): ${report.frames} frames, outcomes ${JSON.stringify(report.outcomes)}, probe ${probe.checks} ok / ${probe.failures.length} failed, peak RSS ${(report.memory.peakRssBytes / 1e6).toFixed(0)} MB, max event-loop delay ${report.eventLoopDelayMaxMs.toFixed(0)} ms`,
      );
    }
    await probe.stop();
    if (sampler) clearInterval(sampler);
    sampler = null;
    if (!crashed && stopped()) report.unresponsive = true;
    if (!crashed && !report.unresponsive) {
      // Fuzz connections are all closed on our side; the broker must let go of them too.
      const until = performance.now() + 10_000;
      let s = await child.stats(true);
      while (s && s.connections > 0 && performance.now() < until) {
        await new Promise((r) => setTimeout(r, 200));
        s = await child.stats(true);
      }
      if (s) {
        report.connectionsAtEnd = s.connections;
        report.topicsAtEnd = s.topics;
        report.memory.finalHeapBytes = s.heapUsedBytes;
        report.memory.finalRssBytes = s.rssBytes;
        report.eventLoopDelayMaxMs = Math.max(report.eventLoopDelayMaxMs, s.eventLoopDelayMaxMs);
      }
    }
  } finally {
    if (sampler) clearInterval(sampler);
    await probe.stop();
    if (crashed || child.exited) {
      report.crash = {
        code: child.exited?.code ?? null,
        signal: child.exited?.signal ?? null,
        stderr: child.stderr.slice(-8192),
        lastCases: recent.map((c) => finding('sent shortly before the crash', opts.seed, c)),
      };
    } else {
      await child.stop();
    }
    report.probe = { checks: probe.checks, failures: probe.failures, maxMs: probe.maxMs };
    report.brokerErrors = child.stderr
      .split('\n')
      .filter((l) => l.includes(' ERROR '))
      .slice(0, 200);
    report.elapsedMs = performance.now() - started;
  }
  return report;
}

/** A human-readable summary of a report (and of each finding, for replay). */
export function describeReport(r: LiveFuzzReport): string {
  const lines = [
    `${r.frames} frames in ${r.rounds} round(s), ${(r.elapsedMs / 1000).toFixed(1)} s: ${JSON.stringify(r.outcomes)}; ${r.floodRequests} requests pipelined unread`,
    `by kind: ${JSON.stringify(r.byKind)}`,
    `probe: ${r.probe.checks} round trips ok, ${r.probe.failures.length} failed, slowest ${r.probe.maxMs.toFixed(0)} ms`,
    `memory: heap ${(r.memory.baselineHeapBytes / 1e6).toFixed(1)} MB -> ${(r.memory.finalHeapBytes / 1e6).toFixed(1)} MB after GC; RSS ${(r.memory.baselineRssBytes / 1e6).toFixed(0)} MB -> ${(r.memory.finalRssBytes / 1e6).toFixed(0)} MB, peak ${(r.memory.peakRssBytes / 1e6).toFixed(0)} MB`,
    `slowest answer ${r.slowestAnswer ? `${r.slowestAnswer.ms.toFixed(0)} ms (${r.slowestAnswer.kind}, api ${r.slowestAnswer.apiKey} v${r.slowestAnswer.apiVersion})` : 'n/a'}; max event-loop delay ${r.eventLoopDelayMaxMs.toFixed(0)} ms; connections at end ${r.connectionsAtEnd}; topics at end ${r.topicsAtEnd}`,
  ];
  if (r.unresponsive)
    lines.push('UNRESPONSIVE: the broker stopped answering the probe; the run stopped (see the first findings)');
  if (r.crash) {
    lines.push(`CRASH: broker exited (${r.crash.code ?? r.crash.signal}); stderr tail:\n${r.crash.stderr}`);
    lines.push(`last cases sent: ${r.crash.lastCases.map((c) => `round ${c.round} case ${c.caseIndex}`).join(', ')}`);
  }
  for (const f of r.probe.failures.slice(0, 20)) lines.push(`probe failure: ${f}`);
  for (const f of r.findings.slice(0, 20)) {
    lines.push(
      `FINDING ${f.problem}: seed ${f.seed} round ${f.round} case ${f.caseIndex} (${f.kind}, api ${f.apiKey} v${f.apiVersion}) bytes ${f.hex}`,
    );
  }
  if (r.brokerErrors.length > 0) {
    lines.push(`broker error lines (${r.brokerErrors.length}):`);
    for (const l of r.brokerErrors.slice(0, 20)) lines.push(`  ${l}`);
  }
  return lines.join('\n');
}
