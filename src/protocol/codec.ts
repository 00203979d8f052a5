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

// Uuids travel as 16 bytes and are shown as Kafka shows them: unpadded base64url (22 chars).
// Converting in JS with tables avoids a native call and a temporary Buffer per uuid, which
// dominated small requests such as Metadata v12.
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_CODES = new Uint8Array(64);
for (let i = 0; i < 64; i++) B64URL_CODES[i] = B64URL.charCodeAt(i);
const B64URL_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64URL_VALUES[B64URL.charCodeAt(i)] = i;

/** Short ASCII strings are written in JS: cheaper than a call into the native encoder. */
const SHORT_STRING_CHARS = 64;

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

  // Fixed-width reads index the buffer directly: need() has already bounds-checked, and
  // Buffer's readInt*BE would validate the offset again on every call.
  bool(): boolean {
    return this.buf[this.need(1)] !== 0;
  }
  int8(): number {
    return ((this.buf[this.need(1)] as number) << 24) >> 24;
  }
  int16(): number {
    const p = this.need(2);
    const b = this.buf;
    return (((b[p] as number) << 24) | ((b[p + 1] as number) << 16)) >> 16;
  }
  uint16(): number {
    const p = this.need(2);
    const b = this.buf;
    return ((b[p] as number) << 8) | (b[p + 1] as number);
  }
  int32(): number {
    const p = this.need(4);
    const b = this.buf;
    return ((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number);
  }
  uint32(): number {
    return this.int32() >>> 0;
  }
  /** int64 as a JS number: exact within +-2^53, and Long.MIN/MAX round-trip through writeInt64. */
  int64(): number {
    const p = this.need(8);
    const b = this.buf;
    const hi =
      ((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number);
    const lo =
      (((b[p + 4] as number) << 24) |
        ((b[p + 5] as number) << 16) |
        ((b[p + 6] as number) << 8) |
        (b[p + 7] as number)) >>>
      0;
    return hi * TWO_POW_32 + lo;
  }
  float64(): number {
    return this.buf.readDoubleBE(this.need(8));
  }
  uuid(): string {
    const p = this.need(16);
    const b = this.buf;
    if (
      b.readInt32BE(p) === 0 &&
      b.readInt32BE(p + 4) === 0 &&
      b.readInt32BE(p + 8) === 0 &&
      b.readInt32BE(p + 12) === 0
    ) {
      return ZERO_UUID;
    }
    // One fromCharCode call builds a flat string; concatenation would build a cons string
    // that costs more than this whole conversion when it is later used as a Map key.
    const c = B64URL_CODES;
    const t0 = ((b[p] as number) << 16) | ((b[p + 1] as number) << 8) | (b[p + 2] as number);
    const t1 = ((b[p + 3] as number) << 16) | ((b[p + 4] as number) << 8) | (b[p + 5] as number);
    const t2 = ((b[p + 6] as number) << 16) | ((b[p + 7] as number) << 8) | (b[p + 8] as number);
    const t3 = ((b[p + 9] as number) << 16) | ((b[p + 10] as number) << 8) | (b[p + 11] as number);
    const t4 = ((b[p + 12] as number) << 16) | ((b[p + 13] as number) << 8) | (b[p + 14] as number);
    const l = b[p + 15] as number;
    return String.fromCharCode(
      c[t0 >> 18] as number,
      c[(t0 >> 12) & 63] as number,
      c[(t0 >> 6) & 63] as number,
      c[t0 & 63] as number,
      c[t1 >> 18] as number,
      c[(t1 >> 12) & 63] as number,
      c[(t1 >> 6) & 63] as number,
      c[t1 & 63] as number,
      c[t2 >> 18] as number,
      c[(t2 >> 12) & 63] as number,
      c[(t2 >> 6) & 63] as number,
      c[t2 & 63] as number,
      c[t3 >> 18] as number,
      c[(t3 >> 12) & 63] as number,
      c[(t3 >> 6) & 63] as number,
      c[t3 & 63] as number,
      c[t4 >> 18] as number,
      c[(t4 >> 12) & 63] as number,
      c[(t4 >> 6) & 63] as number,
      c[t4 & 63] as number,
      c[l >> 2] as number,
      c[(l & 3) << 4] as number,
    );
  }

  /** Unsigned varint up to 32 bits (5 bytes); longer encodings are rejected. */
  uvarint(): number {
    const b = this.buf;
    const end = this.end;
    let p = this.pos;
    if (p >= end) throw new DecodeError('truncated varint');
    let x = b[p++] as number;
    // Most varints (lengths, counts, tags) are one byte.
    if (x < 0x80) {
      this.pos = p;
      return x;
    }
    let result = x & 0x7f;
    for (let shift = 7; shift < 28; shift += 7) {
      if (p >= end) throw new DecodeError('truncated varint');
      x = b[p++] as number;
      result |= (x & 0x7f) << shift;
      if (x < 0x80) {
        this.pos = p;
        return result;
      }
    }
    if (p >= end) throw new DecodeError('truncated varint');
    x = b[p++] as number;
    // The 5th byte holds bits 28-31 only; anything more is not a 32-bit varint.
    if (x > 0x0f) throw new DecodeError('varint too long');
    this.pos = p;
    return result + x * 0x10000000;
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
    // Decoding in JS only wins below ~8 bytes once the string is used (cons strings get
    // flattened), so reads always take Node's native decoder.
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
  // Fixed-width writes store bytes directly, after the same range check Buffer's
  // write*BE would make (a value out of range is a caller bug: RangeError).
  int8(v: number): void {
    if (!(v >= -0x80 && v <= 0x7f && v === Math.floor(v))) throw outOfRange('int8', v);
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }
  int16(v: number): void {
    if (!(v >= -0x8000 && v <= 0x7fff && v === Math.floor(v))) throw outOfRange('int16', v);
    this.put16(v);
  }
  uint16(v: number): void {
    if (!(v >= 0 && v <= 0xffff && v === Math.floor(v))) throw outOfRange('uint16', v);
    this.put16(v);
  }
  int32(v: number): void {
    if (v !== (v | 0)) throw outOfRange('int32', v);
    this.put32(v);
  }
  uint32(v: number): void {
    if (v !== v >>> 0) throw outOfRange('uint32', v);
    this.put32(v);
  }
  private put16(v: number): void {
    this.ensure(2);
    const b = this.buf;
    const p = this.pos;
    b[p] = (v >>> 8) & 0xff;
    b[p + 1] = v & 0xff;
    this.pos = p + 2;
  }
  private put32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = (v >>> 16) & 0xff;
    b[p + 2] = (v >>> 8) & 0xff;
    b[p + 3] = v & 0xff;
    this.pos = p + 4;
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
  /** A uuid in Kafka's string form (22 base64url characters). */
  uuid(v: string): void {
    if (typeof v !== 'string' || v.length !== 22) throw new TypeError(`invalid uuid ${JSON.stringify(v)}`);
    this.ensure(16);
    const b = this.buf;
    let p = this.pos;
    let bad = 0;
    for (let k = 0; k < 20; k += 4) {
      const c0 = B64URL_VALUES[v.charCodeAt(k) & 0x7f] as number;
      const c1 = B64URL_VALUES[v.charCodeAt(k + 1) & 0x7f] as number;
      const c2 = B64URL_VALUES[v.charCodeAt(k + 2) & 0x7f] as number;
      const c3 = B64URL_VALUES[v.charCodeAt(k + 3) & 0x7f] as number;
      bad |= c0 | c1 | c2 | c3 | (v.charCodeAt(k) | v.charCodeAt(k + 1) | v.charCodeAt(k + 2) | v.charCodeAt(k + 3));
      const t = (c0 << 18) | (c1 << 12) | (c2 << 6) | c3;
      b[p++] = t >> 16;
      b[p++] = (t >> 8) & 0xff;
      b[p++] = t & 0xff;
    }
    const c20 = B64URL_VALUES[v.charCodeAt(20) & 0x7f] as number;
    const c21 = B64URL_VALUES[v.charCodeAt(21) & 0x7f] as number;
    bad |= c20 | c21 | v.charCodeAt(20) | v.charCodeAt(21);
    // A negative table value (invalid character) or a code unit >= 0x80 sets these bits.
    if ((bad & ~0x7f) !== 0) throw new TypeError(`invalid uuid ${JSON.stringify(v)}`);
    b[p++] = (c20 << 2) | (c21 >> 4);
    this.pos = p;
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
    const n = v.length;
    if (n <= SHORT_STRING_CHARS) {
      let ascii = true;
      for (let i = 0; i < n; i++) {
        if (v.charCodeAt(i) >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        if (compact) this.uvarint(n + 1);
        else this.int16(n);
        this.ensure(n);
        const b = this.buf;
        let p = this.pos;
        for (let i = 0; i < n; i++) b[p++] = v.charCodeAt(i);
        this.pos = p;
        return;
      }
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

function outOfRange(type: string, v: number): RangeError {
  return new RangeError(`value ${v} is out of range for ${type}`);
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
  if (!(v === Math.floor(v))) throw new RangeError(`value ${v} is out of range for int64`);
  const hi = Math.floor(v / TWO_POW_32);
  const lo = v - hi * TWO_POW_32;
  buf[offset] = hi >>> 24;
  buf[offset + 1] = (hi >>> 16) & 0xff;
  buf[offset + 2] = (hi >>> 8) & 0xff;
  buf[offset + 3] = hi & 0xff;
  buf[offset + 4] = lo >>> 24;
  buf[offset + 5] = (lo >>> 16) & 0xff;
  buf[offset + 6] = (lo >>> 8) & 0xff;
  buf[offset + 7] = lo & 0xff;
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
