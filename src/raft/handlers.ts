// Request handlers for the quorum's APIs: Vote, BeginQuorumEpoch, EndQuorumEpoch, FetchSnapshot,
// DescribeQuorum, and Fetch of `__cluster_metadata`. Register them on the CONTROLLER listener's
// router; the broker's own Fetch handler hands metadata fetches to handleRaftFetch, and its
// DescribeQuorum (a broker-listener API too) can be this one: a node that does not lead forwards
// the question to the leader.

import { type ApiHandler, type ApiKeyNumber, defineHandler } from '../broker/router.js';
import { ErrorCode } from '../protocol/errors.js';
import type { DescribeQuorumResponseInit } from '../protocol/generated/api/describe-quorum.js';
import type { FetchResponseInit, FetchRequest as WireFetchRequest } from '../protocol/generated/api/fetch.js';
import { ApiKey } from '../protocol/generated/apis.js';
import {
  beginQuorumEpochRequestFromWire,
  beginQuorumEpochResponseToWire,
  endQuorumEpochRequestFromWire,
  endQuorumEpochResponseToWire,
  fetchRequestFromWire,
  fetchResponseToWire,
  fetchSnapshotRequestFromWire,
  fetchSnapshotResponseToWire,
  RAFT_HANDLER_VERSIONS,
  RAFT_PARTITION,
  RAFT_TOPIC,
  RAFT_TOPIC_ID,
  voteErrorToWire,
  voteRequestFromWire,
  voteResponseToWire,
} from './codec.js';
import type { RaftMetadataLog } from './raft-metadata-log.js';
import type { QuorumDescription } from './types.js';

type RaftGetter = () => RaftMetadataLog | null;

/** Answers a Fetch of `__cluster_metadata` (from a voter or an observer). */
export async function handleRaftFetch(
  raft: RaftMetadataLog | null,
  req: WireFetchRequest,
  apiVersion: number,
): Promise<FetchResponseInit> {
  const partitionError = (errorCode: number): FetchResponseInit => ({
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    sessionId: 0,
    responses: [
      {
        topic: RAFT_TOPIC,
        topicId: RAFT_TOPIC_ID,
        partitions: [{ partitionIndex: RAFT_PARTITION, errorCode, highWatermark: -1, records: Buffer.alloc(0) }],
      },
    ],
  });
  const request = apiVersion >= RAFT_HANDLER_VERSIONS.fetch.min ? fetchRequestFromWire(req, apiVersion) : null;
  // Only quorum members replicate the metadata log; to anyone else it does not exist.
  if (request === null || request.replicaId < 0) return partitionError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  if (raft === null) return partitionError(ErrorCode.BROKER_NOT_AVAILABLE);
  const res = await raft.handleRequest(request);
  if (res.type !== 'fetch') return partitionError(ErrorCode.UNKNOWN_SERVER_ERROR);
  return fetchResponseToWire(res, (id) => raft.endpointOf(id));
}

function describeToWire(d: QuorumDescription, raft: RaftMetadataLog): DescribeQuorumResponseInit {
  const state = (r: QuorumDescription['voters'][number]) => ({
    replicaId: r.replicaId,
    logEndOffset: r.logEndOffset,
    lastFetchTimestamp: r.lastFetchTimestampMs,
    lastCaughtUpTimestamp: r.lastCaughtUpTimestampMs,
  });
  return {
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    topics: [
      {
        topicName: RAFT_TOPIC,
        partitions: [
          {
            partitionIndex: RAFT_PARTITION,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            leaderId: d.leaderId,
            leaderEpoch: d.leaderEpoch,
            highWatermark: d.highWatermark,
            currentVoters: d.voters.map(state),
            observers: d.observers.map(state),
          },
        ],
      },
    ],
    nodes: d.voters.flatMap((v) => {
      const e = raft.endpointOf(v.replicaId);
      return e === null
        ? []
        : [{ nodeId: v.replicaId, listeners: [{ name: 'CONTROLLER', host: e.host, port: e.port }] }];
    }),
  };
}

/** The handlers, reading the node's RaftMetadataLog through `getRaft` (null before start-up). */
export function raftHandlers(getRaft: RaftGetter): {
  vote: ApiHandler<typeof ApiKey.Vote>;
  beginQuorumEpoch: ApiHandler<typeof ApiKey.BeginQuorumEpoch>;
  endQuorumEpoch: ApiHandler<typeof ApiKey.EndQuorumEpoch>;
  fetchSnapshot: ApiHandler<typeof ApiKey.FetchSnapshot>;
  describeQuorum: ApiHandler<typeof ApiKey.DescribeQuorum>;
  /** Fetch for a CONTROLLER listener, where only the metadata partition is served. */
  fetch: ApiHandler<typeof ApiKey.Fetch>;
  all: ApiHandler<ApiKeyNumber>[];
} {
  const V = RAFT_HANDLER_VERSIONS;
  const vote = defineHandler({
    apiKey: ApiKey.Vote,
    minVersion: V.vote.min,
    maxVersion: V.vote.max,
    async handle(_ctx, req) {
      const raft = getRaft();
      const request = voteRequestFromWire(req);
      if (request === null) return voteErrorToWire(ErrorCode.INVALID_REQUEST);
      if (raft === null) return voteErrorToWire(ErrorCode.BROKER_NOT_AVAILABLE);
      const res = await raft.handleRequest(request);
      if (res.type !== 'vote') return voteErrorToWire(ErrorCode.UNKNOWN_SERVER_ERROR);
      return voteResponseToWire(res, (id) => raft.endpointOf(id));
    },
  });
  const beginQuorumEpoch = defineHandler({
    apiKey: ApiKey.BeginQuorumEpoch,
    minVersion: V.beginQuorumEpoch.min,
    maxVersion: V.beginQuorumEpoch.max,
    async handle(_ctx, req) {
      const raft = getRaft();
      const request = beginQuorumEpochRequestFromWire(req);
      if (request === null) return { errorCode: ErrorCode.INVALID_REQUEST, topics: [] };
      if (raft === null) return { errorCode: ErrorCode.BROKER_NOT_AVAILABLE, topics: [] };
      const res = await raft.handleRequest(request);
      if (res.type !== 'beginQuorumEpoch') return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, topics: [] };
      return beginQuorumEpochResponseToWire(res, (id) => raft.endpointOf(id));
    },
  });
  const endQuorumEpoch = defineHandler({
    apiKey: ApiKey.EndQuorumEpoch,
    minVersion: V.endQuorumEpoch.min,
    maxVersion: V.endQuorumEpoch.max,
    async handle(ctx, req) {
      const raft = getRaft();
      const request = endQuorumEpochRequestFromWire(req, ctx.apiVersion);
      if (request === null) return { errorCode: ErrorCode.INVALID_REQUEST, topics: [] };
      if (raft === null) return { errorCode: ErrorCode.BROKER_NOT_AVAILABLE, topics: [] };
      const res = await raft.handleRequest(request);
      if (res.type !== 'endQuorumEpoch') return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, topics: [] };
      return endQuorumEpochResponseToWire(res, (id) => raft.endpointOf(id));
    },
  });
  const fetchSnapshot = defineHandler({
    apiKey: ApiKey.FetchSnapshot,
    minVersion: V.fetchSnapshot.min,
    maxVersion: V.fetchSnapshot.max,
    async handle(_ctx, req) {
      const raft = getRaft();
      const request = fetchSnapshotRequestFromWire(req);
      const fail = (errorCode: number) => ({ throttleTimeMs: 0, errorCode, topics: [] });
      if (request === null) return fail(ErrorCode.INVALID_REQUEST);
      if (raft === null) return fail(ErrorCode.BROKER_NOT_AVAILABLE);
      const res = await raft.handleRequest(request);
      if (res.type !== 'fetchSnapshot') return fail(ErrorCode.UNKNOWN_SERVER_ERROR);
      return fetchSnapshotResponseToWire(res, (id) => raft.endpointOf(id));
    },
  });
  const describeQuorum = defineHandler({
    apiKey: ApiKey.DescribeQuorum,
    minVersion: V.describeQuorum.min,
    maxVersion: V.describeQuorum.max,
    async handle(_ctx, req) {
      const raft = getRaft();
      const partitionError = (errorCode: number, leaderId = -1, leaderEpoch = -1): DescribeQuorumResponseInit => ({
        errorCode: ErrorCode.NONE,
        topics: [
          {
            topicName: RAFT_TOPIC,
            partitions: [
              {
                partitionIndex: RAFT_PARTITION,
                errorCode,
                leaderId,
                leaderEpoch,
                highWatermark: -1,
                currentVoters: [],
                observers: [],
              },
            ],
          },
        ],
      });
      const asked = req.topics.some(
        (t) => t.topicName === RAFT_TOPIC && t.partitions.some((p) => p.partitionIndex === RAFT_PARTITION),
      );
      if (!asked) return { errorCode: ErrorCode.INVALID_REQUEST, topics: [] };
      if (raft === null) return partitionError(ErrorCode.BROKER_NOT_AVAILABLE);
      const local = raft.describeQuorum();
      if (local !== null) return describeToWire(local, raft);
      try {
        const forwarded = await raft.forwardDescribeQuorum();
        if (forwarded !== null) return forwarded;
      } catch {
        // fall through: say who we think leads
      }
      return partitionError(ErrorCode.NOT_LEADER_OR_FOLLOWER, raft.leaderId(), raft.leaderEpoch());
    },
  });
  const fetch = defineHandler({
    apiKey: ApiKey.Fetch,
    minVersion: V.fetch.min,
    maxVersion: V.fetch.max,
    handle(ctx, req) {
      return handleRaftFetch(getRaft(), req, ctx.apiVersion);
    },
  });
  const all = [
    vote,
    beginQuorumEpoch,
    endQuorumEpoch,
    fetchSnapshot,
    describeQuorum,
    fetch,
  ] as ApiHandler<ApiKeyNumber>[];
  return { vote, beginQuorumEpoch, endQuorumEpoch, fetchSnapshot, describeQuorum, fetch, all };
}
