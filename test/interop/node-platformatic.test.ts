// @platformatic/kafka (unmodified, from npm) against Eddy's embedded broker: admin, produce
// and consume with every codec, Java-compatible partitioning, a 5 MiB record, 1000
// partitions, seeking, and topic configs. The client compresses with its own WASM snappy and
// lz4 and with node:zlib for gzip; zstd needs node:zlib's zstd, which Node 20 lacks, so on
// Node 20 the zstd case checks that the client refuses it up front instead of producing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';
import {
  Admin,
  type CompressionAlgorithmValue,
  ConfigResourceTypes,
  ConfigSources,
  Consumer,
  compatibilityPartitioner,
  IncrementalAlterConfigOperationTypes,
  type Message,
  type MessagesStream,
  type MessagesStreamModeValue,
  type MessageToProduce,
  ProduceAcks,
  Producer,
} from '@platformatic/kafka';
import { uniqueName, waitFor } from '../helpers/client.js';
import { startEddyBroker, type TestBroker } from '../helpers/eddy-broker.js';
import {
  assertDeliveredExactly,
  assertTwoPerPartition,
  BIG_RECORD_BYTES,
  BIG_TOPIC_MAX_MESSAGE_BYTES,
  bigValue,
  chunks,
  type DeliveredRecord,
  INTEROP_BROKER_CONFIG,
  javaPartitionForKey,
  makeRecords,
  type TestRecord,
} from './node-support.js';

/** Records in the bulk test, shared among the codecs the client can use here. */
const BULK_RECORDS = 100_000;
const BULK_PARTITIONS = 6;
const SEND_CHUNK = 5_000;
/** Client request timeout: creating 1000 partition logs on a loaded machine takes seconds. */
const REQUEST_TIMEOUT_MS = 60_000;

const CODECS: CompressionAlgorithmValue[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
/** The client's zstd uses node:zlib's zstdCompressSync (Node >= 22.15). */
const ZSTD_AVAILABLE = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';
const USABLE_CODECS = CODECS.filter((c) => c !== 'zstd' || ZSTD_AVAILABLE);
const RECORDS_PER_CODEC = Math.ceil(BULK_RECORDS / USABLE_CODECS.length);

type Bytes = Buffer;
let broker: TestBroker;
let admin: Admin;

function baseOptions(clientId: string) {
  return {
    clientId,
    bootstrapBrokers: [broker.bootstrap],
    timeout: REQUEST_TIMEOUT_MS,
    connectTimeout: 10_000,
    retries: 5,
    retryDelay: 250,
  };
}

function newProducer(
  extra: { compression?: CompressionAlgorithmValue; retries?: number } = {},
): Producer<Bytes, Bytes, Bytes, Bytes> {
  // compatibilityPartitioner is Java's toPositive(murmur2) % n; the client's default
  // partitioner uses murmur2 >>> 0 instead, which differs for negative hashes.
  return new Producer({ ...baseOptions(uniqueName('pf-producer')), partitioner: compatibilityPartitioner, ...extra });
}

before(async () => {
  broker = await startEddyBroker(INTEROP_BROKER_CONFIG);
  admin = new Admin(baseOptions('eddy-interop-platformatic-admin'));
});

after(async () => {
  await admin?.close();
  await broker?.stop();
});

async function createTopic(topic: string, partitions: number, configs: { name: string; value: string }[] = []) {
  const created = await admin.createTopics({ topics: [topic], partitions, replicas: 1, configs });
  assert.equal(created[0]?.name, topic);
  assert.equal(created[0]?.partitions, partitions);
}

function toMessage(topic: string, r: TestRecord): MessageToProduce<Bytes, Bytes, Bytes, Bytes> {
  const headers = new Map<Bytes, Bytes>();
  for (const [k, v] of Object.entries(r.headers)) headers.set(Buffer.from(k), Buffer.from(v));
  return { topic, key: Buffer.from(r.key), value: Buffer.from(r.value), headers };
}

function toDelivered(m: Message<Bytes, Bytes, Bytes, Bytes>): DeliveredRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of m.headers) headers[k.toString()] = v.toString();
  return { partition: m.partition, offset: m.offset, key: m.key.toString(), value: m.value.toString(), headers };
}

async function produceAll(topic: string, records: readonly TestRecord[], compression: CompressionAlgorithmValue) {
  const producer = newProducer({ compression });
  try {
    // Sequential sends keep per-partition order equal to the order of `records`.
    for (const chunk of chunks(records, SEND_CHUNK)) {
      await producer.send({ messages: chunk.map((r) => toMessage(topic, r)), acks: ProduceAcks.ALL });
    }
  } finally {
    await producer.close();
  }
}

interface ConsumeOptions {
  mode?: MessagesStreamModeValue;
  offsets?: { topic: string; partition: number; offset: bigint }[];
  maxBytes?: number;
  maxBytesPerPartition?: number;
  timeoutMs?: number;
  /** Runs once the stream is consuming, e.g. to produce after a "latest" start. */
  whileWaiting?: (stream: MessagesStream<Bytes, Bytes, Bytes, Bytes>) => Promise<void>;
}

/** Consumes `count` messages from `topic` in a fresh group and returns them in delivery order. */
async function consumeMessages(
  topic: string,
  count: number,
  opts: ConsumeOptions = {},
): Promise<Message<Bytes, Bytes, Bytes, Bytes>[]> {
  const consumer = new Consumer<Bytes, Bytes, Bytes, Bytes>({
    ...baseOptions(uniqueName('pf-consumer')),
    groupId: uniqueName('pf-group'),
    maxWaitTime: 200,
    sessionTimeout: 30_000,
    rebalanceTimeout: 30_000,
    heartbeatInterval: 1000,
    maxBytes: opts.maxBytes ?? 10 * 1024 * 1024,
    ...(opts.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: opts.maxBytesPerPartition }),
  });
  const got: Message<Bytes, Bytes, Bytes, Bytes>[] = [];
  let stream: MessagesStream<Bytes, Bytes, Bytes, Bytes> | undefined;
  let streamError: Error | undefined;
  try {
    stream = await consumer.consume({
      topics: [topic],
      mode: opts.mode ?? 'earliest',
      ...(opts.offsets ? { offsets: opts.offsets } : {}),
      autocommit: false,
    });
    stream.on('data', (m: Message<Bytes, Bytes, Bytes, Bytes>) => got.push(m));
    stream.on('error', (err: Error) => {
      streamError = err;
    });
    if (opts.whileWaiting) await opts.whileWaiting(stream);
    await waitFor(
      () => {
        if (streamError) throw streamError;
        return got.length >= count;
      },
      opts.timeoutMs ?? 120_000,
      `${count} messages from ${topic}`,
    );
    return got;
  } finally {
    await stream?.close();
    await consumer.close(true);
  }
}

/** Every `apiId` (Kafka error name) and `code` in a client error and the errors it aggregates. */
function errorIdsIn(err: unknown): string[] {
  const out: string[] = [];
  const walk = (e: unknown): void => {
    if (typeof e !== 'object' || e === null) return;
    const { apiId, code, errors } = e as { apiId?: unknown; code?: unknown; errors?: unknown };
    if (typeof apiId === 'string') out.push(apiId);
    if (typeof code === 'string') out.push(code);
    if (Array.isArray(errors)) for (const inner of errors) walk(inner);
  };
  walk(err);
  return out;
}

describe('platformatic admin', () => {
  test('creates topics with partitions and configs, lists and describes them', async () => {
    const a = uniqueName('pf-admin-a');
    const b = uniqueName('pf-admin-b');
    await createTopic(a, 3);
    await createTopic(b, 7, [{ name: 'cleanup.policy', value: 'compact' }]);
    const topics = await admin.listTopics();
    assert.ok(topics.includes(a) && topics.includes(b), `listTopics: ${topics.join(',')}`);
    const meta = await admin.metadata({ topics: [a, b] });
    assert.equal(meta.topics.get(a)?.partitionsCount, 3);
    assert.equal(meta.topics.get(b)?.partitionsCount, 7);
    const [described] = await admin.describeConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: b, configurationKeys: ['cleanup.policy'] }],
    });
    assert.equal(described?.configs.find((c) => c.name === 'cleanup.policy')?.value, 'compact');
    // Creating it again fails with Kafka's TOPIC_ALREADY_EXISTS (error code 36).
    await assert.rejects(admin.createTopics({ topics: [a], partitions: 3, replicas: 1 }), (err: unknown) =>
      errorIdsIn(err).includes('TOPIC_ALREADY_EXISTS'),
    );
  });
});

describe('platformatic produce and consume', () => {
  for (const codec of CODECS) {
    if (codec === 'zstd' && !ZSTD_AVAILABLE) {
      test('zstd is refused by the client on this Node.js (no node:zlib zstd)', async () => {
        const topic = uniqueName('pf-bulk-zstd');
        await createTopic(topic, 1);
        const producer = newProducer({ compression: 'zstd' });
        try {
          await assert.rejects(
            producer.send({ messages: [toMessage(topic, { key: 'k', value: 'v', headers: {} })] }),
            (err: unknown) => errorIdsIn(err).includes('PLT_KFK_UNSUPPORTED_COMPRESSION'),
          );
        } finally {
          await producer.close();
        }
      });
      continue;
    }
    test(`${RECORDS_PER_CODEC} keyed records with headers, compression ${codec}`, { timeout: 300_000 }, async () => {
      const topic = uniqueName(`pf-bulk-${codec}`);
      await createTopic(topic, BULK_PARTITIONS);
      const records = makeRecords(`pf-${codec}`, RECORDS_PER_CODEC);
      await produceAll(topic, records, codec);
      const delivered = (await consumeMessages(topic, records.length)).map(toDelivered);
      assertDeliveredExactly(records, delivered, BULK_PARTITIONS);
      // The log holds exactly these records: no duplicate arrived after the consumer stopped.
      const [ends] = await admin.listOffsets({
        topics: [
          {
            name: topic,
            partitions: Array.from({ length: BULK_PARTITIONS }, (_, i) => ({ partitionIndex: i, timestamp: -1n })),
          },
        ],
      });
      assert.equal(
        ends?.partitions.reduce((sum, p) => sum + p.offset, 0n),
        BigInt(records.length),
      );
    });
  }

  test('compatibilityPartitioner puts keyed records on the Java default partitioner partition', async () => {
    const topic = uniqueName('pf-partitioner');
    const partitions = 13;
    await createTopic(topic, partitions);
    const keys: Buffer[] = [];
    for (let i = 0; i < 400; i++) keys.push(Buffer.from(`k${'x'.repeat(i % 9)}-${i}`));
    for (let i = 0; i < 50; i++) keys.push(Buffer.from([i, 0xff, 0x80 + (i % 64), 7, i * 3]));
    const producer = newProducer();
    try {
      // One send per record so the answer names the partition of exactly that record.
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as Buffer;
        const result = await producer.send({ messages: [{ topic, key, value: Buffer.from(String(i)) }] });
        assert.equal(
          result.offsets?.[0]?.partition,
          javaPartitionForKey(key, partitions),
          `partition of key ${key.toString('hex')}`,
        );
      }
    } finally {
      await producer.close();
    }
  });
});

describe('platformatic limits and scale', () => {
  test('a 5 MiB record with raised topic and fetch limits', { timeout: 180_000 }, async () => {
    const topic = uniqueName('pf-big');
    await createTopic(topic, 1, [{ name: 'max.message.bytes', value: String(BIG_TOPIC_MAX_MESSAGE_BYTES) }]);
    const value = bigValue(BIG_RECORD_BYTES);
    const producer = newProducer();
    try {
      // The client has no request size cap of its own; the topic limit is what must be raised.
      await producer.send({ messages: [{ topic, key: Buffer.from('big'), value }], acks: ProduceAcks.ALL });
    } finally {
      await producer.close();
    }
    const [m] = await consumeMessages(topic, 1, {
      maxBytes: 2 * BIG_TOPIC_MAX_MESSAGE_BYTES,
      maxBytesPerPartition: BIG_TOPIC_MAX_MESSAGE_BYTES,
    });
    assert.equal(m?.value.length, BIG_RECORD_BYTES);
    assert.ok(m?.value.equals(value), '5 MiB value differs');
  });

  test('a record over the topic max.message.bytes is refused', async () => {
    const topic = uniqueName('pf-too-big');
    await createTopic(topic, 1, [{ name: 'max.message.bytes', value: String(64 * 1024) }]);
    const producer = newProducer();
    try {
      await assert.rejects(
        producer.send({ messages: [{ topic, value: Buffer.alloc(256 * 1024, 1) }] }),
        (err: unknown) => errorIdsIn(err).includes('MESSAGE_TOO_LARGE'),
      );
    } finally {
      await producer.close();
    }
  });

  test('a topic with 1000 partitions: produce to every partition, read every one back', {
    timeout: 300_000,
  }, async () => {
    const topic = uniqueName('pf-1000');
    const partitions = 1000;
    await createTopic(topic, partitions);
    // No retries: CreateTopics must answer only once every partition log exists, so the
    // first produce to all 1000 partitions succeeds as it is.
    const producer = newProducer({ retries: 0 });
    try {
      // Two records per partition in one send that spans all 1000 partitions.
      const messages: MessageToProduce<Bytes, Bytes, Bytes, Bytes>[] = [];
      for (let round = 0; round < 2; round++) {
        for (let p = 0; p < partitions; p++) {
          messages.push({ topic, partition: p, key: Buffer.from(`p${p}`), value: Buffer.from(`p${p}-r${round}`) });
        }
      }
      await producer.send({ messages, acks: ProduceAcks.ALL });
    } finally {
      await producer.close();
    }
    const [listed] = await admin.listOffsets({
      topics: [
        {
          name: topic,
          partitions: Array.from({ length: partitions }, (_, i) => ({ partitionIndex: i, timestamp: -1n })),
        },
      ],
    });
    assert.equal(listed?.partitions.length, partitions);
    for (const p of listed?.partitions ?? []) assert.equal(p.offset, 2n, `end offset of partition ${p.partitionIndex}`);
    const delivered = await consumeMessages(topic, 2 * partitions, { timeoutMs: 240_000 });
    assertTwoPerPartition(
      delivered.map((m) => ({ partition: m.partition, value: m.value.toString() })),
      partitions,
    );
  });
});

describe('platformatic seeking', () => {
  const BASE_TIMESTAMP_MS = Date.UTC(2024, 0, 1);
  const COUNT = 100;
  let topic: string;

  before(async () => {
    topic = uniqueName('pf-seek');
    await createTopic(topic, 1);
    const producer = newProducer();
    try {
      // Record i has timestamp BASE + i seconds (CreateTime), so a timestamp maps to an offset.
      await producer.send({
        messages: Array.from({ length: COUNT }, (_, i) => ({
          topic,
          key: Buffer.from(`k${i}`),
          value: Buffer.from(`v${i}`),
          timestamp: BigInt(BASE_TIMESTAMP_MS + i * 1000),
        })),
      });
    } finally {
      await producer.close();
    }
  });

  test('ListOffsets by timestamp gives the first record at or after it; consuming there starts with it', async () => {
    const [listed] = await admin.listOffsets({
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: BigInt(BASE_TIMESTAMP_MS + 42_500) }] }],
    });
    const offset = listed?.partitions[0]?.offset;
    assert.equal(offset, 43n);
    assert.equal(listed?.partitions[0]?.timestamp, BigInt(BASE_TIMESTAMP_MS + 43_000));
    const [m] = await consumeMessages(topic, 1, { mode: 'manual', offsets: [{ topic, partition: 0, offset: 43n }] });
    assert.equal(m?.offset, 43n);
    assert.equal(m?.value.toString(), 'v43');
    assert.equal(m?.timestamp, BigInt(BASE_TIMESTAMP_MS + 43_000));
  });

  test('earliest starts at the log start offset, after DeleteRecords moved it', async () => {
    const earliestTopic = uniqueName('pf-seek-earliest');
    await createTopic(earliestTopic, 1);
    const producer = newProducer();
    try {
      await producer.send({
        messages: Array.from({ length: 20 }, (_, i) => ({ topic: earliestTopic, value: Buffer.from(`e${i}`) })),
      });
    } finally {
      await producer.close();
    }
    const [deleted] = await admin.deleteRecords({
      topics: [{ name: earliestTopic, partitions: [{ partition: 0, offset: 5n }] }],
    });
    assert.equal(deleted?.partitions[0]?.lowWatermark, 5n);
    const [earliest] = await admin.listOffsets({
      topics: [{ name: earliestTopic, partitions: [{ partitionIndex: 0, timestamp: -2n }] }],
    });
    assert.equal(earliest?.partitions[0]?.offset, 5n);
    const got = await consumeMessages(earliestTopic, 15, { mode: 'earliest' });
    assert.equal(got[0]?.offset, 5n);
    assert.deepEqual(
      got.map((m) => m.value.toString()),
      Array.from({ length: 15 }, (_, i) => `e${i + 5}`),
    );
  });

  test('latest sees only records produced afterwards', async () => {
    const latestTopic = uniqueName('pf-seek-latest');
    await createTopic(latestTopic, 1);
    const producer = newProducer();
    try {
      await producer.send({
        messages: [
          { topic: latestTopic, value: Buffer.from('old-1') },
          { topic: latestTopic, value: Buffer.from('old-2') },
        ],
      });
      const got = await consumeMessages(latestTopic, 1, {
        mode: 'latest',
        // Produce only after the stream's first fetch, so "latest" was resolved before 'new'.
        whileWaiting: async (stream) => {
          let fetched = false;
          stream.once('fetch', () => {
            fetched = true;
          });
          await waitFor(() => fetched, 60_000, 'the first fetch');
          await producer.send({ messages: [{ topic: latestTopic, value: Buffer.from('new') }] });
        },
      });
      assert.deepEqual(
        got.map((m) => m.value.toString()),
        ['new'],
      );
    } finally {
      await producer.close();
    }
  });
});

describe('platformatic topic configs', () => {
  test('incrementalAlterConfigs and alterConfigs, then describeConfigs shows values and sources', async () => {
    const topic = uniqueName('pf-configs');
    await createTopic(topic, 1);
    const resource = { resourceType: ConfigResourceTypes.TOPIC, resourceName: topic };
    const [before] = await admin.describeConfigs({ resources: [{ ...resource, configurationKeys: ['retention.ms'] }] });
    const beforeEntry = before?.configs.find((c) => c.name === 'retention.ms');
    assert.ok(beforeEntry, 'retention.ms is described');
    assert.equal(beforeEntry.configSource, ConfigSources.DEFAULT_CONFIG);

    await admin.incrementalAlterConfigs({
      resources: [
        {
          ...resource,
          configs: [
            { name: 'retention.ms', configOperation: IncrementalAlterConfigOperationTypes.SET, value: '3600000' },
          ],
        },
      ],
    });
    const [afterSet] = await admin.describeConfigs({ resources: [resource], includeSynonyms: true });
    const retention = afterSet?.configs.find((c) => c.name === 'retention.ms');
    assert.equal(retention?.value, '3600000');
    assert.equal(retention?.configSource, ConfigSources.TOPIC_CONFIG);
    assert.equal(retention?.synonyms[0]?.source, ConfigSources.TOPIC_CONFIG);
    assert.equal(retention?.synonyms[0]?.value, '3600000');

    // The legacy AlterConfigs replaces the whole set: retention.ms goes back to its default.
    await admin.alterConfigs({ resources: [{ ...resource, configs: [{ name: 'segment.ms', value: '600000' }] }] });
    const [afterAlter] = await admin.describeConfigs({
      resources: [{ ...resource, configurationKeys: ['segment.ms', 'retention.ms'] }],
    });
    const segment = afterAlter?.configs.find((c) => c.name === 'segment.ms');
    assert.equal(segment?.value, '600000');
    assert.equal(segment?.configSource, ConfigSources.TOPIC_CONFIG);
    const retentionAfter = afterAlter?.configs.find((c) => c.name === 'retention.ms');
    assert.equal(retentionAfter?.configSource, ConfigSources.DEFAULT_CONFIG);
    assert.equal(retentionAfter?.value, beforeEntry.value);
  });
});
