// Topic-level log settings, named after Kafka's keys with units in the name.
import { InvalidConfigError } from './errors.js';

export type TimestampType = 'CreateTime' | 'LogAppendTime';

/** Kafka's "never" for flush.messages / flush.ms is Long.MAX_VALUE; as a JS number we use this. */
export const FLUSH_NEVER = Number.MAX_SAFE_INTEGER;

export interface LogConfig {
  /** segment.bytes: roll the active segment once it would exceed this size. */
  segmentBytes: number;
  /** segment.ms: roll once the active segment's first timestamp is this old. */
  segmentMs: number;
  /** segment.index.bytes: the largest offset/time index; a full index rolls the segment. */
  segmentIndexBytes: number;
  /** index.interval.bytes: bytes of batches between two offset-index entries. */
  indexIntervalBytes: number;
  /** retention.ms: -1 keeps segments forever. */
  retentionMs: number;
  /** retention.bytes: -1 means no size limit. */
  retentionBytes: number;
  /** max.message.bytes: the largest record batch accepted. */
  maxMessageBytes: number;
  /** flush.messages: fdatasync after this many records (FLUSH_NEVER by default, like Kafka). */
  flushMessages: number;
  /** flush.ms: the log manager flushes a log this long after its last flush (FLUSH_NEVER by default). */
  flushMs: number;
  /** file.delete.delay.ms: how long a deleted segment stays as `.deleted` before removal. */
  fileDeleteDelayMs: number;
  /** message.timestamp.type. */
  messageTimestampType: TimestampType;
  /** Eddy-specific: fdatasync after every append call (durable acks without replication). */
  fsyncEveryBatch?: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * DAY_MS,
  segmentIndexBytes: 10 * 1024 * 1024,
  indexIntervalBytes: 4096,
  retentionMs: 7 * DAY_MS,
  retentionBytes: -1,
  maxMessageBytes: 1048588,
  flushMessages: FLUSH_NEVER,
  flushMs: FLUSH_NEVER,
  fileDeleteDelayMs: 60000,
  messageTimestampType: 'CreateTime',
  fsyncEveryBatch: false,
});

/** Smallest segment.bytes Kafka accepts (the legacy record overhead). */
export const MIN_SEGMENT_BYTES = 14;
/** Smallest segment.index.bytes Kafka accepts. */
export const MIN_SEGMENT_INDEX_BYTES = 4;

/** Checks ranges the way Kafka's config definitions do; throws InvalidConfigError. */
export function validateLogConfig(c: LogConfig): void {
  const intAtLeast = (name: string, v: number, min: number) => {
    if (!Number.isSafeInteger(v) || v < min)
      throw new InvalidConfigError(`${name} must be an integer >= ${min}, got ${v}`);
  };
  intAtLeast('segment.bytes', c.segmentBytes, MIN_SEGMENT_BYTES);
  if (c.segmentBytes > 0x7fffffff)
    throw new InvalidConfigError(`segment.bytes must fit an int32, got ${c.segmentBytes}`);
  intAtLeast('segment.ms', c.segmentMs, 1);
  intAtLeast('segment.index.bytes', c.segmentIndexBytes, MIN_SEGMENT_INDEX_BYTES);
  intAtLeast('index.interval.bytes', c.indexIntervalBytes, 0);
  intAtLeast('retention.ms', c.retentionMs, -1);
  intAtLeast('retention.bytes', c.retentionBytes, -1);
  intAtLeast('max.message.bytes', c.maxMessageBytes, 0);
  intAtLeast('flush.messages', c.flushMessages, 1);
  intAtLeast('flush.ms', c.flushMs, 0);
  intAtLeast('file.delete.delay.ms', c.fileDeleteDelayMs, 0);
  if (c.messageTimestampType !== 'CreateTime' && c.messageTimestampType !== 'LogAppendTime') {
    throw new InvalidConfigError(`message.timestamp.type must be CreateTime or LogAppendTime`);
  }
}
