// The producer: per-partition accumulators (batchSize, lingerMs), buffer.memory back-pressure,
// a sender that pipelines one Produce request per leader, retries that keep per-partition
// order, and the idempotent producer (InitProducerId + sequence numbers).
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import type { ProduceRequestTopicProduceDataInit, ProduceResponse } from '../../protocol/generated/api/produce.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import { type CompressionType, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE } from '../../records/batch-header.js';
import { type ClientOptions, Cluster, isStaleMetadataError } from '../cluster.js';
import { type CompressionName, compress, compressionTypeOf } from '../compression.js';
import type { Connection } from '../connection.js';
import { ClientClosedError, ClientError, ConfigError, ConnectionError, isRetriableError } from '../errors.js';
import { type Partitioner, partitionForKey, StickyPartitionCache } from '../partitioner.js';
import { backoffMs, type Deferred, deferred, sleep, withRetries } from '../util.js';
import { BatchBuilder, type HeaderValue, type RecordHeaders } from './batch-builder.js';

export type Acks = 0 | 1 | -1 | 'all';

export interface ProducerOptions extends ClientOptions {
  /** 0: no answer; 1: the leader wrote it; -1/'all': every in-sync replica has it. Default 'all'. */
  acks?: Acks;
  /** Sequence numbers make retries safe with several batches in flight; needs acks=all. Default: on with acks=all. */
  idempotent?: boolean;
  compression?: CompressionName | CompressionType;
  /** Target size of one partition's batch (batch.size). */
  batchSize?: number;
  /** How long a batch may wait for more records before it is sent (linger.ms). */
  lingerMs?: number;
  /** Bytes of unsent batches allowed before send() waits (buffer.memory). */
  bufferMemory?: number;
  /** Largest Produce request (max.request.size); also the largest record accepted. */
  maxRequestSize?: number;
  /** How long send() may wait for buffer space or metadata (max.block.ms). */
  maxBlockMs?: number;
  /** Upper bound on the time from send() to success or failure (delivery.timeout.ms). */
  deliveryTimeoutMs?: number;
  /** How long the broker may wait for replication before answering (acks=all). */
  ackTimeoutMs?: number;
  /** Attempts per batch after the first. Default: unlimited within deliveryTimeoutMs. */
  retries?: number;
  /** Batches per partition in flight. Default 1, or 5 when idempotent; order is kept either way. */
  maxInFlightPerPartition?: number;
  /** Chooses partitions; return -1 to fall back to the built-in choice. */
  partitioner?: Partitioner;
  /** Reports failures of records sent with produce() (fire-and-forget). */
  onDeliveryError?: (err: Error, info: { topic: string; partition: number; recordCount: number }) => void;
}

export type MessageValue = Buffer | string | null;

export interface ProducerRecord {
  topic: string;
  value: MessageValue;
  key?: MessageValue;
  /** Explicit partition; otherwise the partitioner decides. */
  partition?: number;
  headers?: Record<string, HeaderValue | HeaderValue[]> | RecordHeaders;
  /** Milliseconds since the epoch; defaults to now. */
  timestamp?: number;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** -1 with acks=0, or when the broker reported a duplicate of an earlier send. */
  offset: number;
  /** Broker time for LogAppendTime topics, else the record's own timestamp. */
  timestamp: number;
}

/** Receives the outcome of records in a batch; `slot` is what the sink registered. */
/** Records that could not be appended at once (see Producer.enqueue). */
interface WaitingAppend {
  records: readonly ProducerRecord[];
  from: number;
  sink: DeliverySink | null;
  fireAndForget: boolean;
  /** Bytes counted in Producer.waitingBytes (fire-and-forget only). */
  waitingBytes: number;
  fail: (err: unknown) => void;
}

interface DeliverySink {
  deliver(slot: number, err: Error | null, meta: RecordMetadata | null): void;
}

class PromiseSink implements DeliverySink {
  constructor(
    private readonly resolve: (m: RecordMetadata) => void,
    private readonly reject: (e: unknown) => void,
  ) {}
  deliver(_slot: number, err: Error | null, meta: RecordMetadata | null): void {
    if (err) this.reject(err);
    else this.resolve(meta as RecordMetadata);
  }
}

class ManySink implements DeliverySink {
  readonly results: RecordMetadata[];
  private remaining: number;
  private failed = false;
  constructor(
    count: number,
    private readonly resolve: (m: RecordMetadata[]) => void,
    private readonly reject: (e: unknown) => void,
  ) {
    this.results = new Array(count);
    this.remaining = count;
  }
  deliver(slot: number, err: Error | null, meta: RecordMetadata | null): void {
    if (this.failed) return;
    if (err) {
      this.failed = true;
      this.reject(err);
      return;
    }
    this.results[slot] = meta as RecordMetadata;
    if (--this.remaining === 0) this.resolve(this.results);
  }
}

class ProducerBatch {
  readonly builder: BatchBuilder;
  readonly createdAt: number;
  bytes: Buffer | null = null;
  baseSequence = NO_SEQUENCE;
  producerId = NO_PRODUCER_ID;
  producerEpoch = NO_PRODUCER_EPOCH;
  attempts = 0;
  closed = false;
  /**
   * Who to tell about which records, as runs: records appended one after another by the same
   * sendBatch() call share one entry (sink, first slot, first offset delta, count, timestamp).
   */
  sinks: DeliverySink[] | null = null;
  runs: number[] | null = null;
  done: Deferred<void> | null = null;
  finished = false;

  constructor(
    readonly state: PartitionState,
    capacityBytes: number,
    limitBytes: number,
    /** Bytes charged to buffer.memory: the builder's capacity, updated as it grows. */
    public reservedBytes: number,
  ) {
    this.builder = new BatchBuilder(capacityBytes, limitBytes);
    this.createdAt = Date.now();
  }

  addSink(sink: DeliverySink, slot: number, offsetDelta: number, timestamp: number): void {
    if (this.sinks === null) {
      this.sinks = [];
      this.runs = [];
    }
    const runs = this.runs as number[];
    const last = this.sinks.length - 1;
    if (last >= 0 && this.sinks[last] === sink) {
      const r = last * RUN_FIELDS;
      const count = runs[r + 3] as number;
      if (runs[r + 1] === slot - count && runs[r + 2] === offsetDelta - count && runs[r + 4] === timestamp) {
        runs[r + 3] = count + 1;
        return;
      }
    }
    this.sinks.push(sink);
    runs.push(slot, slot, offsetDelta, 1, timestamp);
  }
}

/** Entries per run in ProducerBatch.runs: unused, first slot, first offset delta, count, timestamp. */
const RUN_FIELDS = 5;

class PartitionState {
  building: ProducerBatch | null = null;
  /** Closed batches in send order. */
  readonly queue: ProducerBatch[] = [];
  inFlight = 0;
  nextSequence = 0;
  retryAt = 0;
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
}

/** First allocation of a batch buffer; it doubles as records arrive, up to batchSize. */
const INITIAL_BATCH_BYTES = 16_384;

const DEFAULTS = {
  // Larger than Java's 16 KiB: fewer, bigger requests are what both ends of the wire handle
  // best (librdkafka defaults to 1 MB); buffers start at 16 KiB and grow only when busy.
  batchSize: 131_072,
  lingerMs: 5,
  bufferMemory: 32 * 1024 * 1024,
  maxRequestSize: 1024 * 1024,
  maxBlockMs: 60_000,
  deliveryTimeoutMs: 120_000,
  ackTimeoutMs: 30_000,
};

export class Producer {
  readonly cluster: Cluster;
  private readonly acks: number;
  private readonly idempotent: boolean;
  private readonly compression: CompressionType;
  private readonly batchSize: number;
  private readonly lingerMs: number;
  private readonly bufferMemory: number;
  private readonly maxRequestSize: number;
  private readonly maxBlockMs: number;
  private readonly deliveryTimeoutMs: number;
  private readonly ackTimeoutMs: number;
  private readonly retries: number;
  private readonly maxInFlightPerPartition: number;
  private readonly partitioner: Partitioner | undefined;
  private readonly onDeliveryError: ProducerOptions['onDeliveryError'];
  private readonly sticky = new StickyPartitionCache();

  private readonly partitions = new Map<string, PartitionState[]>();
  /** Partitions with batches not yet handed to the sender. */
  private readonly active = new Set<PartitionState>();
  private bufferedBytes = 0;
  private readonly spaceWaiters: (() => void)[] = [];
  private drainScheduled = false;
  private drainTimer: NodeJS.Timeout | null = null;
  private drainTimerAt = 0;
  private flushing = 0;
  private connected: Promise<void> | null = null;
  private closed = false;
  private producerId = NO_PRODUCER_ID;
  private producerEpoch = NO_PRODUCER_EPOCH;
  private pidState: 'none' | 'initializing' | 'ready' | 'stale' = 'none';
  private totalInFlight = 0;

  constructor(opts: ProducerOptions) {
    this.cluster = new Cluster(opts);
    this.acks = opts.acks === 'all' || opts.acks === undefined ? -1 : opts.acks;
    if (this.acks !== 0 && this.acks !== 1 && this.acks !== -1) throw new ConfigError(`acks must be 0, 1 or all`);
    if (opts.idempotent && this.acks !== -1) throw new ConfigError('an idempotent producer needs acks=all');
    this.idempotent = opts.idempotent ?? this.acks === -1;
    this.compression = compressionTypeOf(opts.compression);
    this.batchSize = opts.batchSize ?? DEFAULTS.batchSize;
    this.lingerMs = opts.lingerMs ?? DEFAULTS.lingerMs;
    this.bufferMemory = opts.bufferMemory ?? DEFAULTS.bufferMemory;
    this.maxRequestSize = opts.maxRequestSize ?? DEFAULTS.maxRequestSize;
    this.maxBlockMs = opts.maxBlockMs ?? DEFAULTS.maxBlockMs;
    this.deliveryTimeoutMs = opts.deliveryTimeoutMs ?? DEFAULTS.deliveryTimeoutMs;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? DEFAULTS.ackTimeoutMs;
    this.retries = opts.retries ?? Number.MAX_SAFE_INTEGER;
    const maxPerPartition = this.idempotent ? 5 : 1;
    this.maxInFlightPerPartition = opts.maxInFlightPerPartition ?? maxPerPartition;
    if (this.idempotent && this.maxInFlightPerPartition > 5) {
      throw new ConfigError('an idempotent producer allows at most 5 batches in flight per partition');
    }
    this.partitioner = opts.partitioner;
    this.onDeliveryError = opts.onDeliveryError;
    if (this.batchSize < 128) throw new ConfigError('batchSize must be at least 128 bytes');
  }

  /** Loads metadata (and a producer id when idempotent). send() calls it when needed. */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new ClientClosedError('producer'));
    this.connected ??= (async () => {
      await this.cluster.connect();
      if (this.idempotent) await this.initProducerId();
    })().catch((err) => {
      this.connected = null;
      throw err;
    });
    return this.connected;
  }

  private async initProducerId(): Promise<void> {
    this.pidState = 'initializing';
    try {
      await withRetries(async () => {
        const conn = await this.cluster.anyConnection();
        const version = conn.versionFor(ApiKey.InitProducerId);
        // From v3 an existing id/epoch asks for an epoch bump rather than a new id (KIP-360).
        const bump = version >= 3 && this.producerId >= 0;
        const resp = await conn.request(
          ApiKey.InitProducerId,
          {
            transactionalId: null,
            transactionTimeoutMs: 60_000,
            producerId: bump ? this.producerId : NO_PRODUCER_ID,
            producerEpoch: bump ? this.producerEpoch : NO_PRODUCER_EPOCH,
          },
          { version },
        );
        if (resp.errorCode !== ErrorCode.NONE) throw new KafkaError(resp.errorCode, 'InitProducerId');
        this.producerId = resp.producerId;
        this.producerEpoch = resp.producerEpoch;
      }, this.cluster.retryOptions());
    } catch (err) {
      this.pidState = 'stale';
      throw err;
    }
    for (const states of this.partitions.values()) {
      for (const s of states) {
        if (s === undefined) continue;
        s.nextSequence = 0;
        // Queued batches were stamped with the old epoch: rebuild them with new sequences.
        for (const b of s.queue) b.bytes = null;
      }
    }
    this.pidState = 'ready';
  }

  // ---- public API

  /** Sends one record; resolves once the broker acknowledged it (per `acks`). */
  send(record: ProducerRecord): Promise<RecordMetadata> {
    return new Promise((resolve, reject) => {
      try {
        this.enqueue([record], new PromiseSink(resolve, reject), false, reject);
      } catch (err) {
        reject(err);
      }
    });
  }

  /** Sends many records; resolves with their metadata in the same order. */
  sendBatch(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    if (records.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      try {
        this.enqueue(records, new ManySink(records.length, resolve, reject), false, reject);
      } catch (err) {
        reject(err);
      }
    });
  }

  /**
   * Fire-and-forget: buffers the record without a delivery promise. Returns false when the
   * buffer is over bufferMemory; wait for `drained()` before producing more. Failures go to
   * onDeliveryError.
   */
  produce(record: ProducerRecord): boolean {
    if (this.closed) throw new ClientClosedError('producer');
    const report = (err: unknown): void =>
      this.reportFireAndForget(err instanceof Error ? err : new Error(String(err)), record.topic, -1, 1);
    try {
      this.enqueue([record], null, true, report);
    } catch (err) {
      report(err);
    }
    return this.bufferedBytes + this.waitingBytes < this.bufferMemory;
  }

  /** Resolves once the buffer has room again (after produce() returned false). */
  drained(): Promise<void> {
    if (this.bufferedBytes + this.waitingBytes < this.bufferMemory) return Promise.resolve();
    return new Promise((resolve) => this.spaceWaiters.push(resolve));
  }

  /** Sends everything buffered now and resolves when all of it is acknowledged or failed. */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      // Records still waiting for metadata or memory were sent before this call too.
      while (this.pendingAppends.size > 0) await Promise.allSettled([...this.pendingAppends]);
      await this.flushBuffered();
    } finally {
      this.flushing--;
    }
  }

  private async flushBuffered(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const states of this.partitions.values()) {
      for (const s of states) {
        if (s === undefined) continue;
        if (s.building) waits.push(this.batchDone(s.building));
        for (const b of s.queue) waits.push(this.batchDone(b));
      }
    }
    for (const p of this.inFlightBatches) waits.push(this.batchDone(p));
    this.scheduleDrain();
    await Promise.all(waits);
  }

  /** enqueue() calls that had to wait (for metadata or buffer space) and have not appended yet. */
  private readonly pendingAppends = new Set<Promise<void>>();

  /**
   * Flushes, then closes connections. With `timeoutMs`, records still undelivered by then
   * fail with ClientClosedError instead of waiting out deliveryTimeoutMs.
   */
  async close(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    try {
      const flushed = this.flush();
      if (opts.timeoutMs === undefined) await flushed;
      else {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          flushed.then(() => false),
          new Promise<boolean>((r) => {
            timer = setTimeout(() => r(true), opts.timeoutMs);
          }),
        ]);
        clearTimeout(timer);
        if (timedOut) this.abandonAll(new ClientClosedError('producer'));
      }
    } finally {
      this.closed = true;
      if (this.drainTimer) clearTimeout(this.drainTimer);
      await this.cluster.close();
    }
  }

  private readonly inFlightBatches = new Set<ProducerBatch>();

  /** Fails every batch not yet acknowledged (close with a timeout). */
  private abandonAll(err: Error): void {
    for (const states of this.partitions.values()) {
      for (const s of states) {
        if (s === undefined) continue;
        if (s.building) this.closeBuilding(s);
        for (const b of s.queue.splice(0)) this.completeBatch(b, err, -1, -1);
      }
    }
    for (const b of [...this.inFlightBatches]) this.completeBatch(b, err, -1, -1);
  }

  private batchDone(b: ProducerBatch): Promise<void> {
    if (b.finished) return Promise.resolve();
    b.done ??= deferred<void>();
    return b.done.promise;
  }

  // ---- accumulation

  /**
   * Appends synchronously when it can. Otherwise the records join one FIFO lane of appends
   * waiting for metadata or buffer space, drained by a single task: order is kept (nothing
   * overtakes a waiting record), and 50,000 sends before the first metadata answer cost one
   * queue entry each rather than a promise chain and a timer each. `fail` gets the error if
   * the records cannot be appended.
   */
  private enqueue(
    records: readonly ProducerRecord[],
    sink: DeliverySink | null,
    fireAndForget: boolean,
    fail: (err: unknown) => void,
  ): void {
    if (this.closed) throw new ClientClosedError('producer');
    // Fire-and-forget never waits for memory: produce() reports the overrun to its caller.
    const i =
      this.waitingHead < this.waiting.length ? 0 : this.appendSync(records, 0, records.length, sink, fireAndForget);
    if (i >= records.length) return;
    let waitingBytes = 0;
    if (fireAndForget) {
      // Fire-and-forget records waiting for metadata count against the buffer, so produce() pushes back.
      for (let k = i; k < records.length; k++) {
        const r = records[k] as ProducerRecord;
        waitingBytes += estimateRecordBytes(r.key ?? null, r.value, undefined);
      }
      this.waitingBytes += waitingBytes;
    }
    this.waiting.push({ records, from: i, sink, fireAndForget, waitingBytes, fail });
    if (this.waitingLane === null) {
      const lane = this.drainWaiting().finally(() => {
        this.waitingLane = null;
      });
      this.waitingLane = lane;
      this.track(lane);
    }
  }

  private track(p: Promise<void>): Promise<void> {
    this.pendingAppends.add(p);
    const done = (): void => {
      this.pendingAppends.delete(p);
    };
    p.then(done, done);
    return p;
  }

  private waitingBytes = 0;
  /** Appends waiting for metadata or buffer space, oldest first from waitingHead. */
  private waiting: WaitingAppend[] = [];
  private waitingHead = 0;
  private waitingLane: Promise<void> | null = null;

  private readonly interestTopics = new Set<string>();

  private async drainWaiting(): Promise<void> {
    // A topic whose metadata wait failed fails the appends queued behind it at once, instead
    // of each waiting out maxBlockMs again.
    const failedTopics = new Map<string, unknown>();
    while (this.waitingHead < this.waiting.length) {
      const entry = this.waiting[this.waitingHead] as WaitingAppend;
      try {
        await this.appendWaiting(entry, failedTopics);
      } catch (err) {
        entry.fail(err);
      } finally {
        if (entry.waitingBytes > 0) {
          this.waitingBytes -= entry.waitingBytes;
          if (this.waitingBytes === 0) this.releaseSpace(0);
        }
      }
      this.waitingHead++;
      if (this.waitingHead >= 1024 && this.waitingHead * 2 >= this.waiting.length) {
        this.waiting = this.waiting.slice(this.waitingHead);
        this.waitingHead = 0;
      }
    }
    this.waiting = [];
    this.waitingHead = 0;
  }

  private async appendWaiting(entry: WaitingAppend, failedTopics: Map<string, unknown>): Promise<void> {
    const { records, sink, fireAndForget } = entry;
    const to = records.length;
    let i = entry.from;
    while (i < to) {
      // Continue where the synchronous append stopped; wait for what is missing first.
      const rec = records[i] as ProducerRecord;
      if (this.connected === null || this.cluster.partitionCount(rec.topic) === 0) {
        if (failedTopics.has(rec.topic)) throw failedTopics.get(rec.topic);
        try {
          await this.connect();
          if (!this.interestTopics.has(rec.topic)) {
            this.interestTopics.add(rec.topic);
            this.cluster.addInterest([rec.topic]);
          }
          await this.withBlockTimeout(this.cluster.ensureTopics([rec.topic]), `metadata for ${rec.topic}`);
        } catch (err) {
          failedTopics.set(rec.topic, err);
          throw err;
        }
      } else if (!fireAndForget) {
        if (this.bufferedBytes < this.bufferMemory) {
          // Room appeared while this entry waited behind others.
          const next = this.appendSync(records, i, to, sink);
          if (next > i) {
            i = next;
            continue;
          }
        }
        await this.withBlockTimeout(this.waitForSpace(), 'buffer space');
      } else {
        // Fire-and-forget callers are told through produce()'s return value; accept the record.
        i = this.appendSync(records, i, to, sink, true);
        continue;
      }
      if (this.closed) throw new ClientClosedError('producer');
      i = this.appendSync(records, i, to, sink);
    }
  }

  private withBlockTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ClientError(`timed out after ${this.maxBlockMs} ms waiting for ${what}`, false)),
        this.maxBlockMs,
      );
      timer.unref();
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  private waitForSpace(): Promise<void> {
    return new Promise((resolve) => this.spaceWaiters.push(resolve));
  }

  private releaseSpace(bytes: number): void {
    this.bufferedBytes -= bytes;
    while (this.spaceWaiters.length > 0 && this.bufferedBytes + this.waitingBytes < this.bufferMemory) {
      (this.spaceWaiters.shift() as () => void)();
    }
  }

  /**
   * Appends records [i, to) while metadata and buffer space allow; returns the index of the
   * first record not appended.
   */
  private appendSync(
    records: readonly ProducerRecord[],
    i: number,
    to: number,
    sink: DeliverySink | null,
    ignoreMemory = false,
  ): number {
    const now = Date.now();
    for (; i < to; i++) {
      const rec = records[i] as ProducerRecord;
      const count = this.cluster.partitionCount(rec.topic);
      if (count === 0) return i;
      const key = rec.key ?? null;
      let partition = rec.partition ?? -1;
      let stickyChoice = false;
      if (partition < 0) {
        if (this.partitioner) {
          const keyBuf = key === null ? null : typeof key === 'string' ? Buffer.from(key) : key;
          partition = this.partitioner({ topic: rec.topic, key: keyBuf, value: rec.value, partitionCount: count });
        }
        if (partition < 0) {
          if (key !== null) partition = partitionForKey(typeof key === 'string' ? Buffer.from(key) : key, count);
          else {
            partition = this.sticky.partition(rec.topic, count);
            stickyChoice = true;
          }
        }
      }
      if (!Number.isInteger(partition) || partition >= count) {
        throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${partition} of ${rec.topic}`);
      }
      const state = this.partitionState(rec.topic, partition);
      const headers = normalizeHeaders(rec.headers);
      const ts = rec.timestamp ?? now;
      let batch = state.building;
      let offsetDelta = batch ? batch.builder.append(ts, key, rec.value, headers) : -1;
      if (offsetDelta < 0) {
        if (batch) {
          this.closeBuilding(state);
          if (stickyChoice) {
            // The sticky partition moved on with the closed batch (KIP-480): choose again.
            i--;
            continue;
          }
        }
        const needed = estimateRecordBytes(key, rec.value, headers);
        if (needed > this.maxRequestSize) {
          throw new KafkaError(
            ErrorCode.MESSAGE_TOO_LARGE,
            `record of about ${needed} bytes exceeds maxRequestSize ${this.maxRequestSize}`,
          );
        }
        // Start small and grow up to batchSize: a quiet partition does not tie up a full batch.
        const capacity = Math.max(Math.min(this.batchSize, INITIAL_BATCH_BYTES), needed + 64);
        if (!ignoreMemory && this.bufferedBytes + capacity > this.bufferMemory && this.bufferedBytes > 0) return i;
        batch = new ProducerBatch(state, capacity, this.batchSize, capacity);
        this.bufferedBytes += capacity;
        state.building = batch;
        this.active.add(state);
        offsetDelta = batch.builder.append(ts, key, rec.value, headers);
        if (this.lingerMs > 0) this.armDrainTimer(batch.createdAt + this.lingerMs);
      }
      const grown = (batch as ProducerBatch).builder.capacityBytes - (batch as ProducerBatch).reservedBytes;
      if (grown > 0) {
        (batch as ProducerBatch).reservedBytes += grown;
        this.bufferedBytes += grown;
      }
      if (sink !== null) (batch as ProducerBatch).addSink(sink, i, offsetDelta, ts);
      if (batch === state.building && (batch as ProducerBatch).builder.sizeBytes >= this.batchSize) {
        this.closeBuilding(state);
      }
    }
    if (this.lingerMs === 0 || this.hasQueued) this.scheduleDrain();
    return i;
  }

  private hasQueued = false;

  private closeBuilding(state: PartitionState): void {
    const b = state.building;
    if (b === null) return;
    b.closed = true;
    state.building = null;
    this.sticky.batchClosed(state.topic, state.partition, this.cluster.partitionCount(state.topic));
    state.queue.push(b);
    this.active.add(state);
    this.hasQueued = true;
  }

  private partitionState(topic: string, partition: number): PartitionState {
    let states = this.partitions.get(topic);
    if (states === undefined) {
      states = [];
      this.partitions.set(topic, states);
    }
    let s = states[partition];
    if (s === undefined) {
      s = new PartitionState(topic, partition);
      states[partition] = s;
    }
    return s;
  }

  // ---- sending

  private scheduleDrain(): void {
    if (this.drainScheduled || this.closed) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private armDrainTimer(at: number): void {
    if (this.drainTimer !== null && this.drainTimerAt <= at) return;
    if (this.drainTimer !== null) clearTimeout(this.drainTimer);
    this.drainTimerAt = at;
    this.drainTimer = setTimeout(
      () => {
        this.drainTimer = null;
        this.drain();
      },
      Math.max(0, at - Date.now()),
    );
  }

  /** Hands sendable batches to their leaders, one Produce request per broker. */
  private drain(): void {
    if (this.closed) return;
    this.hasQueued = false;
    if (this.idempotent && this.pidState !== 'ready') {
      this.ensureProducerId();
      return;
    }
    const now = Date.now();
    let nextWakeAt = Number.POSITIVE_INFINITY;
    const byNode = new Map<number, { batches: ProducerBatch[]; bytes: number }>();
    let needMetadata = false;
    let pipelineMore = false;
    for (const state of this.active) {
      if (state.building && (this.flushing > 0 || now - state.building.createdAt >= this.lingerMs)) {
        this.closeBuilding(state);
      }
      this.expireBatches(state, now);
      if (state.queue.length === 0) {
        if (state.building) nextWakeAt = Math.min(nextWakeAt, state.building.createdAt + this.lingerMs);
        else this.active.delete(state);
        continue;
      }
      if (state.inFlight >= this.maxInFlightPerPartition) continue;
      if (state.retryAt > now) {
        nextWakeAt = Math.min(nextWakeAt, state.retryAt);
        continue;
      }
      const leader = this.cluster.leaderFor(state.topic, state.partition);
      if (leader < 0) {
        needMetadata = true;
        continue;
      }
      // Batches leave the queue only onto a ready connection, so they are written in queue
      // order; a batch waiting for a connection could otherwise overtake an earlier retry.
      if (!this.cluster.readyConnection(leader)) {
        this.connectInBackground(leader);
        continue;
      }
      // A retried batch goes out alone, after everything before it came back (keeps order).
      if ((state.queue[0] as ProducerBatch).attempts > 0 && state.inFlight > 0) continue;
      let group = byNode.get(leader);
      if (group === undefined) {
        group = { batches: [], bytes: 0 };
        byNode.set(leader, group);
      }
      // One batch per partition per request (Produce v3+ allows exactly one).
      const batch = state.queue[0] as ProducerBatch;
      if (batch.bytes === null) this.finalize(batch);
      const size = (batch.bytes as Buffer).length;
      if (group.batches.length > 0 && group.bytes + size > this.maxRequestSize) {
        nextWakeAt = now;
        continue;
      }
      state.queue.shift();
      state.inFlight++;
      group.batches.push(batch);
      group.bytes += size;
      if (state.queue.length > 0 || state.building) this.hasQueued = true;
      // More batches may follow in another request right away (pipelining up to the limit).
      if (state.queue.length > 0 && state.inFlight < this.maxInFlightPerPartition) pipelineMore = true;
    }
    for (const [nodeId, group] of byNode) {
      const conn = this.cluster.readyConnection(nodeId);
      if (conn) this.sendProduce(conn, group.batches);
      else
        for (const b of group.batches) this.onBatchError(b, new ConnectionError(`node ${nodeId}`, 'not connected'), -1);
    }
    if (needMetadata) {
      this.cluster
        .refreshMetadata()
        .catch(() => {})
        .then(() => sleep(this.cluster.options.retryBackoffMs))
        .then(() => this.scheduleDrain());
    }
    if (nextWakeAt !== Number.POSITIVE_INFINITY) this.armDrainTimer(nextWakeAt);
    if (pipelineMore) this.scheduleDrain();
  }

  private ensureProducerId(): void {
    if (this.pidState === 'initializing') return;
    if (this.totalInFlight > 0) return; // re-initialize once nothing is in flight
    this.initProducerId()
      .then(() => this.scheduleDrain())
      .catch((err) => {
        this.cluster.logger.error('InitProducerId failed', { err });
        this.failAllQueued(err instanceof Error ? err : new Error(String(err)));
      });
  }

  private failAllQueued(err: Error): void {
    for (const state of this.active) {
      if (state.building) this.closeBuilding(state);
      for (const b of state.queue.splice(0)) this.completeBatch(b, err, -1, -1);
    }
  }

  private expireBatches(state: PartitionState, now: number): void {
    while (state.queue.length > 0) {
      const b = state.queue[0] as ProducerBatch;
      if (now - b.createdAt < this.deliveryTimeoutMs) return;
      state.queue.shift();
      this.completeBatch(
        b,
        new ClientError(`${state.topic}-${state.partition}: batch expired after ${this.deliveryTimeoutMs} ms`, false),
        -1,
        -1,
      );
    }
  }

  private finalize(batch: ProducerBatch): void {
    const state = batch.state;
    if (this.idempotent) {
      batch.producerId = this.producerId;
      batch.producerEpoch = this.producerEpoch;
      batch.baseSequence = state.nextSequence;
      state.nextSequence = (state.nextSequence + batch.builder.recordCount) % 0x80000000;
    }
    batch.bytes = batch.builder.finish({
      compression: this.compression,
      producerId: batch.producerId,
      producerEpoch: batch.producerEpoch,
      baseSequence: batch.baseSequence,
      transactional: false,
      compress,
    });
  }

  private readonly connecting = new Set<number>();

  private connectInBackground(nodeId: number): void {
    if (this.connecting.has(nodeId)) return;
    this.connecting.add(nodeId);
    this.cluster
      .connectionToNode(nodeId)
      .then(
        () => this.scheduleDrain(),
        (err: unknown) => {
          this.cluster.logger.debug('cannot reach leader', { nodeId, error: String(err) });
          // Try again after a backoff (the cluster also backs off reconnects per broker).
          const delay = backoffMs(0, this.cluster.options.retryBackoffMs, this.cluster.options.retryBackoffMaxMs);
          this.armDrainTimer(Date.now() + delay);
        },
      )
      .finally(() => this.connecting.delete(nodeId));
  }

  private sendProduce(conn: Connection, batches: ProducerBatch[]): void {
    const byTopic = new Map<string, ProduceRequestTopicProduceDataInit>();
    for (const b of batches) {
      b.attempts++;
      this.inFlightBatches.add(b);
      this.totalInFlight++;
      let t = byTopic.get(b.state.topic);
      if (t === undefined) {
        t = { name: b.state.topic, partitionData: [] };
        byTopic.set(b.state.topic, t);
      }
      t.partitionData.push({ index: b.state.partition, records: b.bytes });
    }
    const body = {
      transactionalId: null,
      acks: this.acks,
      timeoutMs: this.ackTimeoutMs,
      topicData: [...byTopic.values()],
    };
    const expectResponse = this.acks !== 0;
    conn
      .request(ApiKey.Produce, body, { expectResponse, timeoutMs: this.cluster.options.requestTimeoutMs })
      .then(
        (resp) => this.onProduceResponse(batches, resp),
        (err: unknown) => {
          for (const b of batches) this.onBatchError(b, err instanceof Error ? err : new Error(String(err)), -1);
        },
      )
      .finally(() => {
        for (const b of batches) {
          this.inFlightBatches.delete(b);
          b.state.inFlight--;
          this.totalInFlight--;
        }
        this.scheduleDrain();
      });
  }

  private onProduceResponse(batches: ProducerBatch[], resp: ProduceResponse | undefined): void {
    if (resp === undefined) {
      // acks=0: nothing comes back; the write is all we know.
      for (const b of batches) this.completeBatch(b, null, -1, -1);
      return;
    }
    for (const b of batches) {
      const t = resp.responses.find((r) => r.name === b.state.topic);
      const p = t?.partitionResponses.find((x) => x.index === b.state.partition);
      if (p === undefined) {
        this.onBatchError(b, new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'partition missing from response'), -1);
        continue;
      }
      if (p.errorCode === ErrorCode.NONE) this.completeBatch(b, null, p.baseOffset, p.logAppendTimeMs);
      else if (p.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) this.completeBatch(b, null, -1, -1);
      else this.onBatchError(b, new KafkaError(p.errorCode, p.errorMessage ?? undefined), p.errorCode);
    }
  }

  private onBatchError(b: ProducerBatch, err: Error, code: number): void {
    const state = b.state;
    if (code >= 0 && isStaleMetadataError(code)) this.cluster.requestRefresh();
    if (code < 0) this.cluster.requestRefresh();
    let retriable = isRetriableError(err) || code === ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
    if (this.idempotent && code === ErrorCode.UNKNOWN_PRODUCER_ID) {
      // The broker forgot our producer state: bump the epoch and resend (KIP-360).
      this.pidState = 'stale';
      b.bytes = null;
      retriable = true;
    }
    // A later batch fails out of order while an earlier one is retried, or after an epoch reset.
    if (
      code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER &&
      this.idempotent &&
      (this.pidState === 'stale' || this.hasEarlierPending(b))
    ) {
      retriable = true;
    }
    const expired = Date.now() - b.createdAt >= this.deliveryTimeoutMs;
    if (retriable && !expired && b.attempts <= this.retries && !this.closed) {
      this.cluster.logger.debug('retrying batch', {
        topic: state.topic,
        partition: state.partition,
        error: err.message,
      });
      // Back in sequence order (or at the front): order within the partition is preserved.
      let at = 0;
      if (this.idempotent) {
        // Batches not sent yet (no sequence) are newer than any that was sent.
        for (; at < state.queue.length; at++) {
          const q = state.queue[at] as ProducerBatch;
          if (q.baseSequence < 0 || q.baseSequence > b.baseSequence) break;
        }
      }
      state.queue.splice(at, 0, b);
      state.retryAt =
        Date.now() +
        backoffMs(b.attempts - 1, this.cluster.options.retryBackoffMs, this.cluster.options.retryBackoffMaxMs);
      this.active.add(state);
      return;
    }
    // A failed batch leaves a hole in the partition's sequence: a new epoch resets it (KIP-360).
    if (this.idempotent) this.pidState = 'stale';
    this.completeBatch(b, err, -1, -1);
  }

  private hasEarlierPending(b: ProducerBatch): boolean {
    for (const q of b.state.queue) if (q.baseSequence >= 0 && q.baseSequence < b.baseSequence) return true;
    for (const q of this.inFlightBatches) {
      if (q !== b && q.state === b.state && q.baseSequence < b.baseSequence) return true;
    }
    return false;
  }

  private completeBatch(b: ProducerBatch, err: Error | null, baseOffset: number, logAppendTimeMs: number): void {
    if (b.finished) return;
    b.finished = true;
    this.releaseSpace(b.reservedBytes);
    const sinks = b.sinks;
    if (sinks !== null) {
      const runs = b.runs as number[];
      const topic = b.state.topic;
      const partition = b.state.partition;
      for (let k = 0; k < sinks.length; k++) {
        const sink = sinks[k] as DeliverySink;
        const r = k * RUN_FIELDS;
        const slot = runs[r + 1] as number;
        const delta = runs[r + 2] as number;
        const count = runs[r + 3] as number;
        const timestamp = logAppendTimeMs >= 0 ? logAppendTimeMs : (runs[r + 4] as number);
        for (let j = 0; j < count; j++) {
          if (err) sink.deliver(slot + j, err, null);
          else {
            sink.deliver(slot + j, null, {
              topic,
              partition,
              offset: baseOffset >= 0 ? baseOffset + delta + j : -1,
              timestamp,
            });
          }
        }
      }
    } else if (err) {
      this.reportFireAndForget(err, b.state.topic, b.state.partition, b.builder.recordCount);
    }
    b.done?.resolve();
  }

  private reportFireAndForget(err: Error, topic: string, partition: number, recordCount: number): void {
    if (this.onDeliveryError) this.onDeliveryError(err, { topic, partition, recordCount });
    else this.cluster.logger.error('delivery failed', { topic, partition, recordCount, error: err.message });
  }
}

function normalizeHeaders(h: ProducerRecord['headers']): RecordHeaders | undefined {
  if (h === undefined) return undefined;
  if (Array.isArray(h)) return h as RecordHeaders;
  const out: [string, HeaderValue][] = [];
  for (const k of Object.keys(h)) {
    const v = (h as Record<string, HeaderValue | HeaderValue[]>)[k];
    if (Array.isArray(v)) for (const x of v) out.push([k, x]);
    else out.push([k, v ?? null]);
  }
  return out;
}

function estimateRecordBytes(key: MessageValue, value: MessageValue, headers: RecordHeaders | undefined): number {
  const len = (v: MessageValue): number => (v === null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  let n = 61 + 32 + len(key) + len(value);
  if (headers) for (const [k, v] of headers) n += 10 + Buffer.byteLength(k) + len(v);
  return n;
}
