// Hand-computed byte vectors from the protocol guide's rules. Round-trip properties cannot see
// a mistake made identically by encoder and decoder; these pin the wire format itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Reader, Writer } from '../../src/protocol/codec.js';
import { encodeApiVersionsResponse } from '../../src/protocol/generated/api/api-versions.js';
import {
  decodeDescribeTopicPartitionsRequest,
  encodeDescribeTopicPartitionsRequest,
} from '../../src/protocol/generated/api/describe-topic-partitions.js';
import { encodeMetadataRequest } from '../../src/protocol/generated/api/metadata.js';
import { decodeProduceRequest, encodeProduceRequest } from '../../src/protocol/generated/api/produce.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import {
  decodeConsumerGroupMemberMetadataValue,
  encodeConsumerGroupMemberMetadataValue,
} from '../../src/protocol/generated/group-coordinator/index.js';
import {
  decodeRequestHeader,
  encodeRequestFrame,
  encodeRequestHeader,
  encodeResponseFrame,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../src/protocol/messages.js';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

function written(fn: (w: Writer) => void): Buffer {
  const w = new Writer(8);
  fn(w);
  return w.finish();
}

function assertBytes(actual: Buffer, expectedHex: string, what: string): void {
  assert.equal(actual.toString('hex'), hex(expectedHex).toString('hex'), what);
}

test('primitives: big-endian ints, int64 extremes, uuid, bool', () => {
  assertBytes(
    written((w) => {
      w.int8(-2);
      w.int16(0x1234);
      w.uint16(0xfffe);
      w.int32(-2);
      w.uint32(0xfffffffe);
    }),
    'fe 1234 fffe fffffffe fffffffe',
    'fixed-width ints',
  );
  assertBytes(
    written((w) => w.int64(-1)),
    'ffffffffffffffff',
    'int64 -1',
  );
  assertBytes(
    written((w) => w.int64(2 ** 53 - 1)),
    '001fffffffffffff',
    'int64 2^53-1',
  );
  assertBytes(
    written((w) => w.int64(-(2 ** 63))),
    '8000000000000000',
    'Long.MIN_VALUE',
  );
  assertBytes(
    written((w) => w.int64(2 ** 63)),
    '7fffffffffffffff',
    'Long.MAX_VALUE (2^63 as a number)',
  );
  assert.equal(new Reader(hex('7fffffffffffffff')).int64(), 2 ** 63);
  assert.equal(new Reader(hex('8000000000000000')).int64(), -(2 ** 63));
  assert.equal(new Reader(hex('fffffffffffffffe')).int64(), -2);
  assertBytes(
    written((w) => w.float64(1.5)),
    '3ff8000000000000',
    'float64',
  );
  // Kafka's Uuid string form is unpadded base64url of the 16 bytes (Uuid.ONE_UUID below).
  assertBytes(
    written((w) => w.uuid('AAAAAAAAAAAAAAAAAAAAAQ')),
    '00000000000000000000000000000001',
    'uuid',
  );
  assert.equal(new Reader(hex('00000000000000000000000000000001')).uuid(), 'AAAAAAAAAAAAAAAAAAAAAQ');
  assertBytes(
    written((w) => {
      w.bool(true);
      w.bool(false);
    }),
    '01 00',
    'bool',
  );
});

test('unsigned varints and zigzag varints/varlongs', () => {
  const cases: [number, string][] = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [16384, '808001'],
    [2 ** 31, '8080808008'],
    [2 ** 32 - 1, 'ffffffff0f'],
  ];
  for (const [n, h] of cases) {
    assertBytes(
      written((w) => w.uvarint(n)),
      h,
      `uvarint ${n}`,
    );
    assert.equal(new Reader(hex(h)).uvarint(), n, `read uvarint ${h}`);
  }
  const zigzag: [number, string][] = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-64, '7f'],
    [64, '8001'],
    [2 ** 31 - 1, 'feffffff0f'],
    [-(2 ** 31), 'ffffffff0f'],
  ];
  for (const [n, h] of zigzag) {
    assertBytes(
      written((w) => w.varint(n)),
      h,
      `varint ${n}`,
    );
    assert.equal(new Reader(hex(h)).varint(), n, `read varint ${h}`);
    assertBytes(
      written((w) => w.varlong(n)),
      h,
      `varlong ${n}`,
    );
  }
  assertBytes(
    written((w) => w.varlong(2 ** 40)),
    '808080808040',
    'varlong 2^40 (zigzag 2^41)',
  );
  assert.equal(new Reader(hex('808080808040')).varlong(), 2 ** 40);
  // Long.MIN_VALUE / MAX_VALUE: zigzag 2^64-1 / 2^64-2, ten bytes, the last one 01.
  assertBytes(
    written((w) => w.varlong(-(2 ** 63))),
    'ffffffffffffffffff01',
    'varlong Long.MIN_VALUE',
  );
  assertBytes(
    written((w) => w.varlong(2 ** 63)),
    'feffffffffffffffff01',
    'varlong Long.MAX_VALUE',
  );
  assert.equal(new Reader(hex('ffffffffffffffffff01')).varlong(), -(2 ** 63));
  assert.equal(new Reader(hex('feffffffffffffffff01')).varlong(), 2 ** 63);
});

test('strings and bytes: compact (length+1 uvarint) and classic (int16 / int32) forms', () => {
  assertBytes(
    written((w) => w.string('héllo', true)),
    '07 68c3a96c6c6f',
    'compact string counts UTF-8 bytes',
  );
  assertBytes(
    written((w) => w.nullableString(null, true)),
    '00',
    'compact null string',
  );
  assertBytes(
    written((w) => w.string('', true)),
    '01',
    'compact empty string',
  );
  assertBytes(
    written((w) => w.string('a', false)),
    '0001 61',
    'string',
  );
  assertBytes(
    written((w) => w.nullableString(null, false)),
    'ffff',
    'null string',
  );
  assertBytes(
    written((w) => w.bytes(hex('0102'), true)),
    '03 0102',
    'compact bytes',
  );
  assertBytes(
    written((w) => w.nullableBytes(null, false)),
    'ffffffff',
    'null bytes',
  );
  assertBytes(
    written((w) => w.nullableBytes(null, true)),
    '00',
    'compact null bytes',
  );
  assertBytes(
    written((w) => w.bytes(hex('0102'), false)),
    '00000002 0102',
    'bytes',
  );
  assertBytes(
    written((w) => w.arrayLength(-1, false)),
    'ffffffff',
    'null array',
  );
  assertBytes(
    written((w) => w.arrayLength(-1, true)),
    '00',
    'compact null array',
  );
  assertBytes(
    written((w) => w.arrayLength(2, true)),
    '03',
    'compact array of 2',
  );
  assert.equal(new Reader(hex('07 68c3a96c6c6f')).string(true), 'héllo');
});

test('request header v0 (ControlledShutdown v0): no client id', () => {
  assert.equal(requestHeaderVersion(ApiKey.ControlledShutdown, 0), 0);
  const w = new Writer();
  encodeRequestHeader(w, { requestApiKey: 7, requestApiVersion: 0, correlationId: 1, clientId: 'ignored' });
  assertBytes(w.finish(), '0007 0000 00000001', 'v0 header');
});

test('request header v1 (Metadata v4): int16-length client id', () => {
  assert.equal(requestHeaderVersion(ApiKey.Metadata, 4), 1);
  const w = new Writer();
  encodeRequestHeader(w, { requestApiKey: 3, requestApiVersion: 4, correlationId: 0x01020304, clientId: 'ab' });
  assertBytes(w.finish(), '0003 0004 01020304 0002 6162', 'v1 header');
});

test('request header v2 (ApiVersions v3): client id stays a non-compact nullable string, then tagged fields', () => {
  assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
  const w = new Writer();
  encodeRequestHeader(w, { requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: 'kcat' });
  const bytes = w.finish();
  assertBytes(bytes, '0012 0003 00000007 0004 6b636174 00', 'v2 header');
  const decoded = decodeRequestHeader(new Reader(bytes));
  assert.deepEqual(decoded, { requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: 'kcat' });

  const n = new Writer();
  encodeRequestHeader(n, { requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: null });
  assertBytes(n.finish(), '0012 0003 00000007 ffff 00', 'v2 header with null client id');
});

test('a whole ApiVersions v3 request frame: size, header v2, compact strings, tagged fields', () => {
  const chunks = encodeRequestFrame({
    apiKey: 18,
    apiVersion: 3,
    correlationId: 1,
    clientId: 'c',
    body: { clientSoftwareName: 'eddy', clientSoftwareVersion: '1' },
  });
  const frame = Buffer.concat(chunks);
  // header: 0012 0003 00000001 0001 63 00 (12 bytes); body: 05 65646479 02 31 00 (8 bytes)
  assertBytes(frame, '00000014 0012 0003 00000001 0001 63 00 05 65646479 02 31 00', 'ApiVersions v3 request');
});

test('ApiVersions responses always use response header v0, even in flexible versions', () => {
  assert.equal(responseHeaderVersion(ApiKey.ApiVersions, 3), 0);
  assert.equal(responseHeaderVersion(ApiKey.Metadata, 9), 1);
  assert.equal(responseHeaderVersion(ApiKey.Metadata, 8), 0);
  const body = {
    errorCode: 0,
    apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
    throttleTimeMs: 0,
    finalizedFeaturesEpoch: 5,
    zkMigrationReady: true,
    _unknownTaggedFields: [{ tag: 7, data: hex('aa') }],
  };
  const frame = Buffer.concat(encodeResponseFrame(18, 3, 9, body));
  const expectedBody =
    '0000' + // error code
    '02 0012 0000 0004 00' + // compact array of one ApiVersion, with its empty tagged section
    '00000000' + // throttle time
    // Tagged fields sorted by tag, only the non-default ones: 1 (epoch, 8 bytes), 3 (bool), unknown 7.
    '03 01 08 0000000000000005 03 01 01 07 01 aa';
  assertBytes(frame, `00000023 00000009 ${expectedBody}`, 'ApiVersions v3 response frame (no header tagged byte)');

  const w = new Writer();
  encodeApiVersionsResponse(w, { errorCode: 35, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }] }, 0);
  assertBytes(w.finish(), '0023 00000001 0012 0000 0004', 'ApiVersions v0 response body');

  // Metadata v9: header v1 = correlation id + empty tagged section; then throttle, brokers,
  // cluster id (null), controller id, topics, cluster authorized operations, tagged fields.
  const meta = Buffer.concat(encodeResponseFrame(3, 9, 9, { brokers: [], topics: [] }));
  assertBytes(meta, '00000015 00000009 00 00000000 01 00 ffffffff 01 80000000 00', 'Metadata v9 response frame');
});

test('Metadata requests: null topics array is int32 -1 in v4 and compact 0 in v9', () => {
  const v4 = new Writer();
  encodeMetadataRequest(v4, { topics: null, allowAutoTopicCreation: true }, 4);
  assertBytes(v4.finish(), 'ffffffff 01', 'Metadata v4');
  const v9 = new Writer();
  encodeMetadataRequest(v9, { topics: [{ name: 't' }], allowAutoTopicCreation: false }, 9);
  // topics (1): name "t", topic tagged fields; allow auto create; cluster ops; topic ops; tagged fields
  assertBytes(v9.finish(), '02 02 74 00 00 00 00 00', 'Metadata v9');
});

test('Produce v3 and v9 requests with a small record set', () => {
  const body = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: 't', partitionData: [{ index: 0, records: hex('dead') }] }],
  };
  const v3 = new Writer();
  encodeProduceRequest(v3, body, 3);
  const v3Bytes = v3.finish();
  assertBytes(v3Bytes, 'ffff ffff 00007530 00000001 0001 74 00000001 00000000 00000002 dead', 'Produce v3');
  assert.deepEqual(decodeProduceRequest(new Reader(v3Bytes), 3), body);
  const v9 = new Writer();
  encodeProduceRequest(v9, body, 9);
  assertBytes(v9.finish(), '00 ffff 00007530 02 02 74 02 00000000 03 dead 00 00 00', 'Produce v9');
});

test('a nullable struct field is marked with int8 -1 (null) or 1 (present)', () => {
  const nul = new Writer();
  encodeDescribeTopicPartitionsRequest(nul, { topics: [], responsePartitionLimit: 2000, cursor: null }, 0);
  assertBytes(nul.finish(), '01 000007d0 ff 00', 'cursor null');
  const some = new Writer();
  encodeDescribeTopicPartitionsRequest(
    some,
    { topics: [], responsePartitionLimit: 2000, cursor: { topicName: 't', partitionIndex: 1 } },
    0,
  );
  const bytes = some.finish();
  assertBytes(bytes, '01 000007d0 01 02 74 00000001 00 00', 'cursor present');
  assert.deepEqual(decodeDescribeTopicPartitionsRequest(new Reader(bytes), 0).cursor, {
    topicName: 't',
    partitionIndex: 1,
  });
});

test('a tagged nullable struct is marked with a varint: 0 null, 1 present (ConsumerGroupMemberMetadataValue)', () => {
  const base = {
    instanceId: null,
    rackId: null,
    clientId: 'c',
    clientHost: 'h',
    subscribedTopicNames: [],
    subscribedTopicRegex: null,
    serverAssignor: null,
  };
  // instanceId, rackId, clientId, clientHost, topics, regex, rebalance timeout -1, assignor
  const prefix = '00 00 02 63 02 68 01 00 ffffffff 00';
  const nul = new Writer();
  encodeConsumerGroupMemberMetadataValue(nul, { ...base, classicMemberMetadata: null }, 0);
  const nulBytes = nul.finish();
  // Its default is the empty struct, so null differs from it and is written: tag 0, size 1, 00.
  assertBytes(nulBytes, `${prefix} 01 00 01 00`, 'null classic metadata');
  assert.equal(decodeConsumerGroupMemberMetadataValue(new Reader(nulBytes), 0).classicMemberMetadata, null);

  const some = new Writer();
  encodeConsumerGroupMemberMetadataValue(
    some,
    { ...base, classicMemberMetadata: { sessionTimeoutMs: 45000, supportedProtocols: [] } },
    0,
  );
  assertBytes(some.finish(), `${prefix} 01 00 07 01 0000afc8 01 00`, 'present classic metadata');

  const dflt = new Writer();
  encodeConsumerGroupMemberMetadataValue(
    dflt,
    { ...base, classicMemberMetadata: { sessionTimeoutMs: 0, supportedProtocols: [] } },
    0,
  );
  assertBytes(dflt.finish(), `${prefix} 00`, 'a tagged field equal to its default is not written');
});
