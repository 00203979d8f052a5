// The partitions hosted on this broker: their logs, leadership, followers, ISR and high
// watermarks; the produce path and the replication paths. Metadata changes (from the
// metadata log) decide what is hosted and who leads.

import type { AlterPartitionInput, AlterPartitionResult } from '../metadata/controller.js';
import { configsOf, type MetadataChanges, type MetadataImage, type TopicImage } from '../metadata/image.js';
import { ErrorCode } from '../protocol/errors.js';
import type { BatchHeader } from '../records/batch-header.js';
import type { AppendResult, LogManager, PartitionLog } from '../storage/index.js';
import { errorMessage, logger } from '../util/log.js';
import type { BrokerConfig } from './config.js';
import { ConfigResourceType } from './config-defs.js';
import { batchHeaders, checkTimestamps, type ProducePolicy, recompress } from './produce-policy.js';
import { ProducerStateManager } from './producer-state.js';

/** Pause after a failed AlterPartition before proposing another ISR change for the partition. */
const ISR_RETRY_BACKOFF_MS = 500;

export {
  compressionFromConfig,
  DEFAULT_PRODUCE_POLICY,
  type ProducePolicy,
} from './produce-policy.js';

/** What the leader knows of one follower. */
export interface FollowerState {
  /** The follower's log end offset (its last fetch offset); -1 until it fetches. */
  logEndOffset: number;
  lastFetchTimeMs: number;
  /** The leader's log end offset at the follower's previous fetch. */
  lastFetchLeaderLogEndOffset: number;
  /** When the follower last had everything the leader had. */
  lastCaughtUpTimeMs: number;
}

export class Partition {
  /** Callbacks waiting for new data or a moved high watermark (delayed fetch and produce). */
  readonly waiters = new Set<() => void>();
  leaderId = -1;
  leaderEpoch = -1;
  partitionEpoch = -1;
  replicas: readonly number[] = [];
  isr: readonly number[] = [];
  readonly producers = new ProducerStateManager();
  readonly followers = new Map<number, FollowerState>();
  /** An AlterPartition is in flight; its target ISR counts for the high watermark meanwhile. */
  pendingIsr: readonly number[] | null = null;
  /** No ISR change is proposed before this time (ms) after one failed. */
  isrRetryAtMs = 0;
  /** Bumped on every leadership change, so waiters can tell the partition moved on. */
  incarnation = 0;

  constructor(
    readonly topic: string,
    readonly topicId: string,
    readonly index: number,
    readonly log: PartitionLog,
  ) {
    this.producers.load(log);
  }

  get key(): string {
    return partitionKey(this.topicId, this.index);
  }

  /** The ISR plus members being added: the high watermark must wait for all of them. */
  maximalIsr(): readonly number[] {
    if (this.pendingIsr === null) return this.isr;
    return [...new Set([...this.isr, ...this.pendingIsr])];
  }

  /** Wakes waiters (delayed fetches and produces). */
  notifyWaiters(): void {
    if (this.waiters.size === 0) return;
    const ws = [...this.waiters];
    for (const w of ws) w();
  }
}

export function partitionKey(topicId: string, index: number): string {
  return `${topicId}:${index}`;
}

export interface ProducePartitionResult {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: number;
  /** Offset after the appended records (what acks=all waits for); -1 when nothing was appended. */
  nextOffset: number;
  /** Records and bytes appended (0 for errors and duplicates). */
  recordCount: number;
  appendedBytes: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  recordErrors: { batchIndex: number; batchIndexErrorMessage: string | null }[];
}

/** Thrown by storage with a Kafka error code attached. */
interface CodedError {
  kafkaErrorCode: number;
  message: string;
}

function isCodedError(err: unknown): err is CodedError {
  return typeof err === 'object' && err !== null && typeof (err as CodedError).kafkaErrorCode === 'number';
}

export function errorCodeOf(err: unknown): number {
  return isCodedError(err) ? err.kafkaErrorCode : ErrorCode.UNKNOWN_SERVER_ERROR;
}

export const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state']);

export type LeadershipListener = (p: Partition, isLeader: boolean) => void;

/** How this broker reaches the controller for ISR changes. */
export interface IsrChannel {
  alterPartition(req: AlterPartitionInput): Promise<AlterPartitionResult>;
}

/** Follower-side hooks the replica fetcher implements. */
export interface FollowerDriver {
  follow(p: Partition): void;
  unfollow(p: Partition): void;
}

export type CommitOutcome = 'committed' | 'timeout' | 'not-leader';

export class ReplicaManager {
  private readonly log = logger('replica-manager');
  private readonly partitions = new Map<string, Partition>();
  /** Serializes log creation and deletion triggered by metadata. */
  private metadataWork: Promise<void> = Promise.resolve();
  /** Told when this broker gains or loses leadership of a partition (coordinators use it). */
  readonly leadershipListeners: LeadershipListener[] = [];
  isrChannel: IsrChannel | null = null;
  followerDriver: FollowerDriver | null = null;
  brokerEpoch = -1;
  private isrTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly nodeId: number,
    private readonly logs: LogManager,
    private readonly config: BrokerConfig,
    private readonly clock: () => number = Date.now,
  ) {}

  getPartition(topicId: string, index: number): Partition | undefined {
    return this.partitions.get(partitionKey(topicId, index));
  }

  allPartitions(): IterableIterator<Partition> {
    return this.partitions.values();
  }

  isLeader(p: Partition): boolean {
    return p.leaderId === this.nodeId;
  }

  /** A hosted partition by topic name (slower than by id; for metrics and tools). */
  partitionByName(topic: string, index: number): Partition | undefined {
    for (const p of this.partitions.values()) if (p.topic === topic && p.index === index) return p;
    return undefined;
  }

  /** Starts the periodic ISR shrink check (replica.lag.time.max.ms / 2). */
  startIsrChecks(): void {
    const lagMs = this.config.getNumber('replica.lag.time.max.ms');
    this.isrTimer = setInterval(() => this.maybeShrinkIsrs(), Math.max(50, Math.floor(lagMs / 2)));
    this.isrTimer.unref();
  }

  /** Applies committed metadata changes; resolves when logs are created or deleted. */
  applyMetadata(image: MetadataImage, changes: MetadataChanges): Promise<void> {
    const work = async (): Promise<void> => {
      for (const t of changes.deletedTopics) await this.removeTopic(t);
      for (const t of changes.changedTopics) await this.syncTopic(image, t);
      for (const key of changes.changedConfigs) this.refreshConfigs(image, key);
    };
    const p = this.metadataWork.then(work, work);
    this.metadataWork = p.catch((err) => this.log.error(`applying metadata failed: ${errorMessage(err)}`));
    return p;
  }

  /**
   * Resolves once the metadata applied so far has created (or deleted) its partition logs, or
   * after timeoutMs. Metadata can name this broker as a partition's leader a little before the
   * log exists (creating 1000 logs takes seconds); produce waits here rather than failing.
   */
  async awaitMetadataApplied(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, timeoutMs));
    });
    try {
      await Promise.race([this.metadataWork, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Loads every partition of the image (at start-up). */
  loadAll(image: MetadataImage): Promise<void> {
    return this.applyMetadata(image, {
      createdTopics: [],
      deletedTopics: [],
      changedTopics: [...image.topicsById.values()],
      changedConfigs: [],
      brokersChanged: false,
    });
  }

  private topicConfigs(image: MetadataImage, topic: string): ReadonlyMap<string, string> {
    return configsOf(image, ConfigResourceType.TOPIC, topic);
  }

  private async syncTopic(image: MetadataImage, t: TopicImage): Promise<void> {
    const overrides = this.topicConfigs(image, t.name);
    for (let i = 0; i < t.partitions.length; i++) {
      const reg = t.partitions[i];
      if (!reg) continue;
      const key = partitionKey(t.id, i);
      let p = this.partitions.get(key);
      if (!reg.replicas.includes(this.nodeId)) {
        if (p) {
          this.partitions.delete(key);
          this.followerDriver?.unfollow(p);
          if (p.leaderId === this.nodeId) this.notifyLeadership(p, false);
          p.incarnation++;
          p.notifyWaiters();
          await this.logs.deleteLog(t.name, i);
        }
        continue;
      }
      if (!p) {
        const log = await this.logs.getOrCreateLog(t.name, i, t.id, this.config.logConfigFor(overrides));
        p = new Partition(t.name, t.id, i, log);
        this.partitions.set(key, p);
      }
      p.replicas = reg.replicas;
      p.partitionEpoch = reg.partitionEpoch;
      const leaderChanged = p.leaderEpoch !== reg.leaderEpoch || p.leaderId !== reg.leader;
      // A committed ISR supersedes whatever change was pending.
      if (
        p.pendingIsr !== null &&
        reg.isr.length === p.pendingIsr.length &&
        reg.isr.every((r) => p?.pendingIsr?.includes(r))
      ) {
        p.pendingIsr = null;
      }
      p.isr = reg.isr;
      if (!leaderChanged) {
        if (reg.leader === this.nodeId) {
          this.syncFollowers(p);
          this.maybeAdvanceHighWatermark(p);
        }
        continue;
      }
      const wasLeader = p.leaderId === this.nodeId;
      p.leaderId = reg.leader;
      p.leaderEpoch = reg.leaderEpoch;
      p.pendingIsr = null;
      p.incarnation++;
      const isLeader = reg.leader === this.nodeId;
      if (isLeader) this.becomeLeader(p);
      else this.becomeFollower(p);
      p.notifyWaiters();
      if (wasLeader !== isLeader) this.notifyLeadership(p, isLeader);
    }
  }

  private becomeLeader(p: Partition): void {
    this.followerDriver?.unfollow(p);
    // The new epoch starts at the current end; followers truncate to it (KIP-320).
    p.log.assignEpochStartOffset(p.leaderEpoch, p.log.logEndOffset);
    const now = this.clock();
    p.followers.clear();
    for (const r of p.replicas) {
      if (r === this.nodeId) continue;
      // ISR members get a grace period before they can be shrunk out.
      p.followers.set(r, {
        logEndOffset: -1,
        lastFetchTimeMs: 0,
        lastFetchLeaderLogEndOffset: -1,
        lastCaughtUpTimeMs: p.isr.includes(r) ? now : 0,
      });
    }
    this.log.info(`became leader of ${p.topic}-${p.index} at epoch ${p.leaderEpoch} (ISR ${p.isr.join(',')})`);
    this.maybeAdvanceHighWatermark(p);
  }

  /** Reassignments change the replica set under a leader: track exactly the current replicas. */
  private syncFollowers(p: Partition): void {
    for (const id of [...p.followers.keys()]) if (!p.replicas.includes(id)) p.followers.delete(id);
    for (const r of p.replicas) {
      if (r === this.nodeId || p.followers.has(r)) continue;
      p.followers.set(r, {
        logEndOffset: -1,
        lastFetchTimeMs: 0,
        lastFetchLeaderLogEndOffset: -1,
        lastCaughtUpTimeMs: 0,
      });
    }
  }

  private becomeFollower(p: Partition): void {
    p.followers.clear();
    if (p.leaderId < 0) {
      this.followerDriver?.unfollow(p);
      return;
    }
    this.followerDriver?.follow(p);
  }

  private async removeTopic(t: TopicImage): Promise<void> {
    for (let i = 0; i < t.partitions.length; i++) {
      const key = partitionKey(t.id, i);
      const p = this.partitions.get(key);
      if (!p) continue;
      this.partitions.delete(key);
      this.followerDriver?.unfollow(p);
      p.incarnation++;
      p.notifyWaiters();
      if (p.leaderId === this.nodeId) this.notifyLeadership(p, false);
      await this.logs.deleteLog(t.name, i);
    }
  }

  private refreshConfigs(image: MetadataImage, key: string): void {
    const [type, ...rest] = key.split('/');
    if (Number(type) === ConfigResourceType.BROKER) {
      for (const p of this.partitions.values()) {
        p.log.updateConfig(this.config.logConfigFor(this.topicConfigs(image, p.topic)));
      }
      return;
    }
    if (Number(type) !== ConfigResourceType.TOPIC) return;
    const topic = rest.join('/');
    const t = image.topicsByName.get(topic);
    if (!t) return;
    const cfg = this.config.logConfigFor(this.topicConfigs(image, topic));
    for (let i = 0; i < t.partitions.length; i++) this.partitions.get(partitionKey(t.id, i))?.log.updateConfig(cfg);
  }

  private notifyLeadership(p: Partition, isLeader: boolean): void {
    for (const l of this.leadershipListeners) {
      try {
        l(p, isLeader);
      } catch (err) {
        this.log.error(`leadership listener failed for ${p.topic}-${p.index}: ${errorMessage(err)}`);
      }
    }
  }

  // ------------------------------------------------------------------ high watermark and ISR

  /** HW = the smallest log end offset over the (maximal) ISR; it only moves forward. */
  maybeAdvanceHighWatermark(p: Partition): void {
    if (p.leaderId !== this.nodeId) return;
    let hw = p.log.logEndOffset;
    for (const r of p.maximalIsr()) {
      if (r === this.nodeId) continue;
      const f = p.followers.get(r);
      hw = Math.min(hw, f ? f.logEndOffset : -1);
    }
    if (hw > p.log.highWatermark) {
      p.log.highWatermark = hw;
      p.notifyWaiters();
    }
  }

  /**
   * Records a follower's fetch (its fetch offset is its log end offset), advancing the high
   * watermark and adding a caught-up follower to the ISR.
   */
  recordFollowerFetch(p: Partition, followerId: number, fetchOffset: number): void {
    const f = p.followers.get(followerId);
    if (!f) return;
    const now = this.clock();
    const leo = p.log.logEndOffset;
    if (fetchOffset >= leo) f.lastCaughtUpTimeMs = now;
    else if (fetchOffset >= f.lastFetchLeaderLogEndOffset && f.lastFetchLeaderLogEndOffset >= 0) {
      f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, f.lastFetchTimeMs);
    }
    f.lastFetchLeaderLogEndOffset = leo;
    f.lastFetchTimeMs = now;
    f.logEndOffset = Math.min(fetchOffset, leo);
    this.maybeExpandIsr(p, followerId);
    this.maybeAdvanceHighWatermark(p);
  }

  private maybeExpandIsr(p: Partition, followerId: number): void {
    if (p.isr.includes(followerId) || p.pendingIsr !== null || this.clock() < p.isrRetryAtMs) return;
    const f = p.followers.get(followerId);
    if (!f) return;
    // Caught up to the HW, and holding this leader epoch's first offset (KIP-101).
    const epochStart = p.log.endOffsetForEpoch(p.leaderEpoch - 1).endOffset;
    if (f.logEndOffset < p.log.highWatermark || f.logEndOffset < epochStart) return;
    this.alterIsr(p, [...p.isr, followerId], `follower ${followerId} caught up`);
  }

  /** Drops followers that have not caught up within replica.lag.time.max.ms from the ISR. */
  maybeShrinkIsrs(): void {
    const lagMs = this.config.getNumber('replica.lag.time.max.ms');
    const now = this.clock();
    for (const p of this.partitions.values()) {
      if (p.leaderId !== this.nodeId || p.pendingIsr !== null || p.isr.length <= 1 || now < p.isrRetryAtMs) continue;
      const lagging = p.isr.filter((r) => {
        if (r === this.nodeId) return false;
        const f = p.followers.get(r);
        return !f || now - f.lastCaughtUpTimeMs > lagMs;
      });
      if (lagging.length === 0) continue;
      this.alterIsr(
        p,
        p.isr.filter((r) => !lagging.includes(r)),
        `followers ${lagging.join(',')} are out of sync`,
      );
    }
  }

  private alterIsr(p: Partition, newIsr: number[], reason: string): void {
    const channel = this.isrChannel;
    if (!channel) return;
    p.pendingIsr = newIsr;
    const epoch = p.leaderEpoch;
    const incarnation = p.incarnation;
    this.log.info(`changing ISR of ${p.topic}-${p.index} from ${p.isr.join(',')} to ${newIsr.join(',')}: ${reason}`);
    channel
      .alterPartition({
        brokerId: this.nodeId,
        brokerEpoch: this.brokerEpoch,
        topicId: p.topicId,
        partitionId: p.index,
        leaderEpoch: epoch,
        partitionEpoch: p.partitionEpoch,
        newIsr,
      })
      .then(
        (r) => {
          if (p.incarnation !== incarnation) return;
          p.pendingIsr = null;
          if (r.errorCode === ErrorCode.NONE) {
            p.isr = r.isr;
            p.partitionEpoch = r.partitionEpoch;
          } else {
            // e.g. INELIGIBLE_REPLICA for a fenced follower: it fetches many times a second, so
            // wait before asking again rather than flooding the controller (and the log).
            p.isrRetryAtMs = this.clock() + ISR_RETRY_BACKOFF_MS;
            this.log.warn(`AlterPartition for ${p.topic}-${p.index} failed with error ${r.errorCode}`);
          }
          this.maybeAdvanceHighWatermark(p);
          p.notifyWaiters();
        },
        (err) => {
          if (p.incarnation === incarnation) {
            p.pendingIsr = null;
            p.isrRetryAtMs = this.clock() + ISR_RETRY_BACKOFF_MS;
          }
          this.log.warn(`AlterPartition for ${p.topic}-${p.index} failed: ${errorMessage(err)}`);
        },
      );
  }

  /**
   * Waits until `offset` is below the high watermark (acks=all), the deadline passes, or the
   * partition changes leadership.
   */
  awaitCommit(p: Partition, offset: number, timeoutMs: number): Promise<CommitOutcome> {
    const incarnation = p.incarnation;
    const check = (): CommitOutcome | null => {
      if (p.incarnation !== incarnation || p.leaderId !== this.nodeId) return 'not-leader';
      if (p.log.highWatermark >= offset) return 'committed';
      return null;
    };
    const now = check();
    if (now !== null) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = (outcome: CommitOutcome): void => {
        clearTimeout(timer);
        p.waiters.delete(wake);
        resolve(outcome);
      };
      const wake = (): void => {
        const r = check();
        if (r !== null) done(r);
      };
      const timer = setTimeout(() => done('timeout'), Math.max(0, timeoutMs));
      p.waiters.add(wake);
    });
  }

  /** Resolves once the partition's high watermark reaches `offset` (coordinator writes). */
  async awaitHighWatermark(topicId: string, index: number, offset: number, timeoutMs = 30_000): Promise<CommitOutcome> {
    const p = this.partitions.get(partitionKey(topicId, index));
    if (!p) return 'not-leader';
    return this.awaitCommit(p, offset, timeoutMs);
  }

  // ------------------------------------------------------------------ produce path

  /**
   * Appends a produce request's records to a partition this broker leads. Errors come back
   * in the result with Kafka's codes; the log is untouched on error.
   */
  appendToLeader(
    topicId: string,
    topic: string,
    index: number,
    records: Buffer | null,
    acks: number,
    policy: ProducePolicy,
    internalAllowed: boolean,
    nowMs: number = this.clock(),
  ): ProducePartitionResult {
    const result: ProducePartitionResult = {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      baseOffset: -1,
      nextOffset: -1,
      recordCount: 0,
      appendedBytes: 0,
      logAppendTimeMs: -1,
      logStartOffset: -1,
      recordErrors: [],
    };
    const p = this.partitions.get(partitionKey(topicId, index));
    if (!p) {
      result.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      return result;
    }
    if (p.leaderId !== this.nodeId) {
      result.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
      return result;
    }
    if (INTERNAL_TOPICS.has(topic) && !internalAllowed) {
      result.errorCode = ErrorCode.INVALID_TOPIC_EXCEPTION;
      result.errorMessage = `Cannot append to internal topic ${topic}`;
      return result;
    }
    if (records === null || records.length === 0) {
      result.errorCode = ErrorCode.CORRUPT_MESSAGE;
      result.errorMessage = 'The produce request carries no record batches';
      return result;
    }
    if (acks === -1 && p.isr.length < policy.minInsyncReplicas) {
      result.errorCode = ErrorCode.NOT_ENOUGH_REPLICAS;
      result.errorMessage = `The size of the current ISR ${p.isr.length} is insufficient to satisfy the min.isr requirement of ${policy.minInsyncReplicas} for partition ${topic}-${index}`;
      return result;
    }
    const all = batchHeaders(records);
    if (all !== null) {
      const timestampError = checkTimestamps(all, policy, nowMs);
      if (timestampError !== null) {
        result.errorCode = ErrorCode.INVALID_TIMESTAMP;
        result.errorMessage = timestampError;
        result.recordErrors = [{ batchIndex: 0, batchIndexErrorMessage: timestampError }];
        result.logStartOffset = p.log.logStartOffset;
        return result;
      }
      if (policy.compression !== null) records = recompress(records, all, policy.compression);
    }
    // Idempotent producers: check sequences before touching the log.
    const headers: BatchHeader[] | null = all?.some((h) => h.producerId >= 0) ? batchHeaders(records) : null;
    if (headers !== null) {
      const check = p.producers.check(headers);
      if (check.kind === 'duplicate') {
        result.baseOffset = check.firstOffset;
        result.nextOffset = check.lastOffset + 1;
        result.logStartOffset = p.log.logStartOffset;
        return result;
      }
      if (check.kind === 'error') {
        result.errorCode = check.errorCode;
        result.errorMessage = check.message;
        result.logStartOffset = p.log.logStartOffset;
        return result;
      }
    }
    let appended: AppendResult;
    try {
      appended = p.log.appendAsLeader(records, p.leaderEpoch);
    } catch (err) {
      result.errorCode = errorCodeOf(err);
      result.errorMessage = errorMessage(err);
      result.logStartOffset = p.log.logStartOffset;
      if (result.errorCode === ErrorCode.UNKNOWN_SERVER_ERROR) {
        this.log.error(`append to ${topic}-${index} failed: ${errorMessage(err)}`);
      } else {
        this.log.info(`rejected produce to ${topic}-${index}: ${errorMessage(err)}`);
      }
      return result;
    }
    if (headers !== null) {
      let offset = appended.firstOffset;
      for (const h of headers) {
        p.producers.update(h, offset, h.maxTimestamp);
        offset += h.lastOffsetDelta + 1;
      }
    }
    result.baseOffset = appended.firstOffset;
    result.nextOffset = appended.lastOffset + 1;
    result.recordCount = appended.recordCount;
    result.appendedBytes = records.length;
    result.logAppendTimeMs = appended.logAppendTimeMs;
    result.logStartOffset = p.log.logStartOffset;
    this.maybeAdvanceHighWatermark(p);
    p.notifyWaiters();
    return result;
  }

  // ------------------------------------------------------------------ follower path

  /**
   * Appends records fetched from the leader and moves the follower's high watermark and
   * log start offset after the leader's.
   */
  appendFromLeader(p: Partition, records: Buffer, leaderHighWatermark: number, leaderLogStartOffset: number): void {
    if (records.length > 0) {
      const before = p.log.logEndOffset;
      p.log.appendAsFollower(records);
      // Followers keep producer state too, so a new leader still detects duplicates.
      for (const h of batchHeaders(records) ?? []) {
        if (h.baseOffset + h.lastOffsetDelta >= before) p.producers.update(h, h.baseOffset, h.maxTimestamp);
      }
    }
    const hw = Math.min(leaderHighWatermark, p.log.logEndOffset);
    if (hw > p.log.highWatermark) p.log.highWatermark = hw;
    if (leaderLogStartOffset > p.log.logStartOffset && leaderLogStartOffset <= p.log.highWatermark) {
      p.log.deleteRecordsBefore(leaderLogStartOffset);
    }
    p.notifyWaiters();
  }

  /** Truncates a follower's log (divergence from the leader). */
  truncateFollower(p: Partition, offset: number): void {
    if (offset >= p.log.logEndOffset) {
      // Nothing to cut, but a stale epoch entry at the log end must go.
      p.log.truncateEpochsAtLogEnd();
      return;
    }
    this.log.info(`truncating ${p.topic}-${p.index} from ${p.log.logEndOffset} to ${offset}`);
    if (offset < p.log.logStartOffset) p.log.truncateFullyAndStartAt(offset);
    else p.log.truncateTo(offset);
    p.producers.truncateFrom(offset);
  }

  /** Finishes metadata work and writes producer-state snapshots (clean shutdown). */
  async close(): Promise<void> {
    if (this.isrTimer) clearInterval(this.isrTimer);
    await this.metadataWork;
    for (const p of this.partitions.values()) {
      try {
        p.producers.writeSnapshot(p.log);
      } catch (err) {
        this.log.warn(`writing producer snapshot of ${p.topic}-${p.index} failed: ${errorMessage(err)}`);
      }
    }
  }
}
