// kafkajs 2.2 (unmodified, from npm) against Eddy's embedded broker: admin, produce and
// consume with every codec, Java-compatible partitioning, a 5 MiB record, 1000 partitions,
// seeking, and topic configs. Codecs beyond gzip come from the plugins kafkajs documents:
// kafkajs-snappy, kafkajs-lz4 and @sensejs/kafkajs-zstd-support.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
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

const { Kafka, CompressionTypes, CompressionCodecs, ConfigResourceTypes, ConfigSource, logLevel } = kafkajs;
const require = createRequire(import.meta.url);
type CodecFactory = (typeof CompressionCodecs)[keyof typeof CompressionCodecs];

/** Records per codec in the bulk test: five codecs give 100k records through kafkajs. */
const RECORDS_PER_CODEC = 20_000;
const BULK_PARTITIONS = 6;
/** Messages per producer.send: big enough for real batches, small enough for 1 MiB batches. */
const SEND_CHUNK = 5_000;

const CODECS: [string, kafkajs.CompressionTypes][] = [
  ['none', CompressionTypes.None],
  ['gzip', CompressionTypes.GZIP],
  ['snappy', CompressionTypes.Snappy],
  ['lz4', CompressionTypes.LZ4],
  ['zstd', CompressionTypes.ZSTD],
];

let broker: TestBroker;
let kafka: kafkajs.Kafka;
let admin: kafkajs.Admin;

before(async () => {
  CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy') as CodecFactory;
  const Lz4Codec = require('kafkajs-lz4') as new () => { codec: CodecFactory };
  CompressionCodecs[CompressionTypes.LZ4] = new Lz4Codec().codec;
  // Registers itself on the kafkajs module it imports (the same instance as ours).
  await import('@sensejs/kafkajs-zstd-support');
  assert.ok(CompressionCodecs[CompressionTypes.ZSTD], 'zstd plugin did not register');

  broker = await startEddyBroker(INTEROP_BROKER_CONFIG);
  kafka = new Kafka({
    clientId: 'eddy-interop-kafkajs',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 10_000,
    requestTimeout: 60_000,
    retry: { retries: 8, initialRetryTime: 200 },
  });
  admin = kafka.admin();
  await admin.connect();
});

after(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

async function createTopic(
  topic: string,
  numPartitions: number,
  configEntries: { name: string; value: string }[] = [],
) {
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions, replicationFactor: 1, configEntries }],
    waitForLeaders: true,
    timeout: 60_000,
  });
  assert.equal(created, true, `createTopics reported ${topic} as not created`);
}

function toTestHeaders(headers: kafkajs.IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    assert.ok(Buffer.isBuffer(v), `header ${k} should be one Buffer`);
    out[k] = v.toString();
  }
  return out;
}

function toKafkajsMessage(r: TestRecord): kafkajs.Message {
  return { key: r.key, value: r.value, headers: r.headers };
}

async function produceAll(
  producer: kafkajs.Producer,
  topic: string,
  records: readonly TestRecord[],
  compression: kafkajs.CompressionTypes,
): Promise<kafkajs.RecordMetadata[]> {
  const acks: kafkajs.RecordMetadata[] = [];
  // Sequential sends keep per-partition order equal to the order of `records`.
  for (const chunk of chunks(records, SEND_CHUNK)) {
    acks.push(...(await producer.send({ topic, compression, acks: -1, messages: chunk.map(toKafkajsMessage) })));
  }
  return acks;
}

/**
 * Consumes `count` records from `topic` in a fresh group, from the beginning (or from the
 * offsets `seekTo` sets right after run), and returns them in delivery order.
 */
async function consumeRecords(
  topic: string,
  count: number,
  opts: {
    timeoutMs?: number;
    maxBytesPerPartition?: number;
    maxBytes?: number;
    seekTo?: (c: kafkajs.Consumer) => void;
  } = {},
): Promise<DeliveredRecord[]> {
  const consumer = kafka.consumer({
    groupId: uniqueName('kafkajs-group'),
    maxWaitTimeInMs: 200,
    sessionTimeout: 30_000,
    rebalanceTimeout: 30_000,
    maxBytesPerPartition: opts.maxBytesPerPartition ?? 1024 * 1024,
    maxBytes: opts.maxBytes ?? 10 * 1024 * 1024,
  });
  const got: DeliveredRecord[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: opts.seekTo === undefined });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          got.push({
            partition: batch.partition,
            offset: BigInt(m.offset),
            key: m.key?.toString() ?? '',
            value: m.value?.toString() ?? '',
            headers: toTestHeaders(m.headers),
          });
        }
      },
    });
    opts.seekTo?.(consumer);
    await waitFor(() => got.length >= count, opts.timeoutMs ?? 120_000, `${count} records from ${topic}`);
    return got;
  } finally {
    await consumer.disconnect();
  }
}

describe('kafkajs admin', () => {
  test('creates topics with partitions and configs, lists and describes them', async () => {
    const a = uniqueName('kjs-admin-a');
    const b = uniqueName('kjs-admin-b');
    await createTopic(a, 3);
    await createTopic(b, 7, [{ name: 'cleanup.policy', value: 'compact' }]);
    const topics = await admin.listTopics();
    assert.ok(topics.includes(a) && topics.includes(b), `listTopics: ${topics.join(',')}`);
    const meta = await admin.fetchTopicMetadata({ topics: [a, b] });
    const counts = Object.fromEntries(meta.topics.map((t) => [t.name, t.partitions.length]));
    assert.deepEqual(counts, { [a]: 3, [b]: 7 });
    // Creating it again: kafkajs turns Kafka's TOPIC_ALREADY_EXISTS into `false` (other errors throw).
    const again = await admin.createTopics({ topics: [{ topic: a, numPartitions: 3 }], timeout: 30_000 });
    assert.equal(again, false);
  });
});

describe('kafkajs produce and consume', () => {
  for (const [codecName, compression] of CODECS) {
    test(`${RECORDS_PER_CODEC} keyed records with headers, compression ${codecName}`, {
      timeout: 300_000,
    }, async () => {
      const topic = uniqueName(`kjs-bulk-${codecName}`);
      await createTopic(topic, BULK_PARTITIONS);
      const records = makeRecords(`kjs-${codecName}`, RECORDS_PER_CODEC);
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      let acks: kafkajs.RecordMetadata[];
      try {
        acks = await produceAll(producer, topic, records, compression);
      } finally {
        await producer.disconnect();
      }
      assert.ok(acks.every((a) => a.errorCode === 0));
      const delivered = await consumeRecords(topic, records.length);
      assertDeliveredExactly(records, delivered, BULK_PARTITIONS);
      // The log holds exactly these records: no duplicate arrived after the consumer stopped.
      const ends = await admin.fetchTopicOffsets(topic);
      assert.equal(
        ends.reduce((sum, o) => sum + Number(o.high), 0),
        records.length,
      );
    });
  }

  test('keyed records land on the Java default partitioner partition (murmur2)', async () => {
    const topic = uniqueName('kjs-partitioner');
    const partitions = 13;
    await createTopic(topic, partitions);
    // Varied key lengths exercise every murmur2 tail length; odd bytes test raw keys.
    const keys: Buffer[] = [];
    for (let i = 0; i < 400; i++) keys.push(Buffer.from(`k${'x'.repeat(i % 9)}-${i}`));
    for (let i = 0; i < 50; i++) keys.push(Buffer.from([i, 0xff, 0x80 + (i % 64), 7, i * 3]));
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      // One send per record so the broker's answer names the partition of exactly that record.
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as Buffer;
        const [meta] = await producer.send({ topic, messages: [{ key, value: String(i) }] });
        assert.equal(meta?.partition, javaPartitionForKey(key, partitions), `partition of key ${key.toString('hex')}`);
      }
    } finally {
      await producer.disconnect();
    }
  });
});

describe('kafkajs limits and scale', () => {
  test('a 5 MiB record with raised topic and fetch limits', { timeout: 180_000 }, async () => {
    const topic = uniqueName('kjs-big');
    await createTopic(topic, 1, [{ name: 'max.message.bytes', value: String(BIG_TOPIC_MAX_MESSAGE_BYTES) }]);
    const value = bigValue(BIG_RECORD_BYTES);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      // kafkajs has no client-side request size cap; the topic limit is what must be raised.
      await producer.send({
        topic,
        acks: -1,
        messages: [{ key: 'big', value, headers: { size: String(value.length) } }],
      });
    } finally {
      await producer.disconnect();
    }
    const consumer = kafka.consumer({
      groupId: uniqueName('kjs-big-group'),
      maxWaitTimeInMs: 200,
      maxBytesPerPartition: BIG_TOPIC_MAX_MESSAGE_BYTES,
      maxBytes: 2 * BIG_TOPIC_MAX_MESSAGE_BYTES,
    });
    let received: Buffer | null = null;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          received = message.value;
        },
      });
      await waitFor(() => received !== null, 120_000, 'the 5 MiB record');
    } finally {
      await consumer.disconnect();
    }
    assert.ok(received !== null);
    assert.equal((received as Buffer).length, BIG_RECORD_BYTES);
    assert.ok((received as Buffer).equals(value), '5 MiB value differs');
  });

  test('a record over the topic max.message.bytes is refused', async () => {
    const topic = uniqueName('kjs-too-big');
    await createTopic(topic, 1, [{ name: 'max.message.bytes', value: String(64 * 1024) }]);
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    try {
      await assert.rejects(
        producer.send({ topic, messages: [{ value: Buffer.alloc(256 * 1024, 1) }] }),
        (err: Error & { type?: string }) => err.type === 'MESSAGE_TOO_LARGE',
      );
    } finally {
      await producer.disconnect();
    }
  });

  test('a topic with 1000 partitions: produce to every partition, read every one back', {
    timeout: 300_000,
  }, async () => {
    const topic = uniqueName('kjs-1000');
    const partitions = 1000;
    await createTopic(topic, partitions);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(meta.topics[0]?.partitions.length, partitions);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      // Two records per partition in one request that spans all 1000 partitions.
      const messages: kafkajs.Message[] = [];
      for (let round = 0; round < 2; round++) {
        for (let p = 0; p < partitions; p++) messages.push({ partition: p, key: `p${p}`, value: `p${p}-r${round}` });
      }
      await producer.send({ topic, acks: -1, messages });
    } finally {
      await producer.disconnect();
    }
    const offsets = await admin.fetchTopicOffsets(topic);
    assert.equal(offsets.length, partitions);
    for (const o of offsets) assert.equal(o.high, '2', `high watermark of partition ${o.partition}`);
    const delivered = await consumeRecords(topic, 2 * partitions, { timeoutMs: 240_000 });
    assertTwoPerPartition(delivered, partitions);
  });
});

describe('kafkajs seeking', () => {
  const BASE_TIMESTAMP_MS = Date.UTC(2024, 0, 1);
  const COUNT = 100;
  let topic: string;

  before(async () => {
    topic = uniqueName('kjs-seek');
    await createTopic(topic, 1);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      // Record i has timestamp BASE + i seconds (CreateTime), so a timestamp maps to an offset.
      await producer.send({
        topic,
        messages: Array.from({ length: COUNT }, (_, i) => ({
          key: `k${i}`,
          value: `v${i}`,
          timestamp: String(BASE_TIMESTAMP_MS + i * 1000),
        })),
      });
    } finally {
      await producer.disconnect();
    }
  });

  test('ListOffsets by timestamp gives the first record at or after it; consuming there starts with it', async () => {
    const [found] = await admin.fetchTopicOffsetsByTimestamp(topic, BASE_TIMESTAMP_MS + 42_500);
    assert.equal(found?.offset, '43');
    const [exact] = await admin.fetchTopicOffsetsByTimestamp(topic, BASE_TIMESTAMP_MS + 10_000);
    assert.equal(exact?.offset, '10');
    const [beyond] = await admin.fetchTopicOffsetsByTimestamp(topic, BASE_TIMESTAMP_MS + 10 * COUNT * 1000);
    assert.equal(beyond?.offset, String(COUNT), 'a timestamp after every record maps to the end offset');
    const got = await consumeRecords(topic, 1, { seekTo: (c) => c.seek({ topic, partition: 0, offset: '43' }) });
    assert.equal(got[0]?.value, 'v43');
    assert.equal(got[0]?.offset, 43n);
  });

  // kafkajs's seek() to -1/-2 commits that special offset and then falls back to the
  // subscription's fromBeginning, so earliest and latest are chosen through fromBeginning
  // (ListOffsets with timestamp -2 or -1).
  test('earliest starts at the log start offset, after DeleteRecords moved it', async () => {
    const earliestTopic = uniqueName('kjs-seek-earliest');
    await createTopic(earliestTopic, 1);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({
        topic: earliestTopic,
        messages: Array.from({ length: 20 }, (_, i) => ({ value: `e${i}` })),
      });
    } finally {
      await producer.disconnect();
    }
    // kafkajs looks the partition leader up in its cached metadata, so load it first.
    const [before] = await admin.fetchTopicOffsets(earliestTopic);
    assert.deepEqual([before?.low, before?.high], ['0', '20']);
    await admin.deleteTopicRecords({ topic: earliestTopic, partitions: [{ partition: 0, offset: '5' }] });
    const [offsets] = await admin.fetchTopicOffsets(earliestTopic);
    assert.equal(offsets?.low, '5');
    assert.equal(offsets?.high, '20');
    const got = await consumeRecords(earliestTopic, 15);
    assert.equal(got[0]?.offset, 5n);
    assert.deepEqual(
      got.map((r) => r.value),
      Array.from({ length: 15 }, (_, i) => `e${i + 5}`),
    );
  });

  test('latest sees only records produced afterwards', async () => {
    const latestTopic = uniqueName('kjs-seek-latest');
    await createTopic(latestTopic, 1);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({ topic: latestTopic, messages: [{ value: 'old-1' }, { value: 'old-2' }] });
      const consumer = kafka.consumer({ groupId: uniqueName('kjs-latest'), maxWaitTimeInMs: 200 });
      const got: string[] = [];
      let fetched = false;
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [latestTopic], fromBeginning: false });
        consumer.on(consumer.events.FETCH, () => {
          fetched = true;
        });
        await consumer.run({
          eachMessage: async ({ message }) => {
            got.push(message.value?.toString() ?? '');
          },
        });
        // Produce only once the consumer fetches, so "latest" was resolved before 'new'.
        await waitFor(() => fetched, 60_000, 'the first fetch');
        await producer.send({ topic: latestTopic, messages: [{ value: 'new' }] });
        await waitFor(() => got.length >= 1, 60_000, 'the record produced after the consumer started at latest');
      } finally {
        await consumer.disconnect();
      }
      assert.deepEqual(got, ['new']);
    } finally {
      await producer.disconnect();
    }
  });
});

describe('kafkajs topic configs', () => {
  test('alterConfigs then describeConfigs shows the new value with source TOPIC_CONFIG', async () => {
    const topic = uniqueName('kjs-configs');
    await createTopic(topic, 1);
    const resource = { type: ConfigResourceTypes.TOPIC, name: topic };
    const before = await admin.describeConfigs({
      resources: [{ ...resource, configNames: ['retention.ms'] }],
      includeSynonyms: false,
    });
    const beforeEntry = before.resources[0]?.configEntries.find((e) => e.configName === 'retention.ms');
    assert.ok(beforeEntry, 'retention.ms is described');
    assert.notEqual(beforeEntry.configSource, ConfigSource.TOPIC_CONFIG, 'retention.ms was not set on the topic yet');

    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          ...resource,
          configEntries: [
            { name: 'retention.ms', value: '3600000' },
            { name: 'cleanup.policy', value: 'compact' },
          ],
        },
      ],
    });
    const after = await admin.describeConfigs({ resources: [resource], includeSynonyms: true });
    const entries = after.resources[0]?.configEntries ?? [];
    const retention = entries.find((e) => e.configName === 'retention.ms');
    assert.equal(retention?.configValue, '3600000');
    assert.equal(retention?.configSource, ConfigSource.TOPIC_CONFIG);
    assert.equal(retention?.configSynonyms[0]?.configSource, ConfigSource.TOPIC_CONFIG);
    const cleanup = entries.find((e) => e.configName === 'cleanup.policy');
    assert.equal(cleanup?.configValue, 'compact');
    assert.equal(cleanup?.configSource, ConfigSource.TOPIC_CONFIG);
    // An entry not altered keeps its default source.
    const segment = entries.find((e) => e.configName === 'segment.bytes');
    assert.ok(segment, 'segment.bytes is described');
    assert.notEqual(segment.configSource, ConfigSource.TOPIC_CONFIG);
  });
});
