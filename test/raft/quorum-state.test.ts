// The quorum-state file: Kafka's JSON shape, atomic replacement, and a node that restarts on it
// keeps its epoch and its vote.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  FileQuorumStateStore,
  parseQuorumState,
  QUORUM_STATE_FILE,
  QuorumStateError,
} from '../../src/raft/quorum-state.js';
import { RaftNode } from '../../src/raft/raft-node.js';
import type { VoteResponse } from '../../src/raft/types.js';
import { tempDir } from './cluster-helpers.js';
import { TEST_CONFIG } from './node-harness.js';
import { SimDisk, SimLog, type SimRecords } from './sim/sim-log.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDir('eddy-quorum-state-');
  dirs.push(d);
  return d;
}

describe('quorum-state file', () => {
  it('round-trips in the shape of Kafka’s quorum-state JSON', () => {
    const d = dir();
    const store = new FileQuorumStateStore(d, 'cluster-a', [1, 2, 3]);
    assert.equal(store.read(), null, 'no file yet');
    store.write({ epoch: 7, leaderId: 2, votedId: 3 });
    assert.deepEqual(store.read(), { epoch: 7, leaderId: 2, votedId: 3 });
    const json = JSON.parse(fs.readFileSync(path.join(d, QUORUM_STATE_FILE), 'utf8'));
    assert.deepEqual(json, {
      clusterId: 'cluster-a',
      leaderId: 2,
      leaderEpoch: 7,
      votedId: 3,
      appliedOffset: 0,
      currentVoters: [{ voterId: 1 }, { voterId: 2 }, { voterId: 3 }],
      data_version: 0,
    });
    assert.deepEqual(
      fs.readdirSync(d).filter((n) => n.endsWith('.tmp')),
      [],
      'no temporary file is left behind',
    );
  });

  it('reads the file the single-voter log writes', () => {
    const text =
      '{"leaderId":1,"leaderEpoch":4,"votedId":1,"appliedOffset":0,"currentVoters":[{"voterId":1}],"data_version":0}';
    assert.deepEqual(parseQuorumState(text), { epoch: 4, leaderId: 1, votedId: 1 });
  });

  it('refuses a damaged file instead of guessing an epoch', () => {
    const d = dir();
    fs.writeFileSync(path.join(d, QUORUM_STATE_FILE), '{"leaderEpoch": 3, "votedId');
    assert.throws(() => new FileQuorumStateStore(d, '', [1]).read(), QuorumStateError);
    fs.writeFileSync(path.join(d, QUORUM_STATE_FILE), '{"leaderEpoch": -5}');
    assert.throws(() => new FileQuorumStateStore(d, '', [1]).read(), QuorumStateError);
  });

  it('a voter restarted on the file neither votes twice in an epoch nor goes back an epoch', () => {
    const d = dir();
    const make = () =>
      new RaftNode<SimRecords, number>({
        nodeId: 2,
        voters: [1, 2, 3],
        clusterId: null,
        config: TEST_CONFIG,
        log: new SimLog(new SimDisk(), { start: 0, entries: [] }),
        store: new FileQuorumStateStore(d, '', [1, 2, 3]),
        random: () => 0,
        nowMs: 0,
      });
    const answer = (node: RaftNode<SimRecords, number>, candidateId: number, epoch: number): VoteResponse => {
      node.handleRequest(
        1,
        {
          type: 'vote',
          clusterId: null,
          candidateId,
          candidateEpoch: epoch,
          lastOffsetEpoch: 0,
          lastOffset: 0,
          preVote: false,
          voterId: 2,
        },
        0,
      );
      const out = node.takeOutputs().find((o) => o.type === 'respond');
      assert.ok(out?.type === 'respond' && out.response.type === 'vote');
      return out.response;
    };
    assert.equal(answer(make(), 1, 5).voteGranted, true);
    const restarted = make();
    assert.equal(restarted.epoch, 5);
    assert.equal(answer(restarted, 3, 5).voteGranted, false, 'the vote for node 1 in epoch 5 stands');
    assert.equal(answer(restarted, 3, 4).voteGranted, false, 'epoch 4 is over');
  });
});
