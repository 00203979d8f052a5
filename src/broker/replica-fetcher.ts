// Followers pull from leaders: one fetch loop per leader broker, fetching every partition
// this broker follows there in one Fetch request (replica id, leader epoch, last fetched
// epoch), truncating on divergence (KIP-320), appending, and tracking the leader's HW.

import type { MetadataImage } from '../metadata/image.js';
import { ErrorCode } from '../protocol/errors.js';
import type { FetchResponsePartitionData } from '../protocol/generated/api/fetch.js';
import { ApiKey } from '../protocol/generated/apis.js';
import { errorMessage, logger } from '../util/log.js';
import { endpointFor } from './handlers/common.js';
import { NodeClient } from './inter-broker-client.js';
import type { FollowerDriver, Partition, ReplicaManager } from './replica-manager.js';

const FETCH_VERSION = 15;

export interface FetcherOptions {
  nodeId: number;
  listenerName: string;
  image: () => MetadataImage;
  replicas: ReplicaManager;
  brokerEpoch: () => number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  partitionMaxBytes: number;
  backoffMs: number;
  paused?: boolean;
}

class LeaderFetcher {
  private readonly log = logger('replica-fetcher');
  readonly partitions = new Set<Partition>();
  /** Partitions backing off after an error, until the given time. */
  private readonly delayedUntil = new Map<Partition, number>();
  private running = false;
  private stopped = false;
  private client: NodeClient | null = null;
  private clientAddress = '';

  constructor(
    readonly leaderId: number,
    private readonly opts: FetcherOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.client?.close();
  }

  private connection(): NodeClient | null {
    const b = this.opts.image().brokers.get(this.leaderId);
    const e = b ? endpointFor(b, this.opts.listenerName) : null;
    if (!e) return null;
    const address = `${e.host}:${e.port}`;
    if (!this.client || this.clientAddress !== address) {
      this.client?.close();
      this.client = new NodeClient(
        e.host,
        e.port,
        `eddy-replica-fetcher-${this.opts.nodeId}`,
        this.opts.maxWaitMs + 30_000,
      );
      this.clientAddress = address;
    }
    return this.client;
  }

  private async loop(): Promise<void> {
    while (!this.stopped && this.partitions.size > 0) {
      const now = Date.now();
      const ready = this.opts.paused ? [] : [...this.partitions].filter((p) => (this.delayedUntil.get(p) ?? 0) <= now);
      const client = this.connection();
      if (ready.length === 0 || !client) {
        await sleep(Math.min(this.opts.backoffMs, 100));
        continue;
      }
      try {
        await this.fetchOnce(client, ready);
      } catch (err) {
        if (!this.stopped) this.log.debug(`fetch from broker ${this.leaderId} failed: ${errorMessage(err)}`);
        for (const p of ready) this.delayedUntil.set(p, Date.now() + this.opts.backoffMs);
        await sleep(Math.min(this.opts.backoffMs, 200));
      }
    }
    this.running = false;
    this.client?.close();
    this.client = null;
  }

  private async fetchOnce(client: NodeClient, parts: Partition[]): Promise<void> {
    const byTopic = new Map<string, Partition[]>();
    for (const p of parts) {
      const list = byTopic.get(p.topicId) ?? [];
      list.push(p);
      byTopic.set(p.topicId, list);
    }
    const snapshot = new Map<Partition, { leaderEpoch: number; fetchOffset: number }>();
    const topics = [...byTopic].map(([topicId, ps]) => ({
      topicId,
      partitions: ps.map((p) => {
        const fetchOffset = p.log.logEndOffset;
        snapshot.set(p, { leaderEpoch: p.leaderEpoch, fetchOffset });
        return {
          partition: p.index,
          currentLeaderEpoch: p.leaderEpoch,
          fetchOffset,
          lastFetchedEpoch: p.log.latestEpoch(),
          logStartOffset: p.log.logStartOffset,
          partitionMaxBytes: this.opts.partitionMaxBytes,
        };
      }),
    }));
    const res = await client.request(ApiKey.Fetch, FETCH_VERSION, {
      replicaState: { replicaId: this.opts.nodeId, replicaEpoch: this.opts.brokerEpoch() },
      maxWaitMs: this.opts.maxWaitMs,
      minBytes: this.opts.minBytes,
      maxBytes: this.opts.maxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics,
      forgottenTopicsData: [],
    });
    if (res.errorCode !== ErrorCode.NONE) throw new Error(`fetch error ${res.errorCode}`);
    for (const t of res.responses) {
      for (const pd of t.partitions) {
        const p = parts.find((x) => x.topicId === t.topicId && x.index === pd.partitionIndex);
        const sent = p ? snapshot.get(p) : undefined;
        // The partition moved on (new leader or epoch) while the fetch was out: drop the answer.
        if (!p || !sent || !this.partitions.has(p) || p.leaderEpoch !== sent.leaderEpoch) continue;
        if (p.log.logEndOffset !== sent.fetchOffset) continue;
        this.handlePartition(p, pd);
      }
    }
  }

  private handlePartition(p: Partition, pd: FetchResponsePartitionData): void {
    const replicas = this.opts.replicas;
    switch (pd.errorCode) {
      case ErrorCode.NONE: {
        const div = pd.divergingEpoch;
        if (div.epoch >= 0 || div.endOffset >= 0) {
          replicas.truncateFollower(p, this.truncationOffset(p, div.epoch, div.endOffset));
          return;
        }
        try {
          replicas.appendFromLeader(p, pd.records ?? Buffer.alloc(0), pd.highWatermark, pd.logStartOffset);
        } catch (err) {
          this.log.warn(`appending fetched data to ${p.topic}-${p.index} failed: ${errorMessage(err)}`);
          this.delayedUntil.set(p, Date.now() + this.opts.backoffMs);
        }
        return;
      }
      case ErrorCode.OFFSET_OUT_OF_RANGE: {
        if (p.log.logEndOffset < pd.logStartOffset) {
          // Too far behind: start over at the leader's log start.
          p.log.truncateFullyAndStartAt(pd.logStartOffset);
          p.producers.truncateFrom(0);
        } else {
          // Ahead of the leader without epoch information: committed data stops at its HW.
          replicas.truncateFollower(p, Math.max(pd.highWatermark, p.log.logStartOffset));
        }
        return;
      }
      default:
        // NOT_LEADER, FENCED/UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_ID...: wait for metadata.
        this.delayedUntil.set(p, Date.now() + this.opts.backoffMs);
    }
  }

  /** Where to truncate given the leader's diverging epoch (KIP-320). */
  private truncationOffset(p: Partition, leaderEpoch: number, leaderEndOffset: number): number {
    const leo = p.log.logEndOffset;
    if (leaderEpoch < 0) return Math.min(leaderEndOffset, leo);
    const mine = p.log.endOffsetForEpoch(leaderEpoch);
    if (mine.endOffset < 0) return Math.min(leaderEndOffset, leo);
    if (mine.epoch !== leaderEpoch) return Math.min(mine.endOffset, leo);
    return Math.min(leaderEndOffset, mine.endOffset, leo);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class ReplicaFetcherManager implements FollowerDriver {
  private readonly fetchers = new Map<number, LeaderFetcher>();
  private readonly following = new Map<Partition, number>();

  constructor(private readonly opts: FetcherOptions) {}

  /** Partitions this broker follows, with their leaders. */
  followed(): Map<Partition, number> {
    return new Map(this.following);
  }

  /** Stops fetching without forgetting what is followed (operations and tests). */
  pause(): void {
    this.opts.paused = true;
  }

  resume(): void {
    this.opts.paused = false;
  }

  follow(p: Partition): void {
    const current = this.following.get(p);
    if (current === p.leaderId) return;
    if (current !== undefined) this.unfollow(p);
    let f = this.fetchers.get(p.leaderId);
    if (!f) {
      f = new LeaderFetcher(p.leaderId, this.opts);
      this.fetchers.set(p.leaderId, f);
    }
    f.partitions.add(p);
    this.following.set(p, p.leaderId);
    f.start();
  }

  unfollow(p: Partition): void {
    const leader = this.following.get(p);
    if (leader === undefined) return;
    this.following.delete(p);
    const f = this.fetchers.get(leader);
    if (!f) return;
    f.partitions.delete(p);
    if (f.partitions.size === 0) {
      f.stop();
      this.fetchers.delete(leader);
    }
  }

  close(): void {
    for (const f of this.fetchers.values()) f.stop();
    this.fetchers.clear();
    this.following.clear();
  }
}
