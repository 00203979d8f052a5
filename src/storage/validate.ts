// Validation of incoming record batches, without decoding record payloads. Everything is
// checked before anything is written, so a rejected append leaves the log untouched.
import {
  type BatchHeader,
  CURRENT_MAGIC,
  checkBatchHeader,
  compressionOf,
  isBatchCrcValid,
  isControl,
  RECORD_BATCH_OVERHEAD,
  readBatchHeader,
} from '../records/batch-header.js';
import { CorruptRecordError, InvalidRecordError, NonContiguousAppendError, RecordTooLargeError } from './errors.js';

export interface ValidatedRecords {
  batches: BatchHeader[];
  /** Bytes covered by whole batches (a follower's trailing partial batch is excluded). */
  validBytes: number;
  recordCount: number;
}

export interface ValidateOptions {
  maxMessageBytes: number;
  /** Leader appends come from producers: stricter rules, offsets are ours to assign. */
  leader: boolean;
  /** Control batches (transaction markers) are allowed from coordinators, not from clients. */
  allowControl: boolean;
}

export function validateRecords(buf: Buffer, opts: ValidateOptions): ValidatedRecords {
  const batches: BatchHeader[] = [];
  let pos = 0;
  let recordCount = 0;
  let prevLastOffset = -1;
  while (pos < buf.length) {
    const problem = checkBatchHeader(buf, pos, buf.length);
    if (problem === 'truncated') {
      // A fetch response may end with a partial batch; a produce request may not.
      if (!opts.leader) break;
      throw new CorruptRecordError(`record batch at byte ${pos} is cut short`);
    }
    if (problem === 'invalid-length') throw new CorruptRecordError(`record batch at byte ${pos} has an invalid length`);
    if (problem === 'unsupported-magic') {
      throw new InvalidRecordError(
        `record batch at byte ${pos} has magic ${buf.readInt8(pos + 16)}, only ${CURRENT_MAGIC} is supported`,
      );
    }
    if (problem !== null) throw new InvalidRecordError(`record batch at byte ${pos}: ${problem}`);
    const h = readBatchHeader(buf, pos);
    if (h.sizeBytes > opts.maxMessageBytes) {
      throw new RecordTooLargeError(
        `record batch of ${h.sizeBytes} bytes exceeds max.message.bytes ${opts.maxMessageBytes}`,
      );
    }
    if (!isBatchCrcValid(buf, h)) throw new CorruptRecordError(`record batch at byte ${pos} fails its CRC check`);
    if (isControl(h.attributes) && !opts.allowControl) {
      throw new InvalidRecordError('clients may not write control records');
    }
    if (opts.leader) {
      if (h.recordCount === 0) throw new InvalidRecordError(`record batch at byte ${pos} holds no records`);
      if (h.recordCount !== h.lastOffsetDelta + 1) {
        throw new InvalidRecordError(
          `record batch at byte ${pos} has ${h.recordCount} records but lastOffsetDelta ${h.lastOffsetDelta}`,
        );
      }
      if (compressionOf(h.attributes) === 0) checkRecordFraming(buf, h);
    } else {
      if (h.recordCount > h.lastOffsetDelta + 1) {
        throw new InvalidRecordError(`record batch has ${h.recordCount} records in ${h.lastOffsetDelta + 1} offsets`);
      }
      if (h.baseOffset <= prevLastOffset) {
        throw new NonContiguousAppendError(
          h.baseOffset,
          prevLastOffset + 1,
          `follower batch starts at ${h.baseOffset}, not after the previous batch's last offset ${prevLastOffset}`,
        );
      }
      prevLastOffset = h.baseOffset + h.lastOffsetDelta;
    }
    batches.push(h);
    recordCount += h.recordCount;
    pos += h.sizeBytes;
  }
  return { batches, validBytes: pos, recordCount };
}

/**
 * For an uncompressed batch: the records' length prefixes must tile the batch exactly and the
 * offset deltas must run 0..n-1. Cheap (a few varints per record) and catches garbage that a
 * buggy client wrapped in a valid CRC, which would otherwise break every consumer.
 */
function checkRecordFraming(buf: Buffer, h: BatchHeader): void {
  const end = h.position + h.sizeBytes;
  let p = h.position + RECORD_BATCH_OVERHEAD;
  for (let i = 0; i < h.recordCount; i++) {
    const len = readVarint(buf, p, end);
    p = varintEnd;
    const recordEnd = p + len;
    if (len < 0 || recordEnd > end) throw new CorruptRecordError(`record ${i} overruns its batch`);
    let q = p + 1; // attributes
    q = skipVarint(buf, q, recordEnd); // timestampDelta
    const offsetDelta = readVarint(buf, q, recordEnd);
    if (offsetDelta !== i) throw new InvalidRecordError(`record ${i} has offset delta ${offsetDelta}`);
    p = recordEnd;
  }
  if (p !== end) throw new CorruptRecordError(`record batch has ${end - p} bytes after its last record`);
}

let varintEnd = 0;

/** Zigzag varint (int32) at `p`; sets `varintEnd`. */
function readVarint(buf: Buffer, p: number, end: number): number {
  let raw = 0;
  let shift = 0;
  for (;;) {
    if (p >= end || shift > 28) throw new CorruptRecordError('malformed varint in a record');
    const b = buf[p++]!;
    raw |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  varintEnd = p;
  return (raw >>> 1) ^ -(raw & 1);
}

function skipVarint(buf: Buffer, p: number, end: number): number {
  for (let n = 0; n < 10; n++) {
    if (p >= end) break;
    if ((buf[p++]! & 0x80) === 0) return p;
  }
  throw new CorruptRecordError('malformed varint in a record');
}
