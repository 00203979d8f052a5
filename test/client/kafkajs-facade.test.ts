// The kafkajs facade runs kafkajs's documented usage examples. Each example runs twice, at
// the same time, against librdkafka's mock cluster: once with the real kafkajs and once with
// eddy/kafkajs, and both must observe the same results.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import * as eddy from '../../src/client/kafkajs/index.js';
import { uniqueName, waitFor } from '../helpers/client.js';
import { type MockCluster, startMockCluster } from '../helpers/rdkafka-mock/index.js';

const require = createRequire(import.meta.url);
// The real kafkajs, loosely typed: the examples use the API surface both share.
// biome-ignore lint/suspicious/noExplicitAny: third-party module used only as a reference implementation
const kafkajs: any = require('kafkajs');
// biome-ignore lint/suspicious/noExplicitAny: either implementation
type Impl = any;
const IMPLS: [string, Impl][] = [
  ['kafkajs', kafkajs],
  ['eddy/kafkajs', eddy],
];

let mock: MockCluster;
before(async () => {
  mock = await startMockCluster(1);
});
after(async () => {
  await mock.stop();
});

function client(impl: Impl): Impl {
  return new impl.Kafka({ clientId: 'my-app', brokers: mock.brokers, logLevel: impl.logLevel.NOTHING });
}
// Short sessions: the mock waits sessionTimeout - 1 s for members before completing a rebalance.
const consumerConfig = (groupId: string): Record<string, unknown> => ({
  groupId,
  sessionTimeout: 4000,
  heartbeatInterval: 500,
  maxWaitTimeInMs: 100,
});

/** Runs an example with both implementations concurrently and returns both results. */
async function both<T>(example: (impl: Impl, tag: string) => Promise<T>): Promise<[T, T]> {
  const [a, b] = await Promise.all(IMPLS.map(([name, impl]) => example(impl, name.replace('/', '-'))));
  return [a as T, b as T];
}

describe('eddy/kafkajs runs kafkajs examples like kafkajs does', () => {
  it('getting started: produce, then consume with eachMessage from the beginning', async () => {
    const [ref, ours] = await both(async (impl, tag) => {
      const topic = uniqueName(`test-topic-${tag}`);
      await mock.createTopic(topic, 1);
      const kafka = client(impl);
      const producer = kafka.producer();
      await producer.connect();
      const meta = await producer.send({ topic, messages: [{ value: 'Hello KafkaJS user!' }] });
      await producer.disconnect();
      const consumer = kafka.consumer(consumerConfig(uniqueName(`test-group-${tag}`)));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const seen: unknown[] = [];
      await consumer.run({
        eachMessage: async ({ partition, message }: Impl) => {
          seen.push({
            partition,
            offset: message.offset,
            value: message.value.toString(),
            ts: typeof message.timestamp,
          });
        },
      });
      await waitFor(() => seen.length === 1, 15_000, 'message');
      await consumer.disconnect();
      return { meta: meta.map((m: Impl) => [m.partition, m.errorCode, m.baseOffset]), seen };
    });
    assert.deepEqual(ours, ref);
    assert.deepEqual(ours.seen, [{ partition: 0, offset: '0', value: 'Hello KafkaJS user!', ts: 'string' }]);
  });

  it('producing: keys, explicit partitions, headers, timestamps, GZIP, sendBatch over topics', async () => {
    const [ref, ours] = await both(async (impl, tag) => {
      const t1 = uniqueName(`p1-${tag}`);
      const t2 = uniqueName(`p2-${tag}`);
      await mock.createTopic(t1, 3);
      await mock.createTopic(t2, 2);
      const kafka = client(impl);
      const producer = kafka.producer();
      await producer.connect();
      const sent = await producer.send({
        topic: t1,
        compression: impl.CompressionTypes.GZIP,
        messages: [
          { key: 'key1', value: 'hello world' },
          {
            key: 'key2',
            value: 'hey hey!',
            headers: { 'correlation-id': '2bfb68bb', system: ['a', Buffer.from('b')] },
          },
          { value: 'to partition 2', partition: 2, timestamp: '1700000000000' },
        ],
      });
      const batch = await producer.sendBatch({
        topicMessages: [
          { topic: t1, messages: [{ key: 'key1', value: 'again' }] },
          { topic: t2, messages: [{ value: 'other topic', partition: 1 }] },
        ],
      });
      await producer.disconnect();
      const consumer = kafka.consumer(consumerConfig(uniqueName(`g-${tag}`)));
      await consumer.connect();
      await consumer.subscribe({ topics: [t1, t2], fromBeginning: true });
      const seen: string[] = [];
      await consumer.run({
        eachMessage: async ({ topic, partition, message }: Impl) => {
          const headers = Object.entries(message.headers ?? {})
            .map(([k, v]) => `${k}=${Array.isArray(v) ? v.map(String).join('|') : String(v)}`)
            .join(',');
          const ts = message.value.toString() === 'to partition 2' ? message.timestamp : '';
          seen.push(
            `${topic === t1 ? 't1' : 't2'}/${partition}/${message.offset} ${message.key ?? ''}=${message.value} [${headers}] ${ts}`,
          );
        },
      });
      await waitFor(() => seen.length === 5, 15_000, 'five messages');
      await consumer.disconnect();
      const parts = (ms: Impl[]): string[] =>
        ms.map((m: Impl) => `${m.topicName === t1 ? 't1' : 't2'}/${m.partition}/${m.baseOffset}`).sort();
      return { sent: parts(sent), batch: parts(batch), seen: seen.sort() };
    });
    assert.deepEqual(ours, ref);
    assert.ok(
      ours.seen.some((l) => /^t1\/2\/\d+ =to partition 2 \[\] 1700000000000$/.test(l)),
      ours.seen.join('\n'),
    );
    assert.ok(ours.seen.some((l) => l.includes('key2=hey hey! [correlation-id=2bfb68bb,system=a|b]')));
  });

  it('eachBatch with resolveOffset, heartbeat, isRunning and isStale', async () => {
    const [ref, ours] = await both(async (impl, tag) => {
      const topic = uniqueName(`batch-${tag}`);
      await mock.createTopic(topic, 2);
      const kafka = client(impl);
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic,
        messages: Array.from({ length: 20 }, (_, i) => ({ value: `m${i}`, partition: i % 2 })),
      });
      await producer.disconnect();
      const consumer = kafka.consumer(consumerConfig(uniqueName(`g-${tag}`)));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const values: string[] = [];
      await consumer.run({
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: Impl) => {
          for (const message of batch.messages) {
            if (!isRunning() || isStale()) break;
            values.push(`${batch.partition}:${message.value.toString()}`);
            resolveOffset(message.offset);
            await heartbeat();
          }
        },
      });
      await waitFor(() => values.length === 20, 15_000, 'twenty messages');
      await consumer.disconnect();
      return values.sort();
    });
    assert.deepEqual(ours, ref);
  });

  it('manual commits with autoCommit: false, then a new consumer resumes after them', async () => {
    const [ref, ours] = await both(async (impl, tag) => {
      const topic = uniqueName(`commit-${tag}`);
      const groupId = uniqueName(`g-${tag}`);
      await mock.createTopic(topic, 1);
      const kafka = client(impl);
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: Array.from({ length: 6 }, (_, i) => ({ value: `v${i}` })) });
      const consumer = kafka.consumer(consumerConfig(groupId));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const first: string[] = [];
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ topic: t, partition, message }: Impl) => {
          first.push(message.value.toString());
          if (message.offset === '3') await consumer.commitOffsets([{ topic: t, partition, offset: '4' }]);
        },
      });
      await waitFor(() => first.length === 6, 15_000, 'first read');
      await consumer.disconnect();
      const admin = kafka.admin();
      await admin.connect();
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
      await admin.disconnect();
      const second: string[] = [];
      const again = kafka.consumer(consumerConfig(groupId));
      await again.connect();
      await again.subscribe({ topic, fromBeginning: true });
      await again.run({ eachMessage: async ({ message }: Impl) => void second.push(message.value.toString()) });
      await waitFor(() => second.length === 2, 15_000, 'resumed read');
      await again.disconnect();
      await producer.disconnect();
      return { first, committed: committed.map((t: Impl) => t.partitions.map((p: Impl) => p.offset)), second };
    });
    assert.deepEqual(ours, ref);
    assert.deepEqual(ours.second, ['v4', 'v5']);
  });

  it('seek and pause/resume from eachMessage', async () => {
    const [ref, ours] = await both(async (impl, tag) => {
      const topic = uniqueName(`seek-${tag}`);
      await mock.createTopic(topic, 1);
      const kafka = client(impl);
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `s${i}` })) });
      await producer.disconnect();
      const consumer = kafka.consumer(consumerConfig(uniqueName(`g-${tag}`)));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const seen: string[] = [];
      let seeked = false;
      let paused = false;
      await consumer.run({
        eachMessage: async ({ message, pause }: Impl) => {
          seen.push(message.value.toString());
          if (message.offset === '3' && !seeked) {
            seeked = true;
            consumer.seek({ topic, partition: 0, offset: '1' });
          } else if (message.offset === '2' && seeked && !paused) {
            paused = true;
            const resume = pause();
            setTimeout(resume, 300);
          }
        },
      });
      await waitFor(() => seen.length >= 8, 15_000, 'seeked and resumed');
      await new Promise((r) => setTimeout(r, 300));
      await consumer.disconnect();
      return seen;
    });
    assert.deepEqual(ours, ref);
    assert.deepEqual(ours, ['s0', 's1', 's2', 's3', 's1', 's2', 's3', 's4']);
  });

  it('admin: topics, metadata, offsets and the cluster (what the mock serves)', async () => {
    const [ref, ours] = await both(async (impl, tag) => {
      const topic = uniqueName(`admin-${tag}`);
      const groupId = uniqueName(`g-${tag}`);
      await mock.createTopic(topic, 2);
      const kafka = client(impl);
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic,
        messages: [
          { value: 'a', partition: 0 },
          { value: 'b', partition: 0 },
          { value: 'c', partition: 1 },
        ],
      });
      await producer.disconnect();
      const admin = kafka.admin();
      await admin.connect();
      const topics = await admin.listTopics();
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      const offsets = await admin.fetchTopicOffsets(topic);
      const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, 0);
      const none = await admin.fetchOffsets({ groupId, topics: [topic] });
      const cluster = await admin.describeCluster();
      await admin.disconnect();
      const byPartition = (l: Impl[]): unknown[] =>
        [...l]
          .sort((x: Impl, y: Impl) => x.partition - y.partition)
          .map((p: Impl) => [p.partition, p.offset, p.high, p.low]);
      return {
        listed: topics.includes(topic),
        partitions: md.topics[0].partitions.map((p: Impl) => [p.partitionId, p.leader, p.replicas, p.isr]),
        offsets: byPartition(offsets),
        byTime: byPartition(byTime),
        committed: byPartition(none[0].partitions),
        brokers: cluster.brokers.map((b: Impl) => b.nodeId),
        controller: cluster.controller,
        hasClusterId: typeof cluster.clusterId === 'string' && cluster.clusterId.length > 0,
      };
    });
    assert.deepEqual(ours, ref);
    assert.deepEqual(ours.offsets, [
      [0, '2', '2', '0'],
      [1, '1', '1', '0'],
    ]);
  });

  it('admin: setOffsets and resetOffsets on an empty group', async () => {
    // kafkajs first checks the group with DescribeGroups, which the mock does not implement,
    // so only eddy/kafkajs runs this one here.
    const topic = uniqueName('admin-offsets');
    const groupId = uniqueName('g-offsets');
    await mock.createTopic(topic, 2);
    const kafka = client(eddy);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        { value: 'a', partition: 0 },
        { value: 'b', partition: 0 },
      ],
    });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({
      groupId,
      topic,
      partitions: [
        { partition: 0, offset: '1' },
        { partition: 1, offset: '0' },
      ],
    });
    const set = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.deepEqual(
      set[0]?.partitions.map((p: Impl) => [p.partition, p.offset]),
      [
        [0, '1'],
        [1, '0'],
      ],
    );
    await admin.resetOffsets({ groupId, topic, earliest: false });
    const reset = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.deepEqual(
      reset[0]?.partitions.map((p: Impl) => [p.partition, p.offset]),
      [
        [0, '2'],
        [1, '0'],
      ],
    );
    await admin.disconnect();
  });
});
