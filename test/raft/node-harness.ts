// A harness for driving one RaftNode by hand in unit tests: an in-memory log and quorum store,
// a controllable clock, and helpers to pick outputs apart.
import { MemoryQuorumStateStore } from '../../src/raft/quorum-state.js';
import { RaftNode } from '../../src/raft/raft-node.js';
import {
  DEFAULT_RAFT_CONFIG,
  type RaftConfig,
  type RaftOutput,
  type RaftRequest,
  type RaftResponse,
} from '../../src/raft/types.js';
import { type LogImage, SimDisk, type SimEntry, SimLog, type SimRecords } from './sim/sim-log.js';

export const TEST_CONFIG: RaftConfig = {
  ...DEFAULT_RAFT_CONFIG,
  electionTimeoutMs: 100,
  fetchTimeoutMs: 200,
  electionBackoffMaxMs: 100,
  requestTimeoutMs: 200,
  retryBackoffMs: 10,
  appendLingerMs: 5,
  fetchMaxWaitMs: 50,
  fetchMaxBytes: 10_000,
};

export type Output = RaftOutput<SimRecords>;
type Send = Extract<Output, { type: 'send' }>;

export class Harness {
  now = 1000;
  readonly store: MemoryQuorumStateStore;
  readonly disk: SimDisk;
  readonly log: SimLog;
  node: RaftNode<SimRecords, number>;
  outputs: Output[] = [];
  private handle = 1;

  constructor(
    readonly id: number,
    readonly voters: number[],
    opts: { store?: MemoryQuorumStateStore; image?: LogImage; disk?: SimDisk; config?: Partial<RaftConfig> } = {},
  ) {
    this.store = opts.store ?? new MemoryQuorumStateStore();
    this.disk = opts.disk ?? new SimDisk();
    this.log = new SimLog(this.disk, opts.image ?? { start: 0, entries: [] });
    this.node = new RaftNode<SimRecords, number>({
      nodeId: id,
      voters,
      clusterId: 'test',
      config: { ...TEST_CONFIG, ...opts.config },
      log: this.log,
      store: this.store,
      // The smallest random value: timeouts are exactly their configured base.
      random: () => 0,
      nowMs: this.now,
    });
    this.collect();
  }

  collect(): Output[] {
    const out = this.node.takeOutputs();
    this.outputs.push(...out);
    return out;
  }

  /** Outputs since the last call to take(). */
  take(): Output[] {
    this.collect();
    const out = this.outputs;
    this.outputs = [];
    return out;
  }

  sends(out: Output[] = this.take()): Send[] {
    return out.filter((o): o is Send => o.type === 'send');
  }

  poll(advanceMs: number): Output[] {
    this.now += advanceMs;
    this.node.poll(this.now);
    return this.take();
  }

  /** Sends a request in and returns the immediate response (or undefined if it is held). */
  request(req: RaftRequest): RaftResponse<SimRecords> | undefined {
    const handle = this.handle++;
    this.node.handleRequest(handle, req, this.now);
    const out = this.take();
    this.outputs.push(...out.filter((o) => !(o.type === 'respond' && o.handle === handle)));
    const r = out.find((o) => o.type === 'respond' && o.handle === handle);
    return r?.type === 'respond' ? r.response : undefined;
  }

  requestHeld(req: RaftRequest): number {
    const handle = this.handle++;
    this.node.handleRequest(handle, req, this.now);
    return handle;
  }

  respond(send: Send, response: RaftResponse<SimRecords>): Output[] {
    this.node.handleResponse(send.destination, send.correlationId, response, this.now);
    return this.take();
  }

  /** Completes every flush asked for so far. */
  flushAll(out: Output[] = this.take()): Output[] {
    const rest: Output[] = [];
    const flushes = out.filter((o) => o.type === 'flush');
    rest.push(...out.filter((o) => o.type !== 'flush'));
    for (const f of flushes) {
      if (f.type !== 'flush') continue;
      this.node.handleFlushed(f.flushId, this.now);
      rest.push(...this.take());
    }
    return rest;
  }
}

export function voteGrant(leaderEpoch: number, granted = true): RaftResponse<SimRecords> {
  return { type: 'vote', errorCode: 0, leaderId: -1, leaderEpoch, voteGranted: granted };
}

export function entries(...spec: [epoch: number, count: number][]): SimEntry[] {
  const out: SimEntry[] = [];
  for (const [epoch, count] of spec) {
    for (let i = 0; i < count; i++) out.push({ offset: out.length, epoch, kind: 'data', value: out.length + 1 });
  }
  return out;
}

export function fetchReq(
  replicaId: number,
  epoch: number,
  fetchOffset: number,
  lastFetchedEpoch: number,
  maxWaitMs = 0,
) {
  return {
    type: 'fetch' as const,
    clusterId: 'test',
    replicaId,
    currentLeaderEpoch: epoch,
    fetchOffset,
    lastFetchedEpoch,
    maxWaitMs,
    maxBytes: 10_000,
  };
}
