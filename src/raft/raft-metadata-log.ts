// The driver: runs the sans-io RaftNode with real time, the metadata log on disk and TCP, and
// implements the MetadataLog the image, the controller and the handlers use. Voters take part in
// elections; observers (broker-only nodes) replicate the log without voting.
//
// Committed batches go to the listener in order: the latest snapshot first (at start-up, or when
// the leader sends one), then every batch below the high watermark. Control batches (a new
// leader's LeaderChangeMessage) are delivered with no records so committed offsets keep moving.
import { randomInt } from 'node:crypto';
import * as path from 'node:path';
import type { CommitListener, CommittedBatch, MetadataLog, SnapshotSource } from '../metadata/log.js';
import { METADATA_TOPIC, METADATA_TOPIC_ID } from '../metadata/log.js';
import { decodeMetadataRecord, encodeMetadataRecord, type MetadataRecord } from '../metadata/records.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { DescribeQuorumResponse } from '../protocol/generated/api/describe-quorum.js';
import { ApiKey } from '../protocol/generated/apis.js';
import { decodeRecordBatches, encodeRecordBatch } from '../records/index.js';
import { errorMessage, logger } from '../util/log.js';
import {
  beginQuorumEpochRequestToWire,
  beginQuorumEpochResponseFromWire,
  collectEndpoints,
  type Endpoint,
  endQuorumEpochRequestToWire,
  endQuorumEpochResponseFromWire,
  fetchRequestToWire,
  fetchResponseFromWire,
  fetchSnapshotRequestToWire,
  fetchSnapshotResponseFromWire,
  RAFT_REQUEST_VERSIONS,
  voteRequestToWire,
  voteResponseFromWire,
} from './codec.js';
import { PartitionRaftLog } from './partition-raft-log.js';
import { FileQuorumStateStore } from './quorum-state.js';
import { RaftInvariantError, RaftNode } from './raft-node.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot-file.js';
import { type RaftTransport, TcpRaftTransport } from './transport.js';
import {
  DEFAULT_RAFT_CONFIG,
  NO_ID,
  type QuorumDescription,
  type RaftConfig,
  type RaftOutput,
  type RaftRequest,
  type RaftResponse,
  type ReplicaDescription,
  type SnapshotId,
} from './types.js';

/** Destination ids the driver gives controller.quorum.bootstrap.servers entries (never node ids). */
const BOOTSTRAP_ID_BASE = -2;
/** Bytes read per step when delivering committed batches. */
const DELIVERY_READ_BYTES = 8 * 1024 * 1024;
/** How long close() waits for EndQuorumEpoch to reach the voters after resigning. */
const RESIGN_GRACE_MS = 200;
/** Timer lateness up to this is ordinary jitter, not a stall of the event loop (see raftNow). */
const STALL_TOLERANCE_MS = 5;

export interface RaftMetadataLogOptions {
  /** The metadata log directory; the log lives in `<dir>/__cluster_metadata-0`. */
  dir: string;
  nodeId: number;
  /** Checked against peers' requests; null skips the check. */
  clusterId: string | null;
  /** controller.quorum.voters: voter ids and their CONTROLLER listener addresses. */
  voters: ReadonlyMap<number, Endpoint>;
  /** controller.quorum.bootstrap.servers, for observers that do not list the voters. */
  bootstrapServers?: readonly Endpoint[];
  config?: Partial<RaftConfig>;
  /** Defaults to TCP to the voters' endpoints. */
  transport?: RaftTransport;
  clock?: () => number;
  /** Uniform in [0, 1); defaults to a cryptographic source. */
  random?: () => number;
  /** metadata.log.max.record.bytes.between.snapshots. */
  snapshotIntervalBytes?: number;
  segmentBytes?: number;
}

interface PendingAppend {
  lastOffset: number;
  epoch: number;
  resolve: (offset: number) => void;
  reject: (err: Error) => void;
}

function notController(message: string): KafkaError {
  return new KafkaError(ErrorCode.NOT_CONTROLLER, message);
}

export class RaftMetadataLog implements MetadataLog {
  private readonly log = logger('raft');
  readonly nodeId: number;
  readonly voterIds: readonly number[];
  readonly config: RaftConfig;
  private readonly opts: RaftMetadataLogOptions;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly transport: RaftTransport;
  private raftLog: PartitionRaftLog | null = null;
  private node: RaftNode<Buffer, Buffer> | null = null;
  private listener: CommitListener | null = null;
  private snapshotSource: SnapshotSource | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerAtMs = Number.POSITIVE_INFINITY;
  private nextHandle = 1;
  private readonly inbound = new Map<number, { request: RaftRequest; respond: (r: RaftResponse<Buffer>) => void }>();
  private pendingAppends: PendingAppend[] = [];
  /** Offset after the last batch delivered to the listener. */
  private applied = 0;
  private bytesSinceSnapshot = 0;
  private closed = false;
  private failed: Error | null = null;
  private stepping = false;
  private lastStateText = '';
  private readonly stateWaiters: (() => void)[] = [];
  /** Time the event loop was stalled, which the state machine's clock leaves out (see raftNow). */
  private stalledMs = 0;
  private lastRaftNowMs = Number.NEGATIVE_INFINITY;
  private stallTimer: NodeJS.Timeout | null = null;
  /** When (performance.now()) the stall timer is due; the loop is stalled while it is overdue. */
  private stallTickDueMs = Number.POSITIVE_INFINITY;

  constructor(opts: RaftMetadataLogOptions) {
    this.opts = opts;
    this.nodeId = opts.nodeId;
    this.voterIds = [...opts.voters.keys()].sort((a, b) => a - b);
    this.config = { ...DEFAULT_RAFT_CONFIG, ...opts.config };
    this.clock = opts.clock ?? Date.now;
    this.random = opts.random ?? (() => randomInt(0, 0x7fffffff) / 0x80000000);
    const endpoints = new Map<number, Endpoint>(opts.voters);
    for (const [i, e] of (opts.bootstrapServers ?? []).entries()) endpoints.set(BOOTSTRAP_ID_BASE - i, e);
    this.transport = opts.transport ?? new TcpRaftTransport({ clientId: `eddy-raft-${opts.nodeId}`, endpoints });
    if (opts.transport) for (const [id, e] of endpoints) opts.transport.setEndpoint(id, e);
  }

  // ---- MetadataLog -------------------------------------------------------------------------

  async start(listener: CommitListener, snapshotSource?: SnapshotSource): Promise<void> {
    if (this.node !== null) throw new Error('raft metadata log already started');
    this.listener = listener;
    this.snapshotSource = snapshotSource ?? null;
    const partitionDir = path.join(this.opts.dir, `${METADATA_TOPIC}-0`);
    const raftLog = await PartitionRaftLog.open({
      dir: partitionDir,
      topic: METADATA_TOPIC,
      topicId: METADATA_TOPIC_ID,
      clock: this.clock,
      segmentBytes: this.opts.segmentBytes,
    });
    this.raftLog = raftLog;
    // The newest snapshot is committed state: the listener starts from it.
    const snap = raftLog.readLatestSnapshot();
    if (snap !== null) this.deliverSnapshot(snap.id, snap.bytes);
    this.applied = raftLog.startOffset();
    const bootstrap =
      this.voterIds.length > 0 && this.opts.voters.size > 0
        ? this.voterIds
        : (this.opts.bootstrapServers ?? []).map((_, i) => BOOTSTRAP_ID_BASE - i);
    this.node = new RaftNode<Buffer, Buffer>({
      nodeId: this.nodeId,
      voters: this.voterIds,
      bootstrap,
      clusterId: this.opts.clusterId,
      config: this.config,
      log: raftLog,
      store: new FileQuorumStateStore(partitionDir, this.opts.clusterId ?? '', this.voterIds),
      random: this.random,
      nowMs: this.raftNow(),
    });
    this.watchStalls();
    this.drain();
    this.log.info(
      `node ${this.nodeId} joined the metadata quorum as ${this.node.isVoter ? 'a voter' : 'an observer'} of [${this.voterIds.join(',')}]: ${this.node.role} in epoch ${this.node.epoch}, log [${raftLog.startOffset()}, ${raftLog.endOffset()})`,
    );
    // A sole voter elects itself at once; wait for that so the first append need not fail.
    if (this.node.isVoter && this.voterIds.length === 1) await this.waitFor(() => this.isLeader(), 30_000);
  }

  append(records: MetadataRecord[]): Promise<number> {
    const node = this.node;
    if (this.failed) return Promise.reject(notController(`the metadata quorum failed: ${this.failed.message}`));
    if (this.closed || node === null) return Promise.reject(notController('the metadata log is closed'));
    if (!this.isLeader()) return Promise.reject(notController(`node ${this.nodeId} is not the active controller`));
    if (records.length === 0) return Promise.reject(new KafkaError(ErrorCode.INVALID_REQUEST, 'empty metadata append'));
    const now = this.clock();
    const raftNow = this.raftNow();
    const batch = encodeRecordBatch({
      partitionLeaderEpoch: node.epoch,
      baseTimestamp: now,
      records: records.map((r) => ({ key: null, value: encodeMetadataRecord(r), timestamp: now })),
    });
    return new Promise<number>((resolve, reject) => {
      let appended: { baseOffset: number; lastOffset: number } | null = null;
      this.step(() => {
        appended = node.append(batch, raftNow);
      });
      if (appended === null) {
        reject(notController(`node ${this.nodeId} lost leadership`));
        return;
      }
      const { lastOffset } = appended;
      if (this.applied > lastOffset) resolve(lastOffset);
      else this.pendingAppends.push({ lastOffset, epoch: node.epoch, resolve, reject });
    });
  }

  /** True when this node leads and has applied everything committed before its epoch. */
  isLeader(): boolean {
    const n = this.node;
    return n !== null && !this.closed && this.failed === null && n.role === 'leader' && n.leaderCommittedEpochStart;
  }

  leaderId(): number {
    return this.node?.leaderId ?? NO_ID;
  }

  leaderEpoch(): number {
    return this.node?.epoch ?? 0;
  }

  /** Offset after the last committed record delivered to the listener. */
  endOffset(): number {
    return this.applied;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const node = this.node;
    if (node !== null && this.failed === null && node.role === 'leader') {
      // Controlled shutdown: hand leadership over instead of leaving the voters to time out.
      this.step(() => node.resign(this.raftNow()));
      await new Promise((r) => setTimeout(r, Math.min(RESIGN_GRACE_MS, this.config.electionTimeoutMs)));
    }
    this.closed = true;
    this.clearTimer();
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    this.failAppends(notController('the metadata log is closed'));
    for (const [handle, { request, respond }] of this.inbound) {
      this.inbound.delete(handle);
      respond(this.unavailableFor(request));
    }
    this.transport.close();
    for (const w of this.stateWaiters.splice(0)) w();
    await this.raftLog?.close();
    this.raftLog = null;
  }

  // ---- raft-specific -----------------------------------------------------------------------

  /** The Raft role of this node (unattached, prospective, candidate, leader, follower, resigned). */
  get role(): string {
    return this.node?.role ?? 'unattached';
  }

  get highWatermark(): number {
    return this.node?.highWatermark ?? 0;
  }

  get isVoter(): boolean {
    return this.voterIds.includes(this.nodeId);
  }

  /** Where a node listens (its CONTROLLER listener), when known. */
  endpointOf(nodeId: number): Endpoint | null {
    return this.transport.endpointOf(nodeId);
  }

  /** A request from a peer (the raft handlers call this); resolves with the answer. */
  handleRequest(request: RaftRequest): Promise<RaftResponse<Buffer>> {
    const node = this.node;
    if (node === null || this.closed || this.failed) return Promise.resolve(this.unavailableFor(request));
    return new Promise((resolve) => {
      const handle = this.nextHandle++;
      this.inbound.set(handle, { request, respond: resolve });
      this.step(() => node.handleRequest(handle, request, this.raftNow()));
    });
  }

  /** DescribeQuorum from this node's view: answered when it leads, null otherwise. */
  describeQuorum(): QuorumDescription | null {
    const d = this.node?.describeQuorum() ?? null;
    if (d === null) return null;
    // The state machine's timestamps leave out stalls (see raftNow); report wall-clock ones
    // (approximately: stalls since a timestamp was taken shift it too, hence the cap at now).
    const nowMs = this.clock();
    const toWall = (t: number): number => (t < 0 ? t : Math.min(nowMs, t + this.stalledMs));
    const wall = (r: ReplicaDescription): ReplicaDescription => ({
      ...r,
      lastFetchTimestampMs: toWall(r.lastFetchTimestampMs),
      lastCaughtUpTimestampMs: toWall(r.lastCaughtUpTimestampMs),
    });
    return { ...d, voters: d.voters.map(wall), observers: d.observers.map(wall) };
  }

  /** Forwards DescribeQuorum to the leader (for a node that does not lead); null when no leader is known. */
  async forwardDescribeQuorum(timeoutMs = this.config.requestTimeoutMs): Promise<DescribeQuorumResponse | null> {
    const leader = this.leaderId();
    if (leader < 0 || leader === this.nodeId) return null;
    return this.transport.send(
      leader,
      ApiKey.DescribeQuorum,
      2,
      { topics: [{ topicName: METADATA_TOPIC, partitions: [{ partitionIndex: 0 }] }] },
      timeoutMs,
    );
  }

  /** Resigns leadership now (controlled shutdown moves leadership away first). */
  resign(): void {
    const node = this.node;
    if (node !== null && !this.closed) this.step(() => node.resign(this.raftNow()));
  }

  /** Writes a snapshot of the committed state now (normally driven by the bytes since the last one). */
  snapshotNow(): SnapshotId | null {
    return this.takeSnapshot();
  }

  /** Resolves once `predicate` holds (checked after every step) or rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.stateWaiters.indexOf(check);
        if (i >= 0) this.stateWaiters.splice(i, 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for the metadata quorum`));
      }, timeoutMs);
      const check = () => {
        if (!predicate() && !this.closed) {
          this.stateWaiters.push(check);
          return;
        }
        clearTimeout(timer);
        if (this.closed && !predicate()) reject(new Error('the metadata log closed'));
        else resolve();
      };
      this.stateWaiters.push(check);
    });
  }

  // ---- the step loop -----------------------------------------------------------------------

  /**
   * The state machine's clock: this node's clock minus the time its event loop was stalled (a
   * synchronous fsync, a machine short of CPU). Nothing is received during a stall, so it must
   * not count against fetch, election and request timeouts: otherwise, after a stall longer than
   * the fetch timeout, followers and the leader's check-quorum give up on each other before
   * reading the fetches and responses that are waiting, and a healthy quorum holds an election.
   * Only liveness depends on time in Raft, never safety. Never goes backwards.
   */
  private raftNow(): number {
    this.accountStall();
    const now = Math.max(this.lastRaftNowMs, this.clock() - this.stalledMs);
    this.lastRaftNowMs = now;
    return now;
  }

  /**
   * Adds to the stalled time how long the stall timer is overdue, so far. Done on every reading
   * of the clock, not only when the timer runs: after a stall, other callbacks (responses, other
   * timers) may run before it, and they must see the stall left out already.
   */
  private accountStall(): void {
    const lateMs = Math.floor(performance.now() - this.stallTickDueMs - STALL_TOLERANCE_MS);
    if (lateMs > 0) {
      this.stalledMs += lateMs;
      this.stallTickDueMs += lateMs;
    }
  }

  /** Measures stalls with a short repeating timer: the loop is stalled while it is overdue. */
  private watchStalls(): void {
    const tickMs = Math.min(200, Math.max(10, Math.floor(this.config.electionTimeoutMs / 5)));
    const tick = (): void => {
      this.accountStall();
      this.stallTickDueMs = performance.now() + tickMs;
      this.stallTimer = setTimeout(tick, tickMs);
      this.stallTimer.unref();
    };
    this.stallTickDueMs = performance.now() + tickMs;
    this.stallTimer = setTimeout(tick, tickMs);
    this.stallTimer.unref();
  }

  /** Runs one input on the state machine and acts on everything it asks for. */
  private step(input: () => void): void {
    if (this.closed || this.failed) return;
    try {
      input();
      if (!this.stepping) this.drain();
    } catch (err) {
      this.fail(err);
    }
  }

  private drain(): void {
    const node = this.node;
    if (node === null) return;
    this.stepping = true;
    try {
      for (;;) {
        const outputs = node.takeOutputs();
        if (outputs.length === 0) break;
        for (const o of outputs) this.act(o);
      }
    } finally {
      this.stepping = false;
    }
    this.armTimer();
    const waiters = this.stateWaiters.splice(0);
    for (const w of waiters) w();
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = err instanceof Error ? err : new Error(String(err));
    const what = err instanceof RaftInvariantError ? 'broke a Raft invariant' : 'failed';
    this.log.error(
      `node ${this.nodeId}: the metadata quorum ${what}; this node stops taking part: ${errorMessage(err)}`,
    );
    this.clearTimer();
    this.failAppends(notController(`the metadata quorum failed: ${this.failed.message}`));
  }

  private armTimer(): void {
    const node = this.node;
    if (node === null || this.closed) return;
    const at = node.nextDeadlineMs();
    if (at === this.timerAtMs && this.timer !== null) return;
    this.clearTimer();
    if (!Number.isFinite(at)) return;
    this.timerAtMs = at;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerAtMs = Number.POSITIVE_INFINITY;
        // Timers run before I/O in an event-loop turn: a timer that fired late must first let the
        // responses and requests that arrived meanwhile in, or it would time out what is answered.
        setImmediate(() => this.step(() => node.poll(this.raftNow())));
      },
      Math.max(0, at - this.raftNow()),
    );
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAtMs = Number.POSITIVE_INFINITY;
  }

  private act(o: RaftOutput<Buffer>): void {
    switch (o.type) {
      case 'send':
        this.sendRequest(o.destination, o.correlationId, o.request);
        return;
      case 'respond': {
        const pending = this.inbound.get(o.handle);
        if (pending) {
          this.inbound.delete(o.handle);
          pending.respond(o.response);
        }
        return;
      }
      case 'flush': {
        const raftLog = this.raftLog!;
        const node = this.node!;
        raftLog.flush().then(
          () => this.step(() => node.handleFlushed(o.flushId, this.raftNow())),
          (err) =>
            this.step(() => {
              throw new Error(`flushing the metadata log failed: ${errorMessage(err)}`);
            }),
        );
        return;
      }
      case 'highWatermark':
        this.raftLog!.log.highWatermark = o.offset;
        this.deliverCommitted(o.offset);
        return;
      case 'snapshotInstalled': {
        const snap = this.raftLog!.readLatestSnapshot();
        if (snap === null || snap.id.endOffset !== o.snapshotId.endOffset)
          throw new Error('the installed snapshot is missing');
        this.deliverSnapshot(snap.id, snap.bytes);
        this.applied = snap.id.endOffset;
        this.bytesSinceSnapshot = 0;
        return;
      }
      case 'stateChange': {
        if (o.role !== 'leader') this.failAppends(notController(`node ${this.nodeId} is no longer the leader`));
        const text = `${o.role} in epoch ${o.epoch}${o.leaderId >= 0 ? `, leader ${o.leaderId}` : ''}`;
        if (text !== this.lastStateText) this.log.info(`node ${this.nodeId}: ${text}`);
        this.lastStateText = text;
        return;
      }
    }
  }

  private sendRequest(destination: number, correlationId: number, request: RaftRequest): void {
    const node = this.node!;
    // The state machine times requests out by its own clock, which leaves out stalls; the
    // transport's limit, by the wall clock, is only a backstop that replaces a dead connection.
    const timeoutMs = 2 * this.config.requestTimeoutMs;
    const lookup = (id: number) => this.transport.endpointOf(id);
    const onFailure = (err: unknown) => {
      if (this.closed) return;
      this.log.debug(`node ${this.nodeId}: ${request.type} to ${destination} failed: ${errorMessage(err)}`);
      this.step(() => node.handleRequestFailure(destination, correlationId, this.raftNow()));
    };
    const deliver = (response: RaftResponse<Buffer>, endpoints?: { nodeId: number; host: string; port: number }[]) => {
      if (this.closed) return;
      if (endpoints && endpoints.length > 0) {
        const learned = new Map<number, Endpoint>();
        collectEndpoints(endpoints, learned);
        for (const [id, e] of learned) if (this.transport.endpointOf(id) === null) this.transport.setEndpoint(id, e);
      }
      this.step(() => node.handleResponse(destination, correlationId, response, this.raftNow()));
    };
    const v = RAFT_REQUEST_VERSIONS;
    switch (request.type) {
      case 'vote':
        this.transport
          .send(destination, ApiKey.Vote, v.vote, voteRequestToWire(request), timeoutMs)
          .then((b) => deliver(voteResponseFromWire(b), b.nodeEndpoints), onFailure);
        return;
      case 'beginQuorumEpoch':
        this.transport
          .send(
            destination,
            ApiKey.BeginQuorumEpoch,
            v.beginQuorumEpoch,
            beginQuorumEpochRequestToWire(request, lookup),
            timeoutMs,
          )
          .then((b) => deliver(beginQuorumEpochResponseFromWire(b), b.nodeEndpoints), onFailure);
        return;
      case 'endQuorumEpoch':
        this.transport
          .send(
            destination,
            ApiKey.EndQuorumEpoch,
            v.endQuorumEpoch,
            endQuorumEpochRequestToWire(request, v.endQuorumEpoch),
            timeoutMs,
          )
          .then((b) => deliver(endQuorumEpochResponseFromWire(b), b.nodeEndpoints), onFailure);
        return;
      case 'fetch':
        this.transport.send(destination, ApiKey.Fetch, v.fetch, fetchRequestToWire(request), timeoutMs).then(
          (b) =>
            deliver(
              fetchResponseFromWire(b),
              b.nodeEndpoints.map((e) => ({ nodeId: e.nodeId, host: e.host, port: e.port })),
            ),
          onFailure,
        );
        return;
      case 'fetchSnapshot':
        this.transport
          .send(destination, ApiKey.FetchSnapshot, v.fetchSnapshot, fetchSnapshotRequestToWire(request), timeoutMs)
          .then((b) => deliver(fetchSnapshotResponseFromWire(b), b.nodeEndpoints), onFailure);
        return;
    }
  }

  // ---- delivery to the listener ------------------------------------------------------------

  private deliverCommitted(highWatermark: number): void {
    const raftLog = this.raftLog!;
    const listener = this.listener;
    while (this.applied < highWatermark) {
      const { records } = raftLog.log.read(this.applied, DELIVERY_READ_BYTES, highWatermark, true);
      if (records.length === 0) throw new Error(`committed offset ${this.applied} is missing from the metadata log`);
      this.bytesSinceSnapshot += records.length;
      for (const b of decodeRecordBatches(records, { verifyCrc: true })) {
        const lastOffset = b.baseOffset + b.lastOffsetDelta;
        if (lastOffset < this.applied) continue;
        const batch: CommittedBatch = {
          kind: 'records',
          baseOffset: b.baseOffset,
          lastOffset,
          epoch: b.partitionLeaderEpoch,
          appendTimestampMs: b.maxTimestamp,
          records: b.isControl ? [] : b.records.map((r) => decodeMetadataRecord(r.value ?? Buffer.alloc(0))),
        };
        listener?.(batch);
        this.applied = lastOffset + 1;
      }
    }
    this.resolveAppends();
    if (
      this.snapshotSource !== null &&
      this.bytesSinceSnapshot >= (this.opts.snapshotIntervalBytes ?? 20 * 1024 * 1024)
    ) {
      this.takeSnapshot();
    }
  }

  private deliverSnapshot(id: SnapshotId, bytes: Buffer): void {
    const decoded = decodeSnapshot(bytes);
    this.listener?.({
      kind: 'snapshot',
      baseOffset: 0,
      lastOffset: id.endOffset - 1,
      epoch: id.epoch,
      appendTimestampMs: decoded.lastContainedLogTimestampMs,
      records: decoded.values.map((v) => decodeMetadataRecord(v)),
    });
  }

  private takeSnapshot(): SnapshotId | null {
    const source = this.snapshotSource;
    const raftLog = this.raftLog;
    if (source === null || raftLog === null) return null;
    const { lastContainedOffset, records } = source();
    const endOffset = lastContainedOffset + 1;
    const latest = raftLog.latestSnapshotId();
    if (endOffset > this.applied)
      throw new Error(`snapshot at ${endOffset} is beyond the committed offset ${this.applied}`);
    if (endOffset <= raftLog.startOffset() || (latest !== null && endOffset <= latest.endOffset)) return latest;
    const epoch = raftLog.log.epochForOffset(lastContainedOffset);
    if (epoch < 0) return latest;
    const id = { endOffset, epoch };
    const started = performance.now();
    raftLog.addSnapshot(id, encodeSnapshot(id, records.map(encodeMetadataRecord), this.clock()));
    raftLog.deleteBefore(endOffset);
    this.bytesSinceSnapshot = 0;
    this.log.info(
      `node ${this.nodeId}: wrote metadata snapshot ${endOffset}-${epoch} (${records.length} records) in ${(performance.now() - started).toFixed(0)} ms`,
    );
    return id;
  }

  private resolveAppends(): void {
    if (this.pendingAppends.length === 0) return;
    const keep: PendingAppend[] = [];
    for (const p of this.pendingAppends) {
      if (p.lastOffset < this.applied) p.resolve(p.lastOffset);
      else keep.push(p);
    }
    this.pendingAppends = keep;
  }

  private failAppends(err: Error): void {
    const all = this.pendingAppends;
    this.pendingAppends = [];
    for (const p of all) p.reject(err);
  }

  /** An error answer of the right type for a request that cannot be served. */
  private unavailableFor(request: RaftRequest): RaftResponse<Buffer> {
    const base = { errorCode: ErrorCode.BROKER_NOT_AVAILABLE, leaderId: NO_ID, leaderEpoch: -1 };
    switch (request.type) {
      case 'vote':
        return { type: 'vote', ...base, voteGranted: false };
      case 'beginQuorumEpoch':
        return { type: 'beginQuorumEpoch', ...base };
      case 'endQuorumEpoch':
        return { type: 'endQuorumEpoch', ...base };
      case 'fetch':
        return {
          type: 'fetch',
          ...base,
          highWatermark: -1,
          logStartOffset: -1,
          divergingEpoch: null,
          snapshotId: null,
          records: null,
        };
      case 'fetchSnapshot':
        return {
          type: 'fetchSnapshot',
          ...base,
          snapshotId: request.snapshotId,
          sizeBytes: -1,
          position: -1,
          bytes: Buffer.alloc(0),
        };
    }
  }
}
