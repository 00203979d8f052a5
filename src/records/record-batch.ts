// RecordBatch v2 encoding and decoding, records included.
// Record layout (all varints zigzag-encoded):
//   length varint | attributes int8 | timestampDelta varlong | offsetDelta varint
//   keyLength varint | key | valueLength varint | value | headerCount varint
//   headers: keyLength varint | key (UTF-8) | valueLength varint | value
// The per-record loops work on raw bytes with local varint code: this is the produce and
// consume hot path of Eddy's client.
import { crc32c } from '@node-rs/crc32';
import { writeInt64 } from '../protocol/codec.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_LENGTH_OFFSET,
  type BatchHeader,
  COMPRESSION_MASK,
  CONTROL_MASK,
  CompressionType,
  CRC_OFFSET,
  CURRENT_MAGIC,
  checkBatchHeader,
  InvalidBatchError,
  isBatchCrcValid,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_BATCH_OVERHEAD,
  RECORD_COUNT_OFFSET,
  readBatchHeader,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_MASK,
  walkBatches,
} from './batch-header.js';
import {
  CompressionError,
  compress,
  compressAsync,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  decompress,
  decompressAsync,
  isKnownCompression,
} from './compression.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface RecordInput {
  key?: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  /** Milliseconds since the epoch; defaults to the batch's baseTimestamp. */
  timestamp?: number;
  /** Defaults to the record's index. Set only to rewrite batches with gaps (compaction); must increase. */
  offsetDelta?: number;
}

export interface RecordBatchInput {
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  compression?: CompressionType;
  timestampType?: 'create' | 'log-append';
  transactional?: boolean;
  control?: boolean;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Defaults to the first record's timestamp, else Date.now(). */
  baseTimestamp?: number;
  /** Defaults to the last record's offsetDelta (0 for an empty batch). Compaction keeps the original. */
  lastOffsetDelta?: number;
  /** Defaults to the largest record timestamp (baseTimestamp for an empty batch). */
  maxTimestamp?: number;
  records: RecordInput[];
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  attributes: number;
  offsetDelta: number;
  timestampDelta: number;
}

export interface DecodedBatch extends BatchHeader {
  records: DecodedRecord[];
  compression: CompressionType;
  isTransactional: boolean;
  isControl: boolean;
  timestampType: 'create' | 'log-append';
}

export interface DecodeOptions {
  /** Check the batch CRC32C (default true). */
  verifyCrc?: boolean;
  /** Bound on a compressed batch's decompressed records (default 128 MiB). */
  maxDecompressedBytes?: number;
}

/** Each record takes at least 7 bytes (length, attributes, two deltas, key, value, header count). */
const MIN_RECORD_BYTES = 7;

// ---------------------------------------------------------------------------------------
// encoding

function zigzag32(v: number): number {
  return ((v << 1) ^ (v >> 31)) >>> 0;
}

function uvarintSize(u: number): number {
  if (u < 0x80) return 1;
  if (u < 0x4000) return 2;
  if (u < 0x200000) return 3;
  if (u < 0x10000000) return 4;
  return 5;
}

function varintSize(v: number): number {
  return uvarintSize(zigzag32(v));
}

/** Zigzag of a value outside int32, in float arithmetic (exact for |v| < 2^52). */
function zigzag64(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

function varlongSize(v: number): number {
  if ((v | 0) === v) return varintSize(v);
  let n = zigzag64(v);
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeUVarint(buf: Buffer, pos: number, u: number): number {
  while (u >= 0x80) {
    buf[pos++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[pos++] = u;
  return pos;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  return writeUVarint(buf, pos, zigzag32(v));
}

function writeVarlong(buf: Buffer, pos: number, v: number): number {
  if ((v | 0) === v) return writeUVarint(buf, pos, zigzag32(v));
  let n = zigzag64(v);
  while (n >= 128) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

// Scratch space shared by encodes (which are synchronous between the two passes): record
// body sizes and header key byte lengths measured in the first pass, reused in the second.
let bodySizes: Int32Array = new Int32Array(1024);
let headerKeySizes: Int32Array = new Int32Array(1024);

function grow(a: Int32Array, n: number): Int32Array {
  if (a.length >= n) return a;
  let size = a.length * 2;
  while (size < n) size *= 2;
  const next = new Int32Array(size);
  next.set(a);
  return next;
}

interface Measured {
  recordsBytes: number;
  baseTimestamp: number;
  maxTimestamp: number;
  lastOffsetDelta: number;
}

function measureRecords(input: RecordBatchInput): Measured {
  const records = input.records;
  const n = records.length;
  if (n > 0x7fffffff) throw new RangeError(`too many records: ${n}`);
  bodySizes = grow(bodySizes, n);
  const baseTimestamp = input.baseTimestamp ?? records[0]?.timestamp ?? Date.now();
  if (!Number.isSafeInteger(baseTimestamp)) throw new RangeError(`baseTimestamp ${baseTimestamp} is not an integer`);
  let maxTimestamp = n === 0 ? baseTimestamp : Number.NEGATIVE_INFINITY;
  let total = 0;
  let headerIndex = 0;
  let lastOffsetDelta = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i] as RecordInput;
    const ts = r.timestamp ?? baseTimestamp;
    if (!Number.isSafeInteger(ts - baseTimestamp)) {
      throw new RangeError(`record ${i}: timestamp ${ts} is not an integer number of milliseconds`);
    }
    if (ts > maxTimestamp) maxTimestamp = ts;
    const offsetDelta = r.offsetDelta ?? i;
    if (
      (offsetDelta | 0) !== offsetDelta ||
      offsetDelta < lastOffsetDelta ||
      (i > 0 && offsetDelta === lastOffsetDelta)
    ) {
      throw new RangeError(`record ${i}: offsetDelta ${offsetDelta} must be an increasing int32`);
    }
    lastOffsetDelta = offsetDelta;
    let body = 1 + varlongSize(ts - baseTimestamp) + varintSize(offsetDelta);
    const key = r.key;
    body += key == null ? 1 : varintSize(key.length) + key.length;
    const value = r.value;
    body += value === null ? 1 : varintSize(value.length) + value.length;
    const headers = r.headers;
    const headerCount = headers === undefined ? 0 : headers.length;
    body += varintSize(headerCount);
    if (headerCount > 0) {
      headerKeySizes = grow(headerKeySizes, headerIndex + headerCount);
      for (let j = 0; j < headerCount; j++) {
        const h = (headers as RecordHeader[])[j] as RecordHeader;
        const keyBytes = Buffer.byteLength(h.key, 'utf8');
        headerKeySizes[headerIndex++] = keyBytes;
        body += varintSize(keyBytes) + keyBytes;
        body += h.value === null ? 1 : varintSize(h.value.length) + h.value.length;
      }
    }
    if (body > 0x7fffffff - 5) throw new RangeError(`record ${i} is too large`);
    bodySizes[i] = body;
    total += varintSize(body) + body;
  }
  return {
    recordsBytes: total,
    baseTimestamp,
    maxTimestamp: input.maxTimestamp ?? maxTimestamp,
    lastOffsetDelta: input.lastOffsetDelta ?? lastOffsetDelta,
  };
}

/** Writes the records measured by measureRecords into buf at pos; returns the end position. */
function writeRecords(buf: Buffer, pos: number, input: RecordBatchInput, baseTimestamp: number): number {
  const records = input.records;
  const n = records.length;
  let headerIndex = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i] as RecordInput;
    pos = writeVarint(buf, pos, bodySizes[i] as number);
    buf[pos++] = 0; // record attributes: unused
    pos = writeVarlong(buf, pos, (r.timestamp ?? baseTimestamp) - baseTimestamp);
    pos = writeVarint(buf, pos, r.offsetDelta ?? i);
    const key = r.key;
    if (key == null) {
      buf[pos++] = 1; // varint -1
    } else {
      pos = writeVarint(buf, pos, key.length);
      buf.set(key, pos);
      pos += key.length;
    }
    const value = r.value;
    if (value === null) {
      buf[pos++] = 1;
    } else {
      pos = writeVarint(buf, pos, value.length);
      buf.set(value, pos);
      pos += value.length;
    }
    const headers = r.headers;
    const headerCount = headers === undefined ? 0 : headers.length;
    pos = writeVarint(buf, pos, headerCount);
    for (let j = 0; j < headerCount; j++) {
      const h = (headers as RecordHeader[])[j] as RecordHeader;
      const keyBytes = headerKeySizes[headerIndex++] as number;
      pos = writeVarint(buf, pos, keyBytes);
      pos += buf.write(h.key, pos, keyBytes, 'utf8');
      if (h.value === null) {
        buf[pos++] = 1;
      } else {
        pos = writeVarint(buf, pos, h.value.length);
        buf.set(h.value, pos);
        pos += h.value.length;
      }
    }
  }
  return pos;
}

function attributesOf(input: RecordBatchInput, compression: CompressionType): number {
  let attrs = compression;
  if (input.timestampType === 'log-append') attrs |= TIMESTAMP_TYPE_MASK;
  if (input.transactional === true) attrs |= TRANSACTIONAL_MASK;
  if (input.control === true) attrs |= CONTROL_MASK;
  return attrs;
}

/** Fills in the 61-byte header of a batch occupying all of `buf`, CRC included. */
function writeHeader(buf: Buffer, input: RecordBatchInput, m: Measured, attributes: number): void {
  writeInt64(buf, input.baseOffset ?? 0, 0);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  buf.writeInt32BE(input.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH, PARTITION_LEADER_EPOCH_OFFSET);
  buf.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
  buf.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(m.lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET);
  writeInt64(buf, m.baseTimestamp, BASE_TIMESTAMP_OFFSET);
  writeInt64(buf, m.maxTimestamp, MAX_TIMESTAMP_OFFSET);
  writeInt64(buf, input.producerId ?? NO_PRODUCER_ID, PRODUCER_ID_OFFSET);
  buf.writeInt16BE(input.producerEpoch ?? NO_PRODUCER_EPOCH, PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(input.baseSequence ?? NO_SEQUENCE, BASE_SEQUENCE_OFFSET);
  buf.writeInt32BE(input.records.length, RECORD_COUNT_OFFSET);
  buf.writeUInt32BE(crc32c(buf.subarray(ATTRIBUTES_OFFSET)) >>> 0, CRC_OFFSET);
}

function compressionOfInput(input: RecordBatchInput): CompressionType {
  const c = input.compression ?? CompressionType.None;
  if (!isKnownCompression(c)) throw new RangeError(`unknown compression type ${c}`);
  return c;
}

function withHeader(input: RecordBatchInput, m: Measured, compression: CompressionType, payload: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + payload.length);
  payload.copy(buf, RECORD_BATCH_OVERHEAD);
  writeHeader(buf, input, m, attributesOf(input, compression));
  return buf;
}

/** Encodes one RecordBatch v2 (records, compression, CRC32C). */
export function encodeRecordBatch(input: RecordBatchInput): Buffer {
  const compression = compressionOfInput(input);
  const m = measureRecords(input);
  if (compression === CompressionType.None) {
    // Records go straight behind the header: no intermediate copy.
    const buf = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + m.recordsBytes);
    writeRecords(buf, RECORD_BATCH_OVERHEAD, input, m.baseTimestamp);
    writeHeader(buf, input, m, attributesOf(input, compression));
    return buf;
  }
  const raw = Buffer.allocUnsafe(m.recordsBytes);
  writeRecords(raw, 0, input, m.baseTimestamp);
  return withHeader(input, m, compression, compress(compression, raw));
}

/** Like encodeRecordBatch, compressing off the event loop where the codec allows it. */
export async function encodeRecordBatchAsync(input: RecordBatchInput): Promise<Buffer> {
  const compression = compressionOfInput(input);
  if (compression === CompressionType.None) return encodeRecordBatch(input);
  // Measure and write synchronously (the scratch arrays are shared), then compress.
  const m = measureRecords(input);
  const raw = Buffer.allocUnsafe(m.recordsBytes);
  writeRecords(raw, 0, input, m.baseTimestamp);
  return withHeader(input, m, compression, await compressAsync(compression, raw));
}

// ---------------------------------------------------------------------------------------
// decoding

/** Thrown by the record readers; decodeRecords turns it into an InvalidBatchError. */
class RecordFormatError extends Error {}

// Read position of the record readers (decoding is synchronous, so one cursor suffices).
let rpos = 0;

function readVarint(buf: Buffer, end: number): number {
  let p = rpos;
  if (p >= end) throw new RecordFormatError('truncated varint');
  let b = buf[p++] as number;
  if (b < 0x80) {
    rpos = p;
    return (b >>> 1) ^ -(b & 1);
  }
  let u = b & 0x7f;
  for (let shift = 7; ; shift += 7) {
    if (p >= end) throw new RecordFormatError('truncated varint');
    b = buf[p++] as number;
    if (shift === 28) {
      if (b > 0x0f) throw new RecordFormatError('varint too long');
      u |= b << 28;
      break;
    }
    u |= (b & 0x7f) << shift;
    if (b < 0x80) break;
  }
  rpos = p;
  return (u >>> 1) ^ -(u & 1);
}

function readVarlong(buf: Buffer, end: number): number {
  let p = rpos;
  // Up to four bytes fit in 28 bits: integer math.
  let u = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (p >= end) throw new RecordFormatError('truncated varlong');
    const b = buf[p++] as number;
    u |= (b & 0x7f) << shift;
    if (b < 0x80) {
      rpos = p;
      return (u >>> 1) ^ -(u & 1);
    }
  }
  // Longer: float math (exact within +-2^53).
  let result = u;
  let mul = 0x10000000;
  for (let i = 4; i < 10; i++) {
    if (p >= end) throw new RecordFormatError('truncated varlong');
    const b = buf[p++] as number;
    if (i === 9 && b > 0x01) throw new RecordFormatError('varlong too long');
    result += (b & 0x7f) * mul;
    if (b < 0x80) {
      rpos = p;
      return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    }
    mul *= 128;
  }
  throw new RecordFormatError('varlong too long');
}

/** A length field of a nullable byte array: -1 is null; anything else must fit before `end`. */
function readLength(buf: Buffer, end: number, what: string): number {
  const len = readVarint(buf, end);
  if (len < -1) throw new RecordFormatError(`invalid ${what} length ${len}`);
  if (len > end - rpos) throw new RecordFormatError(`${what} length ${len} exceeds the ${end - rpos} bytes left`);
  return len;
}

function decodeRecords(
  buf: Buffer,
  start: number,
  end: number,
  h: BatchHeader,
  logAppendTime: boolean,
): DecodedRecord[] {
  const count = h.recordCount;
  if (count * MIN_RECORD_BYTES > end - start) {
    throw new InvalidBatchError(
      'invalid-record-count',
      h.position,
      `record count ${count} exceeds what ${end - start} bytes of records can hold`,
    );
  }
  const records: DecodedRecord[] = new Array(count);
  const baseOffset = h.baseOffset;
  const baseTimestamp = h.baseTimestamp;
  const maxTimestamp = h.maxTimestamp;
  rpos = start;
  let i = 0;
  try {
    for (; i < count; i++) {
      const size = readVarint(buf, end);
      if (size < 0 || size > end - rpos) throw new RecordFormatError(`invalid record size ${size}`);
      const recordEnd = rpos + size;
      if (rpos >= recordEnd) throw new RecordFormatError('truncated record');
      const attributes = ((buf[rpos++] as number) << 24) >> 24;
      const timestampDelta = readVarlong(buf, recordEnd);
      const offsetDelta = readVarint(buf, recordEnd);
      const keyLength = readLength(buf, recordEnd, 'key');
      let key: Buffer | null = null;
      if (keyLength >= 0) {
        key = buf.subarray(rpos, rpos + keyLength);
        rpos += keyLength;
      }
      const valueLength = readLength(buf, recordEnd, 'value');
      let value: Buffer | null = null;
      if (valueLength >= 0) {
        value = buf.subarray(rpos, rpos + valueLength);
        rpos += valueLength;
      }
      const headerCount = readVarint(buf, recordEnd);
      if (headerCount < 0) throw new RecordFormatError(`invalid header count ${headerCount}`);
      // Each header takes at least two bytes (key and value lengths).
      if (headerCount * 2 > recordEnd - rpos)
        throw new RecordFormatError(`header count ${headerCount} exceeds the record`);
      const headers: RecordHeader[] = [];
      for (let j = 0; j < headerCount; j++) {
        const headerKeyLength = readLength(buf, recordEnd, 'header key');
        if (headerKeyLength < 0) throw new RecordFormatError('null header key');
        const headerKey = buf.toString('utf8', rpos, rpos + headerKeyLength);
        rpos += headerKeyLength;
        const headerValueLength = readLength(buf, recordEnd, 'header value');
        let headerValue: Buffer | null = null;
        if (headerValueLength >= 0) {
          headerValue = buf.subarray(rpos, rpos + headerValueLength);
          rpos += headerValueLength;
        }
        headers.push({ key: headerKey, value: headerValue });
      }
      if (rpos !== recordEnd) throw new RecordFormatError(`record declares ${size} bytes but its fields end earlier`);
      records[i] = {
        offset: baseOffset + offsetDelta,
        timestamp: logAppendTime ? maxTimestamp : baseTimestamp + timestampDelta,
        key,
        value,
        headers,
        attributes,
        offsetDelta,
        timestampDelta,
      };
    }
  } catch (err) {
    if (err instanceof RecordFormatError) {
      throw new InvalidBatchError('invalid-record', h.position, `record ${i}: ${err.message}`);
    }
    throw err;
  }
  if (rpos !== end) {
    throw new InvalidBatchError('invalid-record', h.position, `${end - rpos} bytes left after ${count} records`);
  }
  return records;
}

interface CheckedBatch {
  header: BatchHeader;
  compression: CompressionType;
  recordsStart: number;
  recordsEnd: number;
  maxDecompressedBytes: number;
}

function checkBatch(buf: Buffer, pos: number, opts: DecodeOptions): CheckedBatch {
  const problem = checkBatchHeader(buf, pos, buf.length);
  if (problem !== null) throw new InvalidBatchError(problem, pos, problem);
  const header = readBatchHeader(buf, pos);
  if (opts.verifyCrc !== false && !isBatchCrcValid(buf, header)) {
    throw new InvalidBatchError('crc', pos, `CRC mismatch (stored ${header.crc})`);
  }
  const codec = header.attributes & COMPRESSION_MASK;
  if (!isKnownCompression(codec)) {
    throw new InvalidBatchError('unsupported-compression', pos, `unknown compression codec id ${codec}`);
  }
  return {
    header,
    compression: codec,
    recordsStart: pos + RECORD_BATCH_OVERHEAD,
    recordsEnd: pos + header.sizeBytes,
    maxDecompressedBytes: opts.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES,
  };
}

function compressionFailure(err: unknown, pos: number): unknown {
  if (!(err instanceof CompressionError)) return err;
  const problem =
    err.problem === 'too-large'
      ? 'decompressed-too-large'
      : err.problem === 'corrupt'
        ? 'corrupt-compressed-data'
        : 'unsupported-compression';
  return new InvalidBatchError(problem, pos, err.message, err);
}

function finishBatch(c: CheckedBatch, records: DecodedRecord[]): DecodedBatch {
  const h = c.header;
  const attrs = h.attributes;
  return {
    position: h.position,
    sizeBytes: h.sizeBytes,
    baseOffset: h.baseOffset,
    batchLength: h.batchLength,
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    magic: h.magic,
    crc: h.crc,
    attributes: attrs,
    lastOffsetDelta: h.lastOffsetDelta,
    baseTimestamp: h.baseTimestamp,
    maxTimestamp: h.maxTimestamp,
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    recordCount: h.recordCount,
    records,
    compression: c.compression,
    isTransactional: (attrs & TRANSACTIONAL_MASK) !== 0,
    isControl: (attrs & CONTROL_MASK) !== 0,
    timestampType: (attrs & TIMESTAMP_TYPE_MASK) !== 0 ? 'log-append' : 'create',
  };
}

function decodeChecked(c: CheckedBatch, data: Buffer, start: number, end: number): DecodedBatch {
  const logAppendTime = (c.header.attributes & TIMESTAMP_TYPE_MASK) !== 0;
  return finishBatch(c, decodeRecords(data, start, end, c.header, logAppendTime));
}

/**
 * Decodes the batch at `pos`, records included. Keys, values and header values are views
 * into `buf` (or into the decompressed records), not copies. Throws InvalidBatchError.
 */
export function decodeRecordBatch(buf: Buffer, pos = 0, opts: DecodeOptions = {}): DecodedBatch {
  const c = checkBatch(buf, pos, opts);
  if (c.compression === CompressionType.None || c.recordsStart === c.recordsEnd) {
    return decodeChecked(c, buf, c.recordsStart, c.recordsEnd);
  }
  let raw: Buffer;
  try {
    raw = decompress(c.compression, buf.subarray(c.recordsStart, c.recordsEnd), c.maxDecompressedBytes);
  } catch (err) {
    throw compressionFailure(err, pos);
  }
  return decodeChecked(c, raw, 0, raw.length);
}

/** Like decodeRecordBatch, decompressing off the event loop where the codec allows it. */
export async function decodeRecordBatchAsync(buf: Buffer, pos = 0, opts: DecodeOptions = {}): Promise<DecodedBatch> {
  const c = checkBatch(buf, pos, opts);
  if (c.compression === CompressionType.None || c.recordsStart === c.recordsEnd) {
    return decodeChecked(c, buf, c.recordsStart, c.recordsEnd);
  }
  let raw: Buffer;
  try {
    raw = await decompressAsync(c.compression, buf.subarray(c.recordsStart, c.recordsEnd), c.maxDecompressedBytes);
  } catch (err) {
    throw compressionFailure(err, pos);
  }
  return decodeChecked(c, raw, 0, raw.length);
}

/** Decodes concatenated batches; a truncated batch at the end (as fetch responses have) is skipped. */
export function decodeRecordBatches(buf: Buffer, opts: DecodeOptions = {}): DecodedBatch[] {
  const out: DecodedBatch[] = [];
  for (const h of walkBatches(buf)) out.push(decodeRecordBatch(buf, h.position, opts));
  return out;
}

/** Like decodeRecordBatches, decompressing off the event loop where the codec allows it. */
export async function decodeRecordBatchesAsync(buf: Buffer, opts: DecodeOptions = {}): Promise<DecodedBatch[]> {
  const out: DecodedBatch[] = [];
  for (const h of walkBatches(buf)) out.push(await decodeRecordBatchAsync(buf, h.position, opts));
  return out;
}
