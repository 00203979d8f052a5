// All partition logs of a broker across its log dirs: loading (with recovery after an unclean
// stop), placement of new partitions, deletion, the per-log-dir checkpoint files and clean-shutdown
// marker, and the background tasks (retention, flush.ms, checkpoints).
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import {
  CheckpointFormatError,
  formatPartitionOffsets,
  fsyncDir,
  type PartitionOffset,
  parsePartitionOffsets,
  readCheckpointSync,
  writeCheckpoint,
} from './checkpoint-file.js';
import { FLUSH_NEVER, type LogConfig, validateLogConfig } from './config.js';
import { KafkaStorageError } from './errors.js';
import { PartitionLog, partitionDirName } from './partition-log.js';
import type { RecordsDecompressor } from './record-scan.js';
import { SegmentCache, type SegmentCacheOptions } from './segment-cache.js';

export const CLEAN_SHUTDOWN_FILE = '.eddy_cleanshutdown';
export const RECOVERY_POINT_CHECKPOINT_FILE = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT_FILE = 'log-start-offset-checkpoint';
export const HIGH_WATERMARK_CHECKPOINT_FILE = 'replication-offset-checkpoint';
const DELETE_DIR_SUFFIX = '-delete';

export interface LogManagerOptions {
  logDirs: string[];
  /** Config for logs found on disk until the broker applies their topic configs (updateConfig). */
  defaultConfig: LogConfig;
  clock?: () => number;
  /** log.retention.check.interval.ms */
  retentionCheckIntervalMs?: number;
  /**
   * How often logs are checked against flush.ms. Kafka's log.flush.scheduler.interval.ms defaults
   * to "never", which leaves flush.ms inert; we check every second so flush.ms works when set.
   */
  flushSchedulerIntervalMs?: number;
  /** log.flush.offset.checkpoint.interval.ms */
  recoveryPointCheckpointIntervalMs?: number;
  /** log.flush.start.offset.checkpoint.interval.ms */
  logStartOffsetCheckpointIntervalMs?: number;
  /** replica.high.watermark.checkpoint.interval.ms */
  highWatermarkCheckpointIntervalMs?: number;
  /** Bounds on open inactive segment files and loaded indexes, shared by all logs. */
  segmentCache?: SegmentCacheOptions;
  decompress?: RecordsDecompressor;
  /** Failures of background work. Defaults to printing to stderr. */
  onBackgroundError?: (err: unknown) => void;
}

interface DirCheckpoints {
  recoveryPoints: Map<string, number>;
  logStartOffsets: Map<string, number>;
  highWatermarks: Map<string, number>;
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Splits `<topic>-<partition>`; null for anything else (checkpoints, markers, deleted dirs). */
export function parsePartitionDirName(name: string): { topic: string; partition: number } | null {
  const m = /^(.+)-(\d+)$/.exec(name);
  if (!m) return null;
  const partition = Number(m[2]);
  if (!Number.isSafeInteger(partition) || partition > 0x7fffffff) return null;
  return { topic: m[1]!, partition };
}

export class LogManager {
  readonly logDirs: readonly string[];
  private readonly defaultConfig: LogConfig;
  private readonly clock: () => number;
  private readonly opts: LogManagerOptions;
  private readonly cache: SegmentCache;
  private readonly logs = new Map<string, PartitionLog>();
  private readonly logDirOf = new Map<PartitionLog, string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly deletions = new Set<Promise<void>>();
  private readonly checkpointChains = new Map<string, Promise<void>>();
  private readonly onBackgroundError: (err: unknown) => void;
  private closed = false;

  private constructor(opts: LogManagerOptions) {
    this.opts = opts;
    this.logDirs = opts.logDirs.map((d) => path.resolve(d));
    this.defaultConfig = { ...opts.defaultConfig };
    this.clock = opts.clock ?? Date.now;
    this.cache = new SegmentCache(opts.segmentCache);
    this.onBackgroundError =
      opts.onBackgroundError ?? ((err) => console.error('[eddy storage] background task failed:', err));
  }

  /** Opens every log dir, loading (and, after an unclean stop, recovering) each partition. */
  static async open(opts: LogManagerOptions): Promise<LogManager> {
    if (opts.logDirs.length === 0) throw new RangeError('at least one log dir is required');
    validateLogConfig(opts.defaultConfig);
    const mgr = new LogManager(opts);
    for (const dir of mgr.logDirs) await mgr.loadDir(dir);
    return mgr;
  }

  private async loadDir(dir: string): Promise<void> {
    await fsp.mkdir(dir, { recursive: true });
    const marker = path.join(dir, CLEAN_SHUTDOWN_FILE);
    const cleanShutdown = fs.existsSync(marker);
    const cp = this.readCheckpoints(dir);
    for (const ent of await fsp.readdir(dir, { withFileTypes: true })) {
      if (!ent.isDirectory()) continue;
      if (ent.name.endsWith(DELETE_DIR_SUFFIX)) {
        // A deletion the previous process did not finish.
        this.trackDeletion(fsp.rm(path.join(dir, ent.name), { recursive: true, force: true }));
        continue;
      }
      const id = parsePartitionDirName(ent.name);
      // The metadata log (__cluster_metadata-0) belongs to the quorum, not to the LogManager.
      if (id === null || id.topic === '__cluster_metadata') continue;
      const k = key(id.topic, id.partition);
      if (this.logs.has(k)) {
        throw new KafkaStorageError(`partition ${ent.name} exists in more than one log dir`);
      }
      const log = await PartitionLog.open({
        dir: path.join(dir, ent.name),
        topic: id.topic,
        partition: id.partition,
        config: this.defaultConfig,
        clock: this.clock,
        state: {
          cleanShutdown,
          recoveryPoint: cp.recoveryPoints.get(k) ?? 0,
          logStartOffset: cp.logStartOffsets.get(k),
          highWatermark: cp.highWatermarks.get(k),
        },
        segmentCache: this.cache,
        decompress: this.opts.decompress,
        onBackgroundError: this.onBackgroundError,
      });
      this.logs.set(k, log);
      this.logDirOf.set(log, dir);
    }
    if (cleanShutdown) {
      // Only now: a crash during loading must still look unclean to the next start.
      fs.unlinkSync(marker);
      await fsyncDir(dir);
    }
  }

  private readCheckpoints(dir: string): DirCheckpoints {
    const read = (name: string): Map<string, number> => {
      const file = path.join(dir, name);
      const out = new Map<string, number>();
      let entries: PartitionOffset[] = [];
      try {
        const lines = readCheckpointSync(file);
        if (lines !== null) entries = parsePartitionOffsets(file, lines);
      } catch (err) {
        // A damaged checkpoint only costs a longer recovery (recovery points default to 0).
        if (!(err instanceof CheckpointFormatError)) throw err;
      }
      for (const e of entries) out.set(key(e.topic, e.partition), e.offset);
      return out;
    };
    return {
      recoveryPoints: read(RECOVERY_POINT_CHECKPOINT_FILE),
      logStartOffsets: read(LOG_START_OFFSET_CHECKPOINT_FILE),
      highWatermarks: read(HIGH_WATERMARK_CHECKPOINT_FILE),
    };
  }

  private ensureOpen(): void {
    if (this.closed) throw new KafkaStorageError('log manager is closed');
  }

  getLog(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(key(topic, partition));
  }

  allLogs(): PartitionLog[] {
    return [...this.logs.values()];
  }

  /** The log dir holding a log. */
  logDirOfLog(log: PartitionLog): string | undefined {
    return this.logDirOf.get(log);
  }

  /**
   * The existing log, or a new one placed on the log dir with the fewest partitions. An existing
   * log gets `config` applied.
   */
  async getOrCreateLog(
    topic: string,
    partition: number,
    topicId: string | undefined,
    config: LogConfig,
  ): Promise<PartitionLog> {
    this.ensureOpen();
    const k = key(topic, partition);
    const existing = this.logs.get(k);
    if (existing) {
      existing.updateConfig(config);
      return existing;
    }
    const counts = new Map<string, number>(this.logDirs.map((d) => [d, 0]));
    for (const d of this.logDirOf.values()) counts.set(d, (counts.get(d) ?? 0) + 1);
    let dir = this.logDirs[0]!;
    for (const d of this.logDirs) if (counts.get(d)! < counts.get(dir)!) dir = d;
    const log = await PartitionLog.open({
      dir: path.join(dir, partitionDirName(topic, partition)),
      topic,
      partition,
      topicId,
      config,
      clock: this.clock,
      state: { cleanShutdown: true },
      segmentCache: this.cache,
      decompress: this.opts.decompress,
      onBackgroundError: this.onBackgroundError,
    });
    // Another caller may have created it while we awaited.
    const raced = this.logs.get(k);
    if (raced) {
      await log.close();
      return raced;
    }
    this.logs.set(k, log);
    this.logDirOf.set(log, dir);
    return log;
  }

  /**
   * Removes a partition: its directory is renamed to `<topic>-<partition>.<uuid>-delete` at once
   * (so a restart never loads it) and removed in the background.
   */
  async deleteLog(topic: string, partition: number): Promise<void> {
    const k = key(topic, partition);
    const log = this.logs.get(k);
    if (!log) return;
    this.logs.delete(k);
    const dir = this.logDirOf.get(log)!;
    this.logDirOf.delete(log);
    await log.closeForDeletion();
    const doomed = path.join(
      dir,
      `${partitionDirName(topic, partition)}.${randomUUID().replaceAll('-', '')}${DELETE_DIR_SUFFIX}`,
    );
    await fsp.rename(log.dir, doomed);
    await fsyncDir(dir);
    this.trackDeletion(fsp.rm(doomed, { recursive: true, force: true }));
  }

  private trackDeletion(p: Promise<void>): void {
    const tracked = p.catch((err) => this.onBackgroundError(err));
    this.deletions.add(tracked);
    void tracked.finally(() => this.deletions.delete(tracked));
  }

  // ---- background tasks --------------------------------------------------------------------

  /** Starts retention checks, the flush.ms scheduler and periodic checkpoint writes. */
  startBackgroundTasks(): void {
    this.ensureOpen();
    if (this.timers.length > 0) return;
    const o = this.opts;
    this.every(o.retentionCheckIntervalMs ?? 300_000, () => this.runRetention());
    this.every(o.flushSchedulerIntervalMs ?? 1000, () => this.flushDueLogs());
    this.every(o.recoveryPointCheckpointIntervalMs ?? 60_000, () => this.checkpointRecoveryPoints());
    this.every(o.logStartOffsetCheckpointIntervalMs ?? 60_000, () => this.checkpointLogStartOffsets());
    this.every(o.highWatermarkCheckpointIntervalMs ?? 5000, () => this.checkpointHighWatermarks());
  }

  private every(intervalMs: number, task: () => Promise<unknown> | unknown): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || this.closed) return;
      busy = true;
      const run = (async () => {
        try {
          await task();
        } catch (err) {
          this.onBackgroundError(err);
        } finally {
          busy = false;
        }
      })();
      this.running.add(run);
      void run.finally(() => this.running.delete(run));
    }, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }

  /** One retention pass over every log; returns segments deleted. */
  runRetention(): number {
    let deleted = 0;
    const now = this.clock();
    for (const log of this.logs.values()) {
      if (!log.isClosed) deleted += log.applyRetention(now);
    }
    return deleted;
  }

  /** Flushes logs whose flush.ms has elapsed since their last flush. */
  async flushDueLogs(): Promise<void> {
    const now = this.clock();
    const due: Promise<void>[] = [];
    for (const log of this.logs.values()) {
      const flushMs = log.config.flushMs;
      if (flushMs >= FLUSH_NEVER || log.isClosed) continue;
      if (now - log.lastFlushMs >= flushMs) due.push(log.flush());
    }
    await Promise.all(due);
  }

  private byDir(value: (log: PartitionLog) => number): Map<string, PartitionOffset[]> {
    const out = new Map<string, PartitionOffset[]>(this.logDirs.map((d) => [d, []]));
    for (const log of this.logs.values()) {
      out.get(this.logDirOf.get(log)!)!.push({ topic: log.topic, partition: log.partition, offset: value(log) });
    }
    return out;
  }

  private async writeDirCheckpoints(name: string, value: (log: PartitionLog) => number): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const [dir, entries] of this.byDir(value)) {
      const file = path.join(dir, name);
      // Writes of one file are serialized so an older snapshot never lands after a newer one.
      const prev = this.checkpointChains.get(file) ?? Promise.resolve();
      const next = prev.then(() => writeCheckpoint(file, formatPartitionOffsets(entries), true));
      this.checkpointChains.set(
        file,
        next.catch(() => undefined),
      );
      jobs.push(next);
    }
    await Promise.all(jobs);
  }

  checkpointRecoveryPoints(): Promise<void> {
    return this.writeDirCheckpoints(RECOVERY_POINT_CHECKPOINT_FILE, (log) => log.recoveryPoint);
  }

  checkpointLogStartOffsets(): Promise<void> {
    return this.writeDirCheckpoints(LOG_START_OFFSET_CHECKPOINT_FILE, (log) => log.logStartOffset);
  }

  checkpointHighWatermarks(): Promise<void> {
    return this.writeDirCheckpoints(HIGH_WATERMARK_CHECKPOINT_FILE, (log) => log.highWatermark);
  }

  /** Writes all three checkpoint files in every log dir. */
  async checkpointAll(): Promise<void> {
    await Promise.all([
      this.checkpointRecoveryPoints(),
      this.checkpointLogStartOffsets(),
      this.checkpointHighWatermarks(),
    ]);
  }

  /** Flushes and closes every log, writes the checkpoints and the clean-shutdown markers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    await Promise.all([...this.running]);
    const logs = [...this.logs.values()];
    await Promise.all(logs.map((log) => log.close()));
    await this.checkpointAll();
    await Promise.all([...this.deletions]);
    for (const dir of this.logDirs) {
      const marker = path.join(dir, CLEAN_SHUTDOWN_FILE);
      await fsp.writeFile(marker, '');
      const h = await fsp.open(marker, 'r');
      try {
        await h.sync();
      } finally {
        await h.close();
      }
      await fsyncDir(dir);
    }
  }
}
