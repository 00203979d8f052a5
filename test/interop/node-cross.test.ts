// Cross-client interop through Eddy: records produced by kafkajs are read exactly by
// @platformatic/kafka and the reverse, and both read what Eddy's own client produced; plus
// the reference murmur2 the partitioning checks rely on, against Kafka's published vectors.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import {
  Admin,
  type CompressionAlgorithmValue,
  compatibilityPartitioner,
  Consumer as PfConsumer,
  type Message as PfMessage,
  Producer as PfProducer,
  ProduceAcks,
} from '@platformatic/kafka';
import kafkajs from 'kafkajs';
import { murmur2 as eddyMurmur2 } from '../../src/client/partitioner.js';
import { Producer as EddyProducer } from '../../src/client/producer/producer.js';
import { uniqueName, waitFor } from '../helpers/client.js';
import { startEddyBroker, type TestBroker } from '../helpers/eddy-broker.js';
import {
  assertDeliveredExactly,
  chunks,
  type DeliveredRecord,
  INTEROP_BROKER_CONFIG,
  makeRecords,
  referenceMurmur2,
  type TestRecord,
} from './node-support.js';

const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = kafkajs;
const require = createRequire(import.meta.url);
type CodecFactory = (typeof CompressionCodecs)[keyof typeof CompressionCodecs];
type Bytes = Buffer;

// Not a power of two: toPositive(h) % n and (h >>> 0) % n differ only then.
const PARTITIONS = 6;
const RECORDS = 10_000;
const SEND_CHUNK = 2_500;
const REQUEST_TIMEOUT_MS = 60_000;

let broker: TestBroker;
let kafka: kafkajs.Kafka;
let admin: Admin;

before(async () => {
  CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy') as CodecFactory;
  const Lz4Codec = require('kafkajs-lz4') as new () => { codec: CodecFactory };
  CompressionCodecs[CompressionTypes.LZ4] = new Lz4Codec().codec;
  await import('@sensejs/kafkajs-zstd-support');
  broker = await startEddyBroker(INTEROP_BROKER_CONFIG);
  kafka = new Kafka({
    clientId: 'eddy-interop-cross',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 10_000,
    requestTimeout: REQUEST_TIMEOUT_MS,
    retry: { retries: 8, initialRetryTime: 200 },
  });
  admin = new Admin(pfOptions('eddy-interop-cross-admin'));
});

after(async () => {
  await admin?.close();
  await broker?.stop();
});

function pfOptions(clientId: string) {
  return { clientId, bootstrapBrokers: [broker.bootstrap], timeout: REQUEST_TIMEOUT_MS, retries: 5, retryDelay: 250 };
}

async function createTopic(topic: string): Promise<void> {
  const [created] = await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
  assert.equal(created?.partitions, PARTITIONS);
}

async function produceWithKafkajs(
  topic: string,
  records: readonly TestRecord[],
  compression: kafkajs.CompressionTypes,
) {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (const chunk of chunks(records, SEND_CHUNK)) {
      await producer.send({
        topic,
        compression,
        acks: -1,
        messages: chunk.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

async function produceWithPlatformatic(
  topic: string,
  records: readonly TestRecord[],
  compression: CompressionAlgorithmValue,
) {
  const producer = new PfProducer<Bytes, Bytes, Bytes, Bytes>({
    ...pfOptions(uniqueName('cross-pf-producer')),
    partitioner: compatibilityPartitioner,
    compression,
  });
  try {
    for (const chunk of chunks(records, SEND_CHUNK)) {
      await producer.send({
        acks: ProduceAcks.ALL,
        messages: chunk.map((r) => ({
          topic,
          key: Buffer.from(r.key),
          value: Buffer.from(r.value),
          headers: new Map(Object.entries(r.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
        })),
      });
    }
  } finally {
    await producer.close();
  }
}

async function produceWithEddy(topic: string, records: readonly TestRecord[]) {
  const producer = new EddyProducer({ bootstrapServers: broker.bootstrap, logger: null, compression: 'lz4' });
  try {
    for (const chunk of chunks(records, SEND_CHUNK)) {
      await producer.sendBatch(chunk.map((r) => ({ topic, key: r.key, value: r.value, headers: { ...r.headers } })));
    }
  } finally {
    await producer.close();
  }
}

async function consumeWithKafkajs(topic: string, count: number): Promise<DeliveredRecord[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('cross-kjs'), maxWaitTimeInMs: 200 });
  const got: DeliveredRecord[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(v);
          got.push({
            partition: batch.partition,
            offset: BigInt(m.offset),
            key: m.key?.toString() ?? '',
            value: m.value?.toString() ?? '',
            headers,
          });
        }
      },
    });
    await waitFor(() => got.length >= count, 120_000, `${count} records through kafkajs`);
    return got;
  } finally {
    await consumer.disconnect();
  }
}

async function consumeWithPlatformatic(topic: string, count: number): Promise<DeliveredRecord[]> {
  const consumer = new PfConsumer<Bytes, Bytes, Bytes, Bytes>({
    ...pfOptions(uniqueName('cross-pf-consumer')),
    groupId: uniqueName('cross-pf'),
    maxWaitTime: 200,
  });
  const got: DeliveredRecord[] = [];
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
  try {
    stream.on('data', (m: PfMessage<Bytes, Bytes, Bytes, Bytes>) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of m.headers) headers[k.toString()] = v.toString();
      got.push({ partition: m.partition, offset: m.offset, key: m.key.toString(), value: m.value.toString(), headers });
    });
    let streamError: Error | undefined;
    stream.on('error', (err: Error) => {
      streamError = err;
    });
    await waitFor(
      () => {
        if (streamError) throw streamError;
        return got.length >= count;
      },
      120_000,
      `${count} records through @platformatic/kafka`,
    );
    return got;
  } finally {
    await stream.close();
    await consumer.close(true);
  }
}

describe('reference murmur2', () => {
  test("matches Kafka's published murmur2 vectors and src/client's implementation", () => {
    // Vectors from Kafka's UtilsTest (murmur2 of the UTF-8 bytes, as a signed int).
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [s, expected] of vectors) assert.equal(referenceMurmur2(Buffer.from(s)), expected, s);
    for (let len = 0; len < 64; len++) {
      const data = Buffer.from(Array.from({ length: len }, (_, i) => (i * 37 + len) & 0xff));
      assert.equal(referenceMurmur2(data), eddyMurmur2(data), `length ${len}`);
    }
  });
});

describe('cross-client', () => {
  test('kafkajs produces (lz4), @platformatic/kafka consumes exactly', { timeout: 240_000 }, async () => {
    const topic = uniqueName('cross-kjs-to-pf');
    await createTopic(topic);
    const records = makeRecords('kjs-to-pf', RECORDS);
    await produceWithKafkajs(topic, records, CompressionTypes.LZ4);
    assertDeliveredExactly(records, await consumeWithPlatformatic(topic, records.length), PARTITIONS);
  });

  test('@platformatic/kafka produces (snappy), kafkajs consumes exactly', { timeout: 240_000 }, async () => {
    const topic = uniqueName('cross-pf-to-kjs');
    await createTopic(topic);
    const records = makeRecords('pf-to-kjs', RECORDS);
    await produceWithPlatformatic(topic, records, 'snappy');
    assertDeliveredExactly(records, await consumeWithKafkajs(topic, records.length), PARTITIONS);
  });

  test('kafkajs (gzip) and @platformatic/kafka (lz4) produce to one topic; both read the same log', {
    timeout: 240_000,
  }, async () => {
    const topic = uniqueName('cross-mixed');
    await createTopic(topic);
    const fromKafkajs = makeRecords('mixed-kjs', RECORDS / 2);
    const fromPlatformatic = makeRecords('mixed-pf', RECORDS / 2);
    // One after the other, so per-partition order is kafkajs's records, then platformatic's.
    await produceWithKafkajs(topic, fromKafkajs, CompressionTypes.GZIP);
    await produceWithPlatformatic(topic, fromPlatformatic, 'lz4');
    const all = [...fromKafkajs, ...fromPlatformatic];
    const viaKafkajs = await consumeWithKafkajs(topic, all.length);
    const viaPlatformatic = await consumeWithPlatformatic(topic, all.length);
    assertDeliveredExactly(all, viaKafkajs, PARTITIONS);
    assertDeliveredExactly(all, viaPlatformatic, PARTITIONS);
  });

  // lz4, not zstd: @platformatic/kafka cannot decompress zstd on Node 20 (no node:zlib zstd).
  test("Eddy's client produces (lz4); kafkajs and @platformatic/kafka read it exactly", {
    timeout: 240_000,
  }, async () => {
    const topic = uniqueName('cross-eddy');
    await createTopic(topic);
    const records = makeRecords('eddy', RECORDS);
    await produceWithEddy(topic, records);
    assertDeliveredExactly(records, await consumeWithKafkajs(topic, records.length), PARTITIONS);
    assertDeliveredExactly(records, await consumeWithPlatformatic(topic, records.length), PARTITIONS);
  });
});
