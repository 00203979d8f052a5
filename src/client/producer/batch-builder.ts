// Builds one RecordBatch v2 in place: records are encoded straight into the batch buffer as
// they are appended (no per-record objects), and the header and CRC are written at close.
import { writeInt64 } from '../../protocol/codec.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_LENGTH_OFFSET,
  COMPRESSION_MASK,
  type CompressionType,
  CRC_OFFSET,
  CURRENT_MAGIC,
  computeBatchCrc,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_BATCH_OVERHEAD,
  RECORD_COUNT_OFFSET,
  TRANSACTIONAL_MASK,
} from '../../records/batch-header.js';

export type HeaderValue = Buffer | string | null;
/** Record headers: pairs in order (duplicates allowed, as in Kafka). */
export type RecordHeaders = readonly (readonly [string, HeaderValue])[];

function uvarintSize(u: number): number {
  if (u < 0x80) return 1;
  if (u < 0x4000) return 2;
  if (u < 0x200000) return 3;
  if (u < 0x10000000) return 4;
  return 5;
}

function varintSize(v: number): number {
  return uvarintSize(((v << 1) ^ (v >> 31)) >>> 0);
}

function varlongSize(v: number): number {
  let n = v >= 0 ? v * 2 : -v * 2 - 1;
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function byteLengthOf(v: Buffer | string | null): number {
  if (v === null) return -1;
  return typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
}

export interface BatchFinishOptions {
  compression: CompressionType;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  transactional: boolean;
  /** Compresses the records section; called only when compression is not None. */
  compress?: (type: CompressionType, data: Buffer) => Buffer;
}

export class BatchBuilder {
  private buf: Buffer;
  private pos = RECORD_BATCH_OVERHEAD;
  recordCount = 0;
  baseTimestamp = 0;
  maxTimestamp = -1;
  /** Appends stop once the batch would pass this size (a single record may exceed it). */
  readonly limitBytes: number;

  constructor(capacityBytes: number, limitBytes: number) {
    this.buf = Buffer.allocUnsafe(Math.max(capacityBytes, RECORD_BATCH_OVERHEAD + 16));
    this.limitBytes = limitBytes;
  }

  get sizeBytes(): number {
    return this.pos;
  }

  /** Bytes allocated for this batch (what buffer.memory accounting charges). */
  get capacityBytes(): number {
    return this.buf.length;
  }

  /**
   * Encodes a record at the end of the batch. Returns its offset delta, or -1 when it would
   * push a non-empty batch past limitBytes.
   */
  append(
    timestamp: number,
    key: Buffer | string | null,
    value: Buffer | string | null,
    headers?: RecordHeaders,
  ): number {
    const offsetDelta = this.recordCount;
    if (offsetDelta === 0) this.baseTimestamp = timestamp;
    const timestampDelta = timestamp - this.baseTimestamp;
    const keyLen = byteLengthOf(key);
    const valueLen = byteLengthOf(value);
    let body =
      1 +
      varlongSize(timestampDelta) +
      uvarintSize(offsetDelta << 1) +
      varintSize(keyLen) +
      Math.max(keyLen, 0) +
      varintSize(valueLen) +
      Math.max(valueLen, 0);
    if (headers === undefined || headers.length === 0) body += 1;
    else {
      body += varintSize(headers.length);
      for (const [hk, hv] of headers) {
        const kl = Buffer.byteLength(hk, 'utf8');
        const vl = byteLengthOf(hv);
        body += varintSize(kl) + kl + varintSize(vl) + Math.max(vl, 0);
      }
    }
    const total = varintSize(body) + body;
    if (offsetDelta > 0 && this.pos + total > this.limitBytes) return -1;
    this.ensure(total);
    const buf = this.buf;
    let p = this.pos;
    p = writeVarint(buf, p, body);
    buf[p++] = 0; // record attributes: unused
    p = writeVarlong(buf, p, timestampDelta);
    p = writeVarint(buf, p, offsetDelta);
    p = writeField(buf, p, key, keyLen);
    p = writeField(buf, p, value, valueLen);
    if (headers === undefined || headers.length === 0) buf[p++] = 0;
    else {
      p = writeVarint(buf, p, headers.length);
      for (const [hk, hv] of headers) {
        p = writeField(buf, p, hk, Buffer.byteLength(hk, 'utf8'));
        p = writeField(buf, p, hv, byteLengthOf(hv));
      }
    }
    this.pos = p;
    this.recordCount = offsetDelta + 1;
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    return offsetDelta;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Writes the header (and compresses) and returns the finished batch bytes. */
  finish(opts: BatchFinishOptions): Buffer {
    let out: Buffer;
    if (opts.compression !== 0 && opts.compress) {
      const compressed = opts.compress(opts.compression, this.buf.subarray(RECORD_BATCH_OVERHEAD, this.pos));
      out = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + compressed.length);
      compressed.copy(out, RECORD_BATCH_OVERHEAD);
    } else {
      out = this.buf.subarray(0, this.pos);
    }
    let attributes = opts.compression & COMPRESSION_MASK;
    if (opts.transactional) attributes |= TRANSACTIONAL_MASK;
    writeInt64(out, 0, BASE_OFFSET_OFFSET);
    out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
    out.writeInt32BE(-1, PARTITION_LEADER_EPOCH_OFFSET);
    out.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
    out.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
    out.writeInt32BE(Math.max(0, this.recordCount - 1), LAST_OFFSET_DELTA_OFFSET);
    writeInt64(out, this.baseTimestamp, BASE_TIMESTAMP_OFFSET);
    writeInt64(out, this.maxTimestamp, MAX_TIMESTAMP_OFFSET);
    writeInt64(out, opts.producerId, PRODUCER_ID_OFFSET);
    out.writeInt16BE(opts.producerEpoch, PRODUCER_EPOCH_OFFSET);
    out.writeInt32BE(opts.baseSequence, BASE_SEQUENCE_OFFSET);
    out.writeInt32BE(this.recordCount, RECORD_COUNT_OFFSET);
    out.writeUInt32BE(computeBatchCrc(out, 0, out.length), CRC_OFFSET);
    return out;
  }
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  let n = ((v << 1) ^ (v >> 31)) >>> 0;
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

function writeVarlong(buf: Buffer, pos: number, v: number): number {
  if (v >= 0 && v < 0x40000000) return writeVarint(buf, pos, v);
  let n = v >= 0 ? v * 2 : -v * 2 - 1;
  while (n >= 128) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** A varint length then the bytes; -1 (null) writes only the length. */
function writeField(buf: Buffer, pos: number, v: Buffer | string | null, len: number): number {
  pos = writeVarint(buf, pos, len);
  if (len <= 0 || v === null) return pos;
  if (typeof v === 'string') return pos + buf.write(v, pos, len, 'utf8');
  return pos + v.copy(buf, pos);
}
