// Maps the Raft state machine's messages to Kafka's wire messages and back: Vote,
// BeginQuorumEpoch, EndQuorumEpoch, Fetch and FetchSnapshot for `__cluster_metadata` partition 0.
//
// Pre-vote (KIP-996): the Vote versions in these specs (0-1) predate Kafka's PreVote field, so
// Eddy carries it in VoteRequest.Topics[].Partitions[] as tagged field PRE_VOTE_TAG holding one
// byte (1 = pre-vote). Eddy's quorum talks only to Eddy; a node that ignores the tag would treat a
// pre-vote as a real vote, which is safe (only less careful about disruption).
import { ErrorCode } from '../protocol/errors.js';
import type {
  BeginQuorumEpochRequestInit,
  BeginQuorumEpochResponseInit,
  BeginQuorumEpochRequest as WireBeginQuorumEpochRequest,
  BeginQuorumEpochResponse as WireBeginQuorumEpochResponse,
} from '../protocol/generated/api/begin-quorum-epoch.js';
import type {
  EndQuorumEpochRequestInit,
  EndQuorumEpochResponseInit,
  EndQuorumEpochRequest as WireEndQuorumEpochRequest,
  EndQuorumEpochResponse as WireEndQuorumEpochResponse,
} from '../protocol/generated/api/end-quorum-epoch.js';
import type {
  FetchRequestInit,
  FetchResponseInit,
  FetchResponsePartitionDataInit,
  FetchRequest as WireFetchRequest,
  FetchResponse as WireFetchResponse,
} from '../protocol/generated/api/fetch.js';
import type {
  FetchSnapshotRequestInit,
  FetchSnapshotResponseInit,
  FetchSnapshotRequest as WireFetchSnapshotRequest,
  FetchSnapshotResponse as WireFetchSnapshotResponse,
} from '../protocol/generated/api/fetch-snapshot.js';
import type {
  VoteRequestInit,
  VoteResponseInit,
  VoteRequest as WireVoteRequest,
  VoteResponse as WireVoteResponse,
} from '../protocol/generated/api/vote.js';
import { ApiKey } from '../protocol/generated/apis.js';
import {
  type BeginQuorumEpochRequest,
  type BeginQuorumEpochResponse,
  type EndQuorumEpochRequest,
  type EndQuorumEpochResponse,
  type FetchRequest,
  type FetchResponse,
  type FetchSnapshotRequest,
  type FetchSnapshotResponse,
  NO_ID,
  type VoteRequest,
  type VoteResponse,
} from './types.js';

/** The metadata partition Raft replicates (Kafka's names and fixed topic id). */
export const RAFT_TOPIC = '__cluster_metadata';
export const RAFT_TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';
export const RAFT_PARTITION = 0;

/** Tagged field of VoteRequest partition data carrying Eddy's pre-vote flag (see the header). */
export const PRE_VOTE_TAG = 10_000;

/** The versions Eddy sends. */
export const RAFT_REQUEST_VERSIONS = {
  vote: 1,
  beginQuorumEpoch: 1,
  endQuorumEpoch: 1,
  fetch: 17,
  fetchSnapshot: 1,
} as const;

/** The versions Eddy's raft handlers accept (Fetch needs v12+ for epochs and divergence). */
export const RAFT_HANDLER_VERSIONS = {
  vote: { min: 0, max: 1 },
  beginQuorumEpoch: { min: 0, max: 1 },
  endQuorumEpoch: { min: 0, max: 1 },
  fetch: { min: 12, max: 17 },
  fetchSnapshot: { min: 0, max: 1 },
  describeQuorum: { min: 0, max: 2 },
} as const;

export interface Endpoint {
  host: string;
  port: number;
}

/** A node's address on the controller listener, when known. */
export type EndpointLookup = (nodeId: number) => Endpoint | null;

function nodeEndpoints(leaderId: number, lookup: EndpointLookup | undefined) {
  const e = leaderId >= 0 && lookup ? lookup(leaderId) : null;
  return e === null ? [] : [{ nodeId: leaderId, host: e.host, port: e.port }];
}

/** Records the leader endpoints a response carries (how an observer finds an unknown leader). */
export function collectEndpoints(
  list: readonly { nodeId: number; host: string; port: number }[] | undefined,
  into: Map<number, Endpoint>,
): void {
  for (const e of list ?? []) if (e.nodeId >= 0 && e.port > 0) into.set(e.nodeId, { host: e.host, port: e.port });
}

/** Finds partition 0 of the metadata topic in a request's topic list. */
function metadataPartition<P extends { partitionIndex?: number; partition?: number; index?: number }>(
  topics: readonly { topicName?: string; name?: string; topic?: string; topicId?: string; partitions: readonly P[] }[],
): P | null {
  for (const t of topics) {
    const name = t.topicName ?? t.name ?? t.topic;
    if (name !== RAFT_TOPIC && t.topicId !== RAFT_TOPIC_ID) continue;
    for (const p of t.partitions) if ((p.partitionIndex ?? p.partition ?? p.index) === RAFT_PARTITION) return p;
  }
  return null;
}

// ---- Vote --------------------------------------------------------------------------------------

export function voteRequestToWire(req: VoteRequest): VoteRequestInit {
  return {
    clusterId: req.clusterId,
    voterId: req.voterId,
    topics: [
      {
        topicName: RAFT_TOPIC,
        partitions: [
          {
            partitionIndex: RAFT_PARTITION,
            candidateEpoch: req.candidateEpoch,
            candidateId: req.candidateId,
            lastOffsetEpoch: req.lastOffsetEpoch,
            lastOffset: req.lastOffset,
            _unknownTaggedFields: req.preVote ? [{ tag: PRE_VOTE_TAG, data: Buffer.from([1]) }] : undefined,
          },
        ],
      },
    ],
  };
}

export function voteRequestFromWire(body: WireVoteRequest): VoteRequest | null {
  const p = metadataPartition(body.topics);
  if (p === null) return null;
  const tag = p._unknownTaggedFields?.find((f) => f.tag === PRE_VOTE_TAG);
  return {
    type: 'vote',
    clusterId: body.clusterId,
    candidateId: p.candidateId,
    candidateEpoch: p.candidateEpoch,
    lastOffsetEpoch: p.lastOffsetEpoch,
    lastOffset: p.lastOffset,
    preVote: tag !== undefined && tag.data.length > 0 && tag.data[0] === 1,
    voterId: body.voterId,
  };
}

export function voteResponseToWire(res: VoteResponse, lookup?: EndpointLookup): VoteResponseInit {
  return {
    errorCode: ErrorCode.NONE,
    topics: [
      {
        topicName: RAFT_TOPIC,
        partitions: [
          {
            partitionIndex: RAFT_PARTITION,
            errorCode: res.errorCode,
            leaderId: res.leaderId,
            leaderEpoch: res.leaderEpoch,
            voteGranted: res.voteGranted,
          },
        ],
      },
    ],
    nodeEndpoints: nodeEndpoints(res.leaderId, lookup),
  };
}

export function voteResponseFromWire(body: WireVoteResponse): VoteResponse {
  const p = metadataPartition(body.topics);
  return {
    type: 'vote',
    errorCode:
      body.errorCode !== ErrorCode.NONE ? body.errorCode : (p?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    leaderId: p?.leaderId ?? NO_ID,
    leaderEpoch: p?.leaderEpoch ?? -1,
    voteGranted: p?.voteGranted ?? false,
  };
}

/** A whole-request error answer (the request did not name the metadata partition, or failed). */
export function voteErrorToWire(errorCode: number): VoteResponseInit {
  return { errorCode, topics: [] };
}

// ---- BeginQuorumEpoch ----------------------------------------------------------------------

export function beginQuorumEpochRequestToWire(
  req: BeginQuorumEpochRequest,
  lookup?: EndpointLookup,
): BeginQuorumEpochRequestInit {
  const e = lookup?.(req.leaderId) ?? null;
  return {
    clusterId: req.clusterId,
    voterId: req.voterId,
    topics: [
      {
        topicName: RAFT_TOPIC,
        partitions: [{ partitionIndex: RAFT_PARTITION, leaderId: req.leaderId, leaderEpoch: req.leaderEpoch }],
      },
    ],
    leaderEndpoints: e === null ? [] : [{ name: 'CONTROLLER', host: e.host, port: e.port }],
  };
}

export function beginQuorumEpochRequestFromWire(body: WireBeginQuorumEpochRequest): BeginQuorumEpochRequest | null {
  const p = metadataPartition(body.topics);
  if (p === null) return null;
  return {
    type: 'beginQuorumEpoch',
    clusterId: body.clusterId,
    leaderId: p.leaderId,
    leaderEpoch: p.leaderEpoch,
    voterId: body.voterId,
  };
}

export function beginQuorumEpochResponseToWire(
  res: BeginQuorumEpochResponse,
  lookup?: EndpointLookup,
): BeginQuorumEpochResponseInit {
  return {
    errorCode: ErrorCode.NONE,
    topics: [
      {
        topicName: RAFT_TOPIC,
        partitions: [
          {
            partitionIndex: RAFT_PARTITION,
            errorCode: res.errorCode,
            leaderId: res.leaderId,
            leaderEpoch: res.leaderEpoch,
          },
        ],
      },
    ],
    nodeEndpoints: nodeEndpoints(res.leaderId, lookup),
  };
}

export function beginQuorumEpochResponseFromWire(body: WireBeginQuorumEpochResponse): BeginQuorumEpochResponse {
  const p = metadataPartition(body.topics);
  return {
    type: 'beginQuorumEpoch',
    errorCode:
      body.errorCode !== ErrorCode.NONE ? body.errorCode : (p?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    leaderId: p?.leaderId ?? NO_ID,
    leaderEpoch: p?.leaderEpoch ?? -1,
  };
}

// ---- EndQuorumEpoch ------------------------------------------------------------------------

export function endQuorumEpochRequestToWire(req: EndQuorumEpochRequest, apiVersion: number): EndQuorumEpochRequestInit {
  return {
    clusterId: req.clusterId,
    topics: [
      {
        topicName: RAFT_TOPIC,
        partitions: [
          {
            partitionIndex: RAFT_PARTITION,
            leaderId: req.leaderId,
            leaderEpoch: req.leaderEpoch,
            preferredSuccessors: apiVersion === 0 ? req.preferredSuccessors : [],
            preferredCandidates: apiVersion >= 1 ? req.preferredSuccessors.map((candidateId) => ({ candidateId })) : [],
          },
        ],
      },
    ],
    leaderEndpoints: [],
  };
}

export function endQuorumEpochRequestFromWire(
  body: WireEndQuorumEpochRequest,
  apiVersion: number,
): EndQuorumEpochRequest | null {
  const p = metadataPartition(body.topics);
  if (p === null) return null;
  return {
    type: 'endQuorumEpoch',
    clusterId: body.clusterId,
    leaderId: p.leaderId,
    leaderEpoch: p.leaderEpoch,
    preferredSuccessors: apiVersion === 0 ? p.preferredSuccessors : p.preferredCandidates.map((c) => c.candidateId),
  };
}

export function endQuorumEpochResponseToWire(
  res: EndQuorumEpochResponse,
  lookup?: EndpointLookup,
): EndQuorumEpochResponseInit {
  return {
    errorCode: ErrorCode.NONE,
    topics: [
      {
        topicName: RAFT_TOPIC,
        partitions: [
          {
            partitionIndex: RAFT_PARTITION,
            errorCode: res.errorCode,
            leaderId: res.leaderId,
            leaderEpoch: res.leaderEpoch,
          },
        ],
      },
    ],
    nodeEndpoints: nodeEndpoints(res.leaderId, lookup),
  };
}

export function endQuorumEpochResponseFromWire(body: WireEndQuorumEpochResponse): EndQuorumEpochResponse {
  const p = metadataPartition(body.topics);
  return {
    type: 'endQuorumEpoch',
    errorCode:
      body.errorCode !== ErrorCode.NONE ? body.errorCode : (p?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    leaderId: p?.leaderId ?? NO_ID,
    leaderEpoch: p?.leaderEpoch ?? -1,
  };
}

// ---- Fetch ---------------------------------------------------------------------------------

export function fetchRequestToWire(req: FetchRequest): FetchRequestInit {
  return {
    clusterId: req.clusterId,
    replicaId: req.replicaId,
    replicaState: { replicaId: req.replicaId, replicaEpoch: -1 },
    maxWaitMs: req.maxWaitMs,
    minBytes: 0,
    maxBytes: req.maxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: RAFT_TOPIC,
        topicId: RAFT_TOPIC_ID,
        partitions: [
          {
            partition: RAFT_PARTITION,
            currentLeaderEpoch: req.currentLeaderEpoch,
            fetchOffset: req.fetchOffset,
            lastFetchedEpoch: req.lastFetchedEpoch,
            logStartOffset: -1,
            partitionMaxBytes: req.maxBytes,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
}

/** True when a Fetch request is for the metadata partition (the broker routes those here). */
export function isRaftFetch(body: WireFetchRequest): boolean {
  return body.topics.some((t) => t.topic === RAFT_TOPIC || t.topicId === RAFT_TOPIC_ID);
}

export function fetchRequestFromWire(body: WireFetchRequest, apiVersion: number): FetchRequest | null {
  const t = body.topics.find((x) => x.topic === RAFT_TOPIC || x.topicId === RAFT_TOPIC_ID);
  const p = t?.partitions.find((x) => x.partition === RAFT_PARTITION);
  if (p === undefined) return null;
  return {
    type: 'fetch',
    clusterId: body.clusterId,
    replicaId: apiVersion >= 15 ? body.replicaState.replicaId : body.replicaId,
    currentLeaderEpoch: p.currentLeaderEpoch,
    fetchOffset: p.fetchOffset,
    lastFetchedEpoch: p.lastFetchedEpoch,
    maxWaitMs: Math.max(0, body.maxWaitMs),
    maxBytes: Math.max(0, Math.min(body.maxBytes, p.partitionMaxBytes)),
  };
}

export function fetchPartitionToWire(res: FetchResponse<Buffer>): FetchResponsePartitionDataInit {
  return {
    partitionIndex: RAFT_PARTITION,
    errorCode: res.errorCode,
    highWatermark: res.highWatermark,
    lastStableOffset: res.highWatermark,
    logStartOffset: res.logStartOffset,
    divergingEpoch: res.divergingEpoch ?? undefined,
    currentLeader: { leaderId: res.leaderId, leaderEpoch: res.leaderEpoch },
    snapshotId: res.snapshotId ?? undefined,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: res.records ?? Buffer.alloc(0),
  };
}

export function fetchResponseToWire(res: FetchResponse<Buffer>, lookup?: EndpointLookup): FetchResponseInit {
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    sessionId: 0,
    responses: [{ topic: RAFT_TOPIC, topicId: RAFT_TOPIC_ID, partitions: [fetchPartitionToWire(res)] }],
    nodeEndpoints: nodeEndpoints(res.leaderId, lookup).map((e) => ({ ...e, rack: null })),
  };
}

export function fetchResponseFromWire(body: WireFetchResponse): FetchResponse<Buffer> {
  const t = body.responses.find((x) => x.topic === RAFT_TOPIC || x.topicId === RAFT_TOPIC_ID);
  const p = t?.partitions.find((x) => x.partitionIndex === RAFT_PARTITION);
  const base: FetchResponse<Buffer> = {
    type: 'fetch',
    errorCode:
      body.errorCode !== ErrorCode.NONE ? body.errorCode : (p?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    leaderId: p?.currentLeader.leaderId ?? NO_ID,
    leaderEpoch: p?.currentLeader.leaderEpoch ?? -1,
    highWatermark: p?.highWatermark ?? -1,
    logStartOffset: p?.logStartOffset ?? -1,
    divergingEpoch: null,
    snapshotId: null,
    records: null,
  };
  if (p === undefined) return base;
  if (p.divergingEpoch.epoch >= 0 && p.divergingEpoch.endOffset >= 0) {
    base.divergingEpoch = { epoch: p.divergingEpoch.epoch, endOffset: p.divergingEpoch.endOffset };
  }
  if (p.snapshotId.endOffset >= 0 && p.snapshotId.epoch >= 0) {
    base.snapshotId = { endOffset: p.snapshotId.endOffset, epoch: p.snapshotId.epoch };
  }
  if (p.records !== null && p.records.length > 0) base.records = p.records;
  return base;
}

// ---- FetchSnapshot -------------------------------------------------------------------------

export function fetchSnapshotRequestToWire(req: FetchSnapshotRequest): FetchSnapshotRequestInit {
  return {
    clusterId: req.clusterId,
    replicaId: req.replicaId,
    maxBytes: req.maxBytes,
    topics: [
      {
        name: RAFT_TOPIC,
        partitions: [
          {
            partition: RAFT_PARTITION,
            currentLeaderEpoch: req.currentLeaderEpoch,
            snapshotId: { endOffset: req.snapshotId.endOffset, epoch: req.snapshotId.epoch },
            position: req.position,
          },
        ],
      },
    ],
  };
}

export function fetchSnapshotRequestFromWire(body: WireFetchSnapshotRequest): FetchSnapshotRequest | null {
  const t = body.topics.find((x) => x.name === RAFT_TOPIC);
  const p = t?.partitions.find((x) => x.partition === RAFT_PARTITION);
  if (p === undefined) return null;
  return {
    type: 'fetchSnapshot',
    clusterId: body.clusterId,
    replicaId: body.replicaId,
    currentLeaderEpoch: p.currentLeaderEpoch,
    snapshotId: { endOffset: p.snapshotId.endOffset, epoch: p.snapshotId.epoch },
    position: p.position,
    maxBytes: Math.max(0, body.maxBytes),
  };
}

export function fetchSnapshotResponseToWire(
  res: FetchSnapshotResponse,
  lookup?: EndpointLookup,
): FetchSnapshotResponseInit {
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    topics: [
      {
        name: RAFT_TOPIC,
        partitions: [
          {
            index: RAFT_PARTITION,
            errorCode: res.errorCode,
            snapshotId: { endOffset: res.snapshotId.endOffset, epoch: res.snapshotId.epoch },
            currentLeader: { leaderId: res.leaderId, leaderEpoch: res.leaderEpoch },
            size: res.sizeBytes,
            position: res.position,
            unalignedRecords: res.bytes,
          },
        ],
      },
    ],
    nodeEndpoints: nodeEndpoints(res.leaderId, lookup),
  };
}

export function fetchSnapshotResponseFromWire(body: WireFetchSnapshotResponse): FetchSnapshotResponse {
  const t = body.topics.find((x) => x.name === RAFT_TOPIC);
  const p = t?.partitions.find((x) => x.index === RAFT_PARTITION);
  return {
    type: 'fetchSnapshot',
    errorCode:
      body.errorCode !== ErrorCode.NONE ? body.errorCode : (p?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    leaderId: p?.currentLeader.leaderId ?? NO_ID,
    leaderEpoch: p?.currentLeader.leaderEpoch ?? -1,
    snapshotId: p ? { endOffset: p.snapshotId.endOffset, epoch: p.snapshotId.epoch } : { endOffset: -1, epoch: -1 },
    sizeBytes: p?.size ?? -1,
    position: p?.position ?? -1,
    bytes: p?.unalignedRecords ?? Buffer.alloc(0),
  };
}

/** The api key of each internal request type. */
export const RAFT_API_KEYS = {
  vote: ApiKey.Vote,
  beginQuorumEpoch: ApiKey.BeginQuorumEpoch,
  endQuorumEpoch: ApiKey.EndQuorumEpoch,
  fetch: ApiKey.Fetch,
  fetchSnapshot: ApiKey.FetchSnapshot,
} as const;
