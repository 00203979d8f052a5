// `eddy perf produce|consume|latency`: throughput and latency tests in the spirit of Kafka's
// producer/consumer performance tools and its end-to-end latency tool.
import { performance } from 'node:perf_hooks';
import { AbortError, Admin, Consumer, Producer } from '../client/index.js';
import type { OptionSpecs, ParsedArgs } from './args.js';
import { CommandError, clientOptions, print, printJson, UsageError } from './output.js';
import { parseAcks, parseCompression } from './produce.js';

export const PERF_OPTIONS: OptionSpecs = {
  topic: { kind: 'string', short: 't', value: 'name', description: 'topic (required)' },
  'num-records': { kind: 'number', short: 'n', value: 'n', description: 'records to send or read (required)' },
  'record-size': {
    kind: 'number',
    short: 's',
    value: 'bytes',
    description: 'value size (produce, latency; default 100)',
  },
  throughput: { kind: 'number', value: 'records/s', description: 'produce: rate limit, -1 for none (default -1)' },
  acks: { kind: 'string', value: 'all|1|0', description: 'produce, latency: acknowledgements (default all)' },
  compression: { kind: 'string', value: 'codec', description: 'produce, latency: none, gzip, snappy, lz4, zstd' },
  'timeout-ms': {
    kind: 'number',
    value: 'ms',
    description: 'consume: give up after this long without records (default 10000)',
  },
  'reporting-interval-ms': {
    kind: 'number',
    value: 'ms',
    description: 'progress line period (default 1000 on a TTY, else 5000)',
  },
};

export const PERF_HELP = `Usage: eddy perf <produce|consume|latency> --topic T --num-records N [options]

produce  sends N records as fast as allowed and reports records/s, MB/s and the latency from
         send to acknowledgement (average, p50, p95, p99, p99.9, max).
consume  reads N records from the start of the topic and reports records/s and MB/s.
latency  sends N records one at a time and times each from send until a consumer receives it.
A progress line goes to stderr while it runs; the summary goes to stdout (--json for machines).

Examples:
  eddy perf produce --topic bench --num-records 100000 --record-size 100 --throughput -1 --acks 1
  eddy perf consume --topic bench --num-records 100000
  eddy perf latency --topic bench-latency --num-records 1000 --json
`;

export interface LatencyStats {
  avg: number;
  max: number;
  p50: number;
  p95: number;
  p99: number;
  p999: number;
}

/** Latency summary of `values` (milliseconds); nearest-rank percentiles. */
export function latencyStats(values: Float64Array): LatencyStats {
  if (values.length === 0) return { avg: 0, max: 0, p50: 0, p95: 0, p99: 0, p999: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  let sum = 0;
  for (const v of sorted) sum += v;
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    avg: r(sum / sorted.length),
    max: r(sorted[sorted.length - 1] ?? 0),
    p50: r(at(0.5)),
    p95: r(at(0.95)),
    p99: r(at(0.99)),
    p999: r(at(0.999)),
  };
}

const MB = 1024 * 1024;

/** Progress to stderr: on a TTY one line rewritten in place, otherwise a line every few seconds. */
class Progress {
  private readonly timer: NodeJS.Timeout;
  private readonly tty = process.stderr.isTTY === true;
  private wrote = false;
  constructor(intervalMs: number | undefined, line: () => string) {
    const period = intervalMs ?? (this.tty ? 1000 : 5000);
    this.timer = setInterval(() => {
      this.wrote = true;
      process.stderr.write(this.tty ? `\r\x1b[K${line()}` : `${line()}\n`);
    }, period);
    this.timer.unref();
  }
  stop(): void {
    clearInterval(this.timer);
    if (this.tty && this.wrote) process.stderr.write('\r\x1b[K');
  }
}

function payload(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = 65 + Math.floor(Math.random() * 26);
  return b;
}

const fmt = (x: number, digits = 1): string => x.toFixed(digits);

export async function perfCommand(sub: string | undefined, args: ParsedArgs): Promise<void> {
  if (sub === 'produce') return perfProduce(args);
  if (sub === 'consume') return perfConsume(args);
  if (sub === 'latency') return perfLatency(args);
  throw new UsageError(`unknown perf command ${sub ?? '(none)'}: use produce, consume or latency`);
}

function required(args: ParsedArgs): { topic: string; numRecords: number } {
  const topic = args.requireString('topic');
  const numRecords = args.integer('num-records', 1);
  if (numRecords === undefined) throw new UsageError('--num-records is required');
  return { topic, numRecords };
}

async function perfProduce(args: ParsedArgs): Promise<void> {
  const { topic, numRecords } = required(args);
  const recordSize = args.integer('record-size', 0) ?? 100;
  const throughput = args.number('throughput') ?? -1;
  if (throughput === 0) throw new UsageError('--throughput must be positive, or -1 for no limit');
  const producer = new Producer({
    ...clientOptions(args),
    acks: parseAcks(args.string('acks')),
    compression: parseCompression(args.string('compression')),
    allowAutoTopicCreation: true,
  });
  const value = payload(recordSize);
  const latencies = new Float64Array(numRecords);
  let acked = 0;
  let inflight = 0;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  // Enough records in flight to fill batches; more only queues in the producer (measured: 50,000
  // outstanding 100-byte sends ran 3x slower than a window of 5,000) and inflates latency.
  const maxInflight = Math.max(100, Math.min(5000, Math.floor((8 * MB) / Math.max(1, recordSize))));
  let sent = 0;
  const start = performance.now();
  let windowStart = start;
  let windowAcked = 0;
  const progress = new Progress(args.integer('reporting-interval-ms', 100), () => {
    const now = performance.now();
    const rate = ((acked - windowAcked) * 1000) / Math.max(1, now - windowStart);
    windowStart = now;
    windowAcked = acked;
    return `${acked}/${numRecords} records acknowledged, ${fmt(rate)} records/s (${fmt((rate * recordSize) / MB, 2)} MB/s)`;
  });
  try {
    await producer.connect();
    for (; sent < numRecords && failure === null; sent++) {
      if (throughput > 0) {
        const due = start + (sent * 1000) / throughput;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      }
      while (inflight >= maxInflight && failure === null) await new Promise<void>((r) => (wake = r));
      const t0 = performance.now();
      inflight++;
      producer.send({ topic, value }).then(
        () => {
          latencies[acked++] = performance.now() - t0;
          inflight--;
          wake?.();
        },
        (err) => {
          failure ??= err;
          inflight--;
          wake?.();
        },
      );
    }
    await producer.flush();
    while (inflight > 0 && failure === null) await new Promise<void>((r) => (wake = r));
  } finally {
    progress.stop();
    await producer.close({ timeoutMs: 10_000 }).catch(() => {});
  }
  if (failure !== null) throw failure;
  const elapsedMs = performance.now() - start;
  const rps = (acked * 1000) / elapsedMs;
  const summary = {
    test: 'produce',
    topic,
    records: acked,
    recordSize,
    elapsedMs: Math.round(elapsedMs),
    recordsPerSec: Math.round(rps * 10) / 10,
    mbPerSec: Math.round(((rps * recordSize) / MB) * 1000) / 1000,
    latencyMs: latencyStats(latencies.subarray(0, acked)),
  };
  report(args, summary);
}

function report(
  args: ParsedArgs,
  s: {
    test: string;
    records: number;
    elapsedMs: number;
    recordsPerSec: number;
    mbPerSec: number;
    latencyMs?: LatencyStats;
  },
): void {
  if (args.bool('json')) {
    printJson(s);
    return;
  }
  let text =
    `${s.records} records in ${fmt(s.elapsedMs / 1000, 2)} s: ${fmt(s.recordsPerSec)} records/s, ` +
    `${fmt(s.mbPerSec, 2)} MB/s\n`;
  const l = s.latencyMs;
  if (l)
    text +=
      `latency ms: avg ${fmt(l.avg, 2)}, p50 ${fmt(l.p50, 2)}, p95 ${fmt(l.p95, 2)}, p99 ${fmt(l.p99, 2)}, ` +
      `p99.9 ${fmt(l.p999, 2)}, max ${fmt(l.max, 2)}\n`;
  print(text);
}

async function perfConsume(args: ParsedArgs): Promise<void> {
  const { topic, numRecords } = required(args);
  const timeoutMs = args.integer('timeout-ms', 1) ?? 10_000;
  const opts = clientOptions(args);
  const admin = new Admin(opts);
  let partitions: number[];
  try {
    const [d] = await admin.describeTopics([topic]);
    partitions = (d?.partitions ?? []).map((p) => p.partition);
  } finally {
    await admin.close();
  }
  const consumer = new Consumer({ ...opts, autoCommit: false, allowAutoTopicCreation: false });
  let records = 0;
  let bytes = 0;
  const start = performance.now();
  let windowStart = start;
  let windowRecords = 0;
  const progress = new Progress(args.integer('reporting-interval-ms', 100), () => {
    const now = performance.now();
    const rate = ((records - windowRecords) * 1000) / Math.max(1, now - windowStart);
    windowStart = now;
    windowRecords = records;
    return `${records}/${numRecords} records read, ${fmt(rate)} records/s`;
  });
  try {
    await consumer.connect();
    consumer.assign(partitions.map((partition) => ({ topic, partition, offset: 'earliest' as const })));
    while (records < numRecords) {
      let batch: Awaited<ReturnType<Consumer['poll']>>;
      try {
        batch = await consumer.poll(AbortSignal.timeout(timeoutMs));
      } catch (err) {
        if (err instanceof AbortError)
          throw new CommandError(
            `only ${records} of ${numRecords} records arrived; none for ${timeoutMs} ms (topic ${topic} may hold fewer)`,
          );
        throw err;
      }
      if (batch === null) break;
      for (const m of batch.messages) {
        records++;
        bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
        if (records >= numRecords) break;
      }
    }
  } finally {
    progress.stop();
    await consumer.close().catch(() => {});
  }
  const elapsedMs = performance.now() - start;
  report(args, {
    test: 'consume',
    records,
    elapsedMs: Math.round(elapsedMs),
    recordsPerSec: Math.round(((records * 1000) / elapsedMs) * 10) / 10,
    mbPerSec: Math.round(((bytes * 1000) / elapsedMs / MB) * 1000) / 1000,
  });
}

async function perfLatency(args: ParsedArgs): Promise<void> {
  const { topic, numRecords } = required(args);
  const recordSize = Math.max(16, args.integer('record-size', 0) ?? 100);
  const opts = clientOptions(args);
  const admin = new Admin(opts);
  try {
    // One partition, so every record is read back in order by one assigned consumer.
    await admin.createTopics([{ name: topic, numPartitions: 1 }]);
    const [d] = await admin.describeTopics([topic]);
    if ((d?.partitions.length ?? 0) !== 1)
      throw new CommandError(`perf latency needs a topic with one partition; ${topic} has ${d?.partitions.length}`);
  } finally {
    await admin.close();
  }
  const producer = new Producer({
    ...opts,
    acks: parseAcks(args.string('acks')),
    compression: parseCompression(args.string('compression')),
    lingerMs: 0,
  });
  const consumer = new Consumer({ ...opts, autoCommit: false, fetchMaxWaitMs: 100, allowAutoTopicCreation: false });
  const latencies = new Float64Array(numRecords);
  let done = 0;
  const start = performance.now();
  const progress = new Progress(args.integer('reporting-interval-ms', 100), () => {
    const l = latencyStats(latencies.subarray(0, done));
    return `${done}/${numRecords} round trips, avg ${fmt(l.avg, 2)} ms, p99 ${fmt(l.p99, 2)} ms`;
  });
  try {
    await Promise.all([producer.connect(), consumer.connect()]);
    consumer.assign([{ topic, partition: 0, offset: 'latest' }]);
    // Settle the consumer's start position before timing: the first poll resolves 'latest'.
    await consumer.poll(AbortSignal.timeout(1000)).catch((err) => {
      if (!(err instanceof AbortError)) throw err;
    });
    const base = payload(recordSize);
    for (let i = 0; i < numRecords; i++) {
      const marker = `${i}:`;
      const value = Buffer.concat([Buffer.from(marker), base.subarray(marker.length)]);
      const t0 = performance.now();
      await producer.send({ topic, partition: 0, value });
      let seen = false;
      while (!seen) {
        const batch = await consumer.poll(AbortSignal.timeout(30_000)).catch((err) => {
          if (err instanceof AbortError) throw new CommandError(`record ${i} did not come back within 30 s`);
          throw err;
        });
        if (batch === null) throw new CommandError('the consumer closed');
        seen = batch.messages.some((m) => m.value?.subarray(0, marker.length).toString() === marker);
      }
      latencies[done++] = performance.now() - t0;
    }
  } finally {
    progress.stop();
    await Promise.all([producer.close({ timeoutMs: 10_000 }).catch(() => {}), consumer.close().catch(() => {})]);
  }
  const elapsedMs = performance.now() - start;
  const rps = (done * 1000) / elapsedMs;
  report(args, {
    test: 'latency',
    records: done,
    elapsedMs: Math.round(elapsedMs),
    recordsPerSec: Math.round(rps * 10) / 10,
    mbPerSec: Math.round(((rps * recordSize) / MB) * 1000) / 1000,
    latencyMs: latencyStats(latencies.subarray(0, done)),
  });
}
