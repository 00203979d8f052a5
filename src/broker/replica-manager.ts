// The partitions hosted on this broker: their logs, leadership and high watermarks, and the
// produce and fetch paths. Metadata changes (from the metadata log) drive what is hosted.

import { configsOf, type MetadataChanges, type MetadataImage, type TopicImage } from '../metadata/image.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  type BatchHeader,
  type CompressionType,
  checkBatchHeader,
  compressionOf,
  isLogAppendTime,
  readBatchHeader,
} from '../records/batch-header.js';
import { decodeRecordBatch, encodeRecordBatch } from '../records/record-batch.js';
import type { AppendResult, LogManager, PartitionLog } from '../storage/index.js';
import { errorMessage, logger } from '../util/log.js';
import type { BrokerConfig } from './config.js';
import { ConfigResourceType } from './config-defs.js';
import { ProducerStateManager } from './producer-state.js';

export class Partition {
  /** Callbacks waiting for new data (delayed fetches). */
  readonly waiters = new Set<() => void>();
  leaderId = -1;
  leaderEpoch = -1;
  partitionEpoch = -1;
  replicas: readonly number[] = [];
  isr: readonly number[] = [];
  readonly producers = new ProducerStateManager();

  constructor(
    readonly topic: string,
    readonly topicId: string,
    readonly index: number,
    readonly log: PartitionLog,
  ) {
    this.producers.load(log);
  }

  get key(): string {
    return partitionKey(this.topicId, this.index);
  }

  /** Wakes delayed fetches waiting on this partition. */
  notifyWaiters(): void {
    if (this.waiters.size === 0) return;
    const ws = [...this.waiters];
    for (const w of ws) w();
  }
}

export function partitionKey(topicId: string, index: number): string {
  return `${topicId}:${index}`;
}

export interface ProducePartitionResult {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  recordErrors: { batchIndex: number; batchIndexErrorMessage: string | null }[];
}

/** Thrown by storage with a Kafka error code attached. */
interface CodedError {
  kafkaErrorCode: number;
  message: string;
}

function isCodedError(err: unknown): err is CodedError {
  return typeof err === 'object' && err !== null && typeof (err as CodedError).kafkaErrorCode === 'number';
}

export function errorCodeOf(err: unknown): number {
  return isCodedError(err) ? err.kafkaErrorCode : ErrorCode.UNKNOWN_SERVER_ERROR;
}

export const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state']);

/** Per-topic produce rules derived from topic configs. */
export interface ProducePolicy {
  minInsyncReplicas: number;
  /** The topic's compression.type as a codec, or null for 'producer' (keep what was sent). */
  compression: CompressionType | null;
  /** message.timestamp.before.max.ms / after.max.ms (CreateTime topics only). */
  timestampBeforeMaxMs: number;
  timestampAfterMaxMs: number;
  logAppendTime: boolean;
}

export const DEFAULT_PRODUCE_POLICY: ProducePolicy = {
  minInsyncReplicas: 1,
  compression: null,
  timestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
  timestampAfterMaxMs: Number.MAX_SAFE_INTEGER,
  logAppendTime: false,
};

const COMPRESSION_BY_NAME: Record<string, CompressionType | null> = {
  producer: null,
  uncompressed: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
};

export function compressionFromConfig(name: string | null): CompressionType | null {
  return COMPRESSION_BY_NAME[name ?? 'producer'] ?? null;
}

/**
 * Re-encodes batches whose codec differs from the topic's compression.type, as Kafka does.
 * Batches that fail to decode are left alone so the log's validation reports them.
 */
function recompress(records: Buffer, headers: BatchHeader[], target: CompressionType): Buffer {
  if (headers.every((h) => compressionOf(h.attributes) === target)) return records;
  const out: Buffer[] = [];
  for (const h of headers) {
    const raw = records.subarray(h.position, h.position + h.sizeBytes);
    if (compressionOf(h.attributes) === target) {
      out.push(raw);
      continue;
    }
    let decoded: ReturnType<typeof decodeRecordBatch>;
    try {
      decoded = decodeRecordBatch(raw, 0);
    } catch {
      return records;
    }
    out.push(
      encodeRecordBatch({
        baseOffset: decoded.baseOffset,
        partitionLeaderEpoch: decoded.partitionLeaderEpoch,
        compression: target,
        timestampType: decoded.timestampType,
        transactional: decoded.isTransactional,
        control: decoded.isControl,
        producerId: decoded.producerId,
        producerEpoch: decoded.producerEpoch,
        baseSequence: decoded.baseSequence,
        baseTimestamp: decoded.baseTimestamp,
        lastOffsetDelta: decoded.lastOffsetDelta,
        maxTimestamp: decoded.maxTimestamp,
        records: decoded.records.map((r) => ({
          key: r.key,
          value: r.value,
          headers: r.headers,
          timestamp: r.timestamp,
          offsetDelta: r.offsetDelta,
        })),
      }),
    );
  }
  return Buffer.concat(out);
}

export type LeadershipListener = (p: Partition, isLeader: boolean) => void;

export class ReplicaManager {
  private readonly log = logger('replica-manager');
  private readonly partitions = new Map<string, Partition>();
  /** Told when this broker gains or loses leadership of a partition (coordinators use it). */
  readonly leadershipListeners: LeadershipListener[] = [];
  /** Serializes log creation and deletion triggered by metadata. */
  private metadataWork: Promise<void> = Promise.resolve();

  constructor(
    private readonly nodeId: number,
    private readonly logs: LogManager,
    private readonly config: BrokerConfig,
  ) {}

  getPartition(topicId: string, index: number): Partition | undefined {
    return this.partitions.get(partitionKey(topicId, index));
  }

  allPartitions(): IterableIterator<Partition> {
    return this.partitions.values();
  }

  /** Applies committed metadata changes; resolves when logs are created or deleted. */
  applyMetadata(image: MetadataImage, changes: MetadataChanges): Promise<void> {
    const work = async (): Promise<void> => {
      for (const t of changes.deletedTopics) await this.removeTopic(t);
      for (const t of changes.changedTopics) await this.syncTopic(image, t);
      for (const key of changes.changedConfigs) this.refreshConfigs(image, key);
    };
    const p = this.metadataWork.then(work, work);
    this.metadataWork = p.catch((err) => this.log.error(`applying metadata failed: ${errorMessage(err)}`));
    return p;
  }

  /** Loads every partition of the image (at start-up). */
  loadAll(image: MetadataImage): Promise<void> {
    return this.applyMetadata(image, {
      createdTopics: [],
      deletedTopics: [],
      changedTopics: [...image.topicsById.values()],
      changedConfigs: [],
      brokersChanged: false,
    });
  }

  private topicConfigs(image: MetadataImage, topic: string): ReadonlyMap<string, string> {
    return configsOf(image, ConfigResourceType.TOPIC, topic);
  }

  private async syncTopic(image: MetadataImage, t: TopicImage): Promise<void> {
    const overrides = this.topicConfigs(image, t.name);
    for (let i = 0; i < t.partitions.length; i++) {
      const reg = t.partitions[i];
      if (!reg) continue;
      const key = partitionKey(t.id, i);
      let p = this.partitions.get(key);
      if (!reg.replicas.includes(this.nodeId)) {
        if (p) {
          this.partitions.delete(key);
          if (p.leaderId === this.nodeId) this.notifyLeadership(p, false);
          await this.logs.deleteLog(t.name, i);
        }
        continue;
      }
      if (!p) {
        const log = await this.logs.getOrCreateLog(t.name, i, t.id, this.config.logConfigFor(overrides));
        p = new Partition(t.name, t.id, i, log);
        this.partitions.set(key, p);
      }
      p.replicas = reg.replicas;
      p.isr = reg.isr;
      p.partitionEpoch = reg.partitionEpoch;
      if (p.leaderEpoch !== reg.leaderEpoch || p.leaderId !== reg.leader) {
        const wasLeader = p.leaderId === this.nodeId;
        p.leaderId = reg.leader;
        p.leaderEpoch = reg.leaderEpoch;
        const isLeader = reg.leader === this.nodeId;
        if (isLeader) this.maybeAdvanceHighWatermark(p);
        if (wasLeader !== isLeader) this.notifyLeadership(p, isLeader);
      }
    }
  }

  private async removeTopic(t: TopicImage): Promise<void> {
    for (let i = 0; i < t.partitions.length; i++) {
      const key = partitionKey(t.id, i);
      const p = this.partitions.get(key);
      if (!p) continue;
      this.partitions.delete(key);
      p.notifyWaiters();
      if (p.leaderId === this.nodeId) this.notifyLeadership(p, false);
      await this.logs.deleteLog(t.name, i);
    }
  }

  private refreshConfigs(image: MetadataImage, key: string): void {
    const [type, ...rest] = key.split('/');
    if (Number(type) === ConfigResourceType.BROKER) {
      for (const p of this.partitions.values()) {
        p.log.updateConfig(this.config.logConfigFor(this.topicConfigs(image, p.topic)));
      }
      return;
    }
    if (Number(type) !== ConfigResourceType.TOPIC) return;
    const topic = rest.join('/');
    const t = image.topicsByName.get(topic);
    if (!t) return;
    const cfg = this.config.logConfigFor(this.topicConfigs(image, topic));
    for (let i = 0; i < t.partitions.length; i++) this.partitions.get(partitionKey(t.id, i))?.log.updateConfig(cfg);
  }

  private notifyLeadership(p: Partition, isLeader: boolean): void {
    for (const l of this.leadershipListeners) {
      try {
        l(p, isLeader);
      } catch (err) {
        this.log.error(`leadership listener failed for ${p.topic}-${p.index}: ${errorMessage(err)}`);
      }
    }
  }

  /** Resolves once the partition's high watermark reaches `offset` (acks=all semantics). */
  awaitHighWatermark(topicId: string, index: number, offset: number): Promise<void> {
    const p = this.partitions.get(partitionKey(topicId, index));
    if (!p || p.log.highWatermark >= offset) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        const current = this.partitions.get(partitionKey(topicId, index));
        if (current !== p || p.log.highWatermark >= offset) {
          p.waiters.delete(check);
          resolve();
        }
      };
      p.waiters.add(check);
    });
  }

  /** With this broker the only in-sync replica, everything appended is committed. */
  maybeAdvanceHighWatermark(p: Partition): void {
    if (p.leaderId !== this.nodeId) return;
    if (p.isr.length === 1 && p.isr[0] === this.nodeId && p.log.highWatermark !== p.log.logEndOffset) {
      p.log.highWatermark = p.log.logEndOffset;
      p.notifyWaiters();
    }
  }

  /**
   * Appends a produce request's records to a partition this broker leads. Errors come back
   * in the result with Kafka's codes; the log is untouched on error.
   */
  appendToLeader(
    topicId: string,
    topic: string,
    index: number,
    records: Buffer | null,
    acks: number,
    policy: ProducePolicy,
    internalAllowed: boolean,
    nowMs: number = Date.now(),
  ): ProducePartitionResult {
    const result: ProducePartitionResult = {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      baseOffset: -1,
      logAppendTimeMs: -1,
      logStartOffset: -1,
      recordErrors: [],
    };
    const p = this.partitions.get(partitionKey(topicId, index));
    if (!p) {
      result.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      return result;
    }
    if (p.leaderId !== this.nodeId) {
      result.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
      return result;
    }
    if (INTERNAL_TOPICS.has(topic) && !internalAllowed) {
      result.errorCode = ErrorCode.INVALID_TOPIC_EXCEPTION;
      result.errorMessage = `Cannot append to internal topic ${topic}`;
      return result;
    }
    if (records === null || records.length === 0) {
      result.errorCode = ErrorCode.CORRUPT_MESSAGE;
      result.errorMessage = 'The produce request carries no record batches';
      return result;
    }
    if (acks === -1 && p.isr.length < policy.minInsyncReplicas) {
      result.errorCode = ErrorCode.NOT_ENOUGH_REPLICAS;
      result.errorMessage = `The size of the current ISR ${p.isr.length} is insufficient to satisfy the min.isr requirement of ${policy.minInsyncReplicas} for partition ${topic}-${index}`;
      return result;
    }
    const all = batchHeaders(records);
    if (all !== null) {
      const timestampError = checkTimestamps(all, policy, nowMs);
      if (timestampError !== null) {
        result.errorCode = ErrorCode.INVALID_TIMESTAMP;
        result.errorMessage = timestampError;
        result.recordErrors = [{ batchIndex: 0, batchIndexErrorMessage: timestampError }];
        result.logStartOffset = p.log.logStartOffset;
        return result;
      }
      if (policy.compression !== null) records = recompress(records, all, policy.compression);
    }
    // Idempotent producers: check sequences before touching the log.
    const headers = all !== null && all.some((h) => h.producerId >= 0) ? batchHeaders(records) : null;
    if (headers !== null) {
      const check = p.producers.check(headers);
      if (check.kind === 'duplicate') {
        result.baseOffset = check.firstOffset;
        result.logStartOffset = p.log.logStartOffset;
        return result;
      }
      if (check.kind === 'error') {
        result.errorCode = check.errorCode;
        result.errorMessage = check.message;
        result.logStartOffset = p.log.logStartOffset;
        return result;
      }
    }
    let appended: AppendResult;
    try {
      appended = p.log.appendAsLeader(records, p.leaderEpoch);
    } catch (err) {
      result.errorCode = errorCodeOf(err);
      result.errorMessage = errorMessage(err);
      result.logStartOffset = p.log.logStartOffset;
      if (result.errorCode === ErrorCode.UNKNOWN_SERVER_ERROR) {
        this.log.error(`append to ${topic}-${index} failed: ${errorMessage(err)}`);
      } else {
        this.log.info(`rejected produce to ${topic}-${index}: ${errorMessage(err)}`);
      }
      return result;
    }
    if (headers !== null) {
      let offset = appended.firstOffset;
      for (const h of headers) {
        p.producers.update(h, offset, h.maxTimestamp);
        offset += h.lastOffsetDelta + 1;
      }
    }
    result.baseOffset = appended.firstOffset;
    result.logAppendTimeMs = appended.logAppendTimeMs;
    result.logStartOffset = p.log.logStartOffset;
    this.maybeAdvanceHighWatermark(p);
    p.notifyWaiters();
    return result;
  }

  /** Finishes metadata work and writes producer-state snapshots (clean shutdown). */
  async close(): Promise<void> {
    await this.metadataWork;
    for (const p of this.partitions.values()) {
      try {
        p.producers.writeSnapshot(p.log);
      } catch (err) {
        this.log.warn(`writing producer snapshot of ${p.topic}-${p.index} failed: ${errorMessage(err)}`);
      }
    }
  }
}

/** Headers of a request's batches; null when malformed (the log's validation rejects it). */
function batchHeaders(records: Buffer): BatchHeader[] | null {
  const out: BatchHeader[] = [];
  let pos = 0;
  while (pos < records.length) {
    if (checkBatchHeader(records, pos, records.length) !== null) return null;
    const h = readBatchHeader(records, pos);
    out.push(h);
    pos += h.sizeBytes;
  }
  return out;
}

/**
 * message.timestamp.before/after.max.ms, checked on each batch's first and largest
 * timestamps (create-time topics and batches only).
 */
function checkTimestamps(headers: BatchHeader[], policy: ProducePolicy, nowMs: number): string | null {
  if (policy.logAppendTime) return null;
  for (const h of headers) {
    if (isLogAppendTime(h.attributes)) continue;
    if (nowMs - h.baseTimestamp > policy.timestampBeforeMaxMs) {
      return `Timestamp ${h.baseTimestamp} of a record is more than message.timestamp.before.max.ms=${policy.timestampBeforeMaxMs} before the broker time ${nowMs}`;
    }
    if (h.maxTimestamp - nowMs > policy.timestampAfterMaxMs) {
      return `Timestamp ${h.maxTimestamp} of a record is more than message.timestamp.after.max.ms=${policy.timestampAfterMaxMs} after the broker time ${nowMs}`;
    }
  }
  return null;
}
