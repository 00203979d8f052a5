// The long chaos soak: `npm run soak:chaos -- --minutes N --seed S [--workloads a,b] [--keep]`.
// Runs rounds of faults (each a fresh cluster, seed S, S+1, ...) until N minutes have passed,
// printing the checker's report per round; exits 1 on the first round with a violation.
import { parseArgs } from 'node:util';
import { formatReport, runChaos, type WorkloadKind } from './run.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    'round-seconds': { type: 'string', default: '120' },
    workloads: { type: 'string', default: 'eddy,eddy-idempotent,kafkajs,rdkafka' },
    keep: { type: 'boolean', default: false },
  },
});

const minutes = Number(values.minutes);
const firstSeed = Number(values.seed);
const roundMs = Number(values['round-seconds']) * 1000;
const workloads = values.workloads.split(',').filter(Boolean) as WorkloadKind[];
const endAt = Date.now() + minutes * 60_000;
let seed = firstSeed;
let failed = false;
while (Date.now() < endAt) {
  const faultMs = Math.max(10_000, Math.min(roundMs, endAt - Date.now()));
  const t0 = Date.now();
  process.stdout.write(`round with seed ${seed}: ${(faultMs / 1000).toFixed(0)} s of faults\n`);
  const report = await runChaos({
    seed,
    faultMs,
    workloads,
    keepDir: values.keep,
    log: (line) => process.stdout.write(`  [${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`),
  });
  process.stdout.write(`${formatReport(report)}\n`);
  const bad = report.workloads.flatMap((w) => w.violations.map((v) => `${w.kind}: ${v}`));
  if (bad.length > 0) {
    process.stdout.write(`VIOLATIONS with seed ${seed} (data in ${report.dir} when --keep): ${bad.join('; ')}\n`);
    failed = true;
    break;
  }
  seed++;
}
process.stdout.write(failed ? 'chaos soak FAILED\n' : `chaos soak passed (seeds ${firstSeed}..${seed - 1})\n`);
process.exit(failed ? 1 : 0);
