// The log of one partition: an ordered list of segments in `<logDir>/<topic>-<partition>`, the
// leader-epoch cache, offsets (log start, recovery point, high watermark, log end), appends,
// reads, truncation, retention and crash recovery.
//
// Appends and reads are synchronous (page-cache I/O with fs.writeSync/readSync) so the produce
// and fetch paths never wait on the event loop; only flushing (fsync) is asynchronous.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { readInt64 } from '../protocol/codec.js';
import {
  BATCH_LENGTH_OFFSET,
  type BatchHeader,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  lastOffsetOf,
  RECORD_BATCH_OVERHEAD,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  TIMESTAMP_TYPE_MASK,
} from '../records/batch-header.js';
import { fsyncDir, fsyncDirSync, readCheckpointSync, writeCheckpointSync } from './checkpoint-file.js';
import { type LogConfig, validateLogConfig } from './config.js';
import {
  InconsistentTopicIdError,
  InvalidRecordError,
  KafkaStorageError,
  NonContiguousAppendError,
  OffsetOutOfRangeError,
  RecordBatchTooLargeError,
  TruncateBelowLogStartError,
} from './errors.js';
import { type EpochEntry, LEADER_EPOCH_CHECKPOINT_FILE, LeaderEpochCache } from './leader-epoch-cache.js';
import { recordTimestamps } from './record-scan.js';
import {
  CLEANED_SUFFIX,
  DELETED_SUFFIX,
  INDEX_SUFFIX,
  LOG_SUFFIX,
  LogSegment,
  MAX_RELATIVE_OFFSET,
  parseSegmentFileName,
  type SegmentSettings,
  SWAP_SUFFIX,
  TIME_INDEX_SUFFIX,
} from './segment.js';
import { SegmentCache } from './segment-cache.js';
import { type ValidatedRecords, validateRecords } from './validate.js';

export const PARTITION_METADATA_FILE = 'partition.metadata';
/** Marker a standalone log (not managed by a LogManager) leaves on a clean close. */
export const PARTITION_CLEAN_SHUTDOWN_FILE = '.clean-shutdown';

/** `<topic>-<partition>`, the directory name of a partition under a log dir. */
export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export interface AppendResult {
  /** Offset of the first record appended (-1 when nothing was appended). */
  firstOffset: number;
  lastOffset: number;
  /** The timestamp stamped on the batches with LogAppendTime, else -1. */
  logAppendTimeMs: number;
  maxTimestamp: number;
  /** Last offset of the (first) batch holding maxTimestamp (Kafka's shallow offset). */
  offsetOfMaxTimestamp: number;
  validBytes: number;
  batchCount: number;
  recordCount: number;
}

export interface ReadResult {
  /** Whole batches, raw on-disk bytes. Empty when nothing is readable. */
  records: Buffer;
  /** Base offset of the first batch returned, -1 when empty. */
  firstBatchOffset: number;
  /** Offset after the last batch returned (the start offset when empty). */
  nextOffset: number;
}

export interface TimestampAndOffset {
  offset: number;
  timestamp: number;
  leaderEpoch: number;
}

/** Who wrote a leader append: clients may not write control batches, coordinators may. */
export type AppendOrigin = 'client' | 'coordinator';

/** State a LogManager keeps for the log in its per-log-dir checkpoint files. */
export interface PartitionLogState {
  /** The log dir had a clean-shutdown marker. */
  cleanShutdown: boolean;
  /** Offset below which everything was fsynced (recovery starts at its segment). */
  recoveryPoint?: number;
  logStartOffset?: number;
  highWatermark?: number;
}

export interface PartitionLogOptions {
  /** The partition directory itself (`<logDir>/<topic>-<partition>`). Created when missing. */
  dir: string;
  topic: string;
  partition: number;
  /** Topic id (base64url UUID); written to partition.metadata, checked when it exists. */
  topicId?: string;
  config: LogConfig;
  /** Wall clock in ms (LogAppendTime, segment.ms). Defaults to Date.now. */
  clock?: () => number;
  /**
   * From a LogManager's checkpoints. Without it the log is standalone: a `.clean-shutdown` file in
   * the partition dir marks a clean close (and carries the offsets); after a crash every segment
   * is recovered.
   */
  state?: PartitionLogState;
  /** Shared bound on open inactive segments and loaded indexes. */
  segmentCache?: SegmentCache;
  /** Failures of background work (a flush after a roll). Defaults to printing to stderr. */
  onBackgroundError?: (err: unknown) => void;
}

function defaultBackgroundError(err: unknown): void {
  console.error('[eddy storage] background task failed:', err);
}

export class PartitionLog {
  readonly dir: string;
  readonly topic: string;
  readonly partition: number;
  private topicIdValue: string | undefined;
  private cfg: LogConfig;
  private readonly clock: () => number;
  private readonly managed: boolean;
  private readonly cache: SegmentCache;
  private readonly onBackgroundError: (err: unknown) => void;

  private segments: LogSegment[] = [];
  private epochCache!: LeaderEpochCache;
  private leo = 0;
  private logStart = 0;
  private hw = 0;
  private recoveryPointValue = 0;
  private closed = false;
  /** Bumped by every truncation: a flush that raced one must not advance the recovery point. */
  private truncationGen = 0;
  private unflushedRecords = 0;
  private lastFlushMsValue: number;
  private dirNeedsSync = false;
  private readonly background = new Set<Promise<void>>();
  private readonly pendingRemovals = new Map<NodeJS.Timeout, LogSegment>();
  private flushChain: Promise<void> = Promise.resolve();

  private constructor(opts: PartitionLogOptions) {
    this.dir = opts.dir;
    this.topic = opts.topic;
    this.partition = opts.partition;
    this.topicIdValue = opts.topicId;
    this.cfg = { ...opts.config };
    this.clock = opts.clock ?? Date.now;
    this.managed = opts.state !== undefined;
    this.cache = opts.segmentCache ?? new SegmentCache();
    this.onBackgroundError = opts.onBackgroundError ?? defaultBackgroundError;
    this.lastFlushMsValue = this.clock();
  }

  /** Opens (creating or recovering as needed) the log in `opts.dir`. */
  static async open(opts: PartitionLogOptions): Promise<PartitionLog> {
    validateLogConfig(opts.config);
    await fsp.mkdir(opts.dir, { recursive: true });
    const log = new PartitionLog(opts);
    log.load(opts.state);
    return log;
  }

  // ---- accessors ---------------------------------------------------------------------------

  get config(): LogConfig {
    return this.cfg;
  }

  get topicId(): string | undefined {
    return this.topicIdValue;
  }

  get logStartOffset(): number {
    return this.logStart;
  }

  get logEndOffset(): number {
    return this.leo;
  }

  /** Offset below which data and indexes are known durable. */
  get recoveryPoint(): number {
    return this.recoveryPointValue;
  }

  get highWatermark(): number {
    return this.hw;
  }

  /** Driven by the replica manager; clamped to [logStartOffset, logEndOffset]. */
  set highWatermark(offset: number) {
    this.hw = Math.min(Math.max(offset, this.logStart), this.leo);
  }

  /** Bytes of all segments. */
  get sizeBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.sizeBytes;
    return n;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Base offsets of the live segments, oldest first. */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  get lastFlushMs(): number {
    return this.lastFlushMsValue;
  }

  /** Records appended since the last flush (flush.messages). */
  get unflushedMessages(): number {
    return this.unflushedRecords;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** AlterConfigs: new settings apply to the next append (index sizes to the next segment). */
  updateConfig(config: LogConfig): void {
    validateLogConfig(config);
    this.cfg = { ...config };
    const settings = this.segmentSettings();
    for (const s of this.segments) s.updateSettings(settings);
  }

  private segmentSettings(): SegmentSettings {
    return { indexIntervalBytes: this.cfg.indexIntervalBytes, segmentIndexBytes: this.cfg.segmentIndexBytes };
  }

  private get active(): LogSegment {
    return this.segments[this.segments.length - 1]!;
  }

  private ensureOpen(): void {
    if (this.closed) throw new KafkaStorageError(`log ${this.topic}-${this.partition} is closed`);
  }

  // ---- loading and recovery ----------------------------------------------------------------

  private load(state: PartitionLogState | undefined): void {
    this.loadPartitionMetadata();
    const names = fs.readdirSync(this.dir);
    this.cleanLeftovers(names);
    const after = fs.readdirSync(this.dir);
    const bases = after
      .map((n) => parseSegmentFileName(n, LOG_SUFFIX))
      .filter((b): b is number => b !== null)
      .sort((a, b) => a - b);
    const baseSet = new Set(bases);
    for (const n of after) {
      const b = parseSegmentFileName(n, INDEX_SUFFIX) ?? parseSegmentFileName(n, TIME_INDEX_SUFFIX);
      if (b !== null && !baseSet.has(b)) fs.unlinkSync(path.join(this.dir, n));
    }

    let clean: boolean;
    let saved: { logStartOffset?: number; highWatermark?: number; recoveryPoint?: number } = {};
    if (state) {
      clean = state.cleanShutdown;
      saved = state;
      this.removeStandaloneMarker();
    } else {
      const marker = this.readStandaloneMarker();
      clean = marker !== null;
      if (marker) saved = marker;
      this.removeStandaloneMarker();
    }

    const { cache: epochCache, valid: epochsValid } = LeaderEpochCache.load(
      path.join(this.dir, LEADER_EPOCH_CHECKPOINT_FILE),
    );
    this.epochCache = epochCache;
    const settings = this.segmentSettings();

    if (bases.length === 0) {
      const start = Math.max(0, saved.logStartOffset ?? 0);
      this.segments = [LogSegment.create(this.dir, start, settings, this.cache, this.clock())];
      this.dirNeedsSync = true;
      this.epochCache.clear();
      this.leo = start;
      this.logStart = start;
      this.recoveryPointValue = start;
      this.hw = start;
      this.epochCache.persist(false);
      return;
    }

    this.segments = bases.map((b) => LogSegment.existing(this.dir, b, settings, this.cache));
    let rebuildEpochs = !epochsValid;
    if (clean) {
      const active = this.active;
      active.active = true;
      try {
        active.refreshTailState();
      } catch (err) {
        if (!(err instanceof KafkaStorageError)) throw err;
        // The marker says clean but the tail is not: recover the active segment.
        this.recoverFrom(this.segments.length - 1, active.baseOffset);
        rebuildEpochs = true;
      }
      this.leo = active.nextOffset;
      this.recoveryPointValue = this.leo;
    } else {
      const rp = saved.recoveryPoint ?? 0;
      let startIdx = 0;
      for (let i = 0; i < this.segments.length; i++) if (this.segments[i]!.baseOffset <= rp) startIdx = i;
      this.epochCache.truncateFromEnd(this.segments[startIdx]!.baseOffset);
      this.recoverFrom(startIdx, this.segments[startIdx]!.baseOffset);
      this.leo = this.active.nextOffset;
      this.recoveryPointValue = Math.min(rp, this.segments[startIdx]!.baseOffset);
    }

    if (rebuildEpochs) this.rebuildEpochCache();

    this.logStart = Math.max(saved.logStartOffset ?? 0, this.segments[0]!.baseOffset);
    if (this.logStart > this.leo) {
      // Everything below the checkpointed log start is gone; the log restarts empty there.
      this.resetTo(this.logStart);
    }
    // After a crash an entry at the log end may name data that was lost, so it goes (as in
    // Kafka); after a clean shutdown it is a new leader's epoch with no data yet, and stays.
    this.epochCache.truncateFromEnd(clean ? this.leo + 1 : this.leo);
    this.epochCache.truncateFromStart(this.logStart);
    this.epochCache.persist(false);
    this.recoveryPointValue = Math.min(Math.max(this.recoveryPointValue, this.logStart), this.leo);
    this.hw = Math.min(Math.max(saved.highWatermark ?? this.logStart, this.logStart), this.leo);
  }

  /**
   * Recovers segments from index `startIdx`: validates every batch, truncates at the first bad
   * one and deletes every later segment, rebuilds indexes and leader epochs for the range.
   */
  private recoverFrom(startIdx: number, minFirstOffset: number): void {
    let floor = minFirstOffset;
    const last = this.segments.length - 1;
    for (let i = startIdx; i <= last; i++) {
      const seg = this.segments[i]!;
      if (i === last) seg.active = true;
      const res = seg.recover({
        minFirstOffset: floor,
        onBatch: (h) => {
          if (h.partitionLeaderEpoch >= 0 && h.partitionLeaderEpoch > this.epochCache.latestEpoch()) {
            this.epochCache.assign(h.partitionLeaderEpoch, h.baseOffset);
          }
        },
      });
      floor = res.nextOffset;
      const next = this.segments[i + 1];
      if (next && (res.truncatedBytes > 0 || next.baseOffset < res.nextOffset)) {
        // Data after a corrupt batch (or overlapping segments) cannot be trusted.
        for (const doomed of this.segments.splice(i + 1)) {
          doomed.markDeleted();
          doomed.removeDeletedFiles();
        }
        seg.makeActive();
        this.dirNeedsSync = true;
        break;
      }
    }
  }

  private rebuildEpochCache(): void {
    this.epochCache.clear();
    for (const seg of this.segments) {
      seg.visitBatchesFrom(seg.baseOffset, (h) => {
        if (h.partitionLeaderEpoch >= 0 && h.partitionLeaderEpoch > this.epochCache.latestEpoch()) {
          this.epochCache.assign(h.partitionLeaderEpoch, h.baseOffset);
        }
        return true;
      });
    }
  }

  /** Handles files a crash or an earlier process left behind. */
  private cleanLeftovers(names: string[]): void {
    for (const n of names) {
      if (n.endsWith(DELETED_SUFFIX) || n.endsWith(CLEANED_SUFFIX) || n.endsWith('.tmp')) {
        fs.rmSync(path.join(this.dir, n), { force: true });
      }
    }
    // Index swaps are rebuilt from the log; only a `.log.swap` carries data.
    for (const n of names) {
      if (n.endsWith(INDEX_SUFFIX + SWAP_SUFFIX) || n.endsWith(TIME_INDEX_SUFFIX + SWAP_SUFFIX)) {
        fs.rmSync(path.join(this.dir, n), { force: true });
      }
    }
    // A `.log.swap` is a finished replacement segment (written by a cleaner) whose final rename
    // did not happen: complete it, drop the segments it replaces, rebuild its indexes.
    for (const n of names) {
      if (!n.endsWith(LOG_SUFFIX + SWAP_SUFFIX)) continue;
      const base = parseSegmentFileName(n.slice(0, -SWAP_SUFFIX.length), LOG_SUFFIX);
      if (base === null) fs.rmSync(path.join(this.dir, n), { force: true });
      else this.completeSwap(base, path.join(this.dir, n));
    }
  }

  private completeSwap(base: number, swapPath: string): void {
    // The swapped-in segment's end offset: scan its batch headers.
    const data = fs.readFileSync(swapPath);
    let end = base;
    for (let pos = 0; pos + RECORD_BATCH_OVERHEAD <= data.length; ) {
      const size = data.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
      if (size < RECORD_BATCH_OVERHEAD || pos + size > data.length) break;
      end = readInt64(data, pos) + data.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET) + 1;
      pos += size;
    }
    for (const n of fs.readdirSync(this.dir)) {
      const b = parseSegmentFileName(n, LOG_SUFFIX);
      if (b !== null && b > base && b < end) {
        const stem = path.join(this.dir, n.slice(0, -LOG_SUFFIX.length));
        for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) fs.rmSync(stem + suffix, { force: true });
      }
    }
    const stem = swapPath.slice(0, -(LOG_SUFFIX.length + SWAP_SUFFIX.length));
    for (const suffix of [INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      fs.rmSync(stem + suffix, { force: true });
      fs.rmSync(stem + suffix + SWAP_SUFFIX, { force: true });
    }
    fs.renameSync(swapPath, stem + LOG_SUFFIX);
  }

  /**
   * Records the topic id (Kafka writes partition.metadata once the id is known). A different id
   * than the one on disk means the topic was recreated: InconsistentTopicIdError.
   */
  assignTopicId(topicId: string): void {
    if (this.topicIdValue === topicId) return;
    if (this.topicIdValue !== undefined) {
      throw new InconsistentTopicIdError(
        `${this.topic}-${this.partition} has topic id ${this.topicIdValue}, not ${topicId}`,
      );
    }
    this.topicIdValue = topicId;
    this.writePartitionMetadata();
  }

  private writePartitionMetadata(): void {
    const file = path.join(this.dir, PARTITION_METADATA_FILE);
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, `version: 0\ntopic_id: ${this.topicIdValue}\n`);
    fs.renameSync(tmp, file);
  }

  private loadPartitionMetadata(): void {
    const file = path.join(this.dir, PARTITION_METADATA_FILE);
    let existing: string | undefined;
    try {
      const text = fs.readFileSync(file, 'utf8');
      const m = /^version: 0\ntopic_id: (\S+)\n?$/.exec(text);
      if (m) existing = m[1];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (existing !== undefined && this.topicIdValue !== undefined && existing !== this.topicIdValue) {
      throw new InconsistentTopicIdError(
        `${this.topic}-${this.partition} has topic id ${existing} on disk, not ${this.topicIdValue}`,
      );
    }
    if (existing === undefined && this.topicIdValue !== undefined) this.writePartitionMetadata();
    this.topicIdValue ??= existing;
  }

  private readStandaloneMarker(): { logStartOffset?: number; highWatermark?: number; recoveryPoint?: number } | null {
    let lines: string[] | null;
    try {
      lines = readCheckpointSync(path.join(this.dir, PARTITION_CLEAN_SHUTDOWN_FILE));
    } catch {
      return null; // a damaged marker proves nothing: recover
    }
    if (lines === null) return null;
    const out: { logStartOffset?: number; highWatermark?: number; recoveryPoint?: number } = {};
    for (const line of lines) {
      const [key, value] = line.split(' ');
      const n = Number(value);
      if (!Number.isSafeInteger(n)) return null;
      if (key === 'log-start-offset') out.logStartOffset = n;
      else if (key === 'high-watermark') out.highWatermark = n;
      else if (key === 'recovery-point') out.recoveryPoint = n;
    }
    return out;
  }

  private removeStandaloneMarker(): void {
    const file = path.join(this.dir, PARTITION_CLEAN_SHUTDOWN_FILE);
    if (!fs.existsSync(file)) return;
    fs.unlinkSync(file);
    // The removal must be durable before any append, or a later crash would look clean.
    fsyncDirSync(this.dir);
  }

  // ---- append ------------------------------------------------------------------------------

  /**
   * Validates and appends producer batches: assigns offsets from the log end by rewriting
   * baseOffset in place, stamps the leader epoch (and LogAppendTime when configured), then
   * writes all batches with one write. All-or-nothing: an invalid batch rejects the call.
   */
  appendAsLeader(records: Buffer, leaderEpoch: number, origin: AppendOrigin = 'client'): AppendResult {
    this.ensureOpen();
    const v = validateRecords(records, {
      maxMessageBytes: this.cfg.maxMessageBytes,
      leader: true,
      allowControl: origin !== 'client',
    });
    if (v.batches.length === 0) return this.emptyResult();
    this.checkAppendSize(v.validBytes);
    const logAppendTime = this.cfg.messageTimestampType === 'LogAppendTime';
    const now = logAppendTime ? this.clock() : -1;
    let offset = this.leo;
    for (const h of v.batches) {
      setBaseOffset(records, h.position, offset);
      setPartitionLeaderEpoch(records, h.position, leaderEpoch);
      h.baseOffset = offset;
      h.partitionLeaderEpoch = leaderEpoch;
      if (logAppendTime) {
        setLogAppendTime(records, h.position, h.sizeBytes, now);
        h.maxTimestamp = now;
        h.attributes |= TIMESTAMP_TYPE_MASK;
      }
      offset += h.lastOffsetDelta + 1;
    }
    return this.appendValidated(records, v, now);
  }

  /**
   * Appends batches copied from the leader: offsets are kept. The first batch must start at the
   * log end offset and offsets must increase; otherwise NonContiguousAppendError.
   */
  appendAsFollower(records: Buffer): AppendResult {
    this.ensureOpen();
    const v = validateRecords(records, {
      maxMessageBytes: this.cfg.maxMessageBytes,
      leader: false,
      allowControl: true,
    });
    if (v.batches.length === 0) return this.emptyResult();
    const first = v.batches[0]!.baseOffset;
    if (first !== this.leo) throw new NonContiguousAppendError(first, this.leo);
    this.checkAppendSize(v.validBytes);
    return this.appendValidated(records, v, -1);
  }

  private emptyResult(): AppendResult {
    return {
      firstOffset: -1,
      lastOffset: -1,
      logAppendTimeMs: -1,
      maxTimestamp: -1,
      offsetOfMaxTimestamp: -1,
      validBytes: 0,
      batchCount: 0,
      recordCount: 0,
    };
  }

  private checkAppendSize(bytes: number): void {
    if (bytes > this.cfg.segmentBytes) {
      throw new RecordBatchTooLargeError(
        `${bytes} bytes of batches do not fit in segment.bytes ${this.cfg.segmentBytes}`,
      );
    }
  }

  private appendValidated(buf: Buffer, v: ValidatedRecords, logAppendTimeMs: number): AppendResult {
    const batches = v.batches;
    const firstOffset = batches[0]!.baseOffset;
    const lastOffset = lastOffsetOf(batches[batches.length - 1]!);
    if (lastOffset - firstOffset > MAX_RELATIVE_OFFSET) {
      throw new InvalidRecordError(`append spans ${lastOffset - firstOffset + 1} offsets`);
    }
    let maxTimestamp = -1;
    let offsetOfMaxTimestamp = -1;
    for (const h of batches) {
      if (h.maxTimestamp > maxTimestamp) {
        maxTimestamp = h.maxTimestamp;
        offsetOfMaxTimestamp = lastOffsetOf(h);
      }
    }
    this.maybeRoll(v.validBytes, maxTimestamp, firstOffset, lastOffset, batches.length);
    this.active.append(buf, v.validBytes, batches, lastOffset);
    this.leo = lastOffset + 1;
    let epochsChanged = false;
    for (const h of batches) {
      if (h.partitionLeaderEpoch >= 0 && h.partitionLeaderEpoch > this.epochCache.latestEpoch()) {
        epochsChanged = this.epochCache.assign(h.partitionLeaderEpoch, h.baseOffset) || epochsChanged;
      }
    }
    const fsyncEach = this.cfg.fsyncEveryBatch === true;
    if (epochsChanged) this.epochCache.persist(fsyncEach);
    this.unflushedRecords += v.recordCount;
    if (fsyncEach || this.unflushedRecords >= this.cfg.flushMessages) this.syncAppendedData();
    return {
      firstOffset,
      lastOffset,
      logAppendTimeMs,
      maxTimestamp,
      offsetOfMaxTimestamp,
      validBytes: v.validBytes,
      batchCount: batches.length,
      recordCount: v.recordCount,
    };
  }

  /** fdatasync of the appended data now (fsyncEveryBatch, flush.messages). */
  private syncAppendedData(): void {
    try {
      for (const s of this.segments) s.syncDataSync();
      if (this.dirNeedsSync) {
        fsyncDirSync(this.dir);
        this.dirNeedsSync = false;
      }
    } catch (err) {
      throw new KafkaStorageError(`fsync of ${this.topic}-${this.partition} failed`, err);
    }
    this.unflushedRecords = 0;
    this.lastFlushMsValue = this.clock();
  }

  private maybeRoll(
    sizeBytes: number,
    maxTimestamp: number,
    firstOffset: number,
    lastOffset: number,
    batchCount: number,
  ): void {
    const seg = this.active;
    const firstTs = seg.rollingBasedTimestamp;
    const waitedMs = firstTs !== null && firstTs >= 0 ? maxTimestamp - firstTs : this.clock() - seg.createdMs;
    if (
      seg.sizeBytes > this.cfg.segmentBytes - sizeBytes ||
      (seg.sizeBytes > 0 && waitedMs > this.cfg.segmentMs) ||
      seg.indexWouldOverflow(batchCount) ||
      lastOffset - seg.baseOffset > MAX_RELATIVE_OFFSET
    ) {
      this.rollAt(firstOffset);
    }
  }

  /** Starts a new active segment at the log end offset (no-op when the active one is empty). */
  roll(): void {
    this.ensureOpen();
    this.rollAt(this.leo);
  }

  private rollAt(newBase: number): void {
    const seg = this.active;
    if (seg.sizeBytes === 0) {
      if (seg.baseOffset === newBase) return;
      this.segments.pop();
      seg.markDeleted();
      seg.removeDeletedFiles();
      if (this.segments.length === 0 && newBase > this.logStart) {
        // The log held no data: nothing lies below the new segment, so the log starts there.
        this.logStart = newBase;
        this.hw = Math.max(this.hw, newBase);
        if (this.epochCache.truncateFromStart(newBase)) this.epochCache.persist(false);
      }
    } else {
      seg.onBecomeInactive();
    }
    this.segments.push(LogSegment.create(this.dir, newBase, this.segmentSettings(), this.cache, this.clock()));
    this.dirNeedsSync = true;
    // Like Kafka: the rolled segment is flushed in the background, advancing the recovery point.
    if (seg.sizeBytes > 0) this.runInBackground(this.flushUpTo(newBase));
  }

  private runInBackground(p: Promise<void>): void {
    const tracked = p.catch((err) => this.onBackgroundError(err));
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  // ---- read --------------------------------------------------------------------------------

  /**
   * Whole batches starting with the one that contains `startOffset`, stopping before batches
   * that start at or after `maxOffsetExclusive` (high watermark, LSO or LEO) and within
   * `maxBytes`, except that with `minOneBatch` the first batch comes back whole even when larger.
   * A read never spans two segments (like Kafka): a short result ends at a segment boundary.
   */
  read(startOffset: number, maxBytes: number, maxOffsetExclusive: number, minOneBatch = true): ReadResult {
    this.ensureOpen();
    if (startOffset < this.logStart || startOffset > this.leo) {
      throw new OffsetOutOfRangeError(startOffset, this.logStart, this.leo);
    }
    const bound = Math.min(maxOffsetExclusive, this.leo);
    const empty: ReadResult = { records: Buffer.alloc(0), firstBatchOffset: -1, nextOffset: startOffset };
    if (startOffset >= bound) return empty;
    for (let i = this.floorSegmentIndex(startOffset); i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      const segEnd = this.segments[i + 1]?.baseOffset ?? this.leo;
      const slice = seg.read(startOffset, Math.max(0, maxBytes), bound, minOneBatch, segEnd);
      if (slice !== null) return slice;
      if (segEnd >= bound) break;
    }
    return empty;
  }

  /** Index of the last segment whose base offset is <= `offset` (0 when none is). */
  private floorSegmentIndex(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  // ---- truncation --------------------------------------------------------------------------

  /**
   * Removes everything from the batch containing `offset` onwards (replication: the follower
   * discards its divergent suffix). The log end offset becomes that batch's base offset, which
   * equals `offset` when it is a batch boundary, as truncation points are.
   */
  truncateTo(offset: number): void {
    this.ensureOpen();
    if (offset < this.logStart) throw new TruncateBelowLogStartError(offset, this.logStart);
    if (offset >= this.leo) return;
    this.truncationGen++;
    const idx = this.floorSegmentIndex(offset);
    const seg = this.segments[idx]!;
    for (const doomed of this.segments.splice(idx + 1)) this.deleteSegment(doomed);
    if (!seg.active) seg.makeActive();
    const cutBase = seg.truncateTo(offset);
    // The cut batch starts after `offset` when `offset` falls in a gap between batches.
    const newLeo = Math.max(Math.min(cutBase ?? offset, offset), this.logStart);
    seg.nextOffset = newLeo;
    this.leo = newLeo;
    this.afterTruncation();
  }

  /** Deletes all data and restarts the log, empty, at `offset` (a replica far behind the leader). */
  truncateFullyAndStartAt(offset: number): void {
    this.ensureOpen();
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`invalid offset ${offset}`);
    this.truncationGen++;
    this.resetTo(offset);
    this.epochCache.clear();
    this.afterTruncation();
  }

  private resetTo(offset: number): void {
    for (const doomed of this.segments.splice(0)) this.deleteSegment(doomed);
    this.segments.push(LogSegment.create(this.dir, offset, this.segmentSettings(), this.cache, this.clock()));
    this.dirNeedsSync = true;
    this.leo = offset;
    this.logStart = offset;
    this.recoveryPointValue = offset;
    this.hw = offset;
  }

  private afterTruncation(): void {
    this.recoveryPointValue = Math.min(this.recoveryPointValue, this.leo);
    this.hw = Math.min(this.hw, this.leo);
    this.epochCache.truncateFromEnd(this.leo);
    this.epochCache.persist(this.cfg.fsyncEveryBatch === true);
    this.unflushedRecords = 0;
  }

  // ---- log start, retention, deletion ------------------------------------------------------

  /**
   * DeleteRecords: moves the log start offset to `offset` (the caller checks it is <= the high
   * watermark) and deletes segments wholly below it. Returns the new log start offset.
   */
  deleteRecordsBefore(offset: number): number {
    this.ensureOpen();
    if (offset > this.leo || offset < 0) throw new OffsetOutOfRangeError(offset, this.logStart, this.leo);
    if (offset <= this.logStart) return this.logStart;
    this.logStart = offset;
    this.hw = Math.max(this.hw, offset);
    if (this.epochCache.truncateFromStart(offset)) this.epochCache.persist(false);
    this.deleteOldSegments((_seg, next) => next !== undefined && next.baseOffset <= this.logStart);
    return this.logStart;
  }

  /**
   * Applies retention.ms, retention.bytes and the log start offset, deleting whole segments
   * from the oldest (never at or beyond the high watermark). Returns segments deleted.
   */
  applyRetention(nowMs: number): number {
    this.ensureOpen();
    let deleted = 0;
    const retentionMs = this.cfg.retentionMs;
    if (retentionMs >= 0) {
      deleted += this.deleteOldSegments((seg) => nowMs - seg.largestTimestampForRetention() > retentionMs);
    }
    const retentionBytes = this.cfg.retentionBytes;
    if (retentionBytes >= 0) {
      let excess = this.sizeBytes - retentionBytes;
      if (excess > 0) {
        deleted += this.deleteOldSegments((seg) => {
          if (excess - seg.sizeBytes < 0) return false;
          excess -= seg.sizeBytes;
          return true;
        });
      }
    }
    deleted += this.deleteOldSegments((_seg, next) => next !== undefined && next.baseOffset <= this.logStart);
    return deleted;
  }

  /** Kafka's deletableSegments + deleteSegments: a prefix of segments matching `predicate`. */
  private deleteOldSegments(predicate: (seg: LogSegment, next: LogSegment | undefined) => boolean): number {
    const deletable: LogSegment[] = [];
    let mustRoll = false;
    for (let i = 0; i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      const next = this.segments[i + 1];
      const lastAndEmpty = next === undefined && seg.sizeBytes === 0;
      const upperBound = next ? next.baseOffset : this.leo;
      // Nothing at or above the high watermark goes, so the log start never passes it.
      const matches = this.hw >= upperBound && predicate(seg, next);
      if (matches && next === undefined && seg.sizeBytes > 0) mustRoll = true;
      if (!matches || lastAndEmpty) break;
      deletable.push(seg);
    }
    if (deletable.length === 0) return 0;
    if (mustRoll) this.rollAt(this.leo);
    this.segments.splice(0, deletable.length);
    for (const seg of deletable) this.deleteSegment(seg);
    const newStart = Math.max(this.logStart, this.segments[0]!.baseOffset);
    if (newStart > this.logStart) {
      this.logStart = newStart;
      this.hw = Math.max(this.hw, newStart);
      if (this.epochCache.truncateFromStart(newStart)) this.epochCache.persist(false);
    }
    return deletable.length;
  }

  /** Renames the segment's files to `.deleted` and removes them after file.delete.delay.ms. */
  private deleteSegment(seg: LogSegment): void {
    seg.markDeleted();
    const delayMs = this.cfg.fileDeleteDelayMs;
    if (delayMs <= 0) {
      seg.removeDeletedFiles();
      return;
    }
    const timer = setTimeout(() => {
      this.pendingRemovals.delete(timer);
      try {
        seg.removeDeletedFiles();
      } catch (err) {
        this.onBackgroundError(err);
      }
    }, delayMs);
    timer.unref();
    this.pendingRemovals.set(timer, seg);
  }

  private removePendingNow(): void {
    for (const [timer, seg] of this.pendingRemovals) {
      clearTimeout(timer);
      seg.removeDeletedFiles();
    }
    this.pendingRemovals.clear();
  }

  // ---- ListOffsets -------------------------------------------------------------------------

  /**
   * ListOffsets by timestamp: the first offset at or after the log start whose record timestamp
   * is >= `timestampMs`, or null when there is none. Uses the time index, then reads one batch.
   */
  offsetForTimestamp(timestampMs: number): TimestampAndOffset | null {
    this.ensureOpen();
    for (let i = 0; i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      const next = this.segments[i + 1];
      if (next !== undefined && next.baseOffset <= this.logStart) continue;
      if (seg.sizeBytes === 0 || seg.maxTimestamp < timestampMs) continue;
      const found: { result: TimestampAndOffset | null } = { result: null };
      seg.visitBatchesForTimestamp(timestampMs, Math.max(this.logStart, seg.baseOffset), (h) => {
        if (h.maxTimestamp < timestampMs || lastOffsetOf(h) < this.logStart) return true;
        found.result = this.firstRecordAtOrAfter(seg, h, timestampMs);
        return found.result === null;
      });
      if (found.result !== null) return found.result;
    }
    return null;
  }

  private firstRecordAtOrAfter(seg: LogSegment, h: BatchHeader, timestampMs: number): TimestampAndOffset | null {
    const recs = recordTimestamps(seg.readBatch(h), { ...h, position: 0 });
    if (recs === null) {
      // Records that cannot be read: the batch is the best answer we can give.
      return {
        offset: Math.max(h.baseOffset, this.logStart),
        timestamp: h.maxTimestamp,
        leaderEpoch: h.partitionLeaderEpoch,
      };
    }
    for (const r of recs) {
      if (r.offset >= this.logStart && r.timestamp >= timestampMs) {
        return { offset: r.offset, timestamp: r.timestamp, leaderEpoch: h.partitionLeaderEpoch };
      }
    }
    return null;
  }

  /** ListOffsets MAX_TIMESTAMP (-3): the first record with the largest timestamp; offset -1 when none. */
  maxTimestamp(): TimestampAndOffset {
    this.ensureOpen();
    const none = { offset: -1, timestamp: -1, leaderEpoch: -1 };
    // The first batch (in log order) holding the largest visible timestamp.
    const best: { ts: number; seg: LogSegment | null; batch: BatchHeader | null } = { ts: -1, seg: null, batch: null };
    for (let i = 0; i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      const next = this.segments[i + 1];
      if (next !== undefined && next.baseOffset <= this.logStart) continue;
      if (seg.sizeBytes === 0) continue;
      if (seg.baseOffset >= this.logStart) {
        const ts = seg.maxTimestamp;
        if (ts > best.ts) {
          best.ts = ts;
          best.seg = seg;
          best.batch = null;
        }
        continue;
      }
      // The segment straddles the log start: only records at or after it count.
      seg.visitBatchesFrom(this.logStart, (h) => {
        let ts = h.maxTimestamp;
        if (h.baseOffset < this.logStart) {
          const recs = recordTimestamps(seg.readBatch(h), { ...h, position: 0 });
          if (recs !== null) {
            ts = -1;
            for (const r of recs) if (r.offset >= this.logStart && r.timestamp > ts) ts = r.timestamp;
          }
        }
        if (ts > best.ts) {
          best.ts = ts;
          best.seg = seg;
          best.batch = h;
        }
        return true;
      });
    }
    if (best.seg === null) return none;
    const batch = best.batch ?? best.seg.locate(best.seg.batchOffsetOfMaxTimestamp);
    if (batch === null) return none;
    const recs = recordTimestamps(best.seg.readBatch(batch), { ...batch, position: 0 });
    let offset = lastOffsetOf(batch);
    if (recs !== null) {
      const hit = recs.find((r) => r.offset >= this.logStart && r.timestamp === best.ts);
      if (hit) offset = hit.offset;
    }
    return { offset, timestamp: best.ts, leaderEpoch: batch.partitionLeaderEpoch };
  }

  // ---- leader epochs -----------------------------------------------------------------------

  latestEpoch(): number {
    return this.epochCache.latestEpoch();
  }

  /** OffsetForLeaderEpoch, with Kafka's semantics (see LeaderEpochCache.endOffsetFor). */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.epochCache.endOffsetFor(epoch, this.leo);
  }

  epochEntries(): EpochEntry[] {
    return this.epochCache.epochEntries();
  }

  /** The epoch of the batch containing `offset`, from the cache (-1 when unknown). */
  epochForOffset(offset: number): number {
    return this.epochCache.epochForOffset(offset);
  }

  /**
   * A new leader records its epoch at the current log end before appending (Kafka's
   * maybeAssignEpochStartOffset), so OffsetForLeaderEpoch answers correctly at once.
   */
  assignEpochStartOffset(epoch: number, startOffset: number): void {
    this.ensureOpen();
    if (this.epochCache.assign(epoch, startOffset)) this.epochCache.persist(this.cfg.fsyncEveryBatch === true);
  }

  /**
   * Drops epoch entries starting at the log end (epochs without records here). A follower
   * does this when told its log diverges at its end: an epoch it assigned when it led without
   * appending is not in the new leader's log (Kafka truncates its epoch cache likewise), and
   * reporting it as the last fetched epoch would get the same divergence answer forever.
   */
  truncateEpochsAtLogEnd(): void {
    this.ensureOpen();
    if (this.epochCache.truncateFromEnd(this.leo)) this.epochCache.persist(this.cfg.fsyncEveryBatch === true);
  }

  // ---- durability and lifecycle ------------------------------------------------------------

  /** fdatasyncs data and indexes up to the log end offset and advances the recovery point. */
  flush(): Promise<void> {
    this.ensureOpen();
    return this.flushUpTo(this.leo);
  }

  /** Flushes run one at a time so recovery-point updates stay ordered. */
  private flushUpTo(target: number): Promise<void> {
    const run = this.flushChain.then(() => this.doFlush(target));
    this.flushChain = run.catch(() => undefined);
    return run;
  }

  private async doFlush(requested: number): Promise<void> {
    if (this.closed) return;
    const target = Math.min(requested, this.leo);
    const gen = this.truncationGen;
    const records = this.unflushedRecords;
    const segs = this.segments.filter((s) => s.baseOffset < target && s.hasUnsyncedData);
    const jobs: Promise<void>[] = segs.map((s) => s.flush());
    if (this.epochCache.needsSync) jobs.push(this.epochCache.persistDurably());
    if (this.dirNeedsSync) {
      this.dirNeedsSync = false;
      jobs.push(fsyncDir(this.dir));
    }
    await Promise.all(jobs);
    if (gen === this.truncationGen && target > this.recoveryPointValue) this.recoveryPointValue = target;
    if (target >= this.leo) this.unflushedRecords = Math.max(0, this.unflushedRecords - records);
    this.lastFlushMsValue = this.clock();
  }

  /** Flushes, writes indexes and (standalone) the clean-shutdown marker, closes all files. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.background]);
    this.active.sealTimeIndex();
    await this.flushUpTo(this.leo);
    await this.flushChain;
    this.closed = true;
    for (const s of this.segments) s.close();
    this.removePendingNow();
    await this.epochCache.persistDurably();
    if (!this.managed) {
      writeCheckpointSync(
        path.join(this.dir, PARTITION_CLEAN_SHUTDOWN_FILE),
        [`log-start-offset ${this.logStart}`, `high-watermark ${this.hw}`, `recovery-point ${this.leo}`],
        true,
      );
    }
  }

  /**
   * Releases file handles without flushing or writing indexes, checkpoints or the clean-shutdown
   * marker: the state a killed process leaves behind (the page cache survives). For crash tests.
   */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.segments) s.abandon();
    for (const timer of this.pendingRemovals.keys()) clearTimeout(timer);
    this.pendingRemovals.clear();
  }

  /** Closes handles without flushing; the caller removes or renames the directory. */
  async closeForDeletion(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.background]);
    await this.flushChain;
    this.abandon();
  }

  /** Closes the log and removes its directory. */
  async delete(): Promise<void> {
    await this.closeForDeletion();
    await fsp.rm(this.dir, { recursive: true, force: true });
  }
}
