// Idempotent producer state per partition: each producer id's epoch and its last few
// batches' sequence ranges, to reject gaps (OUT_OF_ORDER_SEQUENCE_NUMBER), fence old
// epochs (INVALID_PRODUCER_EPOCH) and answer retried batches with their original offsets.
// The state is rebuilt from batch headers in the log, starting at a snapshot written on
// clean shutdown, so it survives restarts.
import { existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '../protocol/errors.js';
import {
  type BatchHeader,
  checkBatchHeader,
  isControl,
  NO_PRODUCER_EPOCH,
  NO_SEQUENCE,
  readBatchHeader,
} from '../records/batch-header.js';
import type { PartitionLog } from '../storage/index.js';
import { errorMessage, logger } from '../util/log.js';

/** Kafka keeps the metadata of the last five batches per producer for duplicate detection. */
export const MAX_CACHED_BATCHES = 5;
const SNAPSHOT_FILE = 'producer-state.snapshot';
/** Without a usable snapshot, a large log is scanned only over its last this-many offsets. */
const REBUILD_SCAN_OFFSETS = 4_000_000;
const REBUILD_FULL_SCAN_MAX_BYTES = 256 * 1024 * 1024;
const READ_CHUNK_BYTES = 8 * 1024 * 1024;

export interface BatchMetadata {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
  timestampMs: number;
}

export interface ProducerEntry {
  epoch: number;
  batches: BatchMetadata[];
  lastTimestampMs: number;
}

export type ProducerCheck =
  | { kind: 'ok' }
  | { kind: 'duplicate'; firstOffset: number; lastOffset: number }
  | { kind: 'error'; errorCode: number; message: string };

function lastSeqOf(h: BatchHeader): number {
  return (h.baseSequence + h.lastOffsetDelta) % 0x80000000;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === 0x7fffffff);
}

export class ProducerStateManager {
  private readonly log = logger('producer-state');
  readonly producers = new Map<number, ProducerEntry>();

  /** Checks a request's batches in order against the state (without changing it). */
  check(batches: BatchHeader[]): ProducerCheck {
    const pending = new Map<number, { epoch: number; lastSeq: number }>();
    for (const h of batches) {
      if (h.producerId < 0) continue;
      const entry = this.producers.get(h.producerId);
      const seen = pending.get(h.producerId);
      const currentEpoch = seen?.epoch ?? entry?.epoch ?? NO_PRODUCER_EPOCH;
      if (h.producerEpoch < currentEpoch) {
        return {
          kind: 'error',
          errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
          message: `Producer ${h.producerId}'s epoch ${h.producerEpoch} is older than the current epoch ${currentEpoch}`,
        };
      }
      if (!seen && entry && h.producerEpoch === entry.epoch) {
        const dup = entry.batches.find((b) => b.firstSeq === h.baseSequence && b.lastSeq === lastSeqOf(h));
        if (dup) return { kind: 'duplicate', firstOffset: dup.firstOffset, lastOffset: dup.lastOffset };
      }
      if (h.baseSequence === NO_SEQUENCE) {
        return {
          kind: 'error',
          errorCode: ErrorCode.INVALID_RECORD,
          message: 'An idempotent batch must carry a sequence number',
        };
      }
      if (h.producerEpoch !== currentEpoch) {
        // A new epoch starts at sequence 0, unless the producer is unknown here.
        if (h.baseSequence !== 0 && currentEpoch !== NO_PRODUCER_EPOCH) {
          return {
            kind: 'error',
            errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
            message: `Producer ${h.producerId}: sequence ${h.baseSequence} for new epoch ${h.producerEpoch} must be 0`,
          };
        }
      } else {
        const lastSeq = seen?.lastSeq ?? entry?.batches[entry.batches.length - 1]?.lastSeq ?? NO_SEQUENCE;
        // State lost to retention or deletion accepts any sequence, as Kafka does.
        if (lastSeq !== NO_SEQUENCE && !inSequence(lastSeq, h.baseSequence)) {
          return {
            kind: 'error',
            errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
            message: `Out of order sequence number for producer ${h.producerId}: ${h.baseSequence} (expected ${lastSeq + 1})`,
          };
        }
      }
      pending.set(h.producerId, { epoch: h.producerEpoch, lastSeq: lastSeqOf(h) });
    }
    return { kind: 'ok' };
  }

  /** Records an appended batch (with its assigned base offset). */
  update(h: BatchHeader, baseOffset: number, timestampMs: number): void {
    if (h.producerId < 0 || isControl(h.attributes)) return;
    let entry = this.producers.get(h.producerId);
    if (!entry || entry.epoch !== h.producerEpoch) {
      entry = { epoch: h.producerEpoch, batches: [], lastTimestampMs: timestampMs };
      this.producers.set(h.producerId, entry);
    }
    entry.batches.push({
      firstSeq: h.baseSequence,
      lastSeq: lastSeqOf(h),
      firstOffset: baseOffset,
      lastOffset: baseOffset + h.lastOffsetDelta,
      timestampMs,
    });
    if (entry.batches.length > MAX_CACHED_BATCHES) entry.batches.shift();
    entry.lastTimestampMs = Math.max(entry.lastTimestampMs, timestampMs);
  }

  /** Forgets producers silent for longer than producer.id.expiration.ms. */
  expire(nowMs: number, expirationMs: number): void {
    for (const [id, e] of this.producers) if (nowMs - e.lastTimestampMs >= expirationMs) this.producers.delete(id);
  }

  /** Drops state for batches at or after `offset` (the log was truncated). */
  truncateFrom(offset: number): void {
    for (const [id, e] of this.producers) {
      e.batches = e.batches.filter((b) => b.lastOffset < offset);
      if (e.batches.length === 0) this.producers.delete(id);
    }
  }

  /** Loads the snapshot (if any) and replays batch headers of the log after it. */
  load(plog: PartitionLog): void {
    const path = join(plog.dir, SNAPSHOT_FILE);
    let from = Math.max(plog.logStartOffset, 0);
    let snapshotUsed = false;
    if (existsSync(path)) {
      try {
        const snap = JSON.parse(readFileSync(path, 'utf8')) as { offset: number; producers: [number, ProducerEntry][] };
        if (snap.offset <= plog.logEndOffset && snap.offset >= plog.logStartOffset) {
          for (const [id, e] of snap.producers) this.producers.set(id, e);
          from = snap.offset;
          snapshotUsed = true;
        }
      } catch (err) {
        this.log.warn(`ignoring unreadable producer snapshot ${path}: ${errorMessage(err)}`);
      }
      // The snapshot describes a moment; after it is loaded the log is the truth.
      unlinkSync(path);
    }
    if (!snapshotUsed && plog.sizeBytes > REBUILD_FULL_SCAN_MAX_BYTES) {
      // Scan only the tail: producers idle longer than that are treated as unknown, which
      // Kafka's sequence check tolerates.
      from = Math.max(from, plog.logEndOffset - REBUILD_SCAN_OFFSETS);
    }
    let offset = from;
    const end = plog.logEndOffset;
    while (offset < end) {
      const { records, nextOffset } = plog.read(offset, READ_CHUNK_BYTES, end, true);
      let pos = 0;
      while (pos < records.length && checkBatchHeader(records, pos, records.length) === null) {
        const h = readBatchHeader(records, pos);
        if (h.baseOffset + h.lastOffsetDelta >= offset) this.update(h, h.baseOffset, h.maxTimestamp);
        pos += h.sizeBytes;
      }
      if (nextOffset <= offset) break;
      offset = nextOffset;
    }
  }

  /** Writes the snapshot (clean shutdown). */
  writeSnapshot(plog: PartitionLog): void {
    if (this.producers.size === 0) return;
    const path = join(plog.dir, SNAPSHOT_FILE);
    const body = JSON.stringify({ offset: plog.logEndOffset, producers: [...this.producers.entries()] });
    writeFileSync(`${path}.tmp`, body);
    renameSync(`${path}.tmp`, path);
  }
}
