// ListOffsets, OffsetForLeaderEpoch and DeleteRecords: partition-level offset queries.
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import type { BrokerContext } from '../context.js';
import type { Partition } from '../replica-manager.js';
import { defineHandler } from '../router.js';
import { leaderEpochError } from './common.js';

export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;
export const EARLIEST_LOCAL_TIMESTAMP = -4;
export const LATEST_TIERED_TIMESTAMP = -5;
const DEBUGGING_REPLICA_ID = -2;

/** Finds the partition this broker leads, or the error to report. */
function leaderPartition(
  broker: BrokerContext,
  topicName: string,
  index: number,
  currentLeaderEpoch: number,
): Partition | number {
  const t = broker.image().topicsByName.get(topicName);
  if (!t || index < 0 || index >= t.partitions.length) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  const p = broker.replicas.getPartition(t.id, index);
  if (!p || p.leaderId !== broker.nodeId) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  const epochError = leaderEpochError(p, currentLeaderEpoch);
  return epochError === ErrorCode.NONE ? p : epochError;
}

export const listOffsetsHandler = defineHandler({
  apiKey: ApiKey.ListOffsets,
  // v0 returns the legacy offset array; Kafka 4 starts at v1 too.
  minVersion: 1,
  maxVersion: 10,
  handle(ctx, req) {
    const { broker } = ctx;
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((rp) => {
          const base = { partitionIndex: rp.partitionIndex, timestamp: -1, offset: -1, leaderEpoch: -1 };
          const found = leaderPartition(broker, t.name, rp.partitionIndex, rp.currentLeaderEpoch);
          if (typeof found === 'number') return { ...base, errorCode: found };
          const log = found.log;
          const hw = log.highWatermark;
          const upper = req.replicaId === DEBUGGING_REPLICA_ID ? log.logEndOffset : hw;
          const ts = rp.timestamp;
          let offset: number;
          let timestamp = -1;
          let epoch: number;
          if (ts === LATEST_TIMESTAMP) {
            offset = upper;
            epoch = found.leaderEpoch;
          } else if (ts === EARLIEST_TIMESTAMP || ts === EARLIEST_LOCAL_TIMESTAMP) {
            offset = log.logStartOffset;
            epoch = log.epochForOffset(offset);
          } else if (ts === MAX_TIMESTAMP) {
            const m = log.maxTimestamp();
            if (m === null || m.offset >= upper) return { ...base, errorCode: ErrorCode.NONE };
            offset = m.offset;
            timestamp = m.timestamp;
            epoch = m.leaderEpoch;
          } else if (ts === LATEST_TIERED_TIMESTAMP) {
            return { ...base, errorCode: ErrorCode.NONE };
          } else if (ts < 0) {
            return { ...base, errorCode: ErrorCode.INVALID_REQUEST };
          } else {
            const m = log.offsetForTimestamp(ts);
            if (m === null || m.offset >= upper) return { ...base, errorCode: ErrorCode.NONE };
            offset = m.offset;
            timestamp = m.timestamp;
            epoch = m.leaderEpoch;
          }
          return {
            partitionIndex: rp.partitionIndex,
            errorCode: ErrorCode.NONE,
            timestamp,
            offset,
            leaderEpoch: epoch,
          };
        }),
      })),
    };
  },
});

export const offsetForLeaderEpochHandler = defineHandler({
  apiKey: ApiKey.OffsetForLeaderEpoch,
  minVersion: 2,
  maxVersion: 4,
  handle(ctx, req) {
    const { broker } = ctx;
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((rp) => {
          const found = leaderPartition(broker, t.topic, rp.partition, rp.currentLeaderEpoch);
          if (typeof found === 'number') {
            return { errorCode: found, partition: rp.partition, leaderEpoch: -1, endOffset: -1 };
          }
          const r = found.log.endOffsetForEpoch(rp.leaderEpoch);
          return { errorCode: ErrorCode.NONE, partition: rp.partition, leaderEpoch: r.epoch, endOffset: r.endOffset };
        }),
      })),
    };
  },
});

export const deleteRecordsHandler = defineHandler({
  apiKey: ApiKey.DeleteRecords,
  minVersion: 0,
  maxVersion: 2,
  handle(ctx, req) {
    const { broker } = ctx;
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((rp) => {
          const found = leaderPartition(broker, t.name, rp.partitionIndex, -1);
          if (typeof found === 'number')
            return { partitionIndex: rp.partitionIndex, lowWatermark: -1, errorCode: found };
          const log = found.log;
          const hw = log.highWatermark;
          const target = rp.offset === -1 ? hw : rp.offset;
          if (target < 0 || target > hw) {
            return { partitionIndex: rp.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
          }
          if (target > log.logStartOffset) log.deleteRecordsBefore(target);
          return { partitionIndex: rp.partitionIndex, lowWatermark: log.logStartOffset, errorCode: ErrorCode.NONE };
        }),
      })),
    };
  },
});
