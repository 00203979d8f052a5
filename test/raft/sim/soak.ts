// Soak runner for the Raft simulation: `npm run soak:raft -- --seeds 1000000 --from 0`.
// Runs seeds on worker threads (one per core by default), prints progress and every failing
// seed; `--trace` with `--seeds 1` prints the event trace of one seed for replay.
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Simulation, SimulationFailure } from './simulation.js';

interface Args {
  from: number;
  seeds: number;
  workers: number;
  trace: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { from: 0, seeds: 1_000_000, workers: availableParallelism(), trace: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === '--from') args.from = next();
    else if (a === '--seeds') args.seeds = next();
    else if (a === '--workers') args.workers = Math.max(1, next());
    else if (a === '--trace') args.trace = true;
    else throw new Error(`unknown argument ${a} (use --seeds N --from S [--workers W] [--trace])`);
  }
  return args;
}

interface WorkerMessage {
  done: number;
  failures: string[];
  finished: boolean;
}

function runWorker(): void {
  const { from, seeds, stride, offset } = workerData as { from: number; seeds: number; stride: number; offset: number };
  let done = 0;
  let failures: string[] = [];
  let last = Date.now();
  for (let s = from + offset; s < from + seeds; s += stride) {
    try {
      new Simulation(s).run();
    } catch (err) {
      failures.push(err instanceof SimulationFailure ? err.message : `seed ${s}: ${(err as Error).stack}`);
    }
    done++;
    if (Date.now() - last > 1000) {
      parentPort!.postMessage({ done, failures, finished: false } satisfies WorkerMessage);
      done = 0;
      failures = [];
      last = Date.now();
    }
  }
  parentPort!.postMessage({ done, failures, finished: true } satisfies WorkerMessage);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.trace) {
    for (let s = args.from; s < args.from + args.seeds; s++) {
      const sim = new Simulation(s);
      sim.trace = (line) => process.stdout.write(`${line}\n`);
      try {
        console.log(JSON.stringify(sim.run()));
      } catch (err) {
        console.log(`FAILED ${(err as Error).message}`);
        process.exitCode = 1;
      }
    }
    return;
  }
  const workers = Math.min(args.workers, Math.max(1, args.seeds));
  console.log(`raft soak: seeds ${args.from}..${args.from + args.seeds - 1} on ${workers} workers`);
  const started = Date.now();
  let done = 0;
  let failed = 0;
  let lastReport = Date.now();
  await Promise.all(
    Array.from(
      { length: workers },
      (_, offset) =>
        new Promise<void>((resolve, reject) => {
          const w = new Worker(new URL(import.meta.url), {
            workerData: { from: args.from, seeds: args.seeds, stride: workers, offset },
          });
          w.on('message', (m: WorkerMessage) => {
            done += m.done;
            for (const f of m.failures) {
              failed++;
              console.log(`FAIL ${f}`);
            }
            if (Date.now() - lastReport > 10_000) {
              lastReport = Date.now();
              const rate = done / ((Date.now() - started) / 1000);
              console.log(`${done}/${args.seeds} seeds, ${failed} failed, ${rate.toFixed(0)} seeds/s`);
            }
            if (m.finished) resolve();
          });
          w.on('error', reject);
        }),
    ),
  );
  const secs = (Date.now() - started) / 1000;
  console.log(`done: ${done} seeds in ${secs.toFixed(1)} s, ${failed} failed`);
  if (failed > 0) {
    console.log('replay one with: npm run soak:raft -- --from <seed> --seeds 1 --trace');
    process.exitCode = 1;
  }
}

if (isMainThread) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  runWorker();
}
