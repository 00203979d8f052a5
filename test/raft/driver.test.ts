// The Raft driver over real sockets: three voters in one process elect a leader, replicate and
// commit; a leader cut off from the network is replaced without losing committed records; a
// follower far behind catches up through a snapshot; DescribeQuorum answers over the wire.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, describe, it } from 'node:test';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { listSnapshots } from '../../src/raft/snapshot-file.js';
import { RawClient } from '../helpers/raw-client.js';
import { eventually, leaderOf, startVoters, type TestNode, tempDir, valueRecord } from './cluster-helpers.js';

const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

function root(): string {
  const r = tempDir('eddy-raft-driver-');
  roots.push(r);
  return r;
}

async function appendValues(leader: TestNode, from: number, count: number): Promise<number[]> {
  const offsets: number[] = [];
  for (let v = from; v < from + count; v++) offsets.push(await leader.raft!.append([valueRecord(v)]));
  return offsets;
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

describe('RaftMetadataLog over TCP', () => {
  it('elects one leader among three voters, commits appends and replicates them to every node', async () => {
    const { nodes } = await startVoters(3, root());
    try {
      await eventually(() => leaderOf(nodes) !== undefined, 10_000, 'a leader');
      const leader = leaderOf(nodes)!;
      assert.equal(nodes.filter((n) => n.raft!.role === 'leader').length, 1);
      const offsets = await appendValues(leader, 1, 20);
      assert.deepEqual(
        offsets,
        [...offsets].sort((a, b) => a - b),
        'offsets increase',
      );
      // Every node applies the committed records, in order.
      await eventually(() => nodes.every((n) => n.state.values().length === 20), 10_000, 'replication');
      for (const n of nodes) {
        assert.deepEqual(n.state.values(), range(1, 20), `node ${n.id}`);
        assert.equal(n.raft!.leaderId(), leader.id);
        assert.equal(n.raft!.leaderEpoch(), leader.raft!.leaderEpoch());
      }
      // Only the leader accepts writes.
      const follower = nodes.find((n) => n !== leader)!;
      await assert.rejects(follower.raft!.append([valueRecord(99)]), (err: unknown) => {
        return err instanceof KafkaError && err.code === ErrorCode.NOT_CONTROLLER;
      });
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  it('replaces a leader cut off from the network without losing committed records', async () => {
    const { nodes } = await startVoters(3, root());
    try {
      await eventually(() => leaderOf(nodes) !== undefined, 10_000, 'a leader');
      const old = leaderOf(nodes)!;
      const oldEpoch = old.raft!.leaderEpoch();
      await appendValues(old, 1, 10);
      await old.isolate();
      const others = nodes.filter((n) => n !== old);
      await eventually(() => leaderOf(others) !== undefined, 10_000, 'a new leader');
      const next = leaderOf(others)!;
      assert.ok(next.raft!.leaderEpoch() > oldEpoch, 'the new leader has a later epoch');
      // The cut-off leader cannot reach a majority: check-quorum makes it step down.
      await eventually(() => old.raft!.role !== 'leader', 10_000, 'the old leader to resign');
      await assert.rejects(old.raft!.append([valueRecord(1000)]), KafkaError);
      await appendValues(next, 11, 10);
      for (const n of others) {
        await eventually(() => n.state.values().length === 20, 10_000, `node ${n.id} to apply`);
        assert.deepEqual(n.state.values(), range(1, 20), `node ${n.id}`);
      }
      // The old leader comes back as a follower and catches up.
      await old.reconnect();
      await eventually(() => old.state.values().length === 20, 10_000, 'the old leader to catch up');
      assert.deepEqual(old.state.values(), range(1, 20));
      assert.equal(old.raft!.leaderId(), next.id);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  it('brings a follower that missed compacted records up to date with a snapshot', async () => {
    const { nodes, voters } = await startVoters(3, root(), { fetchSnapshotMaxBytes: 64 });
    try {
      await eventually(() => leaderOf(nodes) !== undefined, 10_000, 'a leader');
      const leader = leaderOf(nodes)!;
      const lagging = nodes.find((n) => n !== leader)!;
      await appendValues(leader, 1, 5);
      await eventually(() => lagging.state.values().length === 5, 10_000, 'replication');
      await lagging.stop();
      await appendValues(leader, 6, 30);
      const id = leader.raft!.snapshotNow();
      assert.ok(id !== null, 'the leader wrote a snapshot');
      assert.ok(leader.raft!.highWatermark >= id.endOffset);
      assert.ok(listSnapshots(`${leader.dir}/__cluster_metadata-0`).some((s) => s.endOffset === id.endOffset));
      await appendValues(leader, 36, 5);
      // The lagging node restarts; what it needs is only in the snapshot now.
      await lagging.listen();
      await lagging.start(voters, { config: { fetchSnapshotMaxBytes: 64 } });
      await eventually(() => lagging.state.values().length === 40, 15_000, 'the lagging node to catch up');
      assert.deepEqual(lagging.state.values(), range(1, 40));
      assert.equal(lagging.state.snapshotsLoaded, 1, 'it loaded the fetched snapshot');
      assert.ok(
        listSnapshots(`${lagging.dir}/__cluster_metadata-0`).some((s) => s.endOffset === id.endOffset),
        'the fetched snapshot is on its disk',
      );
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  it('keeps committed records across a restart of every node', async () => {
    const dir = root();
    let { nodes, voters } = await startVoters(3, dir);
    try {
      await eventually(() => leaderOf(nodes) !== undefined, 10_000, 'a leader');
      await appendValues(leaderOf(nodes)!, 1, 15);
      await Promise.all(nodes.map((n) => n.stop()));
      for (const n of nodes) await n.listen();
      // The restarted nodes listen on the same ports, so the voter set is unchanged.
      for (const n of nodes) assert.equal(voters.get(n.id)!.port, n.port);
      await Promise.all(nodes.map((n) => n.start(voters)));
      await eventually(() => leaderOf(nodes) !== undefined, 10_000, 'a leader after restart');
      await appendValues(leaderOf(nodes)!, 16, 5);
      await eventually(() => nodes.every((n) => n.state.values().length === 20), 10_000, 'replication');
      for (const n of nodes) assert.deepEqual(n.state.values(), range(1, 20));
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
      ({ nodes, voters } = { nodes: [], voters: new Map() });
    }
  });

  it('answers DescribeQuorum from the leader, also when asked through a follower', async () => {
    const { nodes } = await startVoters(3, root());
    try {
      await eventually(() => leaderOf(nodes) !== undefined, 10_000, 'a leader');
      const leader = leaderOf(nodes)!;
      await appendValues(leader, 1, 3);
      await eventually(() => nodes.every((n) => n.state.values().length === 3), 10_000, 'replication');
      const follower = nodes.find((n) => n !== leader)!;
      const client = await RawClient.connect(`127.0.0.1:${follower.port}`);
      try {
        client.send(ApiKey.DescribeQuorum, 2, {
          topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }],
        });
        const res = await client.receive(ApiKey.DescribeQuorum, 2);
        const p = res.topics[0]!.partitions[0]!;
        assert.equal(p.errorCode, ErrorCode.NONE);
        assert.equal(p.leaderId, leader.id);
        assert.equal(p.leaderEpoch, leader.raft!.leaderEpoch());
        assert.ok(p.highWatermark >= 4, `high watermark ${p.highWatermark}`);
        assert.deepEqual(
          p.currentVoters.map((v) => v.replicaId),
          [1, 2, 3],
        );
        for (const v of p.currentVoters) assert.ok(v.logEndOffset >= 3, `voter ${v.replicaId} LEO ${v.logEndOffset}`);
        assert.deepEqual(
          res.nodes.map((n) => n.nodeId),
          [1, 2, 3],
        );
      } finally {
        client.close();
      }
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });
});
