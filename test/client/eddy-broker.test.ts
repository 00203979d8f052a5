// PENDING: rename to eddy-broker.test.ts once src/index.ts exports startBroker (the broker
// branch on main). Until then it runs by hand against a running broker:
//   cp test/client/eddy-broker.test.ts.pending test/client/eddy-broker.test.ts && npx tsc -p . &&
//   EDDY_TEST_BOOTSTRAP=host:port node --test dist/test/client/eddy-broker.test.js
// Eddy's client against Eddy's broker: the admin API the mock cluster lacks, group flows,
// compression and the kafkajs facade's admin calls.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin } from '../../src/client/admin.js';
import { Consumer } from '../../src/client/consumer/consumer.js';
import * as eddyKafkajs from '../../src/client/kafkajs/index.js';
import { Producer } from '../../src/client/producer/producer.js';
import { readAll, uniqueName, waitFor } from '../helpers/client.js';
import { startEddyBroker, type TestBroker } from '../helpers/eddy-broker.js';

let broker: TestBroker;
let admin: Admin;
before(async () => {
  broker = await startEddyBroker();
  admin = new Admin({ bootstrapServers: broker.bootstrap, logger: null });
});
after(async () => {
  await admin.close();
  await broker.stop();
});

const producer = (opts: Record<string, unknown> = {}): Producer =>
  new Producer({ bootstrapServers: broker.bootstrap, logger: null, lingerMs: 1, ...opts });

describe("admin client against Eddy's broker", () => {
  it('creates, lists, describes, grows and deletes topics', async () => {
    const name = uniqueName('adm-topic');
    const created = await admin.createTopics([
      { name, numPartitions: 2, replicationFactor: 1, configs: { 'retention.ms': '3600000' } },
    ]);
    assert.deepEqual(
      created.map((c) => [c.name, c.created]),
      [[name, true]],
    );
    const again = await admin.createTopics([{ name, numPartitions: 2 }]);
    assert.equal(again[0]?.created, false, 'an existing topic is reported, not thrown');
    assert.ok((await admin.listTopics()).includes(name));
    const [d] = await admin.describeTopics([name]);
    assert.equal(d?.partitions.length, 2);
    assert.ok(d?.partitions.every((p) => p.leader >= 0 && p.replicas.length === 1));
    await admin.createPartitions([{ topic: name, count: 5 }]);
    const [grown] = await admin.describeTopics([name]);
    assert.equal(grown?.partitions.length, 5);
    await assert.rejects(admin.createPartitions([{ topic: name, count: 3 }]), (e: Error) =>
      /INVALID_PARTITIONS/.test(e.message),
    );
    await admin.deleteTopics([name]);
    await waitFor(async () => !(await admin.listTopics()).includes(name), 5000, 'topic gone');
    await assert.rejects(admin.describeTopics([name]), /UNKNOWN_TOPIC_OR_PARTITION/);
  });

  it('describes and alters configs incrementally', async () => {
    const name = uniqueName('adm-config');
    await admin.createTopics([{ name, numPartitions: 1, configs: { 'cleanup.policy': 'delete' } }]);
    await admin.alterConfigs([{ type: 'topic', name, configs: [{ name: 'retention.ms', value: '123456' }] }]);
    const [res] = await admin.describeConfigs([
      { type: 'topic', name, configNames: ['retention.ms', 'cleanup.policy'] },
    ]);
    const byName = new Map(res?.configs.map((c) => [c.name, c]));
    assert.equal(byName.get('retention.ms')?.value, '123456');
    assert.equal(byName.get('retention.ms')?.isDefault, false);
    assert.equal(byName.get('cleanup.policy')?.value, 'delete', 'other keys keep their values');
    await admin.alterConfigs([{ type: 'topic', name, configs: [{ name: 'retention.ms', op: 'delete' }] }]);
    const [after] = await admin.describeConfigs([{ type: 'topic', name, configNames: ['retention.ms'] }]);
    assert.equal(after?.configs[0]?.isDefault, true);
    const cluster = await admin.describeCluster();
    const [brokerConfigs] = await admin.describeConfigs([{ type: 'broker', name: String(cluster.brokers[0]?.nodeId) }]);
    assert.ok((brokerConfigs?.configs.length ?? 0) > 0);
  });

  it('finds offsets by time, deletes records and reports the cluster', async () => {
    const name = uniqueName('adm-records');
    await admin.createTopics([{ name, numPartitions: 1 }]);
    const p = producer();
    await p.sendBatch(
      Array.from({ length: 10 }, (_, i) => ({ topic: name, value: `r${i}`, timestamp: 1_700_000_000_000 + i * 1000 })),
    );
    await p.close();
    assert.deepEqual(await admin.fetchTopicOffsets(name), [{ partition: 0, low: 0, high: 10 }]);
    assert.deepEqual(await admin.fetchTopicOffsetsByTimestamp(name, 1_700_000_004_500), [{ partition: 0, offset: 5 }]);
    assert.deepEqual(await admin.fetchTopicOffsetsByTimestamp(name, 1_800_000_000_000), [{ partition: 0, offset: -1 }]);
    assert.deepEqual(await admin.deleteRecords(name, [{ partition: 0, offset: 4 }]), [
      { partition: 0, lowWatermark: 4 },
    ]);
    const rest = await readAll(broker.bootstrap, name, 1, 6);
    assert.deepEqual(
      rest.map((m) => m.value?.toString()),
      ['r4', 'r5', 'r6', 'r7', 'r8', 'r9'],
    );
    const cluster = await admin.describeCluster();
    assert.equal(cluster.brokers.length, 1);
    assert.ok(cluster.clusterId);
  });

  it('lists, describes and deletes groups, and reads and resets their offsets', async () => {
    const topic = uniqueName('adm-group-topic');
    const groupId = uniqueName('adm-group');
    await admin.createTopics([{ name: topic, numPartitions: 2 }]);
    const p = producer();
    await p.sendBatch(Array.from({ length: 6 }, (_, i) => ({ topic, value: `g${i}`, partition: i % 2 })));
    await p.close();
    const consumer = new Consumer({
      bootstrapServers: broker.bootstrap,
      groupId,
      autoOffsetReset: 'earliest',
      logger: null,
      clientId: 'describe-me',
    });
    consumer.subscribe(topic);
    let read = 0;
    while (read < 6) read += (await consumer.poll())?.messages.length ?? 0;
    await consumer.commit();
    const groups = await admin.listGroups();
    assert.ok(groups.some((g) => g.groupId === groupId && g.protocolType === 'consumer'));
    const [desc] = await admin.describeGroups([groupId]);
    assert.equal(desc?.state, 'Stable');
    assert.equal(desc?.protocol, 'range');
    assert.equal(desc?.members.length, 1);
    assert.equal(desc?.members[0]?.clientId, 'describe-me');
    assert.deepEqual(desc?.members[0]?.topics, [topic]);
    assert.equal(desc?.members[0]?.assignment.length, 2);
    assert.deepEqual(
      (await admin.fetchOffsets(groupId)).map((o) => [o.partition, o.offset]),
      [
        [0, 3],
        [1, 3],
      ],
    );
    // A group with members refuses offset changes and deletion.
    await assert.rejects(admin.setOffsets(groupId, [{ topic, partition: 0, offset: 0 }]));
    await assert.rejects(admin.deleteGroups([groupId]), /NON_EMPTY_GROUP/);
    await consumer.close();
    await admin.setOffsets(groupId, [{ topic, partition: 0, offset: 1 }]);
    await admin.resetOffsets(groupId, topic, 'earliest');
    assert.deepEqual(
      (await admin.fetchOffsets(groupId)).map((o) => [o.partition, o.offset]),
      [
        [0, 0],
        [1, 0],
      ],
    );
    await admin.deleteGroups([groupId]);
    const afterDelete = await admin.describeGroups([groupId]).then(
      (d) => d[0]?.state,
      (e: Error) => e.message,
    );
    assert.match(String(afterDelete), /Dead|GROUP_ID_NOT_FOUND/);
  });
});

describe("producer and consumer against Eddy's broker", () => {
  it('round-trips with every codec, idempotent, and groups share the work', async () => {
    const topic = uniqueName('eddy-rt');
    await admin.createTopics([{ name: topic, numPartitions: 4 }]);
    for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const p = producer({ compression, acks: 'all' });
      await p.sendBatch(Array.from({ length: 100 }, (_, i) => ({ topic, key: `k${i}`, value: `${compression}-${i}` })));
      await p.close();
    }
    const groupId = uniqueName('eddy-g');
    const mk = (): Consumer =>
      new Consumer({
        bootstrapServers: broker.bootstrap,
        groupId,
        autoOffsetReset: 'earliest',
        logger: null,
        assignors: ['cooperative-sticky'],
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 500,
      });
    const a = mk();
    const b = mk();
    a.subscribe(topic);
    b.subscribe(topic);
    const values: string[] = [];
    const run = (c: Consumer): Promise<void> =>
      c.run({
        eachMessage: ({ message }) => {
          values.push(message.value?.toString() ?? '');
        },
      });
    const runs = [run(a), run(b)];
    await waitFor(() => values.length >= 500, 20_000, 'all records');
    await waitFor(() => a.assignment().length === 2 && b.assignment().length === 2, 20_000, 'split 2/2');
    await Promise.all([a.close(), b.close()]);
    await Promise.all(runs);
    assert.equal(new Set(values).size, 500);
  });

  it('picks up a subscribed topic created later, and partitions added later', async () => {
    const topic = uniqueName('late-topic');
    const c = new Consumer({
      bootstrapServers: broker.bootstrap,
      groupId: uniqueName('g-late'),
      logger: null,
      autoOffsetReset: 'earliest',
      allowAutoTopicCreation: false,
      // New partitions show up with the periodic metadata refresh.
      metadataMaxAgeMs: 1000,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
    });
    c.subscribe(topic);
    const first = c.poll();
    await waitFor(() => (c.groupState()?.generationId ?? -1) > 0, 15_000, 'joined without the topic');
    assert.deepEqual(c.assignment(), []);
    await admin.createTopics([{ name: topic, numPartitions: 2 }]);
    const p = producer();
    await p.sendBatch([
      { topic, value: 'a', partition: 0 },
      { topic, value: 'b', partition: 1 },
    ]);
    const batch = await first;
    assert.equal(batch?.topic, topic);
    assert.equal(c.assignment().length, 2);
    await admin.createPartitions([{ topic, count: 3 }]);
    await p.cluster.refreshMetadata([topic]);
    await p.send({ topic, value: 'c', partition: 2 });
    await p.close();
    const seen: number[] = [];
    while (!seen.includes(2)) {
      const b = await c.poll();
      if (b) seen.push(b.partition);
    }
    assert.equal(c.assignment().length, 3);
    await c.close();
  });

  it('static membership: a restarted member keeps its assignment without a rebalance', async () => {
    const topic = uniqueName('static');
    const groupId = uniqueName('g-static');
    await admin.createTopics([{ name: topic, numPartitions: 3 }]);
    const mk = (): Consumer =>
      new Consumer({
        bootstrapServers: broker.bootstrap,
        groupId,
        groupInstanceId: 'instance-1',
        logger: null,
        sessionTimeoutMs: 10_000,
        heartbeatIntervalMs: 500,
        fetchMaxWaitMs: 100,
      });
    const first = mk();
    first.subscribe(topic);
    const pending = first.poll();
    await waitFor(() => first.assignment().length === 3, 15_000, 'first assignment');
    const generation = first.groupState()?.generationId;
    await first.close();
    assert.equal(await pending, null);
    const [during] = await admin.describeGroups([groupId]);
    assert.equal(during?.members.length, 1, 'a static member stays in the group while it restarts');
    const second = mk();
    second.subscribe(topic);
    const again = second.poll();
    await waitFor(() => second.assignment().length === 3, 15_000, 'assignment after the restart');
    assert.equal(second.groupState()?.generationId, generation, 'no new generation');
    await second.close();
    assert.equal(await again, null);
  });

  it('keeps send order for records sent before metadata arrives, and fails those queued for a missing topic together', async () => {
    const topic = uniqueName('early-sends');
    await admin.createTopics([{ name: topic, numPartitions: 3, replicationFactor: 1 }]);
    const p = producer();
    // All sent synchronously, before the producer has any metadata.
    const count = 20_000;
    const metas = await Promise.all(
      Array.from({ length: count }, (_, i) => p.send({ topic, key: `key-${i % 11}`, value: String(i) })),
    );
    await p.close();
    const lastOffset = new Map<number, number>();
    for (const m of metas) {
      assert.ok(m.offset > (lastOffset.get(m.partition) ?? -1), `partition ${m.partition} offsets follow send order`);
      lastOffset.set(m.partition, m.offset);
    }
    const read = await readAll(broker.bootstrap, topic, 3, count);
    const valuesByPartition = new Map<number, number[]>();
    for (const m of read) {
      const list = valuesByPartition.get(m.partition) ?? [];
      list.push(Number(m.value?.toString()));
      valuesByPartition.set(m.partition, list);
    }
    for (const [partition, values] of valuesByPartition) {
      assert.deepEqual(
        values,
        [...values].sort((a, b) => a - b),
        `partition ${partition} holds the records in send order`,
      );
    }
    assert.equal(read.length, count);

    // Sends queued behind a topic whose metadata lookup failed fail with it, without each
    // repeating the lookup (1000 sequential lookups would take minutes).
    const missing = producer({ allowAutoTopicCreation: false, retries: 1, maxBlockMs: 3000 });
    const missingTopic = uniqueName('missing-many');
    const startedMs = Date.now();
    const results = await Promise.allSettled(
      Array.from({ length: 1000 }, () => missing.send({ topic: missingTopic, value: 'x' })),
    );
    const elapsedMs = Date.now() - startedMs;
    assert.ok(
      results.every((r) => r.status === 'rejected' && /UNKNOWN_TOPIC_OR_PARTITION/.test(String(r.reason))),
      'every queued send fails with the lookup error',
    );
    assert.ok(elapsedMs < 30_000, `failed together in ${elapsedMs} ms`);
    await missing.close();
  });

  it('rejects a produce to a missing topic when auto-creation is off', async () => {
    const p = producer({ allowAutoTopicCreation: false, retries: 1, maxBlockMs: 3000 });
    await assert.rejects(p.send({ topic: uniqueName('missing'), value: 'x' }), /UNKNOWN_TOPIC_OR_PARTITION/);
    await p.close();
  });
});

describe("eddy/kafkajs admin against Eddy's broker", () => {
  it('runs the kafkajs admin examples', async () => {
    const kafka = new eddyKafkajs.Kafka({
      clientId: 'admin-example',
      brokers: [broker.bootstrap],
      logLevel: eddyKafkajs.logLevel.NOTHING,
    });
    const a = kafka.admin();
    await a.connect();
    const topic = uniqueName('kjs-admin');
    assert.equal(
      await a.createTopics({
        topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '86400000' }] }],
      }),
      true,
    );
    assert.equal(await a.createTopics({ topics: [{ topic }] }), false);
    assert.ok((await a.listTopics()).includes(topic));
    const md = await a.fetchTopicMetadata({ topics: [topic] });
    assert.equal(md.topics[0]?.partitions.length, 3);
    await a.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
    const configs = await a.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: eddyKafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
    });
    assert.equal(configs.resources[0]?.configEntries[0]?.configValue, '86400000');
    await a.alterConfigs({
      resources: [
        {
          type: eddyKafkajs.ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [{ name: 'retention.ms', value: '1000' }],
        },
      ],
    });
    const altered = await a.describeConfigs({
      resources: [{ type: eddyKafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
    });
    assert.equal(altered.resources[0]?.configEntries[0]?.configValue, '1000');
    await a.deleteTopics({ topics: [topic] });
    await waitFor(async () => !(await a.listTopics()).includes(topic), 5000, 'deleted');
    await a.disconnect();
  });
});
