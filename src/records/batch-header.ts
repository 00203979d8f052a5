// RecordBatch v2 header layout and the zero-decode batch walker used on hot paths.
// Layout (big-endian):
//   0 baseOffset int64 | 8 batchLength int32 | 12 partitionLeaderEpoch int32 | 16 magic int8
//  17 crc uint32 (CRC32C of bytes 21..end) | 21 attributes int16 | 23 lastOffsetDelta int32
//  27 baseTimestamp int64 | 35 maxTimestamp int64 | 43 producerId int64 | 51 producerEpoch int16
//  53 baseSequence int32 | 57 recordCount int32 | 61 records...
import { crc32c } from '@node-rs/crc32';
import { readInt64, writeInt64 } from '../protocol/codec.js';

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORD_COUNT_OFFSET = 57;
export const RECORD_BATCH_OVERHEAD = 61;
/** Bytes before batchLength's coverage starts (baseOffset + batchLength). */
export const LOG_OVERHEAD = 12;

export const CURRENT_MAGIC = 2;

export const COMPRESSION_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_MASK = 0x10;
export const CONTROL_MASK = 0x20;
export const DELETE_HORIZON_MASK = 0x40;

export const CompressionType = {
  None: 0,
  Gzip: 1,
  Snappy: 2,
  Lz4: 3,
  Zstd: 4,
} as const;
export type CompressionType = (typeof CompressionType)[keyof typeof CompressionType];

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;

/** A view of one batch's header fields, read without decoding records. */
export interface BatchHeader {
  /** Byte position of the batch inside the buffer it was read from. */
  position: number;
  /** Total size including baseOffset and batchLength. */
  sizeBytes: number;
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export function lastOffsetOf(h: BatchHeader): number {
  return h.baseOffset + h.lastOffsetDelta;
}
export function compressionOf(attributes: number): CompressionType {
  return (attributes & COMPRESSION_MASK) as CompressionType;
}
export function isTransactional(attributes: number): boolean {
  return (attributes & TRANSACTIONAL_MASK) !== 0;
}
export function isControl(attributes: number): boolean {
  return (attributes & CONTROL_MASK) !== 0;
}
export function isLogAppendTime(attributes: number): boolean {
  return (attributes & TIMESTAMP_TYPE_MASK) !== 0;
}

/** Reads a batch header at `pos`. The caller guarantees at least 61 bytes are present. */
export function readBatchHeader(buf: Buffer, pos: number): BatchHeader {
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  return {
    position: pos,
    sizeBytes: batchLength + LOG_OVERHEAD,
    baseOffset: readInt64(buf, pos + BASE_OFFSET_OFFSET),
    batchLength,
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET),
    magic: buf.readInt8(pos + MAGIC_OFFSET),
    crc: buf.readUInt32BE(pos + CRC_OFFSET),
    attributes: buf.readInt16BE(pos + ATTRIBUTES_OFFSET),
    lastOffsetDelta: buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: readInt64(buf, pos + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: readInt64(buf, pos + MAX_TIMESTAMP_OFFSET),
    producerId: readInt64(buf, pos + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(pos + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(pos + BASE_SEQUENCE_OFFSET),
    recordCount: buf.readInt32BE(pos + RECORD_COUNT_OFFSET),
  };
}

/** CRC32C of the batch bytes covered by the CRC field (attributes to end). */
export function computeBatchCrc(buf: Buffer, pos: number, sizeBytes: number): number {
  return crc32c(buf.subarray(pos + ATTRIBUTES_OFFSET, pos + sizeBytes)) >>> 0;
}

export function isBatchCrcValid(buf: Buffer, h: BatchHeader): boolean {
  return computeBatchCrc(buf, h.position, h.sizeBytes) === h.crc;
}

/** Rewrites baseOffset in place (not covered by the CRC). */
export function setBaseOffset(buf: Buffer, pos: number, baseOffset: number): void {
  writeInt64(buf, baseOffset, pos + BASE_OFFSET_OFFSET);
}

/** Rewrites partitionLeaderEpoch in place (not covered by the CRC). */
export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * Sets LogAppendTime: the timestamp-type bit and maxTimestamp change, so the CRC is
 * recomputed (Kafka does the same when the topic uses LogAppendTime).
 */
export function setLogAppendTime(buf: Buffer, pos: number, sizeBytes: number, timestampMs: number): void {
  const attrs = buf.readInt16BE(pos + ATTRIBUTES_OFFSET) | TIMESTAMP_TYPE_MASK;
  buf.writeInt16BE(attrs, pos + ATTRIBUTES_OFFSET);
  writeInt64(buf, timestampMs, pos + MAX_TIMESTAMP_OFFSET);
  buf.writeUInt32BE(computeBatchCrc(buf, pos, sizeBytes), pos + CRC_OFFSET);
}

export type BatchProblem =
  | 'truncated'
  | 'invalid-length'
  | 'unsupported-magic'
  | 'invalid-record-count'
  | 'invalid-offset-delta';

/** Problems found when decoding a batch's records (see record-batch.ts). */
export type RecordProblem =
  | 'invalid-record'
  | 'unsupported-compression'
  | 'corrupt-compressed-data'
  | 'decompressed-too-large'
  | 'invalid-control-record';

export class InvalidBatchError extends Error {
  readonly problem: BatchProblem | 'crc' | RecordProblem;
  readonly position: number;
  constructor(problem: BatchProblem | 'crc' | RecordProblem, position: number, detail: string, cause?: unknown) {
    super(`invalid record batch at byte ${position}: ${detail}`, cause === undefined ? undefined : { cause });
    this.name = 'InvalidBatchError';
    this.problem = problem;
    this.position = position;
  }
}

/**
 * Checks the structure of the batch header at `pos` within `end`. Returns null when it is
 * well-formed (the CRC is checked separately) or the problem found.
 */
export function checkBatchHeader(buf: Buffer, pos: number, end: number): BatchProblem | null {
  if (end - pos < LOG_OVERHEAD) return 'truncated';
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) return 'invalid-length';
  if (end - pos < batchLength + LOG_OVERHEAD) return 'truncated';
  if (buf.readInt8(pos + MAGIC_OFFSET) !== CURRENT_MAGIC) return 'unsupported-magic';
  const recordCount = buf.readInt32BE(pos + RECORD_COUNT_OFFSET);
  if (recordCount < 0) return 'invalid-record-count';
  const lastOffsetDelta = buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
  if (lastOffsetDelta < 0) return 'invalid-offset-delta';
  return null;
}

/**
 * Walks concatenated batches without decoding records. A truncated batch at the end is
 * where iteration stops (fetch responses may cut the last batch); other problems throw.
 */
export function* walkBatches(buf: Buffer, start = 0, end = buf.length): Generator<BatchHeader> {
  let pos = start;
  while (pos < end) {
    const problem = checkBatchHeader(buf, pos, end);
    if (problem === 'truncated') return;
    if (problem !== null) throw new InvalidBatchError(problem, pos, problem);
    const h = readBatchHeader(buf, pos);
    yield h;
    pos += h.sizeBytes;
  }
}

/** Like walkBatches, but also verifies each batch's CRC. */
export function* walkValidBatches(buf: Buffer, start = 0, end = buf.length): Generator<BatchHeader> {
  for (const h of walkBatches(buf, start, end)) {
    if (!isBatchCrcValid(buf, h)) {
      throw new InvalidBatchError('crc', h.position, `CRC mismatch (stored ${h.crc})`);
    }
    yield h;
  }
}
