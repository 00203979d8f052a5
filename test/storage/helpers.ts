// Test helpers: valid RecordBatch v2 bytes (uncompressed), temp dirs, batch walking.
// Until src/records has an encoder on main, batches are built here from the header layout.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readInt64, Writer } from '../../src/protocol/codec.js';
import {
  BATCH_LENGTH_OFFSET,
  type BatchHeader,
  CRC_OFFSET,
  computeBatchCrc,
  LOG_OVERHEAD,
  readBatchHeader,
} from '../../src/records/batch-header.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../src/storage/index.js';

export interface TestRecord {
  key?: Buffer | null;
  value: Buffer | null;
  /** Absolute timestamp; defaults to the batch's base timestamp. */
  timestamp?: number;
}

export interface BatchOptions {
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  baseTimestamp?: number;
  attributes?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
}

/** Encodes one uncompressed RecordBatch v2 with a valid CRC. */
export function buildBatch(records: readonly TestRecord[], opts: BatchOptions = {}): Buffer {
  const baseTimestamp = opts.baseTimestamp ?? records[0]?.timestamp ?? 1_700_000_000_000;
  let maxTimestamp = -1;
  const body = new Writer(256);
  records.forEach((r, i) => {
    const ts = r.timestamp ?? baseTimestamp;
    if (ts > maxTimestamp) maxTimestamp = ts;
    const rec = new Writer(64);
    rec.int8(0);
    rec.varlong(ts - baseTimestamp);
    rec.varint(i);
    if (r.key === undefined || r.key === null) rec.varint(-1);
    else {
      rec.varint(r.key.length);
      rec.raw(r.key);
    }
    if (r.value === null) rec.varint(-1);
    else {
      rec.varint(r.value.length);
      rec.raw(r.value);
    }
    rec.varint(0); // headers
    const bytes = rec.finish();
    body.varint(bytes.length);
    body.raw(Buffer.from(bytes));
  });
  const recordsBytes = body.finish();
  const w = new Writer(61 + recordsBytes.length);
  w.int64(opts.baseOffset ?? 0);
  w.int32(0); // batchLength, patched below
  w.int32(opts.partitionLeaderEpoch ?? -1);
  w.int8(2);
  w.uint32(0); // crc, patched below
  w.int16(opts.attributes ?? 0);
  w.int32(Math.max(0, records.length - 1));
  w.int64(baseTimestamp);
  w.int64(records.length === 0 ? baseTimestamp : maxTimestamp);
  w.int64(opts.producerId ?? -1);
  w.int16(opts.producerEpoch ?? -1);
  w.int32(opts.baseSequence ?? -1);
  w.int32(records.length);
  w.raw(Buffer.from(recordsBytes));
  const out = Buffer.from(w.finish());
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  out.writeUInt32BE(computeBatchCrc(out, 0, out.length), CRC_OFFSET);
  return out;
}

/** A batch of `count` records with values of `valueBytes` bytes each, filled from `seed`. */
export function simpleBatch(
  count: number,
  valueBytes: number,
  seed = 0,
  opts: BatchOptions & { timestamps?: number[] } = {},
): Buffer {
  const records: TestRecord[] = [];
  for (let i = 0; i < count; i++) {
    const value = Buffer.alloc(valueBytes);
    for (let j = 0; j < valueBytes; j++) value[j] = (seed * 31 + i * 7 + j) & 0xff;
    records.push({ key: Buffer.from(`k${seed}-${i}`), value, timestamp: opts.timestamps?.[i] });
  }
  return buildBatch(records, opts);
}

/** Recomputes the CRC after a test edits bytes covered by it. */
export function fixCrc(batch: Buffer, pos = 0): void {
  const size = batch.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
  batch.writeUInt32BE(computeBatchCrc(batch, pos, size), pos + CRC_OFFSET);
}

export function headers(buf: Buffer): BatchHeader[] {
  const out: BatchHeader[] = [];
  let pos = 0;
  while (pos + LOG_OVERHEAD <= buf.length) {
    const size = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    if (pos + size > buf.length) break;
    out.push(readBatchHeader(buf, pos));
    pos += size;
  }
  return out;
}

/** A copy of `batch` with baseOffset and partitionLeaderEpoch set (how the log stores it). */
export function withOffset(batch: Buffer, baseOffset: number, epoch: number): Buffer {
  const b = Buffer.from(batch);
  const hi = Math.floor(baseOffset / 2 ** 32);
  b.writeInt32BE(hi, 0);
  b.writeUInt32BE(baseOffset - hi * 2 ** 32, 4);
  b.writeInt32BE(epoch, 12);
  return b;
}

export function baseOffsetOf(buf: Buffer, pos = 0): number {
  return readInt64(buf, pos);
}

export function tempDir(prefix = 'eddy-storage-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export function testConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, fileDeleteDelayMs: 0, ...overrides };
}

/**
 * Checks every segment's files in a closed partition dir: the .log is whole valid batches,
 * every .index entry names the base offset of the batch at its position, and .timeindex entries
 * rise and point at batch base offsets. Returns the batches' base offsets in order.
 */
export function checkSegmentFiles(dir: string): number[] {
  const bases = fs
    .readdirSync(dir)
    .filter((n) => /^\d{20}\.log$/.test(n))
    .map((n) => Number(n.slice(0, 20)))
    .sort((a, b) => a - b);
  const offsets: number[] = [];
  for (const base of bases) {
    const stem = path.join(dir, String(base).padStart(20, '0'));
    const data = fs.readFileSync(`${stem}.log`);
    const batchAt = new Map<number, number>();
    const batchBases = new Set<number>();
    let pos = 0;
    while (pos < data.length) {
      const size = data.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
      if (pos + size > data.length) throw new Error(`${stem}.log: partial batch at ${pos}`);
      const h = readBatchHeader(data, pos);
      if (computeBatchCrc(data, pos, size) !== h.crc) throw new Error(`${stem}.log: bad CRC at ${pos}`);
      batchAt.set(pos, h.baseOffset);
      batchBases.add(h.baseOffset);
      offsets.push(h.baseOffset);
      pos += size;
    }
    const idx = fs.readFileSync(`${stem}.index`);
    if (idx.length % 8 !== 0) throw new Error(`${stem}.index: size ${idx.length}`);
    for (let i = 0; i < idx.length; i += 8) {
      const off = base + idx.readUInt32BE(i);
      const p = idx.readUInt32BE(i + 4);
      if (batchAt.get(p) !== off)
        throw new Error(`${stem}.index entry ${i / 8} (${off} @ ${p}) does not match the log`);
    }
    const ti = fs.readFileSync(`${stem}.timeindex`);
    if (ti.length % 12 !== 0) throw new Error(`${stem}.timeindex: size ${ti.length}`);
    let prev = -1;
    for (let i = 0; i < ti.length; i += 12) {
      const ts = readInt64(ti, i);
      const off = base + ti.readUInt32BE(i + 8);
      if (ts <= prev) throw new Error(`${stem}.timeindex: timestamps not rising`);
      if (!batchBases.has(off)) throw new Error(`${stem}.timeindex entry names offset ${off}, not a batch start`);
      prev = ts;
    }
  }
  return offsets;
}
