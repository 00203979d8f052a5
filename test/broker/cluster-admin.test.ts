// Cluster administration: partition reassignment, preferred leader election, rack-aware
// placement and controlled shutdown, on an in-process cluster.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Broker } from '../../src/broker/server.js';
import { placeAssignment } from '../../src/metadata/controller.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { encodeRecordBatch } from '../../src/records/index.js';
import { type InProcessCluster, startInProcessCluster } from '../helpers/in-process-cluster.js';
import { RawClient } from '../helpers/raw-client.js';

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('rack-aware placement', () => {
  it('puts each partition’s replicas on distinct racks before reusing one', () => {
    const brokers = [
      { id: 1, rack: 'a' },
      { id: 2, rack: 'a' },
      { id: 3, rack: 'b' },
      { id: 4, rack: 'b' },
      { id: 5, rack: 'c' },
      { id: 6, rack: 'c' },
    ];
    const rackOf = new Map(brokers.map((b) => [b.id, b.rack]));
    const assignment = placeAssignment(brokers, 12, 3, 0, 0);
    const leaders = new Map<number, number>();
    for (const replicas of assignment) {
      assert.equal(new Set(replicas).size, 3, 'no broker twice');
      assert.equal(new Set(replicas.map((r) => rackOf.get(r))).size, 3, `racks differ in ${replicas}`);
      leaders.set(replicas[0] as number, (leaders.get(replicas[0] as number) ?? 0) + 1);
    }
    assert.deepEqual([...leaders.values()], [2, 2, 2, 2, 2, 2], 'leaders spread evenly');
    const twoRacks = placeAssignment(brokers.slice(0, 4), 4, 3, 0, 1);
    for (const replicas of twoRacks) assert.equal(new Set(replicas.map((r) => rackOf.get(r))).size, 2);
  });
});

describe('cluster administration', () => {
  let cluster: InProcessCluster;
  let client: RawClient;
  before(async () => {
    cluster = await startInProcessCluster(4);
    client = await RawClient.connect(cluster.bootstrap().split(',')[0] as string);
  });
  after(async () => {
    client.close();
    await cluster.stop();
  });

  function image() {
    return (cluster.brokers.find((b): b is Broker => b !== null) as Broker).image();
  }

  it('moves a partition to new replicas and back, copying its data', async () => {
    const created = await client.request(ApiKey.CreateTopics, 7, {
      topics: [
        {
          name: 'moving',
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }],
          configs: [],
        },
      ],
      timeoutMs: 5000,
    });
    assert.equal(created.topics[0]?.errorCode, 0);
    const leader = cluster.broker(1);
    const lc = await RawClient.connect(`127.0.0.1:${leader.boundPorts().get('PLAINTEXT')}`);
    try {
      for (let i = 0; i < 5; i++) {
        const r = await lc.request(ApiKey.Produce, 9, {
          acks: -1,
          timeoutMs: 5000,
          topicData: [
            {
              name: 'moving',
              partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: Buffer.from(`m${i}`) }] }) }],
            },
          ],
        });
        assert.equal(r.responses[0]?.partitionResponses[0]?.errorCode, 0);
      }
    } finally {
      lc.close();
    }
    const move = await client.request(ApiKey.AlterPartitionReassignments, 0, {
      topics: [{ name: 'moving', partitions: [{ partitionIndex: 0, replicas: [3, 4] }] }],
    });
    assert.equal(move.responses[0]?.partitions[0]?.errorCode, 0);
    await until('the reassignment to complete', () => {
      const reg = image().topicsByName.get('moving')?.partitions[0];
      return reg !== undefined && reg.replicas.join() === '3,4' && reg.addingReplicas.length === 0;
    });
    const reg = image().topicsByName.get('moving')?.partitions[0];
    assert.ok(reg && [3, 4].includes(reg.leader), 'leadership moved to the new replicas');
    const t = image().topicsByName.get('moving');
    await until(
      'the data on the new replicas',
      () => (cluster.broker(3).replicas.getPartition(t?.id ?? '', 0)?.log.logEndOffset ?? 0) === 5,
    );
    await until(
      'the old replicas to drop the partition',
      () => cluster.broker(1).replicas.getPartition(t?.id ?? '', 0) === undefined,
    );
    const list = await client.request(ApiKey.ListPartitionReassignments, 0, { topics: null });
    assert.deepEqual(list.topics, []);
    const cancel = await client.request(ApiKey.AlterPartitionReassignments, 0, {
      topics: [{ name: 'moving', partitions: [{ partitionIndex: 0, replicas: null }] }],
    });
    assert.equal(cancel.responses[0]?.partitions[0]?.errorCode, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
    const bad = await client.request(ApiKey.AlterPartitionReassignments, 0, {
      topics: [{ name: 'moving', partitions: [{ partitionIndex: 0, replicas: [3, 3] }] }],
    });
    assert.equal(bad.responses[0]?.partitions[0]?.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  });

  it('elects the preferred leader back after a controlled shutdown moved leadership away', async () => {
    await client.request(ApiKey.CreateTopics, 7, {
      topics: [
        {
          name: 'pref',
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: [2, 3, 4] }],
          configs: [],
        },
      ],
      timeoutMs: 5000,
    });
    await until('broker 2 to lead', () => image().topicsByName.get('pref')?.partitions[0]?.leader === 2);
    // A controlled shutdown moves leadership before the broker goes.
    await cluster.broker(2).stop();
    cluster.brokers[1] = null;
    assert.notEqual(image().topicsByName.get('pref')?.partitions[0]?.leader, 2, 'leadership moved during shutdown');
    await cluster.restart(2);
    await until(
      'broker 2 back in the ISR',
      () => image().topicsByName.get('pref')?.partitions[0]?.isr.includes(2) === true,
    );
    const notNeeded = await client.request(ApiKey.ElectLeaders, 2, {
      electionType: 0,
      topicPartitions: [{ topic: 'pref', partitions: [0] }],
    });
    const code = notNeeded.replicaElectionResults[0]?.partitionResult[0]?.errorCode;
    assert.equal(code, ErrorCode.NONE);
    await until('broker 2 to lead again', () => image().topicsByName.get('pref')?.partitions[0]?.leader === 2);
    const again = await client.request(ApiKey.ElectLeaders, 2, {
      electionType: 0,
      topicPartitions: [{ topic: 'pref', partitions: [0] }],
    });
    assert.equal(again.replicaElectionResults[0]?.partitionResult[0]?.errorCode, ErrorCode.ELECTION_NOT_NEEDED);
  });
});
