// The classic group coordinator driven deterministically: a fake clock and timers, and an
// in-memory log standing in for `__consumer_offsets`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JoinResult, TimerHandle } from '../../src/coordinator/group/classic-group.js';
import {
  type CoordinatorLog,
  type CoordinatorRecordInput,
  GroupCoordinator,
  type GroupCoordinatorConfig,
  type JoinRequest,
  type Scheduler,
} from '../../src/coordinator/group/coordinator.js';
import { groupPartition, javaStringHash } from '../../src/coordinator/group/records.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';

class FakeScheduler implements Scheduler {
  private t = 1_000_000;
  private timers: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];
  private seq = 0;
  now(): number {
    return this.t;
  }
  schedule(delayMs: number, fn: () => void): TimerHandle {
    const timer = { at: this.t + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers
        .filter((x) => !x.cancelled && x.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      due.cancelled = true;
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
    this.timers = this.timers.filter((x) => !x.cancelled);
  }
}

class MemoryLog implements CoordinatorLog {
  readonly partitions = new Map<number, CoordinatorRecordInput[]>();
  failNext = 0;
  async append(partition: number, records: CoordinatorRecordInput[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
    const list = this.partitions.get(partition) ?? [];
    list.push(...records);
    this.partitions.set(partition, list);
  }
  *read(partition: number): Iterable<{ key: Buffer | null; value: Buffer | null }> {
    yield* this.partitions.get(partition) ?? [];
  }
}

const PARTITIONS = 4;
const cfg: GroupCoordinatorConfig = {
  minSessionTimeoutMs: 1000,
  maxSessionTimeoutMs: 60_000,
  initialRebalanceDelayMs: 300,
  maxGroupSize: 3,
  offsetMetadataMaxBytes: 100,
  offsetsRetentionMs: 3_600_000,
};

function setup(log = new MemoryLog()) {
  const sched = new FakeScheduler();
  const gc = new GroupCoordinator(cfg, log, () => PARTITIONS, sched);
  for (let p = 0; p < PARTITIONS; p++) gc.onElection(p);
  return { gc, sched, log };
}

const flush = () => new Promise((r) => setImmediate(r));

function joinReq(memberId: string, over: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: 'g',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 20_000,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('m') }],
    reason: null,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    apiVersion: 9,
    ...over,
  };
}

/** Runs the KIP-394 two-step join and returns the pending join promise. */
async function join(
  gc: GroupCoordinator,
  over: Partial<JoinRequest> = {},
): Promise<{ memberId: string; result: Promise<JoinResult> }> {
  const first = await gc.joinGroup(joinReq('', over));
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.ok(first.memberId.startsWith(`${over.groupInstanceId ?? 'c'}-`));
  return { memberId: first.memberId, result: gc.joinGroup(joinReq(first.memberId, over)) };
}

async function stableGroupOfTwo() {
  const env = setup();
  const a = await join(env.gc);
  const b = await join(env.gc);
  env.sched.advance(600); // the second member extended the initial delay once
  const [ja, jb] = await Promise.all([a.result, b.result]);
  const leader = ja.members.length > 0 ? ja : jb;
  const follower = leader === ja ? jb : ja;
  const followerSync = env.gc.syncGroup({
    groupId: 'g',
    generationId: follower.generationId,
    memberId: follower.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [],
  });
  const leaderSync = await env.gc.syncGroup({
    groupId: 'g',
    generationId: leader.generationId,
    memberId: leader.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [
      { memberId: leader.memberId, assignment: Buffer.from('A') },
      { memberId: follower.memberId, assignment: Buffer.from('B') },
    ],
  });
  return { ...env, leader, follower, leaderSync, followerSync: await followerSync };
}

describe('group coordinator', () => {
  it('maps group ids to partitions like Kafka (Java String.hashCode, abs, modulo)', () => {
    assert.equal(javaStringHash('hello'), 99162322);
    assert.equal(javaStringHash(''), 0);
    assert.equal(javaStringHash('polygenelubricants'), -2147483648);
    assert.equal(groupPartition('polygenelubricants', 50), 0, 'abs(MIN_VALUE) is 0');
    assert.equal(groupPartition('hello', 50), 99162322 % 50);
  });

  it('requires a member id first (KIP-394), waits the initial delay, then elects a leader', async () => {
    const { gc, sched } = setup();
    const a = await join(gc);
    const b = await join(gc);
    let settled = false;
    void Promise.all([a.result, b.result]).then(() => (settled = true));
    await flush();
    assert.equal(settled, false, 'the join waits for group.initial.rebalance.delay.ms');
    sched.advance(600); // the second member extended the initial delay once
    const [ja, jb] = await Promise.all([a.result, b.result]);
    assert.equal(ja.errorCode, 0);
    assert.equal(ja.generationId, 1);
    assert.equal(ja.protocolName, 'range');
    assert.equal(ja.leader, a.memberId, 'the first member leads');
    assert.deepEqual(
      ja.members.map((m) => m.memberId),
      [a.memberId, b.memberId],
    );
    assert.deepEqual(jb.members, [], 'followers get no member list');
    assert.equal(gc.groupState('g'), 'CompletingRebalance');
  });

  it('completes SyncGroup for everyone once the leader assigns, then serves heartbeats', async () => {
    const { gc, leader, follower, leaderSync, followerSync } = await stableGroupOfTwo();
    assert.equal(leaderSync.assignment.toString(), 'A');
    assert.equal(followerSync.assignment.toString(), 'B');
    assert.equal(gc.groupState('g'), 'Stable');
    assert.equal(gc.heartbeat('g', leader.memberId, null, 1), ErrorCode.NONE);
    assert.equal(gc.heartbeat('g', follower.memberId, null, 0), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(gc.heartbeat('g', 'nobody', null, 1), ErrorCode.UNKNOWN_MEMBER_ID);
    const late = await gc.syncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: follower.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    assert.equal(late.assignment.toString(), 'B', 'a sync in Stable returns the current assignment');
    const wrongProtocol = await gc.syncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: follower.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'roundrobin',
      assignments: [],
    });
    assert.equal(wrongProtocol.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('rebalances when a member leaves; the others see REBALANCE_IN_PROGRESS and rejoin', async () => {
    const { gc, sched, leader, follower } = await stableGroupOfTwo();
    const left = gc.leaveGroup('g', [{ memberId: follower.memberId, groupInstanceId: null, reason: 'bye' }]);
    assert.deepEqual(
      left.members.map((m) => m.errorCode),
      [0],
    );
    assert.equal(gc.groupState('g'), 'PreparingRebalance');
    assert.equal(gc.heartbeat('g', leader.memberId, null, 1), ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = await gc.joinGroup(joinReq(leader.memberId));
    assert.equal(rejoin.generationId, 2, 'only remaining member rejoined: the join completes at once');
    assert.deepEqual(
      rejoin.members.map((m) => m.memberId),
      [leader.memberId],
    );
    sched.advance(10);
    const unknown = gc.leaveGroup('g', [{ memberId: 'ghost', groupInstanceId: null, reason: null }]);
    assert.equal(unknown.members[0]?.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('expires a silent member after its session timeout and rebalances without it', async () => {
    const { gc, sched, leader, follower } = await stableGroupOfTwo();
    // The leader keeps heartbeating; the follower goes silent.
    for (let i = 0; i < 4; i++) {
      sched.advance(3000);
      gc.heartbeat('g', leader.memberId, null, 1);
    }
    assert.equal(gc.groupState('g'), 'PreparingRebalance');
    assert.equal(gc.heartbeat('g', follower.memberId, null, 1), ErrorCode.UNKNOWN_MEMBER_ID);
    const rejoin = await gc.joinGroup(joinReq(leader.memberId));
    assert.deepEqual(
      rejoin.members.map((m) => m.memberId),
      [leader.memberId],
    );
  });

  it('removes members that do not rejoin within the rebalance timeout', async () => {
    const { gc, sched, leader, follower } = await stableGroupOfTwo();
    const pending = gc.joinGroup(
      joinReq(leader.memberId, { protocols: [{ name: 'range', metadata: Buffer.from('changed') }] }),
    );
    // The follower heartbeats (so its session stays alive) but never rejoins.
    for (let t = 0; t < 20_000; t += 5000) {
      sched.advance(5000);
      gc.heartbeat('g', follower.memberId, null, 1);
    }
    const r = await pending;
    assert.equal(r.generationId, 2);
    assert.deepEqual(
      r.members.map((m) => m.memberId),
      [leader.memberId],
    );
  });

  it('fences the old incarnation of a static member and skips the rebalance when it rejoins', async () => {
    const { gc, sched } = setup();
    // Static members join directly, without MEMBER_ID_REQUIRED.
    const pa = gc.joinGroup(joinReq('', { groupInstanceId: 'inst-a' }));
    const pb = gc.joinGroup(joinReq('', { groupInstanceId: 'inst-b' }));
    sched.advance(600); // the second member extended the initial delay once
    const [ja, jb] = await Promise.all([pa, pb]);
    assert.equal(gc.groupState('g'), 'CompletingRebalance');
    const leaderId = ja.memberId;
    const followerId = jb.memberId;
    assert.equal(ja.leader, leaderId);
    const followerSync = gc.syncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: followerId,
      groupInstanceId: 'inst-b',
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    await gc.syncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: leaderId,
      groupInstanceId: 'inst-a',
      protocolType: null,
      protocolName: null,
      assignments: [
        { memberId: leaderId, assignment: Buffer.from('A') },
        { memberId: followerId, assignment: Buffer.from('B') },
      ],
    });
    await followerSync;
    assert.equal(gc.groupState('g'), 'Stable');
    // inst-b restarts: it joins without a member id.
    const again = await gc.joinGroup(joinReq('', { groupInstanceId: 'inst-b' }));
    assert.equal(again.errorCode, 0);
    assert.equal(again.generationId, 1, 'no new generation');
    assert.notEqual(again.memberId, followerId);
    assert.equal(gc.groupState('g'), 'Stable');
    const sync = await gc.syncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: again.memberId,
      groupInstanceId: 'inst-b',
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    assert.equal(sync.assignment.toString(), 'B', 'the restarted member keeps its assignment');
    assert.equal(gc.heartbeat('g', followerId, 'inst-b', 1), ErrorCode.FENCED_INSTANCE_ID);
    const fencedJoin = await gc.joinGroup(joinReq(followerId, { groupInstanceId: 'inst-b' }));
    assert.equal(fencedJoin.errorCode, ErrorCode.FENCED_INSTANCE_ID);
  });

  for (const apiVersion of [8, 9]) {
    it(`lets a static leader rejoin a stable group without a rebalance (JoinGroup v${apiVersion})`, async () => {
      const { gc, sched } = setup();
      const pa = gc.joinGroup(joinReq('', { groupInstanceId: 'inst-a', apiVersion }));
      const pb = gc.joinGroup(joinReq('', { groupInstanceId: 'inst-b', apiVersion }));
      sched.advance(600);
      const [ja, jb] = await Promise.all([pa, pb]);
      const oldLeaderId = ja.leader;
      const leaderIsA = oldLeaderId === ja.memberId;
      const leader = leaderIsA ? { id: ja.memberId, inst: 'inst-a' } : { id: jb.memberId, inst: 'inst-b' };
      const follower = leaderIsA ? { id: jb.memberId, inst: 'inst-b' } : { id: ja.memberId, inst: 'inst-a' };
      const followerSync = gc.syncGroup({
        groupId: 'g',
        generationId: 1,
        memberId: follower.id,
        groupInstanceId: follower.inst,
        protocolType: null,
        protocolName: null,
        assignments: [],
      });
      await gc.syncGroup({
        groupId: 'g',
        generationId: 1,
        memberId: leader.id,
        groupInstanceId: leader.inst,
        protocolType: null,
        protocolName: null,
        assignments: [
          { memberId: leader.id, assignment: Buffer.from('L') },
          { memberId: follower.id, assignment: Buffer.from('F') },
        ],
      });
      await followerSync;
      assert.equal(gc.groupState('g'), 'Stable');
      // The leader restarts under the same group.instance.id.
      const again = await gc.joinGroup(joinReq('', { groupInstanceId: leader.inst, apiVersion }));
      assert.equal(again.errorCode, 0);
      assert.equal(again.generationId, 1, 'no new generation');
      assert.equal(gc.groupState('g'), 'Stable', 'no rebalance');
      assert.notEqual(again.memberId, leader.id);
      if (apiVersion < 9) {
        // Without SkipAssignment the old leader id comes back, so the member acts as a follower
        // and runs no assignment.
        assert.equal(again.leader, oldLeaderId);
        assert.deepEqual(again.members, []);
      } else {
        assert.equal(again.leader, again.memberId);
        assert.equal(again.skipAssignment, true);
        assert.equal(again.members.length, 2);
      }
      const sync = await gc.syncGroup({
        groupId: 'g',
        generationId: 1,
        memberId: again.memberId,
        groupInstanceId: leader.inst,
        protocolType: null,
        protocolName: null,
        assignments: [],
      });
      assert.equal(sync.assignment.toString(), 'L', 'the restarted leader keeps its assignment');
      assert.equal(gc.heartbeat('g', follower.id, follower.inst, 1), ErrorCode.NONE, 'the follower is undisturbed');
    });
  }

  it('validates joins: session timeout bounds, protocols, group size, coordinator ownership', async () => {
    const { gc } = setup();
    assert.equal(
      (await gc.joinGroup(joinReq('', { sessionTimeoutMs: 10 }))).errorCode,
      ErrorCode.INVALID_SESSION_TIMEOUT,
    );
    assert.equal(
      (await gc.joinGroup(joinReq('', { sessionTimeoutMs: 90_000 }))).errorCode,
      ErrorCode.INVALID_SESSION_TIMEOUT,
    );
    assert.equal((await gc.joinGroup(joinReq('', { protocols: [] }))).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal((await gc.joinGroup(joinReq('', { groupId: '' }))).errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal((await gc.joinGroup(joinReq('someone-unknown'))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    for (let i = 0; i < 3; i++) await join(gc);
    assert.equal((await gc.joinGroup(joinReq(''))).errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
    const other = await gc.joinGroup(
      joinReq('', { groupId: 'h', protocols: [{ name: 'x', metadata: Buffer.alloc(0) }] }),
    );
    assert.equal(other.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    gc.onResignation(groupPartition('h', PARTITIONS));
    assert.equal((await gc.joinGroup(joinReq('', { groupId: 'h' }))).errorCode, ErrorCode.NOT_COORDINATOR);
  });

  it('selects the protocol all members support, by member preference', async () => {
    const { gc, sched } = setup();
    const a = await join(gc, {
      protocols: [
        { name: 'cooperative-sticky', metadata: Buffer.from('1') },
        { name: 'range', metadata: Buffer.from('2') },
      ],
    });
    const b = await join(gc, {
      protocols: [
        { name: 'range', metadata: Buffer.from('3') },
        { name: 'cooperative-sticky', metadata: Buffer.from('4') },
      ],
    });
    const c = await join(gc, { protocols: [{ name: 'range', metadata: Buffer.from('5') }] });
    sched.advance(600); // the second member extended the initial delay once
    const [ra] = await Promise.all([a.result, b.result, c.result]);
    assert.equal(ra.protocolName, 'range');
    assert.deepEqual(
      ra.members.map((m) => m.metadata.toString()),
      ['2', '3', '5'],
    );
    const d = await gc.joinGroup(joinReq('', { protocols: [{ name: 'roundrobin', metadata: Buffer.alloc(0) }] }));
    assert.equal(d.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('commits and fetches offsets, with generation checks and simple (groupless) commits', async () => {
    const { gc, leader } = await stableGroupOfTwo();
    const ok = await gc.commitOffsets('g', leader.memberId, null, 1, [
      { name: 't', partitions: [{ partition: 0, offset: 42, leaderEpoch: 3, metadata: 'meta' }] },
    ]);
    assert.equal(ok[0]?.partitions[0]?.errorCode, 0);
    const stale = await gc.commitOffsets('g', leader.memberId, null, 0, [
      { name: 't', partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] },
    ]);
    assert.equal(stale[0]?.partitions[0]?.errorCode, ErrorCode.ILLEGAL_GENERATION);
    const tooBig = await gc.commitOffsets('g', leader.memberId, null, 1, [
      { name: 't', partitions: [{ partition: 1, offset: 1, leaderEpoch: -1, metadata: 'x'.repeat(101) }] },
    ]);
    assert.equal(tooBig[0]?.partitions[0]?.errorCode, ErrorCode.OFFSET_METADATA_TOO_LARGE);
    const fetched = gc.fetchOffsets('g', [{ name: 't', partitionIndexes: [0, 1] }]);
    assert.deepEqual(
      fetched.topics[0]?.partitions.map((p) => [
        p.partitionIndex,
        p.committedOffset,
        p.committedLeaderEpoch,
        p.metadata,
      ]),
      [
        [0, 42, 3, 'meta'],
        [1, -1, -1, ''],
      ],
    );
    const simple = await gc.commitOffsets('standalone', '', null, -1, [
      { name: 't', partitions: [{ partition: 2, offset: 7, leaderEpoch: -1, metadata: null }] },
    ]);
    assert.equal(simple[0]?.partitions[0]?.errorCode, 0);
    assert.equal(gc.fetchOffsets('standalone', null).topics[0]?.partitions[0]?.committedOffset, 7);
    const noGroup = await gc.commitOffsets('missing', 'm', null, 5, [
      { name: 't', partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] },
    ]);
    assert.equal(noGroup[0]?.partitions[0]?.errorCode, ErrorCode.ILLEGAL_GENERATION);
  });

  it('maps a failed append to NOT_COORDINATOR and keeps the old offset', async () => {
    const { gc, log, leader } = await stableGroupOfTwo();
    await gc.commitOffsets('g', leader.memberId, null, 1, [
      { name: 't', partitions: [{ partition: 0, offset: 5, leaderEpoch: -1, metadata: null }] },
    ]);
    log.failNext = 1;
    const r = await gc.commitOffsets('g', leader.memberId, null, 1, [
      { name: 't', partitions: [{ partition: 0, offset: 9, leaderEpoch: -1, metadata: null }] },
    ]);
    assert.equal(r[0]?.partitions[0]?.errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal(
      gc.fetchOffsets('g', [{ name: 't', partitionIndexes: [0] }]).topics[0]?.partitions[0]?.committedOffset,
      5,
    );
  });

  it('reloads groups and offsets from the log, honouring tombstones', async () => {
    const { gc, log, leader } = await stableGroupOfTwo();
    await gc.commitOffsets('g', leader.memberId, null, 1, [
      { name: 't', partitions: [{ partition: 0, offset: 11, leaderEpoch: -1, metadata: 'x' }] },
    ]);
    await gc.commitOffsets('gone', '', null, -1, [
      { name: 't', partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] },
    ]);
    assert.deepEqual(await gc.deleteGroups(['gone', 'g', 'nope']), [
      { groupId: 'gone', errorCode: 0 },
      { groupId: 'g', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'nope', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    const restarted = setup(log);
    assert.equal(restarted.gc.groupState('g'), 'Stable');
    assert.equal(restarted.gc.groupState('gone'), null);
    const d = restarted.gc.describeGroup('g');
    assert.equal(d.members.length, 2);
    assert.equal(d.protocolData, 'range');
    assert.deepEqual(d.members.map((m) => m.assignment.toString()).sort(), ['A', 'B']);
    assert.equal(
      restarted.gc.fetchOffsets('g', [{ name: 't', partitionIndexes: [0] }]).topics[0]?.partitions[0]?.committedOffset,
      11,
    );
    // Reloaded members must heartbeat within their session or be removed: one keeps
    // heartbeating, the other is dropped and a rebalance starts.
    const [m1] = d.members;
    restarted.sched.advance(6000);
    assert.equal(restarted.gc.heartbeat('g', m1?.memberId ?? '', null, 1), ErrorCode.NONE);
    restarted.sched.advance(4001);
    assert.equal(restarted.gc.groupState('g'), 'PreparingRebalance');
    assert.equal(restarted.gc.heartbeat('g', m1?.memberId ?? '', null, 1), ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('expires offsets of groups empty for longer than offsets.retention', async () => {
    const { gc, sched } = setup();
    await gc.commitOffsets('old', '', null, -1, [
      { name: 't', partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] },
    ]);
    assert.equal(await gc.expireOffsets(), 0);
    sched.advance(3_600_000);
    assert.equal(await gc.expireOffsets(), 1);
    assert.equal(gc.groupState('old'), null);
    assert.equal(
      gc.fetchOffsets('old', [{ name: 't', partitionIndexes: [0] }]).topics[0]?.partitions[0]?.committedOffset,
      -1,
    );
  });

  it('lists groups with state filters and describes members', async () => {
    const { gc } = await stableGroupOfTwo();
    await gc.commitOffsets('empty-one', '', null, -1, [
      { name: 't', partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] },
    ]);
    assert.deepEqual(
      gc
        .listGroups([], [])
        .map((g) => [g.groupId, g.state])
        .sort(),
      [
        ['empty-one', 'Empty'],
        ['g', 'Stable'],
      ],
    );
    assert.deepEqual(
      gc.listGroups(['Stable'], []).map((g) => g.groupId),
      ['g'],
    );
    assert.deepEqual(gc.listGroups([], ['consumer']), []);
    const d = gc.describeGroup('g');
    assert.equal(d.state, 'Stable');
    assert.equal(d.members[0]?.clientHost, '/127.0.0.1');
    assert.equal(gc.describeGroup('unknown').state, 'Dead');
  });
});
