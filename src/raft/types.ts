// Types shared by the sans-io Raft state machine (raft-node.ts), its logs and its drivers.
// Messages here are Eddy's internal shape of KIP-595's RPCs; codec.ts maps them to the wire.

/** No leader known / no vote cast. */
export const NO_ID = -1;

export interface SnapshotId {
  /** Offset after the last record the snapshot contains (the log may start here). */
  endOffset: number;
  /** Epoch of the last record the snapshot contains. */
  epoch: number;
}

export interface OffsetAndEpoch {
  offset: number;
  epoch: number;
}

/** Timeouts and limits, named after Kafka's controller.quorum.* keys. */
export interface RaftConfig {
  /** controller.quorum.election.timeout.ms: base of the randomized election timeout. */
  electionTimeoutMs: number;
  /** controller.quorum.fetch.timeout.ms: a follower with no successful fetch this long starts an election. */
  fetchTimeoutMs: number;
  /** controller.quorum.election.backoff.max.ms: upper bound of the random backoff after a lost election. */
  electionBackoffMaxMs: number;
  /** controller.quorum.request.timeout.ms: an unanswered request is failed after this long. */
  requestTimeoutMs: number;
  /** controller.quorum.retry.backoff.ms: wait before resending to a destination after a failure. */
  retryBackoffMs: number;
  /** controller.quorum.append.linger.ms: how long leader appends accumulate before one fsync covers them. */
  appendLingerMs: number;
  /** How long the leader holds a Fetch that has nothing new (Kafka's raft fetch max wait, 500 ms). */
  fetchMaxWaitMs: number;
  /** Bytes of records a follower asks for per Fetch. */
  fetchMaxBytes: number;
  /** Bytes of snapshot a follower asks for per FetchSnapshot. */
  fetchSnapshotMaxBytes: number;
}

export const DEFAULT_RAFT_CONFIG: Readonly<RaftConfig> = Object.freeze({
  electionTimeoutMs: 1000,
  fetchTimeoutMs: 2000,
  electionBackoffMaxMs: 1000,
  requestTimeoutMs: 2000,
  retryBackoffMs: 20,
  appendLingerMs: 25,
  fetchMaxWaitMs: 500,
  fetchMaxBytes: 8 * 1024 * 1024,
  fetchSnapshotMaxBytes: 8 * 1024 * 1024,
});

// ---- requests --------------------------------------------------------------------------------

export interface VoteRequest {
  type: 'vote';
  clusterId: string | null;
  candidateId: number;
  /** The epoch the candidate runs in (for a pre-vote: the epoch it would run in). */
  candidateEpoch: number;
  lastOffsetEpoch: number;
  /** The candidate's log end offset. */
  lastOffset: number;
  /** KIP-996 pre-vote: grants nothing and changes no state on the voter. */
  preVote: boolean;
  /** The voter the request is for. */
  voterId: number;
}

export interface BeginQuorumEpochRequest {
  type: 'beginQuorumEpoch';
  clusterId: string | null;
  leaderId: number;
  leaderEpoch: number;
  voterId: number;
}

export interface EndQuorumEpochRequest {
  type: 'endQuorumEpoch';
  clusterId: string | null;
  leaderId: number;
  leaderEpoch: number;
  /** Voters in the order the resigning leader prefers them as successors. */
  preferredSuccessors: number[];
}

export interface FetchRequest {
  type: 'fetch';
  clusterId: string | null;
  replicaId: number;
  currentLeaderEpoch: number;
  /** The fetcher's log end offset: everything below is on its disk. */
  fetchOffset: number;
  /** Epoch of the fetcher's last record (or of its snapshot when its log is empty). */
  lastFetchedEpoch: number;
  maxWaitMs: number;
  maxBytes: number;
}

export interface FetchSnapshotRequest {
  type: 'fetchSnapshot';
  clusterId: string | null;
  replicaId: number;
  currentLeaderEpoch: number;
  snapshotId: SnapshotId;
  position: number;
  maxBytes: number;
}

export type RaftRequest =
  | VoteRequest
  | BeginQuorumEpochRequest
  | EndQuorumEpochRequest
  | FetchRequest
  | FetchSnapshotRequest;

// ---- responses -------------------------------------------------------------------------------

/** Every response says who the responder believes leads, and in which epoch. */
interface LeaderInfo {
  errorCode: number;
  leaderId: number;
  leaderEpoch: number;
}

export interface VoteResponse extends LeaderInfo {
  type: 'vote';
  voteGranted: boolean;
}

export interface BeginQuorumEpochResponse extends LeaderInfo {
  type: 'beginQuorumEpoch';
}

export interface EndQuorumEpochResponse extends LeaderInfo {
  type: 'endQuorumEpoch';
}

export interface FetchResponse<R> extends LeaderInfo {
  type: 'fetch';
  highWatermark: number;
  logStartOffset: number;
  /** Set when the fetcher's log diverges: truncate to (at most) this epoch's end offset. */
  divergingEpoch: { epoch: number; endOffset: number } | null;
  /** Set when the fetch offset is below the log start: fetch this snapshot first. */
  snapshotId: SnapshotId | null;
  records: R | null;
}

export interface FetchSnapshotResponse extends LeaderInfo {
  type: 'fetchSnapshot';
  snapshotId: SnapshotId;
  /** Total size of the snapshot in bytes. */
  sizeBytes: number;
  position: number;
  bytes: Buffer;
}

export type RaftResponse<R> =
  | VoteResponse
  | BeginQuorumEpochResponse
  | EndQuorumEpochResponse
  | FetchResponse<R>
  | FetchSnapshotResponse;

/** The response type that answers a request type. */
export type ResponseFor<Q extends RaftRequest, R> = Extract<RaftResponse<R>, { type: Q['type'] }>;

// ---- outputs ---------------------------------------------------------------------------------

export type RaftOutput<R> =
  /** Send a request; answer with handleResponse(correlationId, ...) or handleRequestFailure. */
  | { type: 'send'; destination: number; correlationId: number; request: RaftRequest }
  /** Answer the inbound request given `handle` in handleRequest. */
  | { type: 'respond'; handle: number; response: RaftResponse<R> }
  /** fsync the log up to `offset` (or beyond); report with handleFlushed(flushId). */
  | { type: 'flush'; flushId: number; offset: number }
  /** The high watermark moved: records below `offset` are committed and may be applied. */
  | { type: 'highWatermark'; offset: number }
  /** A snapshot fetched from the leader replaced the log; the state machine must reload it. */
  | { type: 'snapshotInstalled'; snapshotId: SnapshotId }
  /** The role, epoch or known leader changed. */
  | { type: 'stateChange'; role: RaftRole; epoch: number; leaderId: number };

export type RaftRole = 'unattached' | 'prospective' | 'candidate' | 'leader' | 'follower' | 'resigned';

// ---- quorum description (DescribeQuorum) -----------------------------------------------------

export interface ReplicaDescription {
  replicaId: number;
  logEndOffset: number;
  lastFetchTimestampMs: number;
  lastCaughtUpTimestampMs: number;
}

export interface QuorumDescription {
  leaderId: number;
  leaderEpoch: number;
  highWatermark: number;
  voters: ReplicaDescription[];
  observers: ReplicaDescription[];
}
