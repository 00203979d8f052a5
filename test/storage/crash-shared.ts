// What the crash writer appends, reproducible by the checker from (seed, index).
import type { LogConfig } from '../../src/storage/index.js';
import { simpleBatch, testConfig } from './helpers.js';

export function crashConfig(fsyncEveryBatch: boolean): LogConfig {
  return testConfig({ segmentBytes: 48 * 1024, indexIntervalBytes: 1024, fsyncEveryBatch, flushMs: 3 });
}

function mix(seed: number, i: number): number {
  let x = (seed * 0x9e3779b1 + i * 0x85ebca6b) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x2c1b3c6d) >>> 0;
  x ^= x >>> 12;
  return x >>> 0;
}

/** Batch `i` of a run: 1-5 records of up to ~3 KiB, timestamps rising. */
export function crashBatch(seed: number, i: number): Buffer {
  const r = mix(seed, i);
  const count = 1 + (r % 5);
  const valueBytes = (r >>> 3) % 3000;
  const ts = 1_700_000_000_000 + i;
  return simpleBatch(count, valueBytes, seed + i, { timestamps: Array.from({ length: count }, () => ts) });
}
