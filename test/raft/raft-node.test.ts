// The Raft state machine's transitions, driven by hand: elections with pre-vote, vote rules and
// their persistence, replication and the high watermark, divergence, snapshots, check-quorum,
// observers, restarts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { MemoryQuorumStateStore } from '../../src/raft/quorum-state.js';
import type { FetchResponse, RaftRequest, VoteRequest } from '../../src/raft/types.js';
import { entries, fetchReq, Harness, TEST_CONFIG, voteGrant } from './node-harness.js';
import { encodeSimSnapshot, SimDisk, type SimRecords } from './sim/sim-log.js';

function vote(
  candidateId: number,
  candidateEpoch: number,
  lastOffsetEpoch: number,
  lastOffset: number,
  preVote = false,
): VoteRequest {
  return {
    type: 'vote',
    clusterId: 'test',
    candidateId,
    candidateEpoch,
    lastOffsetEpoch,
    lastOffset,
    preVote,
    voterId: -1,
  };
}

/** Node 1 of [1,2,3] elected leader of epoch 1 with its LeaderChange record flushed. */
function electedLeader(): Harness {
  const h = new Harness(1, [1, 2, 3]);
  h.take();
  const preVotes = h.sends(h.poll(TEST_CONFIG.electionTimeoutMs));
  const votes = h.sends(h.respond(preVotes[0]!, voteGrant(0)));
  const out = h.respond(votes[0]!, voteGrant(1));
  // Keep what the election produced (BeginQuorumEpoch requests) for the test to inspect.
  const rest = h.flushAll(out);
  h.outputs.push(...rest);
  assert.equal(h.node.role, 'leader');
  return h;
}

describe('RaftNode elections', () => {
  it('a sole voter elects itself at once and commits once its log is flushed', () => {
    const h = new Harness(1, [1]);
    assert.equal(h.node.role, 'leader');
    assert.equal(h.node.epoch, 1);
    assert.equal(h.node.highWatermark, 0, 'nothing is committed before the flush');
    const out = h.flushAll();
    assert.equal(h.node.highWatermark, 1, 'the LeaderChange record commits after one flush');
    assert.ok(out.some((o) => o.type === 'highWatermark' && o.offset === 1));
    const r = h.node.append(7, h.now);
    assert.deepEqual(r, { baseOffset: 1, lastOffset: 1 });
    // The append lingers, then one flush commits it.
    assert.equal(h.take().filter((o) => o.type === 'flush').length, 0);
    h.flushAll(h.poll(TEST_CONFIG.appendLingerMs));
    assert.equal(h.node.highWatermark, 2);
  });

  it('starts a pre-vote after the election timeout without changing its quorum state', () => {
    const h = new Harness(1, [1, 2, 3]);
    h.take();
    const writes = h.store.writes;
    assert.equal(h.poll(TEST_CONFIG.electionTimeoutMs - 1).length, 0, 'not yet');
    const sends = h.sends(h.poll(1));
    assert.equal(h.node.role, 'prospective');
    assert.deepEqual(
      sends.map((s) => s.destination),
      [2, 3],
    );
    for (const s of sends) {
      assert.equal(s.request.type, 'vote');
      const req = s.request as VoteRequest;
      assert.equal(req.preVote, true);
      assert.equal(req.candidateEpoch, 1, 'a pre-vote names the epoch it would run in');
    }
    assert.equal(h.node.epoch, 0);
    assert.equal(h.store.writes, writes, 'a pre-vote persists nothing');
  });

  it('becomes a candidate on a pre-vote majority, persisting its epoch and vote before asking', () => {
    const h = new Harness(1, [1, 2, 3]);
    const preVotes = h.sends(h.poll(TEST_CONFIG.electionTimeoutMs));
    const out = h.respond(preVotes[0]!, voteGrant(0));
    assert.equal(h.node.role, 'candidate');
    assert.deepEqual(h.store.state, { epoch: 1, leaderId: -1, votedId: 1 });
    const votes = h.sends(out);
    assert.equal(votes.length, 2);
    for (const s of votes) {
      const req = s.request as VoteRequest;
      assert.equal(req.preVote, false);
      assert.equal(req.candidateEpoch, 1);
    }
  });

  it('becomes leader on a vote majority: persists, writes LeaderChange, sends BeginQuorumEpoch', () => {
    const h = new Harness(1, [1, 2, 3]);
    const preVotes = h.sends(h.poll(TEST_CONFIG.electionTimeoutMs));
    const votes = h.sends(h.respond(preVotes[0]!, voteGrant(0)));
    const out = h.respond(votes[1]!, voteGrant(1));
    assert.equal(h.node.role, 'leader');
    assert.deepEqual(h.store.state, { epoch: 1, leaderId: 1, votedId: 1 });
    assert.deepEqual(h.log.entryAt(0), { offset: 0, epoch: 1, kind: 'leader', value: 1 });
    const begins = h.sends(out).filter((s) => s.request.type === 'beginQuorumEpoch');
    assert.deepEqual(begins.map((s) => s.destination).sort(), [2, 3]);
    assert.ok(out.some((o) => o.type === 'stateChange' && o.role === 'leader' && o.leaderId === 1));
  });

  it('backs off and retries after a majority rejects its pre-vote', () => {
    const h = new Harness(1, [1, 2, 3]);
    const preVotes = h.sends(h.poll(TEST_CONFIG.electionTimeoutMs));
    h.respond(preVotes[0]!, voteGrant(0, false));
    h.respond(preVotes[1]!, voteGrant(0, false));
    assert.equal(h.node.role, 'prospective');
    assert.equal(h.node.epoch, 0, 'a lost pre-vote bumps nothing');
    // random() is 0 in the harness, so the backoff is 0 and the next round starts at the next poll.
    const retry = h.sends(h.poll(0));
    assert.equal(retry.length, 2);
    assert.ok(retry.every((s) => (s.request as VoteRequest).preVote));
  });
});

describe('RaftNode vote rules', () => {
  it('grants one vote per epoch and persists it before answering', () => {
    const h = new Harness(2, [1, 2, 3]);
    const yes = h.request(vote(1, 1, 0, 0));
    assert.equal(yes?.type === 'vote' && yes.voteGranted, true);
    assert.deepEqual(h.store.state, { epoch: 1, leaderId: -1, votedId: 1 });
    const no = h.request(vote(3, 1, 0, 0));
    assert.equal(no?.type === 'vote' && no.voteGranted, false, 'already voted in epoch 1');
    const again = h.request(vote(1, 1, 0, 0));
    assert.equal(again?.type === 'vote' && again.voteGranted, true, 'the same candidate may ask again');
    const later = h.request(vote(3, 2, 0, 0));
    assert.equal(later?.type === 'vote' && later.voteGranted, true, 'a new epoch, a new vote');
    assert.deepEqual(h.store.state, { epoch: 2, leaderId: -1, votedId: 3 });
  });

  it('keeps its vote across a restart', () => {
    const store = new MemoryQuorumStateStore();
    const first = new Harness(2, [1, 2, 3], { store });
    assert.equal((first.request(vote(1, 4, 0, 0)) as { voteGranted: boolean }).voteGranted, true);
    const restarted = new Harness(2, [1, 2, 3], { store });
    assert.equal(restarted.node.epoch, 4);
    const res = restarted.request(vote(3, 4, 0, 0));
    assert.equal(res?.type === 'vote' && res.voteGranted, false, 'no second vote in epoch 4 after a restart');
  });

  it('refuses a candidate whose log is behind', () => {
    const h = new Harness(2, [1, 2, 3], { image: { start: 0, entries: entries([1, 2], [2, 3]) } });
    const grant = (req: VoteRequest) => {
      const r = h.request(req);
      return r?.type === 'vote' && r.voteGranted;
    };
    assert.equal(grant(vote(1, 3, 1, 10)), false, 'a lower last epoch loses whatever its offset');
    assert.equal(grant(vote(1, 3, 2, 4)), false, 'same epoch, shorter log');
    assert.equal(grant(vote(1, 3, 2, 5)), true, 'same epoch, same length');
  });

  it('answers a stale epoch with FENCED_LEADER_EPOCH and who leads', () => {
    const h = new Harness(2, [1, 2, 3]);
    h.request({ type: 'beginQuorumEpoch', clusterId: 'test', leaderId: 3, leaderEpoch: 5, voterId: 2 });
    assert.equal(h.node.role, 'follower');
    const res = h.request(vote(1, 4, 9, 99));
    assert.deepEqual(res, {
      type: 'vote',
      errorCode: ErrorCode.FENCED_LEADER_EPOCH,
      leaderId: 3,
      leaderEpoch: 5,
      voteGranted: false,
    });
  });

  it('refuses pre-votes while it hears from its leader, and grants them once the leader resigns', () => {
    const h = new Harness(2, [1, 2, 3]);
    h.request({ type: 'beginQuorumEpoch', clusterId: 'test', leaderId: 1, leaderEpoch: 3, voterId: 2 });
    const before = h.request(vote(3, 4, 0, 0, true));
    assert.equal(before?.type === 'vote' && before.voteGranted, false, 'in touch with leader 1');
    assert.equal(h.node.epoch, 3, 'a pre-vote changes no epoch');
    h.request({ type: 'endQuorumEpoch', clusterId: 'test', leaderId: 1, leaderEpoch: 3, preferredSuccessors: [3, 2] });
    const after = h.request(vote(3, 4, 0, 0, true));
    assert.equal(after?.type === 'vote' && after.voteGranted, true);
    assert.equal(h.node.epoch, 3);
    assert.deepEqual(h.store.state, { epoch: 3, leaderId: 1, votedId: -1 }, 'and persists nothing for it');
  });

  it('an observer never votes or runs for election', () => {
    const h = new Harness(4, [1, 2, 3]);
    const res = h.request(vote(1, 1, 0, 0));
    assert.equal(res?.type === 'vote' && res.errorCode, ErrorCode.INCONSISTENT_VOTER_SET);
    h.poll(100 * TEST_CONFIG.fetchTimeoutMs);
    assert.equal(h.node.role, 'unattached');
    assert.equal(h.node.epoch, 0);
  });
});

describe('RaftNode replication', () => {
  it('commits only with a majority and only through a record of its own epoch', () => {
    // Node 1 has three uncommitted records from epoch 1 and wins epoch 2.
    const store = new MemoryQuorumStateStore();
    store.write({ epoch: 1, leaderId: -1, votedId: -1 });
    const h = new Harness(1, [1, 2, 3], { store, image: { start: 0, entries: entries([1, 3]) } });
    const preVotes = h.sends(h.flushAll(h.poll(TEST_CONFIG.electionTimeoutMs)));
    const votes = h.sends(h.respond(preVotes[0]!, voteGrant(1)));
    h.flushAll(h.respond(votes[0]!, voteGrant(2)));
    assert.equal(h.node.role, 'leader');
    assert.equal(h.node.epochStartOffset, 3);
    // Follower 2 holds the epoch-1 records: a majority has them, but they are not committed yet.
    h.request(fetchReq(2, 2, 3, 1));
    assert.equal(h.node.highWatermark, 0);
    // Once it has the LeaderChange record of epoch 2, everything up to it commits.
    const res = h.request(fetchReq(2, 2, 4, 2));
    assert.equal(h.node.highWatermark, 4);
    assert.equal(res?.type === 'fetch' && res.highWatermark, 4);
  });

  it('counts its own records only once they are flushed', () => {
    const h = electedLeader();
    h.request(fetchReq(2, 1, 1, 1));
    assert.equal(h.node.highWatermark, 1);
    h.node.append(10, h.now);
    h.request(fetchReq(2, 1, 2, 1));
    assert.equal(h.node.highWatermark, 1, 'the follower has it, the leader has not flushed it');
    h.flushAll(h.poll(TEST_CONFIG.appendLingerMs));
    assert.equal(h.node.highWatermark, 2);
  });

  it('tells a diverging follower where its log and the leader log part', () => {
    // Leader log: epoch 1 at [0, 2), epoch 3 at [2, 5).
    const store = new MemoryQuorumStateStore();
    store.write({ epoch: 3, leaderId: -1, votedId: -1 });
    const h = new Harness(1, [1, 2, 3], { store, image: { start: 0, entries: entries([1, 2], [3, 3]) } });
    const preVotes = h.sends(h.flushAll(h.poll(TEST_CONFIG.electionTimeoutMs)));
    const votes = h.sends(h.respond(preVotes[0]!, voteGrant(3)));
    h.flushAll(h.respond(votes[0]!, voteGrant(4)));
    assert.equal(h.node.role, 'leader');
    // The follower wrote epoch 2 records up to offset 4 that the leader never had.
    const res = h.request(fetchReq(2, 4, 4, 2)) as FetchResponse<SimRecords>;
    assert.deepEqual(res.divergingEpoch, { epoch: 1, endOffset: 2 });
    assert.equal(res.records, null);
    const ok = h.request(fetchReq(3, 4, 5, 3)) as FetchResponse<SimRecords>;
    assert.equal(ok.divergingEpoch, null);
    assert.deepEqual(
      ok.records?.map((e) => e.offset),
      [5],
      'a consistent follower gets the records after its offset',
    );
  });

  it('sends a follower below the log start to the snapshot', () => {
    const disk = new SimDisk();
    disk.snapshots.push({
      id: { endOffset: 5, epoch: 1 },
      bytes: encodeSimSnapshot({ endOffset: 5, epoch: 1 }, 1, 10),
    });
    const log = entries([1, 7]).slice(5);
    const h = new Harness(1, [1], { disk, image: { start: 5, entries: log } });
    h.flushAll();
    assert.equal(h.node.role, 'leader');
    assert.equal(h.node.highWatermark, 8);
    const res = h.request(fetchReq(4, 1, 2, 1)) as FetchResponse<SimRecords>;
    assert.deepEqual(res.snapshotId, { endOffset: 5, epoch: 1 });
    const chunk = h.request({
      type: 'fetchSnapshot',
      clusterId: 'test',
      replicaId: 4,
      currentLeaderEpoch: 1,
      snapshotId: { endOffset: 5, epoch: 1 },
      position: 4,
      maxBytes: 8,
    });
    assert.equal(chunk?.type, 'fetchSnapshot');
    if (chunk?.type === 'fetchSnapshot') {
      assert.equal(chunk.errorCode, ErrorCode.NONE);
      assert.equal(chunk.sizeBytes, 34);
      assert.equal(chunk.bytes.length, 8);
    }
    const missing = h.request({
      type: 'fetchSnapshot',
      clusterId: 'test',
      replicaId: 4,
      currentLeaderEpoch: 1,
      snapshotId: { endOffset: 3, epoch: 1 },
      position: 0,
      maxBytes: 8,
    });
    assert.equal(missing?.type === 'fetchSnapshot' && missing.errorCode, ErrorCode.SNAPSHOT_NOT_FOUND);
  });

  it('holds an idle fetch and answers it when a record is appended', () => {
    const h = electedLeader();
    const handle = h.requestHeld(fetchReq(2, 1, 1, 1, 40));
    assert.equal(h.take().filter((o) => o.type === 'respond').length, 0, 'nothing new: the fetch waits');
    h.node.append(42, h.now);
    const answer = h.take().find((o) => o.type === 'respond' && o.handle === handle);
    assert.ok(answer?.type === 'respond' && answer.response.type === 'fetch');
    assert.deepEqual(
      (answer.response as FetchResponse<SimRecords>).records?.map((e) => e.value),
      [42],
    );
    // An idle fetch is answered empty after its max wait.
    const idle = h.requestHeld(fetchReq(3, 1, 2, 1, 40));
    const timedOut = h.poll(40).find((o) => o.type === 'respond' && o.handle === idle);
    assert.ok(timedOut?.type === 'respond');
  });

  it('a follower acknowledges records (fetches again) only after flushing them', () => {
    const h = new Harness(2, [1, 2, 3]);
    h.request({ type: 'beginQuorumEpoch', clusterId: 'test', leaderId: 1, leaderEpoch: 1, voterId: 2 });
    const fetch = h.sends(h.take()).find((s) => s.request.type === 'fetch')!;
    assert.ok(fetch, 'the follower fetches from its leader');
    const out = h.respond(fetch, {
      type: 'fetch',
      errorCode: 0,
      leaderId: 1,
      leaderEpoch: 1,
      highWatermark: 1,
      logStartOffset: 0,
      divergingEpoch: null,
      snapshotId: null,
      records: [{ offset: 0, epoch: 1, kind: 'leader', value: 1 }],
    });
    assert.equal(h.log.endOffset(), 1);
    assert.equal(h.sends(out).length, 0, 'no fetch before the flush');
    assert.equal(h.node.highWatermark, 0, 'nothing applies before the flush');
    const after = h.flushAll(out);
    const next = h.sends(after).find((s) => s.request.type === 'fetch');
    assert.ok(next && next.request.type === 'fetch' && next.request.fetchOffset === 1);
    assert.equal(h.node.highWatermark, 1);
  });

  it('a follower truncates to the diverging point and commits nothing there', () => {
    const h = new Harness(2, [1, 2, 3], { image: { start: 0, entries: entries([1, 2], [2, 3]) } });
    h.flushAll();
    h.request({ type: 'beginQuorumEpoch', clusterId: 'test', leaderId: 1, leaderEpoch: 3, voterId: 2 });
    const fetch = h.sends(h.take()).find((s) => s.request.type === 'fetch')!;
    assert.equal(fetch.request.type === 'fetch' && fetch.request.lastFetchedEpoch, 2);
    h.respond(fetch, {
      type: 'fetch',
      errorCode: 0,
      leaderId: 1,
      leaderEpoch: 3,
      highWatermark: 6,
      logStartOffset: 0,
      divergingEpoch: { epoch: 1, endOffset: 2 },
      snapshotId: null,
      records: null,
    });
    assert.equal(h.log.endOffset(), 2, 'the epoch-2 records are gone');
    assert.equal(h.node.highWatermark, 0, 'the leader high watermark is not trusted before validation');
  });
});

describe('RaftNode failure handling', () => {
  it('check-quorum: a leader no majority fetches from resigns and tells the voters', () => {
    const h = electedLeader();
    h.request(fetchReq(2, 1, 1, 1));
    h.poll(TEST_CONFIG.fetchTimeoutMs - 1);
    assert.equal(h.node.role, 'leader', 'fetched from recently');
    const out = h.poll(TEST_CONFIG.fetchTimeoutMs);
    assert.equal(h.node.role, 'resigned');
    assert.deepEqual(
      h
        .sends(out)
        .filter((s) => s.request.type === 'endQuorumEpoch')
        .map((s) => s.destination)
        .sort(),
      [2, 3],
    );
    assert.equal(h.node.append(1, h.now), null, 'a resigned leader takes no writes');
  });

  it('a follower that stops hearing from its leader starts a pre-vote', () => {
    const h = new Harness(2, [1, 2, 3]);
    h.request({ type: 'beginQuorumEpoch', clusterId: 'test', leaderId: 1, leaderEpoch: 2, voterId: 2 });
    h.poll(TEST_CONFIG.fetchTimeoutMs - 1);
    assert.equal(h.node.role, 'follower');
    const out = h.poll(1);
    assert.equal(h.node.role, 'prospective');
    const preVotes = h.sends(out).filter((s) => s.request.type === 'vote');
    assert.ok(preVotes.length > 0 && preVotes.every((s) => (s.request as VoteRequest).preVote));
  });

  it('a leader that restarts comes back resigned and never leads that epoch again', () => {
    const store = new MemoryQuorumStateStore();
    store.write({ epoch: 4, leaderId: 1, votedId: 1 });
    const h = new Harness(1, [1, 2, 3], { store });
    assert.equal(h.node.role, 'resigned');
    assert.equal(h.node.epoch, 4);
    assert.ok(h.sends().some((s) => s.request.type === 'endQuorumEpoch'));
  });

  it('steps down on learning a later epoch from any answer', () => {
    const h = electedLeader();
    const pending = h.sends().find((s) => s.request.type === 'beginQuorumEpoch');
    assert.ok(pending, 'a BeginQuorumEpoch is outstanding');
    h.respond(pending, {
      type: 'beginQuorumEpoch',
      errorCode: ErrorCode.FENCED_LEADER_EPOCH,
      leaderId: 3,
      leaderEpoch: 7,
    });
    assert.equal(h.node.role, 'follower');
    assert.equal(h.node.epoch, 7);
    assert.equal(h.node.leaderId, 3);
    assert.deepEqual(h.store.state, { epoch: 7, leaderId: 3, votedId: -1 });
  });

  it('an observer finds the leader by fetching from a voter', () => {
    const h = new Harness(4, [1, 2, 3]);
    const fetch = h.sends().find((s) => s.request.type === 'fetch');
    assert.ok(fetch, 'an observer without a leader fetches from a bootstrap voter');
    const out = h.respond(fetch, {
      type: 'fetch',
      errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
      leaderId: 2,
      leaderEpoch: 3,
      highWatermark: -1,
      logStartOffset: -1,
      divergingEpoch: null,
      snapshotId: null,
      records: null,
    });
    assert.equal(h.node.role, 'follower');
    assert.equal(h.node.leaderId, 2);
    const next = h.sends(out).find((s) => s.request.type === 'fetch');
    assert.equal(next?.destination, 2);
  });

  it('rejects requests for another cluster', () => {
    const h = new Harness(2, [1, 2, 3]);
    const req: RaftRequest = { ...vote(1, 1, 0, 0), clusterId: 'other' };
    const res = h.request(req);
    assert.equal(res?.type === 'vote' && res.errorCode, ErrorCode.INCONSISTENT_CLUSTER_ID);
    assert.equal(h.node.epoch, 0);
  });
});
