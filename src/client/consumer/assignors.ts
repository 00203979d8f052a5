// Partition assignors for the classic consumer group protocol: range, roundrobin, sticky and
// cooperative-sticky, with the consumer protocol's subscription/assignment encodings.
import { Reader, Writer } from '../../protocol/codec.js';
import {
  type ConsumerProtocolAssignment,
  decodeConsumerProtocolAssignment,
  encodeConsumerProtocolAssignment,
} from '../../protocol/generated/data/consumer-protocol-assignment.js';
import {
  type ConsumerProtocolSubscription,
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolSubscription,
} from '../../protocol/generated/data/consumer-protocol-subscription.js';

export type RebalanceProtocol = 'eager' | 'cooperative';

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** One member's subscription as the group leader sees it. */
export interface MemberSubscription {
  memberId: string;
  groupInstanceId: string | null;
  topics: string[];
  userData: Buffer | null;
  ownedPartitions: TopicPartition[];
  generationId: number;
  rackId: string | null;
}

/** Partitions per member id. */
export type GroupAssignment = Map<string, TopicPartition[]>;

export interface AssignContext {
  /** Partition count per topic (topics without metadata are absent). */
  partitionCounts: ReadonlyMap<string, number>;
}

export interface Assignor {
  /** Protocol name sent in JoinGroup; must match other clients' names to interoperate. */
  readonly name: string;
  /** Rebalance protocols this assignor works with. */
  readonly protocols: readonly RebalanceProtocol[];
  /** Extra bytes for this member's subscription (e.g. the eager sticky assignor's history). */
  userData?(state: { assignment: readonly TopicPartition[]; generationId: number }): Buffer | null;
  assign(members: readonly MemberSubscription[], ctx: AssignContext): GroupAssignment;
}

const SUBSCRIPTION_VERSION = 3;
const ASSIGNMENT_VERSION = 3;

/** Groups partitions by topic, sorted, in the wire shape. */
export function groupByTopic(tps: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const m = new Map<string, number[]>();
  for (const tp of tps) {
    let l = m.get(tp.topic);
    if (l === undefined) {
      l = [];
      m.set(tp.topic, l);
    }
    l.push(tp.partition);
  }
  return [...m.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
}

function flatten(groups: readonly { topic: string; partitions: readonly number[] }[]): TopicPartition[] {
  const out: TopicPartition[] = [];
  for (const g of groups) for (const partition of g.partitions) out.push({ topic: g.topic, partition });
  return out;
}

export function encodeSubscription(s: {
  topics: readonly string[];
  userData: Buffer | null;
  ownedPartitions: readonly TopicPartition[];
  generationId: number;
  rackId: string | null;
}): Buffer {
  const w = new Writer(64);
  w.int16(SUBSCRIPTION_VERSION);
  encodeConsumerProtocolSubscription(
    w,
    {
      topics: [...s.topics].sort(),
      userData: s.userData,
      ownedPartitions: groupByTopic(s.ownedPartitions),
      generationId: s.generationId,
      rackId: s.rackId,
    },
    SUBSCRIPTION_VERSION,
  );
  return w.finish();
}

/** Decodes a member's subscription; newer versions only append fields, so we read what we know. */
export function decodeSubscription(buf: Buffer): Omit<MemberSubscription, 'memberId' | 'groupInstanceId'> {
  const r = new Reader(buf);
  const version = Math.min(r.int16(), SUBSCRIPTION_VERSION);
  const s: ConsumerProtocolSubscription = decodeConsumerProtocolSubscription(r, Math.max(0, version));
  return {
    topics: s.topics,
    userData: s.userData,
    ownedPartitions: flatten(s.ownedPartitions),
    generationId: s.generationId,
    rackId: s.rackId,
  };
}

export function encodeAssignment(tps: readonly TopicPartition[], userData: Buffer | null = null): Buffer {
  const w = new Writer(64);
  w.int16(ASSIGNMENT_VERSION);
  encodeConsumerProtocolAssignment(w, { assignedPartitions: groupByTopic(tps), userData }, ASSIGNMENT_VERSION);
  return w.finish();
}

export function decodeAssignment(buf: Buffer): { partitions: TopicPartition[]; userData: Buffer | null } {
  // An empty assignment (e.g. from a leader that had nothing for us) is valid.
  if (buf.length === 0) return { partitions: [], userData: null };
  const r = new Reader(buf);
  const version = Math.min(r.int16(), ASSIGNMENT_VERSION);
  const a: ConsumerProtocolAssignment = decodeConsumerProtocolAssignment(r, Math.max(0, version));
  return { partitions: flatten(a.assignedPartitions), userData: a.userData };
}

function byId(a: MemberSubscription, b: MemberSubscription): number {
  // Static members sort by instance id so their assignment survives restarts (as Java does).
  const ka = a.groupInstanceId ?? a.memberId;
  const kb = b.groupInstanceId ?? b.memberId;
  return ka < kb ? -1 : ka > kb ? 1 : a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

function emptyAssignment(members: readonly MemberSubscription[]): GroupAssignment {
  const out: GroupAssignment = new Map();
  for (const m of members) out.set(m.memberId, []);
  return out;
}

function sortedTopics(members: readonly MemberSubscription[], ctx: AssignContext): string[] {
  const set = new Set<string>();
  for (const m of members) for (const t of m.topics) if ((ctx.partitionCounts.get(t) ?? 0) > 0) set.add(t);
  return [...set].sort();
}

/** Per topic, consecutive partition ranges to members in order; the first ones get one extra. */
export const rangeAssignor: Assignor = {
  name: 'range',
  protocols: ['eager'],
  assign(members, ctx) {
    const out = emptyAssignment(members);
    for (const topic of sortedTopics(members, ctx)) {
      const count = ctx.partitionCounts.get(topic) as number;
      const subs = members.filter((m) => m.topics.includes(topic)).sort(byId);
      const per = Math.floor(count / subs.length);
      const extra = count % subs.length;
      subs.forEach((m, i) => {
        const start = per * i + Math.min(i, extra);
        const length = per + (i < extra ? 1 : 0);
        const list = out.get(m.memberId) as TopicPartition[];
        for (let p = start; p < start + length; p++) list.push({ topic, partition: p });
      });
    }
    return out;
  },
};

/** All partitions in topic order dealt out one by one to the members subscribed to them. */
export const roundRobinAssignor: Assignor = {
  name: 'roundrobin',
  protocols: ['eager'],
  assign(members, ctx) {
    const out = emptyAssignment(members);
    const sorted = [...members].sort(byId);
    let next = 0;
    for (const topic of sortedTopics(members, ctx)) {
      const count = ctx.partitionCounts.get(topic) as number;
      for (let p = 0; p < count; p++) {
        for (let tries = 0; tries < sorted.length; tries++) {
          const m = sorted[next % sorted.length] as MemberSubscription;
          next++;
          if (m.topics.includes(topic)) {
            (out.get(m.memberId) as TopicPartition[]).push({ topic, partition: p });
            break;
          }
        }
      }
    }
    return out;
  },
};

const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

/**
 * A balanced assignment that keeps as many partitions as possible with their previous owners:
 * keep valid owned partitions (the newest generation wins a conflict), hand out the rest to
 * the least loaded eligible member, then move partitions from the most to the least loaded
 * members until no move improves the balance.
 */
export function stickyAssign(
  members: readonly MemberSubscription[],
  ctx: AssignContext,
  previous: ReadonlyMap<string, { partitions: readonly TopicPartition[]; generationId: number }>,
): GroupAssignment {
  const sorted = [...members].sort(byId);
  const all: TopicPartition[] = [];
  for (const topic of sortedTopics(members, ctx)) {
    const count = ctx.partitionCounts.get(topic) as number;
    for (let p = 0; p < count; p++) all.push({ topic, partition: p });
  }
  const eligible = new Map<string, MemberSubscription[]>();
  for (const tp of all)
    eligible.set(
      tpKey(tp),
      sorted.filter((m) => m.topics.includes(tp.topic)),
    );

  // 1. Claims from previous ownership; on conflict the higher generation keeps it.
  const claim = new Map<string, { memberId: string; generationId: number }>();
  for (const m of sorted) {
    const prev = previous.get(m.memberId);
    if (!prev) continue;
    for (const tp of prev.partitions) {
      const k = tpKey(tp);
      if (!eligible.get(k)?.some((e) => e.memberId === m.memberId)) continue;
      const cur = claim.get(k);
      if (cur === undefined || prev.generationId > cur.generationId)
        claim.set(k, { memberId: m.memberId, generationId: prev.generationId });
    }
  }
  const owned = new Map<string, TopicPartition[]>();
  for (const m of sorted) owned.set(m.memberId, []);
  const ownerOf = new Map<string, string>();
  for (const tp of all) {
    const c = claim.get(tpKey(tp));
    if (c) {
      (owned.get(c.memberId) as TopicPartition[]).push(tp);
      ownerOf.set(tpKey(tp), c.memberId);
    }
  }
  // 2. With identical subscriptions, nobody may keep more than ceil(P/M); trim the excess.
  const identical = sorted.every((m) => sameTopics(m.topics, (sorted[0] as MemberSubscription).topics));
  if (identical && sorted.length > 0) {
    const maxQuota = Math.ceil(all.length / sorted.length);
    for (const m of sorted) {
      const list = owned.get(m.memberId) as TopicPartition[];
      while (list.length > maxQuota) ownerOf.delete(tpKey(list.pop() as TopicPartition));
    }
  }
  // 3. Unowned partitions go to the eligible member with the fewest.
  for (const tp of all) {
    const k = tpKey(tp);
    if (ownerOf.has(k)) continue;
    let best: MemberSubscription | undefined;
    for (const m of eligible.get(k) as MemberSubscription[]) {
      if (
        best === undefined ||
        (owned.get(m.memberId) as TopicPartition[]).length < (owned.get(best.memberId) as TopicPartition[]).length
      )
        best = m;
    }
    if (best === undefined) continue;
    (owned.get(best.memberId) as TopicPartition[]).push(tp);
    ownerOf.set(k, best.memberId);
  }
  // 4. Rebalance: move a partition from a member with at least two more than an eligible receiver.
  for (let moved = true, rounds = 0; moved && rounds < all.length * 2 + 10; rounds++) {
    moved = false;
    const byLoad = [...sorted].sort(
      (a, b) => (owned.get(b.memberId) as TopicPartition[]).length - (owned.get(a.memberId) as TopicPartition[]).length,
    );
    outer: for (const giver of byLoad) {
      const list = owned.get(giver.memberId) as TopicPartition[];
      for (let i = list.length - 1; i >= 0; i--) {
        const tp = list[i] as TopicPartition;
        let receiver: MemberSubscription | undefined;
        for (const m of eligible.get(tpKey(tp)) as MemberSubscription[]) {
          const n = (owned.get(m.memberId) as TopicPartition[]).length;
          if (
            n + 1 < list.length &&
            (receiver === undefined || n < (owned.get(receiver.memberId) as TopicPartition[]).length)
          )
            receiver = m;
        }
        if (receiver) {
          list.splice(i, 1);
          (owned.get(receiver.memberId) as TopicPartition[]).push(tp);
          ownerOf.set(tpKey(tp), receiver.memberId);
          moved = true;
          break outer;
        }
      }
    }
  }
  const out: GroupAssignment = new Map();
  for (const m of sorted) {
    const list = (owned.get(m.memberId) as TopicPartition[]).sort((a, b) =>
      a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition,
    );
    out.set(m.memberId, list);
  }
  return out;
}

function sameTopics(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((t) => s.has(t));
}

// The eager sticky assignor's user data, in the layout Java's StickyAssignor uses (v1):
// [topic string, partitions [int32]] array, then generation int32. Eager members own nothing
// when they join, so this carries their previous assignment.
export function encodeStickyUserData(assignment: readonly TopicPartition[], generationId: number): Buffer {
  const w = new Writer(64);
  const groups = groupByTopic(assignment);
  w.int32(groups.length);
  for (const g of groups) {
    w.string(g.topic, false);
    w.int32(g.partitions.length);
    for (const p of g.partitions) w.int32(p);
  }
  w.int32(generationId);
  return w.finish();
}

export function decodeStickyUserData(
  buf: Buffer | null,
): { partitions: TopicPartition[]; generationId: number } | null {
  if (buf === null || buf.length < 4) return null;
  try {
    const r = new Reader(buf);
    const n = r.arrayLength(false);
    const partitions: TopicPartition[] = [];
    for (let i = 0; i < n; i++) {
      const topic = r.string(false);
      const k = r.arrayLength(false);
      for (let j = 0; j < k; j++) partitions.push({ topic, partition: r.int32() });
    }
    const generationId = r.remaining >= 4 ? r.int32() : -1;
    return { partitions, generationId };
  } catch {
    return null;
  }
}

function previousOwnership(
  members: readonly MemberSubscription[],
  useUserData: boolean,
): Map<string, { partitions: readonly TopicPartition[]; generationId: number }> {
  const prev = new Map<string, { partitions: readonly TopicPartition[]; generationId: number }>();
  for (const m of members) {
    if (m.ownedPartitions.length > 0)
      prev.set(m.memberId, { partitions: m.ownedPartitions, generationId: m.generationId });
    else if (useUserData) {
      const u = decodeStickyUserData(m.userData);
      if (u) prev.set(m.memberId, u);
    }
  }
  return prev;
}

export const stickyAssignor: Assignor = {
  name: 'sticky',
  protocols: ['eager'],
  userData: ({ assignment, generationId }) => encodeStickyUserData(assignment, generationId),
  assign(members, ctx) {
    return stickyAssign(members, ctx, previousOwnership(members, true));
  },
};

/**
 * Sticky, for cooperative rebalancing (KIP-429): a partition moving between members is first
 * left out, so its owner revokes it and rejoins; the follow-up rebalance hands it over.
 */
export const cooperativeStickyAssignor: Assignor = {
  name: 'cooperative-sticky',
  protocols: ['eager', 'cooperative'],
  assign(members, ctx) {
    const prev = previousOwnership(members, false);
    const target = stickyAssign(members, ctx, prev);
    const currentOwner = new Map<string, string>();
    for (const [memberId, p] of prev) for (const tp of p.partitions) currentOwner.set(tpKey(tp), memberId);
    const out: GroupAssignment = new Map();
    for (const [memberId, list] of target) {
      out.set(
        memberId,
        list.filter((tp) => {
          const owner = currentOwner.get(tpKey(tp));
          return owner === undefined || owner === memberId;
        }),
      );
    }
    return out;
  },
};

export const BUILTIN_ASSIGNORS: Readonly<Record<string, Assignor>> = {
  range: rangeAssignor,
  roundrobin: roundRobinAssignor,
  sticky: stickyAssignor,
  'cooperative-sticky': cooperativeStickyAssignor,
};

/** The rebalance protocol every configured assignor supports, preferring cooperative. */
export function commonRebalanceProtocol(assignors: readonly Assignor[]): RebalanceProtocol {
  return assignors.every((a) => a.protocols.includes('cooperative')) ? 'cooperative' : 'eager';
}
