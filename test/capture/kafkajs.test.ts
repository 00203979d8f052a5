// kafkajs 2.2 against the capture broker, with the community codec plugins it documents for
// snappy (kafkajs-snappy), lz4 (kafkajs-lz4) and zstd (@sensejs/kafkajs-zstd-support; the
// @kafkajs/zstd plugin's native dependency cppzst does not build on Node 20).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { ApiKey } from '../../src/protocol/index.js';
import { CompressionType } from '../../src/records/index.js';
import { CaptureBroker } from '../helpers/capture-broker.js';
import {
  ALL_CODECS,
  assertProducedMatches,
  assertRequestsReencode,
  CODEC_NAMES,
  type ConsumedRecord,
  EDDY_BASE_TIMESTAMP,
  eddyBatches,
  eddyExpected,
  producedBatches,
  sampleMessages,
} from './support.js';

const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = kafkajs;

const require = createRequire(import.meta.url);
type CodecFactory = (typeof CompressionCodecs)[keyof typeof CompressionCodecs];

before(async () => {
  CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy') as CodecFactory;
  const Lz4Codec = require('kafkajs-lz4') as new () => { codec: CodecFactory };
  CompressionCodecs[CompressionTypes.LZ4] = new Lz4Codec().codec;
  // Registers itself on the kafkajs module it imports (the same instance as ours).
  await import('@sensejs/kafkajs-zstd-support');
  assert.ok(CompressionCodecs[CompressionTypes.ZSTD], 'zstd plugin did not register');
});

const KAFKAJS_TYPES: Record<CompressionType, kafkajs.CompressionTypes> = {
  [CompressionType.None]: CompressionTypes.None,
  [CompressionType.Gzip]: CompressionTypes.GZIP,
  [CompressionType.Snappy]: CompressionTypes.Snappy,
  [CompressionType.Lz4]: CompressionTypes.LZ4,
  [CompressionType.Zstd]: CompressionTypes.ZSTD,
};

const HEADERS: [string, string][] = [
  ['h1', 'v1'],
  ['uni-ключ', 'значение ✓'],
];

let broker: CaptureBroker;
before(async () => {
  broker = await CaptureBroker.start();
});
after(async () => {
  await broker.close();
});

function client(clientId: string): kafkajs.Kafka {
  return new Kafka({
    clientId,
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 2, initialRetryTime: 100 },
  });
}

/** Rejects after `ms`, so a stuck client fails the test instead of hanging it. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

describe('kafkajs produces, src/records decodes', () => {
  for (const codec of ALL_CODECS) {
    test(`${CODEC_NAMES[codec]}: batches decode with the given keys, values and headers`, async () => {
      const topic = `kafkajs-produce-${CODEC_NAMES[codec]}`;
      const messages = sampleMessages(25, `kafkajs ${CODEC_NAMES[codec]}`);
      const producer = client(`producer-${CODEC_NAMES[codec]}`).producer({ allowAutoTopicCreation: true });
      await withTimeout(producer.connect(), 10_000, 'connect');
      try {
        await withTimeout(
          producer.send({
            topic,
            compression: KAFKAJS_TYPES[codec],
            messages: messages.map((m) => ({
              key: m.key,
              value: m.value,
              partition: 0,
              headers: Object.fromEntries(HEADERS),
            })),
          }),
          10_000,
          'send',
        );
      } finally {
        await producer.disconnect();
      }
      assertProducedMatches(
        producedBatches(broker, topic),
        codec,
        messages.map((m) => ({ key: m.key, value: m.value, headers: HEADERS })),
      );
      assertRequestsReencode(broker);
    });
  }

  test('idempotent producer: InitProducerId, producer id and sequence in the batch', async () => {
    const topic = 'kafkajs-idempotent';
    const messages = sampleMessages(5, 'idempotent');
    const producer = client('producer-idempotent').producer({ idempotent: true, maxInFlightRequests: 1 });
    await withTimeout(producer.connect(), 10_000, 'connect');
    try {
      await withTimeout(
        producer.send({
          topic,
          compression: CompressionTypes.GZIP,
          messages: messages.map((m) => ({ ...m, partition: 0 })),
        }),
        10_000,
        'send',
      );
    } finally {
      await producer.disconnect();
    }
    const batches = producedBatches(broker, topic);
    assertProducedMatches(
      batches,
      CompressionType.Gzip,
      messages.map((m) => ({ key: m.key, value: m.value, headers: [] })),
    );
    assert.ok((batches[0]?.decoded.producerId ?? -1) >= 1000);
    assert.equal(batches[0]?.decoded.baseSequence, 0);
  });
});

describe('Eddy encodes, kafkajs consumes (one-member group)', () => {
  for (const codec of ALL_CODECS) {
    test(`${CODEC_NAMES[codec]}: every record of Eddy's batches arrives`, async () => {
      const topic = `kafkajs-consume-${CODEC_NAMES[codec]}`;
      const messages = sampleMessages(30, `eddy ${CODEC_NAMES[codec]}`);
      broker.append(topic, 0, eddyBatches(codec, messages));
      const consumer = client(`consumer-${CODEC_NAMES[codec]}`).consumer({
        groupId: `group-${CODEC_NAMES[codec]}`,
        maxWaitTimeInMs: 100,
        sessionTimeout: 10_000,
        heartbeatInterval: 1000,
      });
      const got: ConsumedRecord[] = [];
      const timestamps: string[] = [];
      try {
        await withTimeout(consumer.connect(), 10_000, 'connect');
        await consumer.subscribe({ topic, fromBeginning: true });
        await withTimeout(
          new Promise<void>((resolve, reject) => {
            consumer
              .run({
                eachMessage: async ({ message }) => {
                  got.push({
                    offset: Number(message.offset),
                    key: message.key === null ? null : message.key.toString('utf8'),
                    value: message.value === null ? null : message.value.toString('utf8'),
                    headers: Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
                  });
                  timestamps.push(message.timestamp);
                  if (got.length >= messages.length) resolve();
                },
              })
              .catch(reject);
          }),
          20_000,
          'consume',
        );
      } finally {
        await consumer.disconnect();
      }
      assert.deepEqual(got, eddyExpected(codec, messages));
      assertRequestsReencode(broker);
      assert.deepEqual(
        timestamps,
        messages.map((_, i) => String(EDDY_BASE_TIMESTAMP + i)),
      );
    });
  }

  test('every frame kafkajs sent (producer, consumer, group) re-encodes exactly', () => {
    const seen = assertRequestsReencode(broker);
    for (const key of [
      ApiKey.ApiVersions,
      ApiKey.Metadata,
      ApiKey.Produce,
      ApiKey.InitProducerId,
      ApiKey.FindCoordinator,
      ApiKey.JoinGroup,
      ApiKey.SyncGroup,
      ApiKey.Fetch,
    ]) {
      assert.ok(seen.has(key), `no request of api key ${key} captured`);
    }
  });
});
