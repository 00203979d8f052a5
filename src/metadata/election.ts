// Leader and ISR decisions the controller makes, as pure functions of the image: who leads
// after a broker is fenced or unfenced, and which partitions need a PartitionChangeRecord.
import { defaultPartitionChangeRecord, type PartitionChangeRecord } from '../protocol/generated/metadata/index.js';
import { type MetadataImage, NO_LEADER, NO_LEADER_CHANGE, type PartitionRegistration } from './image.js';

/** The first replica, in assignment order, that is in the ISR and eligible. */
export function chooseLeader(reg: PartitionRegistration, eligible: (id: number) => boolean): number {
  for (const r of reg.replicas) if (reg.isr.includes(r) && eligible(r)) return r;
  return NO_LEADER;
}

/** Unclean choice: any live replica, when no ISR member can lead. */
export function chooseUncleanLeader(reg: PartitionRegistration, eligible: (id: number) => boolean): number {
  for (const r of reg.replicas) if (eligible(r)) return r;
  return NO_LEADER;
}

export function change(
  topicId: string,
  partitionId: number,
  c: { leader?: number; isr?: number[]; replicas?: number[]; adding?: number[]; removing?: number[] },
): PartitionChangeRecord {
  return {
    ...defaultPartitionChangeRecord(),
    topicId,
    partitionId,
    leader: c.leader ?? NO_LEADER_CHANGE,
    isr: c.isr ?? null,
    replicas: c.replicas ?? null,
    addingReplicas: c.adding ?? null,
    removingReplicas: c.removing ?? null,
  };
}

/**
 * Finishes a reassignment once every adding replica is in the ISR: the replica set becomes
 * the target, removed replicas leave the ISR, and a leader outside the target hands over.
 */
export function reassignmentCompletion(
  ctx: ElectionContext,
  topicId: string,
  partitionId: number,
  reg: PartitionRegistration,
): PartitionChangeRecord | null {
  if (reg.addingReplicas.length === 0 && reg.removingReplicas.length === 0) return null;
  if (!reg.addingReplicas.every((r) => reg.isr.includes(r))) return null;
  const target = reg.replicas.filter((r) => !reg.removingReplicas.includes(r));
  const isr = reg.isr.filter((r) => target.includes(r));
  if (isr.length === 0) return null;
  const next: PartitionRegistration = { ...reg, replicas: target, isr };
  const leader = target.includes(reg.leader) ? NO_LEADER_CHANGE : chooseLeader(next, ctx.eligible);
  return change(topicId, partitionId, { replicas: target, isr, adding: [], removing: [], leader });
}

export interface ElectionContext {
  image: MetadataImage;
  /** Brokers that may lead or stay in the ISR (registered, unfenced, not shutting down). */
  eligible: (id: number) => boolean;
  uncleanAllowed: (topicName: string) => boolean;
}

/**
 * Changes after `brokerId` stops being eligible (fenced or shutting down): it leaves every
 * ISR that has other members, and partitions it led get the next ISR member as leader. A
 * partition whose only ISR member it was keeps that ISR and goes leaderless (or elects an
 * out-of-sync replica when unclean election is allowed).
 */
export function changesForIneligibleBroker(ctx: ElectionContext, brokerId: number): PartitionChangeRecord[] {
  const out: PartitionChangeRecord[] = [];
  for (const t of ctx.image.topicsById.values()) {
    t.partitions.forEach((reg, p) => {
      if (!reg.replicas.includes(brokerId)) return;
      const inIsr = reg.isr.includes(brokerId);
      const wasLeader = reg.leader === brokerId;
      if (!inIsr && !wasLeader) return;
      const isr = inIsr && reg.isr.length > 1 ? reg.isr.filter((r) => r !== brokerId) : reg.isr.slice();
      if (!wasLeader) {
        if (isr.length !== reg.isr.length) out.push(change(t.id, p, { isr }));
        return;
      }
      const next: PartitionRegistration = { ...reg, isr };
      let leader = chooseLeader(next, (id) => id !== brokerId && ctx.eligible(id));
      let newIsr = isr;
      if (leader === NO_LEADER && ctx.uncleanAllowed(t.name)) {
        leader = chooseUncleanLeader(next, (id) => id !== brokerId && ctx.eligible(id));
        if (leader !== NO_LEADER) newIsr = [leader];
      }
      out.push(change(t.id, p, { leader, isr: newIsr }));
    });
  }
  return out;
}

/** Changes after `brokerId` becomes eligible: leaderless partitions it can lead get it. */
export function changesForEligibleBroker(ctx: ElectionContext, brokerId: number): PartitionChangeRecord[] {
  const out: PartitionChangeRecord[] = [];
  for (const t of ctx.image.topicsById.values()) {
    t.partitions.forEach((reg, p) => {
      if (reg.leader !== NO_LEADER || !reg.replicas.includes(brokerId)) return;
      const leader = chooseLeader(reg, ctx.eligible);
      if (leader !== NO_LEADER) {
        out.push(change(t.id, p, { leader }));
        return;
      }
      if (ctx.uncleanAllowed(t.name) && ctx.eligible(brokerId)) {
        out.push(change(t.id, p, { leader: brokerId, isr: [brokerId] }));
      }
    });
  }
  return out;
}

/** Preferred leader election: the first replica leads when it is eligible and in the ISR. */
export function preferredLeaderChange(
  ctx: ElectionContext,
  topicId: string,
  partitionId: number,
): { record: PartitionChangeRecord | null; errorCode: number } {
  const t = ctx.image.topicsById.get(topicId);
  const reg = t?.partitions[partitionId];
  if (!t || !reg) return { record: null, errorCode: 3 };
  const preferred = reg.replicas[0];
  if (preferred === undefined) return { record: null, errorCode: 80 };
  if (reg.leader === preferred) return { record: null, errorCode: 84 };
  if (!reg.isr.includes(preferred) || !ctx.eligible(preferred)) return { record: null, errorCode: 80 };
  return { record: change(topicId, partitionId, { leader: preferred }), errorCode: 0 };
}

/** Unclean election for one leaderless partition. */
export function uncleanLeaderChange(
  ctx: ElectionContext,
  topicId: string,
  partitionId: number,
): { record: PartitionChangeRecord | null; errorCode: number } {
  const t = ctx.image.topicsById.get(topicId);
  const reg = t?.partitions[partitionId];
  if (!t || !reg) return { record: null, errorCode: 3 };
  if (reg.leader !== NO_LEADER) return { record: null, errorCode: 84 };
  const clean = chooseLeader(reg, ctx.eligible);
  if (clean !== NO_LEADER) return { record: change(topicId, partitionId, { leader: clean }), errorCode: 0 };
  const unclean = chooseUncleanLeader(reg, ctx.eligible);
  if (unclean === NO_LEADER) return { record: null, errorCode: 83 };
  return { record: change(topicId, partitionId, { leader: unclean, isr: [unclean] }), errorCode: 0 };
}
