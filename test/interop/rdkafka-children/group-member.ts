// One consumer-group member as its own process, so a test can SIGKILL it. It consumes with
// node-rdkafka's KafkaConsumer, commits manually after each processed batch and reports on
// stdout, one event per line:
//   READY                      connected and subscribed
//   A <p,p,...>                its assignment changed (sorted partitions, '-' for none)
//   M <p>:<o>:<value> ...      records processed (reported before their offsets are committed)
//   E <text>                   a non-fatal error (a failed commit, a client error event)
//   CLOSED                     clean close finished (final commit done, consumer disconnected)
// With commitEachBatch false it commits only on close and, under eager protocols, on revoke.
// Control lines on stdin: "rate N" (records per second, 0 for no limit) and "stop" (clean
// close, as SIGTERM). The configuration is one JSON argument (MemberOptions).
import type { KafkaConsumer, LibrdKafkaError, Message, TopicPartitionOffset } from 'node-rdkafka';
import { connectClient, Kafka, type MemberOptions, sleep } from '../rdkafka-support.js';

const ERR_ASSIGN_PARTITIONS = -175;
const ERR_REVOKE_PARTITIONS = -174;

const opts = JSON.parse(process.argv[2] ?? '{}') as MemberOptions;
let ratePerSec = opts.ratePerSec;
let stopping = false;
/** Next offset to commit, per partition, for records processed but maybe not yet committed. */
const processedNext = new Map<number, number>();

function emit(line: string): void {
  // Pipes are synchronous on Linux, so a line is out before the commit that follows it.
  process.stdout.write(`${line}\n`);
}

const cooperative = opts.strategy === 'cooperative-sticky';

const consumer: KafkaConsumer = new Kafka.KafkaConsumer(
  {
    'metadata.broker.list': opts.bootstrap,
    'group.id': opts.groupId,
    ...(opts.instanceId ? { 'group.instance.id': opts.instanceId } : {}),
    'partition.assignment.strategy': opts.strategy,
    'session.timeout.ms': opts.sessionTimeoutMs,
    'heartbeat.interval.ms': opts.heartbeatIntervalMs,
    'enable.auto.commit': false,
    'fetch.wait.max.ms': 100,
    'client.id': `rdkafka-member-${opts.instanceId ?? process.pid}`,
    ...(opts.debug ? { debug: opts.debug, event_cb: true } : {}),
    offset_commit_cb: (err: LibrdKafkaError | undefined) => {
      if (err) emit(`E commit ${err.code} ${err.message}`);
    },
    // Eager protocols: commit what was processed before giving partitions up. node-rdkafka 2.15
    // has no incremental assign/unassign, so with cooperative-sticky librdkafka's built-in
    // handler does the incremental (un)assign and no callback is installed.
    ...(cooperative
      ? {}
      : {
          rebalance_cb: (err: LibrdKafkaError, assignment: TopicPartitionOffset[]) => {
            if (err.code === ERR_ASSIGN_PARTITIONS) {
              consumer.assign(assignment);
            } else if (err.code === ERR_REVOKE_PARTITIONS) {
              commitProcessed(true);
              processedNext.clear();
              consumer.unassign();
            }
          },
        }),
  },
  { 'auto.offset.reset': 'earliest' },
);

consumer.on('event.error', (err) => emit(`E event ${err.code} ${err.message}`));
consumer.on('event.log', (log: { fac?: string; message?: string }) => {
  process.stderr.write(`${new Date().toISOString()} ${log.fac ?? ''} ${log.message ?? ''}\n`);
});

function commitProcessed(sync: boolean): void {
  // Only partitions still owned: a stale commit from a former owner could move the group's
  // offset back below what the new owner already committed.
  let owned: Set<number>;
  try {
    owned = new Set(consumer.assignments().map((a) => a.partition));
  } catch {
    return;
  }
  const offsets = [...processedNext]
    .filter(([partition]) => owned.has(partition))
    .map(([partition, offset]) => ({ topic: opts.topic, partition, offset }));
  if (offsets.length === 0) return;
  try {
    if (sync) consumer.commitSync(offsets);
    else consumer.commit(offsets);
  } catch (err) {
    emit(`E commit ${(err as LibrdKafkaError).code} ${(err as Error).message}`);
  }
}

let lastAssignment = '';
function reportAssignment(): void {
  let parts: number[];
  try {
    parts = consumer
      .assignments()
      .map((a) => a.partition)
      .sort((a, b) => a - b);
  } catch {
    return;
  }
  const text = parts.length ? parts.join(',') : '-';
  if (text !== lastAssignment) {
    lastAssignment = text;
    emit(`A ${text}`);
  }
}

function consumeBatch(max: number): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    consumer.consume(max, (err, messages) => (err ? reject(err) : resolve(messages)));
  });
}

function close(): void {
  stopping = true;
}

process.on('SIGTERM', () => close());
let stdinBuffer = '';
process.stdin.on('data', (chunk: Buffer) => {
  stdinBuffer += chunk.toString();
  let nl = stdinBuffer.indexOf('\n');
  while (nl >= 0) {
    const line = stdinBuffer.slice(0, nl).trim();
    stdinBuffer = stdinBuffer.slice(nl + 1);
    if (line === 'stop') close();
    else if (line.startsWith('rate ')) ratePerSec = Number(line.slice(5));
    nl = stdinBuffer.indexOf('\n');
  }
});
// The parent going away must not leave this member running.
process.stdin.on('end', () => close());

async function main(): Promise<void> {
  await connectClient(consumer, 60_000);
  consumer.setDefaultConsumeTimeout(200);
  consumer.subscribe([opts.topic]);
  emit('READY');
  const assignmentTimer = setInterval(reportAssignment, 50);
  while (!stopping) {
    reportAssignment();
    const max = ratePerSec > 0 ? Math.max(1, Math.min(500, Math.ceil(ratePerSec / 5))) : 2000;
    const started = Date.now();
    const batch = await consumeBatch(max);
    if (batch.length === 0) continue;
    emit(`M ${batch.map((m) => `${m.partition}:${m.offset}:${String(m.value)}`).join(' ')}`);
    for (const m of batch) processedNext.set(m.partition, m.offset + 1);
    if (opts.commitEachBatch !== false) commitProcessed(false);
    if (ratePerSec > 0) {
      const budgetMs = (batch.length * 1000) / ratePerSec;
      const spentMs = Date.now() - started;
      if (budgetMs > spentMs) await sleep(budgetMs - spentMs);
    }
  }
  clearInterval(assignmentTimer);
  reportAssignment();
  commitProcessed(true);
  await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  emit('CLOSED');
  process.exit(0);
}

main().catch((err: unknown) => {
  emit(`E fatal ${err instanceof Error ? err.message : JSON.stringify(err)}`);
  process.exit(1);
});
