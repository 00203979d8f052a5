// Workloads for chaos runs: acks=all writers (Eddy's producer with and without idempotence,
// kafkajs idempotent, librdkafka through /usr/bin/python3 confluent_kafka), a verifying
// consumer, and readers of the final logs (from the cluster and from each node's data dir).
import { spawn } from 'node:child_process';
import { Consumer } from '../../src/client/consumer/consumer.js';
import { Producer } from '../../src/client/producer/producer.js';
import { decodeRecordBatches } from '../../src/records/index.js';
import { DEFAULT_LOG_CONFIG, LogManager } from '../../src/storage/index.js';
import type { LogRecord, Write } from './checker.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What one workload sent and was told. */
export class History {
  readonly attempted = new Set<string>();
  readonly acknowledged: Write[] = [];
  /** Sends that failed (indeterminate: the write may or may not be in the log). */
  failed = 0;
  lastError = '';
  /** Acknowledgements by time, to show a workload kept going through faults. */
  readonly ackTimes: number[] = [];

  constructor(
    readonly name: string,
    readonly topic: string,
    readonly idempotent: boolean,
  ) {}

  ack(partition: number, offset: number, value: string): void {
    this.acknowledged.push({ topic: this.topic, partition, offset, value });
    this.ackTimes.push(Date.now());
  }

  fail(err: unknown): void {
    this.failed++;
    this.lastError = err instanceof Error ? err.message : String(err);
  }

  acksAfter(t: number): number {
    return this.ackTimes.filter((x) => x >= t).length;
  }
}

export interface Workload {
  readonly history: History;
  /** Stops sending, waits for outstanding sends to finish, releases the client. */
  stop(): Promise<void>;
}

export interface WriterOptions {
  bootstrap: string;
  topic: string;
  partitions: number;
  /** Writer name: the prefix of its values. */
  name: string;
  /** Pause between sends, per in-flight slot (keeps a loaded machine usable). */
  intervalMs?: number;
}

/** Eddy's producer, acks=all, sends with `window` records outstanding. */
export function eddyWriter(opts: WriterOptions & { idempotent: boolean; window?: number }): Workload {
  const history = new History(opts.name, opts.topic, opts.idempotent);
  const producer = new Producer({
    bootstrapServers: opts.bootstrap,
    acks: 'all',
    idempotent: opts.idempotent,
    lingerMs: 2,
    deliveryTimeoutMs: 120_000,
    requestTimeoutMs: 10_000,
    retryBackoffMs: 100,
    retryBackoffMaxMs: 1000,
    metadataMaxAgeMs: 5000,
    logger: null,
  });
  let running = true;
  let seq = 0;
  const slot = async (): Promise<void> => {
    while (running) {
      const n = seq++;
      const value = `${opts.name}:${n}`;
      const partition = n % opts.partitions;
      history.attempted.add(value);
      try {
        const meta = await producer.send({ topic: opts.topic, partition, value });
        history.ack(meta.partition, meta.offset, value);
      } catch (err) {
        history.fail(err);
        await sleep(200);
      }
      await sleep(opts.intervalMs ?? 10);
    }
  };
  const slots = Array.from({ length: opts.window ?? 8 }, () => slot());
  return {
    history,
    async stop() {
      running = false;
      await Promise.all(slots);
      await producer.close({ timeoutMs: 10_000 }).catch(() => {});
    },
  };
}

/** kafkajs with `idempotent: true`, one send at a time (as kafkajs wants with idempotence). */
export async function kafkajsWriter(opts: WriterOptions): Promise<Workload> {
  const { Kafka, logLevel } = await import('kafkajs');
  const history = new History(opts.name, opts.topic, true);
  const kafka = new Kafka({
    clientId: opts.name,
    brokers: opts.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    requestTimeout: 10_000,
    connectionTimeout: 3000,
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  let running = true;
  const loop = (async () => {
    let seq = 0;
    while (running) {
      const n = seq++;
      const value = `${opts.name}:${n}`;
      const partition = n % opts.partitions;
      history.attempted.add(value);
      try {
        const [md] = await producer.send({ topic: opts.topic, acks: -1, messages: [{ value, partition }] });
        if (!md) throw new Error('kafkajs returned no record metadata');
        history.ack(md.partition, Number(md.baseOffset), value);
      } catch (err) {
        history.fail(err);
        await sleep(200);
      }
      await sleep(opts.intervalMs ?? 5);
    }
  })();
  return {
    history,
    async stop() {
      running = false;
      await loop;
      await producer.disconnect().catch(() => {});
    },
  };
}

const RDKAFKA_WRITER = `
import signal, sys, time
from confluent_kafka import Producer
bootstrap, topic, parts, name, idem, interval = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] == '1', float(sys.argv[6])
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
out = sys.stdout
p = Producer({'bootstrap.servers': bootstrap, 'acks': 'all', 'enable.idempotence': idem,
              'message.timeout.ms': 120000, 'linger.ms': 5, 'retry.backoff.ms': 100,
              'topic.metadata.refresh.interval.ms': 5000})
def delivered(err, msg):
    v = msg.value().decode()
    if err is None:
        out.write('ACK %d %d %s\\n' % (msg.partition(), msg.offset(), v))
    else:
        out.write('ERR %s %s\\n' % (v, str(err).replace('\\n', ' ')))
seq = 0
while not stop:
    v = '%s:%d' % (name, seq)
    try:
        p.produce(topic, v.encode(), partition=seq % parts, on_delivery=delivered)
    except BufferError:
        p.poll(0.1)
        continue
    out.write('TRY %s\\n' % v)
    seq += 1
    p.poll(0)
    time.sleep(interval)
left = p.flush(90)
out.write('DONE %d\\n' % left)
out.flush()
`;

/** librdkafka (confluent_kafka under /usr/bin/python3), acks=all. */
export function rdkafkaWriter(opts: WriterOptions & { idempotent: boolean }): Workload {
  const history = new History(opts.name, opts.topic, opts.idempotent);
  const child = spawn(
    '/usr/bin/python3',
    [
      '-c',
      RDKAFKA_WRITER,
      opts.bootstrap,
      opts.topic,
      String(opts.partitions),
      opts.name,
      opts.idempotent ? '1' : '0',
      String((opts.intervalMs ?? 5) / 1000),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let buffered = '';
  let stderr = '';
  let done = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buffered += d;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const [kind, a, b, c] = line.split(' ');
      if (kind === 'TRY' && a) history.attempted.add(a);
      else if (kind === 'ACK' && c) history.ack(Number(a), Number(b), c);
      else if (kind === 'ERR') history.fail(new Error(line.slice(4)));
      else if (kind === 'DONE') done = true;
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    history,
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 120_000);
      await exited;
      clearTimeout(t);
      if (!done) history.fail(new Error(`the python writer did not finish cleanly: ${stderr.slice(-1000)}`));
    },
  };
}

/** Reads every partition of `topics` from the start while faults run, recording what it sees. */
export function verifyingConsumer(bootstrap: string, topics: { topic: string; partitions: number }[]) {
  const consumed: Write[] = [];
  let regressions = 0;
  const last = new Map<string, number>();
  const consumer = new Consumer({
    bootstrapServers: bootstrap,
    fetchMaxWaitMs: 200,
    requestTimeoutMs: 10_000,
    metadataMaxAgeMs: 5000,
    logger: null,
  });
  consumer.assign(
    topics.flatMap(({ topic, partitions }) =>
      Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 'earliest' as const })),
    ),
  );
  const abort = new AbortController();
  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        const batch = await consumer.poll(abort.signal);
        if (batch === null) break;
        const k = `${batch.topic}/${batch.partition}`;
        for (const m of batch.messages) {
          const prev = last.get(k) ?? -1;
          // Re-reading from an earlier offset is allowed (an offset reset) but counted.
          if (m.offset <= prev) regressions++;
          last.set(k, m.offset);
          consumed.push({
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            value: m.value?.toString() ?? '',
          });
        }
      } catch {
        if (!abort.signal.aborted) await sleep(200);
      }
    }
  })();
  return {
    consumed,
    regressions: () => regressions,
    async stop(): Promise<void> {
      abort.abort();
      await loop;
      await consumer.close().catch(() => {});
    },
  };
}

/** The committed log of one partition as a client reads it: from the start up to `endOffset`. */
export async function readPartition(
  bootstrap: string,
  topic: string,
  partition: number,
  endOffset: number,
  timeoutMs = 60_000,
): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  if (endOffset <= 0) return out;
  const consumer = new Consumer({ bootstrapServers: bootstrap, fetchMaxWaitMs: 100, logger: null });
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    consumer.assign([{ topic, partition, offset: 'earliest' }]);
    let next = 0;
    while (next < endOffset) {
      const batch = await consumer.poll(abort.signal);
      if (batch === null)
        throw new Error(`read ${topic}/${partition} up to ${next} of ${endOffset} before the timeout`);
      for (const m of batch.messages) {
        if (m.offset >= endOffset) continue;
        out.push({ offset: m.offset, value: m.value?.toString() ?? '' });
        next = m.offset + 1;
      }
    }
    return out;
  } finally {
    clearTimeout(timer);
    await consumer.close().catch(() => {});
  }
}

/** A stopped node's local copy of each partition of `topic`, read from its data dir. */
export async function readReplicaLogs(dataDir: string, topic: string): Promise<Map<number, LogRecord[]>> {
  const mgr = await LogManager.open({ logDirs: [dataDir], defaultConfig: DEFAULT_LOG_CONFIG });
  try {
    const out = new Map<number, LogRecord[]>();
    for (const log of mgr.allLogs()) {
      if (log.topic !== topic) continue;
      const records: LogRecord[] = [];
      let offset = log.logStartOffset;
      while (offset < log.logEndOffset) {
        const { records: bytes, nextOffset } = log.read(offset, 1 << 20, log.logEndOffset, true);
        for (const batch of decodeRecordBatches(bytes)) {
          const producer = `${batch.producerId}/${batch.producerEpoch}`;
          for (const r of batch.records)
            if (r.offset >= offset) records.push({ offset: r.offset, value: r.value?.toString() ?? '', producer });
        }
        if (nextOffset <= offset) break;
        offset = nextOffset;
      }
      out.set(log.partition, records);
    }
    return out;
  } finally {
    await mgr.close();
  }
}
