import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compress } from '../../src/client/compression.js';
import { decodeRecordSet, scanNextOffset } from '../../src/client/consumer/decode.js';
import { BatchBuilder, type RecordHeaders } from '../../src/client/producer/batch-builder.js';
import {
  CompressionType,
  isBatchCrcValid,
  readBatchHeader,
  setBaseOffset,
  TRANSACTIONAL_MASK,
  walkValidBatches,
} from '../../src/records/batch-header.js';
import { decodeRecordBatch, encodeRecordBatch } from '../../src/records/record-batch.js';

interface In {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers: [string, Buffer | string | null][];
  timestamp: number;
}

const bytesOrString = fc.oneof(
  fc.constant(null),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.string({ maxLength: 100 }),
);
const record: fc.Arbitrary<In> = fc.record({
  key: bytesOrString,
  value: bytesOrString,
  headers: fc.array(fc.tuple(fc.string({ maxLength: 20 }), bytesOrString), { maxLength: 3 }),
  timestamp: fc.integer({ min: 1_500_000_000_000, max: 1_900_000_000_000 }),
});

const asBuf = (v: Buffer | string | null): Buffer | null =>
  v === null ? null : typeof v === 'string' ? Buffer.from(v) : v;

function build(records: In[], compression: CompressionType, baseOffset: number, limit = 1 << 30): Buffer {
  const b = new BatchBuilder(256, limit);
  for (const r of records) assert.ok(b.append(r.timestamp, r.key, r.value, r.headers as RecordHeaders) >= 0);
  const out = Buffer.from(
    b.finish({ compression, producerId: 7, producerEpoch: 1, baseSequence: 42, transactional: false, compress }),
  );
  setBaseOffset(out, 0, baseOffset);
  return out;
}

describe('batch builder and record decoder', () => {
  it('round-trips records through every codec', () => {
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 20 }),
        fc.constantFrom(
          CompressionType.None,
          CompressionType.Gzip,
          CompressionType.Snappy,
          CompressionType.Lz4,
          CompressionType.Zstd,
        ),
        fc.integer({ min: 0, max: 1_000_000 }),
        (records, compression, baseOffset) => {
          const buf = build(records, compression, baseOffset);
          const h = readBatchHeader(buf, 0);
          assert.ok(isBatchCrcValid(buf, h));
          assert.equal(h.recordCount, records.length);
          assert.equal(h.lastOffsetDelta, records.length - 1);
          assert.equal(h.producerId, 7);
          assert.equal(h.baseSequence, 42);
          assert.equal(h.attributes & 7, compression);
          assert.equal(h.maxTimestamp, Math.max(...records.map((r) => r.timestamp)));
          const { messages, nextOffset } = decodeRecordSet(buf, {
            fromOffset: baseOffset,
            checkCrcs: true,
            abortedTransactions: null,
          });
          assert.equal(nextOffset, baseOffset + records.length);
          assert.equal(messages.length, records.length);
          messages.forEach((m, i) => {
            const r = records[i] as In;
            assert.equal(m.offset, baseOffset + i);
            assert.equal(m.timestamp, r.timestamp);
            assert.deepEqual(m.key, asBuf(r.key));
            assert.deepEqual(m.value, asBuf(r.value));
            assert.deepEqual(
              m.headers.map(([k, v]) => [k, v]),
              r.headers.map(([k, v]) => [k, asBuf(v)]),
            );
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it("agrees with src/records' codec in both directions", () => {
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 12 }),
        fc.constantFrom(CompressionType.None, CompressionType.Snappy, CompressionType.Zstd),
        (records, compression) => {
          // Ours encoded, records/ decoded.
          const ours = build(records, compression, 10);
          const decoded = decodeRecordBatch(ours, 0);
          assert.equal(decoded.baseOffset, 10);
          assert.equal(decoded.compression, compression);
          assert.deepEqual(
            decoded.records.map((r) => [r.offset, r.timestamp, r.key, r.value, r.headers.map((h) => [h.key, h.value])]),
            records.map((r, i) => [
              10 + i,
              r.timestamp,
              asBuf(r.key),
              asBuf(r.value),
              r.headers.map(([k, v]) => [k, asBuf(v)]),
            ]),
          );
          // records/ encoded, ours decoded.
          const theirs = encodeRecordBatch({
            baseOffset: 20,
            compression,
            records: records.map((r) => ({
              key: asBuf(r.key),
              value: asBuf(r.value),
              timestamp: r.timestamp,
              headers: r.headers.map(([key, v]) => ({ key, value: asBuf(v) })),
            })),
          });
          const mine = decodeRecordSet(theirs, { fromOffset: 20, checkCrcs: true, abortedTransactions: null });
          assert.deepEqual(
            mine.messages.map((m) => [m.offset, m.timestamp, m.key, m.value, m.headers.map(([k, v]) => [k, v])]),
            records.map((r, i) => [
              20 + i,
              r.timestamp,
              asBuf(r.key),
              asBuf(r.value),
              r.headers.map(([k, v]) => [k, asBuf(v)]),
            ]),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('skips records before the fetch offset and stops at a truncated tail batch', () => {
    const recs = (n: number, tag: string): In[] =>
      Array.from({ length: n }, (_, i) => ({
        key: null,
        value: `${tag}${i}`,
        headers: [],
        timestamp: 1_700_000_000_000 + i,
      }));
    const a = build(recs(5, 'a'), CompressionType.None, 100);
    const b = build(recs(5, 'b'), CompressionType.Lz4, 105);
    const c = build(recs(5, 'c'), CompressionType.None, 110);
    const all = Buffer.concat([a, b, c.subarray(0, c.length - 3)]);
    assert.equal(scanNextOffset(all, 102), 110);
    const { messages, nextOffset } = decodeRecordSet(all, {
      fromOffset: 102,
      checkCrcs: true,
      abortedTransactions: null,
    });
    assert.equal(nextOffset, 110);
    assert.deepEqual(
      messages.map((m) => [m.offset, m.value?.toString()]),
      [
        [102, 'a2'],
        [103, 'a3'],
        [104, 'a4'],
        [105, 'b0'],
        [106, 'b1'],
        [107, 'b2'],
        [108, 'b3'],
        [109, 'b4'],
      ],
    );
    // The batches the builder writes are well-formed for the shared batch walker too.
    assert.deepEqual(
      [...walkValidBatches(all)].map((h) => h.baseOffset),
      [100, 105],
    );
  });

  it('rejects a corrupted batch when CRCs are checked', () => {
    const buf = build([{ key: 'k', value: 'v', headers: [], timestamp: 1 }], CompressionType.None, 0);
    buf[buf.length - 2] = (buf[buf.length - 2] as number) ^ 0xff;
    assert.throws(() => decodeRecordSet(buf, { fromOffset: 0, checkCrcs: true, abortedTransactions: null }), /CRC/);
  });

  it('drops aborted transactional batches and control batches under read_committed', () => {
    const txn = (value: string, pid: number, offset: number, control = false): Buffer => {
      const b = new BatchBuilder(256, 1 << 20);
      b.append(1, null, value);
      const out = Buffer.from(
        b.finish({ compression: 0, producerId: pid, producerEpoch: 0, baseSequence: 0, transactional: true, compress }),
      );
      setBaseOffset(out, 0, offset);
      // A control batch has attribute bit 5 set (CRCs are not checked in this test).
      if (control) out.writeInt16BE(out.readInt16BE(21) | 0x20 | TRANSACTIONAL_MASK, 21);
      return out;
    };
    const log = Buffer.concat([
      txn('aborted', 1, 0),
      txn('committed', 2, 1),
      txn('abort-marker', 1, 2, true),
      txn('next-transaction', 1, 3),
    ]);
    const readCommitted = decodeRecordSet(log, {
      fromOffset: 0,
      checkCrcs: false,
      abortedTransactions: [{ producerId: 1, firstOffset: 0 }],
    });
    assert.deepEqual(
      readCommitted.messages.map((m) => m.value?.toString()),
      ['committed', 'next-transaction'],
    );
    assert.equal(readCommitted.nextOffset, 4);
    const readUncommitted = decodeRecordSet(log, { fromOffset: 0, checkCrcs: false, abortedTransactions: null });
    assert.deepEqual(
      readUncommitted.messages.map((m) => m.value?.toString()),
      ['aborted', 'committed', 'next-transaction'],
    );
  });

  it('stops appending at the size limit but always takes a first record', () => {
    const b = new BatchBuilder(128, 200);
    assert.equal(b.append(1, null, Buffer.alloc(500)), 0);
    assert.equal(b.append(1, null, Buffer.alloc(10)), -1);
    const c = new BatchBuilder(128, 200);
    let n = 0;
    while (c.append(1, null, Buffer.alloc(20)) >= 0) n++;
    assert.ok(n >= 4 && n <= 6, `appended ${n}`);
    assert.ok(c.sizeBytes <= 200);
  });
});
