// An in-memory RaftLog for the simulation, with a disk model: what a flush made durable, what a
// crash keeps (the durable log, plus a torn prefix of what was written after the last flush, or
// with a truncation made after the flush persisted), and snapshots written durably.
import type { RaftLog } from '../../../src/raft/raft-log.js';
import type { OffsetAndEpoch, SnapshotId } from '../../../src/raft/types.js';
import type { Prng } from './prng.js';

export interface SimEntry {
  readonly offset: number;
  readonly epoch: number;
  /** 'data' entries carry a client value; 'leader' entries the id of the leader that wrote them. */
  readonly kind: 'data' | 'leader';
  readonly value: number;
}

/** Fetch responses carry a copy of the entries. */
export type SimRecords = SimEntry[];

/** Each entry counts as this many bytes against fetch limits. */
export const SIM_ENTRY_BYTES = 100;

export interface LogImage {
  start: number;
  entries: SimEntry[];
}

interface StoredSnapshot {
  id: SnapshotId;
  bytes: Buffer;
}

export function sameEntry(a: SimEntry, b: SimEntry): boolean {
  return a.offset === b.offset && a.epoch === b.epoch && a.kind === b.kind && a.value === b.value;
}

/** The snapshot payload: the state machine's hash over everything below endOffset. */
export function encodeSimSnapshot(id: SnapshotId, hash: number, paddingBytes: number): Buffer {
  const buf = Buffer.alloc(24 + paddingBytes);
  buf.writeUInt32BE(0xeddc0de, 0);
  buf.writeDoubleBE(id.endOffset, 4);
  buf.writeInt32BE(id.epoch, 12);
  buf.writeUInt32BE(hash >>> 0, 16);
  buf.writeUInt32BE(paddingBytes, 20);
  for (let i = 0; i < paddingBytes; i++) buf[24 + i] = (i * 31 + hash) & 0xff;
  return buf;
}

export function decodeSimSnapshot(buf: Buffer): { id: SnapshotId; hash: number } | null {
  if (buf.length < 24 || buf.readUInt32BE(0) !== 0xeddc0de) return null;
  const padding = buf.readUInt32BE(20);
  if (buf.length !== 24 + padding) return null;
  const hash = buf.readUInt32BE(16);
  for (let i = 0; i < padding; i++) if (buf[24 + i] !== ((i * 31 + hash) & 0xff)) return null;
  return { id: { endOffset: buf.readDoubleBE(4), epoch: buf.readInt32BE(12) }, hash };
}

/** What survives a crash: durable log content and snapshots (shared by a node's incarnations). */
export class SimDisk {
  durable: LogImage = { start: 0, entries: [] };
  /** Records removed by truncation over all incarnations (for statistics). */
  truncatedRecords = 0;
  snapshots: StoredSnapshot[] = [];

  latestSnapshot(): StoredSnapshot | null {
    return this.snapshots.at(-1) ?? null;
  }

  /**
   * The log a restarted node finds, given what the crashed node had in memory. Flushed data is
   * never lost; unflushed appends survive as a random prefix; a truncation made since the last
   * flush may or may not have reached the disk.
   */
  recover(memory: LogImage, rng: Prng): LogImage {
    const d = this.durable;
    const dEnd = d.start + d.entries.length;
    const mEnd = memory.start + memory.entries.length;
    const lo = Math.max(d.start, memory.start);
    let common = lo;
    while (common < Math.min(dEnd, mEnd)) {
      const a = d.entries[common - d.start]!;
      const b = memory.entries[common - memory.start]!;
      if (!sameEntry(a, b)) break;
      common++;
    }
    const extendsDurable = memory.start <= dEnd && common === dEnd && mEnd >= dEnd;
    let image: LogImage;
    const roll = rng.next();
    if (extendsDurable && roll < 0.8) {
      // The durable log plus a torn prefix of the appends that followed it.
      const keep = rng.int(dEnd, mEnd);
      const tail = memory.entries.slice(0, keep - memory.start);
      image =
        memory.start <= d.start
          ? { start: memory.start, entries: tail }
          : { start: d.start, entries: [...d.entries.slice(0, memory.start - d.start), ...tail] };
    } else if (!extendsDurable && common >= memory.start && roll < 0.6) {
      // A truncation after the last flush reached the disk, with a torn part of what followed.
      const keep = rng.int(common, mEnd);
      image = { start: memory.start, entries: memory.entries.slice(0, keep - memory.start) };
    } else {
      image = { start: d.start, entries: [...d.entries] };
    }
    return this.reconcile(image);
  }

  /** Like the real log on open: the latest snapshot wins over whatever log prefix it covers. */
  reconcile(image: LogImage): LogImage {
    const snap = this.latestSnapshot();
    if (snap === null) return image;
    const s = snap.id.endOffset;
    const end = image.start + image.entries.length;
    if (end < s || image.start > s) return { start: s, entries: [] };
    if (s > image.start) {
      const last = image.entries[s - 1 - image.start]!;
      if (last.epoch !== snap.id.epoch) return { start: s, entries: [] };
    }
    return { start: s, entries: image.entries.slice(s - image.start) };
  }
}

export class SimLog implements RaftLog<SimRecords, number> {
  private start: number;
  private entries: SimEntry[];
  private download: { id: SnapshotId; chunks: Buffer[]; size: number } | null = null;

  constructor(
    readonly disk: SimDisk,
    image: LogImage,
  ) {
    this.start = image.start;
    this.entries = image.entries.slice();
  }

  image(): LogImage {
    return { start: this.start, entries: this.entries.slice() };
  }

  entryAt(offset: number): SimEntry | undefined {
    return this.entries[offset - this.start];
  }

  startOffset(): number {
    return this.start;
  }

  endOffset(): number {
    return this.start + this.entries.length;
  }

  private snapshotAtStart(): SnapshotId | null {
    for (let i = this.disk.snapshots.length - 1; i >= 0; i--) {
      const s = this.disk.snapshots[i]!;
      if (s.id.endOffset === this.start) return s.id;
    }
    return null;
  }

  lastEpoch(): number {
    const last = this.entries.at(-1);
    if (last) return last.epoch;
    return this.snapshotAtStart()?.epoch ?? 0;
  }

  endOffsetForEpoch(epoch: number): OffsetAndEpoch | null {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.epoch <= epoch) {
        const next = this.entries.slice(i + 1).find((x) => x.epoch > e.epoch);
        return { epoch: e.epoch, offset: next ? next.offset : this.endOffset() };
      }
    }
    const snap = this.start > 0 ? this.snapshotAtStart() : null;
    if (snap !== null && snap.epoch <= epoch) {
      const first = this.entries[0];
      return { epoch: snap.epoch, offset: first && first.epoch === snap.epoch ? this.endOffset() : this.start };
    }
    return null;
  }

  appendAsLeader(value: number, epoch: number): { baseOffset: number; lastOffset: number } {
    const offset = this.endOffset();
    this.checkEpoch(epoch);
    this.entries.push({ offset, epoch, kind: 'data', value });
    return { baseOffset: offset, lastOffset: offset };
  }

  appendLeaderChange(epoch: number, leaderId: number): { baseOffset: number } {
    const offset = this.endOffset();
    this.checkEpoch(epoch);
    this.entries.push({ offset, epoch, kind: 'leader', value: leaderId });
    return { baseOffset: offset };
  }

  private checkEpoch(epoch: number): void {
    if (epoch < this.lastEpoch()) throw new Error(`append with epoch ${epoch} after epoch ${this.lastEpoch()}`);
  }

  appendAsFollower(records: SimRecords): number {
    if (records.length === 0) return 0;
    if (records[0]!.offset !== this.endOffset()) {
      throw new Error(`follower append at ${records[0]!.offset}, log ends at ${this.endOffset()}`);
    }
    for (const r of records) {
      if (r.offset !== this.endOffset()) throw new Error('records are not contiguous');
      this.checkEpoch(r.epoch);
      this.entries.push(r);
    }
    return records.length;
  }

  read(startOffset: number, maxBytes: number): SimRecords {
    const count = Math.max(1, Math.floor(maxBytes / SIM_ENTRY_BYTES));
    const from = startOffset - this.start;
    if (from < 0) throw new Error(`read at ${startOffset} below the log start ${this.start}`);
    return this.entries.slice(from, from + count);
  }

  truncateTo(offset: number): void {
    if (offset < this.start) throw new Error(`truncate to ${offset} below the log start ${this.start}`);
    if (offset < this.endOffset()) {
      this.disk.truncatedRecords += this.endOffset() - offset;
      this.entries.length = offset - this.start;
    }
  }

  latestSnapshotId(): SnapshotId | null {
    return this.disk.latestSnapshot()?.id ?? null;
  }

  readSnapshot(id: SnapshotId, position: number, maxBytes: number): { sizeBytes: number; bytes: Buffer } | null {
    const s = this.disk.snapshots.find((x) => x.id.endOffset === id.endOffset && x.id.epoch === id.epoch);
    if (!s) return null;
    return { sizeBytes: s.bytes.length, bytes: s.bytes.subarray(position, position + maxBytes) };
  }

  writeSnapshotChunk(id: SnapshotId, position: number, bytes: Buffer): void {
    const d = this.download;
    if (position === 0 || d === null || d.id.endOffset !== id.endOffset || d.id.epoch !== id.epoch) {
      if (position !== 0) throw new Error(`snapshot chunk at ${position} without the start`);
      this.download = { id, chunks: [Buffer.from(bytes)], size: bytes.length };
      return;
    }
    if (position !== d.size) throw new Error(`snapshot chunk at ${position}, expected ${d.size}`);
    d.chunks.push(Buffer.from(bytes));
    d.size += bytes.length;
  }

  installSnapshot(id: SnapshotId, sizeBytes: number): boolean {
    const d = this.download;
    this.download = null;
    if (d === null || d.id.endOffset !== id.endOffset || d.id.epoch !== id.epoch || d.size !== sizeBytes) return false;
    const bytes = Buffer.concat(d.chunks);
    const parsed = decodeSimSnapshot(bytes);
    if (parsed === null || parsed.id.endOffset !== id.endOffset || parsed.id.epoch !== id.epoch) return false;
    this.addSnapshot(id, bytes);
    this.start = id.endOffset;
    this.entries = [];
    return true;
  }

  /** A snapshot of the local state machine: durable at once (written and fsynced before use). */
  addSnapshot(id: SnapshotId, bytes: Buffer): void {
    const snaps = this.disk.snapshots.filter((s) => s.id.endOffset < id.endOffset);
    snaps.push({ id, bytes });
    // Keep the two newest, so a follower midway through an older download can still finish.
    this.disk.snapshots = snaps.slice(-2);
  }

  /** Drops the log below `offset` (covered by a snapshot). */
  deleteBefore(offset: number): void {
    if (offset <= this.start) return;
    if (offset > this.endOffset()) throw new Error('delete beyond the log end');
    this.entries = this.entries.slice(offset - this.start);
    this.start = offset;
  }
}
