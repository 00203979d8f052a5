// The consumer: group membership or standalone assign(), positions (committed offsets or the
// reset policy), prefetching fetches decoded lazily when the application takes them, auto and
// manual commits, seek, pause/resume, and three ways to consume: an async iterator of
// per-partition batches, eachMessage and eachBatch callbacks.
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import type { FetchRequestInit, FetchResponse } from '../../protocol/generated/api/fetch.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import { type ClientOptions, Cluster, isStaleMetadataError } from '../cluster.js';
import { AbortError, ClientClosedError, ClientError, ConfigError, isRetriableError } from '../errors.js';
import {
  type CommittedOffset,
  commitOffsets,
  EARLIEST_TIMESTAMP,
  fetchCommittedOffsets,
  LATEST_TIMESTAMP,
  listOffsets,
  type OffsetAndTimestamp,
  type OffsetToCommit,
  tpKey,
} from '../offsets.js';
import { backoffMs, type Logger } from '../util.js';
import { type Assignor, BUILTIN_ASSIGNORS, type TopicPartition } from './assignors.js';
import { type AbortedTransaction, decodeRecordSet, type Message, scanNextOffset } from './decode.js';
import { GroupMembership, type MembershipHost } from './membership.js';

export type { Message, TopicPartition };

export type OffsetResetPolicy = 'earliest' | 'latest' | 'none';

export interface RebalanceListener {
  onPartitionsAssigned?(partitions: TopicPartition[]): void | Promise<void>;
  onPartitionsRevoked?(partitions: TopicPartition[]): void | Promise<void>;
  /** Partitions taken away without a clean handover; defaults to onPartitionsRevoked. */
  onPartitionsLost?(partitions: TopicPartition[]): void | Promise<void>;
}

export interface ConsumerOptions extends ClientOptions {
  /** Consumer group; required for subscribe() and for commits. */
  groupId?: string;
  /** Static membership (KIP-345): a restart within sessionTimeoutMs keeps the assignment. */
  groupInstanceId?: string;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Longest time the application may hold a batch before this member leaves the group. */
  maxPollIntervalMs?: number;
  /** How long the coordinator waits for members to rejoin; defaults to maxPollIntervalMs. */
  rebalanceTimeoutMs?: number;
  /** In preference order. Cooperative rebalancing is used when every one supports it. */
  assignors?: (string | Assignor)[];
  autoOffsetReset?: OffsetResetPolicy;
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  isolationLevel?: 'read_uncommitted' | 'read_committed';
  fetchMinBytes?: number;
  fetchMaxBytes?: number;
  maxPartitionFetchBytes?: number;
  fetchMaxWaitMs?: number;
  /** Fetched bytes held ahead of the application before fetching pauses. */
  maxBufferedBytes?: number;
  checkCrcs?: boolean;
  /** Incremental fetch sessions (KIP-227): requests carry only what changed. Default true. */
  fetchSessions?: boolean;
  rackId?: string;
  rebalanceListener?: RebalanceListener;
}

export interface MessageBatch {
  topic: string;
  partition: number;
  messages: Message[];
  highWatermark: number;
  /** The offset after this batch: what a commit records once the batch is processed. */
  nextOffset: number;
}

export interface EachMessagePayload {
  topic: string;
  partition: number;
  message: Message;
  /** Heartbeats run on their own timer; kept for callers that expect it. */
  heartbeat(): Promise<void>;
  pause(): void;
}

export interface EachBatchPayload {
  batch: MessageBatch;
  /** Marks messages up to and including `offset` as processed. */
  resolveOffset(offset: number): void;
  heartbeat(): Promise<void>;
  commitOffsetsIfNecessary(): Promise<void>;
  isRunning(): boolean;
  /** True once the partition was revoked or seeked: stop working on this batch. */
  isStale(): boolean;
  pause(): void;
}

export interface RunOptions {
  eachMessage?: (payload: EachMessagePayload) => void | Promise<void>;
  eachBatch?: (payload: EachBatchPayload) => void | Promise<void>;
  /** With eachBatch: mark the whole batch processed when the handler returns (default true). */
  eachBatchAutoResolve?: boolean;
}

interface Chunk {
  records: Buffer;
  fromOffset: number;
  nextOffset: number;
  aborted: AbortedTransaction[] | null;
  highWatermark: number;
  epoch: number;
}

class PartitionState {
  readonly key: string;
  /** Next offset the application gets; -1 until known. */
  position = -1;
  /** Next offset to fetch (ahead of position while prefetched data waits). */
  fetchOffset = -1;
  /** Offset a commit would record: after what the application finished. */
  consumed = -1;
  committed = -1;
  paused = false;
  fetching = false;
  /** Bumped by seeks and resets so fetches in flight for the old position are dropped. */
  epoch = 0;
  readonly chunks: Chunk[] = [];
  bufferedBytes = 0;
  highWatermark = -1;
  /** Pending reset: a policy or a timestamp query. */
  resetTo: OffsetResetPolicy | number | null = null;
  inReadyQueue = false;
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {
    this.key = tpKey(topic, partition);
  }
}

interface FetchSessionState {
  /** 0 until the broker hands out a session id. */
  id: number;
  /** Epoch of the next incremental request. */
  epoch: number;
  /** What the broker's session holds: the partitions and the offsets we last sent for them. */
  partitions: Map<string, { topic: string; partition: number; fetchOffset: number }>;
  disabled: boolean;
}

function resetSession(session: FetchSessionState): void {
  session.id = 0;
  session.epoch = 0;
  session.partitions.clear();
}

class Notifier {
  private waiters: (() => void)[] = [];
  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.push(done);
    });
  }
}

const DEFAULTS = {
  sessionTimeoutMs: 45_000,
  heartbeatIntervalMs: 3_000,
  maxPollIntervalMs: 300_000,
  autoCommitIntervalMs: 5_000,
  fetchMinBytes: 1,
  fetchMaxBytes: 52_428_800,
  maxPartitionFetchBytes: 1_048_576,
  fetchMaxWaitMs: 500,
};

export class Consumer {
  readonly cluster: Cluster;
  private readonly logger: Logger;
  private readonly groupId: string | null;
  private readonly groupInstanceId: string | null;
  private readonly sessionTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly maxPollIntervalMs: number;
  private readonly rebalanceTimeoutMs: number;
  private readonly assignors: Assignor[];
  private autoOffsetReset: OffsetResetPolicy;
  private readonly autoCommit: boolean;
  private readonly autoCommitIntervalMs: number;
  private readonly isolationLevel: number;
  private readonly fetchMinBytes: number;
  private readonly fetchMaxBytes: number;
  private readonly maxPartitionFetchBytes: number;
  private readonly fetchMaxWaitMs: number;
  private readonly maxBufferedBytes: number;
  private readonly checkCrcs: boolean;
  private readonly rackId: string;
  private listener: RebalanceListener;

  private membership: GroupMembership | null = null;
  private subscription: string[] = [];
  private mode: 'none' | 'subscribe' | 'assign' = 'none';
  private readonly assigned = new Map<string, PartitionState>();
  private readonly pendingSeeks = new Map<string, number | OffsetResetPolicy>();
  private readonly pausedKeys = new Set<string>();
  private readyQueue: PartitionState[] = [];
  private totalBuffered = 0;
  private readonly fetchInFlight = new Set<number>();
  private readonly sessions = new Map<number, FetchSessionState>();
  private readonly fetchSessions: boolean;
  private readonly nodeBackoffUntil = new Map<number, number>();
  private fetchRetryTimer: NodeJS.Timeout | null = null;
  private readonly notifier = new Notifier();
  private pendingError: Error | null = null;

  private connected: Promise<void> | null = null;
  private closed = false;
  private closing = false;
  private readonly closeController = new AbortController();
  private polling = false;
  private running = false;
  private current: MessageBatch | null = null;
  private currentEpoch = -1;
  private inUserCodeSince = 0;
  private timers: NodeJS.Timeout[] = [];
  private commitChain: Promise<void> = Promise.resolve();

  constructor(opts: ConsumerOptions) {
    this.cluster = new Cluster(opts);
    this.logger = this.cluster.logger;
    this.groupId = opts.groupId ?? null;
    this.groupInstanceId = opts.groupInstanceId ?? null;
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs;
    this.heartbeatIntervalMs =
      opts.heartbeatIntervalMs ?? Math.min(DEFAULTS.heartbeatIntervalMs, Math.floor(this.sessionTimeoutMs / 3));
    this.maxPollIntervalMs = opts.maxPollIntervalMs ?? DEFAULTS.maxPollIntervalMs;
    this.rebalanceTimeoutMs = opts.rebalanceTimeoutMs ?? this.maxPollIntervalMs;
    this.assignors = (opts.assignors ?? ['range', 'cooperative-sticky']).map((a) => {
      if (typeof a !== 'string') return a;
      const found = BUILTIN_ASSIGNORS[a];
      if (found === undefined) throw new ConfigError(`unknown assignor ${a}`);
      return found;
    });
    if (this.assignors.length === 0) throw new ConfigError('at least one assignor is needed');
    this.autoOffsetReset = opts.autoOffsetReset ?? 'latest';
    this.autoCommit = opts.autoCommit ?? this.groupId !== null;
    if (this.autoCommit && this.groupId === null) throw new ConfigError('autoCommit needs a groupId');
    this.autoCommitIntervalMs = opts.autoCommitIntervalMs ?? DEFAULTS.autoCommitIntervalMs;
    this.isolationLevel = opts.isolationLevel === 'read_committed' ? 1 : 0;
    this.fetchMinBytes = opts.fetchMinBytes ?? DEFAULTS.fetchMinBytes;
    this.fetchMaxBytes = opts.fetchMaxBytes ?? DEFAULTS.fetchMaxBytes;
    this.maxPartitionFetchBytes = opts.maxPartitionFetchBytes ?? DEFAULTS.maxPartitionFetchBytes;
    this.fetchMaxWaitMs = opts.fetchMaxWaitMs ?? DEFAULTS.fetchMaxWaitMs;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? Math.max(2 * this.fetchMaxBytes, 64 * 1024 * 1024);
    this.checkCrcs = opts.checkCrcs ?? true;
    this.fetchSessions = opts.fetchSessions ?? true;
    this.rackId = opts.rackId ?? '';
    this.listener = opts.rebalanceListener ?? {};
  }

  // ---- lifecycle

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new ClientClosedError('consumer'));
    this.connected ??= this.cluster.connect().then(
      () => this.startTimers(),
      (err) => {
        this.connected = null;
        throw err;
      },
    );
    return this.connected;
  }

  private startTimers(): void {
    if (this.timers.length > 0) return;
    if (this.autoCommit) {
      const t = setInterval(() => {
        if (this.mode === 'subscribe' && !this.membership?.isStable) return;
        this.commit().catch((err) => this.logger.warn('auto-commit failed', { error: String(err) }));
      }, this.autoCommitIntervalMs);
      t.unref();
      this.timers.push(t);
    }
    // max.poll.interval.ms: an application holding a batch this long leaves the group.
    const t = setInterval(() => this.checkPollInterval(), Math.max(100, Math.min(1000, this.maxPollIntervalMs / 4)));
    t.unref();
    this.timers.push(t);
  }

  private checkPollInterval(): void {
    const m = this.membership;
    if (m === null || this.inUserCodeSince === 0 || !m.isStable) return;
    if (Date.now() - this.inUserCodeSince <= this.maxPollIntervalMs) return;
    this.logger.warn('max.poll.interval.ms exceeded: leaving the group', {
      groupId: this.groupId,
      maxPollIntervalMs: this.maxPollIntervalMs,
    });
    m.leave('consumer poll timeout has expired', { resetMemberId: true }).finally(() => m.markLost());
  }

  /** Commits (with auto-commit), leaves the group and closes connections. */
  async close(): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    this.running = false;
    this.notifier.notify();
    this.finishCurrent();
    if (this.membership && this.connected) {
      const owned = this.ownedPartitions();
      try {
        if (this.autoCommit) await this.commit();
      } catch (err) {
        this.logger.warn('commit on close failed', { error: String(err) });
      }
      try {
        if (owned.length > 0) await this.listener.onPartitionsRevoked?.(owned);
      } catch (err) {
        this.logger.warn('onPartitionsRevoked failed', { error: String(err) });
      }
      await this.membership.leave('the consumer is closing');
      await this.membership.stop();
    } else if (this.autoCommit && this.connected) {
      await this.commit().catch((err) => this.logger.warn('commit on close failed', { error: String(err) }));
    }
    this.closed = true;
    this.closeController.abort(new ClientClosedError('consumer'));
    this.notifier.notify();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.fetchRetryTimer) clearTimeout(this.fetchRetryTimer);
    await this.cluster.close();
  }

  // ---- subscription and assignment

  /** Joins the group for these topics (replacing an earlier subscription). */
  subscribe(topics: string | readonly string[]): void {
    if (this.groupId === null) throw new ConfigError('subscribe() needs a groupId; use assign() without one');
    if (this.mode === 'assign') throw new ConfigError('subscribe() and assign() cannot be mixed');
    const list = [...new Set(typeof topics === 'string' ? [topics] : topics)];
    const prev = this.subscription;
    this.subscription = list;
    this.cluster.removeInterest(prev);
    this.cluster.addInterest(list);
    this.mode = 'subscribe';
    if (this.membership === null) {
      this.membership = new GroupMembership(
        this.cluster,
        {
          groupId: this.groupId,
          groupInstanceId: this.groupInstanceId,
          sessionTimeoutMs: this.sessionTimeoutMs,
          rebalanceTimeoutMs: this.rebalanceTimeoutMs,
          heartbeatIntervalMs: this.heartbeatIntervalMs,
          assignors: this.assignors,
          rackId: this.rackId || null,
        },
        this.membershipHost,
      );
    } else if (prev.length !== list.length || prev.some((t) => !list.includes(t))) {
      this.membership.requestRejoin('subscription changed');
    }
    this.notifier.notify();
  }

  /** Consumes exactly these partitions, without group membership. */
  assign(partitions: readonly (TopicPartition & { offset?: number | OffsetResetPolicy })[]): void {
    if (this.mode === 'subscribe') throw new ConfigError('subscribe() and assign() cannot be mixed');
    this.mode = 'assign';
    const wanted = new Set(partitions.map((p) => tpKey(p.topic, p.partition)));
    for (const [k, s] of this.assigned) if (!wanted.has(k)) this.removePartition(s);
    const topics = new Set<string>();
    for (const p of partitions) {
      topics.add(p.topic);
      if (p.offset !== undefined) this.pendingSeeks.set(tpKey(p.topic, p.partition), p.offset);
      this.addPartition(p);
    }
    this.cluster.addInterest(topics);
    this.notifier.notify();
  }

  /** Partitions currently assigned to this consumer. */
  assignment(): TopicPartition[] {
    return this.ownedPartitions();
  }

  private ownedPartitions(): TopicPartition[] {
    return [...this.assigned.values()].map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  private addPartition(tp: TopicPartition): PartitionState {
    const k = tpKey(tp.topic, tp.partition);
    let s = this.assigned.get(k);
    if (s === undefined) {
      s = new PartitionState(tp.topic, tp.partition);
      s.paused = this.pausedKeys.has(k);
      this.assigned.set(k, s);
    }
    const seek = this.pendingSeeks.get(k);
    if (seek !== undefined) {
      this.pendingSeeks.delete(k);
      this.applySeek(s, seek);
    }
    return s;
  }

  private removePartition(s: PartitionState): void {
    this.assigned.delete(s.key);
    this.totalBuffered -= s.bufferedBytes;
    s.bufferedBytes = 0;
    s.chunks.length = 0;
    s.epoch++;
  }

  private readonly membershipHost: MembershipHost = {
    subscribedTopics: () => this.subscription,
    ownedPartitions: () => this.ownedPartitions(),
    revoke: async (partitions) => {
      const keys = new Set(partitions.map((p) => tpKey(p.topic, p.partition)));
      if (this.autoCommit) {
        try {
          await this.commit(this.consumedOffsets().filter((o) => keys.has(tpKey(o.topic, o.partition))));
        } catch (err) {
          this.logger.warn('commit before revoke failed', { error: String(err) });
        }
      }
      try {
        await this.listener.onPartitionsRevoked?.(partitions);
      } finally {
        for (const k of keys) {
          const s = this.assigned.get(k);
          if (s) this.removePartition(s);
        }
      }
    },
    lose: async (partitions) => {
      try {
        if (this.listener.onPartitionsLost) await this.listener.onPartitionsLost(partitions);
        else await this.listener.onPartitionsRevoked?.(partitions);
      } finally {
        for (const p of partitions) {
          const s = this.assigned.get(tpKey(p.topic, p.partition));
          if (s) this.removePartition(s);
        }
      }
    },
    assign: async (partitions) => {
      for (const p of partitions) this.addPartition(p);
      await this.listener.onPartitionsAssigned?.(partitions);
      this.notifier.notify();
    },
    wakeup: () => this.notifier.notify(),
  };

  /** Where partitions without a committed offset start (applies to positions not yet known). */
  setAutoOffsetReset(policy: OffsetResetPolicy): void {
    this.autoOffsetReset = policy;
  }

  /** Replaces the rebalance listener. */
  setRebalanceListener(listener: RebalanceListener): void {
    this.listener = listener;
  }

  /** The group generation and member id (for diagnostics and tests). */
  groupState(): { memberId: string; generationId: number; isLeader: boolean; protocol: string | null } | null {
    const m = this.membership;
    if (m === null) return null;
    return { memberId: m.memberId, generationId: m.generationId, isLeader: m.isLeader, protocol: m.protocolName };
  }

  // ---- positions

  /** Moves a partition's position; 'earliest'/'latest' resolve through ListOffsets. */
  seek(tp: TopicPartition, offset: number | 'earliest' | 'latest'): void {
    const s = this.assigned.get(tpKey(tp.topic, tp.partition));
    if (s === undefined) {
      // Not assigned yet (e.g. before the first rebalance): applied when it is.
      this.pendingSeeks.set(tpKey(tp.topic, tp.partition), offset);
      return;
    }
    this.applySeek(s, offset);
    this.notifier.notify();
  }

  private applySeek(s: PartitionState, offset: number | OffsetResetPolicy): void {
    s.epoch++;
    this.totalBuffered -= s.bufferedBytes;
    s.bufferedBytes = 0;
    s.chunks.length = 0;
    if (typeof offset === 'number' && offset >= 0) {
      s.position = offset;
      s.fetchOffset = offset;
      s.consumed = offset;
      s.resetTo = null;
    } else {
      s.position = -1;
      s.fetchOffset = -1;
      s.resetTo = typeof offset === 'number' ? (offset === EARLIEST_TIMESTAMP ? 'earliest' : 'latest') : offset;
    }
    if (this.current && this.current.topic === s.topic && this.current.partition === s.partition) this.current = null;
  }

  /** The next offset the application will receive from a partition, or -1 if unknown. */
  position(tp: TopicPartition): number {
    return this.assigned.get(tpKey(tp.topic, tp.partition))?.position ?? -1;
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) {
      const k = tpKey(p.topic, p.partition);
      this.pausedKeys.add(k);
      const s = this.assigned.get(k);
      if (s) s.paused = true;
    }
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) {
      const k = tpKey(p.topic, p.partition);
      this.pausedKeys.delete(k);
      const s = this.assigned.get(k);
      if (s) {
        s.paused = false;
        if (s.chunks.length > 0) this.enqueueReady(s);
      }
    }
    this.notifier.notify();
    this.maybeFetch();
  }

  paused(): TopicPartition[] {
    return [...this.pausedKeys].map((k) => {
      const i = k.lastIndexOf('\u0000');
      return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)) };
    });
  }

  private async ensurePositions(): Promise<void> {
    const unknown = [...this.assigned.values()].filter((s) => s.position < 0);
    if (unknown.length === 0) return;
    const needCommitted = unknown.filter((s) => s.resetTo === null && this.groupId !== null);
    if (needCommitted.length > 0) {
      let committed: Map<string, CommittedOffset>;
      try {
        committed = await fetchCommittedOffsets(this.cluster, this.groupId as string, needCommitted, {
          requireStable: this.isolationLevel === 1,
          signal: this.closeController.signal,
        });
      } catch (err) {
        if (isRetriableError(err)) return; // try again on the next loop
        throw err;
      }
      for (const s of needCommitted) {
        const c = committed.get(s.key);
        if (!this.assigned.has(s.key) || s.position >= 0) continue;
        if (c && c.offset >= 0) {
          s.position = s.fetchOffset = s.consumed = s.committed = c.offset;
        } else s.resetTo = this.autoOffsetReset;
      }
    }
    const toReset = unknown.filter((s) => s.position < 0 && this.assigned.has(s.key));
    for (const s of toReset) {
      s.resetTo ??= this.autoOffsetReset;
      if (s.resetTo === 'none') {
        throw new KafkaError(
          ErrorCode.OFFSET_OUT_OF_RANGE,
          `no committed offset for ${s.topic}-${s.partition} and autoOffsetReset is none`,
        );
      }
    }
    if (toReset.length === 0) return;
    const epochs = toReset.map((s) => s.epoch);
    const found: Map<string, OffsetAndTimestamp> = await listOffsets(
      this.cluster,
      toReset.map((s) => ({
        topic: s.topic,
        partition: s.partition,
        timestamp:
          typeof s.resetTo === 'number' ? s.resetTo : s.resetTo === 'earliest' ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP,
      })),
      this.isolationLevel,
      this.closeController.signal,
    );
    toReset.forEach((s, i) => {
      const o = found.get(s.key);
      if (o === undefined || s.epoch !== epochs[i] || !this.assigned.has(s.key)) return;
      s.position = s.fetchOffset = o.offset;
      if (s.consumed < 0) s.consumed = o.offset;
      s.resetTo = null;
    });
  }

  // ---- commits

  private consumedOffsets(): OffsetToCommit[] {
    const out: OffsetToCommit[] = [];
    for (const s of this.assigned.values()) {
      if (s.consumed >= 0 && s.consumed !== s.committed)
        out.push({ topic: s.topic, partition: s.partition, offset: s.consumed });
    }
    return out;
  }

  /**
   * Commits processed positions (or the given offsets: the next offset to read, Kafka's
   * convention). Commits are serialized so they land in order.
   */
  commit(offsets?: readonly OffsetToCommit[]): Promise<void> {
    if (this.groupId === null) return Promise.reject(new ConfigError('commits need a groupId'));
    const run = this.commitChain.then(() => this.doCommit(offsets));
    this.commitChain = run.catch(() => {});
    return run;
  }

  private async doCommit(offsets?: readonly OffsetToCommit[]): Promise<void> {
    this.finishCurrent();
    const list = offsets ?? this.consumedOffsets();
    if (list.length === 0) return;
    const member =
      this.membership && this.mode === 'subscribe'
        ? this.membership.identity()
        : { generationId: -1, memberId: '', groupInstanceId: null };
    try {
      await commitOffsets(this.cluster, this.groupId as string, member, list, this.closeController.signal);
    } catch (err) {
      if (err instanceof KafkaError && this.membership) {
        if (err.code === ErrorCode.REBALANCE_IN_PROGRESS) this.membership.requestRejoin('commit during a rebalance');
        if (err.code === ErrorCode.UNKNOWN_MEMBER_ID || err.code === ErrorCode.ILLEGAL_GENERATION) {
          this.membership.requestRejoin('commit with a stale generation');
        }
      }
      throw err;
    }
    for (const o of list) {
      const s = this.assigned.get(tpKey(o.topic, o.partition));
      if (s) s.committed = o.offset;
    }
  }

  /** Committed offsets of this consumer's group. */
  async committed(partitions: readonly TopicPartition[]): Promise<Map<string, CommittedOffset>> {
    if (this.groupId === null) throw new ConfigError('committed() needs a groupId');
    await this.connect();
    return fetchCommittedOffsets(this.cluster, this.groupId, partitions);
  }

  /** Marks a partition processed up to (not including) `nextOffset`. */
  markConsumed(tp: TopicPartition, nextOffset: number): void {
    const s = this.assigned.get(tpKey(tp.topic, tp.partition));
    if (s && nextOffset > s.consumed) s.consumed = nextOffset;
  }

  private finishCurrent(): void {
    const b = this.current;
    if (b === null) return;
    this.current = null;
    const s = this.assigned.get(tpKey(b.topic, b.partition));
    if (s && s.epoch === this.currentEpoch && b.nextOffset > s.consumed) s.consumed = b.nextOffset;
  }

  // ---- polling

  /**
   * Waits for the next batch of one partition's messages; null once the consumer is closed.
   * The previous batch counts as processed (for commits) when this is called again.
   */
  async poll(signal?: AbortSignal): Promise<MessageBatch | null> {
    if (this.polling) throw new ClientError('poll() is already running; a consumer serves one loop', false);
    this.polling = true;
    this.finishCurrent();
    this.inUserCodeSince = 0;
    try {
      return await this.pollLoop(signal);
    } catch (err) {
      // Closing interrupts whatever the loop awaited; that is an end, not a failure.
      if (this.closing || this.closed) return null;
      throw err;
    } finally {
      this.polling = false;
    }
  }

  private async pollLoop(signal: AbortSignal | undefined): Promise<MessageBatch | null> {
    await this.connect();
    for (;;) {
      if (this.closed || this.closing) return null;
      if (signal?.aborted) throw new AbortError(signal.reason);
      if (this.pendingError) {
        const err = this.pendingError;
        this.pendingError = null;
        throw err;
      }
      if (this.membership && this.mode === 'subscribe') {
        if (this.membership.needsRejoin) {
          await this.membership.ensureActive(this.closeController.signal);
          continue;
        }
        this.membership.checkMetadataChange();
      }
      await this.ensurePositions();
      const batch = this.takeBatch();
      if (batch !== null) {
        this.inUserCodeSince = Date.now();
        return batch;
      }
      this.maybeFetch();
      await this.notifier.wait(Math.max(100, this.fetchMaxWaitMs), signal);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<MessageBatch> {
    return {
      next: async () => {
        const batch = await this.poll();
        return batch === null ? { done: true, value: undefined } : { done: false, value: batch };
      },
      return: async () => {
        this.finishCurrent();
        return { done: true, value: undefined };
      },
    };
  }

  private enqueueReady(s: PartitionState): void {
    if (s.inReadyQueue) return;
    s.inReadyQueue = true;
    this.readyQueue.push(s);
  }

  private takeBatch(): MessageBatch | null {
    const skipped: PartitionState[] = [];
    let result: MessageBatch | null = null;
    while (this.readyQueue.length > 0) {
      const s = this.readyQueue.shift() as PartitionState;
      s.inReadyQueue = false;
      if (this.assigned.get(s.key) !== s) continue;
      if (s.paused) {
        skipped.push(s);
        continue;
      }
      const chunk = s.chunks.shift();
      if (chunk === undefined) continue;
      s.bufferedBytes -= chunk.records.length;
      this.totalBuffered -= chunk.records.length;
      if (s.chunks.length > 0) this.enqueueReady(s);
      if (chunk.epoch !== s.epoch || chunk.fromOffset !== s.position) continue;
      const { messages } = decodeRecordSet(chunk.records, {
        fromOffset: chunk.fromOffset,
        checkCrcs: this.checkCrcs,
        abortedTransactions: chunk.aborted,
      });
      const atConsumed = s.consumed === s.position;
      s.position = chunk.nextOffset;
      s.highWatermark = chunk.highWatermark;
      if (messages.length === 0) {
        // Only control records or aborted data: nothing to hand out, but the position moves.
        if (atConsumed) s.consumed = chunk.nextOffset;
        continue;
      }
      result = {
        topic: s.topic,
        partition: s.partition,
        messages,
        highWatermark: chunk.highWatermark,
        nextOffset: chunk.nextOffset,
      };
      this.current = result;
      this.currentEpoch = s.epoch;
      break;
    }
    for (const s of skipped) this.enqueueReady(s);
    if (this.totalBuffered < this.maxBufferedBytes) this.maybeFetch();
    return result;
  }

  // ---- fetching

  private maybeFetch(): void {
    if (this.closed || this.connected === null) return;
    const byNode = new Map<number, PartitionState[]>();
    let needMetadata = false;
    let budget = this.maxBufferedBytes - this.totalBuffered;
    const now = Date.now();
    for (const s of this.assigned.values()) {
      if (budget <= 0) break;
      if (s.paused || s.fetching || s.fetchOffset < 0 || s.bufferedBytes >= this.maxPartitionFetchBytes) continue;
      const leader = this.cluster.leaderFor(s.topic, s.partition);
      if (leader < 0) {
        needMetadata = true;
        continue;
      }
      if (this.fetchInFlight.has(leader) || (this.nodeBackoffUntil.get(leader) ?? 0) > now) continue;
      let list = byNode.get(leader);
      if (list === undefined) {
        list = [];
        byNode.set(leader, list);
      }
      list.push(s);
      budget -= this.maxPartitionFetchBytes;
    }
    for (const [node, states] of byNode) this.sendFetch(node, states);
    if (needMetadata) this.cluster.requestRefresh();
  }

  private scheduleFetchRetry(delayMs: number): void {
    if (this.fetchRetryTimer !== null) return;
    this.fetchRetryTimer = setTimeout(() => {
      this.fetchRetryTimer = null;
      this.maybeFetch();
      this.notifier.notify();
    }, delayMs);
    this.fetchRetryTimer.unref();
  }

  private sendFetch(nodeId: number, states: PartitionState[]): void {
    this.fetchInFlight.add(nodeId);
    const epochs = states.map((s) => s.epoch);
    const offsets = states.map((s) => s.fetchOffset);
    for (const s of states) s.fetching = true;
    let session = this.sessions.get(nodeId);
    if (session === undefined) {
      session = { id: 0, epoch: 0, partitions: new Map(), disabled: !this.fetchSessions };
      this.sessions.set(nodeId, session);
    }
    const fetchSession = session;
    let sentEpoch = -1;
    this.cluster
      .connectionToNode(nodeId, this.closeController.signal)
      .then((conn) => {
        const version = conn.versionFor(ApiKey.Fetch);
        const { body, epoch } = this.fetchBody(fetchSession, states, version >= 7);
        sentEpoch = epoch;
        return conn.request(ApiKey.Fetch, body, {
          version,
          timeoutMs: this.cluster.options.requestTimeoutMs + this.fetchMaxWaitMs,
          signal: this.closeController.signal,
        });
      })
      .then(
        (resp) => {
          this.nodeBackoffUntil.delete(nodeId);
          if (
            resp.errorCode === ErrorCode.FETCH_SESSION_ID_NOT_FOUND ||
            resp.errorCode === ErrorCode.INVALID_FETCH_SESSION_EPOCH
          ) {
            // The broker lost or rejected our session: start a new one with a full fetch.
            this.logger.debug('fetch session reset', { nodeId, error: resp.errorCode });
            resetSession(fetchSession);
            return;
          }
          if (resp.errorCode === ErrorCode.NONE) this.advanceSession(fetchSession, sentEpoch, resp.sessionId, states);
          this.onFetchResponse(resp, states, epochs, offsets);
        },
        (err: unknown) => {
          resetSession(fetchSession);
          if (this.closed) return;
          this.logger.debug('fetch failed', { nodeId, error: String(err) });
          this.cluster.requestRefresh();
          const delay = backoffMs(1, this.cluster.options.retryBackoffMs, this.cluster.options.retryBackoffMaxMs);
          this.nodeBackoffUntil.set(nodeId, Date.now() + delay);
          this.scheduleFetchRetry(delay);
        },
      )
      .finally(() => {
        this.fetchInFlight.delete(nodeId);
        for (const s of states) s.fetching = false;
        this.notifier.notify();
        if (!this.closed) this.maybeFetch();
      });
  }

  /**
   * A full fetch, or with a fetch session (KIP-227) only what changed since the last request
   * to this broker: partitions added or moved on, and those to forget (paused, revoked, or
   * holding enough buffered data). The broker keeps returning data for the rest.
   */
  private fetchBody(
    session: FetchSessionState,
    states: PartitionState[],
    sessionsSupported: boolean,
  ): { body: FetchRequestInit; epoch: number } {
    const useSession = sessionsSupported && !session.disabled;
    const incremental = useSession && session.id !== 0;
    const topics = new Map<string, { partition: number; fetchOffset: number; partitionMaxBytes: number }[]>();
    const wanted = new Set<string>();
    for (const s of states) {
      wanted.add(s.key);
      if (incremental && session.partitions.get(s.key)?.fetchOffset === s.fetchOffset) continue;
      let l = topics.get(s.topic);
      if (l === undefined) {
        l = [];
        topics.set(s.topic, l);
      }
      l.push({ partition: s.partition, fetchOffset: s.fetchOffset, partitionMaxBytes: this.maxPartitionFetchBytes });
    }
    const forgotten = new Map<string, number[]>();
    if (incremental) {
      for (const [k, p] of session.partitions) {
        if (wanted.has(k)) continue;
        forgotten.set(p.topic, [...(forgotten.get(p.topic) ?? []), p.partition]);
      }
    }
    // Epoch 0 asks for a new session; -1 is a plain full fetch without one.
    const epoch = !useSession ? -1 : incremental ? session.epoch : 0;
    return {
      epoch,
      body: {
        maxWaitMs: this.fetchMaxWaitMs,
        minBytes: this.fetchMinBytes,
        maxBytes: this.fetchMaxBytes,
        isolationLevel: this.isolationLevel,
        sessionId: incremental ? session.id : 0,
        sessionEpoch: epoch,
        topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
        forgottenTopicsData: [...forgotten].map(([topic, partitions]) => ({ topic, partitions })),
        rackId: this.rackId,
      },
    };
  }

  private advanceSession(
    session: FetchSessionState,
    sentEpoch: number,
    sessionId: number,
    states: PartitionState[],
  ): void {
    if (sentEpoch < 0) return;
    if (sentEpoch === 0) {
      if (sessionId === 0) {
        // The broker keeps no session for us: stay with full fetches.
        session.disabled = true;
        return;
      }
      session.id = sessionId;
    }
    session.epoch = sentEpoch >= 0x7fffffff ? 1 : sentEpoch + 1;
    session.partitions.clear();
    for (const s of states)
      session.partitions.set(s.key, { topic: s.topic, partition: s.partition, fetchOffset: s.fetchOffset });
  }

  private onFetchResponse(resp: FetchResponse, states: PartitionState[], epochs: number[], offsets: number[]): void {
    if (resp.errorCode !== ErrorCode.NONE) {
      this.logger.warn('fetch failed', { error: resp.errorCode });
      return;
    }
    const index = new Map<string, number>();
    states.forEach((s, i) => {
      index.set(s.key, i);
    });
    for (const t of resp.responses) {
      for (const p of t.partitions) {
        const i = index.get(tpKey(t.topic, p.partitionIndex));
        if (i === undefined) continue;
        const s = states[i] as PartitionState;
        if (this.assigned.get(s.key) !== s || s.epoch !== epochs[i] || s.fetchOffset !== offsets[i]) continue;
        if (p.errorCode === ErrorCode.NONE) {
          s.highWatermark = p.highWatermark;
          const records = p.records;
          if (records === null || records.length === 0) continue;
          const next = scanNextOffset(records, s.fetchOffset);
          if (next <= s.fetchOffset) {
            this.logger.warn('fetched data holds no complete batch; raise maxPartitionFetchBytes', {
              topic: s.topic,
              partition: s.partition,
              bytes: records.length,
            });
            continue;
          }
          s.chunks.push({
            records,
            fromOffset: s.fetchOffset,
            nextOffset: next,
            aborted: this.isolationLevel === 1 ? (p.abortedTransactions ?? []) : null,
            highWatermark: p.highWatermark,
            epoch: s.epoch,
          });
          s.bufferedBytes += records.length;
          this.totalBuffered += records.length;
          s.fetchOffset = next;
          if (!s.paused) this.enqueueReady(s);
        } else if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          this.logger.info('fetch offset out of range; resetting', { topic: s.topic, partition: s.partition });
          if (this.autoOffsetReset === 'none') {
            this.pendingError = new KafkaError(p.errorCode, `${s.topic}-${s.partition} at offset ${s.fetchOffset}`);
          } else this.applySeek(s, this.autoOffsetReset);
        } else if (isStaleMetadataError(p.errorCode) || p.errorCode === ErrorCode.OFFSET_NOT_AVAILABLE) {
          this.cluster.requestRefresh();
          this.scheduleFetchRetry(this.cluster.options.retryBackoffMs);
        } else {
          this.pendingError = new KafkaError(p.errorCode, `fetch ${s.topic}-${s.partition}`);
        }
      }
    }
  }

  // ---- callbacks API

  /**
   * Runs handlers until stop() or close(). A handler that throws rewinds the partition to the
   * failed message (it is delivered again) and run() rejects with the error.
   */
  async run(opts: RunOptions): Promise<void> {
    if (!opts.eachMessage && !opts.eachBatch) throw new ConfigError('run() needs eachMessage or eachBatch');
    if (this.running) throw new ClientError('run() is already running', false);
    this.running = true;
    try {
      while (this.running) {
        const batch = await this.poll();
        if (batch === null) break;
        const tp = { topic: batch.topic, partition: batch.partition };
        const epoch = this.currentEpoch;
        const s = this.assigned.get(tpKey(batch.topic, batch.partition));
        const isStale = (): boolean => this.assigned.get(tpKey(tp.topic, tp.partition)) !== s || s?.epoch !== epoch;
        const pause = (): void => this.pause([tp]);
        const heartbeat = async (): Promise<void> => {};
        this.current = null;
        if (opts.eachBatch) {
          let resolved = -1;
          try {
            await opts.eachBatch({
              batch,
              resolveOffset: (offset) => {
                resolved = Math.max(resolved, offset + 1);
                if (!isStale()) this.markConsumed(tp, offset + 1);
              },
              heartbeat,
              commitOffsetsIfNecessary: async () => {
                if (this.autoCommit) await this.commit();
              },
              isRunning: () => this.running,
              isStale,
              pause,
            });
          } catch (err) {
            if (!isStale()) this.seek(tp, resolved >= 0 ? resolved : (batch.messages[0] as Message).offset);
            throw err;
          }
          if (opts.eachBatchAutoResolve !== false && !isStale()) this.markConsumed(tp, batch.nextOffset);
          else if (!isStale() && resolved >= 0 && resolved < batch.nextOffset) this.seek(tp, resolved);
        } else if (opts.eachMessage) {
          const handler = opts.eachMessage;
          let next = -1;
          for (const message of batch.messages) {
            if (!this.running || isStale() || this.pausedKeys.has(tpKey(tp.topic, tp.partition))) {
              next = message.offset;
              break;
            }
            try {
              await handler({ topic: batch.topic, partition: batch.partition, message, heartbeat, pause });
            } catch (err) {
              if (!isStale()) this.seek(tp, message.offset);
              throw err;
            }
            if (!isStale()) this.markConsumed(tp, message.offset + 1);
          }
          if (next < 0) {
            if (!isStale()) this.markConsumed(tp, batch.nextOffset);
          } else if (!isStale()) {
            // Stopped early (paused or stopping): what was not handled is fetched again.
            this.seek(tp, next);
          }
        }
      }
    } finally {
      this.running = false;
      this.inUserCodeSince = 0;
    }
  }

  /** Stops run() after the current message or batch. */
  stop(): void {
    this.running = false;
    this.notifier.notify();
  }

  /** Offsets for timestamps (earliest offset whose timestamp is at least the one given). */
  async offsetsForTimes(
    queries: readonly (TopicPartition & { timestamp: number })[],
  ): Promise<Map<string, OffsetAndTimestamp>> {
    await this.connect();
    return listOffsets(this.cluster, queries, this.isolationLevel);
  }
}
