// Third-party load generators for the benchmarks: kcat (librdkafka 2.0.2), a small
// librdkafka latency probe compiled from rdkafka-latency.c, and kafkajs in its own process.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './eddy-process.js';
import type { KafkajsProduceSpec } from './kafkajs-load.js';
import { checkExit, haveCommand, type RunResult, run } from './proc.js';

/** Writes `count` newline-delimited records of `recordBytes` bytes each (kcat -P input). */
export function writeRecordFile(path: string, recordBytes: number, count: number): void {
  const line = Buffer.alloc(recordBytes + 1, 0x78);
  line[recordBytes] = 0x0a;
  const perChunk = Math.max(1, Math.floor((4 * 1024 * 1024) / line.length));
  const chunk = Buffer.alloc(perChunk * line.length);
  for (let i = 0; i < perChunk; i++) line.copy(chunk, i * line.length);
  const fd = openSync(path, 'w');
  try {
    for (let left = count; left > 0; left -= perChunk) {
      const n = Math.min(left, perChunk);
      writeSync(fd, chunk, 0, n * line.length);
    }
  } finally {
    closeSync(fd);
  }
}

export function kcatVersion(): string {
  try {
    const out = execFileSync('kcat', ['-V'], { encoding: 'utf8' });
    const kcat = out.match(/Version ([^\s]+)/);
    const lib = out.match(/librdkafka ([^\s]+)/);
    return `kcat ${kcat?.[1] ?? '?'} (librdkafka ${lib?.[1] ?? '?'})`;
  } catch {
    return 'kcat (unavailable)';
  }
}

/**
 * Produces every line of `file` to one partition with acks=1. librdkafka's defaults
 * otherwise (linger.ms 5, batch.size 1 MB, no compression), as a user running kcat gets.
 */
export async function kcatProduce(bootstrap: string, topic: string, file: string): Promise<RunResult> {
  const r = await run('kcat', ['-P', '-b', bootstrap, '-t', topic, '-p', '0', '-X', 'acks=1'], {
    stdinFile: file,
    timeoutMs: 600_000,
  });
  checkExit(r, 'kcat -P');
  return r;
}

/** Reads one partition from the beginning to its end (-e), printing values to /dev/null. */
export async function kcatConsume(bootstrap: string, topic: string): Promise<RunResult> {
  const r = await run('kcat', ['-C', '-b', bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q'], {
    discardStdout: true,
    timeoutMs: 300_000,
  });
  checkExit(r, 'kcat -C');
  return r;
}

const LATENCY_SOURCE = join(REPO_ROOT, 'bench', 'lib', 'rdkafka-latency.c');
const LATENCY_BINARY = join(REPO_ROOT, 'dist', 'bench', 'rdkafka-latency');

/** Compiles the latency probe when needed; returns its path, or why it cannot be built. */
export function buildLatencyProbe(): { path: string } | { error: string } {
  if (!existsSync('/usr/include/librdkafka/rdkafka.h')) return { error: 'librdkafka-dev is not installed' };
  if (!haveCommand('cc')) return { error: 'no C compiler (cc)' };
  if (existsSync(LATENCY_BINARY) && statSync(LATENCY_BINARY).mtimeMs >= statSync(LATENCY_SOURCE).mtimeMs) {
    return { path: LATENCY_BINARY };
  }
  mkdirSync(join(REPO_ROOT, 'dist', 'bench'), { recursive: true });
  try {
    execFileSync('cc', ['-O2', '-o', LATENCY_BINARY, LATENCY_SOURCE, '-lrdkafka', '-lpthread'], { stdio: 'pipe' });
  } catch (err) {
    return { error: `compiling rdkafka-latency.c failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}` };
  }
  return { path: LATENCY_BINARY };
}

export interface LatencyResult {
  sent: number;
  received: number;
  measured: number;
  missing: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  meanUs: number;
  ackP50Us: number;
  ackP99Us: number;
  ackP999Us: number;
}

export async function runLatencyProbe(
  probe: string,
  bootstrap: string,
  topic: string,
  ratePerSecond: number,
  seconds: number,
  recordBytes: number,
): Promise<LatencyResult> {
  const r = await run(probe, [bootstrap, topic, String(ratePerSecond), String(seconds), String(recordBytes), '1'], {
    timeoutMs: (seconds + 60) * 1000,
  });
  checkExit(r, 'rdkafka-latency');
  return JSON.parse(r.stdout.trim()) as LatencyResult;
}

const KAFKAJS_LOAD = fileURLToPath(new URL('./kafkajs-load.js', import.meta.url));

export async function kafkajsProduceProcess(spec: KafkajsProduceSpec): Promise<{ records: number; wallMs: number }> {
  const r = await run(process.execPath, [KAFKAJS_LOAD, JSON.stringify(spec)], { timeoutMs: 600_000 });
  checkExit(r, 'kafkajs producer');
  return JSON.parse(r.stdout.trim()) as { records: number; wallMs: number };
}
