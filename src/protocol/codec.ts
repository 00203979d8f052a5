// Kafka wire primitives: a bounds-checked Reader and a growable, chunked Writer.
// Sans-io: nothing here touches sockets or files.

/** Thrown for any malformed input. Decoders never allocate before the bytes exist. */
export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

/** A tagged field the codec does not know; kept so re-encoding reproduces it. */
export interface UnknownTaggedField {
  tag: number;
  data: Buffer;
}

const TWO_POW_32 = 4294967296;
/**
 * Kafka's generated readers and writers reject strings longer than 0x7fff UTF-8 bytes in
 * every encoding, compact or not (the non-compact length is an int16).
 */
export const MAX_STRING_BYTES = 0x7fff;
// 2^63: what Long.MAX_VALUE becomes as a JS number.
const INT64_MAX_AS_NUMBER = 2 ** 63;

export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export class Reader {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): number {
    const p = this.pos;
    if (n > this.end - p) {
      throw new DecodeError(`truncated input: need ${n} bytes at offset ${p}, have ${this.end - p}`);
    }
    this.pos = p + n;
    return p;
  }

  bool(): boolean {
    return this.buf[this.need(1)] !== 0;
  }
  int8(): number {
    return this.buf.readInt8(this.need(1));
  }
  int16(): number {
    return this.buf.readInt16BE(this.need(2));
  }
  uint16(): number {
    return this.buf.readUInt16BE(this.need(2));
  }
  int32(): number {
    return this.buf.readInt32BE(this.need(4));
  }
  uint32(): number {
    return this.buf.readUInt32BE(this.need(4));
  }
  /** int64 as a JS number: exact within +-2^53, and Long.MIN/MAX round-trip through writeInt64. */
  int64(): number {
    const p = this.need(8);
    return this.buf.readInt32BE(p) * TWO_POW_32 + this.buf.readUInt32BE(p + 4);
  }
  float64(): number {
    return this.buf.readDoubleBE(this.need(8));
  }
  uuid(): string {
    const p = this.need(16);
    return this.buf.toString('base64url', p, p + 16);
  }

  /** Unsigned varint up to 32 bits (5 bytes); longer encodings are rejected. */
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw new DecodeError('truncated varint');
      const b = this.buf[this.pos++] as number;
      if (i === 4 && b > 0x0f) throw new DecodeError('varint too long');
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
    throw new DecodeError('varint too long');
  }

  /** Zigzag-encoded signed 32-bit varint (record fields). */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /**
   * Zigzag-encoded signed 64-bit varint, as a number (exact within +-2^53; larger magnitudes
   * round to the nearest double, Long.MIN/MAX_VALUE to -2^63 / 2^63, never changing sign).
   */
  varlong(): number {
    const start = this.pos;
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw new DecodeError('truncated varlong');
      const b = this.buf[this.pos++] as number;
      n += (b & 0x7f) * mul;
      // Up to 7 bytes (49 bits) the float arithmetic is exact.
      if ((b & 0x80) === 0) return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
      mul *= 128;
    }
    this.pos = start;
    let big = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new DecodeError('truncated varlong');
      const b = this.buf[this.pos++] as number;
      if (i === 9 && b > 0x01) throw new DecodeError('varlong too long');
      big |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) return Number((big >> 1n) ^ -(big & 1n));
    }
    throw new DecodeError('varlong too long');
  }

  /** Length prefix of a string/bytes field: -1 means null. */
  private lengthPrefix(compact: boolean, wide: boolean): number {
    if (compact) return this.uvarint() - 1;
    return wide ? this.int32() : this.int16();
  }

  /**
   * Invalid UTF-8 is accepted and decoded with U+FFFD replacement characters, as Java's
   * `new String(bytes, UTF_8)` does in Kafka; such a string does not re-encode to the same bytes.
   */
  nullableString(compact: boolean): string | null {
    const len = this.lengthPrefix(compact, false);
    if (len < 0) {
      if (len === -1) return null;
      throw new DecodeError(`invalid string length ${len}`);
    }
    if (len > MAX_STRING_BYTES) throw new DecodeError(`string length ${len} exceeds ${MAX_STRING_BYTES}`);
    const p = this.need(len);
    return this.buf.toString('utf8', p, p + len);
  }

  string(compact: boolean): string {
    const s = this.nullableString(compact);
    if (s === null) throw new DecodeError('null value for non-nullable string');
    return s;
  }

  nullableBytes(compact: boolean): Buffer | null {
    const len = this.lengthPrefix(compact, true);
    if (len < 0) {
      if (len === -1) return null;
      throw new DecodeError(`invalid bytes length ${len}`);
    }
    const p = this.need(len);
    return this.buf.subarray(p, p + len);
  }

  bytes(compact: boolean): Buffer {
    const b = this.nullableBytes(compact);
    if (b === null) throw new DecodeError('null value for non-nullable bytes');
    return b;
  }

  /**
   * Array element count; -1 means null. A count larger than the remaining bytes is
   * rejected before any allocation (every element takes at least one byte).
   */
  arrayLength(compact: boolean): number {
    const n = compact ? this.uvarint() - 1 : this.int32();
    if (n < -1) throw new DecodeError(`invalid array length ${n}`);
    if (n > this.end - this.pos) {
      throw new DecodeError(`array length ${n} exceeds remaining ${this.end - this.pos} bytes`);
    }
    return n;
  }

  /** A sub-reader over the next `n` bytes, advancing past them. */
  sub(n: number): Reader {
    const p = this.need(n);
    return new Reader(this.buf, p, p + n);
  }

  skip(n: number): void {
    this.need(n);
  }

  /** Raw slice of the next `n` bytes (zero-copy). */
  slice(n: number): Buffer {
    const p = this.need(n);
    return this.buf.subarray(p, p + n);
  }
}

const ZERO_COPY_MIN_BYTES = 4096;

/**
 * Growable writer. Scalars go to an internal buffer; large byte fields (records) are
 * kept as separate chunks so a fetch response can be written with one gathered write
 * without copying the log bytes.
 */
export class Writer {
  private buf: Buffer;
  pos = 0;
  private chunks: Buffer[] = [];
  private chunkStart = 0;
  private chunkedBytes = 0;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Total bytes written so far. */
  get length(): number {
    return this.chunkedBytes + (this.pos - this.chunkStart);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, this.chunkStart, this.pos);
    this.pos -= this.chunkStart;
    this.chunkStart = 0;
    this.buf = next;
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }
  int8(v: number): void {
    this.ensure(1);
    this.pos = this.buf.writeInt8(v, this.pos);
  }
  int16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
  }
  uint16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(v, this.pos);
  }
  int32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
  }
  uint32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
  }
  int64(v: number): void {
    this.ensure(8);
    writeInt64(this.buf, v, this.pos);
    this.pos += 8;
  }
  float64(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
  }
  uuid(v: string): void {
    const b = Buffer.from(v, 'base64url');
    if (b.length !== 16) throw new TypeError(`invalid uuid ${JSON.stringify(v)}`);
    this.ensure(16);
    this.pos += b.copy(this.buf, this.pos);
  }

  uvarint(v: number): void {
    this.ensure(5);
    let n = v >>> 0;
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.pos++] = n;
  }

  varint(v: number): void {
    this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  varlong(v: number): void {
    this.ensure(10);
    if (v > -(2 ** 52) && v < 2 ** 52) {
      // Zigzag in float arithmetic: exact below 2^52 in magnitude.
      let n = v >= 0 ? v * 2 : -v * 2 - 1;
      while (n >= 128) {
        this.buf[this.pos++] = (n % 128) | 0x80;
        n = Math.floor(n / 128);
      }
      this.buf[this.pos++] = n;
      return;
    }
    // Rare: large magnitudes go through BigInt, clamped to the int64 range like writeInt64.
    let big = v >= INT64_MAX_AS_NUMBER ? (1n << 63n) - 1n : v <= -INT64_MAX_AS_NUMBER ? -(1n << 63n) : BigInt(v);
    big = ((big << 1n) ^ (big >> 63n)) & 0xffffffffffffffffn;
    while (big >= 128n) {
      this.buf[this.pos++] = Number(big & 0x7fn) | 0x80;
      big >>= 7n;
    }
    this.buf[this.pos++] = Number(big);
  }

  nullableString(v: string | null, compact: boolean): void {
    if (v === null) {
      if (compact) this.uvarint(0);
      else this.int16(-1);
      return;
    }
    const len = Buffer.byteLength(v, 'utf8');
    if (len > MAX_STRING_BYTES) throw new RangeError(`string of ${len} bytes is too long`);
    if (compact) this.uvarint(len + 1);
    else this.int16(len);
    this.ensure(len);
    this.pos += this.buf.write(v, this.pos, len, 'utf8');
  }

  string(v: string, compact: boolean): void {
    this.nullableString(v, compact);
  }

  nullableBytes(v: Buffer | null, compact: boolean): void {
    if (v === null) {
      if (compact) this.uvarint(0);
      else this.int32(-1);
      return;
    }
    if (compact) this.uvarint(v.length + 1);
    else this.int32(v.length);
    this.raw(v);
  }

  bytes(v: Buffer, compact: boolean): void {
    this.nullableBytes(v, compact);
  }

  arrayLength(n: number, compact: boolean): void {
    if (compact) this.uvarint(n + 1);
    else this.int32(n);
  }

  /** Appends bytes; large ones are referenced, not copied. */
  raw(b: Buffer): void {
    if (b.length >= ZERO_COPY_MIN_BYTES) {
      if (this.pos > this.chunkStart) {
        this.chunks.push(this.buf.subarray(this.chunkStart, this.pos));
        this.chunkedBytes += this.pos - this.chunkStart;
      }
      this.chunks.push(b);
      this.chunkedBytes += b.length;
      this.chunkStart = this.pos;
      return;
    }
    this.ensure(b.length);
    this.pos += b.copy(this.buf, this.pos);
  }

  /** The bytes written, as a list of chunks for a gathered write. */
  finishChunks(): Buffer[] {
    const out = this.chunks.slice();
    if (this.pos > this.chunkStart) out.push(this.buf.subarray(this.chunkStart, this.pos));
    return out;
  }

  /** The bytes written, as one buffer (copies only when chunked). */
  finish(): Buffer {
    if (this.chunks.length === 0) return this.buf.subarray(0, this.pos);
    return Buffer.concat(this.finishChunks(), this.length);
  }
}

/** Writes a JS number as a big-endian int64; values beyond the int64 range clamp. */
export function writeInt64(buf: Buffer, v: number, offset: number): void {
  if (v >= INT64_MAX_AS_NUMBER) {
    buf.writeInt32BE(0x7fffffff, offset);
    buf.writeUInt32BE(0xffffffff, offset + 4);
    return;
  }
  if (v <= -INT64_MAX_AS_NUMBER) {
    buf.writeInt32BE(-0x80000000, offset);
    buf.writeUInt32BE(0, offset + 4);
    return;
  }
  const hi = Math.floor(v / TWO_POW_32);
  buf.writeInt32BE(hi, offset);
  buf.writeUInt32BE(v - hi * TWO_POW_32, offset + 4);
}

/** Reads a big-endian int64 as a JS number (exact within +-2^53). */
export function readInt64(buf: Buffer, offset: number): number {
  return buf.readInt32BE(offset) * TWO_POW_32 + buf.readUInt32BE(offset + 4);
}

/**
 * Decodes the tagged-field section; known tags are handed to `onTag` (null: none known),
 * unknown ones kept. Stricter than Kafka's reader on purpose: tags must be strictly
 * ascending (the protocol requires writers to sort them, so a repeat or a step back means a
 * corrupt or hostile message), and a known field must fill exactly the size it declares.
 */
export function readTaggedFields(
  r: Reader,
  onTag: ((tag: number, sub: Reader) => boolean) | null,
): UnknownTaggedField[] | undefined {
  const count = r.uvarint();
  // Each field takes at least two bytes (tag and size), so this also bounds the loop.
  if (count > r.remaining) throw new DecodeError(`tagged field count ${count} exceeds input`);
  let unknown: UnknownTaggedField[] | undefined;
  let lastTag = -1;
  for (let i = 0; i < count; i++) {
    const tag = r.uvarint();
    if (tag <= lastTag) throw new DecodeError(`tagged fields out of order: ${tag} after ${lastTag}`);
    lastTag = tag;
    const size = r.uvarint();
    const sub = r.sub(size);
    const start = sub.pos;
    if (onTag?.(tag, sub)) {
      if (sub.pos !== sub.end) {
        throw new DecodeError(`tagged field ${tag} declares ${size} bytes but uses ${size - (sub.end - sub.pos)}`);
      }
    } else {
      unknown ??= [];
      unknown.push({ tag, data: sub.buf.subarray(start, sub.end) });
    }
  }
  return unknown;
}

/** One tagged field ready to write: encoded by `write` into its own buffer. */
export interface TaggedWrite {
  tag: number;
  write: (w: Writer) => void;
}

/** Writes the tagged-field section in ascending tag order, merging unknown fields. */
export function writeTaggedFields(
  w: Writer,
  known: TaggedWrite[] | null,
  unknown: UnknownTaggedField[] | undefined,
): void {
  if (known === null && unknown === undefined) {
    w.uvarint(0);
    return;
  }
  const entries: { tag: number; data: Buffer }[] = [];
  if (known !== null) {
    for (const k of known) {
      const sub = new Writer(64);
      k.write(sub);
      entries.push({ tag: k.tag, data: sub.finish() });
    }
  }
  if (unknown !== undefined) for (const u of unknown) entries.push(u);
  entries.sort((a, b) => a.tag - b.tag);
  w.uvarint(entries.length);
  for (const e of entries) {
    w.uvarint(e.tag);
    w.uvarint(e.data.length);
    w.raw(e.data);
  }
}
