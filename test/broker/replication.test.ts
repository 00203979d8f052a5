// Replication in an in-process cluster: followers fetch, the high watermark follows the
// ISR, acks=all waits for it, min.insync.replicas holds, and failover keeps every
// acknowledged write; a returning leader truncates its divergent tail (KIP-320).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Broker } from '../../src/broker/server.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/records/index.js';
import { type InProcessCluster, startInProcessCluster } from '../helpers/in-process-cluster.js';
import { RawClient } from '../helpers/raw-client.js';

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function addressOf(b: Broker): string {
  return `127.0.0.1:${b.boundPorts().get('PLAINTEXT')}`;
}

function partitionOf(b: Broker, topic: string, index = 0) {
  const t = b.image().topicsByName.get(topic);
  return t ? b.replicas.getPartition(t.id, index) : undefined;
}

/** Values stored in a broker's local log for a partition (all of it, ignoring the HW). */
function storedValues(b: Broker, topic: string, index = 0): string[] {
  const p = partitionOf(b, topic, index);
  if (!p) return [];
  const out: string[] = [];
  let offset = p.log.logStartOffset;
  while (offset < p.log.logEndOffset) {
    const { records, nextOffset } = p.log.read(offset, 1 << 20, p.log.logEndOffset, true);
    for (const batch of decodeRecordBatches(records))
      for (const r of batch.records) if (r.offset >= offset) out.push(r.value?.toString() ?? '');
    offset = nextOffset;
  }
  return out;
}

describe('replication', () => {
  let cluster: InProcessCluster;
  before(async () => {
    cluster = await startInProcessCluster(3);
  });
  after(async () => {
    await cluster.stop();
  });

  async function leaderClient(topic: string): Promise<{ client: RawClient; leader: Broker }> {
    const any = cluster.brokers.find((b): b is Broker => b !== null) as Broker;
    await until(`a leader for ${topic}`, () => (any.image().topicsByName.get(topic)?.partitions[0]?.leader ?? -1) >= 0);
    const leaderId = any.image().topicsByName.get(topic)?.partitions[0]?.leader ?? -1;
    const leader = cluster.broker(leaderId);
    return { client: await RawClient.connect(addressOf(leader)), leader };
  }

  async function produce(client: RawClient, topic: string, values: string[], acks = -1, timeoutMs = 5000) {
    const r = await client.request(ApiKey.Produce, 9, {
      acks,
      timeoutMs,
      topicData: [
        {
          name: topic,
          partitionData: [
            { index: 0, records: encodeRecordBatch({ records: values.map((v) => ({ value: Buffer.from(v) })) }) },
          ],
        },
      ],
    });
    return r.responses[0]?.partitionResponses[0];
  }

  async function createTopic(name: string, rf: number, configs: { name: string; value: string }[] = []) {
    const c = await RawClient.connect(addressOf(cluster.broker(1)));
    try {
      const r = await c.request(ApiKey.CreateTopics, 7, {
        topics: [{ name, numPartitions: 1, replicationFactor: rf, assignments: [], configs }],
        timeoutMs: 5000,
      });
      assert.equal(r.topics[0]?.errorCode, 0, `create ${name}`);
    } finally {
      c.close();
    }
  }

  it('replicates acks=all writes to every ISR member before acknowledging', async () => {
    await createTopic('rep', 3);
    const { client, leader } = await leaderClient('rep');
    try {
      for (let i = 0; i < 20; i++) {
        const r = await produce(client, 'rep', [`a${i}`, `b${i}`]);
        assert.equal(r?.errorCode, 0);
        assert.equal(r?.baseOffset, i * 2);
      }
      const p = partitionOf(leader, 'rep');
      assert.equal(p?.log.highWatermark, 40);
      assert.deepEqual([...(p?.isr ?? [])].sort(), [1, 2, 3]);
      const expected = storedValues(leader, 'rep');
      assert.equal(expected.length, 40);
      for (const b of cluster.brokers) {
        if (!b) continue;
        await until(`broker ${b.nodeId} to catch up`, () => (partitionOf(b, 'rep')?.log.highWatermark ?? 0) === 40);
        assert.deepEqual(storedValues(b, 'rep'), expected, `broker ${b.nodeId} holds the same log`);
      }
    } finally {
      client.close();
    }
  });

  it('refuses acks=all below min.insync.replicas and recovers when replicas return', async () => {
    await createTopic('minisr', 3, [{ name: 'min.insync.replicas', value: '2' }]);
    const { client, leader } = await leaderClient('minisr');
    const followers = [1, 2, 3].filter((id) => id !== leader.nodeId);
    try {
      assert.equal((await produce(client, 'minisr', ['ok']))?.errorCode, 0);
      for (const id of followers) await cluster.kill(id);
      await until(
        'the ISR to shrink to the leader',
        () => (partitionOf(leader, 'minisr')?.isr.length ?? 0) === 1,
        15_000,
      );
      assert.equal((await produce(client, 'minisr', ['refused']))?.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
      assert.equal((await produce(client, 'minisr', ['acks1'], 1))?.errorCode, 0, 'acks=1 still works');
      for (const id of followers) await cluster.restart(id);
      await until('the ISR to grow back', () => (partitionOf(leader, 'minisr')?.isr.length ?? 0) === 3, 15_000);
      assert.equal((await produce(client, 'minisr', ['again']))?.errorCode, 0);
    } finally {
      client.close();
    }
  });

  it('fails over to an in-sync follower without losing acknowledged writes, and the old leader truncates its divergent tail', async () => {
    await createTopic('fail', 3);
    const { client, leader } = await leaderClient('fail');
    const acked: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await produce(client, 'fail', [`v${i}`]);
      assert.equal(r?.errorCode, 0);
      acked.push(`v${i}`);
    }
    // Followers stop fetching (after their in-flight long polls return); the leader takes
    // writes only it has (acks=1), then dies.
    for (const b of cluster.brokers) if (b && b !== leader) b.replicaFetchers?.pause();
    await new Promise((r) => setTimeout(r, 800));
    for (let i = 0; i < 5; i++) assert.equal((await produce(client, 'fail', [`lost${i}`], 1))?.errorCode, 0);
    assert.equal(storedValues(leader, 'fail').length, 15, 'the leader holds the unreplicated tail');
    client.close();
    const oldLeaderId = leader.nodeId;
    await cluster.kill(oldLeaderId);
    for (const b of cluster.brokers) if (b) b.replicaFetchers?.resume();
    const survivor = cluster.brokers.find((b): b is Broker => b !== null) as Broker;
    await until('a new leader', () => {
      const l = survivor.image().topicsByName.get('fail')?.partitions[0]?.leader ?? -1;
      return l >= 0 && l !== oldLeaderId;
    });
    const next = await leaderClient('fail');
    try {
      for (let i = 10; i < 15; i++) {
        const r = await produce(next.client, 'fail', [`v${i}`]);
        assert.equal(r?.errorCode, 0);
        acked.push(`v${i}`);
      }
      const newLog = storedValues(next.leader, 'fail');
      assert.deepEqual(newLog, acked, 'every acknowledged write, in order, and nothing unacknowledged');
      const returned = await cluster.restart(oldLeaderId);
      await until('the old leader to converge', () => storedValues(returned, 'fail').join() === acked.join(), 15_000);
      assert.ok(!storedValues(returned, 'fail').some((v) => v.startsWith('lost')), 'the divergent tail was truncated');
    } finally {
      next.client.close();
    }
  });

  it('fails the group coordinator over with __consumer_offsets and keeps committed offsets', async () => {
    const c = await RawClient.connect(cluster.bootstrap().split(',')[0] as string);
    let coordinator: number;
    try {
      const fc = await c.request(ApiKey.FindCoordinator, 3, { key: 'ha-group', keyType: 0 });
      assert.equal(fc.errorCode, 0);
      coordinator = fc.nodeId;
    } finally {
      c.close();
    }
    const cc = await RawClient.connect(addressOf(cluster.broker(coordinator)));
    try {
      const commit = await cc.request(ApiKey.OffsetCommit, 8, {
        groupId: 'ha-group',
        generationIdOrMemberEpoch: -1,
        memberId: '',
        topics: [{ name: 'rep', partitions: [{ partitionIndex: 0, committedOffset: 17, committedMetadata: 'm' }] }],
      });
      assert.equal(commit.topics[0]?.partitions[0]?.errorCode, 0);
    } finally {
      cc.close();
    }
    await cluster.kill(coordinator);
    const other = cluster.brokers.find((b): b is Broker => b !== null) as Broker;
    const committedOffset = async (): Promise<number> => {
      let c2: RawClient | null = null;
      let c3: RawClient | null = null;
      try {
        c2 = await RawClient.connect(addressOf(other));
        const fc = await c2.request(ApiKey.FindCoordinator, 3, { key: 'ha-group', keyType: 0 });
        if (fc.errorCode !== 0 || fc.nodeId === coordinator) return -1;
        c3 = await RawClient.connect(`${fc.host}:${fc.port}`);
        const of = await c3.request(ApiKey.OffsetFetch, 7, {
          groupId: 'ha-group',
          topics: [{ name: 'rep', partitionIndexes: [0] }],
        });
        return of.errorCode === 0 ? (of.topics[0]?.partitions[0]?.committedOffset ?? -1) : -1;
      } catch {
        return -1;
      } finally {
        c2?.close();
        c3?.close();
      }
    };
    await until('a new coordinator serving the committed offset', async () => (await committedOffset()) === 17, 20_000);
    await cluster.restart(coordinator);
  });
});
