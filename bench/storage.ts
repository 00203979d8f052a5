// Storage benchmark: PartitionLog append and sequential read throughput, each as a ratio to a
// plain fs write/read of the same bytes (same chunk sizes, same file sizes) measured in the
// same run on this machine. Target: appends of 1 MiB batches at >= 0.8 of the raw write rate.
//
// Usage: node dist/bench/storage.js [--mb N] [--rounds N]   (npm run bench:storage)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { PartitionLog } from '../src/storage/index.js';
import { simpleBatch, testConfig } from '../test/storage/helpers.js';

const MiB = 1024 * 1024;
const args = process.argv.slice(2);
function arg(name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}
const totalMiB = arg('mb', 256);
const rounds = arg('rounds', 5);
const SEGMENT_BYTES = 128 * MiB;

interface Scenario {
  name: string;
  batchBytes: number;
  totalBytes: number;
  fsync: boolean;
}

/** Batches of about `targetBytes` each (distinct contents), built once. */
function makeBatches(targetBytes: number, n: number): Buffer[] {
  const recordValue = Math.min(targetBytes, 16 * 1024);
  const perBatch = Math.max(1, Math.round(targetBytes / (recordValue + 30)));
  const valueBytes = Math.max(1, Math.floor(targetBytes / perBatch) - 30);
  return Array.from({ length: n }, (_, i) => simpleBatch(perBatch, valueBytes, i));
}

function rawWrite(dir: string, chunks: Buffer[], count: number, fsync: boolean, withCrc = false): number {
  const start = process.hrtime.bigint();
  let fd = -1;
  let fileBytes = SEGMENT_BYTES;
  let file = 0;
  for (let i = 0; i < count; i++) {
    const buf = chunks[i % chunks.length]!;
    if (fileBytes + buf.length > SEGMENT_BYTES) {
      if (fd >= 0) fs.closeSync(fd);
      fd = fs.openSync(path.join(dir, `${String(file++).padStart(20, '0')}.raw`), 'w');
      fileBytes = 0;
    }
    // The CRC32C Kafka requires a broker to verify on every produced batch (same native library).
    if (withCrc) crc32c(buf.subarray(21));
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off, fileBytes + off);
    if (fsync) fs.fdatasyncSync(fd);
    fileBytes += buf.length;
  }
  if (fd >= 0) fs.closeSync(fd);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function rawRead(dir: string, chunkBytes: number): { seconds: number; bytes: number } {
  const files = fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.raw'))
    .sort();
  const start = process.hrtime.bigint();
  let bytes = 0;
  for (const f of files) {
    const fd = fs.openSync(path.join(dir, f), 'r');
    const size = fs.fstatSync(fd).size;
    for (let pos = 0; pos < size; ) {
      const buf = Buffer.allocUnsafe(Math.min(chunkBytes, size - pos));
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      pos += n;
      bytes += n;
    }
    fs.closeSync(fd);
  }
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, bytes };
}

async function logWrite(
  dir: string,
  batches: Buffer[],
  count: number,
  fsync: boolean,
): Promise<{ seconds: number; log: PartitionLog }> {
  const log = await PartitionLog.open({
    dir,
    topic: 'bench',
    partition: 0,
    config: testConfig({
      segmentBytes: SEGMENT_BYTES,
      maxMessageBytes: 2 * MiB,
      fsyncEveryBatch: fsync,
      retentionMs: -1,
    }),
  });
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) log.appendAsLeader(batches[i % batches.length]!, 0);
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, log };
}

function logRead(log: PartitionLog, maxBytes: number): { seconds: number; bytes: number } {
  const start = process.hrtime.bigint();
  let bytes = 0;
  let offset = log.logStartOffset;
  const end = log.logEndOffset;
  while (offset < end) {
    const r = log.read(offset, maxBytes, end);
    bytes += r.records.length;
    offset = r.nextOffset;
  }
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, bytes };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function mbps(bytes: number, seconds: number): number {
  return bytes / MiB / seconds;
}

async function runScenario(sc: Scenario, root: string): Promise<string[]> {
  const batches = makeBatches(sc.batchBytes, sc.batchBytes >= MiB ? 8 : 256);
  const avgBytes = batches.reduce((n, b) => n + b.length, 0) / batches.length;
  const count = Math.max(1, Math.round(sc.totalBytes / avgBytes));
  const bytes = Array.from({ length: count }, (_, i) => batches[i % batches.length]!.length).reduce((a, b) => a + b, 0);
  const rawW: number[] = [];
  const crcW: number[] = [];
  const logW: number[] = [];
  const rawR: number[] = [];
  const logR: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Rotate the order so no side always runs on a warmer (or busier) machine.
    const kinds = ['raw', 'crc', 'log'] as const;
    const order = kinds.map((_, i) => kinds[(i + r) % kinds.length]!);
    const dirs: string[] = [];
    let rawDir = '';
    let log: PartitionLog | undefined;
    for (const which of order) {
      const dir = fs.mkdtempSync(path.join(root, `${which}-`));
      dirs.push(dir);
      if (which === 'crc') crcW.push(mbps(bytes, rawWrite(dir, batches, count, sc.fsync, true)));
      else if (which === 'raw') {
        rawW.push(mbps(bytes, rawWrite(dir, batches, count, sc.fsync)));
        rawDir = dir;
      } else {
        const res = await logWrite(path.join(dir, 'bench-0'), batches, count, sc.fsync);
        logW.push(mbps(bytes, res.seconds));
        log = res.log;
      }
    }
    if (!sc.fsync) {
      // Sequential reads of the same bytes, alternating, each side several times.
      for (let pass = 0; pass < 3; pass++) {
        const rr = rawRead(rawDir, MiB);
        rawR.push(mbps(rr.bytes, rr.seconds));
        const lr = logRead(log!, MiB);
        if (lr.bytes !== bytes) throw new Error(`read ${lr.bytes} bytes, wrote ${bytes}`);
        logR.push(mbps(lr.bytes, lr.seconds));
      }
    }
    await log!.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
  const lines = [
    `${sc.name}: ${count} appends of ${Math.round(avgBytes)} B (${(bytes / MiB).toFixed(0)} MiB), median of ${rounds}`,
    `  append  log ${median(logW).toFixed(0).padStart(6)} MiB/s   raw write ${median(rawW).toFixed(0).padStart(6)} MiB/s   ratio ${(median(logW) / median(rawW)).toFixed(2)}`,
    `          raw write + CRC32C check ${median(crcW).toFixed(0).padStart(6)} MiB/s   ratio of log to it ${(median(logW) / median(crcW)).toFixed(2)}`,
  ];
  if (!sc.fsync) {
    lines.push(
      `  read    log ${median(logR).toFixed(0).padStart(6)} MiB/s   raw read  ${median(rawR).toFixed(0).padStart(6)} MiB/s   ratio ${(median(logR) / median(rawR)).toFixed(2)}  (1 MiB fetches)`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-bench-storage-'));
  try {
    const scenarios: Scenario[] = [
      { name: '1 KiB batches', batchBytes: 1024, totalBytes: Math.min(totalMiB, 128) * MiB, fsync: false },
      { name: '1 MiB batches', batchBytes: MiB - 200, totalBytes: totalMiB * MiB, fsync: false },
      {
        name: '1 MiB batches, fsync every batch',
        batchBytes: MiB - 200,
        totalBytes: Math.min(totalMiB, 64) * MiB,
        fsync: true,
      },
    ];
    console.log(
      `storage benchmark (node ${process.version}, ${os.cpus().length} cpus, page cache; segment.bytes 128 MiB)`,
    );
    for (const sc of scenarios) for (const line of await runScenario(sc, root)) console.log(line);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
