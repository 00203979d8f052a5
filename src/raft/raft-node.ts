// The KRaft state machine (KIP-595 with KIP-996 pre-vote and KIP-630 snapshots), sans-io in the
// style of Kafka's KafkaRaftClient: explicit quorum states, and nothing but inputs and outputs.
//
// Inputs: handleRequest (a message from a peer), handleResponse / handleRequestFailure (answers to
// what we sent), handleFlushed (a disk flush finished), poll (time passed), append (a leader write).
// Every input takes the current time; randomness comes from the injected source. Outputs queue up
// and are taken with takeOutputs(): messages to send, responses, flushes, commits, state changes.
// Log appends, reads and truncation go through the synchronous RaftLog; only flushes are async.
//
// Safety rests on three durability rules:
// - the election state (epoch, vote, leader) is written to the QuorumStateStore before it is
//   acted on (a vote is granted, a request is sent in the new epoch);
// - a follower sends its next Fetch (whose offset acknowledges everything below it) only once its
//   log is flushed up to that offset;
// - the leader counts itself towards the high watermark only up to its own flushed offset.
import { ErrorCode } from '../protocol/errors.js';
import { INITIAL_ELECTION_STATE, type QuorumStateStore } from './quorum-state.js';
import type { RaftLog } from './raft-log.js';
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
  type QuorumDescription,
  type RaftConfig,
  type RaftOutput,
  type RaftRequest,
  type RaftResponse,
  type RaftRole,
  type ReplicaDescription,
  type SnapshotId,
  type VoteRequest,
  type VoteResponse,
} from './types.js';

/** A broken Raft invariant: a bug, never an expected condition. */
export class RaftInvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RaftInvariantError';
  }
}

function invariant(cond: boolean, message: string): asserts cond {
  if (!cond) throw new RaftInvariantError(message);
}

/** Bound on fetches the leader holds at once (long polls), and on observers it tracks. */
const MAX_PARKED_FETCHES = 1024;
const MAX_TRACKED_OBSERVERS = 1024;

interface ReplicaState {
  /** Offset the replica has durably (its last valid fetch offset); -1 before its first fetch. */
  endOffset: number;
  lastFetchMs: number;
  lastCaughtUpMs: number;
  /** The leader's log end when this replica last fetched (for lastCaughtUpMs). */
  leaderEndAtLastFetch: number;
}

interface ElectionRound {
  grants: Set<number>;
  rejects: Set<number>;
  /** Lost (majority rejected): waiting out a random backoff before the next attempt. */
  failed: boolean;
  deadlineMs: number;
}

type QuorumState =
  | { role: 'unattached'; epoch: number; votedId: number; electionDeadlineMs: number }
  | ({ role: 'prospective'; epoch: number; votedId: number; leaderId: number } & ElectionRound)
  | ({ role: 'candidate'; epoch: number } & ElectionRound)
  | {
      role: 'leader';
      epoch: number;
      epochStartOffset: number;
      voterStates: Map<number, ReplicaState>;
      observerStates: Map<number, ReplicaState>;
      beginQuorumPending: Set<number>;
      /** When to resend BeginQuorumEpoch to voters that stopped fetching. */
      beginQuorumDeadlineMs: number;
      fetchedVoters: Set<number>;
      checkQuorumDeadlineMs: number;
    }
  | {
      role: 'follower';
      epoch: number;
      leaderId: number;
      votedId: number;
      fetchDeadlineMs: number;
      /** Last successful fetch from the leader; pre-votes are refused while it is recent. */
      lastLeaderContactMs: number;
      fetchCorrelationId: number;
      download: { id: SnapshotId; position: number; correlationId: number } | null;
      /** The leader's high watermark from the last answer that validated our log against its own; -1 before. */
      leaderHw: number;
    }
  | {
      role: 'resigned';
      epoch: number;
      electionDeadlineMs: number;
      endQuorumPending: Set<number>;
      preferredSuccessors: number[];
    };

interface Outstanding {
  correlationId: number;
  type: RaftRequest['type'];
  deadlineMs: number;
}

interface ParkedFetch {
  handle: number;
  request: FetchRequest;
  deadlineMs: number;
}

export interface RaftNodeOptions<R, P> {
  nodeId: number;
  /** The static voter set (controller.quorum.voters). */
  voters: readonly number[];
  /**
   * Where an observer looks for the leader when it knows none (destination ids the driver
   * resolves; controller.quorum.bootstrap.servers). Defaults to the voters.
   */
  bootstrap?: readonly number[];
  clusterId: string | null;
  config: RaftConfig;
  log: RaftLog<R, P>;
  store: QuorumStateStore;
  /** Uniform in [0, 1); seeded in simulations. */
  random: () => number;
  nowMs: number;
}

export class RaftNode<R, P> {
  readonly nodeId: number;
  readonly voters: readonly number[];
  readonly isVoter: boolean;
  readonly config: RaftConfig;
  private readonly bootstrap: readonly number[];
  private readonly clusterId: string | null;
  private readonly log: RaftLog<R, P>;
  private readonly store: QuorumStateStore;
  private readonly random: () => number;
  private readonly majority: number;

  private now: number;
  private state: QuorumState;
  private hw: number;
  private outputs: RaftOutput<R>[] = [];
  private nextCorrelationId = 1;
  private readonly inflight = new Map<number, Outstanding>();
  private readonly backoffUntil = new Map<number, number>();
  private parked: ParkedFetch[] = [];
  private bootstrapIndex: number;

  // Durability of the log.
  private flushedOffset: number;
  private flushInFlight: { flushId: number; offset: number; truncations: number } | null = null;
  private nextFlushId = 1;
  private truncations = 0;
  /** When the oldest unflushed leader append was made (for append linger). */
  private unflushedSinceMs: number | null = null;

  constructor(opts: RaftNodeOptions<R, P>) {
    this.nodeId = opts.nodeId;
    this.voters = [...new Set(opts.voters)].sort((a, b) => a - b);
    this.isVoter = this.voters.includes(opts.nodeId);
    this.bootstrap = opts.bootstrap && opts.bootstrap.length > 0 ? [...opts.bootstrap] : this.voters;
    // An observer may know only where to look (bootstrap servers), not who votes.
    invariant(
      this.voters.length > 0 || (!this.isVoter && this.bootstrap.length > 0),
      'no voters and nowhere to look for them',
    );
    this.clusterId = opts.clusterId;
    this.config = opts.config;
    this.log = opts.log;
    this.store = opts.store;
    this.random = opts.random;
    this.now = opts.nowMs;
    this.majority = Math.floor(this.voters.length / 2) + 1;
    this.bootstrapIndex = Math.floor(this.random() * this.bootstrap.length);
    this.hw = this.log.startOffset();
    // What survived a restart may only be in the page cache: nothing counts as flushed until
    // the first flush says so.
    this.flushedOffset = this.log.startOffset();

    const saved = this.store.read() ?? { ...INITIAL_ELECTION_STATE };
    if (saved.leaderId === this.nodeId && this.isVoter) {
      // A leader that restarted lost its volatile state: it may not lead this epoch again.
      this.state = {
        role: 'resigned',
        epoch: saved.epoch,
        electionDeadlineMs: this.now + this.randomElectionTimeoutMs(),
        endQuorumPending: new Set(this.otherVoters()),
        preferredSuccessors: [],
      };
    } else if (saved.leaderId !== NO_ID && saved.leaderId !== this.nodeId) {
      this.state = this.followerState(saved.epoch, saved.leaderId, saved.votedId, false);
    } else {
      this.state = {
        role: 'unattached',
        epoch: saved.epoch,
        votedId: saved.votedId,
        electionDeadlineMs: this.now + this.randomElectionTimeoutMs(),
      };
    }
    if (this.store.read() === null) this.persist(saved.epoch, saved.leaderId, saved.votedId);
    this.emitStateChange();
    // A sole voter need not wait for anyone (as Kafka does).
    if (this.isVoter && this.voters.length === 1) this.startProspective();
    this.requestFlushIfNeeded();
    this.sendRequests();
  }

  // ---- accessors ---------------------------------------------------------------------------

  get role(): RaftRole {
    return this.state.role;
  }

  get epoch(): number {
    return this.state.epoch;
  }

  /** The leader of the current epoch as far as this node knows, or -1. */
  get leaderId(): number {
    const s = this.state;
    if (s.role === 'leader') return this.nodeId;
    if (s.role === 'follower') return s.leaderId;
    return NO_ID;
  }

  get highWatermark(): number {
    return this.hw;
  }

  /** The offset where the current leader epoch started (leader only; -1 otherwise). */
  get epochStartOffset(): number {
    return this.state.role === 'leader' ? this.state.epochStartOffset : -1;
  }

  /** True once the leader has committed a record of its own epoch (everything before is committed). */
  get leaderCommittedEpochStart(): boolean {
    return this.state.role === 'leader' && this.hw > this.state.epochStartOffset;
  }

  get flushedEndOffset(): number {
    return this.flushedOffset;
  }

  /** Queued outputs, oldest first; the queue is emptied. */
  takeOutputs(): RaftOutput<R>[] {
    const out = this.outputs;
    this.outputs = [];
    return out;
  }

  /** The earliest time at which poll() has work to do. */
  nextDeadlineMs(): number {
    let t = Number.POSITIVE_INFINITY;
    const s = this.state;
    switch (s.role) {
      case 'unattached':
        if (this.isVoter) t = s.electionDeadlineMs;
        break;
      case 'prospective':
      case 'candidate':
        t = s.deadlineMs;
        break;
      case 'leader':
        t = Math.min(s.checkQuorumDeadlineMs, s.beginQuorumDeadlineMs);
        break;
      case 'follower':
        t = s.fetchDeadlineMs;
        break;
      case 'resigned':
        t = s.electionDeadlineMs;
        break;
    }
    for (const p of this.parked) t = Math.min(t, p.deadlineMs);
    for (const o of this.inflight.values()) t = Math.min(t, o.deadlineMs);
    for (const b of this.backoffUntil.values()) if (b > this.now) t = Math.min(t, b);
    if (this.unflushedSinceMs !== null && this.flushInFlight === null) {
      t = Math.min(t, this.unflushedSinceMs + this.config.appendLingerMs);
    }
    return t;
  }

  // ---- inputs ------------------------------------------------------------------------------

  /** Time passed: runs timers (elections, fetch and request timeouts, long polls, linger). */
  poll(nowMs: number): void {
    this.advance(nowMs);
    for (const [dest, o] of this.inflight) {
      if (o.deadlineMs <= this.now) this.failRequest(dest, o.correlationId);
    }
    this.expireParkedFetches();
    const s = this.state;
    switch (s.role) {
      case 'unattached':
        if (this.isVoter && this.now >= s.electionDeadlineMs) this.startProspective();
        break;
      case 'prospective':
        if (this.now >= s.deadlineMs) {
          if (s.leaderId !== NO_ID) {
            // The pre-vote found no majority and the old leader may be fine: go back to it.
            this.becomeFollower(s.epoch, s.leaderId, false);
          } else {
            this.startProspective();
          }
        }
        break;
      case 'candidate':
        if (this.now >= s.deadlineMs) {
          if (s.failed) this.startProspective();
          else this.backOffElection(s);
        }
        break;
      case 'leader':
        if (this.now >= s.checkQuorumDeadlineMs) {
          // KIP-595 check-quorum: a leader a majority has not fetched from may be partitioned.
          this.becomeResigned([]);
        } else if (this.now >= s.beginQuorumDeadlineMs) {
          // A voter that stopped fetching may have moved on to a later epoch (a failed
          // election) and can only learn of us, or tell us of its epoch, through this.
          const staleMs = this.now - this.beginQuorumIntervalMs();
          for (const [id, r] of s.voterStates) if (r.lastFetchMs < staleMs) s.beginQuorumPending.add(id);
          s.beginQuorumDeadlineMs = this.now + this.beginQuorumIntervalMs();
        }
        break;
      case 'follower':
        if (this.now >= s.fetchDeadlineMs) {
          if (this.isVoter) this.startProspective();
          else this.becomeUnattached(s.epoch, NO_ID);
        }
        break;
      case 'resigned':
        if (this.now >= s.electionDeadlineMs) this.startProspective();
        break;
    }
    this.requestFlushIfNeeded();
    this.sendRequests();
  }

  /**
   * An inbound request. The answer is a `respond` output with the same handle, now or later (a
   * Fetch with nothing to return waits up to its maxWaitMs).
   */
  handleRequest(handle: number, request: RaftRequest, nowMs: number): void {
    this.advance(nowMs);
    switch (request.type) {
      case 'vote':
        this.respond(handle, this.onVote(request));
        break;
      case 'beginQuorumEpoch':
        this.respond(handle, this.onBeginQuorumEpoch(request));
        break;
      case 'endQuorumEpoch':
        this.respond(handle, this.onEndQuorumEpoch(request));
        break;
      case 'fetch': {
        const answer = this.onFetch(handle, request);
        if (answer !== null) this.respond(handle, answer);
        break;
      }
      case 'fetchSnapshot':
        this.respond(handle, this.onFetchSnapshot(request));
        break;
    }
    this.requestFlushIfNeeded();
    this.sendRequests();
  }

  /** The answer to a request this node sent. Stale or duplicate answers are ignored. */
  handleResponse(source: number, correlationId: number, response: RaftResponse<R>, nowMs: number): void {
    this.advance(nowMs);
    const o = this.inflight.get(source);
    if (o === undefined || o.correlationId !== correlationId || o.type !== response.type) return;
    this.inflight.delete(source);
    switch (response.type) {
      case 'vote':
        this.onVoteResponse(source, response);
        break;
      case 'beginQuorumEpoch':
        this.onBeginQuorumEpochResponse(source, response);
        break;
      case 'endQuorumEpoch':
        this.onEndQuorumEpochResponse(source, response);
        break;
      case 'fetch':
        this.onFetchResponse(source, correlationId, response);
        break;
      case 'fetchSnapshot':
        this.onFetchSnapshotResponse(source, correlationId, response);
        break;
    }
    this.requestFlushIfNeeded();
    this.sendRequests();
  }

  /** A request could not be delivered or answered (connection lost, timeout). */
  handleRequestFailure(destination: number, correlationId: number, nowMs: number): void {
    this.advance(nowMs);
    this.failRequest(destination, correlationId);
    this.sendRequests();
  }

  /** The flush asked for with `flushId` finished. */
  handleFlushed(flushId: number, nowMs: number): void {
    this.advance(nowMs);
    const f = this.flushInFlight;
    if (f === null || f.flushId !== flushId) return;
    this.flushInFlight = null;
    // A truncation while the flush ran may have removed what it covered.
    if (f.truncations === this.truncations && f.offset > this.flushedOffset) {
      this.flushedOffset = Math.min(f.offset, this.log.endOffset());
      const s = this.state;
      if (s.role === 'leader') this.maybeAdvanceLeaderHighWatermark();
      else if (s.role === 'follower') this.setHighWatermark(Math.min(s.leaderHw, this.flushedOffset));
    }
    this.requestFlushIfNeeded();
    this.sendRequests();
  }

  /**
   * A leader write. Returns the offsets the payload took, or null when this node is not the
   * leader. The payload is committed once the high watermark passes lastOffset.
   */
  append(payload: P, nowMs: number): { baseOffset: number; lastOffset: number } | null {
    this.advance(nowMs);
    const s = this.state;
    if (s.role !== 'leader') return null;
    const result = this.log.appendAsLeader(payload, s.epoch);
    this.unflushedSinceMs ??= this.now;
    this.completeParkedFetches(false);
    this.requestFlushIfNeeded();
    this.sendRequests();
    return result;
  }

  /**
   * Graceful resignation (controlled shutdown): the leader stops accepting writes and tells the
   * voters, most caught-up first, to elect a successor now rather than after a fetch timeout.
   */
  resign(nowMs: number): void {
    this.advance(nowMs);
    const s = this.state;
    if (s.role !== 'leader') return;
    const successors = [...s.voterStates.entries()]
      .filter(([id]) => id !== this.nodeId)
      .sort((a, b) => b[1].endOffset - a[1].endOffset || a[0] - b[0])
      .map(([id]) => id);
    this.becomeResigned(successors);
    this.sendRequests();
  }

  /** DescribeQuorum, answered from the leader's view; null when this node is not the leader. */
  describeQuorum(): QuorumDescription | null {
    const s = this.state;
    if (s.role !== 'leader') return null;
    const describe = (id: number, r: ReplicaState): ReplicaDescription => ({
      replicaId: id,
      logEndOffset: r.endOffset,
      lastFetchTimestampMs: r.lastFetchMs,
      lastCaughtUpTimestampMs: r.lastCaughtUpMs,
    });
    const voters: ReplicaDescription[] = [];
    for (const id of this.voters) {
      if (id === this.nodeId) {
        voters.push({
          replicaId: id,
          logEndOffset: this.log.endOffset(),
          lastFetchTimestampMs: this.now,
          lastCaughtUpTimestampMs: this.now,
        });
      } else {
        const r = s.voterStates.get(id);
        if (r) voters.push(describe(id, r));
      }
    }
    const observers = [...s.observerStates.entries()].sort((a, b) => a[0] - b[0]).map(([id, r]) => describe(id, r));
    return { leaderId: this.nodeId, leaderEpoch: s.epoch, highWatermark: this.hw, voters, observers };
  }

  // ---- request handling --------------------------------------------------------------------

  private onVote(req: VoteRequest): VoteResponse {
    const reject = (errorCode: number): VoteResponse => ({
      type: 'vote',
      errorCode,
      leaderId: this.leaderId,
      leaderEpoch: this.epoch,
      voteGranted: false,
    });
    if (!this.clusterIdMatches(req.clusterId)) return reject(ErrorCode.INCONSISTENT_CLUSTER_ID);
    if (
      !this.isVoter ||
      !this.voters.includes(req.candidateId) ||
      (req.voterId !== NO_ID && req.voterId !== this.nodeId)
    ) {
      return reject(ErrorCode.INCONSISTENT_VOTER_SET);
    }
    if (req.candidateEpoch < this.epoch) return reject(ErrorCode.FENCED_LEADER_EPOCH);
    const logOk = this.candidateLogIsUpToDate(req.lastOffsetEpoch, req.lastOffset);
    if (req.preVote) {
      // A pre-vote changes nothing here. It is refused by a follower still in touch with its
      // leader, so a partitioned node cannot disrupt a healthy quorum (KIP-996).
      const s = this.state;
      const inTouch = s.role === 'follower' && this.now - s.lastLeaderContactMs < this.config.fetchTimeoutMs;
      const granted = req.candidateEpoch > this.epoch && logOk && !inTouch && s.role !== 'leader';
      return {
        type: 'vote',
        errorCode: ErrorCode.NONE,
        leaderId: this.leaderId,
        leaderEpoch: this.epoch,
        voteGranted: granted,
      };
    }
    if (req.candidateEpoch > this.epoch) this.becomeUnattached(req.candidateEpoch, NO_ID);
    const s = this.state;
    let granted = false;
    if (logOk) {
      if (s.role === 'unattached') {
        granted = s.votedId === NO_ID || s.votedId === req.candidateId;
      } else if (s.role === 'prospective') {
        granted = s.leaderId === NO_ID && (s.votedId === NO_ID || s.votedId === req.candidateId);
      }
    }
    if (granted) {
      // The vote is durable before the candidate can count it.
      this.becomeUnattached(this.epoch, req.candidateId);
    }
    return {
      type: 'vote',
      errorCode: ErrorCode.NONE,
      leaderId: this.leaderId,
      leaderEpoch: this.epoch,
      voteGranted: granted,
    };
  }

  private onBeginQuorumEpoch(req: BeginQuorumEpochRequest): BeginQuorumEpochResponse {
    const answer = (errorCode: number): BeginQuorumEpochResponse => ({
      type: 'beginQuorumEpoch',
      errorCode,
      leaderId: this.leaderId,
      leaderEpoch: this.epoch,
    });
    if (!this.clusterIdMatches(req.clusterId)) return answer(ErrorCode.INCONSISTENT_CLUSTER_ID);
    if (
      !this.isVoter ||
      !this.voters.includes(req.leaderId) ||
      (req.voterId !== NO_ID && req.voterId !== this.nodeId)
    ) {
      return answer(ErrorCode.INCONSISTENT_VOTER_SET);
    }
    if (req.leaderEpoch < this.epoch) return answer(ErrorCode.FENCED_LEADER_EPOCH);
    this.learnLeader(req.leaderEpoch, req.leaderId, true);
    return answer(ErrorCode.NONE);
  }

  private onEndQuorumEpoch(req: EndQuorumEpochRequest): EndQuorumEpochResponse {
    const answer = (errorCode: number): EndQuorumEpochResponse => ({
      type: 'endQuorumEpoch',
      errorCode,
      leaderId: this.leaderId,
      leaderEpoch: this.epoch,
    });
    if (!this.clusterIdMatches(req.clusterId)) return answer(ErrorCode.INCONSISTENT_CLUSTER_ID);
    if (!this.isVoter || !this.voters.includes(req.leaderId)) return answer(ErrorCode.INCONSISTENT_VOTER_SET);
    if (req.leaderEpoch < this.epoch) return answer(ErrorCode.FENCED_LEADER_EPOCH);
    if (req.leaderEpoch > this.epoch) this.becomeUnattached(req.leaderEpoch, NO_ID);
    const s = this.state;
    // The most caught-up successors go first; the rest wait longer, so the best one usually wins.
    const position = req.preferredSuccessors.indexOf(this.nodeId);
    const backoffMs =
      position < 0
        ? this.randomElectionTimeoutMs()
        : Math.min(this.config.electionBackoffMaxMs, position === 0 ? 0 : this.config.retryBackoffMs * 2 ** position) +
          Math.floor(this.random() * this.config.retryBackoffMs);
    if (s.role === 'follower' && s.leaderId === req.leaderId) {
      s.lastLeaderContactMs = Number.NEGATIVE_INFINITY; // the leader is gone: pre-votes are welcome
      s.fetchDeadlineMs = Math.min(s.fetchDeadlineMs, this.now + backoffMs);
    } else if (s.role === 'unattached') {
      s.electionDeadlineMs = Math.min(s.electionDeadlineMs, this.now + backoffMs);
    }
    return answer(ErrorCode.NONE);
  }

  /** Answers a Fetch, or holds it (returns null) until there is something new or it times out. */
  private onFetch(handle: number, req: FetchRequest): FetchResponse<R> | null {
    const fail = (errorCode: number) => this.fetchError(errorCode);
    if (!this.clusterIdMatches(req.clusterId)) return fail(ErrorCode.INCONSISTENT_CLUSTER_ID);
    const s = this.state;
    if (req.currentLeaderEpoch < this.epoch) return fail(ErrorCode.FENCED_LEADER_EPOCH);
    if (req.currentLeaderEpoch > this.epoch) return fail(ErrorCode.UNKNOWN_LEADER_EPOCH);
    if (s.role !== 'leader') return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (
      req.replicaId === this.nodeId ||
      req.fetchOffset < 0 ||
      req.lastFetchedEpoch < 0 ||
      req.lastFetchedEpoch > s.epoch
    ) {
      return fail(ErrorCode.INVALID_REQUEST);
    }
    const check = this.validateFetchPosition(req.fetchOffset, req.lastFetchedEpoch);
    // Any fetch in this epoch shows the replica follows us (check-quorum, DescribeQuorum).
    const replica = this.touchReplica(s, req.replicaId);
    if (check.kind === 'ok') {
      this.updateReplicaOffset(replica, req.fetchOffset);
      this.maybeAdvanceLeaderHighWatermark();
    }
    if (check.kind === 'diverging') {
      return { ...this.fetchAnswer(ErrorCode.NONE), divergingEpoch: check.diverging };
    }
    if (check.kind === 'snapshot') {
      return { ...this.fetchAnswer(ErrorCode.NONE), snapshotId: check.snapshotId };
    }
    if (req.fetchOffset < this.log.endOffset() || req.maxWaitMs <= 0 || this.parked.length >= MAX_PARKED_FETCHES) {
      return this.fetchRecords(req);
    }
    this.parked.push({ handle, request: req, deadlineMs: this.now + req.maxWaitMs });
    return null;
  }

  private onFetchSnapshot(req: FetchSnapshotRequest): FetchSnapshotResponse {
    const answer = (errorCode: number): FetchSnapshotResponse => ({
      type: 'fetchSnapshot',
      errorCode,
      leaderId: this.leaderId,
      leaderEpoch: this.epoch,
      snapshotId: req.snapshotId,
      sizeBytes: -1,
      position: -1,
      bytes: Buffer.alloc(0),
    });
    if (!this.clusterIdMatches(req.clusterId)) return answer(ErrorCode.INCONSISTENT_CLUSTER_ID);
    const s = this.state;
    if (req.currentLeaderEpoch < this.epoch) return answer(ErrorCode.FENCED_LEADER_EPOCH);
    if (req.currentLeaderEpoch > this.epoch) return answer(ErrorCode.UNKNOWN_LEADER_EPOCH);
    if (s.role !== 'leader') return answer(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    this.touchReplica(s, req.replicaId);
    if (req.position < 0) return answer(ErrorCode.POSITION_OUT_OF_RANGE);
    const chunk = this.log.readSnapshot(req.snapshotId, req.position, Math.max(1, req.maxBytes));
    if (chunk === null) return answer(ErrorCode.SNAPSHOT_NOT_FOUND);
    if (req.position > chunk.sizeBytes) return answer(ErrorCode.POSITION_OUT_OF_RANGE);
    return {
      ...answer(ErrorCode.NONE),
      sizeBytes: chunk.sizeBytes,
      position: req.position,
      bytes: chunk.bytes,
    };
  }

  /** KIP-595 fetch validation: is the fetcher's log a prefix of ours at (fetchOffset, lastFetchedEpoch)? */
  private validateFetchPosition(
    fetchOffset: number,
    lastFetchedEpoch: number,
  ):
    | { kind: 'ok' }
    | { kind: 'diverging'; diverging: { epoch: number; endOffset: number } }
    | { kind: 'snapshot'; snapshotId: SnapshotId } {
    const start = this.log.startOffset();
    const snapshot = this.log.latestSnapshotId();
    const needSnapshot = () => {
      invariant(snapshot !== null, `log starts at ${start} without a snapshot`);
      return { kind: 'snapshot' as const, snapshotId: snapshot };
    };
    if (fetchOffset < start) return needSnapshot();
    if (fetchOffset === 0) return { kind: 'ok' };
    const end = this.log.endOffsetForEpoch(lastFetchedEpoch);
    if (end === null) {
      if (start > 0) return needSnapshot();
      return { kind: 'diverging', diverging: { epoch: 0, endOffset: 0 } };
    }
    if (end.epoch !== lastFetchedEpoch || end.offset < fetchOffset) {
      if (end.offset < start) return needSnapshot();
      return { kind: 'diverging', diverging: { epoch: end.epoch, endOffset: end.offset } };
    }
    return { kind: 'ok' };
  }

  private fetchError(errorCode: number): FetchResponse<R> {
    return this.fetchAnswer(errorCode);
  }

  private fetchAnswer(errorCode: number): FetchResponse<R> {
    return {
      type: 'fetch',
      errorCode,
      leaderId: this.leaderId,
      leaderEpoch: this.epoch,
      highWatermark: this.hw,
      logStartOffset: this.log.startOffset(),
      divergingEpoch: null,
      snapshotId: null,
      records: null,
    };
  }

  private fetchRecords(req: FetchRequest): FetchResponse<R> {
    const answer = this.fetchAnswer(ErrorCode.NONE);
    if (req.fetchOffset < this.log.endOffset()) {
      answer.records = this.log.read(req.fetchOffset, Math.max(1, req.maxBytes));
    }
    return answer;
  }

  /** Answers held fetches: all of them (`all`), or those with new records to return. */
  private completeParkedFetches(all: boolean): void {
    if (this.parked.length === 0) return;
    const end = this.log.endOffset();
    const keep: ParkedFetch[] = [];
    const leader = this.state.role === 'leader';
    for (const p of this.parked) {
      if (!leader) this.respond(p.handle, this.fetchError(ErrorCode.NOT_LEADER_OR_FOLLOWER));
      else if (all || p.request.fetchOffset < end) this.respond(p.handle, this.fetchRecords(p.request));
      else keep.push(p);
    }
    this.parked = keep;
  }

  private expireParkedFetches(): void {
    if (this.parked.length === 0) return;
    const keep: ParkedFetch[] = [];
    for (const p of this.parked) {
      if (p.deadlineMs <= this.now) this.respond(p.handle, this.fetchRecords(p.request));
      else keep.push(p);
    }
    this.parked = keep;
  }

  private touchReplica(s: Extract<QuorumState, { role: 'leader' }>, replicaId: number): ReplicaState {
    const isVoter = this.voters.includes(replicaId);
    const map = isVoter ? s.voterStates : s.observerStates;
    let r = map.get(replicaId);
    if (r === undefined) {
      if (!isVoter && map.size >= MAX_TRACKED_OBSERVERS) {
        // Forget the observer heard from least recently.
        let oldest: number | null = null;
        let oldestMs = Number.POSITIVE_INFINITY;
        for (const [id, o] of map) {
          if (o.lastFetchMs < oldestMs) {
            oldestMs = o.lastFetchMs;
            oldest = id;
          }
        }
        if (oldest !== null) map.delete(oldest);
      }
      r = { endOffset: -1, lastFetchMs: -1, lastCaughtUpMs: -1, leaderEndAtLastFetch: -1 };
      map.set(replicaId, r);
    }
    r.lastFetchMs = this.now;
    if (isVoter && replicaId !== this.nodeId) {
      s.beginQuorumPending.delete(replicaId);
      s.fetchedVoters.add(replicaId);
      if (s.fetchedVoters.size + 1 >= this.majority) {
        s.fetchedVoters.clear();
        s.checkQuorumDeadlineMs = this.now + this.config.fetchTimeoutMs;
      }
    }
    return r;
  }

  private updateReplicaOffset(r: ReplicaState, fetchOffset: number): void {
    const leaderEnd = this.log.endOffset();
    if (fetchOffset >= leaderEnd) r.lastCaughtUpMs = this.now;
    else if (r.leaderEndAtLastFetch >= 0 && fetchOffset >= r.leaderEndAtLastFetch) {
      r.lastCaughtUpMs = Math.max(r.lastCaughtUpMs, r.lastFetchMs);
    }
    r.leaderEndAtLastFetch = leaderEnd;
    r.endOffset = fetchOffset;
  }

  /** The high watermark is the largest offset a majority of voters has durably, once it covers the epoch start. */
  private maybeAdvanceLeaderHighWatermark(): void {
    const s = this.state;
    if (s.role !== 'leader') return;
    const offsets: number[] = [];
    for (const id of this.voters) {
      if (id === this.nodeId) offsets.push(this.flushedOffset);
      else offsets.push(s.voterStates.get(id)?.endOffset ?? -1);
    }
    offsets.sort((a, b) => b - a);
    const candidate = offsets[this.majority - 1]!;
    // Raft commits older-epoch records only through a record of the current epoch.
    if (candidate > s.epochStartOffset && candidate > this.hw) {
      invariant(candidate <= this.log.endOffset(), `high watermark ${candidate} beyond the log end`);
      this.setHighWatermark(candidate);
      this.completeParkedFetches(true);
    }
  }

  private setHighWatermark(offset: number): void {
    if (offset <= this.hw) return;
    this.hw = offset;
    this.outputs.push({ type: 'highWatermark', offset });
  }

  // ---- response handling -------------------------------------------------------------------

  /**
   * A peer told us of an epoch and leader. Moves to a newer epoch (following its leader when
   * known), or follows a leader newly learned in our epoch. Returns true when the state changed.
   */
  private learnLeader(epoch: number, leaderId: number, fromLeader: boolean): boolean {
    const s = this.state;
    if (epoch > s.epoch) {
      if (leaderId !== NO_ID && leaderId !== this.nodeId) this.becomeFollower(epoch, leaderId, fromLeader);
      else this.becomeUnattached(epoch, NO_ID);
      return true;
    }
    if (epoch < s.epoch || leaderId === NO_ID) return false;
    if (s.role === 'leader' || s.role === 'resigned') {
      invariant(leaderId === this.nodeId, `node ${leaderId} claims epoch ${epoch}, which node ${this.nodeId} leads`);
      return false;
    }
    if (s.role === 'follower' && s.leaderId === leaderId) {
      if (fromLeader) {
        s.lastLeaderContactMs = this.now;
        s.fetchDeadlineMs = Math.max(s.fetchDeadlineMs, this.now + this.config.fetchTimeoutMs);
      }
      return false;
    }
    invariant(s.role !== 'follower', `epoch ${epoch} has two leaders: ${leaderId} and ${this.leaderId}`);
    if (leaderId === this.nodeId) return false;
    // A prospective that lost touch with its leader is not pulled back by others merely naming
    // that leader (they may not have noticed yet); only the leader itself brings it back.
    if (s.role === 'prospective' && s.leaderId === leaderId && !fromLeader) return false;
    this.becomeFollower(epoch, leaderId, fromLeader);
    return true;
  }

  private onVoteResponse(source: number, res: VoteResponse): void {
    if (this.learnLeader(res.leaderEpoch, res.leaderId, false)) return;
    const s = this.state;
    if (s.role !== 'prospective' && s.role !== 'candidate') return;
    if (res.errorCode !== ErrorCode.NONE || res.leaderEpoch !== s.epoch) {
      if (res.errorCode !== ErrorCode.NONE) this.backoffUntil.set(source, this.now + this.config.retryBackoffMs);
      return;
    }
    if (s.failed) return;
    if (res.voteGranted) s.grants.add(source);
    else s.rejects.add(source);
    if (s.grants.size + 1 >= this.majority) {
      if (s.role === 'prospective') this.becomeCandidate();
      else this.becomeLeader();
    } else if (s.rejects.size > this.voters.length - this.majority) {
      this.backOffElection(s);
    }
  }

  private onBeginQuorumEpochResponse(source: number, res: BeginQuorumEpochResponse): void {
    if (this.learnLeader(res.leaderEpoch, res.leaderId, false)) return;
    const s = this.state;
    if (s.role !== 'leader') return;
    if (res.errorCode === ErrorCode.NONE && res.leaderEpoch === s.epoch) s.beginQuorumPending.delete(source);
    else this.backoffUntil.set(source, this.now + this.config.retryBackoffMs);
  }

  private onEndQuorumEpochResponse(source: number, res: EndQuorumEpochResponse): void {
    const s = this.state;
    if (s.role === 'resigned' && (res.errorCode === ErrorCode.NONE || res.leaderEpoch >= s.epoch)) {
      s.endQuorumPending.delete(source);
    }
    this.learnLeader(res.leaderEpoch, res.leaderId, false);
  }

  private onFetchResponse(source: number, correlationId: number, res: FetchResponse<R>): void {
    const s = this.state;
    const mine = s.role === 'follower' && s.fetchCorrelationId === correlationId;
    if (s.role === 'follower') s.fetchCorrelationId = 0;
    if (res.errorCode !== ErrorCode.NONE) {
      if (!this.learnLeader(res.leaderEpoch, res.leaderId, false)) {
        this.backoffUntil.set(source, this.now + this.config.retryBackoffMs);
        if (!this.isVoter && s.role === 'unattached') this.rotateBootstrap();
      }
      return;
    }
    // Success: the responder leads res.leaderEpoch.
    if (this.learnLeader(res.leaderEpoch, res.leaderId, true)) {
      // We just started following; the answer was to a request from our previous state.
      return;
    }
    if (!mine || s.role !== 'follower' || s.leaderId !== source || res.leaderEpoch !== s.epoch) return;
    if (res.divergingEpoch !== null) {
      this.truncateToDivergence(res.divergingEpoch.epoch, res.divergingEpoch.endOffset);
      // Until an answer validates the shortened log, nothing new here counts as committed.
      s.leaderHw = this.hw;
      return;
    }
    if (res.snapshotId !== null) {
      s.download = { id: res.snapshotId, position: 0, correlationId: 0 };
      return;
    }
    // The leader accepted our position, so our log matches its log up to our end (and the
    // records continue it): its high watermark applies here within what is on our disk.
    if (res.records !== null) this.log.appendAsFollower(res.records);
    s.leaderHw = Math.max(s.leaderHw, res.highWatermark);
    this.setHighWatermark(Math.min(s.leaderHw, this.flushedOffset));
  }

  private onFetchSnapshotResponse(source: number, correlationId: number, res: FetchSnapshotResponse): void {
    const s = this.state;
    if (res.errorCode !== ErrorCode.NONE) {
      if (this.learnLeader(res.leaderEpoch, res.leaderId, false)) return;
      if (s.role === 'follower' && s.download?.correlationId === correlationId) {
        // The snapshot is gone (a newer one replaced it) or we asked badly: start over with a Fetch.
        s.download = null;
      }
      this.backoffUntil.set(source, this.now + this.config.retryBackoffMs);
      return;
    }
    if (this.learnLeader(res.leaderEpoch, source, true)) return;
    if (s.role !== 'follower' || s.leaderId !== source || res.leaderEpoch !== s.epoch) return;
    const d = s.download;
    if (d === null || d.correlationId !== correlationId) return;
    d.correlationId = 0;
    const sameId = res.snapshotId.endOffset === d.id.endOffset && res.snapshotId.epoch === d.id.epoch;
    if (!sameId || res.position !== d.position || res.sizeBytes < 0 || d.position + res.bytes.length > res.sizeBytes) {
      s.download = null;
      return;
    }
    if (res.bytes.length === 0 && d.position < res.sizeBytes) {
      s.download = null;
      return;
    }
    this.log.writeSnapshotChunk(d.id, d.position, res.bytes);
    d.position += res.bytes.length;
    if (d.position < res.sizeBytes) return;
    s.download = null;
    invariant(d.id.endOffset >= this.hw, `snapshot ${d.id.endOffset} is behind the high watermark ${this.hw}`);
    if (!this.log.installSnapshot(d.id, res.sizeBytes)) return;
    this.truncations++;
    this.flushedOffset = this.log.endOffset();
    this.outputs.push({ type: 'snapshotInstalled', snapshotId: { ...d.id } });
    this.setHighWatermark(d.id.endOffset);
  }

  private truncateToDivergence(epoch: number, endOffset: number): void {
    const local = this.log.endOffsetForEpoch(epoch);
    const target = Math.min(endOffset, local === null ? this.log.startOffset() : local.offset);
    if (target >= this.log.endOffset()) return;
    invariant(target >= this.hw, `truncating to ${target} would remove committed records below ${this.hw}`);
    invariant(target >= this.log.startOffset(), `truncating to ${target} below the log start`);
    this.log.truncateTo(target);
    this.truncations++;
    this.flushedOffset = Math.min(this.flushedOffset, this.log.endOffset());
  }

  // ---- transitions -------------------------------------------------------------------------

  private persist(epoch: number, leaderId: number, votedId: number): void {
    this.store.write({ epoch, leaderId, votedId });
  }

  /** Leaves the current state: held fetches are answered, requests of the old state are forgotten. */
  private leaveState(): void {
    this.inflight.clear();
    this.backoffUntil.clear();
    const wasLeader = this.state.role === 'leader';
    if (wasLeader || this.parked.length > 0) {
      // `state` still says leader here, so answer explicitly.
      for (const p of this.parked) {
        this.respond(p.handle, { ...this.fetchAnswer(ErrorCode.NOT_LEADER_OR_FOLLOWER), leaderId: NO_ID });
      }
      this.parked = [];
    }
  }

  private becomeUnattached(epoch: number, votedId: number): void {
    const prev = this.state;
    invariant(epoch >= prev.epoch, `epoch going back from ${prev.epoch} to ${epoch}`);
    if (epoch === prev.epoch) {
      const prevVote =
        prev.role === 'unattached' || prev.role === 'prospective' || prev.role === 'follower'
          ? prev.votedId
          : this.nodeId; // candidates, leaders and resigned leaders voted for themselves
      invariant(
        prevVote === NO_ID || prevVote === votedId || votedId === NO_ID,
        `node ${this.nodeId} would vote twice in epoch ${epoch}`,
      );
      if (votedId === NO_ID) votedId = prevVote;
    }
    this.persist(epoch, NO_ID, votedId);
    this.leaveState();
    this.state = { role: 'unattached', epoch, votedId, electionDeadlineMs: this.now + this.randomElectionTimeoutMs() };
    this.emitStateChange();
  }

  private followerState(
    epoch: number,
    leaderId: number,
    votedId: number,
    fromLeader: boolean,
  ): Extract<QuorumState, { role: 'follower' }> {
    return {
      role: 'follower',
      epoch,
      leaderId,
      votedId,
      fetchDeadlineMs: this.now + this.config.fetchTimeoutMs,
      lastLeaderContactMs: fromLeader ? this.now : Number.NEGATIVE_INFINITY,
      fetchCorrelationId: 0,
      download: null,
      leaderHw: -1,
    };
  }

  private becomeFollower(epoch: number, leaderId: number, fromLeader: boolean): void {
    const prev = this.state;
    invariant(epoch >= prev.epoch, `epoch going back from ${prev.epoch} to ${epoch}`);
    invariant(leaderId !== this.nodeId, 'a node cannot follow itself');
    let votedId = NO_ID;
    if (epoch === prev.epoch) {
      invariant(prev.role !== 'leader' && prev.role !== 'resigned', `epoch ${epoch} would have two leaders`);
      if (prev.role === 'unattached' || prev.role === 'prospective' || prev.role === 'follower') votedId = prev.votedId;
      else if (prev.role === 'candidate') votedId = this.nodeId;
    }
    this.persist(epoch, leaderId, votedId);
    this.leaveState();
    this.state = this.followerState(epoch, leaderId, votedId, fromLeader);
    this.emitStateChange();
  }

  private startProspective(): void {
    invariant(this.isVoter, 'an observer cannot run for election');
    const prev = this.state;
    const votedId =
      prev.role === 'unattached' || prev.role === 'prospective' || prev.role === 'follower'
        ? prev.votedId
        : prev.role === 'candidate' || prev.role === 'resigned'
          ? this.nodeId
          : NO_ID;
    const leaderId = prev.role === 'follower' ? prev.leaderId : prev.role === 'prospective' ? prev.leaderId : NO_ID;
    this.leaveState();
    this.state = {
      role: 'prospective',
      epoch: prev.epoch,
      votedId,
      leaderId,
      grants: new Set(),
      rejects: new Set(),
      failed: false,
      deadlineMs: this.now + this.randomElectionTimeoutMs(),
    };
    this.emitStateChange();
    if (1 >= this.majority) this.becomeCandidate();
  }

  private becomeCandidate(): void {
    const epoch = this.state.epoch + 1;
    this.persist(epoch, NO_ID, this.nodeId);
    this.leaveState();
    this.state = {
      role: 'candidate',
      epoch,
      grants: new Set(),
      rejects: new Set(),
      failed: false,
      deadlineMs: this.now + this.randomElectionTimeoutMs(),
    };
    this.emitStateChange();
    if (1 >= this.majority) this.becomeLeader();
  }

  private becomeLeader(): void {
    const prev = this.state;
    invariant(prev.role === 'candidate', 'only a candidate becomes leader');
    const epoch = prev.epoch;
    this.persist(epoch, this.nodeId, this.nodeId);
    this.leaveState();
    const epochStartOffset = this.log.endOffset();
    const voterStates = new Map<number, ReplicaState>();
    for (const id of this.otherVoters()) {
      voterStates.set(id, { endOffset: -1, lastFetchMs: -1, lastCaughtUpMs: -1, leaderEndAtLastFetch: -1 });
    }
    this.state = {
      role: 'leader',
      epoch,
      epochStartOffset,
      voterStates,
      observerStates: new Map(),
      beginQuorumPending: new Set(this.otherVoters()),
      beginQuorumDeadlineMs: this.now + this.beginQuorumIntervalMs(),
      fetchedVoters: new Set(),
      checkQuorumDeadlineMs: this.now + this.config.fetchTimeoutMs,
    };
    const change = this.log.appendLeaderChange(epoch, this.nodeId, this.voters);
    invariant(change.baseOffset === epochStartOffset, 'the leader change record must start the epoch');
    // The epoch's first record is flushed at once: nothing commits before it does.
    this.unflushedSinceMs = this.now - this.config.appendLingerMs;
    this.emitStateChange();
  }

  private becomeResigned(preferredSuccessors: number[]): void {
    const prev = this.state;
    invariant(prev.role === 'leader', 'only a leader resigns');
    this.leaveState();
    this.state = {
      role: 'resigned',
      epoch: prev.epoch,
      electionDeadlineMs: this.now + this.randomElectionTimeoutMs(),
      endQuorumPending: new Set(this.otherVoters()),
      preferredSuccessors,
    };
    this.emitStateChange();
  }

  private backOffElection(s: ElectionRound): void {
    s.failed = true;
    s.deadlineMs = this.now + Math.floor(this.random() * this.config.electionBackoffMaxMs);
  }

  private emitStateChange(): void {
    this.outputs.push({ type: 'stateChange', role: this.state.role, epoch: this.state.epoch, leaderId: this.leaderId });
  }

  // ---- sending -----------------------------------------------------------------------------

  /** Sends whatever the current state needs and the connection rules allow. */
  private sendRequests(): void {
    const s = this.state;
    switch (s.role) {
      case 'prospective':
      case 'candidate':
        if (s.failed) return;
        for (const id of this.otherVoters()) {
          if (s.grants.has(id) || s.rejects.has(id)) continue;
          const preVote = s.role === 'prospective';
          this.send(id, {
            type: 'vote',
            clusterId: this.clusterId,
            candidateId: this.nodeId,
            candidateEpoch: preVote ? s.epoch + 1 : s.epoch,
            lastOffsetEpoch: this.log.lastEpoch(),
            lastOffset: this.log.endOffset(),
            preVote,
            voterId: id,
          });
        }
        return;
      case 'leader':
        for (const id of s.beginQuorumPending) {
          this.send(id, {
            type: 'beginQuorumEpoch',
            clusterId: this.clusterId,
            leaderId: this.nodeId,
            leaderEpoch: s.epoch,
            voterId: id,
          });
        }
        return;
      case 'resigned':
        for (const id of s.endQuorumPending) {
          this.send(id, {
            type: 'endQuorumEpoch',
            clusterId: this.clusterId,
            leaderId: this.nodeId,
            leaderEpoch: s.epoch,
            preferredSuccessors: s.preferredSuccessors,
          });
        }
        return;
      case 'follower':
        this.sendFetch(s);
        return;
      case 'unattached':
        if (!this.isVoter) this.sendBootstrapFetch(s.epoch);
        return;
    }
  }

  private sendFetch(s: Extract<QuorumState, { role: 'follower' }>): void {
    if (s.download !== null) {
      if (s.download.correlationId !== 0) return;
      const id = this.send(s.leaderId, {
        type: 'fetchSnapshot',
        clusterId: this.clusterId,
        replicaId: this.nodeId,
        currentLeaderEpoch: s.epoch,
        snapshotId: s.download.id,
        position: s.download.position,
        maxBytes: this.config.fetchSnapshotMaxBytes,
      });
      if (id !== 0) s.download.correlationId = id;
      return;
    }
    if (s.fetchCorrelationId !== 0) return;
    // The fetch offset acknowledges the log below it: it must be on disk first.
    if (this.flushedOffset < this.log.endOffset()) return;
    const id = this.send(s.leaderId, this.fetchRequest(s.epoch));
    if (id !== 0) s.fetchCorrelationId = id;
  }

  private sendBootstrapFetch(epoch: number): void {
    if (this.flushedOffset < this.log.endOffset()) return;
    const dest = this.bootstrap[this.bootstrapIndex % this.bootstrap.length]!;
    if (dest === this.nodeId) {
      this.rotateBootstrap();
      return;
    }
    this.send(dest, this.fetchRequest(epoch));
  }

  private rotateBootstrap(): void {
    this.bootstrapIndex = (this.bootstrapIndex + 1) % this.bootstrap.length;
  }

  private fetchRequest(epoch: number): FetchRequest {
    return {
      type: 'fetch',
      clusterId: this.clusterId,
      replicaId: this.nodeId,
      currentLeaderEpoch: epoch,
      fetchOffset: this.log.endOffset(),
      lastFetchedEpoch: this.log.lastEpoch(),
      // A long poll must end well before the request times out, or every idle fetch would fail.
      maxWaitMs: Math.min(this.config.fetchMaxWaitMs, Math.floor(this.config.requestTimeoutMs / 2)),
      maxBytes: this.config.fetchMaxBytes,
    };
  }

  /** Queues a request unless one is in flight to `destination` or it is backing off; returns its correlation id or 0. */
  private send(destination: number, request: RaftRequest): number {
    if (this.inflight.has(destination)) return 0;
    const backoff = this.backoffUntil.get(destination);
    if (backoff !== undefined) {
      if (backoff > this.now) return 0;
      this.backoffUntil.delete(destination);
    }
    const correlationId = this.nextCorrelationId++;
    this.inflight.set(destination, {
      correlationId,
      type: request.type,
      deadlineMs: this.now + this.config.requestTimeoutMs,
    });
    this.outputs.push({ type: 'send', destination, correlationId, request });
    return correlationId;
  }

  private failRequest(destination: number, correlationId: number): void {
    const o = this.inflight.get(destination);
    if (o === undefined || o.correlationId !== correlationId) return;
    this.inflight.delete(destination);
    this.backoffUntil.set(destination, this.now + this.config.retryBackoffMs);
    const s = this.state;
    if (s.role === 'follower') {
      if (s.fetchCorrelationId === correlationId) s.fetchCorrelationId = 0;
      if (s.download?.correlationId === correlationId) s.download.correlationId = 0;
    }
    if (!this.isVoter && s.role === 'unattached') this.rotateBootstrap();
  }

  private respond(handle: number, response: RaftResponse<R>): void {
    this.outputs.push({ type: 'respond', handle, response });
  }

  // ---- disk --------------------------------------------------------------------------------

  private requestFlushIfNeeded(): void {
    if (this.flushInFlight !== null) return;
    const end = this.log.endOffset();
    if (end <= this.flushedOffset) {
      this.unflushedSinceMs = null;
      return;
    }
    // Leader appends linger so one fsync covers many; everything else is flushed at once.
    if (this.state.role === 'leader' && this.unflushedSinceMs !== null) {
      if (this.now < this.unflushedSinceMs + this.config.appendLingerMs) return;
    }
    const flushId = this.nextFlushId++;
    this.flushInFlight = { flushId, offset: end, truncations: this.truncations };
    this.unflushedSinceMs = null;
    this.outputs.push({ type: 'flush', flushId, offset: end });
  }

  // ---- helpers -----------------------------------------------------------------------------

  private advance(nowMs: number): void {
    // Time never runs backwards inside the state machine, whatever the clock does.
    if (nowMs > this.now) this.now = nowMs;
  }

  private otherVoters(): number[] {
    return this.voters.filter((id) => id !== this.nodeId);
  }

  private beginQuorumIntervalMs(): number {
    return Math.max(1, Math.floor(this.config.fetchTimeoutMs / 2));
  }

  private randomElectionTimeoutMs(): number {
    return this.config.electionTimeoutMs + Math.floor(this.random() * this.config.electionTimeoutMs);
  }

  private clusterIdMatches(clusterId: string | null): boolean {
    return clusterId === null || this.clusterId === null || clusterId === this.clusterId;
  }

  private candidateLogIsUpToDate(lastEpoch: number, lastOffset: number): boolean {
    const myEpoch = this.log.lastEpoch();
    if (lastEpoch !== myEpoch) return lastEpoch > myEpoch;
    return lastOffset >= this.log.endOffset();
  }
}
