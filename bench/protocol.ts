// Protocol codec benchmark. Run: npm run bench:protocol
//
// Large messages: a Produce request (v3, v9) carrying a 1 MiB record set and a Fetch response
// (v12, v16) carrying 1 MiB of records in 10 partitions, each encoded and decoded. Throughput is
// message bytes per second, reported as a ratio to Buffer.copy of the same number of bytes
// measured in the same run (the machine's memory bandwidth: what one copy of the payload costs).
// Record sets are opaque to the codec, so a ratio well above 1 means no copy of the payload.
//
// Small messages: Metadata v12 (10 topics) and Heartbeat v4, request and response, as
// operations per second, plus a whole-request path (frame encode, FrameDecoder, header and
// body decode) as a client and a broker would run it.
import { randomBytes } from 'node:crypto';
import { Reader, Writer } from '../src/protocol/codec.js';
import { FrameDecoder } from '../src/protocol/framing.js';
import {
  decodeFetchResponse,
  encodeFetchResponse,
  type FetchResponseInit,
} from '../src/protocol/generated/api/fetch.js';
import {
  decodeHeartbeatRequest,
  decodeHeartbeatResponse,
  encodeHeartbeatRequest,
  encodeHeartbeatResponse,
} from '../src/protocol/generated/api/heartbeat.js';
import {
  decodeMetadataRequest,
  decodeMetadataResponse,
  encodeMetadataRequest,
  encodeMetadataResponse,
  type MetadataResponseInit,
} from '../src/protocol/generated/api/metadata.js';
import {
  decodeProduceRequest,
  encodeProduceRequest,
  type ProduceRequestInit,
} from '../src/protocol/generated/api/produce.js';
import { decodeRequestBody, decodeRequestHeader, encodeRequestFrame } from '../src/protocol/messages.js';

const MiB = 1024 * 1024;
const TARGET_MS = Number(process.env.BENCH_TARGET_MS ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

let sink = 0; // keeps results observable so the JIT cannot drop the work

/** Median ns per op over ROUNDS rounds of ~TARGET_MS each. */
function measure(op: () => void): number {
  // Warm up and size the batch so one round lasts about TARGET_MS.
  let batch = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) op();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms >= TARGET_MS / 4) {
      batch = Math.max(1, Math.round((batch * TARGET_MS) / ms));
      break;
    }
    batch *= 2;
  }
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) op();
    samples.push(Number(process.hrtime.bigint() - t0) / batch);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] as number;
}

function encodeToChunks(encode: (w: Writer) => void): Buffer[] {
  const w = new Writer(1024);
  encode(w);
  return w.finishChunks();
}

function encodeToBuffer(encode: (w: Writer) => void): Buffer {
  const w = new Writer(1024);
  encode(w);
  return w.finish();
}

interface LargeCase {
  name: string;
  encode: (w: Writer) => void;
  decode: (r: Reader) => unknown;
}

function produceCase(version: number, records: Buffer): LargeCase {
  const m: ProduceRequestInit = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: 'bench-topic', partitionData: [{ index: 0, records }] }],
  };
  return {
    name: `Produce request v${version} (1 MiB, 1 partition)`,
    encode: (w) => encodeProduceRequest(w, m, version),
    decode: (r) => decodeProduceRequest(r, version),
  };
}

function fetchCase(version: number, records: Buffer): LargeCase {
  const perPartition = records.length / 10;
  const partitions = Array.from({ length: 10 }, (_, i) => ({
    partitionIndex: i,
    errorCode: 0,
    highWatermark: 1_000_000 + i,
    lastStableOffset: 1_000_000 + i,
    logStartOffset: 0,
    abortedTransactions: null,
    records: records.subarray(i * perPartition, (i + 1) * perPartition),
  }));
  const m: FetchResponseInit = {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 12345,
    responses: [{ topic: 'bench-topic', topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions }],
  };
  return {
    name: `Fetch response v${version} (1 MiB, 10 partitions)`,
    encode: (w) => encodeFetchResponse(w, m, version),
    decode: (r) => decodeFetchResponse(r, version),
  };
}

function fmtRate(bytesPerOp: number, ns: number): string {
  return `${((bytesPerOp / ns) * 1e3).toFixed(0).padStart(9)} MB/s`;
}

function fmtOps(ns: number): string {
  return `${(1e9 / ns).toFixed(0).padStart(10)} ops/s  ${(ns / 1e3).toFixed(2).padStart(8)} µs/op`;
}

function main(): void {
  console.log(`protocol codec benchmark — node ${process.version}, ${ROUNDS} rounds of ~${TARGET_MS} ms, median`);
  const records = randomBytes(MiB);

  // Baseline: one copy of 1 MiB (plus what the largest message adds around it).
  const src = randomBytes(MiB + 4096);
  const dst = Buffer.allocUnsafe(src.length);
  const copyNs = measure(() => {
    sink += src.copy(dst);
  });
  const copyRate = (src.length / copyNs) * 1e3;
  console.log(
    `\nbaseline Buffer.copy of ${src.length} bytes: ${fmtRate(src.length, copyNs)}  (${(copyNs / 1e3).toFixed(1)} µs)`,
  );

  console.log('\nlarge messages (MB/s of message bytes; ratio = codec throughput / Buffer.copy throughput)');
  const cases = [produceCase(3, records), produceCase(9, records), fetchCase(12, records), fetchCase(16, records)];
  for (const c of cases) {
    const bytes = encodeToBuffer(c.encode);
    const size = bytes.length;
    const encNs = measure(() => {
      sink += encodeToChunks(c.encode).length;
    });
    const encJoinNs = measure(() => {
      sink += encodeToBuffer(c.encode).length;
    });
    const decNs = measure(() => {
      sink += c.decode(new Reader(bytes)) === null ? 0 : 1;
    });
    const bothNs = measure(() => {
      const chunks = encodeToChunks(c.encode);
      sink += chunks.length;
      sink += c.decode(new Reader(bytes)) === null ? 0 : 1;
    });
    const ratio = (ns: number): string =>
      `x${((size / ns) * 1e3) / copyRate >= 100 ? (((size / ns) * 1e3) / copyRate).toFixed(0) : (((size / ns) * 1e3) / copyRate).toFixed(2)}`;
    console.log(`  ${c.name}, ${size} bytes`);
    console.log(
      `    encode (chunks, zero-copy)  ${fmtRate(size, encNs)}  ${ratio(encNs).padStart(8)}  ${(encNs / 1e3).toFixed(2)} µs`,
    );
    console.log(
      `    encode + finish() (1 copy)  ${fmtRate(size, encJoinNs)}  ${ratio(encJoinNs).padStart(8)}  ${(encJoinNs / 1e3).toFixed(2)} µs`,
    );
    console.log(
      `    decode                      ${fmtRate(size, decNs)}  ${ratio(decNs).padStart(8)}  ${(decNs / 1e3).toFixed(2)} µs`,
    );
    console.log(
      `    decode + encode             ${fmtRate(size, bothNs)}  ${ratio(bothNs).padStart(8)}  ${(bothNs / 1e3).toFixed(2)} µs`,
    );
  }

  console.log('\nsmall messages');
  const topics = Array.from({ length: 10 }, (_, i) => ({ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: `topic-${i}` }));
  const metaReq = { topics, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false };
  const metaRes: MetadataResponseInit = {
    throttleTimeMs: 0,
    brokers: [0, 1, 2].map((id) => ({ nodeId: id, host: `broker-${id}.local`, port: 9092, rack: null })),
    clusterId: 'eddy-cluster-0001',
    controllerId: 0,
    topics: topics.map((t, i) => ({
      errorCode: 0,
      name: t.name,
      topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
      isInternal: false,
      partitions: [
        {
          errorCode: 0,
          partitionIndex: 0,
          leaderId: i % 3,
          leaderEpoch: 5,
          replicaNodes: [0, 1, 2],
          isrNodes: [0, 1, 2],
          offlineReplicas: [],
        },
      ],
      topicAuthorizedOperations: -2147483648,
    })),
  };
  const hbReq = { groupId: 'bench-group', generationId: 7, memberId: 'member-1-2b7e1f3c', groupInstanceId: null };
  const hbRes = { throttleTimeMs: 0, errorCode: 0 };
  const small: [string, (w: Writer) => void, (r: Reader) => unknown][] = [
    [
      'Metadata request v12 (10 topics)',
      (w) => encodeMetadataRequest(w, metaReq, 12),
      (r) => decodeMetadataRequest(r, 12),
    ],
    [
      'Metadata response v12 (10 topics, 3 brokers)',
      (w) => encodeMetadataResponse(w, metaRes, 12),
      (r) => decodeMetadataResponse(r, 12),
    ],
    ['Heartbeat request v4', (w) => encodeHeartbeatRequest(w, hbReq, 4), (r) => decodeHeartbeatRequest(r, 4)],
    ['Heartbeat response v4', (w) => encodeHeartbeatResponse(w, hbRes, 4), (r) => decodeHeartbeatResponse(r, 4)],
  ];
  for (const [name, enc, dec] of small) {
    const bytes = encodeToBuffer(enc);
    const encNs = measure(() => {
      sink += encodeToBuffer(enc).length;
    });
    const decNs = measure(() => {
      sink += dec(new Reader(bytes)) === null ? 0 : 1;
    });
    console.log(`  ${name}, ${bytes.length} bytes`);
    console.log(`    encode           ${fmtOps(encNs)}`);
    console.log(`    decode           ${fmtOps(decNs)}`);
    console.log(`    decode + encode  ${fmtOps(encNs + decNs)}`);
  }

  // A whole request as it crosses the wire: client frames it, broker splits and decodes it.
  for (const [name, apiKey, version, body] of [
    ['Metadata v12 (10 topics)', 3, 12, metaReq],
    ['Heartbeat v4', 12, 4, hbReq],
  ] as const) {
    const fd = new FrameDecoder(100 * MiB);
    const ns = measure(() => {
      const chunks = encodeRequestFrame({
        apiKey,
        apiVersion: version,
        correlationId: 1,
        clientId: 'bench',
        body: body as never,
      });
      for (const c of chunks) {
        for (const frame of fd.push(c)) {
          const r = new Reader(frame);
          const h = decodeRequestHeader(r);
          sink += decodeRequestBody(h.requestApiKey as 0, h.requestApiVersion, r) === null ? 0 : 1;
        }
      }
    });
    console.log(`  ${name} request: frame encode + FrameDecoder + header/body decode ${fmtOps(ns)}`);
  }
  if (sink === 42) console.log('');
}

main();
