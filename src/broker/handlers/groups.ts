// Consumer group APIs (classic protocol): FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups, OffsetDelete.
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import type { BrokerContext } from '../context.js';
import { defineHandler } from '../router.js';
import { endpointFor } from './common.js';

const KEY_TYPE_GROUP = 0;

interface CoordinatorLookup {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

async function findGroupCoordinator(
  broker: BrokerContext,
  key: string,
  keyType: number,
  listener: string,
): Promise<CoordinatorLookup> {
  const none = { nodeId: -1, host: '', port: -1 };
  if (keyType !== KEY_TYPE_GROUP) {
    return {
      ...none,
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      errorMessage: 'Transaction and share coordinators are not available on this broker',
    };
  }
  if (key === '')
    return { ...none, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'The group id must not be empty' };
  const partition = await broker.groupCoordinatorPartition(key);
  if (partition === null)
    return {
      ...none,
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      errorMessage: 'The coordinator is not available.',
    };
  const leader = broker.image().brokers.get(partition.leader);
  const e = leader && !leader.fenced ? endpointFor(leader, listener) : null;
  if (!e)
    return {
      ...none,
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      errorMessage: 'The coordinator is not available.',
    };
  return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: partition.leader, host: e.host, port: e.port };
}

export const findCoordinatorHandler = defineHandler({
  apiKey: ApiKey.FindCoordinator,
  minVersion: 0,
  maxVersion: 6,
  async handle(ctx, req) {
    const { broker, apiVersion } = ctx;
    if (apiVersion < 4) {
      const r = await findGroupCoordinator(broker, req.key, req.keyType, ctx.conn.listenerName);
      return { throttleTimeMs: 0, ...r };
    }
    const coordinators = [];
    for (const key of req.coordinatorKeys) {
      coordinators.push({ key, ...(await findGroupCoordinator(broker, key, req.keyType, ctx.conn.listenerName)) });
    }
    return { throttleTimeMs: 0, coordinators };
  },
});

export const joinGroupHandler = defineHandler({
  apiKey: ApiKey.JoinGroup,
  minVersion: 0,
  maxVersion: 9,
  async handle(ctx, req) {
    const r = await ctx.broker.groups.joinGroup({
      groupId: req.groupId,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      protocolType: req.protocolType,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
      reason: req.reason,
      clientId: ctx.header.clientId ?? '',
      clientHost: `/${ctx.conn.remoteAddress}`,
      apiVersion: ctx.apiVersion,
    });
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      generationId: r.generationId,
      protocolType: r.protocolType,
      // Before v7 the protocol name is not nullable.
      protocolName: ctx.apiVersion < 7 ? (r.protocolName ?? '') : r.protocolName,
      leader: r.leader,
      skipAssignment: r.skipAssignment,
      memberId: r.memberId,
      members: r.members,
    };
  },
});

export const syncGroupHandler = defineHandler({
  apiKey: ApiKey.SyncGroup,
  minVersion: 0,
  maxVersion: 5,
  async handle(ctx, req) {
    const r = await ctx.broker.groups.syncGroup({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      protocolType: req.protocolType,
      protocolName: req.protocolName,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
    });
    return { throttleTimeMs: 0, ...r };
  },
});

export const heartbeatHandler = defineHandler({
  apiKey: ApiKey.Heartbeat,
  minVersion: 0,
  maxVersion: 4,
  handle(ctx, req) {
    const errorCode = ctx.broker.groups.heartbeat(req.groupId, req.memberId, req.groupInstanceId, req.generationId);
    return { throttleTimeMs: 0, errorCode };
  },
});

export const leaveGroupHandler = defineHandler({
  apiKey: ApiKey.LeaveGroup,
  minVersion: 0,
  maxVersion: 5,
  handle(ctx, req) {
    const leaving =
      ctx.apiVersion >= 3
        ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: m.reason }))
        : [{ memberId: req.memberId, groupInstanceId: null, reason: null }];
    const r = ctx.broker.groups.leaveGroup(req.groupId, leaving);
    if (ctx.apiVersion < 3) {
      // One member per request: its error is the top-level error.
      return {
        throttleTimeMs: 0,
        errorCode: r.errorCode !== ErrorCode.NONE ? r.errorCode : (r.members[0]?.errorCode ?? ErrorCode.NONE),
      };
    }
    return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
  },
});

export const offsetCommitHandler = defineHandler({
  apiKey: ApiKey.OffsetCommit,
  minVersion: 0,
  maxVersion: 9,
  async handle(ctx, req) {
    const topics = await ctx.broker.groups.commitOffsets(
      req.groupId,
      req.memberId,
      req.groupInstanceId,
      req.generationIdOrMemberEpoch,
      req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch,
          metadata: p.committedMetadata,
        })),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
});

export const offsetFetchHandler = defineHandler({
  apiKey: ApiKey.OffsetFetch,
  minVersion: 0,
  maxVersion: 9,
  handle(ctx, req) {
    const groups = ctx.broker.groups;
    if (ctx.apiVersion >= 8) {
      return {
        throttleTimeMs: 0,
        groups: req.groups.map((g) => {
          const r = groups.fetchOffsets(g.groupId, g.topics);
          return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics };
        }),
      };
    }
    // v0 and v1 have no null topic list; their errors live on each partition.
    const requested = ctx.apiVersion < 2 && req.topics === null ? [] : req.topics;
    const r = groups.fetchOffsets(req.groupId, requested);
    if (ctx.apiVersion < 2 && r.errorCode !== ErrorCode.NONE) {
      return {
        throttleTimeMs: 0,
        topics: (req.topics ?? []).map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((p) => ({
            partitionIndex: p,
            committedOffset: -1,
            committedLeaderEpoch: -1,
            metadata: '',
            errorCode: r.errorCode,
          })),
        })),
      };
    }
    return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
  },
});

export const describeGroupsHandler = defineHandler({
  apiKey: ApiKey.DescribeGroups,
  minVersion: 0,
  maxVersion: 5,
  handle(ctx, req) {
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((id) => {
        const g = ctx.broker.groups.describeGroup(id);
        return {
          errorCode: g.errorCode,
          groupId: g.groupId,
          groupState: g.state,
          protocolType: g.protocolType,
          protocolData: g.protocolData,
          members: g.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: m.metadata,
            memberAssignment: m.assignment,
          })),
          authorizedOperations: req.includeAuthorizedOperations ? 0b11111000 : -2147483648,
        };
      }),
    };
  },
});

export const listGroupsHandler = defineHandler({
  apiKey: ApiKey.ListGroups,
  minVersion: 0,
  maxVersion: 5,
  handle(ctx, req) {
    const groups = ctx.broker.groups.listGroups(req.statesFilter, req.typesFilter);
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      groups: groups.map((g) => ({
        groupId: g.groupId,
        protocolType: g.protocolType,
        groupState: g.state,
        groupType: g.type,
      })),
    };
  },
});

export const deleteGroupsHandler = defineHandler({
  apiKey: ApiKey.DeleteGroups,
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, req) {
    return { throttleTimeMs: 0, results: await ctx.broker.groups.deleteGroups(req.groupsNames) };
  },
});

export const offsetDeleteHandler = defineHandler({
  apiKey: ApiKey.OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  async handle(ctx, req) {
    const r = await ctx.broker.groups.deleteOffsets(
      req.groupId,
      req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
    );
    return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
  },
});
