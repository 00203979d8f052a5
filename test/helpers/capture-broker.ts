// A fake single-node Kafka broker for tests: it records every request frame exactly as
// received and answers just enough for real clients to produce and consume — ApiVersions,
// Metadata (itself as the only broker, leader of every partition), Produce (sequential
// offsets), InitProducerId, Fetch, ListOffsets, and a one-member consumer group
// (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, OffsetFetch, OffsetCommit, LeaveGroup).
// It is not a broker: no durability, no validation, no limits beyond the frame size.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { FetchRequest, FetchResponsePartitionDataInit } from '../../src/protocol/generated/api/fetch.js';
import type { ListOffsetsRequest } from '../../src/protocol/generated/api/list-offsets.js';
import type { MetadataRequest } from '../../src/protocol/generated/api/metadata.js';
import type { OffsetFetchRequest } from '../../src/protocol/generated/api/offset-fetch.js';
import type { ProduceRequest } from '../../src/protocol/generated/api/produce.js';
import {
  ApiKey,
  type ApiMessages,
  apiSpec,
  decodeRequestBody,
  decodeRequestHeader,
  ErrorCode,
  encodeResponseFrame,
  FrameDecoder,
  Reader,
  type RequestHeader,
} from '../../src/protocol/index.js';
import { lastOffsetOf, setBaseOffset, walkBatches } from '../../src/records/index.js';

export interface CapturedRequest {
  /** Which client connection sent it (0, 1, ...). */
  connection: number;
  header: RequestHeader;
  /** The request exactly as received, without the 4-byte size prefix. */
  frame: Buffer;
  body: unknown;
}

/** The versions this broker answers, advertised in ApiVersions. */
export const ADVERTISED_VERSIONS: ReadonlyMap<number, readonly [number, number]> = new Map([
  // Minimum 0 although only v3+ (RecordBatch v2) makes sense: librdkafka before 2.10 only
  // compresses with gzip, snappy or lz4 when the broker's Produce range includes v0, so
  // Kafka 4 advertises v0-v2 while refusing them (KAFKA-18659).
  [ApiKey.Produce, [0, 11]],
  // Up to 12: later versions name topics by id only.
  [ApiKey.Fetch, [4, 12]],
  [ApiKey.ListOffsets, [1, 10]],
  [ApiKey.Metadata, [0, 12]],
  [ApiKey.OffsetCommit, [2, 9]],
  [ApiKey.OffsetFetch, [1, 9]],
  [ApiKey.FindCoordinator, [0, 6]],
  [ApiKey.JoinGroup, [0, 9]],
  [ApiKey.Heartbeat, [0, 4]],
  [ApiKey.LeaveGroup, [0, 5]],
  [ApiKey.SyncGroup, [0, 5]],
  [ApiKey.ApiVersions, [0, 4]],
  [ApiKey.InitProducerId, [0, 5]],
]);

const NODE_ID = 1;
const MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** An empty fetch waits at most this long (a client's maxWaitMs can be much longer). */
const MAX_EMPTY_FETCH_WAIT_MS = 100;

interface PartitionLog {
  batches: { baseOffset: number; lastOffset: number; bytes: Buffer }[];
  nextOffset: number;
}

interface GroupState {
  generationId: number;
  assignments: Map<string, Buffer>;
  offsets: Map<string, number>;
}

export interface CaptureBrokerOptions {
  /** Partitions of every topic a client asks about (default 1). */
  partitions?: number;
}

export class CaptureBroker {
  readonly requests: CapturedRequest[] = [];
  /** Errors met while serving (undecodable requests, unknown APIs): tests assert it stays empty. */
  readonly errors: Error[] = [];
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly logs = new Map<string, PartitionLog>();
  private readonly topicIds = new Map<string, string>();
  private readonly groups = new Map<string, GroupState>();
  private readonly partitions: number;
  private nextConnection = 0;
  private nextProducerId = 1000;
  private nextMemberId = 1;
  port = 0;

  private constructor(opts: CaptureBrokerOptions) {
    this.partitions = opts.partitions ?? 1;
    this.server = net.createServer((socket) => this.accept(socket));
  }

  static async start(opts: CaptureBrokerOptions = {}): Promise<CaptureBroker> {
    const broker = new CaptureBroker(opts);
    await new Promise<void>((resolve, reject) => {
      broker.server.once('error', reject);
      broker.server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = broker.server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    broker.port = address.port;
    return broker;
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Appends batches to a partition's log (assigning offsets in place on copies), for fetches. */
  append(topic: string, partition: number, batches: Buffer): number {
    this.topicId(topic);
    const log = this.log(topic, partition);
    const first = log.nextOffset;
    for (const h of walkBatches(batches)) {
      const bytes = Buffer.from(batches.subarray(h.position, h.position + h.sizeBytes));
      setBaseOffset(bytes, 0, log.nextOffset);
      const baseOffset = log.nextOffset;
      log.nextOffset += h.lastOffsetDelta + 1;
      log.batches.push({ baseOffset, lastOffset: lastOffsetOf({ ...h, baseOffset }), bytes });
    }
    return first;
  }

  /** Captured requests of one API. */
  requestsOf(apiKey: number): CapturedRequest[] {
    return this.requests.filter((r) => r.header.requestApiKey === apiKey);
  }

  private log(topic: string, partition: number): PartitionLog {
    const key = `${topic}\u0000${partition}`;
    let log = this.logs.get(key);
    if (log === undefined) {
      log = { batches: [], nextOffset: 0 };
      this.logs.set(key, log);
    }
    return log;
  }

  private topicId(topic: string): string {
    let id = this.topicIds.get(topic);
    if (id === undefined) {
      id = randomBytes(16).toString('base64url');
      this.topicIds.set(topic, id);
    }
    return id;
  }

  private accept(socket: net.Socket): void {
    const connection = this.nextConnection++;
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const frames = new FrameDecoder(MAX_FRAME_BYTES);
    // Requests on one connection are answered strictly in order, as Kafka does.
    let chain = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      let complete: Buffer[];
      try {
        complete = frames.push(chunk);
      } catch (err) {
        this.fail(socket, err);
        return;
      }
      for (const frame of complete) {
        chain = chain.then(() => this.serve(socket, connection, frame)).catch((err: unknown) => this.fail(socket, err));
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  private fail(socket: net.Socket, err: unknown): void {
    this.errors.push(err instanceof Error ? err : new Error(String(err)));
    socket.destroy();
  }

  private async serve(socket: net.Socket, connection: number, frame: Buffer): Promise<void> {
    if (socket.destroyed) return;
    const r = new Reader(frame);
    const header = decodeRequestHeader(r);
    const apiKey = header.requestApiKey;
    const version = header.requestApiVersion;
    const range = ADVERTISED_VERSIONS.get(apiKey);
    if (apiKey === ApiKey.ApiVersions && range !== undefined && version > range[1]) {
      // Kafka answers a too-new ApiVersions with a v0 response carrying UNSUPPORTED_VERSION.
      this.requests.push({ connection, header, frame, body: null });
      this.respond(socket, apiKey, 0, header.correlationId, {
        errorCode: ErrorCode.UNSUPPORTED_VERSION,
        apiKeys: this.apiVersionsList(),
      });
      return;
    }
    if (range === undefined || version < range[0] || version > range[1] || apiSpec(apiKey) === undefined) {
      this.requests.push({ connection, header, frame, body: null });
      throw new Error(`unsupported request: api key ${apiKey} version ${version}`);
    }
    const body = decodeRequestBody(apiKey as keyof ApiMessages, version, r);
    if (r.remaining !== 0) throw new Error(`api key ${apiKey} v${version}: ${r.remaining} bytes left after the body`);
    this.requests.push({ connection, header, frame, body });
    const response = await this.handle(apiKey, version, body);
    if (response !== null) this.respond(socket, apiKey, version, header.correlationId, response);
  }

  private respond(socket: net.Socket, apiKey: number, version: number, correlationId: number, body: unknown): void {
    if (socket.destroyed) return;
    const chunks = encodeResponseFrame(apiKey as 0, version, correlationId, body as never);
    socket.cork();
    for (const c of chunks) socket.write(c);
    socket.uncork();
  }

  private apiVersionsList(): { apiKey: number; minVersion: number; maxVersion: number }[] {
    return [...ADVERTISED_VERSIONS].map(([apiKey, [minVersion, maxVersion]]) => ({ apiKey, minVersion, maxVersion }));
  }

  /** Returns the response body, or null when none is due (acks=0 produce). */
  private async handle(apiKey: number, version: number, body: unknown): Promise<unknown> {
    switch (apiKey) {
      case ApiKey.ApiVersions:
        return { errorCode: 0, apiKeys: this.apiVersionsList() };
      case ApiKey.Metadata:
        return this.metadata(version, body as MetadataRequest);
      case ApiKey.Produce:
        return this.produce(body as ProduceRequest);
      case ApiKey.InitProducerId:
        return { throttleTimeMs: 0, errorCode: 0, producerId: this.nextProducerId++, producerEpoch: 0 };
      case ApiKey.Fetch:
        return this.fetch(version, body as FetchRequest);
      case ApiKey.ListOffsets:
        return this.listOffsets(body as ListOffsetsRequest);
      case ApiKey.FindCoordinator: {
        const b = body as { key: string; coordinatorKeys: string[] };
        const where = { nodeId: NODE_ID, host: '127.0.0.1', port: this.port };
        return {
          errorCode: 0,
          ...where,
          coordinators: b.coordinatorKeys.map((key) => ({ key, ...where, errorCode: 0 })),
        };
      }
      case ApiKey.JoinGroup:
        return this.joinGroup(
          body as {
            groupId: string;
            memberId: string;
            groupInstanceId: string | null;
            protocolType: string;
            protocols: { name: string; metadata: Buffer }[];
          },
        );
      case ApiKey.SyncGroup: {
        const b = body as {
          groupId: string;
          memberId: string;
          protocolType: string | null;
          protocolName: string | null;
          assignments: { memberId: string; assignment: Buffer }[];
        };
        const group = this.group(b.groupId);
        for (const a of b.assignments) group.assignments.set(a.memberId, a.assignment);
        return {
          errorCode: 0,
          protocolType: b.protocolType,
          protocolName: b.protocolName,
          assignment: group.assignments.get(b.memberId) ?? Buffer.alloc(0),
        };
      }
      case ApiKey.Heartbeat:
        return { errorCode: 0 };
      case ApiKey.LeaveGroup: {
        const b = body as { members: { memberId: string; groupInstanceId: string | null }[] };
        return { errorCode: 0, members: b.members.map((m) => ({ ...m, errorCode: 0 })) };
      }
      case ApiKey.OffsetFetch:
        return this.offsetFetch(body as OffsetFetchRequest);
      case ApiKey.OffsetCommit: {
        const b = body as {
          groupId: string;
          topics: { name: string; partitions: { partitionIndex: number; committedOffset: number }[] }[];
        };
        const group = this.group(b.groupId);
        return {
          topics: b.topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => {
              group.offsets.set(`${t.name}\u0000${p.partitionIndex}`, p.committedOffset);
              return { partitionIndex: p.partitionIndex, errorCode: 0 };
            }),
          })),
        };
      }
      default:
        throw new Error(`no handler for api key ${apiKey}`);
    }
  }

  private metadata(version: number, req: MetadataRequest) {
    let names: string[];
    if (req.topics === null || (version === 0 && req.topics.length === 0)) names = [...this.topicIds.keys()];
    else names = req.topics.map((t) => t.name).filter((n): n is string => n !== null);
    return {
      brokers: [{ nodeId: NODE_ID, host: '127.0.0.1', port: this.port, rack: null }],
      clusterId: 'capture-broker',
      controllerId: NODE_ID,
      topics: names.map((name) => ({
        errorCode: 0,
        name,
        topicId: this.topicId(name),
        isInternal: false,
        partitions: Array.from({ length: this.partitions }, (_, partitionIndex) => ({
          errorCode: 0,
          partitionIndex,
          leaderId: NODE_ID,
          leaderEpoch: 0,
          replicaNodes: [NODE_ID],
          isrNodes: [NODE_ID],
          offlineReplicas: [],
        })),
      })),
    };
  }

  private produce(req: ProduceRequest) {
    const responses = req.topicData.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((p) => {
        const baseOffset =
          p.records === null ? this.log(t.name, p.index).nextOffset : this.append(t.name, p.index, p.records);
        return { index: p.index, errorCode: 0, baseOffset, logAppendTimeMs: -1, logStartOffset: 0 };
      }),
    }));
    return req.acks === 0 ? null : { responses };
  }

  private fetchPartitions(req: FetchRequest) {
    const readCommitted = req.isolationLevel === 1;
    let bytes = 0;
    const responses = req.topics.map((t) => ({
      topic: t.topic,
      topicId: t.topicId,
      partitions: t.partitions.map((p): FetchResponsePartitionDataInit => {
        const known = this.topicIds.has(t.topic) && p.partition < this.partitions;
        if (!known) {
          return { partitionIndex: p.partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, highWatermark: -1 };
        }
        const log = this.log(t.topic, p.partition);
        const batches = log.batches.filter((b) => b.lastOffset >= p.fetchOffset).map((b) => b.bytes);
        const records = Buffer.concat(batches);
        bytes += records.length;
        return {
          partitionIndex: p.partition,
          errorCode: p.fetchOffset > log.nextOffset ? ErrorCode.OFFSET_OUT_OF_RANGE : 0,
          highWatermark: log.nextOffset,
          lastStableOffset: log.nextOffset,
          logStartOffset: 0,
          abortedTransactions: readCommitted ? [] : null,
          preferredReadReplica: -1,
          records,
        };
      }),
    }));
    return { responses, bytes };
  }

  private async fetch(_version: number, req: FetchRequest) {
    let result = this.fetchPartitions(req);
    if (result.bytes === 0 && req.maxWaitMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(req.maxWaitMs, MAX_EMPTY_FETCH_WAIT_MS)));
      result = this.fetchPartitions(req);
    }
    return { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: result.responses };
  }

  private listOffsets(req: ListOffsetsRequest) {
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          const end = this.log(t.name, p.partitionIndex).nextOffset;
          // -1 latest, -2 earliest; any other timestamp is answered with the earliest offset.
          const offset = p.timestamp === -1 ? end : 0;
          return {
            partitionIndex: p.partitionIndex,
            errorCode: 0,
            oldStyleOffsets: [offset],
            timestamp: -1,
            offset,
            leaderEpoch: 0,
          };
        }),
      })),
    };
  }

  private group(groupId: string): GroupState {
    let g = this.groups.get(groupId);
    if (g === undefined) {
      g = { generationId: 0, assignments: new Map(), offsets: new Map() };
      this.groups.set(groupId, g);
    }
    return g;
  }

  /** A group of one: every join starts a new generation with the joiner as leader and only member. */
  private joinGroup(req: {
    groupId: string;
    memberId: string;
    groupInstanceId: string | null;
    protocolType: string;
    protocols: { name: string; metadata: Buffer }[];
  }) {
    const group = this.group(req.groupId);
    group.generationId++;
    const memberId = req.memberId !== '' ? req.memberId : `member-${this.nextMemberId++}`;
    const protocol = req.protocols[0];
    return {
      errorCode: protocol === undefined ? ErrorCode.INCONSISTENT_GROUP_PROTOCOL : 0,
      generationId: group.generationId,
      protocolType: req.protocolType,
      protocolName: protocol?.name ?? null,
      leader: memberId,
      memberId,
      members:
        protocol === undefined ? [] : [{ memberId, groupInstanceId: req.groupInstanceId, metadata: protocol.metadata }],
    };
  }

  private offsetFetch(req: OffsetFetchRequest) {
    const partitionsOf = (groupId: string, topics: { name: string; partitionIndexes: number[] }[] | null) => {
      const group = this.group(groupId);
      return (topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({
          partitionIndex,
          committedOffset: group.offsets.get(`${t.name}\u0000${partitionIndex}`) ?? -1,
          committedLeaderEpoch: -1,
          metadata: '',
          errorCode: 0,
        })),
      }));
    };
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      topics: partitionsOf(req.groupId, req.topics),
      groups: req.groups.map((g) => ({ groupId: g.groupId, errorCode: 0, topics: partitionsOf(g.groupId, g.topics) })),
    };
  }
}
