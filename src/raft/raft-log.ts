// What the Raft state machine needs from its replicated log. Appends, reads and truncation are
// synchronous (page-cache writes); durability is not: the state machine asks for a flush with a
// `flush` output and learns it finished through handleFlushed. Nothing counts as acknowledged
// until it is flushed, so an implementation may lose any unflushed suffix in a crash.
//
// R is the form records travel in (raw record batches for the real log); P is what a leader
// appends (metadata records for the real log).
import type { OffsetAndEpoch, SnapshotId } from './types.js';

export interface RaftLog<R, P> {
  /** First offset held in the log; the latest snapshot covers everything below it. */
  startOffset(): number;
  /** Offset after the last record. */
  endOffset(): number;
  /** Epoch of the last record; of the snapshot at the log start when the log is empty; 0 when neither. */
  lastEpoch(): number;
  /**
   * The largest epoch <= `epoch` this log knows (including the snapshot's epoch at the log start)
   * and the offset where it ends (the next epoch's start, or the log end). Null when `epoch` is
   * older than anything the log or its snapshot covers.
   */
  endOffsetForEpoch(epoch: number): OffsetAndEpoch | null;

  /** Appends a leader's payload as one batch stamped with `epoch`; returns the offsets it took. */
  appendAsLeader(payload: P, epoch: number): { baseOffset: number; lastOffset: number };
  /** Appends the control record a new leader writes at the start of its epoch. */
  appendLeaderChange(epoch: number, leaderId: number, voters: readonly number[]): { baseOffset: number };
  /**
   * Appends records copied from the leader. They must start at endOffset(); returns how many
   * offsets were appended (0 when `records` holds no whole batch).
   */
  appendAsFollower(records: R): number;
  /** Whole batches from `startOffset` up to the log end, within about `maxBytes`. */
  read(startOffset: number, maxBytes: number): R;
  /** Removes every record at or above `offset`. */
  truncateTo(offset: number): void;

  /** The newest snapshot, or null. */
  latestSnapshotId(): SnapshotId | null;
  /** Bytes of snapshot `id` from `position`; null when the snapshot is gone. */
  readSnapshot(id: SnapshotId, position: number, maxBytes: number): { sizeBytes: number; bytes: Buffer } | null;
  /** Writes a chunk of a snapshot being fetched from the leader (positions start at 0, contiguous). */
  writeSnapshotChunk(id: SnapshotId, position: number, bytes: Buffer): void;
  /**
   * Finishes a fetched snapshot: makes it durable and replaces the log with an empty log starting
   * at id.endOffset. Returns false (and discards the download) when the bytes do not form a valid
   * snapshot.
   */
  installSnapshot(id: SnapshotId, sizeBytes: number): boolean;
}
