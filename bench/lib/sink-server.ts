// A minimal Kafka-speaking server: the ceiling a client reaches when the broker costs
// (almost) nothing. It answers ApiVersions and Metadata (every topic exists, led by this
// node) and ListOffsets, and acknowledges Produce after counting the records in each batch
// header. Two modes:
//   discard  produced bytes are dropped; Fetch serves a synthetic source of `sourceRecords`
//            records (one prebuilt batch repeated with rewritten base offsets), for the
//            consumer's ceiling;
//   memory   produced batches are kept in memory (base offsets rewritten in place, as a
//            broker does) and served by Fetch with long polling woken by appends, for the
//            end-to-end latency a client pair reaches through a broker that does no I/O.
//
// It advertises the same API version ranges as Eddy's handlers, so clients send the same
// request versions to both. Run as a process:
//   node dist/bench/lib/sink-server.js [--mode discard|memory] [--partitions N]
//        [--source-records N] [--record-bytes N] [--records-per-batch N]
// It prints `sink listening on 127.0.0.1:<port>`, and on SIGTERM a JSON line with its counts.
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { apiVersionsHandler } from '../../src/broker/handlers/api-versions.js';
import { fetchHandler } from '../../src/broker/handlers/fetch.js';
import { metadataHandler } from '../../src/broker/handlers/metadata.js';
import { listOffsetsHandler } from '../../src/broker/handlers/offsets.js';
import { produceHandler } from '../../src/broker/handlers/produce.js';
import { Reader } from '../../src/protocol/codec.js';
import { FrameDecoder } from '../../src/protocol/framing.js';
import type { FetchRequest, FetchResponsePartitionDataInit } from '../../src/protocol/generated/api/fetch.js';
import type { ListOffsetsRequest } from '../../src/protocol/generated/api/list-offsets.js';
import type { MetadataRequest } from '../../src/protocol/generated/api/metadata.js';
import type { ProduceRequest } from '../../src/protocol/generated/api/produce.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { decodeRequestBody, decodeRequestHeader, encodeResponseFrame } from '../../src/protocol/messages.js';
import { encodeRecordBatch, setBaseOffset, walkBatches } from '../../src/records/index.js';
import { cpuSecondsOf, startServer } from './proc.js';

export interface SinkOptions {
  mode: 'discard' | 'memory';
  partitions: number;
  /** Records a Fetch can read per partition (0: nothing to consume). */
  sourceRecords: number;
  /** Value size of the served records. */
  recordBytes: number;
  /** Records per served batch. */
  recordsPerBatch: number;
}

const NODE_ID = 1;
/** Memory mode keeps at most this much per partition, dropping the oldest batches. */
const MEMORY_LOG_MAX_BYTES = 256 * 1024 * 1024;

/** A partition's log in memory mode. */
interface MemoryLog {
  batches: Buffer[];
  baseOffsets: number[];
  bytes: number;
  endOffset: number;
  waiters: Set<() => void>;
}

/** The records a source serves: `requested` rounded up to whole batches. */
export function sourceRecordsServed(requested: number, recordsPerBatch: number): number {
  return Math.ceil(requested / recordsPerBatch) * recordsPerBatch;
}
const SUPPORTED = [apiVersionsHandler, metadataHandler, produceHandler, fetchHandler, listOffsetsHandler].map((h) => ({
  apiKey: h.apiKey as number,
  minVersion: h.minVersion,
  maxVersion: h.maxVersion,
}));

export class SinkServer {
  private readonly server: net.Server;
  private readonly topicIds = new Map<string, string>();
  private readonly topicNames = new Map<string, string>();
  /** Next offset per topic-partition, as a broker would assign. */
  private readonly nextOffsets = new Map<string, number>();
  private readonly logs = new Map<string, MemoryLog>();
  private readonly sourceBatch: Buffer;
  private readonly sockets = new Set<net.Socket>();
  producedRecords = 0;
  producedBytes = 0;
  fetchedBytes = 0;
  port = 0;

  constructor(private readonly opts: SinkOptions) {
    // Whole batches only: a consumer reading to the end must land exactly on the high watermark.
    opts.sourceRecords = sourceRecordsServed(opts.sourceRecords, opts.recordsPerBatch);
    const value = Buffer.alloc(opts.recordBytes, 0x78);
    this.sourceBatch = encodeRecordBatch({
      baseTimestamp: Date.now(),
      records: Array.from({ length: opts.recordsPerBatch }, () => ({ value })),
    });
    this.server = net.createServer((s) => this.accept(s));
  }

  listen(port = 0): Promise<number> {
    return new Promise((resolve) => {
      this.server.listen(port, '127.0.0.1', () => {
        const a = this.server.address();
        this.port = typeof a === 'object' && a !== null ? a.port : port;
        resolve(this.port);
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    const decoder = new FrameDecoder(100 * 1024 * 1024);
    // Requests are answered in order; Fetch may wait, so later answers queue behind it.
    let chain: Promise<void> = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const f of frames) {
        chain = chain.then(async () => {
          if (socket.destroyed) return;
          const out = await this.handle(f);
          if (out === null) {
            socket.destroy();
            return;
          }
          if (out.length === 0) return;
          socket.cork();
          for (const c of out) socket.write(c);
          socket.uncork();
        });
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }

  private topicId(name: string): string {
    let id = this.topicIds.get(name);
    if (id === undefined) {
      const b = Buffer.alloc(16);
      b.write(name.slice(0, 15), 1);
      b[0] = 0x42;
      id = b.toString('base64url');
      this.topicIds.set(name, id);
      this.topicNames.set(id, name);
    }
    return id;
  }

  /** Response chunks, [] for no response (acks=0), null to close the connection. */
  private async handle(frame: Buffer): Promise<Buffer[] | null> {
    const r = new Reader(frame);
    const h = decodeRequestHeader(r);
    const v = h.requestApiVersion;
    const range = SUPPORTED.find((s) => s.apiKey === h.requestApiKey);
    if (!range) return null;
    if (v < range.minVersion || v > range.maxVersion) {
      if (h.requestApiKey === ApiKey.ApiVersions) {
        return encodeResponseFrame(ApiKey.ApiVersions, 0, h.correlationId, { errorCode: 35, apiKeys: SUPPORTED });
      }
      return null;
    }
    switch (h.requestApiKey) {
      case ApiKey.ApiVersions:
        return encodeResponseFrame(ApiKey.ApiVersions, v, h.correlationId, { errorCode: 0, apiKeys: SUPPORTED });
      case ApiKey.Metadata:
        return encodeResponseFrame(
          ApiKey.Metadata,
          v,
          h.correlationId,
          this.metadata(decodeRequestBody(ApiKey.Metadata, v, r)),
        );
      case ApiKey.Produce: {
        const req = decodeRequestBody(ApiKey.Produce, v, r);
        const body = this.produce(req);
        return req.acks === 0 ? [] : encodeResponseFrame(ApiKey.Produce, v, h.correlationId, body);
      }
      case ApiKey.ListOffsets:
        return encodeResponseFrame(
          ApiKey.ListOffsets,
          v,
          h.correlationId,
          this.listOffsets(decodeRequestBody(ApiKey.ListOffsets, v, r)),
        );
      case ApiKey.Fetch: {
        const req = decodeRequestBody(ApiKey.Fetch, v, r);
        return encodeResponseFrame(ApiKey.Fetch, v, h.correlationId, await this.fetch(req, v >= 13));
      }
      default:
        return null;
    }
  }

  private metadata(req: MetadataRequest) {
    // Every named topic exists; "all topics" means those seen so far.
    const names =
      req.topics === null
        ? [...this.topicIds.keys()]
        : req.topics.map((t) => t.name ?? this.topicNames.get(t.topicId) ?? 'unknown');
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: NODE_ID, host: '127.0.0.1', port: this.port, rack: null }],
      clusterId: 'eddy-bench-sink',
      controllerId: NODE_ID,
      topics: names.map((name) => ({
        errorCode: 0,
        name,
        topicId: this.topicId(name),
        isInternal: false,
        partitions: Array.from({ length: this.opts.partitions }, (_, i) => ({
          errorCode: 0,
          partitionIndex: i,
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
    return {
      throttleTimeMs: 0,
      responses: req.topicData.map((td) => ({
        name: td.name,
        partitionResponses: td.partitionData.map((pd) => {
          const key = `${td.name}:${pd.index}`;
          const baseOffset = this.nextOffsets.get(key) ?? 0;
          let records = 0;
          if (pd.records) {
            this.producedBytes += pd.records.length;
            const log = this.opts.mode === 'memory' ? this.memoryLog(key) : null;
            for (const b of walkBatches(pd.records)) {
              if (log) {
                // Copy: the request frame's buffer is not ours to keep.
                const batch = Buffer.from(pd.records.subarray(b.position, b.position + b.sizeBytes));
                setBaseOffset(batch, 0, baseOffset + records);
                log.batches.push(batch);
                log.baseOffsets.push(baseOffset + records);
                log.bytes += batch.length;
                while (log.bytes > MEMORY_LOG_MAX_BYTES && log.batches.length > 1) {
                  log.bytes -= (log.batches.shift() as Buffer).length;
                  log.baseOffsets.shift();
                }
              }
              records += b.recordCount;
            }
            if (log) {
              log.endOffset = baseOffset + records;
              for (const w of [...log.waiters]) w();
            }
          }
          this.nextOffsets.set(key, baseOffset + records);
          this.producedRecords += records;
          return { index: pd.index, errorCode: 0, baseOffset, logAppendTimeMs: -1, logStartOffset: 0 };
        }),
      })),
    };
  }

  private listOffsets(req: ListOffsetsRequest) {
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          const log = this.opts.mode === 'memory' ? this.memoryLog(`${t.name}:${p.partitionIndex}`) : null;
          const end = log ? log.endOffset : this.opts.sourceRecords;
          const start = log ? (log.baseOffsets[0] ?? end) : 0;
          // -2 is the earliest offset; anything else is answered with the end.
          return {
            partitionIndex: p.partitionIndex,
            errorCode: 0,
            timestamp: -1,
            offset: p.timestamp === -2 ? start : end,
            leaderEpoch: 0,
          };
        }),
      })),
    };
  }

  private memoryLog(key: string): MemoryLog {
    let log = this.logs.get(key);
    if (log === undefined) {
      log = { batches: [], baseOffsets: [], bytes: 0, endOffset: 0, waiters: new Set() };
      this.logs.set(key, log);
    }
    return log;
  }

  /** Whole batches from the one holding `fetchOffset`, up to `maxBytes` (at least one). */
  private readMemory(log: MemoryLog, fetchOffset: number, maxBytes: number): Buffer | null {
    const offs = log.baseOffsets;
    let lo = 0;
    let hi = offs.length - 1;
    let first = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((offs[mid] as number) <= fetchOffset) {
        first = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (first < 0) first = 0;
    const parts: Buffer[] = [];
    let size = 0;
    for (let i = first; i < log.batches.length; i++) {
      const b = log.batches[i] as Buffer;
      if (parts.length > 0 && size + b.length > maxBytes) break;
      parts.push(b);
      size += b.length;
    }
    return parts.length === 0 ? null : parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size);
  }

  private readSource(fetchOffset: number, maxBytes: number): Buffer {
    const perBatch = this.opts.recordsPerBatch;
    const batchBytes = this.sourceBatch.length;
    const first = Math.floor(fetchOffset / perBatch);
    const available = Math.ceil(this.opts.sourceRecords / perBatch) - first;
    const count = Math.min(available, Math.max(1, Math.floor(maxBytes / batchBytes)));
    if (count <= 0) return Buffer.alloc(0);
    const out = Buffer.allocUnsafe(count * batchBytes);
    for (let i = 0; i < count; i++) {
      this.sourceBatch.copy(out, i * batchBytes);
      // The CRC covers the bytes after the header's offset fields, so it stays valid.
      setBaseOffset(out, i * batchBytes, (first + i) * perBatch);
    }
    return out;
  }

  private async fetch(req: FetchRequest, usesTopicIds: boolean) {
    let body = this.readFetch(req, usesTopicIds);
    if (body.bytes === 0 && req.maxWaitMs > 0) {
      if (this.opts.mode === 'memory') {
        // Long poll: wake on an append to any requested partition, or at maxWaitMs.
        const logs = req.topics.flatMap((t) =>
          t.partitions.map((p) => this.memoryLog(`${this.fetchTopicName(t, usesTopicIds)}:${p.partition}`)),
        );
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            clearTimeout(timer);
            for (const l of logs) l.waiters.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, req.maxWaitMs);
          for (const l of logs) l.waiters.add(wake);
        });
      } else {
        // Nothing more will arrive: wait as a broker would, so an idle consumer does not spin.
        await new Promise((r) => setTimeout(r, Math.min(req.maxWaitMs, 500)));
      }
      body = this.readFetch(req, usesTopicIds);
    }
    this.fetchedBytes += body.bytes;
    return body.response;
  }

  private fetchTopicName(t: { topic: string; topicId: string }, usesTopicIds: boolean): string {
    return usesTopicIds ? (this.topicNames.get(t.topicId) ?? '') : t.topic;
  }

  private readFetch(req: FetchRequest, usesTopicIds: boolean) {
    let remaining = req.maxBytes;
    let bytes = 0;
    const responses = req.topics.map((t) => {
      const name = this.fetchTopicName(t, usesTopicIds);
      return {
        topic: t.topic,
        topicId: usesTopicIds ? t.topicId : 'AAAAAAAAAAAAAAAAAAAAAA',
        partitions: t.partitions.map((p): FetchResponsePartitionDataInit => {
          const limit = Math.min(p.partitionMaxBytes, remaining);
          let hw: number;
          let logStart = 0;
          let records: Buffer | null = null;
          if (this.opts.mode === 'memory') {
            const log = this.memoryLog(`${name}:${p.partition}`);
            hw = log.endOffset;
            logStart = log.baseOffsets[0] ?? hw;
            if (p.fetchOffset < hw) records = this.readMemory(log, p.fetchOffset, limit);
          } else {
            hw = this.opts.sourceRecords;
            if (p.fetchOffset < hw) records = this.readSource(p.fetchOffset, limit);
          }
          const n = records?.length ?? 0;
          remaining -= n;
          bytes += n;
          return {
            partitionIndex: p.partition,
            errorCode: 0,
            highWatermark: hw,
            lastStableOffset: hw,
            logStartOffset: logStart,
            abortedTransactions: null,
            records: records ?? Buffer.alloc(0),
          };
        }),
      };
    });
    return { bytes, response: { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses } };
  }
}

function argValue(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback;
}

async function main(args: string[]): Promise<void> {
  const sink = new SinkServer({
    mode: args.includes('--mode') && args[args.indexOf('--mode') + 1] === 'memory' ? 'memory' : 'discard',
    partitions: argValue(args, '--partitions', 1),
    sourceRecords: argValue(args, '--source-records', 0),
    recordBytes: argValue(args, '--record-bytes', 100),
    recordsPerBatch: argValue(args, '--records-per-batch', 1000),
  });
  const port = await sink.listen(argValue(args, '--port', 0));
  process.stdout.write(`sink listening on 127.0.0.1:${port}\n`);
  const stop = (): void => {
    process.stdout.write(
      `${JSON.stringify({ producedRecords: sink.producedRecords, producedBytes: sink.producedBytes, fetchedBytes: sink.fetchedBytes })}\n`,
    );
    void sink.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const SELF = fileURLToPath(import.meta.url);

export interface SinkProcess {
  readonly bootstrap: string;
  readonly pid: number;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** Runs the sink in its own process, as the broker runs in its own. */
export async function startSinkProcess(opts: Partial<SinkOptions> = {}): Promise<SinkProcess> {
  const args = [SELF, '--mode', opts.mode ?? 'discard'];
  if (opts.partitions !== undefined) args.push('--partitions', String(opts.partitions));
  if (opts.sourceRecords !== undefined) args.push('--source-records', String(opts.sourceRecords));
  if (opts.recordBytes !== undefined) args.push('--record-bytes', String(opts.recordBytes));
  if (opts.recordsPerBatch !== undefined) args.push('--records-per-batch', String(opts.recordsPerBatch));
  const server = await startServer(process.execPath, args, /sink listening on (127\.0\.0\.1:\d+)/);
  return {
    bootstrap: server.match[1] as string,
    pid: server.pid,
    cpuSeconds: () => cpuSecondsOf(server.pid).total,
    stop: () => server.stop(),
  };
}

if (process.argv[1] === SELF) void main(process.argv.slice(2));
