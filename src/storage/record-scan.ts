// Reads record timestamps inside one batch, for ListOffsets by timestamp and MAX_TIMESTAMP.
// Only these lookups decode records; appends and fetches never do.
import { Reader } from '../protocol/codec.js';
import {
  type BatchHeader,
  type CompressionType,
  compressionOf,
  isLogAppendTime,
  RECORD_BATCH_OVERHEAD,
} from '../records/batch-header.js';

/**
 * Decompresses a batch's records section (everything after the 61-byte header). The records
 * module provides codecs; storage takes one as an option so it does not depend on them.
 */
export type RecordsDecompressor = (compression: CompressionType, data: Buffer) => Buffer;

export interface RecordTimestamp {
  offset: number;
  timestamp: number;
}

/**
 * The (offset, timestamp) of every record in the batch, or null when the batch is compressed
 * and no decompressor was given. `batch` holds exactly the batch bytes.
 */
export function recordTimestamps(
  batch: Buffer,
  h: BatchHeader,
  decompress: RecordsDecompressor | undefined,
): RecordTimestamp[] | null {
  const out: RecordTimestamp[] = [];
  if (isLogAppendTime(h.attributes)) {
    // With LogAppendTime every record's timestamp is the batch's maxTimestamp.
    const r = recordsReader(batch, h, decompress);
    if (r === null) {
      for (let d = 0; d <= h.lastOffsetDelta && out.length < h.recordCount; d++) {
        out.push({ offset: h.baseOffset + d, timestamp: h.maxTimestamp });
      }
      return out;
    }
    for (const rec of walkRecords(r, h)) out.push({ offset: rec.offset, timestamp: h.maxTimestamp });
    return out;
  }
  const r = recordsReader(batch, h, decompress);
  if (r === null) return null;
  for (const rec of walkRecords(r, h)) out.push(rec);
  return out;
}

function recordsReader(batch: Buffer, h: BatchHeader, decompress: RecordsDecompressor | undefined): Reader | null {
  const body = batch.subarray(RECORD_BATCH_OVERHEAD, h.sizeBytes);
  const compression = compressionOf(h.attributes);
  if (compression === 0) return new Reader(body);
  if (!decompress) return null;
  return new Reader(decompress(compression, body));
}

function* walkRecords(r: Reader, h: BatchHeader): Generator<RecordTimestamp> {
  for (let i = 0; i < h.recordCount && r.remaining > 0; i++) {
    const len = r.varint();
    const end = r.pos + len;
    r.int8(); // attributes
    const timestampDelta = r.varlong();
    const offsetDelta = r.varint();
    yield { offset: h.baseOffset + offsetDelta, timestamp: h.baseTimestamp + timestampDelta };
    r.pos = end;
  }
}
