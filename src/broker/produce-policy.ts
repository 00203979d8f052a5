// Produce-time rules from topic configs: the final compression codec and timestamp bounds,
// applied before records reach the log.
import {
  type BatchHeader,
  type CompressionType,
  checkBatchHeader,
  compressionOf,
  isLogAppendTime,
  readBatchHeader,
} from '../records/batch-header.js';
import { decodeRecordBatch, encodeRecordBatch } from '../records/record-batch.js';

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
export function recompress(records: Buffer, headers: BatchHeader[], target: CompressionType): Buffer {
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

/** Headers of a request's batches; null when malformed (the log's validation rejects it). */
export function batchHeaders(records: Buffer): BatchHeader[] | null {
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
export function checkTimestamps(headers: BatchHeader[], policy: ProducePolicy, nowMs: number): string | null {
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
