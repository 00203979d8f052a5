// One log segment: `<base>.log` holding RecordBatch v2 bytes exactly as appended, plus its
// sparse `.index` (batch base offset -> file position) and `.timeindex` (max timestamp so far ->
// base offset of the batch holding it). All I/O here is synchronous (page-cache reads and
// writes); only fsync has an async variant.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { readInt64 } from '../protocol/codec.js';
import {
  BASE_OFFSET_OFFSET,
  BATCH_LENGTH_OFFSET,
  type BatchHeader,
  checkBatchHeader,
  isBatchCrcValid,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  lastOffsetOf,
  RECORD_BATCH_OVERHEAD,
  readBatchHeader,
} from '../records/batch-header.js';
import { KafkaStorageError } from './errors.js';
import { OffsetIndex, TimeIndex } from './index-file.js';
import type { CachedSegment, SegmentCache } from './segment-cache.js';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const DELETED_SUFFIX = '.deleted';
export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';

/** Largest relative offset an index entry can hold (Kafka keeps them within an int32). */
export const MAX_RELATIVE_OFFSET = 0x7fffffff;

const SCAN_CHUNK_BYTES = 64 * 1024;
const RECOVERY_CHUNK_BYTES = 4 * 1024 * 1024;
const fdatasyncAsync = promisify(fs.fdatasync);

export function segmentFileStem(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0');
}

/** Parses `<20 digits>.log` (or another suffix); null for other names. */
export function parseSegmentFileName(name: string, suffix: string): number | null {
  if (!name.endsWith(suffix)) return null;
  const stem = name.slice(0, -suffix.length);
  if (!/^\d{20}$/.test(stem)) return null;
  const n = Number(stem);
  return Number.isSafeInteger(n) ? n : null;
}

export interface SegmentSettings {
  indexIntervalBytes: number;
  segmentIndexBytes: number;
}

export interface ReadSlice {
  records: Buffer;
  firstBatchOffset: number;
  nextOffset: number;
}

export interface RecoverResult {
  /** Bytes cut from the end because they were torn or corrupt. */
  truncatedBytes: number;
  /** Offset after the last valid batch (the base offset when empty). */
  nextOffset: number;
}

export interface RecoverOptions {
  /** Batches must start at or after this offset (the previous segment's end). */
  minFirstOffset: number;
  /** Called for each valid batch in order (leader-epoch cache rebuild). */
  onBatch?: (h: BatchHeader) => void;
}

function writeFully(fd: number, buf: Buffer, offset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = fs.writeSync(fd, buf, offset + done, length - done, position + done);
    if (n <= 0) throw new Error('write made no progress');
    done += n;
  }
}

function readFully(fd: number, buf: Buffer, offset: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

function ignoreMissing(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export class LogSegment implements CachedSegment {
  readonly baseOffset: number;
  readonly dir: string;
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  /** Bytes of batches in the .log file. */
  sizeBytes: number;
  /** The segment appends go to; it keeps its file open and its indexes loaded. */
  active = false;
  deleted = false;
  /** When the segment file was created (segment.ms fallback when batches carry no timestamp). */
  readonly createdMs: number;
  /** The first batch's max timestamp: segment.ms counts from it, like Kafka. */
  rollingBasedTimestamp: number | null = null;
  /** Offset after the last batch; only maintained for the active segment. */
  nextOffset: number;

  private settings: SegmentSettings;
  private readonly cache: SegmentCache;
  private fd: number | null = null;
  private offsetIndex: OffsetIndex | null = null;
  private timeIndex: TimeIndex | null = null;
  private pins = 0;
  private abandoned = false;
  private maxTs = -1;
  private offsetOfMaxTs = -1;
  private maxTsKnown: boolean;
  private bytesSinceLastIndexEntry = 0;
  /** Appends and truncations bump writeSeq; an fsync that started at seq S makes syncedSeq >= S. */
  private writeSeq = 0;
  private syncedSeq = 0;
  private indexesUnsynced = false;

  private constructor(
    dir: string,
    baseOffset: number,
    settings: SegmentSettings,
    cache: SegmentCache,
    sizeBytes: number,
    createdMs: number,
  ) {
    this.dir = dir;
    this.baseOffset = baseOffset;
    const stem = path.join(dir, segmentFileStem(baseOffset));
    this.logPath = stem + LOG_SUFFIX;
    this.indexPath = stem + INDEX_SUFFIX;
    this.timeIndexPath = stem + TIME_INDEX_SUFFIX;
    this.settings = settings;
    this.cache = cache;
    this.sizeBytes = sizeBytes;
    this.createdMs = createdMs;
    this.nextOffset = baseOffset;
    this.maxTsKnown = sizeBytes === 0;
  }

  /** Creates a new, empty, active segment. */
  static create(
    dir: string,
    baseOffset: number,
    settings: SegmentSettings,
    cache: SegmentCache,
    nowMs: number,
  ): LogSegment {
    const seg = new LogSegment(dir, baseOffset, settings, cache, 0, nowMs);
    let fd: number;
    try {
      fd = fs.openSync(seg.logPath, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A leftover empty file (e.g. from a crash right after a roll) can be reused; data cannot.
      fd = fs.openSync(seg.logPath, 'r+');
      if (fs.fstatSync(fd).size !== 0) {
        fs.closeSync(fd);
        throw new KafkaStorageError(`segment file ${seg.logPath} already exists`);
      }
    }
    seg.fd = fd;
    seg.offsetIndex = new OffsetIndex(seg.indexPath, baseOffset, settings.segmentIndexBytes);
    seg.timeIndex = new TimeIndex(seg.timeIndexPath, baseOffset, settings.segmentIndexBytes);
    ignoreMissing(() => fs.unlinkSync(seg.indexPath));
    ignoreMissing(() => fs.unlinkSync(seg.timeIndexPath));
    seg.active = true;
    return seg;
  }

  /** An existing segment; files are opened and indexes loaded on first use. */
  static existing(dir: string, baseOffset: number, settings: SegmentSettings, cache: SegmentCache): LogSegment {
    const stem = path.join(dir, segmentFileStem(baseOffset));
    const st = fs.statSync(stem + LOG_SUFFIX);
    return new LogSegment(dir, baseOffset, settings, cache, st.size, st.mtimeMs);
  }

  updateSettings(settings: SegmentSettings): void {
    this.settings = settings;
  }

  // ---- resources ---------------------------------------------------------------------------

  private openFd(): number {
    if (this.deleted && this.fd === null) throw new KafkaStorageError(`segment ${this.logPath} was deleted`);
    if (this.fd === null) {
      try {
        this.fd = fs.openSync(this.logPath, 'r+');
      } catch (err) {
        throw new KafkaStorageError(`cannot open ${this.logPath}`, err);
      }
    }
    if (!this.active && !this.deleted) this.cache.touch(this);
    return this.fd;
  }

  get residentIndexBytes(): number {
    return (this.offsetIndex?.memoryBytes ?? 0) + (this.timeIndex?.memoryBytes ?? 0);
  }

  releaseResources(): boolean {
    if (this.active || this.pins > 0) return false;
    this.closeFiles();
    return true;
  }

  private closeFiles(): void {
    if ((this.offsetIndex?.dirty || this.timeIndex?.dirty) && !this.deleted && !this.abandoned) {
      this.persistIndexes();
    }
    this.offsetIndex = null;
    this.timeIndex = null;
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }

  pin(): void {
    this.pins++;
  }

  unpin(): void {
    this.pins--;
    if (this.pins === 0 && (this.deleted || this.abandoned)) {
      if (this.abandoned) this.abandon();
      else this.closeFiles();
    }
  }

  /** Drops file handles without writing anything, as a killed process would (crash tests). */
  abandon(): void {
    this.cache.remove(this);
    this.active = false;
    this.abandoned = true;
    if (this.pins > 0) return; // closed by unpin once the fsync in flight finishes
    this.offsetIndex = null;
    this.timeIndex = null;
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }

  /** Adds the final time-index entry (the segment's max timestamp) before a close or roll. */
  sealTimeIndex(): void {
    const { timeIndex } = this.indexes();
    this.ensureMaxTimestamp();
    if (this.maxTs >= 0) timeIndex.maybeAppend(this.maxTs, this.offsetOfMaxTs);
  }

  /** Closes everything (log close). Indexes are written first. */
  close(): void {
    this.cache.remove(this);
    this.active = false;
    this.closeFiles();
  }

  // ---- indexes -----------------------------------------------------------------------------

  private indexes(): { offsetIndex: OffsetIndex; timeIndex: TimeIndex } {
    if (this.offsetIndex === null || this.timeIndex === null) {
      const oi = OffsetIndex.load(this.indexPath, this.baseOffset, this.settings.segmentIndexBytes);
      const ti = TimeIndex.load(this.timeIndexPath, this.baseOffset, this.settings.segmentIndexBytes);
      if (
        oi === null ||
        ti === null ||
        !oi.isPlausible(this.sizeBytes) ||
        !ti.isPlausible(this.baseOffset + MAX_RELATIVE_OFFSET + 1) ||
        (this.sizeBytes > 0 && ti.entries === 0 && !this.active && this.hasTimestamps())
      ) {
        this.rebuildIndexes();
      } else {
        this.offsetIndex = oi;
        this.timeIndex = ti;
      }
      if (!this.active && !this.deleted) this.cache.touch(this);
    }
    return { offsetIndex: this.offsetIndex!, timeIndex: this.timeIndex! };
  }

  /** Whether the first batch carries a timestamp (an inactive segment then needs time-index entries). */
  private hasTimestamps(): boolean {
    const h = this.headerAt(0);
    return h !== null && h.maxTimestamp >= 0;
  }

  /** Rebuilds both indexes from the log (a missing or implausible index file). */
  rebuildIndexes(): void {
    this.recover({ minFirstOffset: this.baseOffset });
  }

  get indexEntryCount(): number {
    return this.indexes().offsetIndex.entries;
  }

  /** Whether appending `batchCount` more batches could overflow an index. */
  indexWouldOverflow(batchCount: number): boolean {
    const { offsetIndex, timeIndex } = this.indexes();
    return offsetIndex.wouldOverflow(batchCount) || timeIndex.wouldOverflow(batchCount);
  }

  persistIndexes(): void {
    if (this.offsetIndex === null || this.timeIndex === null) return;
    if (
      !this.offsetIndex.dirty &&
      !this.timeIndex.dirty &&
      fs.existsSync(this.indexPath) &&
      fs.existsSync(this.timeIndexPath)
    ) {
      return;
    }
    this.offsetIndex.persist();
    this.timeIndex.persist();
    this.indexesUnsynced = true;
  }

  // ---- timestamps --------------------------------------------------------------------------

  private ensureMaxTimestamp(): void {
    if (this.maxTsKnown) return;
    const { timeIndex } = this.indexes();
    if (!this.maxTsKnown) {
      const n = timeIndex.entries;
      this.maxTs = n === 0 ? -1 : timeIndex.timestampAt(n - 1);
      this.offsetOfMaxTs = n === 0 ? -1 : timeIndex.offsetAt(n - 1);
      this.maxTsKnown = true;
    }
  }

  /** Largest batch max timestamp in the segment, -1 when no batch has one. */
  get maxTimestamp(): number {
    this.ensureMaxTimestamp();
    return this.maxTs;
  }

  /** Base offset of the first batch holding maxTimestamp, -1 when none. */
  get batchOffsetOfMaxTimestamp(): number {
    this.ensureMaxTimestamp();
    return this.offsetOfMaxTs;
  }

  /** Kafka's largestTimestamp for retention: the max timestamp, or the file's mtime without one. */
  largestTimestampForRetention(): number {
    const ts = this.maxTimestamp;
    if (ts >= 0) return ts;
    try {
      return fs.statSync(this.logPath).mtimeMs;
    } catch {
      return this.createdMs;
    }
  }

  // ---- append ------------------------------------------------------------------------------

  /**
   * Appends `validBytes` of `buf` (already validated, offsets final) with a single write, then
   * updates the indexes. On a write error the file is cut back so the log stays as it was.
   */
  append(buf: Buffer, validBytes: number, batches: readonly BatchHeader[], lastOffset: number): void {
    const fd = this.openFd();
    const { offsetIndex, timeIndex } = this.indexes();
    const start = this.sizeBytes;
    try {
      writeFully(fd, buf, 0, validBytes, start);
    } catch (err) {
      try {
        fs.ftruncateSync(fd, start);
      } catch {
        // The log dir is failing; the error below reports it.
      }
      throw new KafkaStorageError(`append to ${this.logPath} failed`, err);
    }
    this.writeSeq++;
    this.maxTsKnown = true;
    for (const b of batches) {
      if (this.rollingBasedTimestamp === null) this.rollingBasedTimestamp = b.maxTimestamp;
      if (b.maxTimestamp > this.maxTs) {
        this.maxTs = b.maxTimestamp;
        this.offsetOfMaxTs = b.baseOffset;
      }
      if (this.bytesSinceLastIndexEntry > this.settings.indexIntervalBytes) {
        offsetIndex.append(b.baseOffset, start + b.position);
        timeIndex.maybeAppend(this.maxTs, this.offsetOfMaxTs);
        this.bytesSinceLastIndexEntry = 0;
      }
      this.bytesSinceLastIndexEntry += b.sizeBytes;
    }
    this.sizeBytes = start + validBytes;
    this.nextOffset = lastOffset + 1;
  }

  /** Called on roll: final time-index entry, indexes written, resources handed to the cache. */
  onBecomeInactive(): void {
    this.sealTimeIndex();
    this.persistIndexes();
    this.active = false;
    this.cache.touch(this);
  }

  /** Makes an inactive segment the active one again (truncation back into it). */
  makeActive(): void {
    this.cache.remove(this);
    this.active = true;
    this.openFd();
    this.indexes();
  }

  // ---- reading headers ---------------------------------------------------------------------

  private scratch: Buffer | null = null;

  /** The batch header at `pos`, null at the end. Throws when the bytes there are not a batch. */
  headerAt(pos: number): BatchHeader | null {
    if (pos >= this.sizeBytes) return null;
    const fd = this.openFd();
    const want = Math.min(RECORD_BATCH_OVERHEAD, this.sizeBytes - pos);
    const buf = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD);
    const n = readFully(fd, buf, 0, want, pos);
    if (n < RECORD_BATCH_OVERHEAD || checkBatchHeader(buf, 0, RECORD_BATCH_OVERHEAD) === 'invalid-length') {
      throw new KafkaStorageError(`${this.logPath}: no batch header at byte ${pos}`);
    }
    const h = readBatchHeader(buf, 0);
    h.position = pos;
    if (pos + h.sizeBytes > this.sizeBytes)
      throw new KafkaStorageError(`${this.logPath}: batch at byte ${pos} overruns the file`);
    return h;
  }

  /**
   * Visits batch headers from `pos` (a batch boundary) until `visit` returns false or the
   * segment ends. Reads in chunks so small batches cost one read per chunk, not per batch.
   */
  private scan(pos: number, visit: (h: BatchHeader) => boolean): void {
    const fd = this.openFd();
    const end = this.sizeBytes;
    if (this.scratch === null) this.scratch = Buffer.allocUnsafe(SCAN_CHUNK_BYTES);
    const buf = this.scratch;
    let winStart = 0;
    let winLen = 0;
    while (pos < end) {
      if (pos < winStart || pos + RECORD_BATCH_OVERHEAD > winStart + winLen) {
        winStart = pos;
        winLen = readFully(fd, buf, 0, Math.min(buf.length, end - pos), pos);
        if (winLen < RECORD_BATCH_OVERHEAD) {
          throw new KafkaStorageError(`${this.logPath}: truncated batch header at byte ${pos}`);
        }
      }
      const rel = pos - winStart;
      const h = readBatchHeader(buf, rel);
      h.position = pos;
      if (h.batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD || pos + h.sizeBytes > end) {
        throw new KafkaStorageError(`${this.logPath}: corrupt batch header at byte ${pos}`);
      }
      if (!visit(h)) return;
      pos += h.sizeBytes;
    }
  }

  private entryMatches(offsetIndex: OffsetIndex, i: number): boolean {
    try {
      const h = this.headerAt(offsetIndex.positionAt(i));
      return h !== null && h.baseOffset === offsetIndex.offsetAt(i);
    } catch {
      return false;
    }
  }

  /** The first batch whose last offset is >= `offset`, or null when the segment has none. */
  locate(offset: number): BatchHeader | null {
    for (let attempt = 0; attempt < 2; attempt++) {
      const { offsetIndex } = this.indexes();
      const i = offsetIndex.floorEntry(offset);
      let startPos = 0;
      if (i >= 0) {
        startPos = offsetIndex.positionAt(i);
        // Every entry names the base offset of the batch at its position: verify before trusting it.
        if (!this.entryMatches(offsetIndex, i)) {
          if (attempt === 0) {
            this.rebuildIndexes();
            continue;
          }
          throw new KafkaStorageError(`${this.logPath}: offset index does not match the log`);
        }
      }
      let found: BatchHeader | null = null;
      this.scan(startPos, (h) => {
        if (lastOffsetOf(h) >= offset) {
          found = h;
          return false;
        }
        return true;
      });
      return found;
    }
    return null;
  }

  /**
   * Recomputes what the active segment keeps in memory from the tail of the file: next offset,
   * max timestamp, bytes since the last index entry, first timestamp. Cheap: it scans only
   * from the last offset-index entry.
   */
  refreshTailState(): void {
    let { offsetIndex, timeIndex } = this.indexes();
    if (offsetIndex.entries > 0 && !this.entryMatches(offsetIndex, offsetIndex.entries - 1)) {
      this.rebuildIndexes();
      ({ offsetIndex, timeIndex } = this.indexes());
    }
    const n = offsetIndex.entries;
    const from = n > 0 ? offsetIndex.positionAt(n - 1) : 0;
    const tn = timeIndex.entries;
    let maxTs = tn > 0 ? timeIndex.timestampAt(tn - 1) : -1;
    let offsetOfMax = tn > 0 ? timeIndex.offsetAt(tn - 1) : -1;
    let next = this.baseOffset;
    this.scan(from, (h) => {
      if (h.maxTimestamp > maxTs) {
        maxTs = h.maxTimestamp;
        offsetOfMax = h.baseOffset;
      }
      next = lastOffsetOf(h) + 1;
      return true;
    });
    this.maxTs = maxTs;
    this.offsetOfMaxTs = offsetOfMax;
    this.maxTsKnown = true;
    this.nextOffset = next;
    this.bytesSinceLastIndexEntry = this.sizeBytes - from;
    const first = this.headerAt(0);
    this.rollingBasedTimestamp = first === null ? null : first.maxTimestamp;
  }

  // ---- read --------------------------------------------------------------------------------

  /**
   * Whole batches starting with the one containing `startOffset`, all starting before
   * `maxOffsetExclusive`, within `maxBytes` (the first batch is whole regardless when
   * `minOneBatch`). Null when no batch in this segment ends at or after `startOffset`.
   * `segmentEndBound` is an offset known to be >= this segment's end (skips a lookup).
   */
  read(
    startOffset: number,
    maxBytes: number,
    maxOffsetExclusive: number,
    minOneBatch: boolean,
    segmentEndBound: number,
  ): ReadSlice | null {
    const first = this.locate(startOffset);
    if (first === null) return null;
    const empty: ReadSlice = { records: Buffer.alloc(0), firstBatchOffset: -1, nextOffset: startOffset };
    if (first.baseOffset >= maxOffsetExclusive) return empty;
    let endPos = this.sizeBytes;
    if (maxOffsetExclusive < segmentEndBound) {
      const bound = this.locate(maxOffsetExclusive);
      if (bound !== null)
        endPos = bound.baseOffset >= maxOffsetExclusive ? bound.position : bound.position + bound.sizeBytes;
    }
    const available = endPos - first.position;
    const fd = this.openFd();
    if (first.sizeBytes > Math.min(maxBytes, available)) {
      if (!minOneBatch) return empty;
      const data = Buffer.allocUnsafe(first.sizeBytes);
      if (readFully(fd, data, 0, data.length, first.position) !== data.length) {
        throw new KafkaStorageError(`${this.logPath}: short read at byte ${first.position}`);
      }
      return { records: data, firstBatchOffset: first.baseOffset, nextOffset: lastOffsetOf(first) + 1 };
    }
    const len = Math.min(maxBytes, available);
    const data = Buffer.allocUnsafe(len);
    if (readFully(fd, data, 0, len, first.position) !== len) {
      throw new KafkaStorageError(`${this.logPath}: short read at byte ${first.position}`);
    }
    // Cut at the last whole batch.
    let p = 0;
    let next = startOffset;
    while (p + LOG_OVERHEAD <= len) {
      const size = data.readInt32BE(p + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
      if (size < RECORD_BATCH_OVERHEAD || p + size > len) break;
      next = readInt64(data, p + BASE_OFFSET_OFFSET) + data.readInt32BE(p + LAST_OFFSET_DELTA_OFFSET) + 1;
      p += size;
    }
    return { records: p === len ? data : data.subarray(0, p), firstBatchOffset: first.baseOffset, nextOffset: next };
  }

  /** Exactly the bytes of the batch described by `h`. */
  readBatch(h: BatchHeader): Buffer {
    const data = Buffer.allocUnsafe(h.sizeBytes);
    if (readFully(this.openFd(), data, 0, h.sizeBytes, h.position) !== h.sizeBytes) {
      throw new KafkaStorageError(`${this.logPath}: short read at byte ${h.position}`);
    }
    return data;
  }

  /** Headers of batches from the one containing `fromOffset` while `visit` returns true. */
  visitBatchesFrom(fromOffset: number, visit: (h: BatchHeader) => boolean): void {
    const first = this.locate(fromOffset);
    if (first === null) return;
    this.scan(first.position, visit);
  }

  /** Batches from the time-index hint for `timestamp` (all later batches may hold it). */
  visitBatchesForTimestamp(timestamp: number, fromOffset: number, visit: (h: BatchHeader) => boolean): void {
    const { timeIndex } = this.indexes();
    const i = timeIndex.lowerEntry(timestamp);
    const hint = i >= 0 ? timeIndex.offsetAt(i) : this.baseOffset;
    this.visitBatchesFrom(Math.max(hint, fromOffset), visit);
  }

  // ---- truncation and recovery -------------------------------------------------------------

  /**
   * Removes the batch containing `offset` and everything after it. Returns the offset where the
   * segment's data now ends (the removed batch's base offset), or null when no batch here ends at
   * or after `offset` (nothing removed).
   */
  truncateTo(offset: number): number | null {
    const h = this.locate(offset);
    if (h === null) return null;
    const fd = this.openFd();
    const { offsetIndex, timeIndex } = this.indexes();
    fs.ftruncateSync(fd, h.position);
    this.writeSeq++;
    this.sizeBytes = h.position;
    offsetIndex.truncateToOffset(h.baseOffset);
    timeIndex.truncateToOffset(h.baseOffset);
    this.refreshTailState();
    return h.baseOffset;
  }

  /**
   * Validates every batch (structure, CRC, offsets increasing from `minFirstOffset`), cuts the
   * file at the first bad one, and rebuilds both indexes and the in-memory state.
   */
  recover(opts: RecoverOptions): RecoverResult {
    const fd = this.openFd();
    const fileSize = fs.fstatSync(fd).size;
    const offsetIndex = new OffsetIndex(this.indexPath, this.baseOffset, this.settings.segmentIndexBytes);
    const timeIndex = new TimeIndex(this.timeIndexPath, this.baseOffset, this.settings.segmentIndexBytes);
    let maxTs = -1;
    let offsetOfMax = -1;
    let bytesSince = 0;
    let firstTs: number | null = null;
    let next = Math.max(this.baseOffset, opts.minFirstOffset);
    let nextFloor = next;
    let buf = Buffer.allocUnsafe(Math.min(RECOVERY_CHUNK_BYTES, Math.max(fileSize, RECORD_BATCH_OVERHEAD)));
    let winStart = 0;
    let winLen = 0;
    let pos = 0;
    const load = (at: number, need: number): boolean => {
      if (at >= winStart && at + need <= winStart + winLen) return true;
      if (at + need > fileSize) return false;
      const size = Math.min(Math.max(need, RECOVERY_CHUNK_BYTES), fileSize - at);
      if (buf.length < size) buf = Buffer.allocUnsafe(size);
      winStart = at;
      winLen = readFully(fd, buf, 0, size, at);
      return winLen >= need;
    };
    while (pos < fileSize) {
      if (!load(pos, LOG_OVERHEAD)) break;
      const batchLength = buf.readInt32BE(pos - winStart + BATCH_LENGTH_OFFSET);
      const size = batchLength + LOG_OVERHEAD;
      if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD || pos + size > fileSize) break;
      if (!load(pos, size)) break;
      const rel = pos - winStart;
      if (checkBatchHeader(buf, rel, rel + size) !== null) break;
      const h = readBatchHeader(buf, rel);
      if (!isBatchCrcValid(buf, h)) break;
      if (h.baseOffset < nextFloor || lastOffsetOf(h) - this.baseOffset > MAX_RELATIVE_OFFSET) break;
      if (h.recordCount > h.lastOffsetDelta + 1) break;
      h.position = pos;
      if (firstTs === null) firstTs = h.maxTimestamp;
      if (h.maxTimestamp > maxTs) {
        maxTs = h.maxTimestamp;
        offsetOfMax = h.baseOffset;
      }
      if (bytesSince > this.settings.indexIntervalBytes) {
        offsetIndex.append(h.baseOffset, pos);
        timeIndex.maybeAppend(maxTs, offsetOfMax);
        bytesSince = 0;
      }
      bytesSince += size;
      opts.onBatch?.(h);
      next = lastOffsetOf(h) + 1;
      nextFloor = next;
      pos += size;
    }
    const truncatedBytes = fileSize - pos;
    if (truncatedBytes > 0) {
      fs.ftruncateSync(fd, pos);
      this.writeSeq++;
    }
    // The final entry lets an inactive segment's max timestamp come from its time index.
    if (maxTs >= 0) timeIndex.maybeAppend(maxTs, offsetOfMax);
    offsetIndex.rewrite();
    timeIndex.rewrite();
    this.indexesUnsynced = true;
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    this.sizeBytes = pos;
    this.maxTs = maxTs;
    this.offsetOfMaxTs = offsetOfMax;
    this.maxTsKnown = true;
    this.bytesSinceLastIndexEntry = bytesSince;
    this.rollingBasedTimestamp = firstTs;
    this.nextOffset = pos === 0 ? Math.max(this.baseOffset, opts.minFirstOffset) : next;
    if (!this.active && !this.deleted) this.cache.touch(this);
    return { truncatedBytes, nextOffset: this.nextOffset };
  }

  // ---- durability --------------------------------------------------------------------------

  get hasUnsyncedData(): boolean {
    return (
      this.writeSeq !== this.syncedSeq ||
      this.indexesUnsynced ||
      (this.offsetIndex?.dirty ?? false) ||
      (this.timeIndex?.dirty ?? false)
    );
  }

  /** fdatasync of the log file only (the fsync-per-append path). */
  syncDataSync(): void {
    if (this.writeSeq === this.syncedSeq || this.fd === null) return;
    const seq = this.writeSeq;
    fs.fdatasyncSync(this.fd);
    this.syncedSeq = Math.max(this.syncedSeq, seq);
  }

  /** Writes pending index entries (synchronously), then fsyncs log and indexes in the background. */
  async flush(): Promise<void> {
    if (this.deleted) return;
    this.persistIndexes();
    const seq = this.writeSeq;
    const syncIndexes = this.indexesUnsynced;
    this.indexesUnsynced = false;
    this.pin();
    try {
      const jobs: Promise<void>[] = [];
      if (seq !== this.syncedSeq) {
        const fd = this.openFd();
        jobs.push(fdatasyncAsync(fd));
      }
      if (syncIndexes) {
        jobs.push(syncPath(this.indexPath), syncPath(this.timeIndexPath));
      }
      await Promise.all(jobs);
      this.syncedSeq = Math.max(this.syncedSeq, seq);
    } catch (err) {
      this.indexesUnsynced = this.indexesUnsynced || syncIndexes;
      if (!this.deleted) throw new KafkaStorageError(`flush of ${this.logPath} failed`, err);
    } finally {
      this.unpin();
    }
  }

  // ---- deletion ----------------------------------------------------------------------------

  /** Renames the files to `.deleted`; reads already holding the descriptor keep working. */
  markDeleted(): void {
    if (this.deleted) return;
    this.deleted = true;
    this.active = false;
    this.cache.remove(this);
    for (const p of [this.logPath, this.indexPath, this.timeIndexPath]) {
      ignoreMissing(() => fs.renameSync(p, p + DELETED_SUFFIX));
    }
    if (this.pins === 0) {
      this.offsetIndex = null;
      this.timeIndex = null;
      if (this.fd !== null) {
        fs.closeSync(this.fd);
        this.fd = null;
      }
    }
  }

  /** Removes the `.deleted` files. */
  removeDeletedFiles(): void {
    for (const p of [this.logPath, this.indexPath, this.timeIndexPath]) {
      ignoreMissing(() => fs.unlinkSync(p + DELETED_SUFFIX));
    }
  }
}

async function syncPath(p: string): Promise<void> {
  let h: fs.promises.FileHandle;
  try {
    h = await fs.promises.open(p, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    await h.datasync();
  } finally {
    await h.close();
  }
}
