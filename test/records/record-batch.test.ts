import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import {
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  CompressionType,
  CRC_OFFSET,
  computeBatchCrc,
  type DecodedBatch,
  decodeRecordBatch,
  decodeRecordBatchAsync,
  decodeRecordBatches,
  decodeRecordBatchesAsync,
  encodeControlBatch,
  encodeRecordBatch,
  encodeRecordBatchAsync,
  InvalidBatchError,
  LOG_OVERHEAD,
  MAX_TIMESTAMP_OFFSET,
  parseControlRecord,
  RECORD_BATCH_OVERHEAD,
  RECORD_COUNT_OFFSET,
  type RecordBatchInput,
  type RecordInput,
  setBaseOffset,
  setLogAppendTime,
  walkBatches,
} from '../../src/records/index.js';
import { batchToInput } from './batch-input.js';

const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

const recordArb: fc.Arbitrary<RecordInput> = fc.record(
  {
    key: fc.option(bytes(40), { nil: null }),
    value: fc.option(bytes(200), { nil: null }),
    headers: fc.array(
      fc.record({ key: fc.string({ unit: 'binary', maxLength: 12 }), value: fc.option(bytes(30), { nil: null }) }),
      { maxLength: 4 },
    ),
    timestamp: fc.integer({ min: -1, max: 2 ** 42 }),
  },
  { requiredKeys: ['value'] },
);

const batchArb = (compression: fc.Arbitrary<CompressionType>, maxRecords = 30): fc.Arbitrary<RecordBatchInput> =>
  fc.record(
    {
      baseOffset: fc.integer({ min: 0, max: 2 ** 50 }),
      partitionLeaderEpoch: fc.integer({ min: -1, max: 0x7fffffff }),
      compression,
      timestampType: fc.constantFrom('create' as const, 'log-append' as const),
      transactional: fc.boolean(),
      control: fc.boolean(),
      producerId: fc.integer({ min: -1, max: 2 ** 50 }),
      producerEpoch: fc.integer({ min: -1, max: 0x7fff }),
      baseSequence: fc.integer({ min: -1, max: 0x7fffffff }),
      baseTimestamp: fc.integer({ min: 0, max: 2 ** 42 }),
      records: fc.array(recordArb, { maxLength: maxRecords }),
    },
    { requiredKeys: ['records'] },
  );

const anyCompression = fc.constantFrom<CompressionType>(0, 1, 2, 3, 4);

/** Checks a decoded batch against what was encoded, applying the documented defaults. */
function assertMatches(input: RecordBatchInput, d: DecodedBatch): void {
  const records = input.records;
  const baseTimestamp = input.baseTimestamp ?? records[0]?.timestamp;
  if (baseTimestamp !== undefined) assert.equal(d.baseTimestamp, baseTimestamp);
  const timestamps = records.map((r) => r.timestamp ?? d.baseTimestamp);
  const maxTimestamp = timestamps.length === 0 ? d.baseTimestamp : Math.max(...timestamps);
  assert.equal(d.baseOffset, input.baseOffset ?? 0);
  assert.equal(d.partitionLeaderEpoch, input.partitionLeaderEpoch ?? -1);
  assert.equal(d.compression, input.compression ?? CompressionType.None);
  assert.equal(d.timestampType, input.timestampType ?? 'create');
  assert.equal(d.isTransactional, input.transactional ?? false);
  assert.equal(d.isControl, input.control ?? false);
  assert.equal(d.producerId, input.producerId ?? -1);
  assert.equal(d.producerEpoch, input.producerEpoch ?? -1);
  assert.equal(d.baseSequence, input.baseSequence ?? -1);
  assert.equal(d.maxTimestamp, maxTimestamp);
  assert.equal(d.recordCount, records.length);
  assert.equal(d.lastOffsetDelta, Math.max(0, records.length - 1));
  assert.equal(d.magic, 2);
  assert.equal(d.records.length, records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as RecordInput;
    const got = d.records[i];
    assert.ok(got);
    assert.equal(got.offset, d.baseOffset + i);
    assert.equal(got.offsetDelta, i);
    assert.equal(got.timestamp, d.timestampType === 'log-append' ? d.maxTimestamp : timestamps[i]);
    assert.deepEqual(got.key, r.key ?? null);
    assert.deepEqual(got.value, r.value);
    // fast-check builds null-prototype objects: compare as plain ones.
    assert.deepEqual(
      got.headers,
      (r.headers ?? []).map((h) => ({ key: h.key, value: h.value })),
    );
  }
}

/** Rewrites the CRC after a test tampers with a batch, so decoding reaches the tampered part. */
function fixCrc(buf: Buffer, pos = 0): Buffer {
  const size = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
  buf.writeUInt32BE(computeBatchCrc(buf, pos, size), pos + CRC_OFFSET);
  return buf;
}

/** A batch whose records region is `records` (raw bytes) and whose count is `count`. */
function batchWithRecords(records: Buffer, count: number, attributes = 0): Buffer {
  const template = encodeRecordBatch({ records: [] });
  const buf = Buffer.concat([template.subarray(0, RECORD_BATCH_OVERHEAD), records]);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  buf.writeInt32BE(count, RECORD_COUNT_OFFSET);
  buf.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  return fixCrc(buf);
}

function expectProblem(fn: () => unknown, problem: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidBatchError, `expected InvalidBatchError, got ${String(err)}`);
    assert.equal(err.problem, problem, err.message);
    return true;
  });
}

describe('record batch round trips', () => {
  test('encode then decode gives back every field, each codec (property)', () => {
    fc.assert(
      fc.property(batchArb(anyCompression), (input) => {
        assertMatches(input, decodeRecordBatch(encodeRecordBatch(input)));
      }),
      { numRuns: 300 },
    );
  });

  test('uncompressed encode, decode, encode is byte-identical (property)', () => {
    fc.assert(
      fc.property(batchArb(fc.constant(CompressionType.None)), (input) => {
        const first = encodeRecordBatch(input);
        const again = encodeRecordBatch(batchToInput(decodeRecordBatch(first)));
        assert.ok(again.equals(first));
      }),
      { numRuns: 300 },
    );
  });

  test('async encode and decode agree with the sync ones (property)', async () => {
    await fc.assert(
      fc.asyncProperty(batchArb(anyCompression, 10), async (input) => {
        const sync = encodeRecordBatch(input);
        const viaAsync = await encodeRecordBatchAsync(input);
        assertMatches(input, await decodeRecordBatchAsync(sync));
        assertMatches(input, decodeRecordBatch(viaAsync));
        if ((input.compression ?? 0) === CompressionType.None) assert.ok(viaAsync.equals(sync));
      }),
      { numRuns: 60 },
    );
  });

  test('many records, each codec', async () => {
    const records: RecordInput[] = [];
    for (let i = 0; i < 5000; i++) {
      records.push({
        key: i % 3 === 0 ? null : Buffer.from(`key-${i}`),
        value: i % 11 === 0 ? Buffer.alloc(0) : Buffer.from(`value ${i} `.repeat(1 + (i % 7))),
        headers: i % 2 === 0 ? [{ key: `hé-${i % 5}`, value: Buffer.from([i & 0xff]) }] : [],
        timestamp: 1_700_000_000_000 + i * 3,
      });
    }
    for (const compression of [0, 1, 2, 3, 4] as CompressionType[]) {
      const input: RecordBatchInput = { compression, baseOffset: 1_000_000, records };
      assertMatches(input, decodeRecordBatch(encodeRecordBatch(input)));
      assertMatches(input, await decodeRecordBatchAsync(await encodeRecordBatchAsync(input)));
    }
  });

  test('defaults: offset 0, epochs and sequence -1, create time, base timestamp from the first record', () => {
    const d = decodeRecordBatch(encodeRecordBatch({ records: [{ value: Buffer.from('a'), timestamp: 42 }] }));
    assert.equal(d.baseOffset, 0);
    assert.equal(d.partitionLeaderEpoch, -1);
    assert.equal(d.producerId, -1);
    assert.equal(d.producerEpoch, -1);
    assert.equal(d.baseSequence, -1);
    assert.equal(d.baseTimestamp, 42);
    assert.equal(d.timestampType, 'create');
    assert.equal(d.compression, CompressionType.None);
    const before = Date.now();
    const now = decodeRecordBatch(encodeRecordBatch({ records: [{ value: null }] }));
    assert.ok(now.baseTimestamp >= before && now.baseTimestamp <= Date.now());
    assert.equal(now.records[0]?.timestamp, now.baseTimestamp);
  });

  test('LogAppendTime: every record carries the batch maxTimestamp', () => {
    const buf = encodeRecordBatch({
      records: [
        { value: Buffer.from('a'), timestamp: 1000 },
        { value: Buffer.from('b'), timestamp: 900 },
      ],
    });
    setLogAppendTime(buf, 0, buf.length, 5555);
    const d = decodeRecordBatch(buf);
    assert.equal(d.timestampType, 'log-append');
    assert.deepEqual(
      d.records.map((r) => r.timestamp),
      [5555, 5555],
    );
    assert.deepEqual(
      d.records.map((r) => r.timestampDelta),
      [0, -100],
    );
  });

  test('offset rewriting in place keeps the batch valid and shifts record offsets', () => {
    const buf = encodeRecordBatch({ records: [{ value: Buffer.from('a') }, { value: Buffer.from('b') }] });
    setBaseOffset(buf, 0, 77);
    assert.deepEqual(
      decodeRecordBatch(buf).records.map((r) => r.offset),
      [77, 78],
    );
  });

  test('explicit offset deltas (compaction) and their validation', () => {
    const input: RecordBatchInput = {
      lastOffsetDelta: 9,
      records: [
        { value: Buffer.from('a'), offsetDelta: 2 },
        { value: Buffer.from('b'), offsetDelta: 5 },
      ],
    };
    const d = decodeRecordBatch(encodeRecordBatch(input));
    assert.deepEqual(
      d.records.map((r) => r.offset),
      [2, 5],
    );
    assert.equal(d.lastOffsetDelta, 9);
    assert.throws(
      () =>
        encodeRecordBatch({
          records: [
            { value: null, offsetDelta: 3 },
            { value: null, offsetDelta: 3 },
          ],
        }),
      RangeError,
    );
    assert.throws(() => encodeRecordBatch({ records: [{ value: null, offsetDelta: -1 }] }), RangeError);
    assert.throws(() => encodeRecordBatch({ records: [{ value: null, timestamp: 1.5 }] }), RangeError);
    assert.throws(
      () => encodeRecordBatch({ baseTimestamp: 0, records: [{ value: null, timestamp: Number.NaN }] }),
      RangeError,
    );
  });
});

describe('CRC32C', () => {
  test('the standard check value: CRC32C("123456789") = 0xE3069283', () => {
    assert.equal(crc32c(Buffer.from('123456789')) >>> 0, 0xe3069283);
  });

  test('the stored CRC covers attributes to the end of the batch', () => {
    const buf = encodeRecordBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 1 }] });
    assert.equal(buf.readUInt32BE(CRC_OFFSET), crc32c(buf.subarray(ATTRIBUTES_OFFSET)) >>> 0);
  });

  test('any flipped byte under the CRC fails with a typed crc error; verifyCrc:false skips the check', () => {
    const good = encodeRecordBatch({
      records: [{ key: Buffer.from('key'), value: Buffer.from('value'), headers: [{ key: 'h', value: null }] }],
    });
    for (let i = ATTRIBUTES_OFFSET; i < good.length; i++) {
      const bad = Buffer.from(good);
      bad[i] = (bad[i] as number) ^ 0x01;
      expectProblem(() => decodeRecordBatch(bad), 'crc');
    }
    const bad = Buffer.from(good);
    const at = good.indexOf('value') + 4;
    bad[at] = (bad[at] as number) ^ 0x20; // 'e' becomes 'E'
    assert.equal(decodeRecordBatch(bad, 0, { verifyCrc: false }).records[0]?.value?.toString(), 'valuE');
  });
});

describe('concatenated batches', () => {
  const batches = [0, 1, 2].map((i) =>
    encodeRecordBatch({
      baseOffset: i * 10,
      compression: i as CompressionType,
      records: [{ value: Buffer.from(`batch ${i}`) }, { value: Buffer.from(`batch ${i} again`) }],
    }),
  );
  const all = Buffer.concat(batches);

  test('walkBatches and decodeRecordBatches see every batch', async () => {
    assert.deepEqual(
      [...walkBatches(all)].map((h) => h.baseOffset),
      [0, 10, 20],
    );
    const decoded = decodeRecordBatches(all);
    assert.deepEqual(
      decoded.map((d) => d.records.map((r) => r.value?.toString())),
      [
        ['batch 0', 'batch 0 again'],
        ['batch 1', 'batch 1 again'],
        ['batch 2', 'batch 2 again'],
      ],
    );
    assert.deepEqual(
      (await decodeRecordBatchesAsync(all)).map((d) => d.baseOffset),
      [0, 10, 20],
    );
  });

  test('a truncated last batch is skipped, not an error, at every cut point', () => {
    const firstTwo = (batches[0] as Buffer).length + (batches[1] as Buffer).length;
    for (let cut = firstTwo; cut < all.length; cut++) {
      const decoded = decodeRecordBatches(all.subarray(0, cut));
      assert.deepEqual(
        decoded.map((d) => d.baseOffset),
        [0, 10],
      );
    }
    // Decoding that one batch on its own is an error, though.
    expectProblem(() => decodeRecordBatch(all.subarray(0, all.length - 1), firstTwo), 'truncated');
  });
});

describe('malformed input gives typed errors', () => {
  const one = encodeRecordBatch({
    records: [
      { key: Buffer.from('key'), value: Buffer.from('value'), headers: [{ key: 'h', value: Buffer.from('x') }] },
    ],
  });
  const recordsOf = (b: Buffer) => b.subarray(RECORD_BATCH_OVERHEAD);

  test('truncated records', () => {
    const records = recordsOf(one);
    for (let len = 0; len < records.length; len++) {
      // Under 7 bytes cannot hold even one record: the count check catches it first.
      const expected = len < 7 ? 'invalid-record-count' : 'invalid-record';
      expectProblem(() => decodeRecordBatch(batchWithRecords(records.subarray(0, len), 1)), expected);
    }
  });

  test('record size and field lengths out of range', () => {
    // Bytes: record size, attributes, timestamp delta, offset delta, key length, ... (zigzag varints).
    const cases: number[][] = [
      [0x03, 0, 0, 0, 0, 0, 0], // record size -2
      [0x10, 0x00, 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff, 0x0f], // key length 2^31-1
      [0x0c, 0x00, 0x00, 0x00, 0x01, 0x03, 0x00], // value length -2
      [0x12, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x01, 0x01, 0x01], // null header key
      [0x0e, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00], // header count -1
      [0x0e, 0x00, 0x00, 0x00, 0x01, 0x01, 0x7e, 0x00], // header count 63, more than the bytes
      [0x0e, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00], // fields end before the declared size
      [0x0a, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00], // declared size ends inside the fields
    ];
    for (const c of cases)
      expectProblem(() => decodeRecordBatch(batchWithRecords(Buffer.from(c), 1)), 'invalid-record');
  });

  test('over-long varints', () => {
    // Record size as a 6-byte varint; timestamp delta as an 11-byte varlong; 5-byte varint with high bits.
    expectProblem(
      () => decodeRecordBatch(batchWithRecords(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0, 0, 0, 0]), 1)),
      'invalid-record',
    );
    const longTs = [
      0x18,
      0x00,
      ...new Array(10).fill(0xff),
      0x01,
      0x00,
      0x01,
      0x01,
      0x00,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
    ];
    expectProblem(() => decodeRecordBatch(batchWithRecords(Buffer.from(longTs), 1)), 'invalid-record');
    expectProblem(
      () => decodeRecordBatch(batchWithRecords(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0]), 1)),
      'invalid-record',
    );
  });

  test('a record count larger than the bytes can hold is rejected before decoding', () => {
    const records = recordsOf(one);
    expectProblem(() => decodeRecordBatch(batchWithRecords(records, 1_000_000)), 'invalid-record-count');
    expectProblem(() => decodeRecordBatch(batchWithRecords(records, 0x7fffffff)), 'invalid-record-count');
    // Fewer records declared than present: the leftover bytes are an error.
    const two = encodeRecordBatch({ records: [{ value: Buffer.from('a') }, { value: Buffer.from('b') }] });
    expectProblem(() => decodeRecordBatch(batchWithRecords(recordsOf(two), 1)), 'invalid-record');
    // More declared than present (but few enough to pass the size check).
    expectProblem(() => decodeRecordBatch(batchWithRecords(recordsOf(one), 2)), 'invalid-record');
  });

  test('negative record count, bad batch length, wrong magic', () => {
    expectProblem(() => decodeRecordBatch(batchWithRecords(recordsOf(one), -1)), 'invalid-record-count');
    const shortLength = Buffer.from(one);
    shortLength.writeInt32BE(10, BATCH_LENGTH_OFFSET);
    expectProblem(() => decodeRecordBatch(shortLength), 'invalid-length');
    const hugeLength = Buffer.from(one);
    hugeLength.writeInt32BE(0x7fffffff, BATCH_LENGTH_OFFSET);
    expectProblem(() => decodeRecordBatch(hugeLength), 'truncated');
    const magic1 = Buffer.from(one);
    magic1[16] = 1;
    expectProblem(() => decodeRecordBatch(magic1), 'unsupported-magic');
    expectProblem(() => decodeRecordBatch(Buffer.alloc(11)), 'truncated');
    expectProblem(() => decodeRecordBatch(Buffer.alloc(20)), 'invalid-length');
  });

  test('compression codec ids 5, 6 and 7 are unsupported', async () => {
    for (const codec of [5, 6, 7]) {
      const bad = batchWithRecords(recordsOf(one), 1, codec);
      expectProblem(() => decodeRecordBatch(bad), 'unsupported-compression');
      await assert.rejects(decodeRecordBatchAsync(bad), (err: unknown) => {
        assert.ok(err instanceof InvalidBatchError && err.problem === 'unsupported-compression');
        return true;
      });
    }
    assert.throws(() => encodeRecordBatch({ compression: 5 as CompressionType, records: [] }), RangeError);
  });

  test('corrupt compressed records', () => {
    for (const codec of [1, 2, 3, 4] as CompressionType[]) {
      const good = encodeRecordBatch({ compression: codec, records: [{ value: Buffer.from('x'.repeat(500)) }] });
      const bad = Buffer.from(good);
      // Damage the middle of the compressed payload, then make the CRC match again.
      for (let i = RECORD_BATCH_OVERHEAD + 10; i < bad.length - 4; i++) bad[i] = 0xa5;
      fixCrc(bad);
      assert.throws(
        () => decodeRecordBatch(bad),
        (err: unknown) => {
          assert.ok(err instanceof InvalidBatchError, String(err));
          assert.ok(['corrupt-compressed-data', 'invalid-record'].includes(err.problem), `${codec}: ${err.message}`);
          return true;
        },
      );
    }
  });

  test('zip bombs stop at maxDecompressedBytes, each codec', async () => {
    const zeros = Buffer.alloc(8 * 1024 * 1024);
    // One record holding 8 MiB of zeros: compresses to a few KiB at most.
    for (const codec of [1, 2, 3, 4] as CompressionType[]) {
      const bomb = encodeRecordBatch({ compression: codec, records: [{ value: zeros }] });
      assert.ok(bomb.length < zeros.length / 16, `${codec}: ${bomb.length}`);
      expectProblem(() => decodeRecordBatch(bomb, 0, { maxDecompressedBytes: 1024 * 1024 }), 'decompressed-too-large');
      await assert.rejects(decodeRecordBatchAsync(bomb, 0, { maxDecompressedBytes: 1024 * 1024 }), (err: unknown) => {
        assert.ok(err instanceof InvalidBatchError && err.problem === 'decompressed-too-large', String(err));
        return true;
      });
      assert.equal(
        decodeRecordBatch(bomb, 0, { maxDecompressedBytes: 9 * 1024 * 1024 }).records[0]?.value?.length,
        zeros.length,
      );
    }
  });

  test('the default limit is 128 MiB', () => {
    const bomb = encodeRecordBatch({
      compression: CompressionType.Zstd,
      records: [{ value: Buffer.alloc(129 * 1024 * 1024) }],
    });
    expectProblem(() => decodeRecordBatch(bomb), 'decompressed-too-large');
  });

  test('arbitrary bytes never crash the decoder (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 0, max: 7 }),
        (junk, count, codec) => {
          try {
            decodeRecordBatch(batchWithRecords(Buffer.from(junk), count, codec));
          } catch (err) {
            assert.ok(err instanceof InvalidBatchError, String(err));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('mutated valid batches never crash the decoder (property)', () => {
    const valid = [0, 1, 2, 3, 4].map((c) =>
      encodeRecordBatch({
        compression: c as CompressionType,
        records: [
          {
            key: Buffer.from('k1'),
            value: Buffer.from('some value'),
            headers: [{ key: 'a', value: Buffer.from('b') }],
          },
          { key: null, value: Buffer.from('another value, longer than the first one') },
        ],
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (which, edits) => {
          const buf = Buffer.from(valid[which] as Buffer);
          for (const [at, v] of edits) buf[RECORD_BATCH_OVERHEAD + (at % (buf.length - RECORD_BATCH_OVERHEAD))] = v;
          fixCrc(buf);
          try {
            decodeRecordBatch(buf);
          } catch (err) {
            assert.ok(err instanceof InvalidBatchError, String(err));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('control batches', () => {
  test('commit and abort markers encode and parse', () => {
    for (const type of ['commit', 'abort'] as const) {
      const buf = encodeControlBatch({
        type,
        producerId: 4242,
        producerEpoch: 7,
        coordinatorEpoch: 13,
        baseOffset: 100,
        partitionLeaderEpoch: 3,
        timestamp: 1_700_000_000_000,
      });
      const d = decodeRecordBatch(buf);
      assert.equal(d.isControl, true);
      assert.equal(d.isTransactional, true);
      assert.equal(d.producerId, 4242);
      assert.equal(d.producerEpoch, 7);
      assert.equal(d.baseSequence, -1);
      assert.equal(d.baseOffset, 100);
      assert.equal(d.partitionLeaderEpoch, 3);
      assert.equal(d.records.length, 1);
      const record = d.records[0];
      assert.ok(record);
      assert.equal(record.timestamp, 1_700_000_000_000);
      // Key: version 0, type (0 abort, 1 commit). Value: version 0, coordinator epoch.
      assert.deepEqual([...(record.key ?? [])], [0, 0, 0, type === 'commit' ? 1 : 0]);
      assert.deepEqual([...(record.value ?? [])], [0, 0, 0, 0, 0, 13]);
      assert.deepEqual(parseControlRecord(record), { type, version: 0, coordinatorEpoch: 13 });
    }
  });

  test('malformed control records are typed errors', () => {
    const base = decodeRecordBatch(
      encodeControlBatch({ type: 'commit', producerId: 1, producerEpoch: 0, coordinatorEpoch: 0 }),
    ).records[0];
    assert.ok(base);
    const bad = [
      { ...base, key: null },
      { ...base, key: Buffer.from([0, 0, 0]) },
      { ...base, key: Buffer.from([0, 0, 0, 2]) }, // a KRaft control type, not a transaction marker
      { ...base, value: Buffer.from([0, 0, 0]) },
      { ...base, value: null },
    ];
    for (const r of bad) {
      assert.throws(
        () => parseControlRecord(r),
        (err: unknown) => err instanceof InvalidBatchError && err.problem === 'invalid-control-record',
      );
    }
  });

  test('setLogAppendTime on a control batch keeps its CRC valid', () => {
    const buf = encodeControlBatch({
      type: 'abort',
      producerId: 1,
      producerEpoch: 0,
      coordinatorEpoch: 5,
      timestamp: 10,
    });
    setLogAppendTime(buf, 0, buf.length, 99);
    const d = decodeRecordBatch(buf);
    assert.equal(d.maxTimestamp, 99);
    assert.equal(buf.readBigInt64BE(MAX_TIMESTAMP_OFFSET), 99n);
  });
});
