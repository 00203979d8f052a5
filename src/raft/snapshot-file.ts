// Snapshot files (KIP-630): `<endOffset>-<epoch>.checkpoint` in the metadata partition directory,
// holding record batches: a control batch with a SnapshotHeaderRecord, the state as records, and
// a control batch with a SnapshotFooterRecord. Written to a temporary file, fsynced and renamed,
// so a snapshot file that exists is complete.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type DecodedBatch, decodeRecordBatch, encodeRecordBatch, walkBatches } from '../records/index.js';
import { fsyncDirSync } from '../storage/checkpoint-file.js';
import {
  ControlType,
  controlTypeOf,
  parseSnapshotFooter,
  parseSnapshotHeader,
  snapshotFooterBatch,
  snapshotHeaderBatch,
} from './records.js';
import type { SnapshotId } from './types.js';

export const SNAPSHOT_SUFFIX = '.checkpoint';
/** A snapshot being written or fetched; never read as a snapshot. */
export const PARTIAL_SNAPSHOT_SUFFIX = '.checkpoint.part';
/** Records per data batch in a snapshot (bounds the size of one batch). */
const SNAPSHOT_RECORDS_PER_BATCH = 1024;

export class SnapshotFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotFormatError';
  }
}

export function snapshotFileName(id: SnapshotId): string {
  return `${String(id.endOffset).padStart(20, '0')}-${String(id.epoch).padStart(10, '0')}${SNAPSHOT_SUFFIX}`;
}

export function parseSnapshotFileName(name: string): SnapshotId | null {
  const m = /^(\d{20})-(\d{10})\.checkpoint$/.exec(name);
  if (!m) return null;
  const endOffset = Number(m[1]);
  const epoch = Number(m[2]);
  if (!Number.isSafeInteger(endOffset) || epoch > 0x7fffffff) return null;
  return { endOffset, epoch };
}

export function compareSnapshotIds(a: SnapshotId, b: SnapshotId): number {
  return a.endOffset - b.endOffset || a.epoch - b.epoch;
}

export function sameSnapshotId(a: SnapshotId | null, b: SnapshotId | null): boolean {
  return a !== null && b !== null && a.endOffset === b.endOffset && a.epoch === b.epoch;
}

/** Complete snapshots in `dir`, oldest first. */
export function listSnapshots(dir: string): SnapshotId[] {
  const ids: SnapshotId[] = [];
  for (const name of fs.readdirSync(dir)) {
    const id = parseSnapshotFileName(name);
    if (id !== null) ids.push(id);
  }
  return ids.sort(compareSnapshotIds);
}

/** Serializes a snapshot: header, the record values in batches, footer. */
export function encodeSnapshot(id: SnapshotId, values: readonly Buffer[], lastContainedLogTimestampMs: number): Buffer {
  const parts: Buffer[] = [snapshotHeaderBatch(id.epoch, lastContainedLogTimestampMs)];
  let offset = 1;
  for (let i = 0; i < values.length; i += SNAPSHOT_RECORDS_PER_BATCH) {
    const chunk = values.slice(i, i + SNAPSHOT_RECORDS_PER_BATCH);
    parts.push(
      encodeRecordBatch({
        baseOffset: offset,
        partitionLeaderEpoch: id.epoch,
        baseTimestamp: lastContainedLogTimestampMs,
        records: chunk.map((value) => ({ key: null, value, timestamp: lastContainedLogTimestampMs })),
      }),
    );
    offset += chunk.length;
  }
  parts.push(snapshotFooterBatch(id.epoch, lastContainedLogTimestampMs, offset));
  return Buffer.concat(parts);
}

export interface DecodedSnapshot {
  lastContainedLogTimestampMs: number;
  /** The record values between header and footer, in order. */
  values: Buffer[];
}

/** Parses and verifies (CRCs, header first, footer last, nothing cut off) a snapshot's bytes. */
export function decodeSnapshot(bytes: Buffer): DecodedSnapshot {
  const batches: DecodedBatch[] = [];
  let covered = 0;
  try {
    for (const h of walkBatches(bytes)) {
      batches.push(decodeRecordBatch(bytes, h.position, { verifyCrc: true }));
      covered = h.position + h.sizeBytes;
    }
  } catch (err) {
    throw new SnapshotFormatError(`snapshot batch is invalid: ${(err as Error).message}`);
  }
  if (covered !== bytes.length) throw new SnapshotFormatError(`snapshot is cut short at byte ${covered}`);
  const first = batches[0];
  const last = batches.at(-1);
  if (first === undefined || last === undefined || batches.length < 2) {
    throw new SnapshotFormatError('snapshot lacks its header or footer');
  }
  const isControlOf = (b: DecodedBatch, type: number) =>
    b.isControl && b.records.length === 1 && controlTypeOf(b.records[0]!) === type;
  if (!isControlOf(first, ControlType.SNAPSHOT_HEADER))
    throw new SnapshotFormatError('snapshot does not start with a header');
  if (!isControlOf(last, ControlType.SNAPSHOT_FOOTER))
    throw new SnapshotFormatError('snapshot does not end with a footer');
  const header = parseSnapshotHeader(first.records[0]!);
  parseSnapshotFooter(last.records[0]!);
  const values: Buffer[] = [];
  for (const b of batches.slice(1, -1)) {
    if (b.isControl) continue; // other control records (KIP-853 voters) are not state
    for (const r of b.records) values.push(r.value ?? Buffer.alloc(0));
  }
  return { lastContainedLogTimestampMs: header.lastContainedLogTimestampMs, values };
}

/** Writes `bytes` as snapshot `id` in `dir` durably: temporary file, fsync, rename, directory fsync. */
export function writeSnapshotFile(dir: string, id: SnapshotId, bytes: Buffer): void {
  const final = path.join(dir, snapshotFileName(id));
  const tmp = path.join(dir, snapshotFileName(id).replace(SNAPSHOT_SUFFIX, PARTIAL_SNAPSHOT_SUFFIX));
  const fd = fs.openSync(tmp, 'w');
  try {
    let written = 0;
    while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, final);
  fsyncDirSync(dir);
}

export function readSnapshotFile(dir: string, id: SnapshotId): Buffer {
  return fs.readFileSync(path.join(dir, snapshotFileName(id)));
}
