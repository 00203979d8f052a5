// Live fuzzing soak: the CI fuzz test's setup for as long as you like.
//   npm run fuzz:soak -- [--seconds 600] [--seed N] [--frames 2000] [--concurrency 48]
//                        [--answer-timeout-ms 5000] [--json FILE]
// Rounds use seeds N, N+1, ...; each finding prints its seed, round, case index and bytes.
// --seconds 0 runs a single round (to replay a finding). Exits 1 on a crash, a finding, a
// failed probe round trip, or a heap that kept growing.
import { writeFileSync } from 'node:fs';
import { describeReport, runLiveFuzz } from './live-fuzz.js';

interface SoakOptions {
  seconds: number;
  seed: number;
  frames: number;
  concurrency: number;
  answerTimeoutMs: number;
  json: string | null;
}

function parse(argv: string[]): SoakOptions {
  const o: SoakOptions = {
    seconds: 600,
    seed: Date.now() & 0x7fffffff,
    frames: 2000,
    concurrency: 48,
    answerTimeoutMs: 5000,
    json: null,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k === '--seconds') o.seconds = Number(v);
    else if (k === '--seed') o.seed = Number(v);
    else if (k === '--frames') o.frames = Number(v);
    else if (k === '--concurrency') o.concurrency = Number(v);
    else if (k === '--answer-timeout-ms') o.answerTimeoutMs = Number(v);
    else if (k === '--json') o.json = v;
    else throw new Error(`unknown option ${k}`);
  }
  return o;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  process.stdout.write(
    `fuzz soak: seed ${o.seed}, ${o.seconds} s, ${o.frames} frames per round, ${o.concurrency} connections\n`,
  );
  const r = await runLiveFuzz({
    seed: o.seed,
    framesPerRound: o.frames,
    concurrency: o.concurrency,
    answerTimeoutMs: o.answerTimeoutMs,
    durationMs: o.seconds > 0 ? o.seconds * 1000 : undefined,
    onProgress: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`${describeReport(r)}\n`);
  if (o.json) writeFileSync(o.json, `${JSON.stringify(r, null, 2)}\n`);
  const heapGrowth = r.memory.finalHeapBytes - r.memory.baselineHeapBytes;
  const failed =
    r.crash !== null || r.findings.length > 0 || r.probe.failures.length > 0 || heapGrowth > 128 * 1024 * 1024;
  process.exitCode = failed ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`fuzz:soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
