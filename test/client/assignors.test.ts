import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  commonRebalanceProtocol,
  cooperativeStickyAssignor,
  decodeAssignment,
  decodeStickyUserData,
  decodeSubscription,
  encodeAssignment,
  encodeStickyUserData,
  encodeSubscription,
  type GroupAssignment,
  type MemberSubscription,
  rangeAssignor,
  roundRobinAssignor,
  stickyAssignor,
  type TopicPartition,
} from '../../src/client/consumer/assignors.js';

const member = (
  memberId: string,
  topics: string[],
  owned: TopicPartition[] = [],
  generationId = -1,
): MemberSubscription => ({
  memberId,
  groupInstanceId: null,
  topics,
  userData: null,
  ownedPartitions: owned,
  generationId,
  rackId: null,
});
const fmt = (a: GroupAssignment): Record<string, string[]> =>
  Object.fromEntries([...a].map(([m, tps]) => [m, tps.map((tp) => `${tp.topic}-${tp.partition}`)]));
const counts = (o: Record<string, number>): { partitionCounts: Map<string, number> } => ({
  partitionCounts: new Map(Object.entries(o)),
});

describe('range assignor', () => {
  it('splits each topic into consecutive ranges, extra partitions to the first members', () => {
    // Java's RangeAssignor documentation example: 2 consumers, 2 topics of 3 partitions.
    const a = rangeAssignor.assign([member('C0', ['t0', 't1']), member('C1', ['t0', 't1'])], counts({ t0: 3, t1: 3 }));
    assert.deepEqual(fmt(a), { C0: ['t0-0', 't0-1', 't1-0', 't1-1'], C1: ['t0-2', 't1-2'] });
  });

  it('only assigns topics to members subscribed to them', () => {
    const a = rangeAssignor.assign([member('a', ['x']), member('b', ['x', 'y'])], counts({ x: 2, y: 2 }));
    assert.deepEqual(fmt(a), { a: ['x-0'], b: ['x-1', 'y-0', 'y-1'] });
  });
});

describe('roundrobin assignor', () => {
  it('deals partitions of all topics in turn', () => {
    // Java's RoundRobinAssignor documentation example.
    const a = roundRobinAssignor.assign(
      [member('C0', ['t0', 't1']), member('C1', ['t0', 't1'])],
      counts({ t0: 3, t1: 3 }),
    );
    assert.deepEqual(fmt(a), { C0: ['t0-0', 't0-2', 't1-1'], C1: ['t0-1', 't1-0', 't1-2'] });
  });
});

const arbGroup = fc
  .record({
    topics: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 1, max: 8 }), { minKeys: 1 }),
    members: fc.integer({ min: 1, max: 6 }),
    seed: fc.integer(),
  })
  .map(({ topics, members, seed }) => {
    const names = Object.keys(topics);
    const subs = Array.from({ length: members }, (_, i) => {
      // Everyone subscribes to the first topic; others vary by member.
      const mine = names.filter((_, j) => j === 0 || ((seed >> (i + j)) & 1) === 1);
      return member(`m${i}`, mine);
    });
    return { topics, subs };
  });

function checkValid(a: GroupAssignment, subs: MemberSubscription[], topics: Record<string, number>): void {
  const seen = new Set<string>();
  for (const [m, tps] of a) {
    const sub = subs.find((s) => s.memberId === m) as MemberSubscription;
    for (const tp of tps) {
      const k = `${tp.topic}-${tp.partition}`;
      assert.ok(!seen.has(k), `${k} assigned twice`);
      seen.add(k);
      assert.ok(sub.topics.includes(tp.topic), `${m} got ${k} without subscribing`);
    }
  }
  const subscribed = new Set(subs.flatMap((s) => s.topics));
  for (const [t, n] of Object.entries(topics)) {
    if (!subscribed.has(t)) continue;
    for (let p = 0; p < n; p++) assert.ok(seen.has(`${t}-${p}`), `${t}-${p} unassigned`);
  }
}

describe('sticky assignors', () => {
  it('produce valid assignments, balanced when subscriptions are equal', () => {
    fc.assert(
      fc.property(arbGroup, ({ topics, subs }) => {
        for (const assignor of [stickyAssignor, cooperativeStickyAssignor, rangeAssignor, roundRobinAssignor]) {
          const a = assignor.assign(subs, counts(topics));
          checkValid(a, subs, topics);
        }
        const equal = subs.map((s) => member(s.memberId, Object.keys(topics)));
        const a = stickyAssignor.assign(equal, counts(topics));
        const sizes = [...a.values()].map((l) => l.length);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `unbalanced ${sizes}`);
      }),
      { numRuns: 200 },
    );
  });

  it('keep partitions with their owners when a member joins (only the newcomer share moves)', () => {
    const topics = { t: 6 };
    const first = stickyAssignor.assign([member('a', ['t']), member('b', ['t'])], counts(topics));
    const owned = (m: string): TopicPartition[] => first.get(m) as TopicPartition[];
    const second = cooperativeStickyAssignor.assign(
      [member('a', ['t'], owned('a'), 1), member('b', ['t'], owned('b'), 1), member('c', ['t'])],
      counts(topics),
    );
    // Cooperative: partitions moving to c are first revoked (left out), nothing else moves.
    const kept = [...(second.get('a') ?? []), ...(second.get('b') ?? [])].length;
    assert.equal(kept, 4);
    assert.deepEqual(second.get('c'), []);
    for (const tp of second.get('a') ?? []) assert.ok(owned('a').some((o) => o.partition === tp.partition));
    // Next round, after a and b revoked the two partitions: c gets them.
    const third = cooperativeStickyAssignor.assign(
      [member('a', ['t'], second.get('a'), 2), member('b', ['t'], second.get('b'), 2), member('c', ['t'], [], 2)],
      counts(topics),
    );
    assert.deepEqual(
      [...third.values()].map((l) => l.length),
      [2, 2, 2],
    );
    assert.deepEqual(third.get('a'), second.get('a'));
  });

  it('eager sticky uses the previous assignment carried in user data', () => {
    const prevA = [
      { topic: 't', partition: 3 },
      { topic: 't', partition: 4 },
    ];
    const ud = encodeStickyUserData(prevA, 5);
    assert.deepEqual(decodeStickyUserData(ud), { partitions: prevA, generationId: 5 });
    const a = stickyAssignor.assign(
      [{ ...member('a', ['t']), userData: ud }, member('b', ['t'])],
      counts({ t: 4 + 1 }),
    );
    assert.ok((a.get('a') ?? []).some((tp) => tp.partition === 3));
    assert.ok((a.get('a') ?? []).some((tp) => tp.partition === 4));
  });

  it('resolve conflicting claims in favour of the newer generation', () => {
    const a = cooperativeStickyAssignor.assign(
      [
        member('old', ['t'], [{ topic: 't', partition: 0 }], 1),
        member('new', ['t'], [{ topic: 't', partition: 0 }], 2),
      ],
      counts({ t: 2 }),
    );
    assert.deepEqual(fmt(a), { new: ['t-0'], old: ['t-1'] });
  });
});

describe('consumer protocol encodings', () => {
  it('round-trip subscriptions and assignments', () => {
    const sub = encodeSubscription({
      topics: ['b', 'a'],
      userData: Buffer.from('ud'),
      ownedPartitions: [
        { topic: 'a', partition: 1 },
        { topic: 'a', partition: 0 },
      ],
      generationId: 7,
      rackId: 'r1',
    });
    assert.equal(sub.readInt16BE(0), 3);
    assert.deepEqual(decodeSubscription(sub), {
      topics: ['a', 'b'],
      userData: Buffer.from('ud'),
      ownedPartitions: [
        { topic: 'a', partition: 0 },
        { topic: 'a', partition: 1 },
      ],
      generationId: 7,
      rackId: 'r1',
    });
    const asg = encodeAssignment([
      { topic: 'x', partition: 2 },
      { topic: 'w', partition: 0 },
    ]);
    assert.deepEqual(decodeAssignment(asg).partitions, [
      { topic: 'w', partition: 0 },
      { topic: 'x', partition: 2 },
    ]);
    assert.deepEqual(decodeAssignment(Buffer.alloc(0)).partitions, []);
  });

  it('reads a v0 subscription (older clients) and ignores fields from newer versions', () => {
    const v0 = Buffer.concat([
      Buffer.from([0, 0]), // version 0
      Buffer.from([0, 0, 0, 1, 0, 1, 0x74]), // topics: ["t"]
      Buffer.from([0xff, 0xff, 0xff, 0xff]), // userData: null
    ]);
    assert.deepEqual(decodeSubscription(v0).topics, ['t']);
    const v9 = Buffer.from(
      encodeSubscription({ topics: ['t'], userData: null, ownedPartitions: [], generationId: 1, rackId: null }),
    );
    v9.writeInt16BE(9, 0);
    assert.deepEqual(decodeSubscription(Buffer.concat([v9, Buffer.from([1, 2, 3])])).topics, ['t']);
  });

  it('uses cooperative rebalancing only when every assignor supports it', () => {
    assert.equal(commonRebalanceProtocol([cooperativeStickyAssignor]), 'cooperative');
    assert.equal(commonRebalanceProtocol([rangeAssignor, cooperativeStickyAssignor]), 'eager');
    assert.equal(commonRebalanceProtocol([stickyAssignor]), 'eager');
  });
});
