// RecordBatch codec benchmark. Every figure is reported with its ratio to Buffer.copy of the
// same number of bytes measured in this run, so numbers compare across machines.
// Run: npm run build && npm run bench:records
import { crc32c } from '@node-rs/crc32';
import {
  CompressionType,
  compress,
  decodeRecordBatch,
  decompress,
  encodeRecordBatch,
  type RecordInput,
} from '../src/records/index.js';

const MIB = 1024 * 1024;
const MIN_RUN_MS = 400;
const ROUNDS = 5;

/** Best-of-rounds throughput in MB/s (10^6 bytes) of `fn`, which processes `bytes` per call. */
function measure(bytes: number, fn: () => unknown): number {
  // Warm up: let the JIT settle before timing.
  const warmEnd = performance.now() + 300;
  while (performance.now() < warmEnd) fn();
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let calls = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      fn();
      calls++;
      elapsed = performance.now() - start;
    } while (elapsed < MIN_RUN_MS);
    best = Math.max(best, (bytes * calls) / (elapsed / 1000) / 1e6);
  }
  return best;
}

/** Deterministic JSON-like values: compressible the way real event payloads are. */
function values(count: number, sizeBytes: number): Buffer[] {
  const out: Buffer[] = [];
  let seed = 42;
  for (let i = 0; i < count; i++) {
    let s = '';
    while (s.length < sizeBytes) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      s += `{"id":${i},"user":"u${seed % 5000}","amount":${seed % 100000},"ok":${seed % 3 === 0}}`;
    }
    out.push(Buffer.from(s.slice(0, sizeBytes)));
  }
  return out;
}

/** Records of `valueBytes` each, enough for about 1 MiB of batch. */
function recordsFor(valueBytes: number): RecordInput[] {
  const count = Math.floor(MIB / (valueBytes + 20));
  const now = Date.now();
  return values(count, valueBytes).map((value, i) => ({
    key: Buffer.from(`key-${i % 1000}`),
    value,
    timestamp: now + i,
  }));
}

interface Row {
  what: string;
  mbPerSec: number;
  note?: string;
}

function main(): void {
  const src = Buffer.alloc(MIB);
  for (let i = 0; i < src.length; i++) src[i] = (i * 31 + (i >> 8)) & 0xff;
  const dst = Buffer.alloc(MIB);
  const copy = measure(MIB, () => src.copy(dst));
  const rows: Row[] = [];
  rows.push({ what: 'CRC32C 1 MiB (@node-rs/crc32, native)', mbPerSec: measure(MIB, () => crc32c(src)) });

  for (const valueBytes of [100, 1024]) {
    const records = recordsFor(valueBytes);
    const batch = encodeRecordBatch({ records });
    const label = `${records.length} records of ${valueBytes} B (${(batch.length / MIB).toFixed(2)} MiB batch)`;
    rows.push({
      what: `encode, uncompressed, ${label}`,
      mbPerSec: measure(batch.length, () => encodeRecordBatch({ records })),
    });
    rows.push({
      what: `decode, uncompressed, ${label}`,
      mbPerSec: measure(batch.length, () => decodeRecordBatch(batch)),
    });
    rows.push({
      what: `decode without CRC check, ${label}`,
      mbPerSec: measure(batch.length, () => decodeRecordBatch(batch, 0, { verifyCrc: false })),
    });
  }

  // Codecs on the records section of the 100-byte-record batch (what a producer compresses).
  const payload = encodeRecordBatch({ records: recordsFor(100) }).subarray(61);
  for (const [name, codec] of [
    ['gzip', CompressionType.Gzip],
    ['snappy', CompressionType.Snappy],
    ['lz4', CompressionType.Lz4],
    ['zstd', CompressionType.Zstd],
  ] as const) {
    const compressed = compress(codec, payload);
    const ratio = `ratio ${(payload.length / compressed.length).toFixed(2)}:1`;
    rows.push({
      what: `${name} compress ${(payload.length / MIB).toFixed(2)} MiB`,
      mbPerSec: measure(payload.length, () => compress(codec, payload)),
      note: ratio,
    });
    rows.push({ what: `${name} decompress`, mbPerSec: measure(payload.length, () => decompress(codec, compressed)) });
  }

  const width = Math.max(...rows.map((r) => r.what.length));
  console.log(
    `records benchmark (node ${process.version}); MB/s = 10^6 bytes/s of uncompressed data; best of ${ROUNDS}`,
  );
  console.log(`baseline Buffer.copy 1 MiB: ${copy.toFixed(0)} MB/s`);
  console.log(`${'what'.padEnd(width)}  ${'MB/s'.padStart(8)}  ${'vs copy'.padStart(8)}`);
  for (const r of rows) {
    const vsCopy = (r.mbPerSec / copy).toFixed(3);
    console.log(
      `${r.what.padEnd(width)}  ${r.mbPerSec.toFixed(0).padStart(8)}  ${vsCopy.padStart(8)}${r.note ? `  ${r.note}` : ''}`,
    );
  }
}

main();
