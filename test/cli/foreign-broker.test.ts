// The CLI against a Kafka server nobody here wrote: librdkafka's mock cluster (3 brokers).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { uniqueName } from '../helpers/client.js';
import { type MockCluster, startMockCluster } from '../helpers/rdkafka-mock/index.js';
import { cliJson, cliOk, tableRows } from './run-cli.js';

describe('eddy CLI against the librdkafka mock cluster', { timeout: 180_000 }, () => {
  let mock: MockCluster;
  let b: string[];

  before(async () => {
    mock = await startMockCluster(3);
    b = ['--bootstrap-server', mock.bootstrap];
  });
  after(async () => {
    await mock.stop();
  });

  test('cluster describe, topics, produce, consume and groups', async () => {
    const cluster = await cliJson<{ brokers: { nodeId: number }[]; controllerId: number }>([
      'cluster',
      'describe',
      ...b,
    ]);
    assert.deepEqual(cluster.brokers.map((x) => x.nodeId).sort(), [1, 2, 3]);

    const topic = uniqueName('cli-mock');
    await mock.createTopic(topic, 3, 2);
    assert.ok((await cliJson<string[]>(['topics', 'list', ...b])).includes(topic));
    const desc = await cliOk(['topics', 'describe', '--topic', topic, ...b]);
    const rows = tableRows(desc, 'PARTITION');
    assert.equal(rows.length, 3);
    for (const r of rows) {
      const [, leader, replicas, isr] = r;
      assert.ok(replicas?.split(',').includes(leader ?? ''), `the leader is a replica in ${r.join('|')}`);
      assert.ok(isr?.split(',').includes(leader ?? ''), `the leader is in the ISR in ${r.join('|')}`);
    }

    const lines = Array.from({ length: 30 }, (_, i) => `k${i}:v${i}`);
    await cliOk(['produce', '--topic', topic, '--key-separator', ':', '--compression', 'gzip', ...b], {
      input: `${lines.join('\n')}\n`,
    });
    const group = uniqueName('mock-group');
    const out = await cliOk([
      'consume',
      '--topic',
      topic,
      '--group',
      group,
      '--from-beginning',
      '--max-messages',
      '30',
      '--format',
      'key-value',
      '--key-separator',
      ':',
      ...b,
    ]);
    assert.deepEqual(out.trimEnd().split('\n').sort(), [...lines].sort());

    // (librdkafka 2.0.2's mock has no DescribeGroups and answers an all-partitions OffsetFetch
    // with a null array, so offsets are checked through reset-offsets, which names the topic.)
    type Plan = { partitions: { currentOffset: number | null; newOffset: number }[] };
    const reset = (...extra: string[]): string[] => [
      'groups',
      'reset-offsets',
      '--group',
      group,
      '--topic',
      topic,
      '--to-earliest',
      ...extra,
      ...b,
    ];
    const dry = await cliJson<Plan>(reset());
    assert.equal(
      dry.partitions.reduce((s, p) => s + (p.currentOffset ?? 0), 0),
      30,
      'the consumer committed all 30 records',
    );
    // The mock keeps a departed member until its session times out, and then refuses commits
    // from outside the group (as Kafka does): reset a group that never had members.
    const fresh = uniqueName('mock-fresh');
    const toLatest = (...extra: string[]): string[] => [
      'groups',
      'reset-offsets',
      '--group',
      fresh,
      '--topic',
      topic,
      '--to-latest',
      ...extra,
      ...b,
    ];
    const executed = await cliJson<Plan>(toLatest('--execute'));
    assert.equal(
      executed.partitions.reduce((s, p) => s + p.newOffset, 0),
      30,
    );
    const after = await cliJson<Plan>(toLatest());
    assert.deepEqual(
      after.partitions.map((p) => p.currentOffset),
      executed.partitions.map((p) => p.newOffset),
      'the offsets were committed',
    );
  });
});
