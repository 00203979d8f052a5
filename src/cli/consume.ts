// `eddy consume`: prints a topic's records, with or without a consumer group.
import { AbortError, Admin, Consumer, type Message } from '../client/index.js';
import type { OptionSpecs, ParsedArgs } from './args.js';
import { CommandError, clientOptions, UsageError } from './output.js';
import { parseTimestamp } from './time.js';

export const CONSUME_OPTIONS: OptionSpecs = {
  topic: { kind: 'string', short: 't', value: 'name', description: 'topic to read (required)' },
  'from-beginning': { kind: 'boolean', description: 'start at the earliest offset (default: only new records)' },
  offset: { kind: 'string', short: 'o', value: 'n|earliest|latest', description: 'start offset (without --group)' },
  partition: { kind: 'number', short: 'p', value: 'n', description: 'read only this partition (without --group)' },
  'from-time': {
    kind: 'string',
    value: 'iso|ms',
    description: 'start at the first record at or after this time (without --group)',
  },
  group: { kind: 'string', short: 'g', value: 'id', description: 'consume as a member of this group and commit' },
  'max-messages': { kind: 'number', short: 'n', value: 'n', description: 'exit after this many records' },
  'timeout-ms': { kind: 'number', value: 'ms', description: 'exit when no record arrives for this long' },
  format: { kind: 'string', value: 'value|key-value|json', description: 'output format (default value)' },
  'key-separator': { kind: 'string', value: 'sep', description: 'separator for --format key-value (default tab)' },
};

export const CONSUME_HELP = `Usage: eddy consume --topic T [options]

Prints one record per line. --format json (or --json) prints JSON lines with topic, partition, offset,
timestamp, key, value and headers (keys, values and headers as UTF-8 text, null when absent).
Runs until --max-messages, --timeout-ms or Ctrl-C; the count goes to stderr.

Examples:
  eddy consume --topic demo --from-beginning --max-messages 10
  eddy consume --topic demo --partition 0 --offset 42 --format json
  eddy consume --topic demo --from-time 2024-05-01T00:00:00Z --timeout-ms 5000
  eddy consume --topic demo --group audit --from-beginning --format key-value
`;

const FORMATS = ['value', 'key-value', 'json'] as const;
type Format = (typeof FORMATS)[number];

function text(b: Buffer | null): string | null {
  return b === null ? null : b.toString('utf8');
}

export function formatMessage(
  format: Format,
  topic: string,
  partition: number,
  m: Message,
  keySeparator: string,
): string {
  if (format === 'value') return text(m.value) ?? 'null';
  if (format === 'key-value') return `${text(m.key) ?? 'null'}${keySeparator}${text(m.value) ?? 'null'}`;
  const headers: Record<string, string | null> = {};
  for (const [k, v] of m.headers) headers[k] = text(v);
  return JSON.stringify({
    topic,
    partition,
    offset: m.offset,
    timestamp: m.timestamp,
    key: text(m.key),
    value: text(m.value),
    headers,
  });
}

type StartAt = number | 'earliest' | 'latest' | { time: number };

export async function consumeCommand(args: ParsedArgs): Promise<void> {
  const topic = args.requireString('topic');
  // --json (accepted by every command) means JSON lines here.
  const format = (args.string('format') ?? (args.bool('json') ? 'json' : 'value')) as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  const keySeparator = args.string('key-separator') ?? '\t';
  const maxMessages = args.integer('max-messages', 1);
  const timeoutMs = args.integer('timeout-ms', 0);
  const partitionArg = args.integer('partition', 0);
  const group = args.string('group');
  const offsetArg = args.string('offset');
  const fromTime = args.string('from-time');
  let start: StartAt = args.bool('from-beginning') ? 'earliest' : 'latest';
  if (offsetArg !== undefined) {
    if (offsetArg === 'earliest' || offsetArg === 'beginning') start = 'earliest';
    else if (offsetArg === 'latest' || offsetArg === 'end') start = 'latest';
    else if (/^\d+$/.test(offsetArg)) start = Number(offsetArg);
    else throw new UsageError(`--offset expects a number, earliest or latest, got ${offsetArg}`);
  }
  if (fromTime !== undefined) start = { time: parseTimestamp(fromTime, '--from-time') };
  if (group !== undefined && (partitionArg !== undefined || offsetArg !== undefined || fromTime !== undefined))
    throw new UsageError(
      '--partition, --offset and --from-time read without a group; with --group the start is the committed offset ' +
        '(see eddy groups reset-offsets)',
    );

  const opts = clientOptions(args);
  const consumer = new Consumer({
    ...opts,
    ...(group !== undefined ? { groupId: group } : {}),
    // Commits are explicit, for exactly the records printed.
    autoCommit: false,
    autoOffsetReset: start === 'earliest' ? 'earliest' : 'latest',
    allowAutoTopicCreation: false,
  });
  const printedUpTo = new Map<number, number>();
  let committedUpTo = new Map<number, number>();
  const commit = async (): Promise<void> => {
    if (group === undefined) return;
    const offsets = [...printedUpTo]
      .filter(([p, o]) => committedUpTo.get(p) !== o)
      .map(([partition, offset]) => ({ topic, partition, offset }));
    if (offsets.length === 0) return;
    await consumer.commit(offsets);
    committedUpTo = new Map(printedUpTo);
  };

  const stop = new AbortController();
  const onSignal = (): void => stop.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const onOutputError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE') stop.abort(new Error('output closed'));
  };
  process.stdout.on('error', onOutputError);
  let count = 0;
  try {
    await consumer.connect();
    if (group !== undefined) consumer.subscribe([topic]);
    else await assignPartitions(opts, consumer, topic, partitionArg, start);
    let lastCommit = Date.now();
    let out = '';
    outer: for (;;) {
      const signals = [stop.signal];
      if (timeoutMs !== undefined) signals.push(AbortSignal.timeout(timeoutMs));
      let batch: Awaited<ReturnType<Consumer['poll']>>;
      try {
        batch = await consumer.poll(AbortSignal.any(signals));
      } catch (err) {
        if (err instanceof AbortError) break;
        throw err;
      }
      if (batch === null) break;
      for (const m of batch.messages) {
        out += `${formatMessage(format, batch.topic, batch.partition, m, keySeparator)}\n`;
        printedUpTo.set(batch.partition, m.offset + 1);
        count++;
        if (maxMessages !== undefined && count >= maxMessages) {
          await write(out);
          break outer;
        }
      }
      await write(out);
      out = '';
      if (group !== undefined && Date.now() - lastCommit > 5000) {
        await commit();
        lastCommit = Date.now();
      }
    }
    await commit();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stdout.off('error', onOutputError);
    await consumer.close().catch(() => {});
  }
  process.stderr.write(`Processed a total of ${count} message${count === 1 ? '' : 's'}\n`);
}

/** Writes to stdout, waiting when the pipe is full (and ignoring a closed pipe, e.g. `| head`). */
function write(s: string): Promise<void> {
  if (s === '' || process.stdout.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    if (process.stdout.write(s)) resolve();
    else {
      process.stdout.once('drain', resolve);
      process.stdout.once('close', resolve);
    }
  });
}

async function assignPartitions(
  opts: ReturnType<typeof clientOptions>,
  consumer: Consumer,
  topic: string,
  partition: number | undefined,
  start: StartAt,
): Promise<void> {
  const admin = new Admin(opts);
  try {
    const [desc] = await admin.describeTopics([topic]);
    const count = desc?.partitions.length ?? 0;
    if (partition !== undefined && partition >= count)
      throw new CommandError(`topic ${topic} has ${count} partitions; there is no partition ${partition}`);
    const parts = partition !== undefined ? [partition] : Array.from({ length: count }, (_, i) => i);
    let offsets: Map<number, number | 'earliest' | 'latest'>;
    if (typeof start === 'object') {
      const found = await admin.fetchTopicOffsetsByTimestamp(topic, start.time);
      // No record at or after the time: start at the end, as Kafka's tools do.
      offsets = new Map(found.map((f) => [f.partition, f.offset >= 0 ? f.offset : 'latest']));
    } else offsets = new Map(parts.map((p) => [p, start]));
    consumer.assign(parts.map((p) => ({ topic, partition: p, offset: offsets.get(p) ?? 'latest' })));
  } finally {
    await admin.close();
  }
}
