// `npm run bench`: runs every benchmark report (dist/bench/*.js) one after another, so they
// never compete for the machine. Arguments after `--` go to every benchmark.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = fileURLToPath(new URL('..', import.meta.url));
const only = process.env.EDDY_BENCH_ONLY?.split(',');
const reports = readdirSync(benchDir)
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.slice(0, -3))
  .filter((name) => only === undefined || only.includes(name))
  .sort();
let failed = 0;
for (const name of reports) {
  process.stdout.write(`\n===== bench:${name} =====\n`);
  const r = spawnSync(process.execPath, [join(benchDir, `${name}.js`), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`bench:${name} failed (exit ${r.status ?? r.signal})\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
