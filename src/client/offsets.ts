// Offset lookups shared by the consumer and the admin client: ListOffsets (earliest, latest,
// by time) to partition leaders, and group offset fetch/commit to the group coordinator.
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/apis.js';
import { type Cluster, isStaleMetadataError } from './cluster.js';
import type { TopicPartition } from './consumer/assignors.js';
import { isRetriableError } from './errors.js';
import { withRetries } from './util.js';

/** Special ListOffsets timestamps (Kafka's). */
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;

export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export interface OffsetAndTimestamp {
  offset: number;
  timestamp: number;
  leaderEpoch: number;
}

export interface ListOffsetsQuery extends TopicPartition {
  timestamp: number;
}

/**
 * Looks up offsets by timestamp (or EARLIEST/LATEST) from each partition's leader, retrying
 * partitions whose leader moved. Keys of the result are tpKey(topic, partition).
 */
export async function listOffsets(
  cluster: Cluster,
  queries: readonly ListOffsetsQuery[],
  isolationLevel = 0,
  signal?: AbortSignal,
): Promise<Map<string, OffsetAndTimestamp>> {
  const result = new Map<string, OffsetAndTimestamp>();
  let pending = [...queries];
  await cluster.ensureTopics([...new Set(pending.map((q) => q.topic))], signal);
  await withRetries(
    async () => {
      const byLeader = new Map<number, ListOffsetsQuery[]>();
      for (const q of pending) {
        const leader = cluster.leaderFor(q.topic, q.partition);
        if (leader < 0) throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `${q.topic}-${q.partition}`);
        let l = byLeader.get(leader);
        if (l === undefined) {
          l = [];
          byLeader.set(leader, l);
        }
        l.push(q);
      }
      const failed: ListOffsetsQuery[] = [];
      let lastError: unknown;
      await Promise.all(
        [...byLeader].map(async ([leader, qs]) => {
          try {
            const conn = await cluster.connectionToNode(leader, signal);
            const version = conn.versionFor(ApiKey.ListOffsets);
            const topics = new Map<string, { partitionIndex: number; timestamp: number }[]>();
            for (const q of qs) {
              let l = topics.get(q.topic);
              if (l === undefined) {
                l = [];
                topics.set(q.topic, l);
              }
              l.push({ partitionIndex: q.partition, timestamp: q.timestamp });
            }
            const resp = await conn.request(
              ApiKey.ListOffsets,
              {
                replicaId: -1,
                isolationLevel,
                topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
                timeoutMs: cluster.options.requestTimeoutMs,
              },
              { version, signal },
            );
            const answered = new Set<string>();
            for (const t of resp.topics) {
              for (const p of t.partitions) {
                const k = tpKey(t.name, p.partitionIndex);
                answered.add(k);
                if (p.errorCode === ErrorCode.NONE) {
                  result.set(k, { offset: p.offset, timestamp: p.timestamp, leaderEpoch: p.leaderEpoch });
                } else {
                  const err = new KafkaError(p.errorCode, `ListOffsets ${t.name}-${p.partitionIndex}`);
                  if (isStaleMetadataError(p.errorCode)) cluster.requestRefresh();
                  if (!err.retriable && p.errorCode !== ErrorCode.OFFSET_NOT_AVAILABLE) throw err;
                  lastError = err;
                  failed.push(findQuery(qs, t.name, p.partitionIndex));
                }
              }
            }
            for (const q of qs) if (!answered.has(tpKey(q.topic, q.partition))) failed.push(q);
          } catch (err) {
            if (!isRetriableError(err)) throw err;
            cluster.requestRefresh();
            lastError = err;
            failed.push(...qs);
          }
        }),
      );
      pending = failed;
      if (failed.length > 0) {
        await cluster.refreshMetadata().catch(() => {});
        throw lastError ?? new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'ListOffsets left partitions unanswered');
      }
    },
    { ...cluster.retryOptions(signal), isRetriable: (e) => isRetriableError(e) || isOffsetNotAvailable(e) },
  );
  return result;
}

function isOffsetNotAvailable(e: unknown): boolean {
  return e instanceof KafkaError && e.code === ErrorCode.OFFSET_NOT_AVAILABLE;
}

function findQuery(qs: readonly ListOffsetsQuery[], topic: string, partition: number): ListOffsetsQuery {
  return (
    qs.find((q) => q.topic === topic && q.partition === partition) ?? { topic, partition, timestamp: LATEST_TIMESTAMP }
  );
}

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
}

const COORDINATOR_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

export function isCoordinatorError(code: number): boolean {
  return COORDINATOR_ERRORS.has(code);
}

/** Sends a request to the group's coordinator, rediscovering it after coordinator errors. */
export async function sendToCoordinator<T>(
  cluster: Cluster,
  groupId: string,
  fn: (nodeId: number) => Promise<T>,
  errorCodeOf: (resp: T) => number,
  signal?: AbortSignal,
): Promise<T> {
  return withRetries(async () => {
    const nodeId = await cluster.coordinator('group', groupId, signal);
    let resp: T;
    try {
      resp = await fn(nodeId);
    } catch (err) {
      if (isRetriableError(err)) cluster.invalidateCoordinator('group', groupId);
      throw err;
    }
    const code = errorCodeOf(resp);
    if (code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE) {
      cluster.invalidateCoordinator('group', groupId);
    }
    if (isCoordinatorError(code)) throw new KafkaError(code, `group ${groupId}`);
    return resp;
  }, cluster.retryOptions(signal));
}

/** Committed offsets of a group; null `partitions` asks for every partition it has. */
export async function fetchCommittedOffsets(
  cluster: Cluster,
  groupId: string,
  partitions: readonly TopicPartition[] | null,
  opts: { requireStable?: boolean; signal?: AbortSignal } = {},
): Promise<Map<string, CommittedOffset & TopicPartition>> {
  const topics =
    partitions === null
      ? null
      : groupByTopicName(partitions).map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
  const resp = await sendToCoordinator(
    cluster,
    groupId,
    async (nodeId) => {
      const conn = await cluster.connectionToNode(nodeId, opts.signal);
      const version = conn.versionFor(ApiKey.OffsetFetch);
      return conn.request(
        ApiKey.OffsetFetch,
        { groupId, topics, requireStable: opts.requireStable ?? false },
        { version, signal: opts.signal },
      );
    },
    (r) => r.errorCode,
    opts.signal,
  );
  if (resp.errorCode !== ErrorCode.NONE) throw new KafkaError(resp.errorCode, `OffsetFetch ${groupId}`);
  const out = new Map<string, CommittedOffset & TopicPartition>();
  for (const t of resp.topics) {
    for (const p of t.partitions) {
      if (p.errorCode !== ErrorCode.NONE) {
        if (p.errorCode === ErrorCode.UNSTABLE_OFFSET_COMMIT || p.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
          continue;
        }
        throw new KafkaError(p.errorCode, `OffsetFetch ${groupId} ${t.name}-${p.partitionIndex}`);
      }
      out.set(tpKey(t.name, p.partitionIndex), {
        topic: t.name,
        partition: p.partitionIndex,
        offset: p.committedOffset,
        leaderEpoch: p.committedLeaderEpoch,
        metadata: p.metadata,
      });
    }
  }
  return out;
}

export interface OffsetToCommit extends TopicPartition {
  offset: number;
  leaderEpoch?: number;
  metadata?: string | null;
}

export interface GroupMemberIdentity {
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

/** Commits offsets for a group; per-partition errors throw the first KafkaError. */
export async function commitOffsets(
  cluster: Cluster,
  groupId: string,
  member: GroupMemberIdentity,
  offsets: readonly OffsetToCommit[],
  signal?: AbortSignal,
): Promise<void> {
  if (offsets.length === 0) return;
  const byTopic = new Map<string, OffsetToCommit[]>();
  for (const o of offsets) {
    let l = byTopic.get(o.topic);
    if (l === undefined) {
      l = [];
      byTopic.set(o.topic, l);
    }
    l.push(o);
  }
  const topics = [...byTopic].map(([name, list]) => ({
    name,
    partitions: list.map((o) => ({
      partitionIndex: o.partition,
      committedOffset: o.offset,
      committedLeaderEpoch: o.leaderEpoch ?? -1,
      committedMetadata: o.metadata ?? '',
    })),
  }));
  const firstError = (resp: { topics: { partitions: { errorCode: number }[] }[] }): number => {
    for (const t of resp.topics) for (const p of t.partitions) if (p.errorCode !== ErrorCode.NONE) return p.errorCode;
    return ErrorCode.NONE;
  };
  const resp = await sendToCoordinator(
    cluster,
    groupId,
    async (nodeId) => {
      const conn = await cluster.connectionToNode(nodeId, signal);
      const version = conn.versionFor(ApiKey.OffsetCommit);
      return conn.request(
        ApiKey.OffsetCommit,
        {
          groupId,
          generationIdOrMemberEpoch: member.generationId,
          memberId: member.memberId,
          groupInstanceId: member.groupInstanceId,
          topics,
        },
        { version, signal },
      );
    },
    firstError,
    signal,
  );
  for (const t of resp.topics) {
    for (const p of t.partitions) {
      if (p.errorCode !== ErrorCode.NONE)
        throw new KafkaError(p.errorCode, `OffsetCommit ${groupId} ${t.name}-${p.partitionIndex}`);
    }
  }
}

export function groupByTopicName(tps: readonly TopicPartition[]): [string, number[]][] {
  const m = new Map<string, number[]>();
  for (const tp of tps) {
    let l = m.get(tp.topic);
    if (l === undefined) {
      l = [];
      m.set(tp.topic, l);
    }
    l.push(tp.partition);
  }
  return [...m];
}
