// `eddy produce`: one record per input line, from stdin or --file.
import { createReadStream, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { type Acks, type CompressionName, Producer, type RecordMetadata } from '../client/index.js';
import { type OptionSpecs, type ParsedArgs, splitKeyValue } from './args.js';
import { CommandError, clientOptions, printJson, UsageError } from './output.js';

export const PRODUCE_OPTIONS: OptionSpecs = {
  topic: { kind: 'string', short: 't', value: 'name', description: 'topic to write to (required)' },
  file: { kind: 'string', short: 'f', value: 'path', description: 'read lines from this file instead of stdin' },
  'parse-key': { kind: 'boolean', description: 'split each line into key and value at the key separator' },
  'key-separator': {
    kind: 'string',
    value: 'sep',
    description: 'key/value separator (default: tab); implies --parse-key',
  },
  header: { kind: 'list', value: 'key=value', description: 'header added to every record' },
  partition: { kind: 'number', short: 'p', value: 'n', description: 'write to this partition' },
  acks: { kind: 'string', value: 'all|1|0', description: 'acknowledgements to wait for (default all)' },
  compression: {
    kind: 'string',
    value: 'codec',
    description: 'none, gzip, snappy, lz4 or zstd (default none)',
  },
};

export const PRODUCE_HELP = `Usage: eddy produce --topic T [options] < lines

Each input line becomes one record (empty lines included; a trailing newline does not add one).

Examples:
  echo hello | eddy produce --topic demo
  printf 'user-1:{"a":1}\\n' | eddy produce --topic demo --key-separator : --header source=cli
  eddy produce --topic demo --file events.txt --acks 1 --compression zstd
`;

const CODECS: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export function parseAcks(v: string | undefined): Acks {
  if (v === undefined || v === 'all' || v === '-1') return 'all';
  if (v === '1') return 1;
  if (v === '0') return 0;
  throw new UsageError(`--acks must be all, -1, 1 or 0, got ${JSON.stringify(v)}`);
}

export function parseCompression(v: string | undefined): CompressionName {
  const c = (v ?? 'none') as CompressionName;
  if (!CODECS.includes(c)) throw new UsageError(`--compression must be one of ${CODECS.join(', ')}, got ${v}`);
  return c;
}

export async function produceCommand(args: ParsedArgs): Promise<void> {
  const topic = args.requireString('topic');
  const separator = args.string('key-separator') ?? (args.bool('parse-key') ? '\t' : undefined);
  if (separator === '') throw new UsageError('--key-separator must not be empty');
  const headers = args.list('header').map((kv) => splitKeyValue(kv, '--header'));
  const partition = args.integer('partition', 0);
  const acks = parseAcks(args.string('acks'));
  const producer = new Producer({
    ...clientOptions(args),
    acks,
    compression: parseCompression(args.string('compression')),
    // The CLI names the topic explicitly; let a broker that allows it create the topic.
    allowAutoTopicCreation: true,
  });
  const file = args.string('file');
  let fd: number | undefined;
  try {
    // Opened before connecting, so a wrong path fails at once.
    if (file !== undefined) fd = openSync(file, 'r');
  } catch (err) {
    throw new CommandError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let fileError: Error | null = null;
  let count = 0;
  let lineNo = 0;
  let pending: Promise<RecordMetadata>[] = [];
  const partitions = new Map<number, { first: number; last: number; count: number }>();
  const note = (m: RecordMetadata): void => {
    const p = partitions.get(m.partition);
    if (p === undefined) partitions.set(m.partition, { first: m.offset, last: m.offset, count: 1 });
    else {
      p.count++;
      if (m.offset >= 0) p.last = Math.max(p.last, m.offset);
    }
  };
  const settle = async (): Promise<void> => {
    const done = await Promise.all(pending);
    pending = [];
    for (const m of done) note(m);
  };
  try {
    await producer.connect();
    // Created only now: readline drops lines emitted before its async iterator exists.
    const input = fd !== undefined ? createReadStream('', { fd }) : process.stdin;
    input.on('error', (err: Error) => {
      fileError = err;
    });
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      lineNo++;
      let key: string | null = null;
      let value = line;
      if (separator !== undefined) {
        const at = line.indexOf(separator);
        if (at < 0)
          throw new CommandError(
            `line ${lineNo} has no key separator ${JSON.stringify(separator)} (${count} records were sent before it)`,
          );
        key = line.slice(0, at);
        value = line.slice(at + separator.length);
      }
      pending.push(producer.send({ topic, key, value, headers, ...(partition !== undefined ? { partition } : {}) }));
      count++;
      // Waiting every few thousand records bounds memory while batches still fill up.
      if (pending.length >= 5000) await settle();
    }
    if (fileError) throw new CommandError(`cannot read ${file}: ${(fileError as Error).message}`);
    await settle();
    await producer.flush();
  } finally {
    await producer.close({ timeoutMs: 10_000 }).catch(() => {});
  }
  const summary = {
    topic,
    records: count,
    partitions: [...partitions]
      .sort((a, b) => a[0] - b[0])
      .map(([p, r]) => ({ partition: p, records: r.count, firstOffset: r.first, lastOffset: r.last })),
  };
  if (args.bool('json')) printJson(summary);
  else process.stderr.write(`Produced ${count} record${count === 1 ? '' : 's'} to ${topic}.\n`);
}
