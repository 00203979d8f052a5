// Cross-client interop through Eddy: what one client (kcat, confluent-kafka, kafka-python,
// Eddy's own) produces, another reads exactly: keys, values, headers, partitions by murmur2,
// order and offsets, through the codecs both ends support.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Producer } from '../../src/client/producer/producer.js';
import { type ConsumedMessage, readAll, uniqueName } from '../helpers/client.js';
import type { TestBroker } from '../helpers/eddy-broker.js';
import {
  assertExactlyProduced,
  type ConsumedRecord,
  createTopicsWithEddy,
  EDGE_RECORDS,
  expectedRecord,
  kcatConsume,
  kcatLines,
  kcatProducerArgs,
  type PythonClientSuite,
  pyConsume,
  pyProduce,
  runKcat,
  runPy,
  startNativeTestBroker,
} from './native-support.js';

type ClientName = 'kcat' | 'ck' | 'kp' | 'eddy';

const COUNT = 10_000;
const PARTITIONS = 4;
const TEST_TIMEOUT_MS = 300_000;

// Only the producer-side settings of the suites matter here.
const PY: Record<'ck' | 'kp', PythonClientSuite> = {
  ck: {
    driver: 'ck',
    name: 'confluent-kafka',
    codecs: [],
    producerConfig: { partitioner: 'murmur2_random' },
    bigProducerConfig: {},
    bigConsumerConfig: {},
    configSources: { dynamicTopic: 1, staticBroker: 4, default: 5 },
  },
  kp: {
    driver: 'kp',
    name: 'kafka-python',
    codecs: [],
    producerConfig: {},
    bigProducerConfig: {},
    bigConsumerConfig: {},
    configSources: { dynamicTopic: 1, staticBroker: 4, default: 5 },
  },
};

let broker: TestBroker;
before(async () => {
  broker = await startNativeTestBroker();
});
after(async () => {
  await broker.stop();
});

/** Produces records 0..COUNT-1 of `prefix`; returns the headers the consumer must see on record i. */
async function produceWith(
  client: ClientName,
  topic: string,
  prefix: string,
  codec: string,
): Promise<(i: number) => [string, string][]> {
  switch (client) {
    case 'kcat':
      // kcat puts the same headers on every record of a run.
      await runKcat(
        kcatProducerArgs(broker.bootstrap, topic, ['-z', codec, '-H', `src=${prefix}`]),
        kcatLines(prefix, 0, COUNT),
      );
      return () => [['src', prefix]];
    case 'ck':
    case 'kp':
      await pyProduce(PY[client], broker.bootstrap, { topic, prefix, count: COUNT, compression: codec }, PARTITIONS);
      return (i) => expectedRecord(prefix, i).headers;
    case 'eddy': {
      const producer = new Producer({
        bootstrapServers: broker.bootstrap,
        logger: null,
        lingerMs: 5,
        compression: codec as 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd',
      });
      try {
        await producer.sendBatch(
          Array.from({ length: COUNT }, (_, i) => {
            const r = expectedRecord(prefix, i);
            return { topic, key: r.key, value: r.value, headers: r.headers };
          }),
        );
      } finally {
        await producer.close();
      }
      return (i) => expectedRecord(prefix, i).headers;
    }
  }
}

async function consumeWith(client: ClientName, topic: string): Promise<ConsumedRecord[]> {
  switch (client) {
    case 'kcat':
      return kcatConsume(broker.bootstrap, topic, 'beginning');
    case 'ck':
    case 'kp':
      return (await pyConsume(client, broker.bootstrap, { topic, partitions: PARTITIONS, expect: COUNT })).records;
    case 'eddy': {
      return toConsumed(await readAll(broker.bootstrap, topic, PARTITIONS, COUNT, {}, 120_000));
    }
  }
}

function toConsumed(msgs: readonly ConsumedMessage[]): ConsumedRecord[] {
  return msgs.map((m) => ({
    p: m.partition,
    o: m.offset,
    ts: m.timestamp,
    k: m.key?.toString() ?? null,
    v: m.value?.toString() ?? null,
    vlen: m.value?.length ?? 0,
    h: m.headers.map(([k, v]): [string, string | null] => [k, v?.toString() ?? null]),
  }));
}

// Each pair uses a codec both ends support (kafka-python here: none and gzip only).
const PAIRS: [ClientName, ClientName, string][] = [
  ['kcat', 'ck', 'lz4'],
  ['kcat', 'kp', 'gzip'],
  ['kcat', 'eddy', 'snappy'],
  ['ck', 'kp', 'gzip'],
  ['ck', 'kcat', 'zstd'],
  ['ck', 'eddy', 'lz4'],
  ['kp', 'ck', 'gzip'],
  ['kp', 'kcat', 'none'],
  ['kp', 'eddy', 'gzip'],
  ['eddy', 'ck', 'zstd'],
  ['eddy', 'kp', 'gzip'],
  ['eddy', 'kcat', 'snappy'],
];

describe('cross-client interop through Eddy', () => {
  for (const [producer, consumer, codec] of PAIRS) {
    it(`${consumer} reads exactly the ${COUNT} records ${producer} produced with ${codec}`, {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const topic = uniqueName(`x-${producer}-${consumer}`);
      await createTopicsWithEddy(broker.bootstrap, [{ name: topic, partitions: PARTITIONS }]);
      const prefix = `${producer}-to-${consumer}`;
      const headers = await produceWith(producer, topic, prefix, codec);
      const records = await consumeWith(consumer, topic);
      assertExactlyProduced(records, { prefix, count: COUNT, partitions: PARTITIONS, headers });
    });
  }
});

/** The edge records a producer can write: kafka-python refuses null header values. */
function edgeRecordsOf(client: ClientName) {
  return client === 'kp' ? EDGE_RECORDS.filter((r) => r.headers.every(([, v]) => v !== null)) : EDGE_RECORDS;
}

async function produceEdgeWith(client: 'ck' | 'kp' | 'eddy', topic: string): Promise<void> {
  if (client === 'eddy') {
    const producer = new Producer({ bootstrapServers: broker.bootstrap, logger: null, lingerMs: 5 });
    try {
      for (const r of EDGE_RECORDS) {
        await producer.send({ topic, partition: 0, key: r.key, value: r.value, headers: r.headers });
      }
    } finally {
      await producer.close();
    }
    return;
  }
  const answer = await runPy<{ delivered: number; errors: string[] }>(client, {
    op: 'produce_edge',
    bootstrap: broker.bootstrap,
    topic,
  });
  assert.deepEqual(answer, { delivered: edgeRecordsOf(client).length, errors: [] });
}

describe('cross-client edge records through Eddy', () => {
  // kcat reads them too, but cannot write null keys, null values or per-record headers.
  for (const producer of ['ck', 'kp', 'eddy'] as const) {
    it(`every other client reads ${producer}'s null, empty, UTF-8 and header edge cases exactly`, {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const topic = uniqueName(`edge-${producer}`);
      await createTopicsWithEddy(broker.bootstrap, [{ name: topic, partitions: 1 }]);
      await produceEdgeWith(producer, topic);
      const want = edgeRecordsOf(producer).map((r, o) => ({ o, k: r.key, v: r.value, h: r.headers }));
      for (const consumer of (['ck', 'kp', 'kcat', 'eddy'] as const).filter((c) => c !== producer)) {
        const got = await consumeEdgeWith(consumer, topic, want.length);
        assert.deepEqual(
          got.map((r) => ({ o: r.o, k: r.k, v: r.v, h: r.h })),
          want,
          `${consumer} reading ${producer}'s records`,
        );
      }
    });
  }
});

async function consumeEdgeWith(client: ClientName, topic: string, count: number): Promise<ConsumedRecord[]> {
  switch (client) {
    case 'kcat':
      return kcatConsume(broker.bootstrap, topic, 'beginning');
    case 'ck':
    case 'kp':
      return (await pyConsume(client, broker.bootstrap, { topic, partitions: 1, expect: count })).records;
    case 'eddy':
      return toConsumed(await readAll(broker.bootstrap, topic, 1, count, {}, 60_000));
  }
}
