// Classic consumer group membership: JoinGroup (with the member-id-required round of KIP-394),
// SyncGroup with the leader's assignment, heartbeats on their own timer, LeaveGroup, static
// membership, and eager or cooperative (KIP-429) rebalancing.
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import type { Cluster } from '../cluster.js';
import { AbortError, ClientError, isRetriableError, ProtocolError } from '../errors.js';
import { type GroupMemberIdentity, isCoordinatorError } from '../offsets.js';
import { backoffMs, sleep } from '../util.js';
import {
  type Assignor,
  commonRebalanceProtocol,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  type MemberSubscription,
  type RebalanceProtocol,
  type TopicPartition,
} from './assignors.js';

/** What membership needs from the consumer around a rebalance. */
export interface MembershipHost {
  /** Topics this member subscribes to. */
  subscribedTopics(): string[];
  /** Partitions this member owns now. */
  ownedPartitions(): TopicPartition[];
  /** Give partitions up cleanly: finish work, commit, call the listener, stop fetching. */
  revoke(partitions: TopicPartition[]): Promise<void>;
  /** Partitions were taken away without a clean handover (session lost). */
  lose(partitions: TopicPartition[]): Promise<void>;
  /** Start on newly assigned partitions. */
  assign(partitions: TopicPartition[]): Promise<void>;
  /** Something changed that the poll loop should act on. */
  wakeup(): void;
}

export interface MembershipOptions {
  groupId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  assignors: readonly Assignor[];
  rackId: string | null;
}

/** How often the leader looks again for subscribed topics that do not exist yet. */
const MISSING_TOPIC_REFRESH_MS = 1000;

const MEMBER_LOST_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.FENCED_INSTANCE_ID,
]);

export class GroupMembership {
  memberId = '';
  generationId = -1;
  protocolName: string | null = null;
  leaderId = '';
  /** Set when the group must be (re)joined before consuming. */
  needsRejoin = true;
  readonly rebalanceProtocol: RebalanceProtocol;
  /** Partition counts the leader assigned against, to notice new partitions. */
  private assignedCounts = new Map<string, number>();
  private joining = false;
  private heartbeatTask: Promise<void> | null = null;
  private readonly stopController = new AbortController();
  private lost = false;
  private lastAssignment: TopicPartition[] = [];
  private lastHeartbeatOkAt = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly opts: MembershipOptions,
    private readonly host: MembershipHost,
  ) {
    this.rebalanceProtocol = commonRebalanceProtocol(opts.assignors);
  }

  get isLeader(): boolean {
    return this.memberId !== '' && this.memberId === this.leaderId;
  }

  get isStable(): boolean {
    return this.generationId >= 0 && !this.needsRejoin && !this.joining;
  }

  identity(): GroupMemberIdentity {
    return { generationId: this.generationId, memberId: this.memberId, groupInstanceId: this.opts.groupInstanceId };
  }

  requestRejoin(reason: string): void {
    if (!this.needsRejoin) this.cluster.logger.info('rejoining group', { groupId: this.opts.groupId, reason });
    this.needsRejoin = true;
    this.host.wakeup();
  }

  /** The leader notices partition count changes in subscribed topics and rebalances. */
  checkMetadataChange(): void {
    if (!this.isLeader || this.needsRejoin) return;
    let missing = false;
    for (const [topic, count] of this.assignedCounts) {
      const now = this.cluster.partitionCount(topic);
      if (now === 0) missing = true;
      if (now !== count && now > 0) {
        this.requestRejoin(`partition count of ${topic} changed`);
        return;
      }
    }
    // A subscribed topic that does not exist yet is looked for again now and then.
    if (missing && Date.now() - this.lastMissingRefreshAt > MISSING_TOPIC_REFRESH_MS) {
      this.lastMissingRefreshAt = Date.now();
      this.cluster.requestRefresh();
    }
  }

  private lastMissingRefreshAt = 0;

  /** Joins (or rejoins) the group if needed; resolves once this member has an assignment. */
  async ensureActive(signal: AbortSignal): Promise<void> {
    while (this.needsRejoin) {
      if (signal.aborted) throw new AbortError(signal.reason);
      await this.rejoin(signal);
    }
    this.startHeartbeats();
  }

  private async rejoin(signal: AbortSignal): Promise<void> {
    this.joining = true;
    try {
      const owned = this.host.ownedPartitions();
      if (this.lost) {
        this.lost = false;
        if (owned.length > 0) await this.host.lose(owned);
      } else if (this.rebalanceProtocol === 'eager' && owned.length > 0) {
        // Eager: give everything up before joining; the new assignment starts from scratch.
        await this.host.revoke(owned);
      }
      this.needsRejoin = false;
      const assignment = await this.joinAndSync(signal);
      await this.onJoinComplete(assignment);
    } catch (err) {
      this.needsRejoin = true;
      // An answer that does not decode (librdkafka's mock sends a null SyncGroup assignment with
      // REBALANCE_IN_PROGRESS) is answered by joining again, not by giving the group up.
      const undecodable = err instanceof ProtocolError;
      if (undecodable) this.cluster.logger.warn('undecodable group response; rejoining', { error: String(err) });
      if (!undecodable && !isRetriableError(err) && !(err instanceof KafkaError && this.isRejoinError(err.code)))
        throw err;
      this.cluster.logger.debug('join failed; retrying', { groupId: this.opts.groupId, error: String(err) });
      await sleep(backoffMs(0, this.cluster.options.retryBackoffMs, this.cluster.options.retryBackoffMaxMs), signal);
    } finally {
      this.joining = false;
    }
  }

  private isRejoinError(code: number): boolean {
    return (
      code === ErrorCode.REBALANCE_IN_PROGRESS ||
      code === ErrorCode.UNKNOWN_MEMBER_ID ||
      code === ErrorCode.ILLEGAL_GENERATION ||
      code === ErrorCode.MEMBER_ID_REQUIRED ||
      isCoordinatorError(code)
    );
  }

  private async onJoinComplete(assigned: TopicPartition[]): Promise<void> {
    const owned = this.host.ownedPartitions();
    const key = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;
    const newSet = new Set(assigned.map(key));
    const ownedSet = new Set(owned.map(key));
    const revoked = owned.filter((tp) => !newSet.has(key(tp)));
    const added = assigned.filter((tp) => !ownedSet.has(key(tp)));
    if (revoked.length > 0) {
      await this.host.revoke(revoked);
      // Cooperative: what we gave up goes to its new owner in a follow-up rebalance.
      if (this.rebalanceProtocol === 'cooperative') this.requestRejoin('partitions revoked');
    }
    this.lastAssignment = assigned;
    // Called even when nothing was added, as Java does, so listeners see every generation.
    await this.host.assign(added);
  }

  private async joinAndSync(signal: AbortSignal): Promise<TopicPartition[]> {
    const { groupId, groupInstanceId } = this.opts;
    for (;;) {
      if (signal.aborted) throw new AbortError(signal.reason);
      const coordinator = await this.cluster.coordinator('group', groupId, signal);
      const conn = await this.cluster.connectionToNode(coordinator, signal).catch((err) => {
        this.cluster.invalidateCoordinator('group', groupId);
        throw err;
      });
      const topics = this.host.subscribedTopics();
      const owned = this.rebalanceProtocol === 'cooperative' ? this.host.ownedPartitions() : [];
      const protocols = this.opts.assignors.map((a) => ({
        name: a.name,
        metadata: encodeSubscription({
          topics,
          userData: a.userData?.({ assignment: this.lastAssignment, generationId: this.generationId }) ?? null,
          ownedPartitions: owned,
          generationId: this.generationId,
          rackId: this.opts.rackId,
        }),
      }));
      const joinVersion = conn.versionFor(ApiKey.JoinGroup);
      const join = await conn.request(
        ApiKey.JoinGroup,
        {
          groupId,
          sessionTimeoutMs: this.opts.sessionTimeoutMs,
          rebalanceTimeoutMs: this.opts.rebalanceTimeoutMs,
          memberId: this.memberId,
          groupInstanceId,
          protocolType: 'consumer',
          protocols,
          reason: null,
        },
        // The coordinator holds JoinGroup until every member rejoined or the rebalance timed out.
        { version: joinVersion, signal, timeoutMs: this.opts.rebalanceTimeoutMs + 5000 },
      );
      if (join.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        // KIP-394: the first join only hands out a member id; join again with it.
        this.memberId = join.memberId;
        continue;
      }
      if (join.errorCode !== ErrorCode.NONE) {
        this.handleGroupError(join.errorCode, 'JoinGroup');
        if (join.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) continue;
        throw new KafkaError(join.errorCode, `JoinGroup ${groupId}`);
      }
      this.memberId = join.memberId;
      this.generationId = join.generationId;
      this.protocolName = join.protocolName;
      this.leaderId = join.leader;
      let assignments: { memberId: string; assignment: Buffer }[] = [];
      if (join.leader === join.memberId && !join.skipAssignment) {
        assignments = await this.computeAssignment(join.protocolName ?? '', join.members, signal);
      }
      const syncVersion = conn.versionFor(ApiKey.SyncGroup);
      const sync = await conn.request(
        ApiKey.SyncGroup,
        {
          groupId,
          generationId: this.generationId,
          memberId: this.memberId,
          groupInstanceId,
          protocolType: 'consumer',
          protocolName: this.protocolName,
          assignments,
        },
        { version: syncVersion, signal, timeoutMs: this.opts.rebalanceTimeoutMs + 5000 },
      );
      if (sync.errorCode !== ErrorCode.NONE) {
        this.handleGroupError(sync.errorCode, 'SyncGroup');
        if (sync.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) continue;
        throw new KafkaError(sync.errorCode, `SyncGroup ${groupId}`);
      }
      this.lastHeartbeatOkAt = Date.now();
      return decodeAssignment(sync.assignment).partitions;
    }
  }

  private async computeAssignment(
    protocolName: string,
    members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[],
    signal: AbortSignal,
  ): Promise<{ memberId: string; assignment: Buffer }[]> {
    const assignor = this.opts.assignors.find((a) => a.name === protocolName);
    if (assignor === undefined) {
      throw new KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `group chose unknown assignor ${protocolName}`);
    }
    const subs: MemberSubscription[] = members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      ...decodeSubscription(m.metadata),
    }));
    const allTopics = [...new Set(subs.flatMap((s) => s.topics))];
    this.cluster.addInterest(allTopics);
    await this.cluster.refreshMetadata(allTopics, signal).catch(() => {});
    const partitionCounts = new Map<string, number>();
    const seen = new Map<string, number>();
    for (const t of allTopics) {
      const n = this.cluster.partitionCount(t);
      seen.set(t, n);
      if (n > 0) partitionCounts.set(t, n);
    }
    this.assignedCounts = seen;
    const result = assignor.assign(subs, { partitionCounts });
    return subs.map((s) => ({ memberId: s.memberId, assignment: encodeAssignment(result.get(s.memberId) ?? []) }));
  }

  /** Applies the membership consequences of a group error code. */
  private handleGroupError(code: number, what: string): void {
    if (code === ErrorCode.UNKNOWN_MEMBER_ID) {
      this.memberId = '';
      this.generationId = -1;
    } else if (code === ErrorCode.ILLEGAL_GENERATION) {
      this.generationId = -1;
    } else if (code === ErrorCode.FENCED_INSTANCE_ID) {
      throw new KafkaError(code, `${what}: another member uses group.instance.id ${this.opts.groupInstanceId}`);
    }
    if (code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE) {
      this.cluster.invalidateCoordinator('group', this.opts.groupId);
    }
  }

  // ---- heartbeats

  private startHeartbeats(): void {
    if (this.heartbeatTask !== null) return;
    this.heartbeatTask = this.heartbeatLoop().catch((err) => {
      if (!(err instanceof AbortError)) this.cluster.logger.error('heartbeat loop stopped', { error: String(err) });
    });
  }

  /**
   * Runs on its own timer, independent of how long the application takes with a batch: a
   * slow handler never lets the session expire. Only max.poll.interval.ms (checked by the
   * consumer) makes a member leave.
   */
  private async heartbeatLoop(): Promise<void> {
    const signal = this.stopController.signal;
    let failures = 0;
    while (!signal.aborted) {
      const delay =
        failures === 0
          ? this.opts.heartbeatIntervalMs
          : backoffMs(failures - 1, this.cluster.options.retryBackoffMs, this.opts.heartbeatIntervalMs);
      await sleep(delay, signal, true);
      if (this.joining || this.generationId < 0 || this.memberId === '') continue;
      try {
        const code = await this.sendHeartbeat(signal);
        if (code === ErrorCode.NONE) {
          failures = 0;
          this.lastHeartbeatOkAt = Date.now();
          continue;
        }
        if (code === ErrorCode.REBALANCE_IN_PROGRESS) {
          // Keep heartbeating until we rejoin: the session stays alive meanwhile.
          failures = 0;
          this.lastHeartbeatOkAt = Date.now();
          this.requestRejoin('the group is rebalancing');
        } else if (MEMBER_LOST_ERRORS.has(code)) {
          this.cluster.logger.warn('lost group membership', { groupId: this.opts.groupId, error: code });
          if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
          this.generationId = -1;
          this.lost = true;
          this.requestRejoin('membership lost');
        } else if (isCoordinatorError(code)) {
          this.cluster.invalidateCoordinator('group', this.opts.groupId);
          failures++;
        } else {
          this.cluster.logger.error('heartbeat failed', { groupId: this.opts.groupId, error: code });
          failures++;
        }
      } catch (err) {
        if (err instanceof AbortError) return;
        this.cluster.invalidateCoordinator('group', this.opts.groupId);
        failures++;
        if (Date.now() - this.lastHeartbeatOkAt > this.opts.sessionTimeoutMs) {
          // The coordinator has surely dropped us by now.
          this.generationId = -1;
          this.lost = true;
          this.requestRejoin('no heartbeat got through within the session timeout');
        }
      }
    }
  }

  private async sendHeartbeat(signal: AbortSignal): Promise<number> {
    const coordinator = await this.cluster.coordinator('group', this.opts.groupId, signal);
    const conn = await this.cluster.connectionToNode(coordinator, signal);
    const resp = await conn.request(
      ApiKey.Heartbeat,
      {
        groupId: this.opts.groupId,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: this.opts.groupInstanceId,
      },
      { signal, timeoutMs: Math.min(this.cluster.options.requestTimeoutMs, this.opts.sessionTimeoutMs) },
    );
    return resp.errorCode;
  }

  /** Marks this member's partitions lost (used when max.poll.interval.ms is exceeded). */
  markLost(): void {
    this.lost = true;
    this.generationId = -1;
    this.requestRejoin('left the group');
  }

  /**
   * Leaves the group: static members only stop heartbeating (their slot is kept for
   * sessionTimeoutMs, so a restart does not rebalance); dynamic members send LeaveGroup.
   */
  async leave(reason: string, opts: { resetMemberId?: boolean } = {}): Promise<void> {
    const memberId = this.memberId;
    if (opts.resetMemberId !== false && this.opts.groupInstanceId === null) this.memberId = '';
    this.generationId = -1;
    if (memberId === '' || this.opts.groupInstanceId !== null) return;
    try {
      const coordinator = await this.cluster.coordinator('group', this.opts.groupId);
      const conn = await this.cluster.connectionToNode(coordinator);
      const version = conn.versionFor(ApiKey.LeaveGroup);
      const resp = await conn.request(
        ApiKey.LeaveGroup,
        version >= 3
          ? { groupId: this.opts.groupId, members: [{ memberId, groupInstanceId: null, reason }] }
          : { groupId: this.opts.groupId, memberId },
        { version },
      );
      if (resp.errorCode !== ErrorCode.NONE && resp.errorCode !== ErrorCode.UNKNOWN_MEMBER_ID) {
        this.cluster.logger.warn('LeaveGroup failed', { groupId: this.opts.groupId, error: resp.errorCode });
      }
    } catch (err) {
      this.cluster.logger.debug('LeaveGroup failed', { error: String(err) });
    }
  }

  async stop(): Promise<void> {
    this.stopController.abort(new ClientError('membership stopped', false));
    await this.heartbeatTask;
    this.heartbeatTask = null;
  }
}
