// The Debian Python clients against the capture broker (run with /usr/bin/python3, which has
// them): confluent-kafka (librdkafka) consumes Eddy's batches with every codec; kafka-python,
// a pure-Python implementation of the protocol and of RecordBatch v2, produces and consumes.
// kafka-python here has no snappy, lz4 or zstd module (python3-snappy, python3-lz4 and
// python3-zstandard are not installed), so it covers none and gzip.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiKey } from '../../src/protocol/index.js';
import { CompressionType } from '../../src/records/index.js';
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

const PYTHON = '/usr/bin/python3';
const TIMEOUT_MS = 30_000;
const KAFKA_PYTHON_CODECS = [CompressionType.None, CompressionType.Gzip];

const KAFKA_PYTHON_PRODUCE = `
import json, sys
from kafka import KafkaProducer
bootstrap, topic, codec = sys.argv[1], sys.argv[2], sys.argv[3]
spec = json.loads(sys.stdin.read())
p = KafkaProducer(bootstrap_servers=bootstrap, compression_type=None if codec == 'none' else codec,
                  linger_ms=20, request_timeout_ms=10000)
for m in spec['messages']:
    p.send(topic, key=m['key'].encode(), value=m['value'].encode(), partition=0,
           headers=[(k, v.encode()) for k, v in spec['headers']])
p.flush(timeout=10)
p.close(timeout=5)
`;

// Both consumers print one JSON list: offset, key, value, headers, timestamp type and value.
const CONFLUENT_CONSUME = `
import json, sys, time
from confluent_kafka import Consumer, KafkaError, TopicPartition, OFFSET_BEGINNING
bootstrap, topic = sys.argv[1], sys.argv[2]
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'confluent-' + topic,
              'enable.auto.commit': False, 'enable.partition.eof': True})
c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
out = []
deadline = time.time() + 20
while time.time() < deadline:
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error():
        if m.error().code() == KafkaError._PARTITION_EOF:
            break
        raise Exception(str(m.error()))
    d = lambda b: None if b is None else b.decode('utf-8')
    out.append({'offset': m.offset(), 'key': d(m.key()), 'value': d(m.value()),
                'headers': [[k, d(v)] for k, v in (m.headers() or [])], 'ts': list(m.timestamp())})
c.close()
print(json.dumps(out))
`;

const KAFKA_PYTHON_CONSUME = `
import json, sys
from kafka import KafkaConsumer, TopicPartition
bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                  consumer_timeout_ms=15000, fetch_max_wait_ms=100)
tp = TopicPartition(topic, 0)
c.assign([tp])
c.seek_to_beginning(tp)
out = []
d = lambda b: None if b is None else b.decode('utf-8')
for m in c:
    out.append({'offset': m.offset, 'key': d(m.key), 'value': d(m.value),
                'headers': [[k, d(v)] for k, v in m.headers], 'ts': [m.timestamp_type, m.timestamp]})
    if len(out) >= count:
        break
c.close()
print(json.dumps(out))
`;

interface PythonRecord extends ConsumedRecord {
  /** [timestamp type, timestamp ms]. */
  ts: [number, number];
}

// Each client's number for CreateTime: confluent-kafka's TIMESTAMP_CREATE_TIME, kafka-python's attribute bit.
const CONFLUENT_CREATE_TIME = 1;
const KAFKA_PYTHON_CREATE_TIME = 0;

const HEADERS: [string, string][] = [
  ['h1', 'v1'],
  ['uni-ключ', 'значение ✓'],
];

let broker: CaptureBroker;
before(async () => {
  broker = await CaptureBroker.start();
});
after(async () => {
  await broker.close();
});

async function python(script: string, args: string[], input = ''): Promise<string> {
  const r = await runProcess(PYTHON, ['-c', script, ...args], { input, timeoutMs: TIMEOUT_MS });
  assertExitedCleanly(r, 'python client');
  return r.stdout;
}

function assertConsumed(
  stdout: string,
  codec: CompressionType,
  messages: { key: string; value: string }[],
  createTime: number,
): void {
  const got = JSON.parse(stdout) as PythonRecord[];
  assert.deepEqual(
    got.map(({ offset, key, value, headers }) => ({ offset, key, value, headers })),
    eddyExpected(codec, messages),
  );
  assert.deepEqual(
    got.map((r) => r.ts),
    messages.map((_, i) => [createTime, EDDY_BASE_TIMESTAMP + i]),
  );
}

describe('kafka-python produces, src/records decodes', () => {
  for (const codec of KAFKA_PYTHON_CODECS) {
    test(`${CODEC_NAMES[codec]}: batches decode with the given keys, values and headers`, async () => {
      const topic = `kafka-python-produce-${CODEC_NAMES[codec]}`;
      const messages = sampleMessages(20, `kafka-python ${CODEC_NAMES[codec]}`);
      await python(
        KAFKA_PYTHON_PRODUCE,
        [broker.bootstrap, topic, CODEC_NAMES[codec]],
        JSON.stringify({ messages, headers: HEADERS }),
      );
      assertProducedMatches(
        producedBatches(broker, topic),
        codec,
        messages.map((m) => ({ key: m.key, value: m.value, headers: HEADERS })),
      );
      assertRequestsReencode(broker);
    });
  }
});

describe('Eddy encodes, Python clients consume', () => {
  for (const codec of ALL_CODECS) {
    test(`confluent-kafka, ${CODEC_NAMES[codec]}: every record of Eddy's batches arrives`, async () => {
      const topic = `confluent-consume-${CODEC_NAMES[codec]}`;
      const messages = sampleMessages(30, `eddy ${CODEC_NAMES[codec]}`);
      broker.append(topic, 0, eddyBatches(codec, messages));
      assertConsumed(
        await python(CONFLUENT_CONSUME, [broker.bootstrap, topic]),
        codec,
        messages,
        CONFLUENT_CREATE_TIME,
      );
      assertRequestsReencode(broker);
    });
  }

  for (const codec of KAFKA_PYTHON_CODECS) {
    test(`kafka-python, ${CODEC_NAMES[codec]}: every record of Eddy's batches arrives`, async () => {
      const topic = `kafka-python-consume-${CODEC_NAMES[codec]}`;
      const messages = sampleMessages(30, `eddy ${CODEC_NAMES[codec]}`);
      broker.append(topic, 0, eddyBatches(codec, messages));
      assertConsumed(
        await python(KAFKA_PYTHON_CONSUME, [broker.bootstrap, topic, String(messages.length)]),
        codec,
        messages,
        KAFKA_PYTHON_CREATE_TIME,
      );
      assertRequestsReencode(broker);
    });
  }

  test('the Python clients used Fetch and ListOffsets, and every frame re-encoded exactly', () => {
    const seen = assertRequestsReencode(broker);
    for (const key of [ApiKey.ApiVersions, ApiKey.Metadata, ApiKey.Produce, ApiKey.Fetch, ApiKey.ListOffsets]) {
      assert.ok(seen.has(key), `no request of api key ${key} captured`);
    }
  });
});
