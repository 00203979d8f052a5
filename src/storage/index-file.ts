// Sparse segment indexes. Entries live in memory (a growable Buffer) and are written to the
// file lazily: on flush, roll and close. Nothing reads an index file of a segment at or after
// the recovery point after a crash (recovery rebuilds those), and the recovery point only moves
// after the index entries below it were written and fsynced.
//
// .index entry (8 bytes):      relative offset uint32 | file position uint32
// .timeindex entry (12 bytes): timestamp int64        | relative offset uint32
import * as fs from 'node:fs';
import { readInt64, writeInt64 } from '../protocol/codec.js';

export const OFFSET_INDEX_ENTRY_BYTES = 8;
export const TIME_INDEX_ENTRY_BYTES = 12;

abstract class IndexFile {
  readonly path: string;
  readonly baseOffset: number;
  readonly entryBytes: number;
  /** Entries an append may add; the segment rolls before exceeding it. */
  readonly maxEntries: number;
  protected buf: Buffer;
  protected count = 0;
  /** Entries [0, persisted) are in the file exactly as in memory. */
  private persisted = 0;
  /** Entries the file holds (may exceed `count` after a truncation not yet written). */
  private fileEntries = 0;

  constructor(path: string, baseOffset: number, entryBytes: number, maxIndexBytes: number, initial?: Buffer) {
    this.path = path;
    this.baseOffset = baseOffset;
    this.entryBytes = entryBytes;
    this.maxEntries = Math.max(1, Math.floor(maxIndexBytes / entryBytes));
    if (initial) {
      this.count = Math.floor(initial.length / entryBytes);
      this.buf = initial;
      this.persisted = this.count;
      this.fileEntries = this.count;
    } else {
      this.buf = Buffer.allocUnsafe(entryBytes * 64);
    }
  }

  get entries(): number {
    return this.count;
  }

  get sizeBytes(): number {
    return this.count * this.entryBytes;
  }

  /** Whether `n` more entries would overflow segment.index.bytes. */
  wouldOverflow(n: number): boolean {
    return this.count + n > this.maxEntries;
  }

  protected slot(): number {
    const need = (this.count + 1) * this.entryBytes;
    if (need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(next, 0, 0, this.count * this.entryBytes);
      this.buf = next;
    }
    const pos = this.count * this.entryBytes;
    this.count++;
    return pos;
  }

  /** Keeps the first `n` entries. */
  truncateToEntries(n: number): void {
    if (n >= this.count) return;
    this.count = n;
    if (this.persisted > n) this.persisted = n;
  }

  get dirty(): boolean {
    return this.persisted !== this.count || this.fileEntries !== this.count;
  }

  /** Writes pending entries (and trims the file after truncation). Creates the file if needed. */
  persist(): void {
    if (!this.dirty && fs.existsSync(this.path)) return;
    const fd = fs.openSync(this.path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    try {
      if (this.fileEntries > this.count || this.persisted < this.fileEntries) {
        fs.ftruncateSync(fd, this.persisted * this.entryBytes);
      }
      let pos = this.persisted * this.entryBytes;
      const end = this.count * this.entryBytes;
      while (pos < end) pos += fs.writeSync(fd, this.buf, pos, end - pos, pos);
      this.persisted = this.count;
      this.fileEntries = this.count;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Replaces the file with the in-memory entries (used after a rebuild). */
  rewrite(): void {
    const fd = fs.openSync(this.path, 'w', 0o644);
    try {
      const end = this.count * this.entryBytes;
      let pos = 0;
      while (pos < end) pos += fs.writeSync(fd, this.buf, pos, end - pos, pos);
    } finally {
      fs.closeSync(fd);
    }
    this.persisted = this.count;
    this.fileEntries = this.count;
  }

  /** Bytes of memory held, for cache accounting. */
  get memoryBytes(): number {
    return this.buf.length;
  }

  protected relOffsetAt(i: number, at: number): number {
    return this.buf.readUInt32BE(i * this.entryBytes + at);
  }
}

export class OffsetIndex extends IndexFile {
  constructor(path: string, baseOffset: number, maxIndexBytes: number, initial?: Buffer) {
    super(path, baseOffset, OFFSET_INDEX_ENTRY_BYTES, maxIndexBytes, initial);
  }

  /** Loads an index file; null when missing. Structural checks happen in `checkAgainst`. */
  static load(path: string, baseOffset: number, maxIndexBytes: number): OffsetIndex | null {
    let data: Buffer;
    try {
      data = fs.readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    if (data.length % OFFSET_INDEX_ENTRY_BYTES !== 0) return null;
    return new OffsetIndex(path, baseOffset, maxIndexBytes, data);
  }

  /** `offset` is the absolute base offset of the batch that starts at `position`. */
  append(offset: number, position: number): void {
    const p = this.slot();
    this.buf.writeUInt32BE(offset - this.baseOffset, p);
    this.buf.writeUInt32BE(position, p + 4);
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.relOffsetAt(i, 0);
  }

  positionAt(i: number): number {
    return this.buf.readUInt32BE(i * OFFSET_INDEX_ENTRY_BYTES + 4);
  }

  /** Index of the last entry whose offset is <= `offset`, or -1. */
  floorEntry(offset: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offsetAt(mid) <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Removes entries for batches starting at or after `offset`. */
  truncateToOffset(offset: number): void {
    this.truncateToEntries(this.floorEntry(offset - 1) + 1);
  }

  /**
   * Sanity check for an index loaded from disk: strictly increasing offsets and positions that
   * fall inside the log file. A failed check means the index is rebuilt from the log.
   */
  isPlausible(logSizeBytes: number): boolean {
    let prevOff = -1;
    let prevPos = -1;
    for (let i = 0; i < this.count; i++) {
      const rel = this.relOffsetAt(i, 0);
      const pos = this.positionAt(i);
      if (rel <= prevOff || pos <= prevPos || pos >= logSizeBytes) return false;
      prevOff = rel;
      prevPos = pos;
    }
    return true;
  }
}

export class TimeIndex extends IndexFile {
  constructor(path: string, baseOffset: number, maxIndexBytes: number, initial?: Buffer) {
    // One extra slot: the final entry written when the segment becomes inactive may exceed the limit.
    super(path, baseOffset, TIME_INDEX_ENTRY_BYTES, maxIndexBytes, initial);
  }

  static load(path: string, baseOffset: number, maxIndexBytes: number): TimeIndex | null {
    let data: Buffer;
    try {
      data = fs.readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    if (data.length % TIME_INDEX_ENTRY_BYTES !== 0) return null;
    return new TimeIndex(path, baseOffset, maxIndexBytes, data);
  }

  timestampAt(i: number): number {
    return readInt64(this.buf, i * TIME_INDEX_ENTRY_BYTES);
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.relOffsetAt(i, 8);
  }

  lastTimestamp(): number {
    return this.count === 0 ? -1 : this.timestampAt(this.count - 1);
  }

  /**
   * Adds (maxTimestampSoFar, base offset of the batch holding it) when the timestamp grows;
   * timestamps in the index are strictly increasing.
   */
  maybeAppend(timestamp: number, offset: number): void {
    if (timestamp < 0 || timestamp <= this.lastTimestamp()) return;
    const p = this.slot();
    writeInt64(this.buf, timestamp, p);
    this.buf.writeUInt32BE(offset - this.baseOffset, p + 8);
  }

  /** Index of the last entry whose timestamp is < `timestamp`, or -1. */
  lowerEntry(timestamp: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestampAt(mid) < timestamp) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Removes entries pointing at batches starting at or after `offset`. */
  truncateToOffset(offset: number): void {
    let n = this.count;
    while (n > 0 && this.offsetAt(n - 1) >= offset) n--;
    this.truncateToEntries(n);
  }

  /** Strictly increasing timestamps, non-decreasing offsets below `nextOffsetBound`. */
  isPlausible(nextOffsetBound: number): boolean {
    let prevTs = -1;
    let prevOff = -1;
    for (let i = 0; i < this.count; i++) {
      const ts = this.timestampAt(i);
      const off = this.offsetAt(i);
      if (ts <= prevTs || off < prevOff || off >= nextOffsetBound) return false;
      prevTs = ts;
      prevOff = off;
    }
    return true;
  }
}
