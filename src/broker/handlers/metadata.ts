// Metadata: brokers, cluster id, controller and topic/partition state, with auto-creation.

import { topicNameProblem } from '../../metadata/controller.js';
import type { MetadataImage, TopicImage } from '../../metadata/image.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { MetadataResponseMetadataResponseTopicInit } from '../../protocol/generated/api/metadata.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import { INTERNAL_TOPICS } from '../replica-manager.js';
import { defineHandler } from '../router.js';
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  brokersForListener,
  CLUSTER_ALL_OPERATIONS,
  TOPIC_ALL_OPERATIONS,
} from './common.js';

export function describeTopic(
  image: MetadataImage,
  t: TopicImage,
  includeOperations: boolean,
): MetadataResponseMetadataResponseTopicInit {
  const live = new Set([...image.brokers.values()].filter((b) => !b.fenced).map((b) => b.id));
  return {
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: t.id,
    isInternal: INTERNAL_TOPICS.has(t.name),
    partitions: t.partitions.map((p, i) => ({
      errorCode: p.leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
      partitionIndex: i,
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: p.replicas.slice(),
      isrNodes: p.isr.slice(),
      offlineReplicas: p.replicas.filter((r) => !live.has(r)),
    })),
    topicAuthorizedOperations: includeOperations ? TOPIC_ALL_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED,
  };
}

function missingTopic(
  name: string | null,
  topicId: string,
  errorCode: number,
): MetadataResponseMetadataResponseTopicInit {
  return { errorCode, name, topicId, isInternal: false, partitions: [] };
}

export const metadataHandler = defineHandler({
  apiKey: ApiKey.Metadata,
  minVersion: 0,
  maxVersion: 12,
  async handle(ctx, req) {
    const { broker, apiVersion } = ctx;
    const includeOps = req.includeTopicAuthorizedOperations;
    // v0: an empty list means all topics; v1+: null means all, empty means none.
    const allTopics = req.topics === null || (apiVersion === 0 && req.topics.length === 0);
    let image = broker.image();
    const topics: MetadataResponseMetadataResponseTopicInit[] = [];
    if (allTopics) {
      for (const t of image.topicsByName.values()) topics.push(describeTopic(image, t, includeOps));
    } else {
      const allowAutoCreate =
        (apiVersion < 4 || req.allowAutoTopicCreation) && broker.config.getBoolean('auto.create.topics.enable');
      const toCreate = (req.topics ?? [])
        .map((t) => t.name)
        .filter(
          (n): n is string =>
            n !== null && !image.topicsByName.has(n) && topicNameProblem(n) === null && !INTERNAL_TOPICS.has(n),
        );
      if (allowAutoCreate && toCreate.length > 0) {
        await broker.autoCreateTopics([...new Set(toCreate)]);
        image = broker.image();
      }
      for (const rt of req.topics ?? []) {
        if (rt.name === null) {
          const t = image.topicsById.get(rt.topicId);
          topics.push(
            t ? describeTopic(image, t, includeOps) : missingTopic(null, rt.topicId, ErrorCode.UNKNOWN_TOPIC_ID),
          );
          continue;
        }
        const t = image.topicsByName.get(rt.name);
        if (t) topics.push(describeTopic(image, t, includeOps));
        else if (topicNameProblem(rt.name) !== null)
          topics.push(missingTopic(rt.name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION));
        else topics.push(missingTopic(rt.name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
      }
    }
    return {
      throttleTimeMs: 0,
      brokers: brokersForListener(image, ctx.conn.listenerName),
      clusterId: broker.clusterId,
      controllerId: broker.metadataLog.leaderId(),
      topics,
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations
        ? CLUSTER_ALL_OPERATIONS
        : AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});
