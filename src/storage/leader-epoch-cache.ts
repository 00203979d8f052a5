// Leader-epoch cache: epoch -> first offset written in that epoch, with Kafka's semantics
// (LeaderEpochFileCache) for assignment, truncation and OffsetForLeaderEpoch lookups.
// Persisted as `leader-epoch-checkpoint` lines "<epoch> <startOffset>".
import fsp from 'node:fs/promises';
import path from 'node:path';
import { CheckpointFormatError, fsyncDir, readCheckpointSync, writeCheckpointSync } from './checkpoint-file.js';

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;
export const LEADER_EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint';

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export class LeaderEpochCache {
  /** Sorted by epoch and by start offset (both strictly increasing). */
  private entries: EpochEntry[] = [];
  private readonly file: string;
  /** The file on disk may differ from memory. */
  private dirty = false;
  /** The file content matches memory but has not been fsynced. */
  private unsynced = false;

  private constructor(file: string) {
    this.file = file;
  }

  /**
   * Loads the checkpoint. `valid` is false when the file is missing or malformed, in which case
   * the caller should rebuild the cache from the batches on disk.
   */
  static load(file: string): { cache: LeaderEpochCache; valid: boolean } {
    const invalid = () => {
      const empty = new LeaderEpochCache(file);
      empty.dirty = true; // rewritten on the next persist
      return { cache: empty, valid: false };
    };
    let lines: string[] | null;
    try {
      lines = readCheckpointSync(file);
    } catch (err) {
      if (err instanceof CheckpointFormatError) return invalid();
      throw err;
    }
    if (lines === null) return invalid();
    const cache = new LeaderEpochCache(file);
    for (const line of lines) {
      const m = /^(\d+) (\d+)$/.exec(line);
      if (!m) return invalid();
      const epoch = Number(m[1]);
      const startOffset = Number(m[2]);
      if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(startOffset) || epoch > 0x7fffffff) return invalid();
      cache.assign(epoch, startOffset);
    }
    cache.dirty = false;
    return { cache, valid: true };
  }

  epochEntries(): EpochEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  latestEntry(): EpochEntry | undefined {
    return this.entries.at(-1);
  }

  latestEpoch(): number {
    return this.entries.at(-1)?.epoch ?? UNDEFINED_EPOCH;
  }

  /**
   * Records that `epoch` starts at `startOffset`. Like Kafka, a new entry removes any later
   * entries that would break monotonicity; re-assigning the latest epoch at a later offset is a
   * no-op. Returns whether the cache changed.
   */
  assign(epoch: number, startOffset: number): boolean {
    if (epoch < 0 || startOffset < 0) throw new RangeError(`invalid leader epoch entry ${epoch}@${startOffset}`);
    const latest = this.entries.at(-1);
    if (latest && latest.epoch === epoch && startOffset >= latest.startOffset) return false;
    while (this.entries.length > 0) {
      const last = this.entries.at(-1)!;
      if (last.epoch >= epoch || last.startOffset >= startOffset) this.entries.pop();
      else break;
    }
    this.entries.push({ epoch, startOffset });
    this.dirty = true;
    return true;
  }

  /** Removes entries starting at or after `endOffset` (log truncation). */
  truncateFromEnd(endOffset: number): boolean {
    let changed = false;
    while (this.entries.length > 0 && this.entries.at(-1)!.startOffset >= endOffset) {
      this.entries.pop();
      changed = true;
    }
    if (changed) this.dirty = true;
    return changed;
  }

  /**
   * Drops entries wholly before `startOffset` and moves the epoch that covers it to start there
   * (the log start moved forward). An entry starting exactly at `startOffset` is kept.
   */
  truncateFromStart(startOffset: number): boolean {
    let lastRemoved: EpochEntry | undefined;
    let n = 0;
    while (n < this.entries.length && this.entries[n]!.startOffset <= startOffset) {
      lastRemoved = this.entries[n];
      n++;
    }
    if (lastRemoved === undefined) return false;
    if (n === 1 && lastRemoved.startOffset === startOffset) return false;
    this.entries.splice(0, n, { epoch: lastRemoved.epoch, startOffset });
    this.dirty = true;
    return true;
  }

  clear(): void {
    if (this.entries.length > 0) this.dirty = true;
    this.entries = [];
  }

  /**
   * OffsetForLeaderEpoch: the largest epoch <= `requestedEpoch` and the start offset of the next
   * higher epoch, or the log end offset when the latest epoch is asked for; undefined (-1, -1)
   * when the epoch is above every known epoch or the cache is empty.
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    const undef = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === UNDEFINED_EPOCH) return undef;
    const latest = this.entries.at(-1);
    if (latest && latest.epoch === requestedEpoch) return { epoch: requestedEpoch, endOffset: logEndOffset };
    const higherIdx = this.entries.findIndex((e) => e.epoch > requestedEpoch);
    if (higherIdx < 0) return undef;
    const higher = this.entries[higherIdx]!;
    if (higherIdx === 0) return { epoch: requestedEpoch, endOffset: higher.startOffset };
    return { epoch: this.entries[higherIdx - 1]!.epoch, endOffset: higher.startOffset };
  }

  /** The epoch in force at `offset`, or -1 when unknown. */
  epochForOffset(offset: number): number {
    let epoch = UNDEFINED_EPOCH;
    for (const e of this.entries) {
      if (e.startOffset > offset) break;
      epoch = e.epoch;
    }
    return epoch;
  }

  get needsWrite(): boolean {
    return this.dirty;
  }

  get needsSync(): boolean {
    return this.dirty || this.unsynced;
  }

  /** Writes the checkpoint if memory changed (or fsyncs it when `sync` and it is not yet durable). */
  persist(sync: boolean): void {
    if (!this.dirty && !(sync && this.unsynced)) return;
    writeCheckpointSync(
      this.file,
      this.entries.map((e) => `${e.epoch} ${e.startOffset}`),
      sync,
    );
    this.dirty = false;
    this.unsynced = !sync;
    this.writes++;
  }

  private writes = 0;

  /**
   * Makes the checkpoint durable without blocking the event loop on fsync: the file is written
   * (and renamed into place) now, the fdatasync of it and of its directory run in the thread
   * pool. Closing or flushing thousands of partitions then syncs them in parallel.
   */
  async persistDurably(): Promise<void> {
    if (!this.needsSync) return;
    this.persist(false);
    const written = this.writes;
    const h = await fsp.open(this.file, 'r');
    try {
      await h.datasync();
    } finally {
      await h.close();
    }
    await fsyncDir(path.dirname(this.file));
    // A write that replaced the file meanwhile is not covered by this sync.
    if (this.writes === written) this.unsynced = false;
  }
}
