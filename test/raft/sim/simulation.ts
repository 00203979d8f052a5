// A deterministic simulation of a KRaft quorum: N voters and some observers running RaftNode over a
// seeded network that loses, delays, duplicates and reorders messages and partitions nodes, with
// crashes and restarts from a simulated disk (only flushed data survives; unflushed tails tear).
// After every step it checks Raft's safety properties; after the faults stop it checks liveness.
// A run is a pure function of its seed, so any failure replays exactly.
import { MemoryQuorumStateStore } from '../../../src/raft/quorum-state.js';
import { RaftInvariantError, RaftNode } from '../../../src/raft/raft-node.js';
import type { RaftConfig, RaftOutput, RaftRequest, RaftResponse, SnapshotId } from '../../../src/raft/types.js';
import { Prng } from './prng.js';
import {
  decodeSimSnapshot,
  encodeSimSnapshot,
  type LogImage,
  SIM_ENTRY_BYTES,
  SimDisk,
  type SimEntry,
  SimLog,
  type SimRecords,
  sameEntry,
} from './sim-log.js';

export class SimulationFailure extends Error {
  constructor(
    readonly seed: number,
    readonly timeMs: number,
    message: string,
  ) {
    super(`seed ${seed} at ${timeMs} ms: ${message}`);
    this.name = 'SimulationFailure';
  }
}

export interface SimulationStats {
  seed: number;
  voters: number;
  observers: number;
  events: number;
  simulatedMs: number;
  elections: number;
  maxEpoch: number;
  committed: number;
  crashes: number;
  snapshotsInstalled: number;
  truncations: number;
}

interface SimParams {
  voters: number;
  observers: number;
  config: RaftConfig;
  dropRate: number;
  duplicateRate: number;
  slowRate: number;
  crashRate: number;
  /** Chance that a node crashes right after handling an event. */
  crashAfterStepRate: number;
  /** Chance that a node crashes right after granting a vote. */
  crashAfterVoteRate: number;
  partitionRate: number;
  appendIntervalMs: number;
  snapshotEvery: number;
  chaosMs: number;
  livenessBoundMs: number;
}

type Event =
  | {
      kind: 'deliverRequest';
      from: number;
      to: number;
      fromInc: number;
      toInc: number;
      correlationId: number;
      request: RaftRequest;
    }
  | {
      kind: 'deliverResponse';
      from: number;
      to: number;
      fromInc: number;
      toInc: number;
      correlationId: number;
      response: RaftResponse<SimRecords>;
    }
  | { kind: 'failure'; node: number; inc: number; destination: number; correlationId: number }
  | { kind: 'flushed'; node: number; inc: number; flushId: number; image: LogImage }
  | { kind: 'poll'; node: number; inc: number; token: number }
  | { kind: 'append' }
  | { kind: 'crash' }
  | { kind: 'restart'; node: number }
  | { kind: 'partition' }
  | { kind: 'healPartition' }
  | { kind: 'heal' };

interface QueuedEvent {
  time: number;
  seq: number;
  event: Event;
}

/** A binary min-heap ordered by (time, seq): ties resolve in scheduling order, deterministically. */
class EventQueue {
  private heap: QueuedEvent[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, event: Event): void {
    const item = { time, seq: this.seq++, event };
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): QueuedEvent | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less(a: QueuedEvent, b: QueuedEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/** Running hash of the applied log: the state machine of the simulation. */
function mixHash(hash: number, e: SimEntry): number {
  let h = hash ^ Math.imul(e.offset + 1, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) ^ Math.imul(e.epoch + 7, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f) ^ (e.kind === 'data' ? e.value : -e.value - 1);
  return (h ^ (h >>> 16)) >>> 0;
}

interface SimNode {
  id: number;
  isVoter: boolean;
  up: boolean;
  inc: number;
  disk: SimDisk;
  store: MemoryQuorumStateStore;
  raft: RaftNode<SimRecords, number> | null;
  log: SimLog | null;
  pollToken: number;
  pollsAtSameTime: number;
  lastPollTime: number;
  /** Applied state machine: next offset to apply and the hash of everything before. */
  appliedEnd: number;
  hash: number;
  handles: Map<number, { from: number; fromInc: number; correlationId: number; preVote: boolean }>;
  /** Granted a (real) vote in the step being handled. */
  justVoted: boolean;
}

function pickParams(rng: Prng): SimParams {
  const voters = rng.chance(0.6) ? 3 : 5;
  const observers = rng.int(0, 2);
  const electionTimeoutMs = rng.pick([100, 200, 500, 1000]);
  const fetchTimeoutMs = electionTimeoutMs * rng.pick([2, 3]);
  const config: RaftConfig = {
    electionTimeoutMs,
    fetchTimeoutMs,
    electionBackoffMaxMs: electionTimeoutMs,
    requestTimeoutMs: Math.max(20, Math.floor(fetchTimeoutMs * rng.pick([0.25, 0.5, 1]))),
    retryBackoffMs: rng.pick([5, 20]),
    appendLingerMs: rng.pick([0, 5, 25]),
    fetchMaxWaitMs: Math.floor(fetchTimeoutMs / rng.pick([4, 8])),
    fetchMaxBytes: SIM_ENTRY_BYTES * rng.pick([1, 3, 20]),
    fetchSnapshotMaxBytes: rng.pick([16, 64, 1024]),
  };
  const calm = rng.chance(0.15);
  return {
    voters,
    observers,
    config,
    dropRate: calm ? 0 : rng.pick([0, 0.01, 0.05, 0.15]),
    duplicateRate: calm ? 0 : rng.pick([0, 0.02, 0.1]),
    slowRate: calm ? 0 : rng.pick([0, 0.02, 0.1]),
    crashRate: calm ? 0 : rng.pick([0, 0.5, 1, 2]),
    crashAfterStepRate: calm ? 0 : rng.pick([0, 0, 0.002, 0.01]),
    crashAfterVoteRate: calm ? 0 : rng.pick([0, 0.2, 0.5]),
    partitionRate: calm ? 0 : rng.pick([0, 0.5, 1, 2]),
    appendIntervalMs: Math.max(1, Math.floor(electionTimeoutMs / rng.pick([2, 5, 20]))),
    snapshotEvery: rng.pick([0, 3, 10, 40]),
    chaosMs: electionTimeoutMs * rng.int(4, 16),
    livenessBoundMs: electionTimeoutMs * 60,
  };
}

export class Simulation {
  private readonly rng: Prng;
  private readonly params: SimParams;
  private readonly queue = new EventQueue();
  private readonly nodes: SimNode[] = [];
  private readonly voterIds: number[] = [];
  private now = 0;
  private nextValue = 1;
  private nextHandle = 1;
  private healed = false;
  private healedAtMs = 0;
  /** Links cut by the current partition: "a,b" for each direction. */
  private cut = new Set<string>();

  // Global knowledge for the checks.
  private readonly leaders = new Map<number, number>();
  private readonly committed = new Map<number, SimEntry>();
  /** The epoch in which each committed offset was first seen committed (by the committing leader). */
  private readonly commitEpoch = new Map<number, number>();
  private readonly appliedHash = new Map<number, number>();
  /** The record written after healing to prove progress. */
  private liveness: { leader: number; epoch: number; offset: number; value: number } | null = null;

  readonly stats: SimulationStats;

  constructor(
    readonly seed: number,
    private readonly maxEvents = 200_000,
  ) {
    this.rng = new Prng(seed);
    this.params = pickParams(this.rng);
    const p = this.params;
    for (let i = 0; i < p.voters + p.observers; i++) {
      const id = i + 1;
      if (i < p.voters) this.voterIds.push(id);
      this.nodes.push({
        id,
        isVoter: i < p.voters,
        up: false,
        inc: 0,
        disk: new SimDisk(),
        store: new MemoryQuorumStateStore(),
        raft: null,
        log: null,
        pollToken: 0,
        pollsAtSameTime: 0,
        lastPollTime: -1,
        appliedEnd: 0,
        hash: 0,
        handles: new Map(),
        justVoted: false,
      });
    }
    this.stats = {
      seed,
      voters: p.voters,
      observers: p.observers,
      events: 0,
      simulatedMs: 0,
      elections: 0,
      maxEpoch: 0,
      committed: 0,
      crashes: 0,
      snapshotsInstalled: 0,
      truncations: 0,
    };
  }

  private fail(message: string): never {
    throw new SimulationFailure(this.seed, this.now, message);
  }

  private node(id: number): SimNode {
    return this.nodes[id - 1]!;
  }

  /** Runs the whole scenario; throws SimulationFailure on any violated property. */
  run(): SimulationStats {
    const p = this.params;
    for (const n of this.nodes) this.startNode(n);
    this.queue.push(this.rng.int(0, p.appendIntervalMs), { kind: 'append' });
    if (p.crashRate > 0) this.queue.push(this.nextFaultDelay(p.crashRate), { kind: 'crash' });
    if (p.partitionRate > 0) this.queue.push(this.nextFaultDelay(p.partitionRate), { kind: 'partition' });
    this.queue.push(p.chaosMs, { kind: 'heal' });
    let events = 0;
    for (;;) {
      const item = this.queue.pop();
      if (item === undefined) this.fail('the event queue ran dry');
      if (item.time < this.now) this.fail('time went backwards');
      this.now = item.time;
      if (this.healed && this.now > this.healedAtMs + p.livenessBoundMs) {
        this.fail(`no progress within ${p.livenessBoundMs} ms after the faults stopped: ${this.describe()}`);
      }
      if (++events > this.maxEvents) this.fail(`more than ${this.maxEvents} events: ${this.describe()}`);
      try {
        this.dispatch(item.event);
      } catch (err) {
        if (err instanceof SimulationFailure) throw err;
        if (err instanceof RaftInvariantError) this.fail(`invariant: ${err.message}`);
        throw err;
      }
      if (events % 64 === 0) this.checkLogMatching();
      if (this.healed && this.livenessReached()) break;
    }
    this.checkLogMatching();
    this.checkFinalState();
    this.stats.events = events;
    this.stats.simulatedMs = this.now;
    this.stats.committed = this.committed.size;
    this.stats.truncations = this.nodes.reduce((sum, n) => sum + n.disk.truncatedRecords, 0);
    return this.stats;
  }

  private nextFaultDelay(ratePerElection: number): number {
    // Faults arrive as a Poisson process of `ratePerElection` per election timeout.
    const mean = this.params.config.electionTimeoutMs / ratePerElection;
    return Math.max(1, Math.floor(-Math.log(1 - this.rng.next()) * mean));
  }

  // ---- node lifecycle ----------------------------------------------------------------------

  private startNode(n: SimNode): void {
    n.inc++;
    n.up = true;
    n.log = new SimLog(n.disk, n.disk.reconcile(n.disk.durable));
    // The state machine reloads from the latest snapshot, like a restarted broker.
    const snap = n.disk.latestSnapshot();
    n.appliedEnd = 0;
    n.hash = 0;
    if (snap !== null) {
      const parsed = decodeSimSnapshot(snap.bytes);
      if (parsed === null) this.fail(`node ${n.id} has an unreadable snapshot`);
      this.loadSnapshot(n, parsed.id, parsed.hash);
    }
    n.handles.clear();
    const random = this.rng.fork(n.id * 1000 + n.inc);
    n.raft = new RaftNode<SimRecords, number>({
      nodeId: n.id,
      voters: this.voterIds,
      clusterId: 'sim',
      config: this.params.config,
      log: n.log,
      store: n.store,
      random: () => random.next(),
      nowMs: this.now,
    });
    this.afterStep(n);
  }

  private crash(n: SimNode): void {
    if (!n.up || n.log === null) return;
    this.stats.crashes++;
    n.disk.durable = n.disk.recover(n.log.image(), this.rng);
    n.up = false;
    n.raft = null;
    n.inc++;
    n.handles.clear();
  }

  // ---- events ------------------------------------------------------------------------------

  private dispatch(e: Event): void {
    if (this.trace) {
      const { kind } = e;
      const detail =
        e.kind === 'deliverRequest'
          ? `${e.from}->${e.to} #${e.correlationId} ${JSON.stringify(e.request)}`
          : e.kind === 'deliverResponse'
            ? `${e.from}->${e.to} #${e.correlationId} ${JSON.stringify({ ...e.response, records: undefined, bytes: undefined })}`
            : e.kind === 'poll'
              ? `node ${e.node}`
              : JSON.stringify(e).slice(0, 120);
      this.trace(`${this.now} ${kind} ${detail}`);
    }
    switch (e.kind) {
      case 'deliverRequest': {
        // What a node sent before it crashed may still arrive; nothing reaches a later incarnation.
        const to = this.node(e.to);
        if (!to.up || to.inc !== e.toInc || this.isCut(e.from, e.to)) return;
        const handle = this.nextHandle++;
        to.handles.set(handle, {
          from: e.from,
          fromInc: e.fromInc,
          correlationId: e.correlationId,
          preVote: e.request.type === 'vote' && e.request.preVote,
        });
        to.raft!.handleRequest(handle, e.request, this.now);
        this.afterStep(to);
        return;
      }
      case 'deliverResponse': {
        const to = this.node(e.to);
        if (!to.up || to.inc !== e.toInc || this.isCut(e.from, e.to)) return;
        to.raft!.handleResponse(e.from, e.correlationId, e.response, this.now);
        this.afterStep(to);
        return;
      }
      case 'failure': {
        const n = this.node(e.node);
        if (!n.up || n.inc !== e.inc) return;
        n.raft!.handleRequestFailure(e.destination, e.correlationId, this.now);
        this.afterStep(n);
        return;
      }
      case 'flushed': {
        const n = this.node(e.node);
        if (!n.up || n.inc !== e.inc) return;
        n.disk.durable = e.image;
        n.raft!.handleFlushed(e.flushId, this.now);
        this.afterStep(n);
        return;
      }
      case 'poll': {
        const n = this.node(e.node);
        if (!n.up || n.inc !== e.inc || n.pollToken !== e.token) return;
        if (n.lastPollTime === this.now) {
          if (++n.pollsAtSameTime > 1000) this.fail(`node ${n.id} polls forever at one instant`);
        } else {
          n.lastPollTime = this.now;
          n.pollsAtSameTime = 0;
        }
        n.raft!.poll(this.now);
        this.afterStep(n);
        return;
      }
      case 'append': {
        this.clientAppend();
        if (!this.healed) this.queue.push(this.now + this.rng.int(1, 2 * this.params.appendIntervalMs), e);
        return;
      }
      case 'crash': {
        if (this.healed) return;
        const n = this.rng.pick(this.nodes);
        if (n.up) {
          this.crash(n);
          this.queue.push(this.now + this.rng.int(1, 3 * this.params.config.electionTimeoutMs), {
            kind: 'restart',
            node: n.id,
          });
        }
        this.queue.push(this.now + this.nextFaultDelay(this.params.crashRate), e);
        return;
      }
      case 'restart': {
        const n = this.node(e.node);
        if (!n.up) this.startNode(n);
        return;
      }
      case 'partition': {
        if (this.healed) return;
        this.makePartition();
        this.queue.push(this.now + this.rng.int(1, 4 * this.params.config.electionTimeoutMs), {
          kind: 'healPartition',
        });
        this.queue.push(this.now + this.nextFaultDelay(this.params.partitionRate), e);
        return;
      }
      case 'healPartition':
        this.cut.clear();
        return;
      case 'heal':
        this.heal();
        return;
    }
  }

  private makePartition(): void {
    this.cut.clear();
    const ids = this.nodes.map((n) => n.id);
    const style = this.rng.int(0, 2);
    if (style === 0) {
      // Split into two sides.
      const side = new Set(ids.filter(() => this.rng.chance(0.5)));
      for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) this.cut.add(`${a},${b}`);
    } else if (style === 1) {
      // Isolate one node.
      const lone = this.rng.pick(ids);
      for (const b of ids) if (b !== lone) this.cut.add(`${lone},${b}`).add(`${b},${lone}`);
    } else {
      // Random one-way link failures.
      for (const a of ids) for (const b of ids) if (a !== b && this.rng.chance(0.3)) this.cut.add(`${a},${b}`);
    }
  }

  private isCut(from: number, to: number): boolean {
    return this.cut.size > 0 && this.cut.has(`${from},${to}`);
  }

  private heal(): void {
    this.healed = true;
    this.healedAtMs = this.now;
    this.cut.clear();
    for (const n of this.nodes) if (!n.up) this.startNode(n);
  }

  private clientAppend(): void {
    const leaders = this.nodes.filter((n) => n.up && n.raft!.role === 'leader');
    if (leaders.length === 0) return;
    const n = this.rng.pick(leaders);
    const value = this.nextValue++;
    const r = n.raft!.append(value, this.now);
    if (r === null) this.fail(`leader ${n.id} refused an append`);
    this.afterStep(n);
  }

  // ---- node outputs ------------------------------------------------------------------------

  private afterStep(n: SimNode): void {
    const raft = n.raft;
    if (raft === null) return;
    for (;;) {
      const outputs = raft.takeOutputs();
      if (outputs.length === 0) break;
      for (const o of outputs) this.handleOutput(n, o);
    }
    this.maybeSnapshot(n);
    // Crashes at the worst moments: right after a vote, an append or a truncation, sometimes
    // with a restart quick enough to take part in the same election.
    const voted = n.justVoted;
    n.justVoted = false;
    const p = this.params;
    if (!this.healed && (this.rng.chance(p.crashAfterStepRate) || (voted && this.rng.chance(p.crashAfterVoteRate)))) {
      this.crash(n);
      const restartMs = this.rng.chance(0.5) ? this.rng.int(1, 20) : this.rng.int(1, 3 * p.config.electionTimeoutMs);
      this.queue.push(this.now + restartMs, { kind: 'restart', node: n.id });
      return;
    }
    const deadline = raft.nextDeadlineMs();
    if (Number.isFinite(deadline)) {
      n.pollToken++;
      this.queue.push(Math.max(this.now, deadline), { kind: 'poll', node: n.id, inc: n.inc, token: n.pollToken });
    }
  }

  private networkDelay(): number {
    if (!this.healed && this.rng.chance(this.params.slowRate))
      return this.rng.int(20, 4 * this.params.config.electionTimeoutMs);
    return this.rng.int(1, 5);
  }

  private transmit(make: (delay: number) => void): void {
    if (!this.healed && this.rng.chance(this.params.dropRate)) return;
    make(this.networkDelay());
    if (!this.healed && this.rng.chance(this.params.duplicateRate)) make(this.networkDelay());
  }

  private handleOutput(n: SimNode, o: RaftOutput<SimRecords>): void {
    switch (o.type) {
      case 'send': {
        const to = this.node(o.destination);
        if (!to.up || this.isCut(n.id, to.id)) {
          // Like a refused connection: sometimes reported quickly, sometimes only by the timeout.
          if (this.rng.chance(0.5)) {
            this.queue.push(this.now + this.rng.int(1, 5), {
              kind: 'failure',
              node: n.id,
              inc: n.inc,
              destination: o.destination,
              correlationId: o.correlationId,
            });
          }
          return;
        }
        const ev: Event = {
          kind: 'deliverRequest',
          from: n.id,
          to: to.id,
          fromInc: n.inc,
          toInc: to.inc,
          correlationId: o.correlationId,
          request: o.request,
        };
        this.transmit((delay) => this.queue.push(this.now + delay, ev));
        return;
      }
      case 'respond': {
        const h = n.handles.get(o.handle);
        if (h === undefined) this.fail(`node ${n.id} answered unknown handle ${o.handle}`);
        n.handles.delete(o.handle);
        if (o.response.type === 'vote' && o.response.voteGranted && !h.preVote) n.justVoted = true;
        const to = this.node(h.from);
        const response =
          o.response.type === 'fetch' && o.response.records
            ? { ...o.response, records: o.response.records.slice() }
            : o.response;
        const ev: Event = {
          kind: 'deliverResponse',
          from: n.id,
          to: h.from,
          fromInc: n.inc,
          toInc: h.fromInc,
          correlationId: h.correlationId,
          response,
        };
        if (!to.up || to.inc !== h.fromInc) return;
        this.transmit((delay) => this.queue.push(this.now + delay, ev));
        return;
      }
      case 'flush': {
        const image = n.log!.image();
        this.queue.push(this.now + this.rng.int(0, 5), {
          kind: 'flushed',
          node: n.id,
          inc: n.inc,
          flushId: o.flushId,
          image,
        });
        return;
      }
      case 'highWatermark':
        this.applyCommitted(n, o.offset);
        return;
      case 'snapshotInstalled': {
        this.stats.snapshotsInstalled++;
        const snap = n.disk.latestSnapshot();
        if (snap === null || snap.id.endOffset !== o.snapshotId.endOffset)
          this.fail(`node ${n.id} lost the snapshot it installed`);
        const parsed = decodeSimSnapshot(snap.bytes)!;
        if (parsed.id.endOffset < n.appliedEnd) {
          this.fail(`node ${n.id} installed snapshot ${parsed.id.endOffset} behind its applied offset ${n.appliedEnd}`);
        }
        this.loadSnapshot(n, parsed.id, parsed.hash);
        return;
      }
      case 'stateChange':
        this.onStateChange(n, o.role, o.epoch, o.leaderId);
        return;
    }
  }

  /** Set to print a line per event while debugging one seed. */
  trace: ((line: string) => void) | null = null;

  private onStateChange(n: SimNode, role: string, epoch: number, leaderId: number): void {
    this.trace?.(`${this.now} node ${n.id} -> ${role}@${epoch} leader=${leaderId}`);
    if (epoch > this.stats.maxEpoch) this.stats.maxEpoch = epoch;
    if (role !== 'leader') return;
    this.stats.elections++;
    const prev = this.leaders.get(epoch);
    if (prev !== undefined && prev !== n.id)
      this.fail(`election safety: epoch ${epoch} has leaders ${prev} and ${n.id}`);
    this.leaders.set(epoch, n.id);
    if (leaderId !== n.id) this.fail(`node ${n.id} leads but reports leader ${leaderId}`);
    if (!n.isVoter) this.fail(`observer ${n.id} became leader`);
    // Leader completeness: every committed record is in the new leader's log (or its snapshot).
    const log = n.log!;
    for (const [offset, entry] of this.committed) {
      // A leader of an older epoch can still win with late votes; it just cannot commit.
      if (offset < log.startOffset() || this.commitEpoch.get(offset)! >= epoch) continue;
      const mine = log.entryAt(offset);
      if (mine === undefined || !sameEntry(mine, entry)) {
        this.fail(`leader completeness: leader ${n.id} of epoch ${epoch} lacks committed offset ${offset}`);
      }
    }
    const snapEnd = log.startOffset();
    if (snapEnd > 0) {
      const expected = this.appliedHash.get(snapEnd - 1);
      const snap = n.disk.latestSnapshot();
      if (expected !== undefined && snap !== null && snap.id.endOffset === snapEnd) {
        if (decodeSimSnapshot(snap.bytes)!.hash !== expected) this.fail(`leader ${n.id} starts from a wrong snapshot`);
      }
    }
  }

  /** Applies newly committed entries to the node's state machine and checks them against everyone's. */
  private applyCommitted(n: SimNode, highWatermark: number): void {
    const log = n.log!;
    if (highWatermark > log.endOffset()) this.fail(`node ${n.id} high watermark ${highWatermark} beyond its log`);
    while (n.appliedEnd < highWatermark) {
      const offset = n.appliedEnd;
      const e = log.entryAt(offset);
      if (e === undefined)
        this.fail(`node ${n.id} cannot apply committed offset ${offset} (log starts ${log.startOffset()})`);
      const known = this.committed.get(offset);
      if (known === undefined) {
        this.committed.set(offset, e);
        this.commitEpoch.set(offset, n.raft!.epoch);
      } else if (!sameEntry(known, e)) {
        this.fail(
          `state machine safety: node ${n.id} commits ${JSON.stringify(e)} at ${offset}, others ${JSON.stringify(known)}`,
        );
      }
      n.hash = mixHash(n.hash, e);
      const h = this.appliedHash.get(offset);
      if (h === undefined) this.appliedHash.set(offset, n.hash);
      else if (h !== n.hash) this.fail(`state machine safety: node ${n.id} state at ${offset} differs`);
      n.appliedEnd = offset + 1;
    }
  }

  private loadSnapshot(n: SimNode, id: SnapshotId, hash: number): void {
    const expected = this.appliedHash.get(id.endOffset - 1);
    if (expected !== undefined && expected !== hash)
      this.fail(`node ${n.id} loaded a snapshot at ${id.endOffset} that differs`);
    n.appliedEnd = id.endOffset;
    n.hash = hash;
  }

  private maybeSnapshot(n: SimNode): void {
    const every = this.params.snapshotEvery;
    if (every === 0 || n.log === null) return;
    const log = n.log;
    const latest = log.latestSnapshotId()?.endOffset ?? 0;
    if (n.appliedEnd - latest < every || n.appliedEnd <= log.startOffset()) return;
    const end = n.appliedEnd;
    const last = log.entryAt(end - 1);
    if (last === undefined) return;
    const id = { endOffset: end, epoch: last.epoch };
    log.addSnapshot(id, encodeSimSnapshot(id, n.hash, this.rng.int(0, 200)));
    // Usually the log below the snapshot goes at once; sometimes it lingers (retention lag).
    if (this.rng.chance(0.8)) log.deleteBefore(end);
  }

  // ---- checks ------------------------------------------------------------------------------

  /** Log matching: where two logs have a record with the same offset and epoch, they agree up to it. */
  private checkLogMatching(): void {
    const live = this.nodes.filter((n) => n.up && n.log !== null);
    for (let i = 0; i < live.length; i++) {
      for (let j = i + 1; j < live.length; j++) {
        const a = live[i]!.log!;
        const b = live[j]!.log!;
        const lo = Math.max(a.startOffset(), b.startOffset());
        const hi = Math.min(a.endOffset(), b.endOffset());
        let diverged = -1;
        for (let o = lo; o < hi; o++) {
          const x = a.entryAt(o)!;
          const y = b.entryAt(o)!;
          if (x.epoch === y.epoch) {
            if (!sameEntry(x, y))
              this.fail(`log matching: nodes ${live[i]!.id} and ${live[j]!.id} differ at ${o} in one epoch`);
            if (diverged >= 0) {
              this.fail(
                `log matching: nodes ${live[i]!.id} and ${live[j]!.id} differ at ${diverged} but agree at ${o}`,
              );
            }
          } else if (diverged < 0) diverged = o;
        }
      }
    }
  }

  /** Liveness: after healing, a leader commits a new record and every node applies it. */
  private livenessReached(): boolean {
    const probe = this.liveness;
    if (probe !== null) {
      const entry = this.committed.get(probe.offset);
      if (entry !== undefined && entry.kind === 'data' && entry.value === probe.value) {
        return this.nodes.every((n) => n.up && n.appliedEnd > probe.offset);
      }
    }
    // No probe yet, or its leader lost the record: write one through the current leader.
    const leader = this.nodes.find((n) => n.up && n.raft!.role === 'leader' && n.raft!.leaderCommittedEpochStart);
    if (leader === undefined) return false;
    if (probe !== null && probe.leader === leader.id && probe.epoch === leader.raft!.epoch) return false;
    const value = this.nextValue++;
    const r = leader.raft!.append(value, this.now);
    if (r === null) return false;
    this.liveness = { leader: leader.id, epoch: leader.raft!.epoch, offset: r.lastOffset, value };
    this.afterStep(leader);
    return false;
  }

  private checkFinalState(): void {
    const hashes = new Set<number>();
    const end = Math.min(...this.nodes.map((n) => n.appliedEnd));
    for (const n of this.nodes) {
      if (n.appliedEnd === end) hashes.add(n.hash);
    }
    if (hashes.size > 1) this.fail('nodes applied the same offsets but hold different states');
    const leader = this.nodes.find((n) => n.raft?.role === 'leader');
    if (leader === undefined) return;
    for (const [offset, entry] of this.committed) {
      const mine = leader.log!.entryAt(offset);
      if (offset >= leader.log!.startOffset() && (mine === undefined || !sameEntry(mine, entry))) {
        this.fail(`final leader ${leader.id} lacks committed offset ${offset}`);
      }
    }
  }

  private describe(): string {
    return (
      `liveness probe ${JSON.stringify(this.liveness)}; ` +
      this.nodes
        .map((n) =>
          n.up
            ? `${n.id}:${n.raft!.role}@${n.raft!.epoch} leader=${n.raft!.leaderId} log=[${n.log!.startOffset()},${n.log!.endOffset()}) hw=${n.raft!.highWatermark} applied=${n.appliedEnd}`
            : `${n.id}:down`,
        )
        .join('; ')
    );
  }
}

/** Runs one seed; returns its stats or throws SimulationFailure. */
export function runSeed(seed: number): SimulationStats {
  return new Simulation(seed).run();
}
