// Helpers for tests that run quorum members in one process over real sockets: each node has a
// CONTROLLER listener (Eddy's network layer and router with the raft handlers) and a
// RaftMetadataLog whose outbound transport can be cut to simulate a dead network link.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrokerContext } from '../../src/broker/context.js';
import { Listener } from '../../src/broker/network.js';
import { RequestRouter } from '../../src/broker/router.js';
import type { CommittedBatch } from '../../src/metadata/log.js';
import type { MetadataRecord } from '../../src/metadata/records.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import type { ApiMessages } from '../../src/protocol/generated/apis.js';
import type { Endpoint } from '../../src/raft/codec.js';
import { raftHandlers } from '../../src/raft/handlers.js';
import { RaftMetadataLog } from '../../src/raft/raft-metadata-log.js';
import { type RaftTransport, TcpRaftTransport, TransportError } from '../../src/raft/transport.js';
import type { RaftConfig } from '../../src/raft/types.js';

/** A transport whose link to the network can be cut (every send fails) and restored. */
export class CuttableTransport implements RaftTransport {
  cut = false;
  constructor(private readonly inner: TcpRaftTransport) {}
  send<K extends keyof ApiMessages>(
    destination: number,
    apiKey: K,
    apiVersion: number,
    body: ApiMessages[K]['requestInit'],
    timeoutMs: number,
  ): Promise<ApiMessages[K]['response']> {
    if (this.cut) return Promise.reject(new TransportError('link cut by the test'));
    return this.inner.send(destination, apiKey, apiVersion, body, timeoutMs);
  }
  setEndpoint(nodeId: number, endpoint: Endpoint): void {
    this.inner.setEndpoint(nodeId, endpoint);
  }
  endpointOf(nodeId: number): Endpoint | null {
    return this.inner.endpointOf(nodeId);
  }
  close(): void {
    this.inner.close();
  }
}

/** The state a test node's listener builds: the committed records, in order. */
export class RecordingListener {
  records: MetadataRecord[] = [];
  lastOffset = -1;
  snapshotsLoaded = 0;
  batches = 0;
  /** Where each value (see values()) was committed; values restored from a snapshot have none. */
  readonly offsets = new Map<number, number>();

  onCommit = (b: CommittedBatch): void => {
    if (b.kind === 'snapshot') {
      this.records = [...b.records];
      this.offsets.clear();
      this.snapshotsLoaded++;
    } else {
      if (b.baseOffset <= this.lastOffset)
        throw new Error(`batch at ${b.baseOffset} replayed after ${this.lastOffset}`);
      this.records.push(...b.records);
      for (const [i, r] of b.records.entries()) {
        if (r.type === 'ProducerIds') this.offsets.set(r.record.nextProducerId, b.baseOffset + i);
      }
      this.batches++;
    }
    this.lastOffset = b.lastOffset;
  };

  snapshotSource = () => ({ lastContainedOffset: this.lastOffset, records: [...this.records] });

  /** The ProducerIds values, which the tests use as record identities. */
  values(): number[] {
    return this.records.flatMap((r) => (r.type === 'ProducerIds' ? [r.record.nextProducerId] : []));
  }
}

export function valueRecord(value: number): MetadataRecord {
  return { type: 'ProducerIds', record: { brokerId: 1, brokerEpoch: 1, nextProducerId: value } };
}

/**
 * Faster than Kafka's defaults so elections take well under a second, yet with room for a slow
 * disk: a follower's fetch loop waits for an fsync each round, which a busy machine can stretch
 * to several hundred ms, and a fetch timeout shorter than that deposes healthy leaders.
 */
export const FAST_RAFT: Partial<RaftConfig> = {
  electionTimeoutMs: 300,
  fetchTimeoutMs: 1000,
  electionBackoffMaxMs: 200,
  requestTimeoutMs: 1000,
  retryBackoffMs: 10,
  appendLingerMs: 2,
  fetchMaxWaitMs: 100,
};

export class TestNode {
  raft: RaftMetadataLog | null = null;
  listener: Listener | null = null;
  transport: CuttableTransport | null = null;
  state = new RecordingListener();
  port = 0;

  constructor(
    readonly id: number,
    readonly dir: string,
  ) {}

  /** Opens the CONTROLLER listener (on the same port as before when restarting). */
  async listen(): Promise<number> {
    const router = new RequestRouter(undefined as unknown as BrokerContext);
    for (const h of raftHandlers(() => this.raft).all) router.register(h);
    this.listener = new Listener(
      {
        name: 'CONTROLLER',
        host: '127.0.0.1',
        port: this.port,
        securityProtocol: 'PLAINTEXT',
        maxRequestBytes: 100 * 1024 * 1024,
        idleTimeoutMs: 600_000,
        maxConnections: 100,
        maxUnsentBytes: 8 * 1024 * 1024,
        maxQueuedRequestBytes: 100 * 1024 * 1024,
      },
      router,
    );
    this.port = await this.listener.listen();
    return this.port;
  }

  async start(
    voters: ReadonlyMap<number, Endpoint>,
    extra: { config?: Partial<RaftConfig>; bootstrapServers?: Endpoint[]; snapshotIntervalBytes?: number } = {},
  ): Promise<void> {
    const endpoints = new Map<number, Endpoint>(voters);
    this.transport = new CuttableTransport(new TcpRaftTransport({ clientId: `test-${this.id}`, endpoints }));
    this.state = new RecordingListener();
    this.raft = new RaftMetadataLog({
      dir: this.dir,
      nodeId: this.id,
      clusterId: 'test-cluster',
      voters,
      bootstrapServers: extra.bootstrapServers,
      config: { ...FAST_RAFT, ...extra.config },
      transport: this.transport,
      snapshotIntervalBytes: extra.snapshotIntervalBytes,
    });
    await this.raft.start(this.state.onCommit, this.state.snapshotSource);
  }

  /** Cuts the node off: no requests in or out (its process keeps running). */
  async isolate(): Promise<void> {
    if (this.transport) this.transport.cut = true;
    await this.listener?.close(0);
    this.listener = null;
  }

  async reconnect(): Promise<void> {
    if (this.transport) this.transport.cut = false;
    await this.listen();
  }

  async stop(): Promise<void> {
    await this.listener?.close(0);
    this.listener = null;
    await this.raft?.close();
    this.raft = null;
  }
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Polls `predicate` until it holds or `timeoutMs` passes. */
export async function eventually(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Starts `count` voters (ids 1..count) listening on ephemeral ports. */
export async function startVoters(
  count: number,
  root: string,
  config?: Partial<RaftConfig>,
): Promise<{ nodes: TestNode[]; voters: Map<number, Endpoint> }> {
  const nodes: TestNode[] = [];
  for (let i = 1; i <= count; i++) nodes.push(new TestNode(i, path.join(root, `node-${i}`)));
  const voters = new Map<number, Endpoint>();
  for (const n of nodes) voters.set(n.id, { host: '127.0.0.1', port: await n.listen() });
  await Promise.all(nodes.map((n) => n.start(voters, { config })));
  return { nodes, voters };
}

export function leaderOf(nodes: TestNode[]): TestNode | undefined {
  return nodes.find((n) => n.raft?.isLeader());
}

/** How long tests wait for the quorum to (re)elect a leader: generous, for slow, loaded machines. */
export const LEADER_TIMEOUT_MS = 30_000;

/**
 * The leader every running node among `nodes` follows (same leader id and epoch), once it has
 * committed the start of its epoch; undefined while an election is under way or news of it
 * has not reached everyone.
 */
export function agreedLeader(nodes: TestNode[]): TestNode | undefined {
  const running = nodes.filter((n) => n.raft !== null);
  const leader = leaderOf(running);
  if (leader === undefined) return undefined;
  const epoch = leader.raft!.leaderEpoch();
  const agreed = running.every((n) => n.raft!.leaderId() === leader.id && n.raft!.leaderEpoch() === epoch);
  return agreed ? leader : undefined;
}

/** Waits until the running nodes among `nodes` agree on a leader (see agreedLeader). */
export async function stableLeader(nodes: TestNode[], timeoutMs = LEADER_TIMEOUT_MS): Promise<TestNode> {
  let leader: TestNode | undefined;
  await eventually(
    () => {
      leader = agreedLeader(nodes);
      return leader !== undefined;
    },
    timeoutMs,
    'a leader all nodes follow',
  );
  return leader!;
}

function isNotController(err: unknown): boolean {
  return err instanceof KafkaError && err.code === ErrorCode.NOT_CONTROLLER;
}

/**
 * Appends `value` through the leader among `nodes` and returns its offset. When leadership moves
 * during the append (NOT_CONTROLLER, which a slow machine can cause by delaying fetches past the
 * timeouts), it waits for the next leader and retries, unless that leader has already committed
 * the value: the old leader may have replicated it before stepping down, and a new leader has
 * applied everything committed before its epoch, so the value is either there or lost for good.
 */
export async function appendValue(nodes: TestNode[], value: number, timeoutMs = LEADER_TIMEOUT_MS): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const leader = await stableLeader(nodes, Math.max(1, deadline - Date.now()));
    // (-1: committed, but the leader restored it from a snapshot, which keeps no offsets.)
    if (attempt > 0 && leader.state.values().includes(value)) return leader.state.offsets.get(value) ?? -1;
    try {
      return await leader.raft!.append([valueRecord(value)]);
    } catch (err) {
      if (!isNotController(err) || Date.now() > deadline) throw err;
    }
  }
}

/** Appends the values from..from+count-1 one at a time (see appendValue); returns their offsets. */
export async function appendValues(nodes: TestNode[], from: number, count: number): Promise<number[]> {
  const offsets: number[] = [];
  for (let v = from; v < from + count; v++) offsets.push(await appendValue(nodes, v));
  return offsets;
}
