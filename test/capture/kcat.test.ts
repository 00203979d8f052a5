// kcat (librdkafka 2.0.2) against the capture broker: what it produces with every codec is
// decoded byte-exactly by src/records, and what Eddy encodes with every codec it consumes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiKey } from '../../src/protocol/index.js';
import { CompressionType, encodeControlBatch, encodeRecordBatch, setLogAppendTime } from '../../src/records/index.js';
import { CaptureBroker } from '../helpers/capture-broker.js';
import {
  ALL_CODECS,
  assertExitedCleanly,
  assertProducedMatches,
  assertRequestsReencode,
  CODEC_NAMES,
  type ConsumedRecord,
  EDDY_BASE_TIMESTAMP,
  eddyBatches,
  eddyExpected,
  producedBatches,
  runProcess,
  sampleMessages,
} from './support.js';

const KCAT = 'kcat';
const TIMEOUT_MS = 20_000;
const HEADERS: [string, string][] = [
  ['h1', 'v1'],
  ['uni-ключ', 'значение ✓'],
];

async function withBroker(fn: (broker: CaptureBroker) => Promise<void>): Promise<void> {
  const broker = await CaptureBroker.start();
  try {
    await fn(broker);
  } finally {
    await broker.close();
  }
}

async function kcatProduce(
  broker: CaptureBroker,
  topic: string,
  codec: CompressionType,
  lines: string[],
  extra: string[] = [],
) {
  const headerArgs = HEADERS.flatMap(([k, v]) => ['-H', `${k}=${v}`]);
  const args = ['-P', '-b', broker.bootstrap, '-t', topic, '-p', '0', '-K', ':', ...headerArgs];
  args.push('-X', `compression.codec=${CODEC_NAMES[codec]}`, '-X', 'linger.ms=20', ...extra);
  const r = await runProcess(KCAT, args, { input: `${lines.join('\n')}\n`, timeoutMs: TIMEOUT_MS });
  assertExitedCleanly(r, 'kcat -P');
}

describe('kcat produces, src/records decodes', () => {
  for (const codec of ALL_CODECS) {
    test(`${CODEC_NAMES[codec]}: every frame re-encodes exactly; batches decode with the given keys, values, headers`, async () => {
      await withBroker(async (broker) => {
        const topic = `kcat-produce-${CODEC_NAMES[codec]}`;
        const messages = sampleMessages(25, `kcat ${CODEC_NAMES[codec]}`);
        await kcatProduce(
          broker,
          topic,
          codec,
          messages.map((m) => `${m.key}:${m.value}`),
        );
        const seen = assertRequestsReencode(broker);
        assert.ok(seen.has(ApiKey.ApiVersions) && seen.has(ApiKey.Metadata) && seen.has(ApiKey.Produce));
        assertProducedMatches(
          producedBatches(broker, topic),
          codec,
          messages.map((m) => ({ key: m.key, value: m.value, headers: HEADERS })),
        );
      });
    });
  }

  test('idempotent producer: InitProducerId, then producer id, epoch and sequences in the batch', async () => {
    await withBroker(async (broker) => {
      const topic = 'kcat-idempotent';
      const messages = sampleMessages(10, 'idempotent');
      await kcatProduce(
        broker,
        topic,
        CompressionType.Zstd,
        messages.map((m) => `${m.key}:${m.value}`),
        ['-X', 'enable.idempotence=true'],
      );
      const seen = assertRequestsReencode(broker);
      assert.ok(seen.has(ApiKey.InitProducerId));
      const batches = producedBatches(broker, topic);
      assertProducedMatches(
        batches,
        CompressionType.Zstd,
        messages.map((m) => ({ key: m.key, value: m.value, headers: HEADERS })),
      );
      assert.equal(batches[0]?.decoded.producerId, 1000);
      assert.equal(batches[0]?.decoded.producerEpoch, 0);
      assert.equal(batches[0]?.decoded.baseSequence, 0);
    });
  });
});

interface KcatJsonMessage {
  offset: number;
  tstype: string;
  ts: number;
  key: string | null;
  payload: string | null;
  headers?: string[];
}

describe('Eddy encodes, kcat consumes', () => {
  for (const codec of ALL_CODECS) {
    test(`${CODEC_NAMES[codec]}: kcat -C reads every record of Eddy's batches`, async () => {
      await withBroker(async (broker) => {
        const topic = `kcat-consume-${CODEC_NAMES[codec]}`;
        const messages = sampleMessages(30, `eddy ${CODEC_NAMES[codec]}`);
        broker.append(topic, 0, eddyBatches(codec, messages));
        const r = await runProcess(
          KCAT,
          ['-C', '-b', broker.bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-J', '-q'],
          { timeoutMs: TIMEOUT_MS },
        );
        assertExitedCleanly(r, 'kcat -C');
        const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
        const consumed = lines.map((l) => JSON.parse(l) as KcatJsonMessage);
        const got: ConsumedRecord[] = consumed.map((m) => {
          const h = m.headers ?? [];
          const headers: [string, string][] = [];
          for (let i = 0; i + 1 < h.length; i += 2) headers.push([h[i] as string, h[i + 1] as string]);
          return { offset: m.offset, key: m.key, value: m.payload, headers };
        });
        assert.deepEqual(got, eddyExpected(codec, messages));
        assert.deepEqual(
          consumed.map((m) => [m.tstype, m.ts]),
          messages.map((_, i) => ['create', EDDY_BASE_TIMESTAMP + i]),
        );
        const seen = assertRequestsReencode(broker);
        assert.ok(seen.has(ApiKey.Fetch) && seen.has(ApiKey.ListOffsets));
      });
    });
  }

  test("transactions and LogAppendTime: kcat skips Eddy's commit marker and reports log-append time", async () => {
    await withBroker(async (broker) => {
      const topic = 'kcat-consume-txn';
      const producerId = 77;
      const txn = encodeRecordBatch({
        compression: CompressionType.Lz4,
        transactional: true,
        producerId,
        producerEpoch: 3,
        baseSequence: 0,
        records: [{ value: Buffer.from('txn-0') }, { value: Buffer.from('txn-1') }],
      });
      const marker = encodeControlBatch({ type: 'commit', producerId, producerEpoch: 3, coordinatorEpoch: 0 });
      const appended = encodeRecordBatch({ records: [{ value: Buffer.from('after') }] });
      setLogAppendTime(appended, 0, appended.length, 1_650_000_000_123);
      broker.append(topic, 0, Buffer.concat([txn, marker, appended]));
      const r = await runProcess(
        KCAT,
        ['-C', '-b', broker.bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-J', '-q'],
        { timeoutMs: TIMEOUT_MS },
      );
      assertExitedCleanly(r, 'kcat -C');
      const consumed = r.stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as KcatJsonMessage);
      // Offsets 0-1: the transaction; 2: the marker (never shown); 3: the log-append record.
      assert.deepEqual(
        consumed.map((m) => [m.offset, m.payload]),
        [
          [0, 'txn-0'],
          [1, 'txn-1'],
          [3, 'after'],
        ],
      );
      assert.deepEqual([consumed[2]?.tstype, consumed[2]?.ts], ['logappend', 1_650_000_000_123]);
      assertRequestsReencode(broker);
    });
  });
});
