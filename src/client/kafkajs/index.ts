// A kafkajs-shaped facade over Eddy's client: `import { Kafka } from 'eddy/kafkajs'` in place
// of 'kafkajs'. Shapes follow kafkajs 2.x (offsets and timestamps as strings, headers as
// objects, per-partition RecordMetadata); the work is done by Eddy's producer, consumer and admin.
import { EventEmitter } from 'node:events';
import type * as tls from 'node:tls';
import { Admin as EddyAdmin } from '../admin.js';
import type { ClientOptions } from '../cluster.js';
import type { CompressionName } from '../compression.js';
import type { TopicPartition } from '../consumer/assignors.js';
import { Consumer as EddyConsumer, type MessageBatch } from '../consumer/consumer.js';
import type { Message as EddyMessage } from '../consumer/decode.js';
import { ClientError, ConnectionError, KafkaError, RequestTimeoutError, RetriesExhaustedError } from '../errors.js';
import { partitionForKey } from '../partitioner.js';
import type { HeaderValue } from '../producer/batch-builder.js';
import {
  Producer as EddyProducer,
  type ProducerRecord as EddyRecord,
  type ProducerOptions,
} from '../producer/producer.js';
import { saslPlain, tlsSocketFactory } from '../security.js';
import { type Logger, sleep } from '../util.js';

// ---- constants kafkajs users import

export const logLevel = { NOTHING: 0, ERROR: 1, WARN: 2, INFO: 4, DEBUG: 5 } as const;
export type logLevel = (typeof logLevel)[keyof typeof logLevel];

export const CompressionTypes = { None: 0, GZIP: 1, Snappy: 2, LZ4: 3, ZSTD: 4 } as const;
export type CompressionTypes = (typeof CompressionTypes)[keyof typeof CompressionTypes];
/** All codecs are built in; kept so code that registers codecs keeps working. */
export const CompressionCodecs: Record<number, () => unknown> = {};

export const ConfigResourceTypes = { UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;
export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const;

// ---- errors (names and fields as kafkajs has them)

export class KafkaJSError extends Error {
  retriable: boolean;
  constructor(message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'KafkaJSError';
    this.retriable = opts.retriable ?? true;
  }
}
export class KafkaJSNonRetriableError extends KafkaJSError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { retriable: false, cause: opts.cause });
    this.name = 'KafkaJSNonRetriableError';
  }
}
export class KafkaJSProtocolError extends KafkaJSError {
  readonly type: string;
  readonly code: number;
  constructor(err: KafkaError) {
    super(err.message, { retriable: err.retriable, cause: err });
    this.name = 'KafkaJSProtocolError';
    this.code = err.code;
    this.type = err.message.split(':')[0] ?? 'UNKNOWN';
  }
}
export class KafkaJSNumberOfRetriesExceeded extends KafkaJSNonRetriableError {
  readonly retryCount: number;
  constructor(message: string, retryCount: number, cause: unknown) {
    super(message, { cause });
    this.name = 'KafkaJSNumberOfRetriesExceeded';
    this.retryCount = retryCount;
  }
}
export class KafkaJSConnectionError extends KafkaJSError {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'KafkaJSConnectionError';
  }
}
export class KafkaJSRequestTimeoutError extends KafkaJSError {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'KafkaJSRequestTimeoutError';
  }
}
export class KafkaJSNotImplemented extends KafkaJSNonRetriableError {
  constructor(message: string) {
    super(message);
    this.name = 'KafkaJSNotImplemented';
  }
}

/** Maps Eddy's errors onto the kafkajs classes callers check with instanceof. */
function toKafkaJSError(err: unknown): Error {
  if (err instanceof KafkaJSError) return err;
  if (err instanceof KafkaError) return new KafkaJSProtocolError(err);
  if (err instanceof RetriesExhaustedError) {
    const inner = err.cause instanceof Error ? toKafkaJSError(err.cause) : err;
    return new KafkaJSNumberOfRetriesExceeded(err.message, err.attempts - 1, inner);
  }
  if (err instanceof RequestTimeoutError) return new KafkaJSRequestTimeoutError(err.message, err);
  if (err instanceof ConnectionError) return new KafkaJSConnectionError(err.message, err);
  if (err instanceof ClientError) {
    const e = new KafkaJSError(err.message, { retriable: err.retriable, cause: err });
    return e;
  }
  return err instanceof Error ? err : new KafkaJSError(String(err));
}

async function wrap<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw toKafkaJSError(err);
  }
}

// ---- configuration

export interface RetryOptions {
  maxRetryTime?: number;
  initialRetryTime?: number;
  factor?: number;
  multiplier?: number;
  retries?: number;
}

export interface LogEntry {
  namespace: string;
  level: logLevel;
  label: string;
  log: { timestamp: string; logger: string; message: string; [key: string]: unknown };
}
export type logCreator = (level: logLevel) => (entry: LogEntry) => void;

export interface KafkaConfig {
  brokers: string[] | (() => string[]);
  clientId?: string;
  connectionTimeout?: number;
  requestTimeout?: number;
  retry?: RetryOptions;
  logLevel?: logLevel;
  logCreator?: logCreator;
  /** true, or node:tls options (ca, cert, key, servername, ...). */
  ssl?: boolean | tls.ConnectionOptions;
  /** SASL/PLAIN; other mechanisms are not available in the facade yet. */
  sasl?: { mechanism: string; username?: string; password?: string };
}

const defaultLogCreator: logCreator = () => (entry) => {
  const { message, ...extra } = entry.log;
  const stream = entry.level <= logLevel.WARN ? process.stderr : process.stdout;
  stream.write(`${JSON.stringify({ level: entry.label, ...extra, message, logger: 'eddy-kafkajs' })}\n`);
};

function makeLogger(level: logLevel, creator: logCreator, namespace: string): Logger {
  const write = creator(level);
  const at =
    (lvl: logLevel, label: string) =>
    (message: string, extra?: Record<string, unknown>): void => {
      if (lvl > level || level === logLevel.NOTHING) return;
      write({
        namespace,
        level: lvl,
        label,
        log: { timestamp: new Date().toISOString(), logger: 'eddy', message, ...extra },
      });
    };
  return {
    error: at(logLevel.ERROR, 'ERROR'),
    warn: at(logLevel.WARN, 'WARN'),
    info: at(logLevel.INFO, 'INFO'),
    debug: at(logLevel.DEBUG, 'DEBUG'),
  };
}

// ---- shared message shapes

export type IHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

export interface Message {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  partition?: number;
  headers?: IHeaders;
  timestamp?: string;
}

export interface KafkaMessage {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  attributes: number;
  offset: string;
  headers: Record<string, Buffer | Buffer[] | undefined>;
  size?: never;
}

export interface RecordMetadata {
  topicName: string;
  partition: number;
  errorCode: number;
  baseOffset?: string;
  logAppendTime?: string;
  logStartOffset?: string;
  offset?: string;
  timestamp?: string;
}

export interface PartitionMetadata {
  partitionErrorCode: number;
  partitionId: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas?: number[];
}

export interface PartitionerArgs {
  topic: string;
  partitionMetadata: PartitionMetadata[];
  message: Message;
}
export type ICustomPartitioner = () => (args: PartitionerArgs) => number;

const toBuffer = (v: Buffer | string | null | undefined): Buffer | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? Buffer.from(v) : v;

/** Java-compatible murmur2 for keyed messages, round robin otherwise (kafkajs 2.x default). */
const javaCompatible: ICustomPartitioner = () => {
  let counter = Math.floor(Math.random() * 1024);
  return ({ partitionMetadata, message }) => {
    const n = partitionMetadata.length;
    const key = toBuffer(message.key);
    if (key !== null) return partitionForKey(key, n);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    const pool = available.length > 0 ? available : partitionMetadata;
    const chosen = pool[counter++ % pool.length] as PartitionMetadata;
    return chosen.partitionId;
  };
};

export const Partitioners = {
  DefaultPartitioner: javaCompatible,
  JavaCompatiblePartitioner: javaCompatible,
  /** kafkajs 1.x's partitioner (its own murmur2 variant) is not reproduced; the Java one is used. */
  LegacyPartitioner: javaCompatible,
};

function convertHeaders(h: IHeaders | undefined): [string, HeaderValue][] | undefined {
  if (h === undefined) return undefined;
  const out: [string, HeaderValue][] = [];
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push([k, x]);
    else out.push([k, v]);
  }
  return out;
}

function toKafkaMessage(m: EddyMessage): KafkaMessage {
  const headers: Record<string, Buffer | Buffer[] | undefined> = {};
  for (const [k, v] of m.headers) {
    const value = v ?? Buffer.alloc(0);
    const prev = headers[k];
    if (prev === undefined) headers[k] = value;
    else headers[k] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return {
    key: m.key,
    value: m.value,
    timestamp: String(m.timestamp),
    attributes: 0,
    offset: String(m.offset),
    headers,
  };
}

type Listener = (event: { id: number; type: string; timestamp: number; payload: unknown }) => void;

class Instrumented {
  protected readonly emitter = new EventEmitter();
  private nextId = 0;
  on(eventName: string, listener: Listener): () => void {
    this.emitter.on(eventName, listener);
    return () => this.emitter.off(eventName, listener);
  }
  protected emit(type: string, payload: unknown = {}): void {
    this.emitter.emit(type, { id: this.nextId++, type, timestamp: Date.now(), payload });
  }
}

// ---- Kafka

export class Kafka {
  private readonly config: KafkaConfig;
  private readonly level: logLevel;
  private readonly creator: logCreator;

  constructor(config: KafkaConfig) {
    if (
      !config ||
      (typeof config.brokers !== 'function' && (!Array.isArray(config.brokers) || config.brokers.length === 0))
    ) {
      throw new KafkaJSNonRetriableError('Failed to connect: brokers must be a non-empty array');
    }
    if (config.sasl && config.sasl.mechanism.toLowerCase() !== 'plain') {
      throw new KafkaJSNotImplemented(`SASL mechanism ${config.sasl.mechanism} is not available in eddy/kafkajs yet`);
    }
    this.config = config;
    this.level = config.logLevel ?? logLevel.INFO;
    this.creator = config.logCreator ?? defaultLogCreator;
  }

  logger(): Logger {
    return makeLogger(this.level, this.creator, 'Kafka');
  }

  /** Client options shared by producer, consumer and admin. */
  clientOptions(namespace: string, retry?: RetryOptions): ClientOptions {
    const r = { ...this.config.retry, ...retry };
    const brokers = typeof this.config.brokers === 'function' ? this.config.brokers() : this.config.brokers;
    const { ssl, sasl } = this.config;
    return {
      bootstrapServers: brokers,
      ...(ssl ? { socketFactory: tlsSocketFactory(ssl === true ? {} : ssl) } : {}),
      ...(sasl ? { authenticate: saslPlain({ username: sasl.username ?? '', password: sasl.password ?? '' }) } : {}),
      clientId: this.config.clientId ?? 'kafkajs',
      connectTimeoutMs: this.config.connectionTimeout ?? 1000,
      requestTimeoutMs: this.config.requestTimeout ?? 30_000,
      retries: r.retries ?? 5,
      retryBackoffMs: r.initialRetryTime ?? 300,
      retryBackoffMaxMs: r.maxRetryTime ?? 30_000,
      logger: makeLogger(this.level, this.creator, namespace),
    };
  }

  producer(config: ProducerConfig = {}): Producer {
    return new Producer(this, config);
  }

  consumer(config: ConsumerConfig): Consumer {
    if (!config?.groupId) throw new KafkaJSNonRetriableError('Consumer groupId must be a non-empty string.');
    return new Consumer(this, config);
  }

  admin(config: { retry?: RetryOptions } = {}): Admin {
    return new Admin(this, config);
  }
}

// ---- Producer

export interface ProducerConfig {
  createPartitioner?: ICustomPartitioner;
  retry?: RetryOptions;
  metadataMaxAge?: number;
  allowAutoTopicCreation?: boolean;
  idempotent?: boolean;
  transactionalId?: string;
  transactionTimeout?: number;
  maxInFlightRequests?: number;
}

export interface ProducerRecord {
  topic: string;
  messages: Message[];
  acks?: number;
  timeout?: number;
  compression?: CompressionTypes;
}

export interface ProducerBatch {
  acks?: number;
  timeout?: number;
  compression?: CompressionTypes;
  topicMessages?: { topic: string; messages: Message[] }[];
}

const COMPRESSION_NAMES: Record<number, CompressionName> = { 0: 'none', 1: 'gzip', 2: 'snappy', 3: 'lz4', 4: 'zstd' };

export class Producer extends Instrumented {
  readonly events = {
    CONNECT: 'producer.connect',
    DISCONNECT: 'producer.disconnect',
    REQUEST: 'producer.network.request',
    REQUEST_TIMEOUT: 'producer.network.request_timeout',
    REQUEST_QUEUE_SIZE: 'producer.network.request_queue_size',
  } as const;
  private readonly kafka: Kafka;
  private readonly config: ProducerConfig;
  /** One native producer per acks/compression/timeout combination (kafkajs sets them per send). */
  private readonly producers = new Map<string, EddyProducer>();
  private connected = false;
  private readonly partitioner: (args: PartitionerArgs) => number;

  constructor(kafka: Kafka, config: ProducerConfig) {
    super();
    if (config.transactionalId) throw new KafkaJSNotImplemented('transactions are not supported by eddy/kafkajs yet');
    this.kafka = kafka;
    this.config = config;
    this.partitioner = (config.createPartitioner ?? javaCompatible)();
  }

  private native(acks: number, compression: number, timeoutMs: number): EddyProducer {
    const key = `${acks}:${compression}:${timeoutMs}`;
    let p = this.producers.get(key);
    if (p === undefined) {
      const retry = { retries: 5, initialRetryTime: 300, maxRetryTime: 30_000, ...this.config.retry };
      const opts: ProducerOptions = {
        ...this.kafka.clientOptions('Producer', this.config.retry),
        acks: acks === -1 ? 'all' : (acks as 0 | 1),
        idempotent: this.config.idempotent ?? false,
        compression: COMPRESSION_NAMES[compression] ?? 'none',
        ackTimeoutMs: timeoutMs,
        lingerMs: 0,
        retries: retry.retries,
        allowAutoTopicCreation: this.config.allowAutoTopicCreation ?? true,
        metadataMaxAgeMs: this.config.metadataMaxAge,
        maxInFlightRequests: this.config.maxInFlightRequests,
      };
      if (opts.metadataMaxAgeMs === undefined) delete opts.metadataMaxAgeMs;
      if (opts.maxInFlightRequests === undefined) delete opts.maxInFlightRequests;
      p = new EddyProducer(opts);
      this.producers.set(key, p);
    }
    return p;
  }

  async connect(): Promise<void> {
    await wrap(this.native(-1, 0, 30_000).cluster.connect());
    this.connected = true;
    this.emit(this.events.CONNECT);
  }

  async disconnect(): Promise<void> {
    const all = [...this.producers.values()];
    this.producers.clear();
    await Promise.all(all.map((p) => p.close()));
    if (this.connected) this.emit(this.events.DISCONNECT);
    this.connected = false;
  }

  isIdempotent(): boolean {
    return this.config.idempotent ?? false;
  }

  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    return this.sendBatch({
      acks: record.acks,
      timeout: record.timeout,
      compression: record.compression,
      topicMessages: [{ topic: record.topic, messages: record.messages }],
    });
  }

  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    const topicMessages = batch.topicMessages ?? [];
    for (const tm of topicMessages) {
      if (!tm.topic) throw new KafkaJSNonRetriableError('Invalid topic');
      if (!Array.isArray(tm.messages))
        throw new KafkaJSNonRetriableError(`Invalid messages array for topic "${tm.topic}"`);
      for (const m of tm.messages) {
        if (m === null || typeof m !== 'object' || !('value' in m)) {
          throw new KafkaJSNonRetriableError(`Invalid message without value for topic "${tm.topic}"`);
        }
      }
    }
    const producer = this.native(batch.acks ?? -1, batch.compression ?? 0, batch.timeout ?? 30_000);
    const records: EddyRecord[] = [];
    await wrap(producer.connect());
    for (const tm of topicMessages) {
      const needsPartitioner = tm.messages.some((m) => m.partition === undefined);
      if (needsPartitioner) await wrap(producer.cluster.ensureTopics([tm.topic]));
      const md = producer.cluster.topic(tm.topic);
      const partitionMetadata: PartitionMetadata[] = (md?.partitions ?? []).map((p) => ({
        partitionErrorCode: p.errorCode,
        partitionId: p.partition,
        leader: p.leader,
        replicas: p.replicas,
        isr: p.isr,
        offlineReplicas: p.offlineReplicas,
      }));
      for (const m of tm.messages) {
        const partition = m.partition ?? this.partitioner({ topic: tm.topic, partitionMetadata, message: m });
        records.push({
          topic: tm.topic,
          key: m.key ?? null,
          value: m.value,
          partition,
          headers: convertHeaders(m.headers),
          timestamp: m.timestamp === undefined ? undefined : Number(m.timestamp),
        });
      }
    }
    const results = await wrap(producer.sendBatch(records));
    // kafkajs answers per partition with the first offset written there.
    const byPartition = new Map<string, RecordMetadata>();
    for (const r of results) {
      const k = `${r.topic}\u0000${r.partition}`;
      if (byPartition.has(k)) continue;
      byPartition.set(k, {
        topicName: r.topic,
        partition: r.partition,
        errorCode: 0,
        baseOffset: String(r.offset),
        logAppendTime: '-1',
        logStartOffset: '-1',
      });
    }
    return [...byPartition.values()];
  }

  transaction(): never {
    throw new KafkaJSNotImplemented('transactions are not supported by eddy/kafkajs yet');
  }
}

// ---- Consumer

export interface ConsumerConfig {
  groupId: string;
  partitionAssigners?: unknown[];
  metadataMaxAge?: number;
  sessionTimeout?: number;
  rebalanceTimeout?: number;
  heartbeatInterval?: number;
  maxBytesPerPartition?: number;
  minBytes?: number;
  maxBytes?: number;
  maxWaitTimeInMs?: number;
  retry?: RetryOptions & { restartOnFailure?: (err: Error) => Promise<boolean> };
  allowAutoTopicCreation?: boolean;
  maxInFlightRequests?: number;
  readUncommitted?: boolean;
  rackId?: string;
}

export interface Batch {
  topic: string;
  partition: number;
  highWatermark: string;
  messages: KafkaMessage[];
  isEmpty(): boolean;
  firstOffset(): string | null;
  lastOffset(): string;
  offsetLag(): string;
  offsetLagLow(): string;
}

export interface EachMessagePayload {
  topic: string;
  partition: number;
  message: KafkaMessage;
  heartbeat(): Promise<void>;
  pause(): () => void;
}

export interface EachBatchPayload {
  batch: Batch;
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  pause(): () => void;
  commitOffsetsIfNecessary(offsets?: unknown): Promise<void>;
  uncommittedOffsets(): { topics: { topic: string; partitions: { partition: number; offset: string }[] }[] };
  isRunning(): boolean;
  isStale(): boolean;
}

export interface ConsumerRunConfig {
  autoCommit?: boolean;
  autoCommitInterval?: number | null;
  autoCommitThreshold?: number | null;
  eachBatchAutoResolve?: boolean;
  partitionsConsumedConcurrently?: number;
  eachBatch?: (payload: EachBatchPayload) => Promise<void>;
  eachMessage?: (payload: EachMessagePayload) => Promise<void>;
}

export interface TopicPartitionOffsetAndMetadata {
  topic: string;
  partition: number;
  offset: string;
  metadata?: string | null;
}

function makeBatch(b: MessageBatch): Batch {
  const messages = b.messages.map(toKafkaMessage);
  const last = b.messages.length > 0 ? (b.messages[b.messages.length - 1] as EddyMessage).offset : b.nextOffset - 1;
  const first = b.messages.length > 0 ? (b.messages[0] as EddyMessage).offset : null;
  return {
    topic: b.topic,
    partition: b.partition,
    highWatermark: String(b.highWatermark),
    messages,
    isEmpty: () => messages.length === 0,
    firstOffset: () => (first === null ? null : String(first)),
    lastOffset: () => String(last),
    offsetLag: () => String(Math.max(0, b.highWatermark - 1 - last)),
    offsetLagLow: () => String(Math.max(0, b.highWatermark - 1 - (first ?? last))),
  };
}

export class Consumer extends Instrumented {
  readonly events = {
    HEARTBEAT: 'consumer.heartbeat',
    COMMIT_OFFSETS: 'consumer.commit_offsets',
    GROUP_JOIN: 'consumer.group_join',
    FETCH_START: 'consumer.fetch_start',
    FETCH: 'consumer.fetch',
    START_BATCH_PROCESS: 'consumer.start_batch_process',
    END_BATCH_PROCESS: 'consumer.end_batch_process',
    CONNECT: 'consumer.connect',
    DISCONNECT: 'consumer.disconnect',
    STOP: 'consumer.stop',
    CRASH: 'consumer.crash',
    REBALANCING: 'consumer.rebalancing',
    RECEIVED_UNSUBSCRIBED_TOPICS: 'consumer.received_unsubscribed_topics',
    REQUEST: 'consumer.network.request',
    REQUEST_TIMEOUT: 'consumer.network.request_timeout',
    REQUEST_QUEUE_SIZE: 'consumer.network.request_queue_size',
  } as const;
  private readonly kafka: Kafka;
  private readonly config: ConsumerConfig;
  private native: EddyConsumer | null = null;
  private readonly topics = new Set<string>();
  private readonly patterns: RegExp[] = [];
  private fromBeginning = false;
  private running: Promise<void> | null = null;
  private stopping = false;
  private readonly logger: Logger;

  constructor(kafka: Kafka, config: ConsumerConfig) {
    super();
    this.kafka = kafka;
    this.config = config;
    this.logger = kafka.logger();
  }

  private create(autoCommit: boolean, autoCommitIntervalMs: number | undefined): EddyConsumer {
    const c = this.config;
    const opts = {
      ...this.kafka.clientOptions('Consumer', c.retry),
      groupId: c.groupId,
      sessionTimeoutMs: c.sessionTimeout ?? 30_000,
      rebalanceTimeoutMs: c.rebalanceTimeout ?? 60_000,
      heartbeatIntervalMs: c.heartbeatInterval ?? 3_000,
      maxPartitionFetchBytes: c.maxBytesPerPartition ?? 1_048_576,
      fetchMinBytes: c.minBytes ?? 1,
      fetchMaxBytes: c.maxBytes ?? 10_485_760,
      fetchMaxWaitMs: c.maxWaitTimeInMs ?? 5_000,
      isolationLevel: c.readUncommitted ? ('read_uncommitted' as const) : ('read_committed' as const),
      allowAutoTopicCreation: c.allowAutoTopicCreation ?? true,
      autoOffsetReset: this.fromBeginning ? ('earliest' as const) : ('latest' as const),
      autoCommit,
      autoCommitIntervalMs: autoCommitIntervalMs ?? 5_000,
      rackId: c.rackId,
      rebalanceListener: {
        onPartitionsAssigned: (tps: TopicPartition[]) => {
          const state = this.native?.groupState();
          const memberAssignment: Record<string, number[]> = {};
          for (const tp of this.native?.assignment() ?? tps) {
            memberAssignment[tp.topic] = [...(memberAssignment[tp.topic] ?? []), tp.partition];
          }
          this.emit(this.events.GROUP_JOIN, {
            groupId: c.groupId,
            memberId: state?.memberId,
            leaderId: state?.isLeader ? state.memberId : undefined,
            isLeader: state?.isLeader ?? false,
            groupProtocol: state?.protocol,
            memberAssignment,
          });
        },
        onPartitionsRevoked: () => {
          this.emit(this.events.REBALANCING, { groupId: c.groupId, memberId: this.native?.groupState()?.memberId });
        },
      },
    };
    if (opts.rackId === undefined) delete opts.rackId;
    return new EddyConsumer(opts);
  }

  async connect(): Promise<void> {
    // The native consumer is created by run(), when its options are known; check reachability now.
    const admin = new EddyAdmin(this.kafka.clientOptions('Consumer', this.config.retry));
    try {
      await wrap(admin.connect());
    } finally {
      await admin.close();
    }
    this.emit(this.events.CONNECT);
  }

  async subscribe(sub: {
    topic?: string | RegExp;
    topics?: (string | RegExp)[];
    fromBeginning?: boolean;
  }): Promise<void> {
    if (this.running) throw new KafkaJSNonRetriableError('Cannot subscribe to topic while consumer is running');
    const list = sub.topics ?? (sub.topic !== undefined ? [sub.topic] : []);
    if (list.length === 0) throw new KafkaJSNonRetriableError('Missing required argument "topics"');
    for (const t of list) {
      if (t instanceof RegExp) this.patterns.push(t);
      else this.topics.add(t);
    }
    if (sub.fromBeginning) this.fromBeginning = true;
  }

  /** Topic names, with regular expressions matched against the cluster's topics now (as kafkajs does). */
  private async resolveTopics(): Promise<string[]> {
    const out = new Set(this.topics);
    if (this.patterns.length > 0) {
      const admin = new EddyAdmin(this.kafka.clientOptions('Consumer', this.config.retry));
      try {
        for (const t of await admin.listTopics()) if (this.patterns.some((p) => p.test(t))) out.add(t);
      } finally {
        await admin.close();
      }
    }
    return [...out];
  }

  async run(config: ConsumerRunConfig = {}): Promise<void> {
    if (this.running) throw new KafkaJSNonRetriableError('Consumer is already running');
    if (!config.eachBatch && !config.eachMessage) {
      throw new KafkaJSNonRetriableError('Consumer.run needs eachBatch or eachMessage');
    }
    const topics = await wrap(this.resolveTopics());
    const native = this.create(config.autoCommit ?? true, config.autoCommitInterval ?? undefined);
    this.native = native;
    native.subscribe(topics);
    for (const [tp, offset] of this.pendingSeeks) native.seek(tp, offset);
    this.pendingSeeks.clear();
    for (const p of this.pendingPauses) native.pause([p]);
    this.pendingPauses = [];
    this.stopping = false;
    this.running = this.loop(native, config);
  }

  private async loop(native: EddyConsumer, config: ConsumerRunConfig): Promise<void> {
    const retry = { retries: 5, initialRetryTime: 300, maxRetryTime: 30_000, ...this.config.retry };
    let failures = 0;
    while (!this.stopping) {
      try {
        await native.run({
          eachBatchAutoResolve: config.eachBatchAutoResolve ?? true,
          eachMessage: config.eachMessage
            ? async (p) => {
                const handler = config.eachMessage as NonNullable<ConsumerRunConfig['eachMessage']>;
                await handler({
                  topic: p.topic,
                  partition: p.partition,
                  message: toKafkaMessage(p.message),
                  heartbeat: p.heartbeat,
                  pause: () => {
                    p.pause();
                    return () => native.resume([{ topic: p.topic, partition: p.partition }]);
                  },
                });
                failures = 0;
              }
            : undefined,
          eachBatch: config.eachBatch
            ? async (p) => {
                const handler = config.eachBatch as NonNullable<ConsumerRunConfig['eachBatch']>;
                const batch = makeBatch(p.batch);
                let resolved = -1;
                this.emit(this.events.START_BATCH_PROCESS, {
                  topic: batch.topic,
                  partition: batch.partition,
                  batchSize: batch.messages.length,
                });
                const started = Date.now();
                await handler({
                  batch,
                  resolveOffset: (offset) => {
                    resolved = Number(offset);
                    p.resolveOffset(resolved);
                  },
                  heartbeat: p.heartbeat,
                  pause: () => {
                    p.pause();
                    return () => native.resume([{ topic: batch.topic, partition: batch.partition }]);
                  },
                  commitOffsetsIfNecessary: p.commitOffsetsIfNecessary,
                  uncommittedOffsets: () => ({
                    topics:
                      resolved < 0
                        ? []
                        : [
                            {
                              topic: batch.topic,
                              partitions: [{ partition: batch.partition, offset: String(resolved + 1) }],
                            },
                          ],
                  }),
                  isRunning: p.isRunning,
                  isStale: p.isStale,
                });
                this.emit(this.events.END_BATCH_PROCESS, {
                  topic: batch.topic,
                  partition: batch.partition,
                  batchSize: batch.messages.length,
                  duration: Date.now() - started,
                });
                failures = 0;
              }
            : undefined,
        });
        return;
      } catch (err) {
        if (this.stopping) return;
        const error = toKafkaJSError(err);
        failures++;
        const restart = this.config.retry?.restartOnFailure ? await this.config.retry.restartOnFailure(error) : true;
        this.logger.error(`Error in the consumer: ${error.message}`, {
          groupId: this.config.groupId,
          retryCount: failures,
        });
        this.emit(this.events.CRASH, { error, groupId: this.config.groupId, restart });
        if (!restart) return;
        // The failed message is delivered again after the retry backoff (as kafkajs retries it).
        const delay = Math.min(retry.maxRetryTime, retry.initialRetryTime * 2 ** Math.min(failures - 1, 20));
        await sleep(delay).catch(() => {});
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.native?.stop();
    await this.running;
    this.running = null;
    this.emit(this.events.STOP);
  }

  async disconnect(): Promise<void> {
    this.stopping = true;
    const native = this.native;
    native?.stop();
    if (native) await native.close();
    await this.running;
    this.running = null;
    this.native = null;
    this.emit(this.events.DISCONNECT);
  }

  async commitOffsets(offsets: TopicPartitionOffsetAndMetadata[]): Promise<void> {
    if (this.native === null) throw new KafkaJSNonRetriableError('Consumer not running');
    await wrap(
      this.native.commit(
        offsets.map((o) => ({
          topic: o.topic,
          partition: o.partition,
          offset: Number(o.offset),
          metadata: o.metadata ?? null,
        })),
      ),
    );
    this.emit(this.events.COMMIT_OFFSETS, { groupId: this.config.groupId, topics: offsets });
  }

  private readonly pendingSeeks = new Map<TopicPartition, number>();
  private pendingPauses: TopicPartition[] = [];

  seek({ topic, partition, offset }: { topic: string; partition: number; offset: string }): void {
    const n = Number(offset);
    if (!Number.isInteger(n)) throw new KafkaJSNonRetriableError(`Invalid offset "${offset}"`);
    // kafkajs: -1 is the latest offset, -2 the earliest.
    const target = n === -1 ? 'latest' : n === -2 ? 'earliest' : n;
    if (this.native) this.native.seek({ topic, partition }, target);
    else this.pendingSeeks.set({ topic, partition }, typeof target === 'number' ? target : n);
  }

  private expand(topics: { topic: string; partitions?: number[] }[]): TopicPartition[] {
    const out: TopicPartition[] = [];
    for (const t of topics) {
      const partitions =
        t.partitions ??
        (this.native?.cluster.topic(t.topic)?.partitions.map((p) => p.partition) ?? []).concat(
          this.native
            ?.assignment()
            .filter((a) => a.topic === t.topic)
            .map((a) => a.partition) ?? [],
        );
      for (const partition of new Set(partitions)) out.push({ topic: t.topic, partition });
    }
    return out;
  }

  pause(topics: { topic: string; partitions?: number[] }[]): void {
    const tps = this.expand(topics);
    if (this.native) this.native.pause(tps);
    else this.pendingPauses.push(...tps);
  }

  resume(topics: { topic: string; partitions?: number[] }[]): void {
    this.native?.resume(this.expand(topics));
  }

  paused(): { topic: string; partitions: number[] }[] {
    const by = new Map<string, number[]>();
    for (const tp of this.native?.paused() ?? []) by.set(tp.topic, [...(by.get(tp.topic) ?? []), tp.partition]);
    return [...by].map(([topic, partitions]) => ({ topic, partitions }));
  }

  async describeGroup(): Promise<unknown> {
    const admin = new EddyAdmin(this.kafka.clientOptions('Consumer'));
    try {
      const [g] = await wrap(admin.describeGroups([this.config.groupId]));
      return g;
    } finally {
      await admin.close();
    }
  }
}

// ---- Admin

export interface ITopicConfig {
  topic: string;
  numPartitions?: number;
  replicationFactor?: number;
  replicaAssignment?: { partition: number; replicas: number[] }[];
  configEntries?: { name: string; value: string }[];
}

export class Admin extends Instrumented {
  readonly events = {
    CONNECT: 'admin.connect',
    DISCONNECT: 'admin.disconnect',
    REQUEST: 'admin.network.request',
    REQUEST_TIMEOUT: 'admin.network.request_timeout',
    REQUEST_QUEUE_SIZE: 'admin.network.request_queue_size',
  } as const;
  private readonly admin: EddyAdmin;

  constructor(kafka: Kafka, config: { retry?: RetryOptions }) {
    super();
    this.admin = new EddyAdmin(kafka.clientOptions('Admin', config.retry));
  }

  async connect(): Promise<void> {
    await wrap(this.admin.connect());
    this.emit(this.events.CONNECT);
  }

  async disconnect(): Promise<void> {
    await this.admin.close();
    this.emit(this.events.DISCONNECT);
  }

  /** True when every topic was created, false when some already existed. */
  async createTopics(opts: {
    topics: ITopicConfig[];
    validateOnly?: boolean;
    waitForLeaders?: boolean;
    timeout?: number;
  }): Promise<boolean> {
    const results = await wrap(
      this.admin.createTopics(
        opts.topics.map((t) => ({
          name: t.topic,
          numPartitions: t.numPartitions ?? -1,
          replicationFactor: t.replicationFactor ?? -1,
          assignments: t.replicaAssignment?.map((a) => ({ partition: a.partition, brokerIds: a.replicas })),
          configs: Object.fromEntries((t.configEntries ?? []).map((c) => [c.name, c.value])),
        })),
        { validateOnly: opts.validateOnly, waitForLeaders: opts.waitForLeaders ?? true, timeoutMs: opts.timeout },
      ),
    );
    return results.every((r) => r.created);
  }

  async deleteTopics(opts: { topics: string[]; timeout?: number }): Promise<void> {
    await wrap(this.admin.deleteTopics(opts.topics, { timeoutMs: opts.timeout }));
  }

  async createPartitions(opts: {
    topicPartitions: { topic: string; count: number; assignments?: number[][] }[];
    validateOnly?: boolean;
    timeout?: number;
  }): Promise<boolean> {
    await wrap(
      this.admin.createPartitions(opts.topicPartitions, { validateOnly: opts.validateOnly, timeoutMs: opts.timeout }),
    );
    return true;
  }

  async listTopics(): Promise<string[]> {
    return wrap(this.admin.listTopics());
  }

  async fetchTopicMetadata(opts: { topics?: string[] } = {}): Promise<{
    topics: { name: string; partitions: PartitionMetadata[] }[];
  }> {
    const names = opts.topics ?? (await wrap(this.admin.listTopics()));
    const described = await wrap(this.admin.describeTopics(names));
    return {
      topics: described.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionErrorCode: p.errorCode,
          partitionId: p.partition,
          leader: p.leader,
          replicas: p.replicas,
          isr: p.isr,
          offlineReplicas: p.offlineReplicas,
        })),
      })),
    };
  }

  async fetchTopicOffsets(topic: string): Promise<{ partition: number; offset: string; high: string; low: string }[]> {
    const offsets = await wrap(this.admin.fetchTopicOffsets(topic));
    return offsets.map((o) => ({
      partition: o.partition,
      offset: String(o.high),
      high: String(o.high),
      low: String(o.low),
    }));
  }

  async fetchTopicOffsetsByTimestamp(
    topic: string,
    timestamp?: number,
  ): Promise<{ partition: number; offset: string }[]> {
    const found = await wrap(this.admin.fetchTopicOffsetsByTimestamp(topic, timestamp ?? Date.now()));
    // kafkajs reports the high watermark for partitions with nothing at or after the timestamp.
    const high = found.some((f) => f.offset < 0) ? await wrap(this.admin.fetchTopicOffsets(topic)) : [];
    return found.map((f) => ({
      partition: f.partition,
      offset: String(f.offset >= 0 ? f.offset : (high.find((h) => h.partition === f.partition)?.high ?? -1)),
    }));
  }

  async fetchOffsets(opts: {
    groupId: string;
    topics?: string[];
    resolveOffsets?: boolean;
  }): Promise<{ topic: string; partitions: { partition: number; offset: string; metadata: string | null }[] }[]> {
    const topics = opts.topics ?? [];
    const partitions: TopicPartition[] = [];
    for (const topic of topics) {
      const [d] = await wrap(this.admin.describeTopics([topic]));
      for (const p of d?.partitions ?? []) partitions.push({ topic, partition: p.partition });
    }
    const committed = await wrap(this.admin.fetchOffsets(opts.groupId, topics.length > 0 ? partitions : undefined));
    const byTopic = new Map<string, { partition: number; offset: string; metadata: string | null }[]>();
    for (const t of topics) byTopic.set(t, []);
    for (const tp of partitions) {
      const c = committed.find((x) => x.topic === tp.topic && x.partition === tp.partition);
      byTopic
        .get(tp.topic)
        ?.push({ partition: tp.partition, offset: String(c?.offset ?? -1), metadata: c?.metadata ?? null });
    }
    if (topics.length === 0) {
      for (const c of committed) {
        const l = byTopic.get(c.topic) ?? [];
        l.push({ partition: c.partition, offset: String(c.offset), metadata: c.metadata });
        byTopic.set(c.topic, l);
      }
    }
    return [...byTopic].map(([topic, parts]) => ({ topic, partitions: parts }));
  }

  async setOffsets(opts: {
    groupId: string;
    topic: string;
    partitions: { partition: number; offset: string }[];
  }): Promise<void> {
    await wrap(
      this.admin.setOffsets(
        opts.groupId,
        opts.partitions.map((p) => ({ topic: opts.topic, partition: p.partition, offset: Number(p.offset) })),
      ),
    );
  }

  async resetOffsets(opts: { groupId: string; topic: string; earliest?: boolean }): Promise<void> {
    await wrap(this.admin.resetOffsets(opts.groupId, opts.topic, opts.earliest ? 'earliest' : 'latest'));
  }

  async describeCluster(): Promise<{
    brokers: { nodeId: number; host: string; port: number }[];
    controller: number | null;
    clusterId: string;
  }> {
    const d = await wrap(this.admin.describeCluster());
    return {
      brokers: d.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
      controller: d.controllerId >= 0 ? d.controllerId : null,
      clusterId: d.clusterId ?? '',
    };
  }

  async describeConfigs(opts: {
    resources: { type: number; name: string; configNames?: string[] }[];
    includeSynonyms?: boolean;
  }): Promise<{
    resources: {
      errorCode: number;
      errorMessage: string;
      resourceName: string;
      resourceType: number;
      configEntries: {
        configName: string;
        configValue: string | null;
        readOnly: boolean;
        isDefault: boolean;
        configSource: number;
        isSensitive: boolean;
        configSynonyms: never[];
      }[];
    }[];
    throttleTime: number;
  }> {
    const types: Record<number, 'topic' | 'broker' | 'broker-logger'> = { 2: 'topic', 4: 'broker', 8: 'broker-logger' };
    const described = await wrap(
      this.admin.describeConfigs(
        opts.resources.map((r) => {
          const type = types[r.type];
          if (type === undefined) throw new KafkaJSNonRetriableError(`unsupported resource type ${r.type}`);
          return { type, name: r.name, configNames: r.configNames };
        }),
      ),
    );
    return {
      resources: described.map((d) => ({
        errorCode: 0,
        errorMessage: '',
        resourceName: d.name,
        resourceType: d.type === 'topic' ? 2 : d.type === 'broker' ? 4 : 8,
        configEntries: d.configs.map((c) => ({
          configName: c.name,
          configValue: c.value,
          readOnly: c.readOnly,
          isDefault: c.isDefault,
          configSource: c.source,
          isSensitive: c.isSensitive,
          configSynonyms: [],
        })),
      })),
      throttleTime: 0,
    };
  }

  /** Sets the given entries (incrementally: other keys keep their values). */
  async alterConfigs(opts: {
    resources: { type: number; name: string; configEntries: { name: string; value: string }[] }[];
    validateOnly?: boolean;
  }): Promise<void> {
    const types: Record<number, 'topic' | 'broker' | 'broker-logger'> = { 2: 'topic', 4: 'broker', 8: 'broker-logger' };
    await wrap(
      this.admin.alterConfigs(
        opts.resources.map((r) => {
          const type = types[r.type];
          if (type === undefined) throw new KafkaJSNonRetriableError(`unsupported resource type ${r.type}`);
          return {
            type,
            name: r.name,
            configs: r.configEntries.map((c) => ({ name: c.name, value: c.value, op: 'set' as const })),
          };
        }),
        { validateOnly: opts.validateOnly },
      ),
    );
  }

  async listGroups(): Promise<{ groups: { groupId: string; protocolType: string }[] }> {
    const groups = await wrap(this.admin.listGroups());
    return { groups: groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType })) };
  }

  async describeGroups(groupIds: string[]): Promise<{
    groups: {
      errorCode: number;
      groupId: string;
      state: string;
      protocolType: string;
      protocol: string;
      members: {
        memberId: string;
        clientId: string;
        clientHost: string;
        memberMetadata: Buffer;
        memberAssignment: Buffer;
      }[];
    }[];
  }> {
    const described = await wrap(this.admin.describeGroups(groupIds));
    return {
      groups: described.map((g) => ({
        errorCode: 0,
        groupId: g.groupId,
        state: g.state,
        protocolType: g.protocolType,
        protocol: g.protocol,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: Buffer.alloc(0),
          memberAssignment: Buffer.alloc(0),
        })),
      })),
    };
  }

  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: number }[]> {
    await wrap(this.admin.deleteGroups(groupIds));
    return groupIds.map((groupId) => ({ groupId, errorCode: 0 }));
  }

  async deleteTopicRecords(opts: {
    topic: string;
    partitions: { partition: number; offset: string }[];
  }): Promise<void> {
    await wrap(
      this.admin.deleteRecords(
        opts.topic,
        opts.partitions.map((p) => ({ partition: p.partition, offset: Number(p.offset) })),
      ),
    );
  }
}
