// ElectLeaders, AlterPartitionReassignments and ListPartitionReassignments: partition
// placement and leadership changes, carried out by the active controller.
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import { defineHandler } from '../router.js';

export const electLeadersHandler = defineHandler({
  apiKey: ApiKey.ElectLeaders,
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, req) {
    const { broker } = ctx;
    const type = ctx.apiVersion >= 1 ? req.electionType : 0;
    if (type !== 0 && type !== 1) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: [] };
    }
    const results = await broker.controller.electLeaders(
      type,
      req.topicPartitions === null
        ? null
        : req.topicPartitions.map((t) => ({ topic: t.topic, partitions: t.partitions })),
    );
    await broker.awaitMetadata(broker.metadataLog.endOffset() - 1);
    const byTopic = new Map<string, { partitionId: number; errorCode: number; errorMessage: string | null }[]>();
    for (const r of results) {
      const list = byTopic.get(r.topic) ?? [];
      list.push({ partitionId: r.partitionId, errorCode: r.errorCode, errorMessage: r.errorMessage });
      byTopic.set(r.topic, list);
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      replicaElectionResults: [...byTopic].map(([topic, partitionResult]) => ({ topic, partitionResult })),
    };
  },
});

export const alterPartitionReassignmentsHandler = defineHandler({
  apiKey: ApiKey.AlterPartitionReassignments,
  minVersion: 0,
  maxVersion: 0,
  async handle(ctx, req) {
    const { broker } = ctx;
    const results = await broker.controller.alterPartitionReassignments(
      req.topics.flatMap((t) =>
        t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas })),
      ),
    );
    await broker.awaitMetadata(broker.metadataLog.endOffset() - 1);
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      responses: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          const r = results.find((x) => x.topic === t.name && x.partition === p.partitionIndex);
          return {
            partitionIndex: p.partitionIndex,
            errorCode: r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR,
            errorMessage: r?.errorMessage ?? null,
          };
        }),
      })),
    };
  },
});

export const listPartitionReassignmentsHandler = defineHandler({
  apiKey: ApiKey.ListPartitionReassignments,
  minVersion: 0,
  maxVersion: 0,
  async handle(ctx, req) {
    const ongoing = await ctx.broker.controller.listPartitionReassignments(
      req.topics === null ? null : req.topics.map((t) => ({ topic: t.name, partitions: t.partitionIndexes })),
    );
    const byTopic = new Map<
      string,
      { partitionIndex: number; replicas: number[]; addingReplicas: number[]; removingReplicas: number[] }[]
    >();
    for (const o of ongoing) {
      const list = byTopic.get(o.topic) ?? [];
      list.push({
        partitionIndex: o.partition,
        replicas: o.replicas,
        addingReplicas: o.adding,
        removingReplicas: o.removing,
      });
      byTopic.set(o.topic, list);
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    };
  },
});
