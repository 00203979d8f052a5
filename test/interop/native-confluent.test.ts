// confluent-kafka for Python (librdkafka 2.0.2), a client nobody here wrote, against Eddy:
// topics created with its AdminClient, every codec, murmur2 placement, a 5 MiB record,
// 1000 partitions, seeks by position and time, describe/alter configs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestBroker } from '../helpers/eddy-broker.js';
import {
  assertExactlyProduced,
  assertMurmur2Placement,
  describePythonClient,
  type ProduceAnswer,
  pyConsume,
  runPy,
  startNativeTestBroker,
} from './native-support.js';

describePythonClient({
  driver: 'ck',
  name: 'confluent-kafka (Python)',
  codecs: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  // librdkafka's default is consistent_random (CRC32); murmur2_random matches Java's default.
  producerConfig: { partitioner: 'murmur2_random' },
  bigProducerConfig: { 'message.max.bytes': 8 * 1024 * 1024 },
  bigConsumerConfig: { 'fetch.max.bytes': 16 * 1024 * 1024, 'receive.message.max.bytes': 20 * 1024 * 1024 },
  // librdkafka's ConfigSource enum.
  configSources: { dynamicTopic: 1, staticBroker: 4, default: 5 },
});

describe('confluent-kafka idempotent producer against Eddy', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startNativeTestBroker();
  });
  after(async () => {
    await broker.stop();
  });

  // Right after CreateTopics the broker may still be creating the 1000 logs, so early produce
  // requests can fail with retriable errors; with enable.idempotence librdkafka must still
  // deliver every record once, in order (librdkafka without it may reorder on such retries).
  it('writes to a just-created 1000-partition topic without loss, duplicates or reordering', {
    timeout: 300_000,
  }, async () => {
    const topic = `ck-idempotent-${process.pid}`;
    const partitions = 1000;
    const created = await runPy<{ created: string[] }>('ck', {
      op: 'create_topics',
      bootstrap: broker.bootstrap,
      topics: [{ name: topic, partitions }],
    });
    assert.deepEqual(created.created, [topic]);
    const prefix = 'ck-idempotent';
    const count = 10_000;
    const answer = await runPy<ProduceAnswer>('ck', {
      op: 'produce',
      bootstrap: broker.bootstrap,
      topic,
      prefix,
      count,
      compression: 'lz4',
      config: { partitioner: 'murmur2_random', 'enable.idempotence': true, 'linger.ms': 50 },
    });
    assert.deepEqual(answer.errors, []);
    assert.equal(answer.delivered, count);
    assertMurmur2Placement(answer.partitions, prefix, partitions);
    const { records } = await pyConsume('ck', broker.bootstrap, { topic, partitions, expect: count });
    assertExactlyProduced(records, { prefix, count, partitions });
  });
});
