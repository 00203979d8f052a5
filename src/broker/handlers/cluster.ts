// DescribeCluster, DescribeTopicPartitions (KIP-966) and DescribeLogDirs.
import { statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { liveBrokers } from '../../metadata/image.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { DescribeLogDirsResponseDescribeLogDirsTopicInit } from '../../protocol/generated/api/describe-log-dirs.js';
import type {
  DescribeTopicPartitionsResponseCursorInit,
  DescribeTopicPartitionsResponseDescribeTopicPartitionsResponseTopicInit,
} from '../../protocol/generated/api/describe-topic-partitions.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import { INTERNAL_TOPICS } from '../replica-manager.js';
import { defineHandler } from '../router.js';
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  brokersForListener,
  CLUSTER_ALL_OPERATIONS,
  TOPIC_ALL_OPERATIONS,
} from './common.js';

const BROKER_ENDPOINT_TYPE = 1;

export const describeClusterHandler = defineHandler({
  apiKey: ApiKey.DescribeCluster,
  minVersion: 0,
  maxVersion: 1,
  handle(ctx, req) {
    const { broker } = ctx;
    if (req.endpointType !== BROKER_ENDPOINT_TYPE) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: `Endpoint type ${req.endpointType} is not supported by a broker listener`,
        endpointType: BROKER_ENDPOINT_TYPE,
        clusterId: broker.clusterId,
        brokers: [],
      };
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType: BROKER_ENDPOINT_TYPE,
      clusterId: broker.clusterId,
      controllerId: broker.metadataLog.leaderId(),
      brokers: brokersForListener(broker.image(), ctx.conn.listenerName).map((b) => ({
        brokerId: b.nodeId,
        host: b.host,
        port: b.port,
        rack: b.rack,
      })),
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations
        ? CLUSTER_ALL_OPERATIONS
        : AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});

export const describeTopicPartitionsHandler = defineHandler({
  apiKey: ApiKey.DescribeTopicPartitions,
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, req) {
    const image = ctx.broker.image();
    const live = new Set(liveBrokers(image).map((b) => b.id));
    // Topics are answered in name order; the cursor says where a previous page stopped.
    const names =
      req.topics.length > 0
        ? [...new Set(req.topics.map((t) => t.name))].sort()
        : [...image.topicsByName.keys()].sort();
    const cursor = req.cursor;
    let budget = Math.max(1, req.responsePartitionLimit);
    const topics: DescribeTopicPartitionsResponseDescribeTopicPartitionsResponseTopicInit[] = [];
    let nextCursor: DescribeTopicPartitionsResponseCursorInit | null = null;
    for (const name of names) {
      if (cursor && name < cursor.topicName) continue;
      const t = image.topicsByName.get(name);
      if (!t) {
        topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, topicId: ZERO_UUID, partitions: [] });
        continue;
      }
      const start = cursor && name === cursor.topicName ? cursor.partitionIndex : 0;
      const partitions = [];
      let i = start;
      for (; i < t.partitions.length && budget > 0; i++, budget--) {
        const p = t.partitions[i];
        if (!p) continue;
        partitions.push({
          errorCode: p.leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
          partitionIndex: i,
          leaderId: p.leader,
          leaderEpoch: p.leaderEpoch,
          replicaNodes: p.replicas.slice(),
          isrNodes: p.isr.slice(),
          eligibleLeaderReplicas: [],
          lastKnownElr: [],
          offlineReplicas: p.replicas.filter((r) => !live.has(r)),
        });
      }
      topics.push({
        errorCode: ErrorCode.NONE,
        name,
        topicId: t.id,
        isInternal: INTERNAL_TOPICS.has(name),
        partitions,
        topicAuthorizedOperations: TOPIC_ALL_OPERATIONS,
      });
      if (i < t.partitions.length) {
        nextCursor = { topicName: name, partitionIndex: i };
        break;
      }
      if (budget === 0) {
        const nextName = names[names.indexOf(name) + 1];
        if (nextName !== undefined) nextCursor = { topicName: nextName, partitionIndex: 0 };
        break;
      }
    }
    return { throttleTimeMs: 0, topics, nextCursor };
  },
});

export const describeLogDirsHandler = defineHandler({
  apiKey: ApiKey.DescribeLogDirs,
  minVersion: 1,
  maxVersion: 4,
  handle(ctx, req) {
    const { broker } = ctx;
    const wanted =
      req.topics === null ? null : new Map(req.topics.map((t) => [t.topic, new Set(t.partitions)] as const));
    const results = broker.logs.logDirs.map((dir) => {
      const abs = resolve(dir);
      const byTopic = new Map<string, DescribeLogDirsResponseDescribeLogDirsTopicInit>();
      for (const p of broker.replicas.allPartitions()) {
        if (resolve(dirname(p.log.dir)) !== abs) continue;
        if (wanted) {
          const parts = wanted.get(p.topic);
          if (!parts?.has(p.index)) continue;
        }
        let entry = byTopic.get(p.topic);
        if (!entry) {
          entry = { name: p.topic, partitions: [] };
          byTopic.set(p.topic, entry);
        }
        entry.partitions.push({
          partitionIndex: p.index,
          partitionSize: p.log.sizeBytes,
          offsetLag: 0,
          isFutureKey: false,
        });
      }
      let totalBytes = -1;
      let usableBytes = -1;
      try {
        const s = statfsSync(abs);
        totalBytes = s.blocks * s.bsize;
        usableBytes = s.bavail * s.bsize;
      } catch {
        // Leave -1 (unknown), as Kafka does when it cannot tell.
      }
      return { errorCode: ErrorCode.NONE, logDir: abs, topics: [...byTopic.values()], totalBytes, usableBytes };
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, results };
  },
});
