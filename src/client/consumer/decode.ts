// Turns a fetched partition's record bytes into messages: walks batches without copying,
// verifies CRCs, decompresses, drops control batches and (read_committed) aborted data.
// Keys, values and header values are zero-copy slices of the fetch response.
import { readInt64 } from '../../protocol/codec.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_LENGTH_OFFSET,
  COMPRESSION_MASK,
  CONTROL_MASK,
  type CompressionType,
  CRC_OFFSET,
  computeBatchCrc,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_BATCH_OVERHEAD,
  RECORD_COUNT_OFFSET,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_MASK,
} from '../../records/batch-header.js';
import { decompress } from '../compression.js';
import { ProtocolError } from '../errors.js';

export type MessageHeaders = readonly (readonly [string, Buffer | null])[];
const NO_HEADERS: MessageHeaders = Object.freeze([]) as MessageHeaders;

export interface Message {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: MessageHeaders;
}

export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
}

export interface DecodeOptions {
  /** Messages below this offset are skipped (a fetch returns whole batches). */
  fromOffset: number;
  checkCrcs: boolean;
  /** read_committed: drop records of these aborted transactions. */
  abortedTransactions: readonly AbortedTransaction[] | null;
}

export interface DecodeResult {
  messages: Message[];
  /** The offset to fetch next: past the last complete batch seen, even if it held nothing for us. */
  nextOffset: number;
}

/** Decodes complete batches in `buf`; a truncated tail batch (fetch size limit) is left for the next fetch. */
export function decodeRecordSet(buf: Buffer, opts: DecodeOptions): DecodeResult {
  const messages: Message[] = [];
  let nextOffset = opts.fromOffset;
  let pos = 0;
  const end = buf.length;
  // Producers whose current transaction is aborted, and aborted transactions not yet reached.
  let aborted: Set<number> | null = null;
  let pendingAborts: AbortedTransaction[] | null = null;
  if (opts.abortedTransactions && opts.abortedTransactions.length > 0) {
    aborted = new Set();
    pendingAborts = [...opts.abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset);
  }
  while (end - pos >= LOG_OVERHEAD) {
    const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    const size = batchLength + LOG_OVERHEAD;
    if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD)
      throw new ProtocolError(`invalid batch length ${batchLength}`);
    if (end - pos < size) break;
    const magic = buf.readInt8(pos + MAGIC_OFFSET);
    if (magic !== 2) throw new ProtocolError(`unsupported record batch magic ${magic} (only v2 is supported)`);
    const baseOffset = readInt64(buf, pos + BASE_OFFSET_OFFSET);
    const lastOffset = baseOffset + buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
    const batchStart = pos;
    pos += size;
    if (lastOffset < opts.fromOffset) continue;
    if (lastOffset + 1 > nextOffset) nextOffset = lastOffset + 1;
    if (opts.checkCrcs && computeBatchCrc(buf, batchStart, size) !== buf.readUInt32BE(batchStart + CRC_OFFSET)) {
      throw new ProtocolError(`CRC mismatch in record batch at offset ${baseOffset}`);
    }
    const attributes = buf.readInt16BE(batchStart + ATTRIBUTES_OFFSET);
    const producerId = readInt64(buf, batchStart + PRODUCER_ID_OFFSET);
    if (aborted !== null && pendingAborts !== null) {
      while (pendingAborts.length > 0 && (pendingAborts[0] as AbortedTransaction).firstOffset <= lastOffset) {
        aborted.add((pendingAborts.shift() as AbortedTransaction).producerId);
      }
    }
    if ((attributes & CONTROL_MASK) !== 0) {
      // A commit or abort marker ends the producer's transaction.
      aborted?.delete(producerId);
      continue;
    }
    if (aborted !== null && (attributes & TRANSACTIONAL_MASK) !== 0 && aborted.has(producerId)) continue;
    const recordCount = buf.readInt32BE(batchStart + RECORD_COUNT_OFFSET);
    const baseTimestamp = readInt64(buf, batchStart + BASE_TIMESTAMP_OFFSET);
    const logAppendTime =
      (attributes & TIMESTAMP_TYPE_MASK) !== 0 ? readInt64(buf, batchStart + MAX_TIMESTAMP_OFFSET) : -1;
    const compression = (attributes & COMPRESSION_MASK) as CompressionType;
    let data = buf;
    let rpos = batchStart + RECORD_BATCH_OVERHEAD;
    let rend = batchStart + size;
    if (compression !== 0) {
      data = decompress(compression, buf.subarray(rpos, rend));
      rpos = 0;
      rend = data.length;
    }
    decodeRecords(data, rpos, rend, recordCount, baseOffset, baseTimestamp, logAppendTime, opts.fromOffset, messages);
  }
  return { messages, nextOffset };
}

function decodeRecords(
  buf: Buffer,
  pos: number,
  end: number,
  count: number,
  baseOffset: number,
  baseTimestamp: number,
  logAppendTime: number,
  fromOffset: number,
  out: Message[],
): void {
  for (let i = 0; i < count; i++) {
    // Record: length, attributes, timestampDelta, offsetDelta, key, value, headers (all varints).
    let u = 0;
    let shift = 0;
    let b: number;
    do {
      if (pos >= end) throw new ProtocolError('truncated record');
      b = buf[pos++] as number;
      u |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    const len = (u >>> 1) ^ -(u & 1);
    const recEnd = pos + len;
    if (len < 0 || recEnd > end) throw new ProtocolError('record overruns its batch');
    pos++; // attributes
    // timestampDelta is a varlong; small values are the norm, so read as 32-bit when possible.
    let tsDelta: number;
    {
      let result = 0;
      let mul = 1;
      do {
        b = buf[pos++] as number;
        result += (b & 0x7f) * mul;
        mul *= 128;
      } while (b & 0x80 && pos < recEnd);
      tsDelta = result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    }
    u = 0;
    shift = 0;
    do {
      b = buf[pos++] as number;
      u |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80 && pos < recEnd);
    const offsetDelta = (u >>> 1) ^ -(u & 1);
    // key
    u = 0;
    shift = 0;
    do {
      b = buf[pos++] as number;
      u |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80 && pos < recEnd);
    const keyLen = (u >>> 1) ^ -(u & 1);
    let key: Buffer | null = null;
    if (keyLen >= 0) {
      key = buf.subarray(pos, pos + keyLen);
      pos += keyLen;
    }
    u = 0;
    shift = 0;
    do {
      b = buf[pos++] as number;
      u |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80 && pos < recEnd);
    const valueLen = (u >>> 1) ^ -(u & 1);
    let value: Buffer | null = null;
    if (valueLen >= 0) {
      value = buf.subarray(pos, pos + valueLen);
      pos += valueLen;
    }
    let headers = NO_HEADERS;
    if (pos < recEnd && buf[pos] !== 0) {
      const parsed = decodeHeaders(buf, pos, recEnd);
      headers = parsed;
    }
    if (pos > recEnd) throw new ProtocolError('record fields overrun the record');
    pos = recEnd;
    const offset = baseOffset + offsetDelta;
    if (offset < fromOffset) continue;
    out.push({
      offset,
      timestamp: logAppendTime >= 0 ? logAppendTime : baseTimestamp + tsDelta,
      key,
      value,
      headers,
    });
  }
}

function readVarint(buf: Buffer, state: { pos: number }, end: number): number {
  let u = 0;
  let shift = 0;
  let b: number;
  do {
    if (state.pos >= end) throw new ProtocolError('truncated record header');
    b = buf[state.pos++] as number;
    u |= (b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80);
  return (u >>> 1) ^ -(u & 1);
}

function decodeHeaders(buf: Buffer, pos: number, end: number): MessageHeaders {
  const st = { pos };
  const n = readVarint(buf, st, end);
  if (n < 0 || n > end - st.pos) throw new ProtocolError(`invalid header count ${n}`);
  const out: (readonly [string, Buffer | null])[] = [];
  for (let i = 0; i < n; i++) {
    const kl = readVarint(buf, st, end);
    if (kl < 0 || st.pos + kl > end) throw new ProtocolError('invalid header key');
    const k = buf.toString('utf8', st.pos, st.pos + kl);
    st.pos += kl;
    const vl = readVarint(buf, st, end);
    let v: Buffer | null = null;
    if (vl >= 0) {
      if (st.pos + vl > end) throw new ProtocolError('invalid header value');
      v = buf.subarray(st.pos, st.pos + vl);
      st.pos += vl;
    }
    out.push([k, v]);
  }
  return out;
}

/**
 * The offset after the last complete batch in `buf` (reading headers only), or `fromOffset`
 * when no complete batch is there.
 */
export function scanNextOffset(buf: Buffer, fromOffset: number): number {
  let next = fromOffset;
  let pos = 0;
  const end = buf.length;
  while (end - pos >= RECORD_BATCH_OVERHEAD) {
    const size = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    if (size < RECORD_BATCH_OVERHEAD || end - pos < size) break;
    const last = readInt64(buf, pos + BASE_OFFSET_OFFSET) + buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
    if (last + 1 > next) next = last + 1;
    pos += size;
  }
  return next;
}
