// The group coordinator for the classic protocol: JoinGroup/SyncGroup/Heartbeat/LeaveGroup,
// committed offsets, and persistence in `__consumer_offsets`. Time and timers come in
// through the Scheduler, so tests can drive it deterministically.
import { randomUUID } from 'node:crypto';
import { Reader } from '../../protocol/codec.js';
import { EMPTY_BUFFER } from '../../protocol/codec-runtime.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { decodeConsumerProtocolSubscription } from '../../protocol/generated/data/consumer-protocol-subscription.js';
import { errorMessage, logger } from '../../util/log.js';
import {
  ClassicGroup,
  ClassicMember,
  type CommittedOffset,
  type GroupState,
  type JoinResult,
  offsetKey,
  type Protocol,
  type SyncResult,
  type TimerHandle,
} from './classic-group.js';
import {
  decodeCoordinatorRecord,
  groupMetadataKey,
  groupMetadataValue,
  groupPartition,
  offsetCommitKey,
  offsetCommitValue,
} from './records.js';

export interface GroupCoordinatorConfig {
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  initialRebalanceDelayMs: number;
  maxGroupSize: number;
  offsetMetadataMaxBytes: number;
  offsetsRetentionMs: number;
}

export interface CoordinatorRecordInput {
  key: Buffer;
  value: Buffer | null;
}

/** Where the coordinator keeps its state: the partitions of `__consumer_offsets`. */
export interface CoordinatorLog {
  /** Appends records; resolves once committed, rejects with a KafkaError otherwise. */
  append(partition: number, records: CoordinatorRecordInput[]): Promise<void>;
  /** Every record of the partition from its start to its committed end, in order. */
  read(partition: number): Iterable<{ key: Buffer | null; value: Buffer | null }>;
}

export interface Scheduler {
  now(): number;
  schedule(delayMs: number, fn: () => void): TimerHandle;
}

export const realScheduler: Scheduler = {
  now: () => Date.now(),
  schedule(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

export interface JoinRequest {
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: Protocol[];
  reason: string | null;
  clientId: string;
  clientHost: string;
  apiVersion: number;
}

export interface SyncRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface OffsetCommitPartition {
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
}

export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  state: string;
  protocolType: string;
  protocolData: string;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    metadata: Buffer;
    assignment: Buffer;
  }[];
}

type PartitionStatus = 'loading' | 'loaded';

/** Storage errors as the group APIs report them (as Kafka maps them). */
function mapAppendError(code: number): number {
  switch (code) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    default:
      return code === ErrorCode.NONE ? code : ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

function appendErrorCode(err: unknown): number {
  return mapAppendError(err instanceof KafkaError ? err.code : ErrorCode.UNKNOWN_SERVER_ERROR);
}

export class GroupCoordinator {
  private readonly log = logger('group-coordinator');
  private readonly groups = new Map<string, ClassicGroup>();
  private readonly partitions = new Map<number, PartitionStatus>();

  constructor(
    private readonly cfg: GroupCoordinatorConfig,
    private readonly store: CoordinatorLog,
    private readonly partitionCount: () => number,
    private readonly scheduler: Scheduler = realScheduler,
  ) {}

  partitionFor(groupId: string): number {
    return groupPartition(groupId, this.partitionCount());
  }

  /** The error for requests about this group, or NONE when this coordinator serves it. */
  groupError(groupId: string | null): number {
    if (groupId === null || groupId === '') return ErrorCode.INVALID_GROUP_ID;
    const status = this.partitions.get(this.partitionFor(groupId));
    if (status === undefined) return ErrorCode.NOT_COORDINATOR;
    if (status === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  isLoaded(partition: number): boolean {
    return this.partitions.get(partition) === 'loaded';
  }

  // ------------------------------------------------------------------ loading

  /** This broker now leads `partition`: load its groups and offsets. */
  onElection(partition: number): void {
    if (this.partitions.has(partition)) return;
    this.partitions.set(partition, 'loading');
    const started = this.scheduler.now();
    const groupValues = new Map<string, ReturnType<typeof decodeCoordinatorRecord>>();
    const offsets = new Map<string, Map<string, CommittedOffset>>();
    let records = 0;
    try {
      for (const rec of this.store.read(partition)) {
        if (rec.key === null) continue;
        const decoded = decodeCoordinatorRecord(rec.key, rec.value);
        if (decoded === null) continue;
        records++;
        if (decoded.kind === 'group') {
          if (decoded.value === null) {
            groupValues.delete(decoded.group);
            offsets.delete(decoded.group);
          } else groupValues.set(decoded.group, decoded);
        } else {
          let m = offsets.get(decoded.group);
          if (!m) {
            m = new Map();
            offsets.set(decoded.group, m);
          }
          const key = offsetKey(decoded.topic, decoded.partition);
          if (decoded.value === null) m.delete(key);
          else {
            m.set(key, {
              topic: decoded.topic,
              partition: decoded.partition,
              offset: decoded.value.offset,
              leaderEpoch: decoded.value.leaderEpoch,
              metadata: decoded.value.metadata,
              commitTimestampMs: decoded.value.commitTimestamp,
            });
          }
        }
      }
    } catch (err) {
      this.log.error(`loading __consumer_offsets-${partition} failed: ${errorMessage(err)}`);
      this.partitions.delete(partition);
      return;
    }
    const now = this.scheduler.now();
    const ids = new Set<string>([...groupValues.keys(), ...offsets.keys()]);
    for (const id of ids) {
      const group = new ClassicGroup(id, now);
      const rec = groupValues.get(id);
      if (rec && rec.kind === 'group' && rec.value) {
        const v = rec.value;
        group.protocolType = v.protocolType === '' ? null : v.protocolType;
        group.generationId = v.generation;
        group.protocolName = v.protocol;
        group.leaderId = v.leader;
        group.currentStateTimestampMs = v.currentStateTimestamp >= 0 ? v.currentStateTimestamp : now;
        for (const m of v.members) {
          const member = new ClassicMember(
            m.memberId,
            m.groupInstanceId,
            m.clientId,
            m.clientHost,
            m.rebalanceTimeout >= 0 ? m.rebalanceTimeout : m.sessionTimeout,
            m.sessionTimeout,
            v.protocolType,
            [{ name: v.protocol ?? '', metadata: m.subscription }],
          );
          member.assignment = m.assignment;
          group.members.set(m.memberId, member);
          if (m.groupInstanceId !== null) group.staticMembers.set(m.groupInstanceId, m.memberId);
        }
        group.state = group.members.size > 0 ? 'Stable' : 'Empty';
      }
      for (const [k, o] of offsets.get(id) ?? []) group.offsets.set(k, o);
      if (group.members.size === 0 && group.offsets.size === 0 && !rec) continue;
      this.groups.set(id, group);
      for (const m of group.members.values()) this.resetHeartbeat(group, m);
    }
    this.partitions.set(partition, 'loaded');
    if (records > 0) {
      this.log.info(
        `loaded ${ids.size} group(s) from ${records} record(s) of __consumer_offsets-${partition} in ${this.scheduler.now() - started} ms`,
      );
    }
  }

  /** This broker no longer leads `partition`: drop its groups and fail their waiters. */
  onResignation(partition: number): void {
    if (!this.partitions.delete(partition)) return;
    for (const [id, group] of this.groups) {
      if (this.partitionFor(id) !== partition) continue;
      group.rebalanceTimer?.cancel();
      for (const m of group.members.values()) {
        m.heartbeatTimer?.cancel();
        this.completeJoinWithError(m, ErrorCode.NOT_COORDINATOR);
        this.completeSyncWithError(m, ErrorCode.NOT_COORDINATOR);
      }
      for (const t of group.pendingMembers.values()) t.cancel();
      this.groups.delete(id);
    }
  }

  /** Stops all timers (shutdown). */
  shutdown(): void {
    for (const p of [...this.partitions.keys()]) this.onResignation(p);
  }

  // ------------------------------------------------------------------ join

  joinGroup(req: JoinRequest): Promise<JoinResult> {
    const err = this.groupError(req.groupId);
    if (err !== ErrorCode.NONE) return Promise.resolve(joinError(err, req.memberId));
    if (req.sessionTimeoutMs < this.cfg.minSessionTimeoutMs || req.sessionTimeoutMs > this.cfg.maxSessionTimeoutMs) {
      return Promise.resolve(joinError(ErrorCode.INVALID_SESSION_TIMEOUT, req.memberId));
    }
    let group = this.groups.get(req.groupId);
    if (!group) {
      if (req.memberId !== '') return Promise.resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId));
      group = new ClassicGroup(req.groupId, this.scheduler.now());
      this.groups.set(req.groupId, group);
    }
    if (group.state === 'Dead') return Promise.resolve(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, req.memberId));
    return req.memberId === '' ? this.joinUnknownMember(group, req) : this.joinKnownMember(group, req);
  }

  private joinUnknownMember(group: ClassicGroup, req: JoinRequest): Promise<JoinResult> {
    const names = req.protocols.map((p) => p.name);
    if (!group.supportsProtocols(req.protocolType, names)) {
      return Promise.resolve(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId));
    }
    const newMemberId = `${req.groupInstanceId ?? req.clientId}-${randomUUID()}`;
    if (req.groupInstanceId !== null) {
      const oldId = group.staticMembers.get(req.groupInstanceId);
      if (oldId !== undefined) return this.replaceStaticMember(group, oldId, newMemberId, req);
    }
    if (group.members.size + group.pendingMembers.size >= this.cfg.maxGroupSize) {
      return Promise.resolve(joinError(ErrorCode.GROUP_MAX_SIZE_REACHED, req.memberId));
    }
    if (req.groupInstanceId === null && req.apiVersion >= 4) {
      // KIP-394: hand out the member id first; the member joins for real with it.
      const timer = this.scheduler.schedule(req.sessionTimeoutMs, () => this.expirePendingMember(group, newMemberId));
      group.pendingMembers.set(newMemberId, timer);
      return Promise.resolve(joinError(ErrorCode.MEMBER_ID_REQUIRED, newMemberId));
    }
    return this.addMemberAndRebalance(group, newMemberId, req);
  }

  private joinKnownMember(group: ClassicGroup, req: JoinRequest): Promise<JoinResult> {
    const member = group.members.get(req.memberId);
    if (!member) {
      const pending = group.pendingMembers.get(req.memberId);
      if (pending) {
        pending.cancel();
        group.pendingMembers.delete(req.memberId);
        if (
          !group.supportsProtocols(
            req.protocolType,
            req.protocols.map((p) => p.name),
          )
        ) {
          return Promise.resolve(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId));
        }
        return this.addMemberAndRebalance(group, req.memberId, req);
      }
      if (req.groupInstanceId !== null && group.staticMembers.has(req.groupInstanceId)) {
        return Promise.resolve(joinError(ErrorCode.FENCED_INSTANCE_ID, req.memberId));
      }
      return Promise.resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId));
    }
    if (isStaticFenced(group, req.groupInstanceId, req.memberId)) {
      return Promise.resolve(joinError(ErrorCode.FENCED_INSTANCE_ID, req.memberId));
    }
    if (
      !group.supportsProtocols(
        req.protocolType,
        req.protocols.map((p) => p.name),
      )
    ) {
      return Promise.resolve(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId));
    }
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, member, req, 'member rejoined');
      case 'CompletingRebalance':
        if (member.sameProtocols(req.protocols)) return Promise.resolve(this.currentJoinResult(group, member));
        return this.updateMemberAndRebalance(group, member, req, 'member changed protocols');
      case 'Stable':
        if (group.isLeader(member.memberId) || !member.sameProtocols(req.protocols)) {
          return this.updateMemberAndRebalance(
            group,
            member,
            req,
            group.isLeader(member.memberId) ? 'leader rejoined' : 'member changed protocols',
          );
        }
        return Promise.resolve(this.currentJoinResult(group, member));
      default:
        return Promise.resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId));
    }
  }

  /** The join response for the current generation (a member re-sending its join). */
  private currentJoinResult(group: ClassicGroup, member: ClassicMember, skipAssignment = false): JoinResult {
    const leader = group.isLeader(member.memberId);
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      memberId: member.memberId,
      skipAssignment,
      members: leader ? this.memberList(group) : [],
    };
  }

  private memberList(group: ClassicGroup): JoinResult['members'] {
    const protocol = group.protocolName ?? '';
    return [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadataFor(protocol),
    }));
  }

  private addMemberAndRebalance(group: ClassicGroup, memberId: string, req: JoinRequest): Promise<JoinResult> {
    const rebalanceTimeoutMs = req.rebalanceTimeoutMs === -1 ? req.sessionTimeoutMs : req.rebalanceTimeoutMs;
    const member = new ClassicMember(
      memberId,
      req.groupInstanceId,
      req.clientId,
      req.clientHost,
      rebalanceTimeoutMs,
      req.sessionTimeoutMs,
      req.protocolType,
      req.protocols,
    );
    member.joinVersion = req.apiVersion;
    if (group.members.size === 0) group.protocolType = req.protocolType;
    group.members.set(memberId, member);
    if (req.groupInstanceId !== null) group.staticMembers.set(req.groupInstanceId, memberId);
    if (group.leaderId === null) group.leaderId = memberId;
    group.newMemberAdded = true;
    const result = new Promise<JoinResult>((resolve) => {
      member.awaitingJoin = resolve;
    });
    this.resetHeartbeat(group, member);
    this.maybePrepareRebalance(group, `adding new member ${memberId}${req.reason ? ` (${req.reason})` : ''}`);
    this.tryCompleteJoin(group);
    return result;
  }

  private updateMemberAndRebalance(
    group: ClassicGroup,
    member: ClassicMember,
    req: JoinRequest,
    reason: string,
  ): Promise<JoinResult> {
    member.protocols = req.protocols;
    member.protocolType = req.protocolType;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs === -1 ? req.sessionTimeoutMs : req.rebalanceTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    member.joinVersion = req.apiVersion;
    // A duplicate join replaces the earlier one, which learns it must rejoin.
    this.completeJoinWithError(member, ErrorCode.REBALANCE_IN_PROGRESS);
    const result = new Promise<JoinResult>((resolve) => {
      member.awaitingJoin = resolve;
    });
    this.resetHeartbeat(group, member);
    this.maybePrepareRebalance(group, `${reason} ${member.memberId}${req.reason ? ` (${req.reason})` : ''}`);
    this.tryCompleteJoin(group);
    return result;
  }

  /**
   * A static member rejoined without its member id (KIP-345): it takes a new member id and
   * its old incarnation is fenced. In a stable group with unchanged protocols there is no
   * rebalance: the member gets the current assignment back.
   */
  private replaceStaticMember(
    group: ClassicGroup,
    oldMemberId: string,
    newMemberId: string,
    req: JoinRequest,
  ): Promise<JoinResult> {
    const old = group.members.get(oldMemberId);
    if (!old) return this.addMemberAndRebalance(group, newMemberId, req);
    this.completeJoinWithError(old, ErrorCode.FENCED_INSTANCE_ID);
    this.completeSyncWithError(old, ErrorCode.FENCED_INSTANCE_ID);
    old.heartbeatTimer?.cancel();
    const member = new ClassicMember(
      newMemberId,
      req.groupInstanceId,
      req.clientId,
      req.clientHost,
      req.rebalanceTimeoutMs === -1 ? req.sessionTimeoutMs : req.rebalanceTimeoutMs,
      req.sessionTimeoutMs,
      req.protocolType,
      req.protocols,
    );
    member.assignment = old.assignment;
    member.joinVersion = req.apiVersion;
    // Keep the join order: the new incarnation takes the old one's place.
    const entries = [...group.members.entries()].map(([id, m]) =>
      id === oldMemberId ? ([newMemberId, member] as const) : ([id, m] as const),
    );
    group.members.clear();
    for (const [id, m] of entries) group.members.set(id, m);
    group.staticMembers.set(req.groupInstanceId as string, newMemberId);
    if (group.pendingSyncMembers.delete(oldMemberId)) group.pendingSyncMembers.add(newMemberId);
    const wasLeader = group.leaderId === oldMemberId;
    if (wasLeader) group.leaderId = newMemberId;
    this.log.info(
      `static member ${req.groupInstanceId} of group ${group.groupId} rejoined with member id ${newMemberId}`,
    );
    const protocolsUnchanged = old.sameProtocols(req.protocols) && group.protocolType === req.protocolType;
    if (group.state === 'Stable' && protocolsUnchanged) {
      this.resetHeartbeat(group, member);
      const gen = group.generationId;
      return this.persistGroup(group, null).then(
        // Before JoinGroup v9 (no SkipAssignment) a rejoining static leader is told the old
        // leader id, so it acts as a follower and does not run a pointless assignment; as in
        // Kafka, there is no rebalance either way.
        () =>
          wasLeader && req.apiVersion < 9
            ? { ...this.currentJoinResult(group, member), leader: oldMemberId, members: [] }
            : this.currentJoinResult(group, member, wasLeader),
        (err: unknown) => {
          // Could not record the new member id: undo and let the member retry.
          this.log.warn(`storing static member replacement for group ${group.groupId} failed: ${errorMessage(err)}`);
          if (group.generationId === gen && group.members.get(newMemberId) === member) {
            this.removeMember(group, member, 'failed to persist static member replacement');
          }
          return joinError(appendErrorCode(err), '');
        },
      );
    }
    return this.updateMemberAndRebalance(group, member, req, 'static member rejoined');
  }

  private expirePendingMember(group: ClassicGroup, memberId: string): void {
    if (!group.pendingMembers.delete(memberId)) return;
    this.log.debug(`pending member ${memberId} of group ${group.groupId} did not rejoin in time`);
    if (group.state === 'PreparingRebalance') this.tryCompleteJoin(group);
  }

  private maybePrepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.state === 'Stable' || group.state === 'CompletingRebalance' || group.state === 'Empty') {
      this.prepareRebalance(group, reason);
    }
  }

  private prepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.state === 'CompletingRebalance') {
      for (const m of group.members.values()) {
        m.assignment = EMPTY_BUFFER;
        this.completeSyncWithError(m, ErrorCode.REBALANCE_IN_PROGRESS);
      }
    }
    group.rebalanceTimer?.cancel();
    group.rebalanceTimer = null;
    group.pendingSyncMembers.clear();
    const wasEmpty = group.state === 'Empty';
    group.transitionTo('PreparingRebalance', this.scheduler.now());
    this.log.info(
      `preparing to rebalance group ${group.groupId} with old generation ${group.generationId} (reason: ${reason})`,
    );
    if (wasEmpty) {
      // group.initial.rebalance.delay.ms: let more members arrive before the first assignment.
      const delay = this.cfg.initialRebalanceDelayMs;
      const remaining = Math.max(group.rebalanceTimeoutMs() - delay, 0);
      group.newMemberAdded = false;
      this.scheduleInitialJoin(group, delay, remaining);
    } else {
      const gen = group.generationId;
      group.rebalanceTimer = this.scheduler.schedule(group.rebalanceTimeoutMs(), () => {
        if (group.state === 'PreparingRebalance' && group.generationId === gen) this.completeJoin(group);
      });
    }
  }

  private initialDelayPending = new WeakSet<ClassicGroup>();

  private scheduleInitialJoin(group: ClassicGroup, delayMs: number, remainingMs: number): void {
    this.initialDelayPending.add(group);
    const gen = group.generationId;
    group.rebalanceTimer = this.scheduler.schedule(delayMs, () => {
      if (group.state !== 'PreparingRebalance' || group.generationId !== gen) return;
      if (group.newMemberAdded && remainingMs > 0) {
        group.newMemberAdded = false;
        const next = Math.min(this.cfg.initialRebalanceDelayMs, remainingMs);
        this.scheduleInitialJoin(group, next, Math.max(remainingMs - next, 0));
        return;
      }
      this.initialDelayPending.delete(group);
      this.completeJoin(group);
    });
  }

  private tryCompleteJoin(group: ClassicGroup): void {
    if (group.state !== 'PreparingRebalance') return;
    if (this.initialDelayPending.has(group)) return;
    if (group.allMembersJoined()) this.completeJoin(group);
  }

  private completeJoin(group: ClassicGroup): void {
    if (group.state !== 'PreparingRebalance') return;
    this.initialDelayPending.delete(group);
    group.rebalanceTimer?.cancel();
    group.rebalanceTimer = null;
    // Dynamic members that did not rejoin in time leave the group.
    for (const m of [...group.members.values()]) {
      if (m.awaitingJoin === null && m.groupInstanceId === null) {
        this.log.info(`member ${m.memberId} did not rejoin group ${group.groupId} in time; removing it`);
        m.heartbeatTimer?.cancel();
        group.members.delete(m.memberId);
      }
    }
    for (const t of group.pendingMembers.values()) t.cancel();
    group.pendingMembers.clear();
    const now = this.scheduler.now();
    if (group.members.size === 0) {
      group.generationId++;
      group.protocolName = null;
      group.leaderId = null;
      group.transitionTo('Empty', now);
      this.log.info(`group ${group.groupId} with generation ${group.generationId} is now empty`);
      this.persistGroup(group, null).catch((err: unknown) =>
        this.log.warn(`storing empty group ${group.groupId} failed: ${errorMessage(err)}`),
      );
      return;
    }
    if (group.leaderId === null || !group.members.has(group.leaderId)) {
      group.leaderId = group.members.keys().next().value as string;
    }
    group.generationId++;
    group.protocolName = group.selectProtocol();
    group.transitionTo('CompletingRebalance', now);
    this.log.info(
      `stabilized group ${group.groupId} generation ${group.generationId} (protocol ${group.protocolName}) with ${group.members.size} member(s)`,
    );
    for (const m of group.members.values()) {
      group.pendingSyncMembers.add(m.memberId);
      const callback = m.awaitingJoin;
      m.awaitingJoin = null;
      if (callback) callback(this.currentJoinResult(group, m));
      this.resetHeartbeat(group, m);
    }
    // Members that never send SyncGroup are removed after the rebalance timeout.
    const gen = group.generationId;
    group.rebalanceTimer = this.scheduler.schedule(group.rebalanceTimeoutMs(), () => {
      if (group.state !== 'CompletingRebalance' || group.generationId !== gen) return;
      const missing = [...group.pendingSyncMembers];
      this.log.info(`members ${missing.join(', ')} of group ${group.groupId} did not sync in time`);
      for (const id of missing) {
        const m = group.members.get(id);
        if (m) this.removeMemberQuietly(group, m);
      }
      this.prepareRebalance(group, 'members did not sync in time');
      this.tryCompleteJoin(group);
    });
  }

  // ------------------------------------------------------------------ sync

  syncGroup(req: SyncRequest): Promise<SyncResult> {
    const err = this.groupError(req.groupId);
    if (err !== ErrorCode.NONE) return Promise.resolve(syncError(err));
    const group = this.groups.get(req.groupId);
    if (!group || group.state === 'Dead') return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (isStaticFenced(group, req.groupInstanceId, req.memberId))
      return Promise.resolve(syncError(ErrorCode.FENCED_INSTANCE_ID));
    const member = group.members.get(req.memberId);
    if (!member) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (req.generationId !== group.generationId) return Promise.resolve(syncError(ErrorCode.ILLEGAL_GENERATION));
    if (
      (req.protocolType !== null && req.protocolType !== group.protocolType) ||
      (req.protocolName !== null && req.protocolName !== group.protocolName)
    ) {
      return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    switch (group.state) {
      case 'Empty':
        return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case 'PreparingRebalance':
        return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'Stable':
        this.resetHeartbeat(group, member);
        return Promise.resolve({
          errorCode: ErrorCode.NONE,
          protocolType: group.protocolType,
          protocolName: group.protocolName,
          assignment: member.assignment,
        });
      case 'CompletingRebalance':
        break;
      default:
        return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    }
    this.completeSyncWithError(member, ErrorCode.REBALANCE_IN_PROGRESS);
    const result = new Promise<SyncResult>((resolve) => {
      member.awaitingSync = resolve;
    });
    group.pendingSyncMembers.delete(member.memberId);
    this.resetHeartbeat(group, member);
    if (group.isLeader(member.memberId)) {
      const assignments = new Map<string, Buffer>();
      for (const a of req.assignments) assignments.set(a.memberId, a.assignment);
      const gen = group.generationId;
      this.persistGroup(group, assignments).then(
        () => {
          if (group.state !== 'CompletingRebalance' || group.generationId !== gen) return;
          for (const m of group.members.values()) m.assignment = assignments.get(m.memberId) ?? EMPTY_BUFFER;
          group.rebalanceTimer?.cancel();
          group.rebalanceTimer = null;
          group.transitionTo('Stable', this.scheduler.now());
          for (const m of group.members.values()) {
            const cb = m.awaitingSync;
            m.awaitingSync = null;
            cb?.({
              errorCode: ErrorCode.NONE,
              protocolType: group.protocolType,
              protocolName: group.protocolName,
              assignment: m.assignment,
            });
          }
        },
        (e: unknown) => {
          if (group.state !== 'CompletingRebalance' || group.generationId !== gen) return;
          const code = appendErrorCode(e);
          this.log.warn(`storing assignment of group ${group.groupId} failed: ${errorMessage(e)}`);
          for (const m of group.members.values()) {
            m.assignment = EMPTY_BUFFER;
            this.completeSyncWithError(m, code);
          }
          this.prepareRebalance(group, 'failed to store the assignment');
        },
      );
    }
    return result;
  }

  // ------------------------------------------------------------------ heartbeat and leave

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    const err = this.groupError(groupId);
    if (err !== ErrorCode.NONE) return err;
    const group = this.groups.get(groupId);
    if (!group || group.state === 'Dead') return ErrorCode.UNKNOWN_MEMBER_ID;
    if (isStaticFenced(group, groupInstanceId, memberId)) return ErrorCode.FENCED_INSTANCE_ID;
    const member = group.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    switch (group.state) {
      case 'Empty':
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case 'PreparingRebalance':
        this.resetHeartbeat(group, member);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        this.resetHeartbeat(group, member);
        return ErrorCode.NONE;
    }
  }

  leaveGroup(
    groupId: string,
    leaving: { memberId: string; groupInstanceId: string | null; reason: string | null }[],
  ): { errorCode: number; members: { memberId: string; groupInstanceId: string | null; errorCode: number }[] } {
    const err = this.groupError(groupId);
    if (err !== ErrorCode.NONE) return { errorCode: err, members: [] };
    const group = this.groups.get(groupId);
    if (!group || group.state === 'Dead') {
      return {
        errorCode: ErrorCode.NONE,
        members: leaving.map((l) => ({
          memberId: l.memberId,
          groupInstanceId: l.groupInstanceId,
          errorCode: ErrorCode.UNKNOWN_MEMBER_ID,
        })),
      };
    }
    const results = leaving.map((l) => {
      const base = { memberId: l.memberId, groupInstanceId: l.groupInstanceId };
      let memberId = l.memberId;
      if (l.groupInstanceId !== null) {
        const staticId = group.staticMembers.get(l.groupInstanceId);
        if (staticId === undefined) return { ...base, errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
        if (memberId !== '' && memberId !== staticId) return { ...base, errorCode: ErrorCode.FENCED_INSTANCE_ID };
        memberId = staticId;
      }
      const pending = group.pendingMembers.get(memberId);
      if (pending) {
        pending.cancel();
        group.pendingMembers.delete(memberId);
        this.tryCompleteJoin(group);
        return { ...base, errorCode: ErrorCode.NONE };
      }
      const member = group.members.get(memberId);
      if (!member) return { ...base, errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
      this.removeMember(group, member, `member ${memberId} left${l.reason ? ` (${l.reason})` : ''}`);
      return { ...base, errorCode: ErrorCode.NONE };
    });
    return { errorCode: ErrorCode.NONE, members: results };
  }

  private resetHeartbeat(group: ClassicGroup, member: ClassicMember): void {
    member.heartbeatTimer?.cancel();
    member.heartbeatTimer = this.scheduler.schedule(member.sessionTimeoutMs, () =>
      this.onSessionExpired(group, member),
    );
  }

  private onSessionExpired(group: ClassicGroup, member: ClassicMember): void {
    if (group.members.get(member.memberId) !== member) return;
    if (member.awaitingJoin !== null || member.awaitingSync !== null) {
      // A member waiting on a rebalance phase is alive; that phase has its own timeout.
      this.resetHeartbeat(group, member);
      return;
    }
    this.removeMember(group, member, `session timeout of member ${member.memberId} expired`);
  }

  private removeMemberQuietly(group: ClassicGroup, member: ClassicMember): void {
    member.heartbeatTimer?.cancel();
    this.completeJoinWithError(member, ErrorCode.UNKNOWN_MEMBER_ID);
    this.completeSyncWithError(member, ErrorCode.UNKNOWN_MEMBER_ID);
    group.members.delete(member.memberId);
    group.pendingSyncMembers.delete(member.memberId);
    if (member.groupInstanceId !== null && group.staticMembers.get(member.groupInstanceId) === member.memberId) {
      group.staticMembers.delete(member.groupInstanceId);
    }
    if (group.leaderId === member.memberId) {
      group.leaderId = group.members.size > 0 ? (group.members.keys().next().value as string) : null;
    }
  }

  private removeMember(group: ClassicGroup, member: ClassicMember, reason: string): void {
    this.removeMemberQuietly(group, member);
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.prepareRebalance(group, reason);
        this.tryCompleteJoin(group);
        break;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        break;
      default:
        break;
    }
  }

  private completeJoinWithError(member: ClassicMember, errorCode: number): void {
    const cb = member.awaitingJoin;
    member.awaitingJoin = null;
    cb?.(joinError(errorCode, member.memberId));
  }

  private completeSyncWithError(member: ClassicMember, errorCode: number): void {
    const cb = member.awaitingSync;
    member.awaitingSync = null;
    cb?.(syncError(errorCode));
  }

  // ------------------------------------------------------------------ persistence

  /** Writes the group's metadata record; `assignments` overrides members' assignments. */
  private persistGroup(group: ClassicGroup, assignments: Map<string, Buffer> | null): Promise<void> {
    const protocol = group.protocolName ?? '';
    const value = groupMetadataValue({
      protocolType: group.protocolType ?? '',
      generation: group.generationId,
      protocol: group.protocolName,
      leader: group.leaderId,
      currentStateTimestamp: group.currentStateTimestampMs,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeout: m.rebalanceTimeoutMs,
        sessionTimeout: m.sessionTimeoutMs,
        subscription: m.metadataFor(protocol),
        assignment: assignments ? (assignments.get(m.memberId) ?? EMPTY_BUFFER) : m.assignment,
      })),
    });
    return this.store.append(this.partitionFor(group.groupId), [{ key: groupMetadataKey(group.groupId), value }]);
  }

  // ------------------------------------------------------------------ offsets

  async commitOffsets(
    groupId: string,
    memberId: string,
    groupInstanceId: string | null,
    generationId: number,
    topics: { name: string; partitions: OffsetCommitPartition[] }[],
  ): Promise<{ name: string; partitions: { partitionIndex: number; errorCode: number }[] }[]> {
    const all = (code: number) =>
      topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, errorCode: code })),
      }));
    const err = this.groupError(groupId);
    if (err !== ErrorCode.NONE) return all(err);
    let group = this.groups.get(groupId);
    let created = false;
    if (!group) {
      if (generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      // A consumer that does not use group management only stores offsets here.
      group = new ClassicGroup(groupId, this.scheduler.now());
      this.groups.set(groupId, group);
      created = true;
    } else {
      let code: number = ErrorCode.NONE;
      if (group.state === 'Dead') code = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      else if (isStaticFenced(group, groupInstanceId, memberId)) code = ErrorCode.FENCED_INSTANCE_ID;
      else if (generationId < 0 && group.state === 'Empty') code = ErrorCode.NONE;
      else if (!group.members.has(memberId)) code = ErrorCode.UNKNOWN_MEMBER_ID;
      else if (generationId !== group.generationId) code = ErrorCode.ILLEGAL_GENERATION;
      else if (group.state === 'CompletingRebalance') code = ErrorCode.REBALANCE_IN_PROGRESS;
      if (code !== ErrorCode.NONE) return all(code);
      const member = group.members.get(memberId);
      if (member) this.resetHeartbeat(group, member);
    }
    const now = this.scheduler.now();
    const records: { key: Buffer; value: Buffer }[] = [];
    const accepted: CommittedOffset[] = [];
    const results = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p): { partitionIndex: number; errorCode: number } => {
        const metadata = p.metadata ?? '';
        if (Buffer.byteLength(metadata) > this.cfg.offsetMetadataMaxBytes) {
          return { partitionIndex: p.partition, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE };
        }
        const o: CommittedOffset = {
          topic: t.name,
          partition: p.partition,
          offset: p.offset,
          leaderEpoch: p.leaderEpoch,
          metadata,
          commitTimestampMs: now,
        };
        accepted.push(o);
        records.push({
          key: offsetCommitKey(groupId, t.name, p.partition),
          value: offsetCommitValue({ offset: o.offset, leaderEpoch: o.leaderEpoch, metadata, commitTimestamp: now }),
        });
        return { partitionIndex: p.partition, errorCode: ErrorCode.NONE };
      }),
    }));
    if (records.length === 0) return results;
    try {
      await this.store.append(this.partitionFor(groupId), records);
    } catch (e) {
      const code = appendErrorCode(e);
      if (created && group.offsets.size === 0) this.groups.delete(groupId);
      for (const t of results) for (const p of t.partitions) if (p.errorCode === ErrorCode.NONE) p.errorCode = code;
      return results;
    }
    const current = this.groups.get(groupId);
    if (current) for (const o of accepted) current.offsets.set(offsetKey(o.topic, o.partition), o);
    return results;
  }

  fetchOffsets(
    groupId: string,
    topics: { name: string; partitionIndexes: number[] }[] | null,
  ): {
    errorCode: number;
    topics: {
      name: string;
      partitions: {
        partitionIndex: number;
        committedOffset: number;
        committedLeaderEpoch: number;
        metadata: string | null;
        errorCode: number;
      }[];
    }[];
  } {
    const err = this.groupError(groupId);
    if (err !== ErrorCode.NONE) return { errorCode: err, topics: [] };
    const group = this.groups.get(groupId);
    if (topics === null) {
      const byTopic = new Map<string, ReturnType<GroupCoordinator['fetchOffsets']>['topics'][number]>();
      for (const o of group?.offsets.values() ?? []) {
        let t = byTopic.get(o.topic);
        if (!t) {
          t = { name: o.topic, partitions: [] };
          byTopic.set(o.topic, t);
        }
        t.partitions.push({
          partitionIndex: o.partition,
          committedOffset: o.offset,
          committedLeaderEpoch: o.leaderEpoch,
          metadata: o.metadata,
          errorCode: ErrorCode.NONE,
        });
      }
      return { errorCode: ErrorCode.NONE, topics: [...byTopic.values()] };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => {
          const o = group?.offsets.get(offsetKey(t.name, p));
          return o
            ? {
                partitionIndex: p,
                committedOffset: o.offset,
                committedLeaderEpoch: o.leaderEpoch,
                metadata: o.metadata,
                errorCode: 0,
              }
            : { partitionIndex: p, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 };
        }),
      })),
    };
  }

  async deleteOffsets(
    groupId: string,
    topics: { name: string; partitions: number[] }[],
  ): Promise<{
    errorCode: number;
    topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
  }> {
    const err = this.groupError(groupId);
    if (err !== ErrorCode.NONE) return { errorCode: err, topics: [] };
    const group = this.groups.get(groupId);
    if (!group || group.state === 'Dead') return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    let subscribed: Set<string> | null = null;
    if (group.state !== 'Empty') {
      if (group.protocolType !== 'consumer') return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
      subscribed = subscribedTopics(group);
    }
    const records: { key: Buffer; value: null }[] = [];
    const removed: string[] = [];
    const result = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        if (subscribed?.has(t.name)) return { partitionIndex: p, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
        if (group.offsets.has(offsetKey(t.name, p))) {
          records.push({ key: offsetCommitKey(groupId, t.name, p), value: null });
          removed.push(offsetKey(t.name, p));
        }
        return { partitionIndex: p, errorCode: ErrorCode.NONE };
      }),
    }));
    if (records.length > 0) {
      try {
        await this.store.append(this.partitionFor(groupId), records);
      } catch (e) {
        return { errorCode: appendErrorCode(e), topics: [] };
      }
      for (const k of removed) group.offsets.delete(k);
    }
    return { errorCode: ErrorCode.NONE, topics: result };
  }

  // ------------------------------------------------------------------ admin views

  describeGroup(groupId: string): DescribedGroup {
    const base = { groupId, state: 'Dead', protocolType: '', protocolData: '', members: [] };
    const err = this.groupError(groupId);
    if (err !== ErrorCode.NONE) return { ...base, errorCode: err };
    const group = this.groups.get(groupId);
    if (!group) return { ...base, errorCode: ErrorCode.NONE };
    const stable = group.state === 'Stable';
    const protocol = group.protocolName ?? '';
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      state: group.state,
      protocolType: group.protocolType ?? '',
      protocolData: stable ? protocol : '',
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable ? m.metadataFor(protocol) : EMPTY_BUFFER,
        assignment: stable ? m.assignment : EMPTY_BUFFER,
      })),
    };
  }

  listGroups(
    states: string[],
    types: string[],
  ): { groupId: string; protocolType: string; state: GroupState; type: string }[] {
    const stateFilter = new Set(states.map((s) => s.toLowerCase()));
    const typeFilter = new Set(types.map((t) => t.toLowerCase()));
    const out: { groupId: string; protocolType: string; state: GroupState; type: string }[] = [];
    for (const g of this.groups.values()) {
      if (!this.isLoaded(this.partitionFor(g.groupId)) || g.state === 'Dead') continue;
      if (stateFilter.size > 0 && !stateFilter.has(g.state.toLowerCase())) continue;
      if (typeFilter.size > 0 && !typeFilter.has('classic')) continue;
      out.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state, type: 'classic' });
    }
    return out;
  }

  async deleteGroups(ids: string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const out: { groupId: string; errorCode: number }[] = [];
    for (const id of ids) {
      const err = this.groupError(id);
      if (err !== ErrorCode.NONE) {
        out.push({ groupId: id, errorCode: err });
        continue;
      }
      const group = this.groups.get(id);
      if (!group || group.state === 'Dead') {
        out.push({ groupId: id, errorCode: ErrorCode.GROUP_ID_NOT_FOUND });
        continue;
      }
      if (group.state !== 'Empty') {
        out.push({ groupId: id, errorCode: ErrorCode.NON_EMPTY_GROUP });
        continue;
      }
      const records: { key: Buffer; value: null }[] = [];
      for (const o of group.offsets.values())
        records.push({ key: offsetCommitKey(id, o.topic, o.partition), value: null });
      records.push({ key: groupMetadataKey(id), value: null });
      try {
        await this.store.append(this.partitionFor(id), records);
      } catch (e) {
        out.push({ groupId: id, errorCode: appendErrorCode(e) });
        continue;
      }
      group.transitionTo('Dead', this.scheduler.now());
      this.groups.delete(id);
      out.push({ groupId: id, errorCode: ErrorCode.NONE });
    }
    return out;
  }

  /**
   * Expires committed offsets (offsets.retention.minutes): all offsets of a consumer group
   * that has been empty that long, and old offsets of groups that only store offsets.
   */
  async expireOffsets(): Promise<number> {
    const now = this.scheduler.now();
    const retention = this.cfg.offsetsRetentionMs;
    let expired = 0;
    for (const group of [...this.groups.values()]) {
      // Offsets of active groups are kept; only empty groups age out.
      if (group.state !== 'Empty' || !this.isLoaded(this.partitionFor(group.groupId))) continue;
      const emptyLongEnough = now - group.currentStateTimestampMs >= retention;
      const victims =
        group.protocolType !== null
          ? emptyLongEnough
            ? [...group.offsets.values()]
            : []
          : [...group.offsets.values()].filter((o) => now - o.commitTimestampMs >= retention);
      const dropGroup =
        victims.length === group.offsets.size && (group.protocolType !== null ? emptyLongEnough : victims.length > 0);
      if (victims.length === 0 && !dropGroup) continue;
      const records: { key: Buffer; value: null }[] = victims.map((o) => ({
        key: offsetCommitKey(group.groupId, o.topic, o.partition),
        value: null,
      }));
      if (dropGroup) records.push({ key: groupMetadataKey(group.groupId), value: null });
      try {
        await this.store.append(this.partitionFor(group.groupId), records);
      } catch (e) {
        this.log.warn(`expiring offsets of group ${group.groupId} failed: ${errorMessage(e)}`);
        continue;
      }
      for (const o of victims) group.offsets.delete(offsetKey(o.topic, o.partition));
      expired += victims.length;
      if (dropGroup && group.state === 'Empty' && group.members.size === 0) {
        group.transitionTo('Dead', now);
        this.groups.delete(group.groupId);
      }
    }
    if (expired > 0) this.log.info(`expired ${expired} committed offset(s)`);
    return expired;
  }

  /** For tests and metrics: a group's state. */
  groupState(groupId: string): GroupState | null {
    return this.groups.get(groupId)?.state ?? null;
  }

  allGroupIds(): string[] {
    return [...this.groups.keys()];
  }

  /** Every committed offset this coordinator holds (metrics: consumer lag). */
  committedOffsets(): { group: string; topic: string; partition: number; offset: number }[] {
    const out: { group: string; topic: string; partition: number; offset: number }[] = [];
    for (const g of this.groups.values()) {
      for (const o of g.offsets.values())
        out.push({ group: g.groupId, topic: o.topic, partition: o.partition, offset: o.offset });
    }
    return out;
  }
}

function isStaticFenced(group: ClassicGroup, groupInstanceId: string | null, memberId: string): boolean {
  if (groupInstanceId === null) return false;
  const current = group.staticMembers.get(groupInstanceId);
  return current !== undefined && current !== memberId;
}

function joinError(errorCode: number, memberId: string): JoinResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    memberId,
    skipAssignment: false,
    members: [],
  };
}

function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BUFFER };
}

/** Topics the group's members subscribe to, from their consumer-protocol metadata. */
function subscribedTopics(group: ClassicGroup): Set<string> {
  const out = new Set<string>();
  const protocol = group.protocolName ?? '';
  for (const m of group.members.values()) {
    const meta = m.metadataFor(protocol);
    if (meta.length < 2) continue;
    try {
      const r = new Reader(meta);
      const version = r.int16();
      const sub = decodeConsumerProtocolSubscription(r, Math.min(version, 3));
      for (const t of sub.topics) out.add(t);
    } catch {
      // Unreadable subscriptions are treated as subscribing to nothing.
    }
  }
  return out;
}
