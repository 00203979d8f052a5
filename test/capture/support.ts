// Shared checks for the capture tests: run third-party clients as child processes with hard
// time limits, prove captured request frames re-encode byte for byte, and check produced batches.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ProduceRequest } from '../../src/protocol/generated/api/produce.js';
import { apiSpec, decodeRequestHeader, encodeRequestHeader, Reader, Writer } from '../../src/protocol/index.js';
import {
  CompressionType,
  type DecodedBatch,
  decodeRecordBatch,
  decompress,
  encodeRecordBatch,
  isBatchCrcValid,
  RECORD_BATCH_OVERHEAD,
  readBatchHeader,
  walkBatches,
} from '../../src/records/index.js';
import type { CaptureBroker } from '../helpers/capture-broker.js';
import { batchToInput } from '../records/batch-input.js';

export const CODEC_NAMES: Record<CompressionType, string> = {
  [CompressionType.None]: 'none',
  [CompressionType.Gzip]: 'gzip',
  [CompressionType.Snappy]: 'snappy',
  [CompressionType.Lz4]: 'lz4',
  [CompressionType.Zstd]: 'zstd',
};
export const ALL_CODECS: CompressionType[] = [0, 1, 2, 3, 4];

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command with stdin `input`; it is killed (SIGKILL) when `timeoutMs` passes. */
export function runProcess(
  command: string,
  args: string[],
  opts: { input?: string; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {
      // The child may exit before reading all input; its exit status tells what happened.
    });
    child.stdin.end(opts.input ?? '');
  });
}

export function assertExitedCleanly(r: ProcessResult, what: string): void {
  assert.equal(r.signal, null, `${what} was killed (${r.signal}); stderr: ${r.stderr}`);
  assert.equal(r.code, 0, `${what} exited ${r.code}; stderr: ${r.stderr}`);
}

/**
 * Every captured request decodes (header and body, nothing left over) and re-encodes to
 * exactly the bytes the client sent. Returns the API keys seen.
 */
export function assertRequestsReencode(broker: CaptureBroker): Set<number> {
  assert.deepEqual(broker.errors, []);
  assert.ok(broker.requests.length > 0, 'no requests captured');
  const seen = new Set<number>();
  for (const req of broker.requests) {
    const { requestApiKey: apiKey, requestApiVersion: version } = req.header;
    const spec = apiSpec(apiKey);
    assert.ok(spec, `unknown api key ${apiKey}`);
    const r = new Reader(req.frame);
    const header = decodeRequestHeader(r);
    const body = spec.decodeRequest(r, version);
    assert.equal(r.remaining, 0, `api ${apiKey} v${version}: bytes left over`);
    const w = new Writer(req.frame.length);
    encodeRequestHeader(w, header);
    (spec.encodeRequest as (w: Writer, m: unknown, v: number) => void)(w, body, version);
    const again = w.finish();
    assert.ok(again.equals(req.frame), `api ${apiKey} v${version} (${spec.name}) did not re-encode identically`);
    seen.add(apiKey);
  }
  return seen;
}

export interface ProducedBatch {
  bytes: Buffer;
  decoded: DecodedBatch;
}

/** The batches clients sent to `topic` in Produce requests, decoded with the CRC checked. */
export function producedBatches(broker: CaptureBroker, topic: string): ProducedBatch[] {
  const out: ProducedBatch[] = [];
  for (const req of broker.requestsOf(0)) {
    const body = req.body as ProduceRequest;
    for (const t of body.topicData) {
      if (t.name !== topic) continue;
      for (const p of t.partitionData) {
        assert.ok(p.records !== null);
        const records = p.records;
        for (const h of walkBatches(records)) {
          const bytes = records.subarray(h.position, h.position + h.sizeBytes);
          assert.ok(isBatchCrcValid(records, h), 'client batch CRC must be valid');
          out.push({ bytes, decoded: decodeRecordBatch(bytes) });
        }
      }
    }
  }
  return out;
}

export interface ExpectedRecord {
  key: string | null;
  value: string;
  headers: [string, string][];
}

/**
 * Checks the records the client produced (across its batches) against what it was given, that
 * every batch used `codec`, and that our encoder reproduces the client's record bytes exactly:
 * the whole batch when uncompressed, the decompressed records section when compressed.
 */
export function assertProducedMatches(
  batches: ProducedBatch[],
  codec: CompressionType,
  expected: ExpectedRecord[],
): void {
  assert.ok(batches.length > 0, 'no batches produced');
  const got: ExpectedRecord[] = [];
  for (const { bytes, decoded } of batches) {
    assert.equal(decoded.compression, codec, `batch compression ${decoded.compression}, expected ${codec}`);
    assert.equal(readBatchHeader(bytes, 0).magic, 2);
    const again = encodeRecordBatch({ ...batchToInput(decoded), compression: CompressionType.None });
    if (codec === CompressionType.None) {
      assert.ok(again.equals(bytes), 'our encoding of the uncompressed batch differs from the client');
    } else {
      const clientRecords = decompress(codec, bytes.subarray(RECORD_BATCH_OVERHEAD));
      assert.ok(
        again.subarray(RECORD_BATCH_OVERHEAD).equals(clientRecords),
        'our records section differs from the client',
      );
    }
    for (const r of decoded.records) {
      got.push({
        key: r.key === null ? null : r.key.toString('utf8'),
        value: r.value === null ? '' : r.value.toString('utf8'),
        headers: r.headers.map((h) => [h.key, h.value === null ? '' : h.value.toString('utf8')]),
      });
    }
  }
  assert.deepEqual(got, expected);
}

/** Test messages: keys, unicode, and values long and repetitive enough that every codec compresses. */
export function sampleMessages(count: number, tag: string): { key: string; value: string }[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `key-${i}-ключ`,
    value: `${tag} value ${i} ✓ ${'lorem ipsum dolor sit amet '.repeat(1 + (i % 5))}`.trimEnd(),
  }));
}

/** Eddy-encoded batches for the fetch direction: two batches so clients cross a batch boundary. */
export function eddyBatches(codec: CompressionType, messages: { key: string; value: string }[]): Buffer {
  const records = messages.map((m, i) => ({
    key: Buffer.from(m.key),
    value: Buffer.from(m.value),
    headers: eddyHeaders(codec, i).map(([key, value]) => ({ key, value: Buffer.from(value) })),
    timestamp: EDDY_BASE_TIMESTAMP + i,
  }));
  const half = Math.ceil(records.length / 2);
  return Buffer.concat([
    encodeRecordBatch({ compression: codec, records: records.slice(0, half) }),
    encodeRecordBatch({ compression: codec, records: records.slice(half) }),
  ]);
}

export const EDDY_BASE_TIMESTAMP = 1_700_000_000_000;

/** The headers eddyBatches gives message `i`. */
export function eddyHeaders(codec: CompressionType, i: number): [string, string][] {
  return [
    ['codec', CODEC_NAMES[codec]],
    ['n', String(i)],
  ];
}

/** What a consumer should see for eddyBatches(codec, messages). */
export function eddyExpected(codec: CompressionType, messages: { key: string; value: string }[]): ConsumedRecord[] {
  return messages.map((m, i) => ({ offset: i, key: m.key, value: m.value, headers: eddyHeaders(codec, i) }));
}

export interface ConsumedRecord {
  offset: number;
  key: string | null;
  value: string | null;
  headers: [string, string][];
}
