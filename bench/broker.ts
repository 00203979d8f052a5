// Broker benchmark (issue 4): produce and consume throughput, end-to-end latency and CPU
// cost of Eddy's broker, each beside a ceiling measured in the same run on this machine:
// the loopback TCP limit, and the load generator's own limit against a sink server that
// speaks Kafka but stores nothing. The broker runs as its own process.
//
//   npm run bench:broker -- [--scale 0.25] [--repeat 3] [--only produce,consume,latency]
//                           [--profile DIR] [--node-flags '--max-semi-space-size=32'] [--json FILE]
//
// --scale multiplies every record count (1 = about 1 GB through the broker); --repeat
// (default 2) runs each case that many times, alternating sink and Eddy, and keeps the best
// throughput (every latency run is shown); --profile writes a V8 CPU profile of the broker
// process to DIR (summarise it with `node dist/bench/lib/profile-summary.js FILE`).
// The load average is printed: on a shared machine other work skews every figure.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createTopic, endOffsets } from './lib/admin.js';
import {
  buildLatencyProbe,
  kafkajsProduceProcess,
  kcatConsume,
  kcatProduce,
  kcatVersion,
  type LatencyResult,
  runLatencyProbe,
  writeRecordFile,
} from './lib/clients.js';
import { type EddyProcess, startEddyProcess } from './lib/eddy-process.js';
import { type LoopbackLimits, measureLoopback } from './lib/loopback.js';
import { loadAverage } from './lib/proc.js';
import { type SinkProcess, sourceRecordsServed, startSinkProcess } from './lib/sink-server.js';
import { mbps, ms, pct, si, table, verdict } from './lib/stats.js';

interface Options {
  scale: number;
  repeat: number;
  only: Set<string>;
  profileDir: string | null;
  /** Extra node flags for the broker process (e.g. GC tuning experiments). */
  nodeFlags: string[];
  jsonFile: string | null;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    scale: 1,
    repeat: 2,
    only: new Set(['produce', 'consume', 'latency']),
    profileDir: null,
    nodeFlags: [],
    jsonFile: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--scale') opts.scale = Number(next());
    else if (a === '--repeat') opts.repeat = Math.max(1, Number(next()));
    else if (a === '--only') opts.only = new Set(next().split(','));
    else if (a === '--profile') opts.profileDir = next();
    else if (a === '--node-flags')
      opts.nodeFlags = next()
        .split(' ')
        .filter((f) => f !== '');
    else if (a === '--json') opts.jsonFile = next();
    else throw new Error(`unknown option ${a}`);
  }
  if (!(opts.scale > 0)) throw new Error('--scale must be positive');
  return opts;
}

interface ThroughputResult {
  records: number;
  recordBytes: number;
  wallMs: number;
  /** CPU seconds the server process used during the run. */
  serverCpuSeconds: number;
}

const recordsPerSecond = (r: ThroughputResult): number => r.records / (r.wallMs / 1000);
const payloadBytesPerSecond = (r: ThroughputResult): number => (r.records * r.recordBytes) / (r.wallMs / 1000);
const cpuSecondsPerGB = (r: ThroughputResult): number => r.serverCpuSeconds / ((r.records * r.recordBytes) / 1e9);

function best(results: ThroughputResult[]): ThroughputResult {
  return results.reduce((a, b) => (recordsPerSecond(b) > recordsPerSecond(a) ? b : a));
}

interface Server {
  bootstrap: string;
  cpuSeconds(): number;
}

let topicSeq = 0;
/** About what kcat's producer leaves in Eddy's log per batch (1 MB batches of 100 B records). */
const SOURCE_RECORDS_PER_BATCH = 9000;

async function measured(server: Server, fn: () => Promise<{ records: number; wallMs: number }>, recordBytes: number) {
  const cpuBefore = server.cpuSeconds();
  const r = await fn();
  return { ...r, recordBytes, serverCpuSeconds: server.cpuSeconds() - cpuBefore };
}

type Generator = 'kcat' | 'kafkajs';

async function produceOnce(
  server: Server,
  eddy: boolean,
  gen: Generator,
  recordBytes: number,
  records: number,
  files: Map<number, string>,
): Promise<ThroughputResult & { topic: string }> {
  const topic = `produce-${gen}-${recordBytes}-${++topicSeq}`;
  if (eddy) await createTopic(server.bootstrap, topic, 1);
  const r = await measured(
    server,
    async () => {
      if (gen === 'kcat') {
        const run = await kcatProduce(server.bootstrap, topic, files.get(recordBytes) as string);
        return { records, wallMs: run.wallMs };
      }
      return kafkajsProduceProcess({
        bootstrap: server.bootstrap,
        topic,
        recordBytes,
        records,
        batchRecords: recordBytes >= 1000 ? 200 : 1000,
        inFlight: 4,
        acks: 1,
      });
    },
    recordBytes,
  );
  if (eddy) {
    // Every acknowledged record must be in the log (kafkajs sends one warm-up record).
    const [end] = await endOffsets(server.bootstrap, topic, 1);
    const expected = r.records + (gen === 'kafkajs' ? 1 : 0);
    if (end !== expected) throw new Error(`${topic}: log end offset ${end}, expected ${expected}`);
  }
  return { ...r, topic };
}

interface LatencyRun {
  server: 'eddy' | 'memory sink';
  result: LatencyResult;
  serverCpuSeconds: number;
  wallMs: number;
}

interface Report {
  machine: Record<string, string | number>;
  loopback: LoopbackLimits;
  produce: {
    gen: Generator;
    recordBytes: number;
    sink: ThroughputResult;
    eddy: ThroughputResult;
  }[];
  consume: { sink: ThroughputResult; eddy: ThroughputResult } | null;
  latency:
    | {
        ratePerSecond: number;
        recordBytes: number;
        runs: LatencyRun[];
      }
    | { error: string }
    | null;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(join(os.tmpdir(), 'eddy-bench-broker-'));
  const report: Report = {
    machine: {
      cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}`,
      node: process.version,
      client: kcatVersion(),
      brokerNodeFlags: opts.nodeFlags.join(' ') || '(none)',
      loadAverageAtStart: loadAverage(),
    },
    loopback: { bytesPerSecond: Number.NaN, rttP50Us: Number.NaN, rttP99Us: Number.NaN },
    produce: [],
    consume: null,
    latency: null,
  };
  const log = (s: string): void => {
    process.stderr.write(`[bench:broker] ${s}\n`);
  };
  let eddy: EddyProcess | null = null;
  let sink: SinkProcess | null = null;
  let memorySink: SinkProcess | null = null;
  try {
    log('measuring loopback TCP');
    report.loopback = await measureLoopback(3000);

    const counts = {
      kcat: new Map([
        [100, Math.round(2_000_000 * opts.scale)],
        [1024, Math.round(400_000 * opts.scale)],
      ]),
      kafkajs: new Map([
        [100, Math.round(300_000 * opts.scale)],
        [1024, Math.round(100_000 * opts.scale)],
      ]),
    };
    const files = new Map<number, string>();
    for (const [size, n] of counts.kcat) {
      const f = join(work, `records-${size}.txt`);
      writeRecordFile(f, size, n);
      files.set(size, f);
    }
    const consumeRecords = counts.kcat.get(100) as number;
    if (opts.profileDir) mkdirSync(opts.profileDir, { recursive: true });
    eddy = await startEddyProcess({
      nodeFlags: [...opts.nodeFlags, ...(opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [])],
    });
    sink = await startSinkProcess({
      sourceRecords: consumeRecords,
      recordBytes: 100,
      recordsPerBatch: SOURCE_RECORDS_PER_BATCH,
    });
    log(`eddy at ${eddy.bootstrap} (pid ${eddy.pid}), sink at ${sink.bootstrap}`);

    let consumeTopic: string | null = null;
    if (opts.only.has('produce') || opts.only.has('consume')) {
      const cases: [Generator, number][] = opts.only.has('produce')
        ? [
            ['kcat', 100],
            ['kcat', 1024],
            ['kafkajs', 100],
            ['kafkajs', 1024],
          ]
        : [['kcat', 100]];
      for (const [gen, size] of cases) {
        const n = counts[gen].get(size) as number;
        const sinkRuns: ThroughputResult[] = [];
        const eddyRuns: ThroughputResult[] = [];
        // Alternate sink and Eddy so both see the same background load.
        for (let i = 0; i < opts.repeat; i++) {
          log(`produce ${gen} ${size} B x ${n}: sink, run ${i + 1}`);
          sinkRuns.push(await produceOnce(sink, false, gen, size, n, files));
          log(`produce ${gen} ${size} B x ${n}: eddy, run ${i + 1}`);
          const r = await produceOnce(eddy, true, gen, size, n, files);
          eddyRuns.push(r);
          if (gen === 'kcat' && size === 100) consumeTopic ??= r.topic;
        }
        report.produce.push({ gen, recordBytes: size, sink: best(sinkRuns), eddy: best(eddyRuns) });
      }
    }

    if (opts.only.has('consume') && consumeTopic !== null) {
      const topic = consumeTopic;
      const sinkRuns: ThroughputResult[] = [];
      const eddyRuns: ThroughputResult[] = [];
      for (let i = 0; i < opts.repeat; i++) {
        log(`consume kcat 100 B x ${consumeRecords}: sink, run ${i + 1}`);
        sinkRuns.push(
          await measured(
            sink,
            async () => ({
              records: sourceRecordsServed(consumeRecords, SOURCE_RECORDS_PER_BATCH),
              wallMs: (await kcatConsume(sink!.bootstrap, topic)).wallMs,
            }),
            100,
          ),
        );
        log(`consume kcat 100 B x ${consumeRecords}: eddy, run ${i + 1}`);
        eddyRuns.push(
          await measured(
            eddy,
            async () => ({ records: consumeRecords, wallMs: (await kcatConsume(eddy!.bootstrap, topic)).wallMs }),
            100,
          ),
        );
      }
      report.consume = { sink: best(sinkRuns), eddy: best(eddyRuns) };
    }

    if (opts.only.has('latency')) {
      const probe = buildLatencyProbe();
      if ('error' in probe) report.latency = { error: probe.error };
      else {
        const seconds = Math.max(5, Math.round(20 * Math.min(1, opts.scale)));
        const latency = { ratePerSecond: 10_000, recordBytes: 100, runs: [] as LatencyRun[] };
        report.latency = latency;
        // The baseline: the same probe through a server that keeps records in memory only.
        memorySink = await startSinkProcess({ mode: 'memory' });
        for (let i = 0; i < opts.repeat; i++) {
          for (const [name, server] of [
            ['memory sink', memorySink],
            ['eddy', eddy],
          ] as const) {
            const topic = `latency-${++topicSeq}`;
            if (name === 'eddy') await createTopic(server.bootstrap, topic, 1);
            log(`latency at 10k records/s for ${seconds} s: ${name}, run ${i + 1}`);
            const cpuBefore = server.cpuSeconds();
            const started = performance.now();
            const result = await runLatencyProbe(probe.path, server.bootstrap, topic, 10_000, seconds, 100);
            latency.runs.push({
              server: name,
              result,
              serverCpuSeconds: server.cpuSeconds() - cpuBefore,
              wallMs: performance.now() - started,
            });
          }
        }
      }
    }
    report.machine.loadAverageAtEnd = loadAverage();
    report.machine.brokerPeakRssMB = Math.round(eddy.peakRssBytes() / 1e6);
  } finally {
    await eddy?.stop();
    await sink?.stop();
    await memorySink?.stop();
    rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(`${render(report)}\n`);
  if (opts.jsonFile) writeFileSync(opts.jsonFile, `${JSON.stringify(report, null, 2)}\n`);
}

function render(r: Report): string {
  const out: string[] = [];
  const lb = r.loopback.bytesPerSecond;
  out.push('Eddy broker benchmark (single node, broker in its own process)');
  out.push(
    `machine: ${r.machine.cpus}; node ${r.machine.node}; ${r.machine.client}; broker node flags ${r.machine.brokerNodeFlags}; load average ${r.machine.loadAverageAtStart} at start, ${r.machine.loadAverageAtEnd ?? '?'} at end`,
  );
  out.push(
    `loopback TCP (Node sender -> Node receiver, 1 MiB writes): ${mbps(lb)}; 64 B round trip p50 ${r.loopback.rttP50Us.toFixed(0)} us, p99 ${r.loopback.rttP99Us.toFixed(0)} us`,
  );
  if (r.produce.length > 0) {
    out.push('');
    out.push(
      'Produce, acks=1, one partition. "sink" = the same client against a server that acknowledges and discards.',
    );
    out.push('Target: Eddy >= 50% of the sink rate.');
    out.push(
      table(
        [
          'client',
          'record',
          'sink rec/s',
          'eddy rec/s',
          'eddy MB/s',
          'eddy/sink',
          'eddy/loopback',
          'broker CPU s/GB',
          'target',
        ],
        r.produce.map((p) => {
          const ratio = recordsPerSecond(p.eddy) / recordsPerSecond(p.sink);
          return [
            p.gen,
            `${p.recordBytes} B`,
            si(recordsPerSecond(p.sink)),
            si(recordsPerSecond(p.eddy)),
            mbps(payloadBytesPerSecond(p.eddy)),
            pct(ratio),
            pct(payloadBytesPerSecond(p.eddy) / lb),
            cpuSecondsPerGB(p.eddy).toFixed(1),
            verdict(ratio >= 0.5),
          ];
        }),
      ),
    );
  }
  if (r.consume) {
    const c = r.consume;
    out.push('');
    out.push('Consume with kcat -C (librdkafka), 100 B records, one partition, from the beginning to the end.');
    out.push('Target: >= 1M records/s. "source" = kcat against a server serving the same batches from memory.');
    out.push(
      table(
        ['server', 'records/s', 'MB/s', 'of loopback', 'server CPU s/GB', 'target'],
        [
          [
            'source',
            si(recordsPerSecond(c.sink)),
            mbps(payloadBytesPerSecond(c.sink)),
            pct(payloadBytesPerSecond(c.sink) / lb),
            cpuSecondsPerGB(c.sink).toFixed(1),
            '',
          ],
          [
            'eddy',
            si(recordsPerSecond(c.eddy)),
            mbps(payloadBytesPerSecond(c.eddy)),
            pct(payloadBytesPerSecond(c.eddy) / lb),
            cpuSecondsPerGB(c.eddy).toFixed(1),
            verdict(recordsPerSecond(c.eddy) >= 1e6),
          ],
        ],
      ),
    );
    out.push(`eddy / source: ${pct(recordsPerSecond(c.eddy) / recordsPerSecond(c.sink))}`);
  }
  if (r.latency) {
    out.push('');
    if ('error' in r.latency) out.push(`End-to-end latency: not measured (${r.latency.error})`);
    else {
      const lat = r.latency;
      out.push(
        `End-to-end latency: librdkafka producer (acks=1, linger.ms=0) -> server -> librdkafka consumer, ${si(lat.ratePerSecond)} records/s of ${lat.recordBytes} B, first second dropped.`,
      );
      out.push(
        `"memory sink" = the same probe through a server that keeps the records in memory (no disk, no validation). Target: Eddy p99 <= 5 ms. Loopback 64 B round trip p99: ${ms(r.loopback.rttP99Us / 1000, 3)}.`,
      );
      const row = (label: string, p50: number, p99: number, p999: number, max: number, extra: string[]): string[] => [
        label,
        ms(p50 / 1000, 3),
        ms(p99 / 1000, 3),
        ms(p999 / 1000, 3),
        max >= 0 ? ms(max / 1000, 3) : '',
        ...extra,
      ];
      out.push(
        table(
          ['server / path', 'p50', 'p99', 'p99.9', 'max', 'missing', 'server CPU', 'target'],
          lat.runs.flatMap((run) => {
            const l = run.result;
            const cpu = pct(run.serverCpuSeconds / (run.wallMs / 1000));
            const target = run.server === 'eddy' ? verdict(l.p99Us <= 5000 && l.missing === 0) : '';
            return [
              row(`${run.server}: produce -> consume`, l.p50Us, l.p99Us, l.p999Us, l.maxUs, [
                String(l.missing),
                cpu,
                target,
              ]),
              row(`${run.server}: produce -> ack`, l.ackP50Us, l.ackP99Us, l.ackP999Us, -1, ['', '', '']),
            ];
          }),
        ),
      );
    }
  }
  out.push('');
  out.push(`broker peak RSS: ${r.machine.brokerPeakRssMB} MB`);
  return out.join('\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:broker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
