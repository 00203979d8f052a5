// The Raft driver over real sockets: three voters in one process elect a leader, replicate and
// commit; a leader cut off from the network is replaced without losing committed records; a
// follower far behind catches up through a snapshot; DescribeQuorum answers over the wire.
// On a loaded machine leadership may move on its own (timeouts passing while the process waits
// for CPU or fsync), so the tests wait for a leader all nodes follow and retry appends that
// fail with NOT_CONTROLLER without ever writing a value twice (see appendValue).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, describe, it } from 'node:test';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import type { DescribeQuorumResponse } from '../../src/protocol/generated/api/describe-quorum.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { listSnapshots } from '../../src/raft/snapshot-file.js';
import { RawClient } from '../helpers/raw-client.js';
import {
  agreedLeader,
  appendValues,
  eventually,
  FAST_RAFT,
  LEADER_TIMEOUT_MS,
  stableLeader,
  startVoters,
  tempDir,
  valueRecord,
} from './cluster-helpers.js';

const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

function root(): string {
  const r = tempDir('eddy-raft-driver-');
  roots.push(r);
  return r;
}

/** How long tests wait for records to replicate and apply. */
const APPLY_TIMEOUT_MS = 30_000;

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

describe('RaftMetadataLog over TCP', () => {
  it('elects one leader among three voters, commits appends and replicates them to every node', async () => {
    const { nodes } = await startVoters(3, root());
    try {
      const first = await stableLeader(nodes);
      // Every other node follows it, so no other node can be leading in any epoch.
      assert.deepEqual(
        nodes.filter((n) => n.raft!.role === 'leader').map((n) => n.id),
        [first.id],
      );
      const offsets = await appendValues(nodes, 1, 20);
      assert.deepEqual(
        offsets,
        [...offsets].sort((a, b) => a - b),
        'offsets increase',
      );
      assert.equal(new Set(offsets).size, 20, 'one offset per value');
      // Every node applies the committed records, in order, each once.
      await eventually(() => nodes.every((n) => n.state.values().length >= 20), APPLY_TIMEOUT_MS, 'replication');
      const leader = await stableLeader(nodes);
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
      await appendValues(nodes, 1, 10);
      const old = await stableLeader(nodes);
      const oldEpoch = old.raft!.leaderEpoch();
      await old.isolate();
      const others = nodes.filter((n) => n !== old);
      const next = await stableLeader(others);
      assert.ok(next.raft!.leaderEpoch() > oldEpoch, 'the new leader has a later epoch');
      // The cut-off leader cannot reach a majority: check-quorum makes it step down.
      await eventually(() => old.raft!.role !== 'leader', LEADER_TIMEOUT_MS, 'the old leader to resign');
      await assert.rejects(old.raft!.append([valueRecord(1000)]), KafkaError);
      await appendValues(others, 11, 10);
      for (const n of others) {
        await eventually(() => n.state.values().length >= 20, APPLY_TIMEOUT_MS, `node ${n.id} to apply`);
        assert.deepEqual(n.state.values(), range(1, 20), `node ${n.id}`);
      }
      assert.ok(!old.state.values().includes(1000), 'the cut-off leader committed nothing alone');
      // The old leader comes back as a follower and catches up.
      await old.reconnect();
      await eventually(() => old.state.values().length >= 20, APPLY_TIMEOUT_MS, 'the old leader to catch up');
      assert.deepEqual(old.state.values(), range(1, 20));
      const leader = await stableLeader(nodes);
      assert.equal(old.raft!.leaderId(), leader.id);
      assert.ok(leader.raft!.leaderEpoch() > oldEpoch);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  it('keeps its leader through an event-loop stall three fetch timeouts long', async () => {
    const { nodes } = await startVoters(3, root());
    try {
      await appendValues(nodes, 1, 3);
      const leader = await stableLeader(nodes);
      const epoch = leader.raft!.leaderEpoch();
      // Any step away from leading or following (even a pre-vote that fails) counts as disruption;
      // waitFor checks after every step of the state machine, so none goes unseen.
      const disrupted: string[] = [];
      for (const n of nodes) {
        const raft = n.raft!;
        const role = raft.role;
        raft
          .waitFor(() => raft.role !== role, 3_600_000)
          .then(
            () => disrupted.push(`node ${n.id} went from ${role} to ${raft.role}`),
            () => undefined, // closed at the end of the test
          );
      }
      // Block this process, and so all three nodes, as a long synchronous fsync would. Nothing
      // could be received meanwhile, so no node may count it as silence from the others.
      const stallMs = 3 * FAST_RAFT.fetchTimeoutMs!;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, stallMs);
      // Round trips through every node, timed after the stall.
      const offsets = await appendValues(nodes, 4, 3);
      await eventually(() => nodes.every((n) => n.state.values().length >= 6), APPLY_TIMEOUT_MS, 'replication');
      for (const n of nodes) {
        assert.equal(n.raft!.leaderEpoch(), epoch, `node ${n.id} epoch`);
        assert.equal(n.raft!.leaderId(), leader.id, `node ${n.id} leader`);
        assert.deepEqual(n.state.values(), range(1, 6), `node ${n.id}`);
      }
      assert.equal(new Set(offsets).size, 3);
      assert.deepEqual(disrupted, []);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  it('brings a follower that missed compacted records up to date with a snapshot', async () => {
    const { nodes, voters } = await startVoters(3, root(), { fetchSnapshotMaxBytes: 64 });
    try {
      await appendValues(nodes, 1, 5);
      const leader = await stableLeader(nodes);
      const lagging = nodes.find((n) => n !== leader)!;
      await eventually(() => lagging.state.values().length === 5, APPLY_TIMEOUT_MS, 'replication');
      await lagging.stop();
      const live = nodes.filter((n) => n !== lagging);
      await appendValues(live, 6, 30);
      // Both running nodes compact, so whichever leads when the lagging node returns can only
      // send it a snapshot for what it missed.
      await eventually(() => live.every((n) => n.state.values().length === 35), APPLY_TIMEOUT_MS, 'replication');
      const ids = live.map((n) => {
        const id = n.raft!.snapshotNow();
        assert.ok(id !== null, `node ${n.id} wrote a snapshot`);
        assert.ok(n.raft!.highWatermark >= id.endOffset);
        assert.ok(listSnapshots(`${n.dir}/__cluster_metadata-0`).some((s) => s.endOffset === id.endOffset));
        return id;
      });
      await appendValues(live, 36, 5);
      // The lagging node restarts; what it needs is only in the snapshots now.
      await lagging.listen();
      await lagging.start(voters, { config: { fetchSnapshotMaxBytes: 64 } });
      await eventually(() => lagging.state.values().length >= 40, APPLY_TIMEOUT_MS, 'the lagging node to catch up');
      assert.deepEqual(lagging.state.values(), range(1, 40));
      // (Two if leadership moved mid-catch-up to a node whose snapshot ends later.)
      assert.ok(lagging.state.snapshotsLoaded >= 1, 'it loaded a fetched snapshot');
      assert.ok(
        listSnapshots(`${lagging.dir}/__cluster_metadata-0`).some((s) =>
          ids.some((id) => id.endOffset === s.endOffset),
        ),
        'the fetched snapshot is on its disk',
      );
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  it('keeps committed records across a restart of every node', async () => {
    const dir = root();
    const { nodes, voters } = await startVoters(3, dir);
    try {
      await appendValues(nodes, 1, 15);
      await Promise.all(nodes.map((n) => n.stop()));
      for (const n of nodes) await n.listen();
      // The restarted nodes listen on the same ports, so the voter set is unchanged.
      for (const n of nodes) assert.equal(voters.get(n.id)!.port, n.port);
      await Promise.all(nodes.map((n) => n.start(voters)));
      await appendValues(nodes, 16, 5);
      await eventually(() => nodes.every((n) => n.state.values().length >= 20), APPLY_TIMEOUT_MS, 'replication');
      for (const n of nodes) assert.deepEqual(n.state.values(), range(1, 20));
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  it('answers DescribeQuorum from the leader, also when asked through a follower', async () => {
    const { nodes } = await startVoters(3, root());
    try {
      await appendValues(nodes, 1, 3);
      await eventually(() => nodes.every((n) => n.state.values().length === 3), APPLY_TIMEOUT_MS, 'replication');
      const deadline = Date.now() + LEADER_TIMEOUT_MS;
      for (;;) {
        const leader = await stableLeader(nodes);
        const epoch = leader.raft!.leaderEpoch();
        const follower = nodes.find((n) => n !== leader)!;
        const client = await RawClient.connect(`127.0.0.1:${follower.port}`);
        let res: DescribeQuorumResponse;
        try {
          client.send(ApiKey.DescribeQuorum, 2, {
            topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }],
          });
          res = await client.receive(ApiKey.DescribeQuorum, 2);
        } finally {
          client.close();
        }
        // Leadership moved while we asked: the answer may rightly name another leader; ask again.
        if (agreedLeader(nodes) !== leader || leader.raft!.leaderEpoch() !== epoch) {
          assert.ok(Date.now() < deadline, 'leadership kept moving');
          continue;
        }
        const p = res.topics[0]!.partitions[0]!;
        assert.equal(p.errorCode, ErrorCode.NONE);
        assert.equal(p.leaderId, leader.id);
        assert.equal(p.leaderEpoch, epoch);
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
        break;
      }
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });
});
