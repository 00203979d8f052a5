// Reads record timestamps inside one batch, for ListOffsets by timestamp and MAX_TIMESTAMP.
// Only these lookups decode records (decompressing when needed); appends and fetches never do.
import { Reader } from '../protocol/codec.js';
import { type BatchHeader, compressionOf, isLogAppendTime, RECORD_BATCH_OVERHEAD } from '../records/batch-header.js';
import { decompress } from '../records/compression.js';

export interface RecordTimestamp {
  offset: number;
  timestamp: number;
}

/**
 * The (offset, timestamp) of every record in the batch; `batch` holds exactly the batch bytes
 * and `h` its header (position 0). Null when the records cannot be read (a compressed payload
 * that does not decompress or records that do not parse): the caller then answers per batch.
 */
export function recordTimestamps(batch: Buffer, h: BatchHeader): RecordTimestamp[] | null {
  let body = batch.subarray(RECORD_BATCH_OVERHEAD, h.sizeBytes);
  const out: RecordTimestamp[] = [];
  try {
    const compression = compressionOf(h.attributes);
    if (compression !== 0) body = decompress(compression, body);
    const r = new Reader(body);
    for (let i = 0; i < h.recordCount && r.remaining > 0; i++) {
      const len = r.varint();
      const end = r.pos + len;
      r.int8(); // attributes
      const timestampDelta = r.varlong();
      const offsetDelta = r.varint();
      // With LogAppendTime every record's timestamp is the batch's maxTimestamp.
      const timestamp = isLogAppendTime(h.attributes) ? h.maxTimestamp : h.baseTimestamp + timestampDelta;
      out.push({ offset: h.baseOffset + offsetDelta, timestamp });
      r.pos = end;
    }
  } catch {
    return null;
  }
  return out;
}
