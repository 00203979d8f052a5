import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { CONTROL_MASK, isBatchCrcValid, isLogAppendTime, readBatchHeader } from '../../src/records/batch-header.js';
import {
  CorruptRecordError,
  InconsistentTopicIdError,
  InvalidRecordError,
  NonContiguousAppendError,
  OffsetOutOfRangeError,
  PartitionLog,
  RecordBatchTooLargeError,
  RecordTooLargeError,
  TruncateBelowLogStartError,
} from '../../src/storage/index.js';
import {
  baseOffsetOf,
  buildBatch,
  fixCrc,
  headers,
  removeDir,
  simpleBatch,
  tempDir,
  testConfig,
  withOffset,
} from './helpers.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) removeDir(d);
});

function newDir(): string {
  const d = tempDir();
  dirs.push(d);
  return path.join(d, 'topic-0');
}

async function openLog(dir = newDir(), overrides: Parameters<typeof testConfig>[0] = {}, clock?: () => number) {
  return PartitionLog.open({ dir, topic: 'topic', partition: 0, config: testConfig(overrides), clock });
}

/** All bytes of every file in the partition dir, for byte-identical comparisons. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of fs.readdirSync(dir).sort()) out.set(n, fs.readFileSync(path.join(dir, n)).toString('hex'));
  return out;
}

describe('PartitionLog append and read', () => {
  test('leader append assigns offsets in place and stores the bytes as given', async () => {
    const log = await openLog();
    const b1 = simpleBatch(3, 10, 1);
    const b2 = simpleBatch(2, 10, 2);
    const r1 = log.appendAsLeader(b1, 5);
    const r2 = log.appendAsLeader(b2, 5);
    assert.deepEqual([r1.firstOffset, r1.lastOffset, r1.recordCount, r1.batchCount], [0, 2, 3, 1]);
    assert.deepEqual([r2.firstOffset, r2.lastOffset], [3, 4]);
    assert.equal(r1.logAppendTimeMs, -1);
    assert.equal(log.logEndOffset, 5);
    assert.equal(baseOffsetOf(b2), 3, 'the caller buffer was rewritten in place');
    const read = log.read(0, 1 << 20, log.logEndOffset);
    assert.deepEqual(read.records, Buffer.concat([b1, b2]));
    assert.equal(read.firstBatchOffset, 0);
    assert.equal(read.nextOffset, 5);
    for (const h of headers(read.records)) {
      assert.ok(isBatchCrcValid(read.records, h));
      assert.equal(h.partitionLeaderEpoch, 5);
    }
    await log.close();
  });

  test('a read inside a batch returns that whole batch; at LEO it is empty; outside it throws', async () => {
    const log = await openLog();
    log.appendAsLeader(simpleBatch(5, 10, 1), 0);
    log.appendAsLeader(simpleBatch(5, 10, 2), 0);
    const r = log.read(7, 1 << 20, 10);
    assert.equal(r.firstBatchOffset, 5);
    assert.equal(r.nextOffset, 10);
    assert.equal(headers(r.records).length, 1);
    const atEnd = log.read(10, 1 << 20, 10);
    assert.equal(atEnd.records.length, 0);
    assert.equal(atEnd.nextOffset, 10);
    assert.throws(
      () => log.read(11, 100, 20),
      (e) => e instanceof OffsetOutOfRangeError && e.kafkaErrorCode === 1,
    );
    assert.throws(() => log.read(-1, 100, 20), OffsetOutOfRangeError);
    await log.close();
  });

  test('maxBytes cuts at batch boundaries, but the first batch always comes back whole', async () => {
    const log = await openLog();
    const sizes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const b = simpleBatch(2, 100, i);
      sizes.push(b.length);
      log.appendAsLeader(b, 0);
    }
    const two = log.read(0, sizes[0]! + sizes[1]! + 10, 100);
    assert.equal(headers(two.records).length, 2);
    assert.equal(two.records.length, sizes[0]! + sizes[1]!);
    assert.equal(two.nextOffset, 4);
    const one = log.read(0, 10, 100);
    assert.equal(one.records.length, sizes[0]);
    assert.equal(one.nextOffset, 2);
    const none = log.read(0, 10, 100, false);
    assert.equal(none.records.length, 0);
    assert.equal(none.nextOffset, 0);
    await log.close();
  });

  test('maxOffsetExclusive (the high watermark) stops before batches starting at or after it', async () => {
    const log = await openLog();
    for (let i = 0; i < 4; i++) log.appendAsLeader(simpleBatch(2, 10, i), 0);
    const r = log.read(0, 1 << 20, 4);
    assert.deepEqual(
      headers(r.records).map((h) => h.baseOffset),
      [0, 2],
    );
    assert.equal(r.nextOffset, 4);
    // A bound inside a batch still includes that batch (it starts before the bound).
    const mid = log.read(0, 1 << 20, 5);
    assert.deepEqual(
      headers(mid.records).map((h) => h.baseOffset),
      [0, 2, 4],
    );
    assert.equal(log.read(4, 1 << 20, 4).records.length, 0);
    await log.close();
  });

  test('LogAppendTime stamps the batch, sets the timestamp type and keeps the CRC valid', async () => {
    let now = 1_800_000_000_000;
    const log = await openLog(newDir(), { messageTimestampType: 'LogAppendTime' }, () => now);
    const b = simpleBatch(3, 10, 1, { timestamps: [1, 2, 3] });
    const res = log.appendAsLeader(b, 0);
    assert.equal(res.logAppendTimeMs, now);
    assert.equal(res.maxTimestamp, now);
    const stored = log.read(0, 1 << 20, 3).records;
    const h = readBatchHeader(stored, 0);
    assert.ok(isLogAppendTime(h.attributes));
    assert.equal(h.maxTimestamp, now);
    assert.ok(isBatchCrcValid(stored, h));
    now += 1000;
    assert.deepEqual(log.offsetForTimestamp(now - 1000), { offset: 0, timestamp: now - 1000, leaderEpoch: 0 });
    await log.close();
  });

  test('an empty append is a no-op', async () => {
    const log = await openLog();
    const r = log.appendAsLeader(Buffer.alloc(0), 0);
    assert.equal(r.batchCount, 0);
    assert.equal(r.firstOffset, -1);
    assert.equal(log.logEndOffset, 0);
    await log.close();
  });
});

describe('PartitionLog rejects bad input without changing the log', () => {
  async function withLog(fn: (log: PartitionLog, dir: string) => void) {
    const dir = newDir();
    const log = await openLog(dir, { maxMessageBytes: 2000, segmentBytes: 8000 });
    log.appendAsLeader(simpleBatch(2, 10, 1), 0);
    await log.flush();
    const before = snapshot(dir);
    const leo = log.logEndOffset;
    fn(log, dir);
    assert.equal(log.logEndOffset, leo);
    assert.deepEqual(snapshot(dir), before, 'log files are byte-identical');
    await log.close();
  }

  test('bad CRC -> CorruptRecordError (CORRUPT_MESSAGE)', async () => {
    await withLog((log) => {
      const b = simpleBatch(2, 10, 2);
      b[b.length - 1]! ^= 0xff;
      assert.throws(
        () => log.appendAsLeader(b, 0),
        (e) => e instanceof CorruptRecordError && e.kafkaErrorCode === ErrorCode.CORRUPT_MESSAGE,
      );
    });
  });

  test('one bad batch among good ones rejects the whole append', async () => {
    await withLog((log) => {
      const bad = simpleBatch(1, 10, 3);
      bad[30]! ^= 1;
      assert.throws(() => log.appendAsLeader(Buffer.concat([simpleBatch(1, 10, 2), bad]), 0), CorruptRecordError);
    });
  });

  test('batch over max.message.bytes -> RecordTooLargeError (MESSAGE_TOO_LARGE)', async () => {
    await withLog((log) => {
      assert.throws(
        () => log.appendAsLeader(simpleBatch(1, 3000, 2), 0),
        (e) => e instanceof RecordTooLargeError && e.kafkaErrorCode === ErrorCode.MESSAGE_TOO_LARGE,
      );
    });
  });

  test('an append larger than segment.bytes -> RecordBatchTooLargeError (RECORD_LIST_TOO_LARGE)', async () => {
    await withLog((log) => {
      const many = Buffer.concat(Array.from({ length: 10 }, (_, i) => simpleBatch(1, 1000, i)));
      assert.throws(
        () => log.appendAsLeader(many, 0),
        (e) => e instanceof RecordBatchTooLargeError && e.kafkaErrorCode === ErrorCode.RECORD_LIST_TOO_LARGE,
      );
    });
  });

  test('record count inconsistent with lastOffsetDelta -> InvalidRecordError (INVALID_RECORD)', async () => {
    await withLog((log) => {
      const b = simpleBatch(3, 10, 2);
      b.writeInt32BE(5, 23); // lastOffsetDelta
      fixCrc(b);
      assert.throws(
        () => log.appendAsLeader(b, 0),
        (e) => e instanceof InvalidRecordError && e.kafkaErrorCode === ErrorCode.INVALID_RECORD,
      );
    });
  });

  test('records that do not tile the batch -> CorruptRecordError', async () => {
    await withLog((log) => {
      const b = simpleBatch(3, 10, 2);
      b.writeInt32BE(2, 57); // recordCount 2 but 3 records present
      b.writeInt32BE(1, 23);
      fixCrc(b);
      assert.throws(() => log.appendAsLeader(b, 0), CorruptRecordError);
    });
  });

  test('magic other than 2 -> InvalidRecordError', async () => {
    await withLog((log) => {
      const b = simpleBatch(1, 10, 2);
      b.writeInt8(1, 16);
      assert.throws(() => log.appendAsLeader(b, 0), InvalidRecordError);
    });
  });

  test('a batch cut short -> CorruptRecordError', async () => {
    await withLog((log) => {
      const b = simpleBatch(2, 10, 2);
      assert.throws(() => log.appendAsLeader(b.subarray(0, b.length - 3), 0), CorruptRecordError);
      assert.throws(() => log.appendAsLeader(b.subarray(0, 20), 0), CorruptRecordError);
    });
  });

  test('a control batch from a client -> InvalidRecordError; a coordinator may write one', async () => {
    const log = await openLog();
    const b = buildBatch([{ key: Buffer.from([0, 0, 0, 0]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }], {
      attributes: CONTROL_MASK | 0x10,
      producerId: 7,
      producerEpoch: 0,
    });
    assert.throws(() => log.appendAsLeader(Buffer.from(b), 0), InvalidRecordError);
    assert.equal(log.appendAsLeader(b, 0, 'coordinator').lastOffset, 0);
    await log.close();
  });
});

describe('PartitionLog follower appends', () => {
  test('keeps offsets, requires continuity, records epochs per batch', async () => {
    const leader = await openLog();
    leader.appendAsLeader(simpleBatch(3, 10, 1), 1);
    leader.appendAsLeader(simpleBatch(2, 10, 2), 4);
    const data = leader.read(0, 1 << 20, leader.logEndOffset).records;
    const follower = await openLog();
    const res = follower.appendAsFollower(Buffer.from(data));
    assert.deepEqual([res.firstOffset, res.lastOffset], [0, 4]);
    assert.deepEqual(follower.read(0, 1 << 20, 5).records, data);
    assert.deepEqual(follower.epochEntries(), [
      { epoch: 1, startOffset: 0 },
      { epoch: 4, startOffset: 3 },
    ]);
    const gap = withOffset(simpleBatch(1, 10, 3), 7, 4);
    assert.throws(
      () => follower.appendAsFollower(gap),
      (e) => e instanceof NonContiguousAppendError && e.firstOffset === 7 && e.logEndOffset === 5,
    );
    const overlap = withOffset(simpleBatch(1, 10, 3), 4, 4);
    assert.throws(() => follower.appendAsFollower(overlap), NonContiguousAppendError);
    const decreasing = Buffer.concat([
      withOffset(simpleBatch(2, 10, 3), 5, 4),
      withOffset(simpleBatch(1, 10, 4), 6, 4),
    ]);
    assert.throws(() => follower.appendAsFollower(decreasing), NonContiguousAppendError);
    assert.equal(follower.logEndOffset, 5);
    // A trailing partial batch (a fetch response cut short) is ignored.
    const next = withOffset(simpleBatch(1, 10, 5), 5, 4);
    const partial = withOffset(simpleBatch(1, 10, 6), 6, 4).subarray(0, 30);
    assert.equal(follower.appendAsFollower(Buffer.concat([next, partial])).lastOffset, 5);
    await leader.close();
    await follower.close();
  });
});

describe('PartitionLog segments', () => {
  test('rolls on segment.bytes; files are named by 20-digit base offsets; reads cross segments', async () => {
    const dir = newDir();
    const log = await openLog(dir, { segmentBytes: 1024 });
    const all: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const b = simpleBatch(2, 100, i);
      log.appendAsLeader(b, 0);
      all.push(b);
    }
    assert.ok(log.segmentCount > 3);
    const files = fs.readdirSync(dir).filter((n) => n.endsWith('.log'));
    for (const f of files) assert.match(f, /^\d{20}\.log$/);
    assert.deepEqual(
      files.map((f) => Number(f.slice(0, 20))).sort((a, b) => a - b),
      log.segmentBaseOffsets(),
    );
    for (const f of files) assert.ok(fs.statSync(path.join(dir, f)).size <= 1024);
    // Reading everything segment by segment reproduces the appended bytes.
    const chunks: Buffer[] = [];
    let offset = 0;
    while (offset < log.logEndOffset) {
      const r = log.read(offset, 1 << 20, log.logEndOffset);
      assert.ok(r.records.length > 0);
      chunks.push(r.records);
      offset = r.nextOffset;
    }
    assert.deepEqual(Buffer.concat(chunks), Buffer.concat(all));
    await log.close();
  });

  test('rolls on segment.ms measured from the first batch timestamp', async () => {
    const log = await openLog(newDir(), { segmentMs: 1000 });
    log.appendAsLeader(simpleBatch(1, 10, 0, { timestamps: [10_000] }), 0);
    log.appendAsLeader(simpleBatch(1, 10, 1, { timestamps: [10_900] }), 0);
    assert.equal(log.segmentCount, 1);
    log.appendAsLeader(simpleBatch(1, 10, 2, { timestamps: [11_001] }), 0);
    assert.deepEqual(log.segmentBaseOffsets(), [0, 2]);
    await log.close();
  });

  test('rolls when the offset index is full', async () => {
    const log = await openLog(newDir(), { segmentIndexBytes: 24, indexIntervalBytes: 0 });
    for (let i = 0; i < 10; i++) log.appendAsLeader(simpleBatch(1, 10, i), 0);
    assert.ok(log.segmentCount >= 3, `segments: ${log.segmentBaseOffsets()}`);
    assert.equal(log.read(9, 1000, 10).firstBatchOffset, 9);
    await log.close();
  });

  test('index entries every index.interval.bytes point at batch starts', async () => {
    const dir = newDir();
    const log = await openLog(dir, { indexIntervalBytes: 300 });
    for (let i = 0; i < 30; i++) log.appendAsLeader(simpleBatch(1, 90, i), 0);
    await log.close();
    const idx = fs.readFileSync(path.join(dir, '00000000000000000000.index'));
    const data = fs.readFileSync(path.join(dir, '00000000000000000000.log'));
    assert.ok(idx.length >= 8 * 5, `index has ${idx.length / 8} entries`);
    let prevPos = 0;
    for (let i = 0; i < idx.length; i += 8) {
      const rel = idx.readUInt32BE(i);
      const pos = idx.readUInt32BE(i + 4);
      assert.equal(baseOffsetOf(data, pos), rel);
      assert.ok(pos - prevPos <= 300 + 200, 'entries are about index.interval.bytes apart');
      prevPos = pos;
    }
    const ti = fs.readFileSync(path.join(dir, '00000000000000000000.timeindex'));
    assert.ok(ti.length > 0 && ti.length % 12 === 0);
  });
});

describe('PartitionLog truncation', () => {
  test('truncateTo removes the suffix, keeps the epoch cache right and allows re-append', async () => {
    const log = await openLog(newDir(), { segmentBytes: 600 });
    for (let i = 0; i < 10; i++) log.appendAsLeader(simpleBatch(2, 50, i), i < 5 ? 1 : 2);
    assert.ok(log.segmentCount > 2);
    log.highWatermark = 20;
    log.truncateTo(8);
    assert.equal(log.logEndOffset, 8);
    assert.equal(log.highWatermark, 8);
    assert.deepEqual(log.epochEntries(), [{ epoch: 1, startOffset: 0 }]);
    assert.equal(log.read(6, 1 << 20, 8).nextOffset, 8);
    assert.throws(() => log.read(9, 100, 20), OffsetOutOfRangeError);
    const r = log.appendAsLeader(simpleBatch(1, 10, 99), 3);
    assert.equal(r.firstOffset, 8);
    assert.deepEqual(log.endOffsetForEpoch(1), { epoch: 1, endOffset: 8 });
    // Truncating inside a batch cuts at the batch start.
    log.truncateTo(5);
    assert.equal(log.logEndOffset, 4);
    await log.close();
  });

  test('truncating below the log start offset -> TruncateBelowLogStartError', async () => {
    const log = await openLog();
    for (let i = 0; i < 5; i++) log.appendAsLeader(simpleBatch(2, 10, i), 0);
    log.highWatermark = 10;
    log.deleteRecordsBefore(4);
    assert.throws(
      () => log.truncateTo(3),
      (e) => e instanceof TruncateBelowLogStartError && e.logStartOffset === 4,
    );
    assert.equal(log.logEndOffset, 10);
    await log.close();
  });

  test('truncateFullyAndStartAt empties the log and restarts it at the offset', async () => {
    const dir = newDir();
    const log = await openLog(dir);
    for (let i = 0; i < 5; i++) log.appendAsLeader(simpleBatch(2, 10, i), 3);
    log.truncateFullyAndStartAt(1000);
    assert.deepEqual([log.logStartOffset, log.logEndOffset, log.highWatermark], [1000, 1000, 1000]);
    assert.deepEqual(log.epochEntries(), []);
    assert.equal(log.appendAsLeader(simpleBatch(1, 10, 9), 4).firstOffset, 1000);
    assert.deepEqual(log.segmentBaseOffsets(), [1000]);
    await log.close();
    const reopened = await openLog(dir);
    assert.deepEqual([reopened.logStartOffset, reopened.logEndOffset], [1000, 1001]);
    await reopened.close();
  });
});

describe('PartitionLog log start offset and retention', () => {
  test('deleteRecordsBefore moves the log start and deletes whole segments below it', async () => {
    const log = await openLog(newDir(), { segmentBytes: 600 });
    for (let i = 0; i < 10; i++) log.appendAsLeader(simpleBatch(2, 50, i), 0);
    log.highWatermark = 20;
    const segs = log.segmentCount;
    assert.equal(log.deleteRecordsBefore(9), 9);
    assert.equal(log.logStartOffset, 9);
    assert.ok(log.segmentCount < segs);
    assert.ok(log.segmentBaseOffsets()[0]! <= 9);
    assert.throws(() => log.read(7, 100, 20), OffsetOutOfRangeError);
    assert.equal(log.read(9, 100, 20).firstBatchOffset, 8, 'the batch holding the log start comes back whole');
    assert.throws(() => log.deleteRecordsBefore(21), OffsetOutOfRangeError);
    assert.equal(log.deleteRecordsBefore(3), 9, 'never moves backwards');
    await log.close();
  });

  test('retention.bytes deletes the oldest segments, never at or past the high watermark', async () => {
    const log = await openLog(newDir(), { segmentBytes: 700, retentionBytes: 1000, retentionMs: -1 });
    for (let i = 0; i < 12; i++) log.appendAsLeader(simpleBatch(2, 100, i), 0);
    const segs = log.segmentCount;
    assert.equal(log.applyRetention(Date.now()), 0, 'high watermark 0: nothing is deletable');
    log.highWatermark = log.logEndOffset;
    const deleted = log.applyRetention(Date.now());
    assert.ok(deleted > 0);
    assert.equal(log.segmentCount, segs - deleted);
    assert.ok(log.sizeBytes <= 1000 + 700);
    assert.equal(log.logStartOffset, log.segmentBaseOffsets()[0]);
    await log.close();
  });

  test('retention.ms deletes expired segments and rolls an expired active segment first', async () => {
    const dir = newDir();
    const log = await openLog(dir, { segmentBytes: 700, retentionMs: 60_000 });
    for (let i = 0; i < 8; i++) log.appendAsLeader(simpleBatch(2, 100, i, { timestamps: [1000 + i, 1000 + i] }), 0);
    log.highWatermark = log.logEndOffset;
    const leo = log.logEndOffset;
    assert.equal(log.applyRetention(1000 + 30_000), 0);
    const deleted = log.applyRetention(1000 + 120_000);
    assert.ok(deleted >= 2);
    assert.equal(log.segmentCount, 1);
    assert.equal(log.logStartOffset, leo);
    assert.equal(log.logEndOffset, leo);
    assert.equal(log.sizeBytes, 0);
    assert.equal(log.appendAsLeader(simpleBatch(1, 10, 1), 0).firstOffset, leo);
    await log.close();
  });

  test('deleted segments become .deleted files and are removed after file.delete.delay.ms', async () => {
    const dir = newDir();
    const log = await openLog(dir, { segmentBytes: 700, retentionBytes: 0, retentionMs: -1, fileDeleteDelayMs: 150 });
    for (let i = 0; i < 6; i++) log.appendAsLeader(simpleBatch(2, 100, i), 0);
    log.highWatermark = log.logEndOffset;
    const data = log.read(0, 1 << 20, log.logEndOffset).records;
    assert.ok(log.applyRetention(Date.now()) > 0);
    assert.ok(fs.readdirSync(dir).some((n) => n.endsWith('.log.deleted')));
    assert.ok(data.length > 0, 'data read before the deletion stays valid');
    await new Promise((r) => setTimeout(r, 400));
    assert.ok(!fs.readdirSync(dir).some((n) => n.endsWith('.deleted')));
    await log.close();
  });
});

describe('PartitionLog ListOffsets', () => {
  test('offsetForTimestamp finds the first record at or after a timestamp, across segments', async () => {
    const log = await openLog(newDir(), { segmentBytes: 500, indexIntervalBytes: 100 });
    // Timestamps rise by 10 per record, with one out-of-order record.
    let ts = 1000;
    for (let i = 0; i < 20; i++) {
      const stamps = [ts, ts + 10, ts + 20];
      if (i === 7) stamps[1] = 50;
      log.appendAsLeader(simpleBatch(3, 30, i, { timestamps: stamps }), i);
      ts += 30;
    }
    assert.ok(log.segmentCount > 3);
    assert.deepEqual(log.offsetForTimestamp(0), { offset: 0, timestamp: 1000, leaderEpoch: 0 });
    assert.deepEqual(log.offsetForTimestamp(1000 + 30 * 7 + 5), {
      offset: 23,
      timestamp: 1000 + 30 * 7 + 20,
      leaderEpoch: 7,
    });
    assert.deepEqual(log.offsetForTimestamp(1000 + 30 * 12 + 10), { offset: 37, timestamp: 1370, leaderEpoch: 12 });
    assert.equal(log.offsetForTimestamp(ts + 1), null);
    assert.deepEqual(log.maxTimestamp(), { offset: 59, timestamp: 1000 + 30 * 19 + 20, leaderEpoch: 19 });
    log.highWatermark = log.logEndOffset;
    log.deleteRecordsBefore(40);
    assert.deepEqual(log.offsetForTimestamp(0), { offset: 40, timestamp: 1000 + 30 * 13 + 10, leaderEpoch: 13 });
    await log.close();
  });

  test('maxTimestamp returns the first record holding the largest timestamp', async () => {
    const log = await openLog(newDir(), { segmentBytes: 400 });
    assert.deepEqual(log.maxTimestamp(), { offset: -1, timestamp: -1, leaderEpoch: -1 });
    for (let i = 0; i < 10; i++) {
      const stamps = i === 3 ? [5, 9000, 9000] : [100 + i, 100 + i, 100 + i];
      log.appendAsLeader(simpleBatch(3, 30, i, { timestamps: stamps }), 2);
    }
    assert.deepEqual(log.maxTimestamp(), { offset: 10, timestamp: 9000, leaderEpoch: 2 });
    await log.close();
  });
});

describe('PartitionLog leader epochs', () => {
  test('endOffsetForEpoch follows Kafka semantics and the cache survives a reopen', async () => {
    const dir = newDir();
    const log = await openLog(dir);
    assert.deepEqual(log.endOffsetForEpoch(0), { epoch: -1, endOffset: -1 });
    log.appendAsLeader(simpleBatch(2, 10, 0), 2);
    log.appendAsLeader(simpleBatch(2, 10, 1), 4);
    log.appendAsLeader(simpleBatch(2, 10, 2), 4);
    log.assignEpochStartOffset(7, log.logEndOffset);
    assert.equal(log.latestEpoch(), 7);
    assert.deepEqual(log.endOffsetForEpoch(7), { epoch: 7, endOffset: 6 });
    assert.deepEqual(log.endOffsetForEpoch(4), { epoch: 4, endOffset: 6 });
    assert.deepEqual(log.endOffsetForEpoch(3), { epoch: 2, endOffset: 2 });
    assert.deepEqual(log.endOffsetForEpoch(1), { epoch: 1, endOffset: 0 });
    assert.deepEqual(log.endOffsetForEpoch(8), { epoch: -1, endOffset: -1 });
    log.appendAsLeader(simpleBatch(1, 10, 3), 7);
    assert.deepEqual(log.endOffsetForEpoch(7), { epoch: 7, endOffset: 7 });
    await log.close();
    const text = fs.readFileSync(path.join(dir, 'leader-epoch-checkpoint'), 'utf8');
    assert.equal(text, '0\n3\n2 0\n4 2\n7 6\n');
    const reopened = await openLog(dir);
    assert.deepEqual(reopened.epochEntries(), [
      { epoch: 2, startOffset: 0 },
      { epoch: 4, startOffset: 2 },
      { epoch: 7, startOffset: 6 },
    ]);
    await reopened.close();
  });
});

describe('PartitionLog lifecycle', () => {
  test('clean close and reopen keep offsets, data, high watermark and timestamps', async () => {
    const dir = newDir();
    const log = await openLog(dir, { segmentBytes: 800 });
    for (let i = 0; i < 15; i++) log.appendAsLeader(simpleBatch(2, 60, i, { timestamps: [5000 + i, 5000 + i] }), 1);
    log.highWatermark = 24;
    log.deleteRecordsBefore(6);
    const data = log.read(6, 1 << 20, 30).records;
    const max = log.maxTimestamp();
    await log.close();
    assert.ok(fs.existsSync(path.join(dir, '.clean-shutdown')));
    const r = await openLog(dir, { segmentBytes: 800 });
    assert.ok(!fs.existsSync(path.join(dir, '.clean-shutdown')), 'the marker is removed on open');
    assert.deepEqual([r.logStartOffset, r.logEndOffset, r.highWatermark, r.recoveryPoint], [6, 30, 24, 30]);
    assert.deepEqual(r.read(6, 1 << 20, 30).records, data);
    assert.deepEqual(r.maxTimestamp(), max);
    assert.equal(r.appendAsLeader(simpleBatch(1, 10, 1), 1).firstOffset, 30);
    await r.close();
  });

  test('flush advances the recovery point; flush.messages and fsyncEveryBatch sync on append', async () => {
    const log = await openLog(newDir(), { flushMessages: 3 });
    log.appendAsLeader(simpleBatch(2, 10, 0), 0);
    assert.equal(log.unflushedMessages, 2);
    log.appendAsLeader(simpleBatch(2, 10, 1), 0);
    assert.equal(log.unflushedMessages, 0, 'flush.messages reached: data was fsynced');
    assert.equal(log.recoveryPoint, 0);
    await log.flush();
    assert.equal(log.recoveryPoint, 4);
    await log.close();
    const each = await openLog(newDir(), { fsyncEveryBatch: true });
    each.appendAsLeader(simpleBatch(1, 10, 0), 0);
    assert.equal(each.unflushedMessages, 0);
    await each.close();
  });

  test('a roll flushes the rolled segment in the background', async () => {
    const log = await openLog(newDir(), { segmentBytes: 500 });
    for (let i = 0; i < 6; i++) log.appendAsLeader(simpleBatch(2, 100, i), 0);
    assert.ok(log.segmentCount > 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(log.recoveryPoint, log.segmentBaseOffsets().at(-1));
    await log.close();
  });

  test('partition.metadata holds the topic id; a different id is rejected', async () => {
    const dir = newDir();
    const log = await PartitionLog.open({
      dir,
      topic: 't',
      partition: 0,
      topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
      config: testConfig(),
    });
    await log.close();
    assert.equal(
      fs.readFileSync(path.join(dir, 'partition.metadata'), 'utf8'),
      'version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n',
    );
    const again = await PartitionLog.open({ dir, topic: 't', partition: 0, config: testConfig() });
    assert.equal(again.topicId, 'AAAAAAAAAAAAAAAAAAAAAQ');
    await again.close();
    await assert.rejects(
      PartitionLog.open({ dir, topic: 't', partition: 0, topicId: 'AAAAAAAAAAAAAAAAAAAAAg', config: testConfig() }),
      (e) => e instanceof InconsistentTopicIdError && e.kafkaErrorCode === ErrorCode.INCONSISTENT_TOPIC_ID,
    );
  });

  test('a closed log refuses operations; delete removes the directory', async () => {
    const dir = newDir();
    const log = await openLog(dir);
    log.appendAsLeader(simpleBatch(1, 10, 0), 0);
    await log.delete();
    assert.ok(!fs.existsSync(dir));
    assert.throws(
      () => log.appendAsLeader(simpleBatch(1, 10, 0), 0),
      (e) => (e as { kafkaErrorCode?: number }).kafkaErrorCode === ErrorCode.KAFKA_STORAGE_ERROR,
    );
  });

  test('open file handles stay bounded by the segment cache', async () => {
    const { SegmentCache } = await import('../../src/storage/index.js');
    const cache = new SegmentCache({ maxOpenSegments: 3 });
    const dir = newDir();
    const log = await PartitionLog.open({
      dir,
      topic: 'topic',
      partition: 0,
      config: testConfig({ segmentBytes: 300 }),
      segmentCache: cache,
    });
    for (let i = 0; i < 40; i++) log.appendAsLeader(simpleBatch(1, 150, i), 0);
    assert.ok(log.segmentCount > 20);
    const openSegmentFds = () =>
      fs.readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
        } catch {
          return false;
        }
      }).length;
    for (let o = 0; o < log.logEndOffset; o++) log.read(o, 1000, log.logEndOffset);
    assert.ok(cache.size <= 3);
    assert.ok(openSegmentFds() <= 4, `open segment files: ${openSegmentFds()}`);
    await log.close();
    assert.equal(openSegmentFds(), 0);
  });
});
