// The admin client: topics, partitions, configs, groups and their offsets, records, cluster.
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/apis.js';
import { type ClientOptions, Cluster, type PartitionMetadata } from './cluster.js';
import { decodeAssignment, decodeSubscription, type TopicPartition } from './consumer/assignors.js';
import { ClientError, isRetriableError } from './errors.js';
import {
  type CommittedOffset,
  commitOffsets,
  EARLIEST_TIMESTAMP,
  fetchCommittedOffsets,
  LATEST_TIMESTAMP,
  listOffsets,
  type OffsetAndTimestamp,
  sendToCoordinator,
  tpKey,
} from './offsets.js';
import { sleep, withRetries } from './util.js';

export type AdminOptions = ClientOptions;

export interface NewTopic {
  name: string;
  /** -1 (default) lets the broker use num.partitions. */
  numPartitions?: number;
  /** -1 (default) lets the broker use default.replication.factor. */
  replicationFactor?: number;
  /** Explicit replica placement per partition (then leave counts at -1). */
  assignments?: { partition: number; brokerIds: number[] }[];
  configs?: Record<string, string>;
}

export interface CreateTopicResult {
  name: string;
  topicId: string;
  /** False when the topic already existed. */
  created: boolean;
  numPartitions: number;
  replicationFactor: number;
}

export interface TopicDescription {
  name: string;
  topicId: string;
  isInternal: boolean;
  partitions: PartitionMetadata[];
}

export type ConfigResourceType = 'topic' | 'broker' | 'broker-logger' | 'client-metrics' | 'group';
const RESOURCE_TYPE: Record<ConfigResourceType, number> = {
  topic: 2,
  broker: 4,
  'broker-logger': 8,
  'client-metrics': 16,
  group: 32,
};

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  /** Kafka's ConfigSource code (1 dynamic topic, 5 static broker, 6 default, ...). */
  source: number;
  isSensitive: boolean;
}

export type AlterConfigOp = 'set' | 'delete' | 'append' | 'subtract';
const ALTER_OP: Record<AlterConfigOp, number> = { set: 0, delete: 1, append: 2, subtract: 3 };

export interface GroupListing {
  groupId: string;
  protocolType: string;
  state: string;
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Subscribed topics, when the group is a consumer group. */
  topics: string[];
  assignment: TopicPartition[];
}

export interface GroupDescription {
  groupId: string;
  state: string;
  protocolType: string;
  /** The chosen assignor for consumer groups. */
  protocol: string;
  members: GroupMemberDescription[];
}

export interface ClusterDescription {
  clusterId: string | null;
  controllerId: number;
  brokers: { nodeId: number; host: string; port: number; rack: string | null }[];
}

export interface PartitionOffsets {
  partition: number;
  /** Log start offset. */
  low: number;
  /** High watermark (next offset to be written). */
  high: number;
}

export class Admin {
  readonly cluster: Cluster;
  private connected: Promise<void> | null = null;

  constructor(opts: AdminOptions) {
    // Looking a topic up must never create it (Java's admin client asks the same).
    this.cluster = new Cluster({ ...opts, allowAutoTopicCreation: opts.allowAutoTopicCreation ?? false });
  }

  connect(): Promise<void> {
    this.connected ??= this.cluster.connect().catch((err) => {
      this.connected = null;
      throw err;
    });
    return this.connected;
  }

  close(): Promise<void> {
    return this.cluster.close();
  }

  private get timeoutMs(): number {
    return this.cluster.options.requestTimeoutMs;
  }

  /** Retries on a retriable error, refreshing metadata first (the controller may have moved). */
  private retry<T>(fn: () => Promise<T>): Promise<T> {
    return withRetries(fn, {
      ...this.cluster.retryOptions(),
      onRetry: () => this.cluster.refreshMetadata().catch(() => {}),
    });
  }

  // ---- topics

  /** Creates topics; existing ones are reported with created=false. Waits until leaders exist. */
  async createTopics(
    topics: readonly NewTopic[],
    opts: { validateOnly?: boolean; waitForLeaders?: boolean; timeoutMs?: number } = {},
  ): Promise<CreateTopicResult[]> {
    await this.connect();
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const results = await this.retry(async () => {
      const resp = await this.cluster.sendToController(
        ApiKey.CreateTopics,
        {
          topics: topics.map((t) => ({
            name: t.name,
            numPartitions: t.assignments ? -1 : (t.numPartitions ?? -1),
            replicationFactor: t.assignments ? -1 : (t.replicationFactor ?? -1),
            assignments: (t.assignments ?? []).map((a) => ({ partitionIndex: a.partition, brokerIds: a.brokerIds })),
            configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
          })),
          timeoutMs,
          validateOnly: opts.validateOnly ?? false,
        },
        { timeoutMs: timeoutMs + this.timeoutMs },
      );
      const out: CreateTopicResult[] = [];
      for (const r of resp.topics) {
        if (r.errorCode === ErrorCode.NOT_CONTROLLER) throw new KafkaError(r.errorCode, r.errorMessage ?? r.name);
        if (r.errorCode !== ErrorCode.NONE && r.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
          throw new KafkaError(r.errorCode, `create topic ${r.name}: ${r.errorMessage ?? ''}`.trim());
        }
        out.push({
          name: r.name,
          topicId: r.topicId,
          created: r.errorCode === ErrorCode.NONE,
          numPartitions: r.numPartitions,
          replicationFactor: r.replicationFactor,
        });
      }
      return out;
    });
    if (opts.waitForLeaders !== false && !opts.validateOnly) await this.waitForLeaders(topics.map((t) => t.name));
    return results;
  }

  /** Waits until metadata shows every partition of the topics with a leader. */
  async waitForLeaders(topics: readonly string[], timeoutMs = this.timeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.cluster.refreshMetadata(topics).catch(() => {});
      const ready = topics.every((t) => {
        const md = this.cluster.topic(t);
        return (
          md !== undefined &&
          md.errorCode === ErrorCode.NONE &&
          md.partitions.length > 0 &&
          md.partitions.every((p) => p && p.leader >= 0)
        );
      });
      if (ready) return;
      if (Date.now() > deadline) throw new ClientError(`topics ${topics.join(', ')} have no leaders yet`, true);
      await sleep(100);
    }
  }

  async deleteTopics(names: readonly string[], opts: { timeoutMs?: number } = {}): Promise<void> {
    await this.connect();
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    await this.retry(async () => {
      const conn = await this.cluster.anyConnection();
      const version = conn.versionFor(ApiKey.DeleteTopics);
      const body =
        version >= 6 ? { topics: names.map((name) => ({ name })), timeoutMs } : { topicNames: [...names], timeoutMs };
      const resp = await this.cluster.sendToController(ApiKey.DeleteTopics, body, {
        version,
        timeoutMs: timeoutMs + this.timeoutMs,
      });
      for (const r of resp.responses) {
        if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `delete topic ${r.name}`);
      }
    });
    await this.cluster.refreshMetadata().catch(() => {});
  }

  /** Names of all topics (internal ones only when asked). */
  async listTopics(opts: { includeInternal?: boolean } = {}): Promise<string[]> {
    await this.connect();
    await this.retry(() => this.cluster.refreshMetadata(null));
    return this.cluster
      .knownTopics()
      .filter((t) => opts.includeInternal || !this.cluster.topic(t)?.isInternal)
      .sort();
  }

  async describeTopics(names: readonly string[]): Promise<TopicDescription[]> {
    await this.connect();
    await this.retry(() => this.cluster.refreshMetadata(names));
    return names.map((name) => {
      const t = this.cluster.topic(name);
      if (t === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name);
      if (t.errorCode !== ErrorCode.NONE) throw new KafkaError(t.errorCode, name);
      return {
        name,
        topicId: t.topicId,
        isInternal: t.isInternal,
        partitions: t.partitions.filter((p) => p !== undefined),
      };
    });
  }

  /** Raises partition counts (partitions can only be added). */
  async createPartitions(
    requests: readonly { topic: string; count: number; assignments?: number[][] }[],
    opts: { validateOnly?: boolean; timeoutMs?: number } = {},
  ): Promise<void> {
    await this.connect();
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    await this.retry(async () => {
      const resp = await this.cluster.sendToController(
        ApiKey.CreatePartitions,
        {
          topics: requests.map((r) => ({
            name: r.topic,
            count: r.count,
            assignments: r.assignments ? r.assignments.map((brokerIds) => ({ brokerIds })) : null,
          })),
          timeoutMs,
          validateOnly: opts.validateOnly ?? false,
        },
        { timeoutMs: timeoutMs + this.timeoutMs },
      );
      for (const r of resp.results) {
        if (r.errorCode !== ErrorCode.NONE)
          throw new KafkaError(r.errorCode, `${r.name}: ${r.errorMessage ?? ''}`.trim());
      }
    });
    if (!opts.validateOnly) await this.cluster.refreshMetadata(requests.map((r) => r.topic)).catch(() => {});
  }

  // ---- configs

  async describeConfigs(
    resources: readonly { type: ConfigResourceType; name: string; configNames?: string[] }[],
  ): Promise<{ type: ConfigResourceType; name: string; configs: ConfigEntry[] }[]> {
    await this.connect();
    // Broker resources are answered by that broker; the rest by any.
    const groups = new Map<number, typeof resources>();
    for (const r of resources) {
      const node = r.type === 'broker' || r.type === 'broker-logger' ? Number(r.name) : -1;
      groups.set(node, [...(groups.get(node) ?? []), r]);
    }
    const out: { type: ConfigResourceType; name: string; configs: ConfigEntry[] }[] = [];
    await Promise.all(
      [...groups].map(([node, list]) =>
        this.retry(async () => {
          const body = {
            resources: list.map((r) => ({
              resourceType: RESOURCE_TYPE[r.type],
              resourceName: r.name,
              configurationKeys: r.configNames ?? null,
            })),
            includeSynonyms: false,
            includeDocumentation: false,
          };
          const resp =
            node >= 0
              ? await this.cluster.sendTo(node, ApiKey.DescribeConfigs, body)
              : await this.cluster.sendAny(ApiKey.DescribeConfigs, body);
          for (const r of resp.results) {
            if (r.errorCode !== ErrorCode.NONE)
              throw new KafkaError(r.errorCode, `${r.resourceName}: ${r.errorMessage ?? ''}`.trim());
            const type =
              (Object.keys(RESOURCE_TYPE) as ConfigResourceType[]).find((k) => RESOURCE_TYPE[k] === r.resourceType) ??
              'topic';
            out.push({
              type,
              name: r.resourceName,
              configs: r.configs.map((c) => ({
                name: c.name,
                value: c.value,
                readOnly: c.readOnly,
                isDefault: c.isDefault || c.configSource === 5,
                source: c.configSource,
                isSensitive: c.isSensitive,
              })),
            });
          }
        }),
      ),
    );
    return out;
  }

  /** Changes configs incrementally (KIP-339): only the named keys change. */
  async alterConfigs(
    resources: readonly {
      type: ConfigResourceType;
      name: string;
      configs: { name: string; value?: string | null; op?: AlterConfigOp }[];
    }[],
    opts: { validateOnly?: boolean } = {},
  ): Promise<void> {
    await this.connect();
    const groups = new Map<number, typeof resources>();
    for (const r of resources) {
      const node = r.type === 'broker' || r.type === 'broker-logger' ? Number(r.name) : -1;
      groups.set(node, [...(groups.get(node) ?? []), r]);
    }
    await Promise.all(
      [...groups].map(([node, list]) =>
        this.retry(async () => {
          const body = {
            resources: list.map((r) => ({
              resourceType: RESOURCE_TYPE[r.type],
              resourceName: r.name,
              configs: r.configs.map((c) => ({
                name: c.name,
                configOperation: ALTER_OP[c.op ?? 'set'],
                value: c.value ?? null,
              })),
            })),
            validateOnly: opts.validateOnly ?? false,
          };
          const resp =
            node >= 0
              ? await this.cluster.sendTo(node, ApiKey.IncrementalAlterConfigs, body)
              : await this.cluster.sendAny(ApiKey.IncrementalAlterConfigs, body);
          for (const r of resp.responses) {
            if (r.errorCode !== ErrorCode.NONE)
              throw new KafkaError(r.errorCode, `${r.resourceName}: ${r.errorMessage ?? ''}`.trim());
          }
        }),
      ),
    );
  }

  // ---- groups

  /** Groups known to any broker (each broker lists the groups it coordinates). */
  async listGroups(): Promise<GroupListing[]> {
    await this.connect();
    const brokers = this.cluster.brokers();
    const lists = await Promise.all(
      brokers.map((b) =>
        this.retry(async () => {
          const resp = await this.cluster.sendTo(b.nodeId, ApiKey.ListGroups, { statesFilter: [], typesFilter: [] });
          if (resp.errorCode !== ErrorCode.NONE) throw new KafkaError(resp.errorCode, `ListGroups on ${b.nodeId}`);
          return resp.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState }));
        }),
      ),
    );
    const seen = new Map<string, GroupListing>();
    for (const l of lists) for (const g of l) seen.set(g.groupId, g);
    return [...seen.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
  }

  async describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    await this.connect();
    return Promise.all(
      groupIds.map(async (groupId) => {
        const resp = await sendToCoordinator(
          this.cluster,
          groupId,
          (node) => this.cluster.sendTo(node, ApiKey.DescribeGroups, { groups: [groupId] }),
          (r) => r.groups[0]?.errorCode ?? ErrorCode.NONE,
        );
        const g = resp.groups[0];
        if (g === undefined) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `no description for ${groupId}`);
        if (g.errorCode !== ErrorCode.NONE) throw new KafkaError(g.errorCode, `describe group ${groupId}`);
        const consumer = g.protocolType === 'consumer';
        return {
          groupId: g.groupId,
          state: g.groupState,
          protocolType: g.protocolType,
          protocol: g.protocolData,
          members: g.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            topics:
              consumer && m.memberMetadata.length > 0
                ? safe(() => decodeSubscription(m.memberMetadata).topics, [])
                : [],
            assignment: consumer ? safe(() => decodeAssignment(m.memberAssignment).partitions, []) : [],
          })),
        };
      }),
    );
  }

  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    await this.connect();
    await Promise.all(
      groupIds.map(async (groupId) => {
        const resp = await sendToCoordinator(
          this.cluster,
          groupId,
          (node) => this.cluster.sendTo(node, ApiKey.DeleteGroups, { groupsNames: [groupId] }),
          (r) => r.results[0]?.errorCode ?? ErrorCode.NONE,
        );
        for (const r of resp.results)
          if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `delete group ${r.groupId}`);
      }),
    );
  }

  /** A group's committed offsets; all partitions it has committed when `partitions` is omitted. */
  async fetchOffsets(
    groupId: string,
    partitions?: readonly TopicPartition[],
  ): Promise<(TopicPartition & CommittedOffset)[]> {
    await this.connect();
    const m = await fetchCommittedOffsets(this.cluster, groupId, partitions ?? null);
    return [...m.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  /**
   * Sets a group's offsets (the group must have no active members): explicit offsets, or
   * every partition of a topic to its earliest or latest offset.
   */
  async setOffsets(groupId: string, offsets: readonly (TopicPartition & { offset: number })[]): Promise<void> {
    await this.connect();
    await commitOffsets(this.cluster, groupId, { generationId: -1, memberId: '', groupInstanceId: null }, offsets);
  }

  async resetOffsets(groupId: string, topic: string, to: 'earliest' | 'latest'): Promise<void> {
    const offsets = await this.fetchTopicOffsets(topic);
    await this.setOffsets(
      groupId,
      offsets.map((o) => ({ topic, partition: o.partition, offset: to === 'earliest' ? o.low : o.high })),
    );
  }

  // ---- records and offsets

  /** Low and high watermarks of every partition of a topic. */
  async fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]> {
    await this.connect();
    await this.cluster.ensureTopics([topic]);
    const count = this.cluster.partitionCount(topic);
    const parts = Array.from({ length: count }, (_, partition) => partition);
    const [low, high] = await Promise.all([
      listOffsets(
        this.cluster,
        parts.map((partition) => ({ topic, partition, timestamp: EARLIEST_TIMESTAMP })),
      ),
      listOffsets(
        this.cluster,
        parts.map((partition) => ({ topic, partition, timestamp: LATEST_TIMESTAMP })),
      ),
    ]);
    return parts.map((partition) => ({
      partition,
      low: (low.get(tpKey(topic, partition)) as OffsetAndTimestamp).offset,
      high: (high.get(tpKey(topic, partition)) as OffsetAndTimestamp).offset,
    }));
  }

  /** For each partition, the earliest offset whose timestamp is at or after `timestamp` (-1 if none). */
  async fetchTopicOffsetsByTimestamp(
    topic: string,
    timestamp: number,
  ): Promise<{ partition: number; offset: number }[]> {
    await this.connect();
    await this.cluster.ensureTopics([topic]);
    const count = this.cluster.partitionCount(topic);
    const parts = Array.from({ length: count }, (_, partition) => partition);
    const found = await listOffsets(
      this.cluster,
      parts.map((partition) => ({ topic, partition, timestamp })),
    );
    return parts.map((partition) => ({ partition, offset: found.get(tpKey(topic, partition))?.offset ?? -1 }));
  }

  /** Deletes records before the given offsets (-1: up to the high watermark). Returns new low watermarks. */
  async deleteRecords(
    topic: string,
    partitions: readonly { partition: number; offset: number }[],
    opts: { timeoutMs?: number } = {},
  ): Promise<{ partition: number; lowWatermark: number }[]> {
    await this.connect();
    await this.cluster.ensureTopics([topic]);
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const out = new Map<number, number>();
    let pending = [...partitions];
    await this.retry(async () => {
      const byLeader = new Map<number, { partition: number; offset: number }[]>();
      for (const p of pending) {
        const leader = this.cluster.leaderFor(topic, p.partition);
        if (leader < 0) throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `${topic}-${p.partition}`);
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
      }
      const failed: { partition: number; offset: number }[] = [];
      let lastErr: unknown;
      await Promise.all(
        [...byLeader].map(async ([leader, list]) => {
          try {
            const resp = await this.cluster.sendTo(
              leader,
              ApiKey.DeleteRecords,
              {
                topics: [
                  { name: topic, partitions: list.map((p) => ({ partitionIndex: p.partition, offset: p.offset })) },
                ],
                timeoutMs,
              },
              { timeoutMs: timeoutMs + this.timeoutMs },
            );
            for (const t of resp.topics) {
              for (const p of t.partitions) {
                if (p.errorCode === ErrorCode.NONE) out.set(p.partitionIndex, p.lowWatermark);
                else {
                  const err = new KafkaError(p.errorCode, `delete records ${topic}-${p.partitionIndex}`);
                  if (!err.retriable) throw err;
                  lastErr = err;
                  failed.push(
                    list.find((x) => x.partition === p.partitionIndex) as { partition: number; offset: number },
                  );
                }
              }
            }
          } catch (err) {
            if (!isRetriableError(err)) throw err;
            lastErr = err;
            failed.push(...list);
          }
        }),
      );
      pending = failed;
      if (failed.length > 0) throw lastErr;
    });
    return [...out]
      .map(([partition, lowWatermark]) => ({ partition, lowWatermark }))
      .sort((a, b) => a.partition - b.partition);
  }

  /** Brokers, controller and cluster id (DescribeCluster when supported, else Metadata). */
  async describeCluster(): Promise<ClusterDescription> {
    await this.connect();
    return this.retry(async () => {
      const conn = await this.cluster.anyConnection();
      if (conn.supports(ApiKey.DescribeCluster)) {
        const resp = await conn.request(ApiKey.DescribeCluster, { includeClusterAuthorizedOperations: false });
        if (resp.errorCode !== ErrorCode.NONE)
          throw new KafkaError(resp.errorCode, resp.errorMessage ?? 'DescribeCluster');
        return {
          clusterId: resp.clusterId,
          controllerId: resp.controllerId,
          brokers: resp.brokers.map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack })),
        };
      }
      await this.cluster.refreshMetadata([]);
      return {
        clusterId: this.cluster.clusterId,
        controllerId: this.cluster.controllerId,
        brokers: this.cluster.brokers().map((b) => ({ ...b })),
      };
    });
  }
}

function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}
