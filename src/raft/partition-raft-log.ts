// The RaftLog of a real node: `__cluster_metadata-0` as a PartitionLog (record batches stamped
// with leader epochs, the leader-epoch cache for divergence checks) plus its snapshot files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncDirSync } from '../storage/checkpoint-file.js';
import { DEFAULT_LOG_CONFIG, PartitionLog } from '../storage/index.js';
import type { RaftLog } from './raft-log.js';
import { leaderChangeBatch } from './records.js';
import {
  compareSnapshotIds,
  decodeSnapshot,
  listSnapshots,
  PARTIAL_SNAPSHOT_SUFFIX,
  SnapshotFormatError,
  sameSnapshotId,
  snapshotFileName,
  writeSnapshotFile,
} from './snapshot-file.js';
import type { OffsetAndEpoch, SnapshotId } from './types.js';

export class MetadataLogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataLogError';
  }
}

export interface PartitionRaftLogOptions {
  /** The partition directory (`<logDir>/__cluster_metadata-0`). */
  dir: string;
  topic: string;
  topicId: string;
  clock?: () => number;
  segmentBytes?: number;
  /** Snapshots kept besides the newest (a follower may be fetching an older one). */
  retainedSnapshots?: number;
}

export class PartitionRaftLog implements RaftLog<Buffer, Buffer> {
  private snapshots: SnapshotId[];
  private download: { id: SnapshotId; file: string; sizeBytes: number } | null = null;
  private readonly clock: () => number;
  private readonly retained: number;

  private constructor(
    readonly dir: string,
    readonly log: PartitionLog,
    snapshots: SnapshotId[],
    clock: () => number,
    retained: number,
  ) {
    this.snapshots = snapshots;
    this.clock = clock;
    this.retained = retained;
  }

  /** Opens the log and its snapshots and makes them agree: the newest valid snapshot wins. */
  static async open(opts: PartitionRaftLogOptions): Promise<PartitionRaftLog> {
    fs.mkdirSync(opts.dir, { recursive: true });
    for (const name of fs.readdirSync(opts.dir)) {
      if (name.endsWith(PARTIAL_SNAPSHOT_SUFFIX)) fs.rmSync(path.join(opts.dir, name), { force: true });
    }
    const clock = opts.clock ?? Date.now;
    // An unreadable snapshot (a disk fault) is dropped; an older one, or the log, takes over.
    const snapshots: SnapshotId[] = [];
    for (const id of listSnapshots(opts.dir)) {
      try {
        decodeSnapshot(fs.readFileSync(path.join(opts.dir, snapshotFileName(id))));
        snapshots.push(id);
      } catch (err) {
        if (!(err instanceof SnapshotFormatError)) throw err;
        fs.rmSync(path.join(opts.dir, snapshotFileName(id)), { force: true });
      }
    }
    const log = await PartitionLog.open({
      dir: opts.dir,
      topic: opts.topic,
      partition: 0,
      topicId: opts.topicId,
      config: {
        ...DEFAULT_LOG_CONFIG,
        retentionMs: -1,
        retentionBytes: -1,
        segmentBytes: opts.segmentBytes ?? 64 * 1024 * 1024,
        fileDeleteDelayMs: 0,
      },
      clock,
    });
    const raftLog = new PartitionRaftLog(opts.dir, log, snapshots, clock, opts.retainedSnapshots ?? 1);
    raftLog.reconcileWithSnapshot();
    return raftLog;
  }

  private reconcileWithSnapshot(): void {
    const snap = this.snapshots.at(-1);
    const log = this.log;
    if (snap === undefined) {
      if (log.logStartOffset > 0) {
        throw new MetadataLogError(
          `the metadata log starts at ${log.logStartOffset} but no snapshot covers the records below`,
        );
      }
      return;
    }
    const s = snap.endOffset;
    if (log.logStartOffset > s) {
      throw new MetadataLogError(`the metadata log starts at ${log.logStartOffset}, after the newest snapshot ${s}`);
    }
    if (log.logEndOffset < s || (s > log.logStartOffset && log.epochForOffset(s - 1) !== snap.epoch)) {
      // The log is behind or disagrees with the snapshot: the snapshot (committed state) wins.
      log.truncateFullyAndStartAt(s);
    } else if (s > log.logStartOffset) {
      log.highWatermark = s;
      log.deleteRecordsBefore(s);
    }
  }

  startOffset(): number {
    return this.log.logStartOffset;
  }

  endOffset(): number {
    return this.log.logEndOffset;
  }

  private snapshotAtStart(): SnapshotId | null {
    const start = this.log.logStartOffset;
    for (let i = this.snapshots.length - 1; i >= 0; i--) {
      if (this.snapshots[i]!.endOffset === start) return this.snapshots[i]!;
    }
    return null;
  }

  lastEpoch(): number {
    if (this.log.logEndOffset > this.log.logStartOffset) {
      const e = this.log.latestEpoch();
      if (e >= 0) return e;
    }
    return this.snapshotAtStart()?.epoch ?? 0;
  }

  endOffsetForEpoch(epoch: number): OffsetAndEpoch | null {
    const entries = this.log.epochEntries();
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (e.epoch <= epoch) return { epoch: e.epoch, offset: entries[i + 1]?.startOffset ?? this.log.logEndOffset };
    }
    const snap = this.log.logStartOffset > 0 ? this.snapshotAtStart() : null;
    if (snap !== null && snap.epoch <= epoch) {
      return { epoch: snap.epoch, offset: entries[0]?.startOffset ?? this.log.logEndOffset };
    }
    return null;
  }

  appendAsLeader(batch: Buffer, epoch: number): { baseOffset: number; lastOffset: number } {
    const r = this.log.appendAsLeader(batch, epoch, 'coordinator');
    return { baseOffset: r.firstOffset, lastOffset: r.lastOffset };
  }

  appendLeaderChange(epoch: number, leaderId: number, voters: readonly number[]): { baseOffset: number } {
    const r = this.log.appendAsLeader(leaderChangeBatch(epoch, leaderId, voters, this.clock()), epoch, 'coordinator');
    return { baseOffset: r.firstOffset };
  }

  appendAsFollower(records: Buffer): number {
    if (records.length === 0) return 0;
    const r = this.log.appendAsFollower(records);
    return r.firstOffset < 0 ? 0 : r.lastOffset - r.firstOffset + 1;
  }

  read(startOffset: number, maxBytes: number): Buffer {
    return this.log.read(startOffset, maxBytes, this.log.logEndOffset, true).records;
  }

  truncateTo(offset: number): void {
    this.log.truncateTo(offset);
  }

  flush(): Promise<void> {
    return this.log.flush();
  }

  // ---- snapshots ---------------------------------------------------------------------------

  latestSnapshotId(): SnapshotId | null {
    return this.snapshots.at(-1) ?? null;
  }

  readSnapshot(id: SnapshotId, position: number, maxBytes: number): { sizeBytes: number; bytes: Buffer } | null {
    if (!this.snapshots.some((s) => sameSnapshotId(s, id))) return null;
    let fd: number;
    try {
      fd = fs.openSync(path.join(this.dir, snapshotFileName(id)), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const sizeBytes = fs.fstatSync(fd).size;
      const length = Math.max(0, Math.min(maxBytes, sizeBytes - position));
      const bytes = Buffer.allocUnsafe(length);
      let read = 0;
      while (read < length) {
        const n = fs.readSync(fd, bytes, read, length - read, position + read);
        if (n === 0) break;
        read += n;
      }
      return { sizeBytes, bytes: bytes.subarray(0, read) };
    } finally {
      fs.closeSync(fd);
    }
  }

  writeSnapshotChunk(id: SnapshotId, position: number, bytes: Buffer): void {
    let d = this.download;
    if (position === 0 || d === null || !sameSnapshotId(d.id, id)) {
      if (position !== 0) throw new MetadataLogError(`snapshot chunk at ${position} without the start`);
      if (d !== null) fs.rmSync(d.file, { force: true });
      const file = path.join(this.dir, snapshotFileName(id).replace('.checkpoint', PARTIAL_SNAPSHOT_SUFFIX));
      fs.writeFileSync(file, Buffer.alloc(0));
      d = { id, file, sizeBytes: 0 };
      this.download = d;
    }
    if (position !== d.sizeBytes) throw new MetadataLogError(`snapshot chunk at ${position}, expected ${d.sizeBytes}`);
    fs.appendFileSync(d.file, bytes);
    d.sizeBytes += bytes.length;
  }

  installSnapshot(id: SnapshotId, sizeBytes: number): boolean {
    const d = this.download;
    this.download = null;
    if (d === null || !sameSnapshotId(d.id, id) || d.sizeBytes !== sizeBytes) {
      if (d !== null) fs.rmSync(d.file, { force: true });
      return false;
    }
    const bytes = fs.readFileSync(d.file);
    try {
      decodeSnapshot(bytes);
    } catch (err) {
      fs.rmSync(d.file, { force: true });
      if (err instanceof SnapshotFormatError) return false;
      throw err;
    }
    fs.rmSync(d.file, { force: true });
    this.addSnapshot(id, bytes);
    this.log.truncateFullyAndStartAt(id.endOffset);
    return true;
  }

  /** Stores a snapshot durably and drops snapshots older than the retained ones. */
  addSnapshot(id: SnapshotId, bytes: Buffer): void {
    writeSnapshotFile(this.dir, id, bytes);
    this.snapshots = this.snapshots.filter((s) => compareSnapshotIds(s, id) < 0);
    this.snapshots.push(id);
    const doomed = this.snapshots.splice(0, Math.max(0, this.snapshots.length - 1 - this.retained));
    for (const s of doomed) fs.rmSync(path.join(this.dir, snapshotFileName(s)), { force: true });
    if (doomed.length > 0) fsyncDirSync(this.dir);
  }

  /** Drops the log below `offset`, which a durable snapshot covers. */
  deleteBefore(offset: number): void {
    if (offset <= this.log.logStartOffset) return;
    if (this.log.highWatermark < offset) this.log.highWatermark = offset;
    this.log.deleteRecordsBefore(offset);
  }

  /** Reads the newest snapshot's bytes, or null when there is none. */
  readLatestSnapshot(): { id: SnapshotId; bytes: Buffer } | null {
    const id = this.latestSnapshotId();
    if (id === null) return null;
    return { id, bytes: fs.readFileSync(path.join(this.dir, snapshotFileName(id))) };
  }

  async close(): Promise<void> {
    if (this.download !== null) fs.rmSync(this.download.file, { force: true });
    this.download = null;
    await this.log.close();
  }

  /** Releases files without flushing: what a killed process leaves behind. For crash tests. */
  abandon(): void {
    this.log.abandon();
  }
}
