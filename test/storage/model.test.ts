// Model-based property test: random sequences of appends (leader and follower, valid and
// invalid), reads, truncations, rolls, retention, DeleteRecords, high-watermark moves, clean
// reopens and crashes (with torn tails) run against a PartitionLog and an in-memory model.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import {
  CorruptRecordError,
  type EpochEntry,
  type LogConfig,
  NonContiguousAppendError,
  OffsetOutOfRangeError,
  PartitionLog,
  RecordBatchTooLargeError,
  TruncateBelowLogStartError,
} from '../../src/storage/index.js';
import {
  buildBatch,
  checkSegmentFiles,
  removeDir,
  type TestRecord,
  tempDir,
  testConfig,
  withOffset,
} from './helpers.js';

const roots: string[] = [];
after(() => {
  for (const d of roots) removeDir(d);
});

const T0 = 1_700_000_000_000;

interface ModelBatch {
  base: number;
  last: number;
  epoch: number;
  bytes: Buffer;
  records: { offset: number; timestamp: number }[];
}

class Model {
  /** Batches physically in the log (some may lie below the log start). */
  batches: ModelBatch[] = [];
  logStart = 0;
  leo = 0;
  hw = 0;
  epochs: EpochEntry[] = [];
  leaderEpoch = 0;

  visible(): ModelBatch[] {
    return this.batches.filter((b) => b.last >= this.logStart);
  }

  assignEpoch(epoch: number, start: number): void {
    const latest = this.epochs.at(-1);
    if (epoch < 0 || (latest && epoch <= latest.epoch)) return;
    while (this.epochs.length > 0 && this.epochs.at(-1)!.startOffset >= start) this.epochs.pop();
    this.epochs.push({ epoch, startOffset: start });
  }

  truncateEpochsFromEnd(end: number): void {
    while (this.epochs.length > 0 && this.epochs.at(-1)!.startOffset >= end) this.epochs.pop();
  }

  truncateEpochsFromStart(start: number): void {
    let n = 0;
    while (n < this.epochs.length && this.epochs[n]!.startOffset <= start) n++;
    if (n === 0) return;
    const covering = this.epochs[n - 1]!;
    this.epochs.splice(0, n, { epoch: covering.epoch, startOffset: start });
  }

  setLogStart(start: number): void {
    if (start <= this.logStart) return;
    this.logStart = start;
    this.hw = Math.max(this.hw, start);
    this.truncateEpochsFromStart(start);
  }

  /** Drops batches that were in deleted segments (below the first live segment). */
  dropBelow(firstSegmentBase: number): void {
    this.batches = this.batches.filter((b) => b.base >= firstSegmentBase);
  }
}

interface Real {
  dir: string;
  config: LogConfig;
  log: PartitionLog;
  /** Opened with LogManager-style state (the offsets live in checkpoints, not in a marker). */
  managed: boolean;
}

interface BatchSpec {
  count: number;
  valueBytes: number;
  tsDeltas: number[];
}

let clockTick = 0;

function makeBatch(spec: BatchSpec, seed: number): { bytes: Buffer; timestamps: number[] } {
  const records: TestRecord[] = [];
  const timestamps: number[] = [];
  for (let i = 0; i < spec.count; i++) {
    const ts = T0 + clockTick * 10 + (spec.tsDeltas[i] ?? 0);
    timestamps.push(ts);
    records.push({
      key: Buffer.from(`k${seed}.${i}`),
      value: Buffer.alloc(spec.valueBytes, (seed + i) & 0xff),
      timestamp: ts,
    });
  }
  clockTick++;
  return { bytes: buildBatch(records), timestamps };
}

function pushBatches(m: Model, stored: Buffer[], timestamps: number[][], epochs: number[]): void {
  for (let i = 0; i < stored.length; i++) {
    const bytes = stored[i]!;
    const base = Number(bytes.readBigInt64BE(0));
    const last = base + bytes.readInt32BE(23);
    m.batches.push({
      base,
      last,
      epoch: epochs[i]!,
      bytes,
      records: timestamps[i]!.map((timestamp, j) => ({ offset: base + j, timestamp })),
    });
    m.assignEpoch(epochs[i]!, base);
    m.leo = last + 1;
  }
}

function checkBasics(m: Model, r: Real): void {
  assert.equal(r.log.logEndOffset, m.leo, 'log end offset');
  assert.equal(r.log.logStartOffset, m.logStart, 'log start offset');
  assert.equal(r.log.highWatermark, m.hw, 'high watermark');
  assert.deepEqual(r.log.epochEntries(), m.epochs, 'leader epochs');
  assert.equal(r.log.latestEpoch(), m.epochs.at(-1)?.epoch ?? -1);
}

const batchSpecArb = fc.record({
  count: fc.integer({ min: 1, max: 4 }),
  valueBytes: fc.integer({ min: 0, max: 300 }),
  tsDeltas: fc.array(fc.integer({ min: -30, max: 30 }), { minLength: 4, maxLength: 4 }),
});

class AppendLeader implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly specs: BatchSpec[],
    readonly bumpEpoch: boolean,
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    if (this.bumpEpoch) m.leaderEpoch++;
    const made = this.specs.map((s, i) => makeBatch(s, m.leo + i));
    const buf = Buffer.concat(made.map((x) => x.bytes));
    if (buf.length > r.config.segmentBytes) {
      assert.throws(() => r.log.appendAsLeader(buf, m.leaderEpoch), RecordBatchTooLargeError);
      return;
    }
    const res = r.log.appendAsLeader(buf, m.leaderEpoch);
    const stored: Buffer[] = [];
    let off = m.leo;
    for (const x of made) {
      stored.push(withOffset(x.bytes, off, m.leaderEpoch));
      off += x.timestamps.length;
    }
    assert.equal(res.firstOffset, m.leo);
    assert.equal(res.lastOffset, off - 1);
    pushBatches(
      m,
      stored,
      made.map((x) => x.timestamps),
      made.map(() => m.leaderEpoch),
    );
    checkBasics(m, r);
  }
  toString = () =>
    `AppendLeader(${this.specs.map((s) => `${s.count}x${s.valueBytes}`).join(',')}${this.bumpEpoch ? ', new epoch' : ''})`;
}

class AppendFollower implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly specs: BatchSpec[],
    readonly startShift: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const epoch = m.leaderEpoch + 1;
    const made = this.specs.map((s, i) => makeBatch(s, 1000 + m.leo + i));
    const start = m.leo + this.startShift;
    const stored: Buffer[] = [];
    let off = start;
    for (const x of made) {
      stored.push(withOffset(x.bytes, off, epoch));
      off += x.timestamps.length;
    }
    const buf = Buffer.concat(stored);
    if (this.startShift !== 0) {
      assert.throws(() => r.log.appendAsFollower(buf), NonContiguousAppendError);
      checkBasics(m, r);
      return;
    }
    if (buf.length > r.config.segmentBytes) {
      assert.throws(() => r.log.appendAsFollower(buf), RecordBatchTooLargeError);
      return;
    }
    r.log.appendAsFollower(buf);
    m.leaderEpoch = epoch;
    pushBatches(
      m,
      stored,
      made.map((x) => x.timestamps),
      made.map(() => epoch),
    );
    checkBasics(m, r);
  }
  toString = () => `AppendFollower(${this.specs.length} batches, shift ${this.startShift})`;
}

class AppendCorrupt implements fc.AsyncCommand<Model, Real> {
  constructor(readonly flipAt: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const { bytes } = makeBatch({ count: 2, valueBytes: 20, tsDeltas: [0, 0] }, 7);
    const at = 21 + (this.flipAt % (bytes.length - 21));
    bytes[at]! ^= 0x40;
    const sizeBefore = r.log.sizeBytes;
    assert.throws(() => r.log.appendAsLeader(bytes, m.leaderEpoch), CorruptRecordError);
    assert.equal(r.log.sizeBytes, sizeBefore);
    checkBasics(m, r);
  }
  toString = () => `AppendCorrupt(${this.flipAt})`;
}

function pick(frac: number, lo: number, hi: number): number {
  return lo + Math.floor(frac * (hi - lo + 1 - 1e-9));
}

class Read implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly offsetFrac: number,
    readonly maxBytes: number,
    readonly boundFrac: number,
    readonly minOneBatch: boolean,
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const offset = pick(this.offsetFrac, m.logStart - 2, m.leo + 2);
    const bound = pick(this.boundFrac, m.logStart, m.leo + 3);
    if (offset < m.logStart || offset > m.leo) {
      assert.throws(() => r.log.read(offset, this.maxBytes, bound, this.minOneBatch), OffsetOutOfRangeError);
      return;
    }
    const res = r.log.read(offset, this.maxBytes, bound, this.minOneBatch);
    const limit = Math.min(bound, m.leo);
    const expected: ModelBatch[] = [];
    if (offset < limit) {
      let bytes = 0;
      for (const b of m.batches) {
        if (b.last < offset) continue;
        if (b.base >= limit) break;
        if (expected.length === 0 && b.bytes.length > this.maxBytes) {
          if (this.minOneBatch) expected.push(b);
          break;
        }
        if (bytes + b.bytes.length > this.maxBytes) break;
        bytes += b.bytes.length;
        expected.push(b);
      }
    }
    if (expected.length === 0) {
      assert.equal(res.records.length, 0);
      assert.equal(res.nextOffset, offset);
      return;
    }
    // The log may stop early at a segment boundary (a read never spans segments).
    let k = 0;
    let size = 0;
    while (k < expected.length && size < res.records.length) size += expected[k++]!.bytes.length;
    assert.ok(k >= 1, 'at least one batch');
    assert.deepEqual(res.records, Buffer.concat(expected.slice(0, k).map((b) => b.bytes)));
    assert.equal(res.firstBatchOffset, expected[0]!.base);
    assert.equal(res.nextOffset, expected[k - 1]!.last + 1);
    if (k < expected.length)
      assert.ok(r.log.segmentBaseOffsets().includes(expected[k]!.base), 'short read ends at a segment');
  }
  toString = () =>
    `Read(${this.offsetFrac.toFixed(3)}, ${this.maxBytes}, ${this.boundFrac.toFixed(3)}, ${this.minOneBatch})`;
}

class Truncate implements fc.AsyncCommand<Model, Real> {
  constructor(readonly frac: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const offset = pick(this.frac, m.logStart - 1, m.leo);
    if (offset < m.logStart) {
      assert.throws(() => r.log.truncateTo(offset), TruncateBelowLogStartError);
      return;
    }
    r.log.truncateTo(offset);
    if (offset < m.leo) {
      const cut = m.batches.findIndex((b) => b.last >= offset);
      const cutBase = cut >= 0 ? Math.min(m.batches[cut]!.base, offset) : offset;
      if (cut >= 0) m.batches = m.batches.slice(0, cut);
      m.leo = Math.max(cutBase, m.logStart);
      m.hw = Math.min(m.hw, m.leo);
      m.truncateEpochsFromEnd(m.leo);
    }
    checkBasics(m, r);
  }
  toString = () => `Truncate(${this.frac.toFixed(3)})`;
}

class Roll implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    r.log.roll();
    assert.equal(r.log.segmentBaseOffsets().at(-1), m.leo);
    // Rolling a log without data moves its start to the new segment.
    if (m.batches.length === 0) m.setLogStart(m.leo);
    checkBasics(m, r);
  }
  toString = () => 'Roll';
}

class SetHighWatermark implements fc.AsyncCommand<Model, Real> {
  constructor(readonly frac: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const hw = pick(this.frac, m.logStart - 1, m.leo + 1);
    r.log.highWatermark = hw;
    m.hw = Math.min(Math.max(hw, m.logStart), m.leo);
    checkBasics(m, r);
  }
  toString = () => `SetHighWatermark(${this.frac.toFixed(3)})`;
}

class DeleteRecords implements fc.AsyncCommand<Model, Real> {
  constructor(readonly frac: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const offset = pick(this.frac, m.logStart, m.hw);
    const moved = offset > m.logStart;
    assert.equal(r.log.deleteRecordsBefore(offset), Math.max(offset, m.logStart));
    m.setLogStart(offset);
    m.dropBelow(r.log.segmentBaseOffsets()[0]!);
    // Moving the log start deletes the segments wholly below it, and only those.
    const bases = r.log.segmentBaseOffsets();
    assert.ok(bases[0]! <= m.logStart);
    if (moved) assert.ok(bases.length === 1 || bases[1]! > m.logStart);
    checkBasics(m, r);
  }
  toString = () => `DeleteRecords(${this.frac.toFixed(3)})`;
}

class Retention implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly retentionBytes: number,
    readonly ageMs: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    r.config = { ...r.config, retentionBytes: this.retentionBytes, retentionMs: 5000 };
    r.log.updateConfig(r.config);
    const basesBefore = r.log.segmentBaseOffsets();
    const now = T0 + clockTick * 10 + this.ageMs;
    const deleted = r.log.applyRetention(now);
    const bases = r.log.segmentBaseOffsets();
    // A prefix of segments went (plus possibly a roll), never data at or above the high watermark.
    assert.ok(bases[0]! >= basesBefore[0]!);
    assert.ok(r.log.logStartOffset <= Math.max(m.hw, m.logStart));
    if (deleted === 0) assert.equal(r.log.logStartOffset, m.logStart);
    assert.ok(bases.every((b) => b <= m.leo));
    m.setLogStart(r.log.logStartOffset);
    m.dropBelow(bases[0]!);
    if (this.retentionBytes === 0 && this.ageMs > 1_000_000 && m.hw === m.leo) {
      assert.equal(r.log.sizeBytes, 0, 'everything below the high watermark is gone');
    }
    checkBasics(m, r);
  }
  toString = () => `Retention(${this.retentionBytes} bytes, age ${this.ageMs})`;
}

class Reopen implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const log = r.log;
    await log.close();
    // Closed cleanly: every segment's files are whole and its indexes agree with the data.
    assert.deepEqual(
      checkSegmentFiles(r.dir),
      m.batches.map((b) => b.base),
    );
    // A managed log gets back what a LogManager checkpoints on close.
    const state = r.managed
      ? {
          cleanShutdown: true,
          recoveryPoint: log.recoveryPoint,
          logStartOffset: log.logStartOffset,
          highWatermark: log.highWatermark,
        }
      : undefined;
    r.log = await PartitionLog.open({ dir: r.dir, topic: 't', partition: 0, config: r.config, state });
    // Data wholly below the log start may go on open (a log truncated to its start restarts there).
    m.dropBelow(r.log.segmentBaseOffsets()[0]!);
    checkBasics(m, r);
  }
  toString = () => 'Reopen';
}

class Crash implements fc.AsyncCommand<Model, Real> {
  constructor(readonly tearBytes: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    r.log.abandon();
    const lastBase = r.log.segmentBaseOffsets().at(-1)!;
    const lastFile = path.join(r.dir, `${String(lastBase).padStart(20, '0')}.log`);
    const size = fs.statSync(lastFile).size;
    const lastBatch = m.batches.at(-1);
    if (this.tearBytes > 0 && size > 0 && lastBatch && lastBatch.base >= lastBase) {
      // A torn write: part of the last batch never reached the file.
      fs.truncateSync(lastFile, size - Math.min(this.tearBytes, lastBatch.bytes.length));
      m.batches.pop();
    }
    // Without checkpoints the end comes from the data: the last segment's last batch, or its base.
    const tail = m.batches.at(-1);
    m.leo = tail && tail.base >= lastBase ? tail.last + 1 : lastBase;
    r.log = await PartitionLog.open({ dir: r.dir, topic: 't', partition: 0, config: r.config });
    r.managed = false;
    // A standalone log keeps no offsets across a crash: log start falls back to the first
    // segment, the high watermark to the log start; epochs are rebuilt from the batches.
    m.logStart = r.log.segmentBaseOffsets()[0]!;
    m.dropBelow(m.logStart);
    m.hw = m.logStart;
    m.epochs = [];
    for (const b of m.batches) m.assignEpoch(b.epoch, b.base);
    checkBasics(m, r);
  }
  toString = () => `Crash(tear ${this.tearBytes})`;
}

/** A crash of a log run by a LogManager: reopened with the checkpointed offsets. */
class CrashManaged implements fc.AsyncCommand<Model, Real> {
  constructor(readonly tearBytes: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const recoveryPoint = r.log.recoveryPoint;
    r.log.abandon();
    const lastBase = r.log.segmentBaseOffsets().at(-1)!;
    const lastFile = path.join(r.dir, `${String(lastBase).padStart(20, '0')}.log`);
    const size = fs.statSync(lastFile).size;
    const lastBatch = m.batches.at(-1);
    // Only data above the recovery point can be torn: everything below it was fsynced.
    if (this.tearBytes > 0 && size > 0 && lastBatch && lastBatch.base >= lastBase && lastBatch.last >= recoveryPoint) {
      fs.truncateSync(lastFile, size - Math.min(this.tearBytes, lastBatch.bytes.length));
      m.batches.pop();
    }
    r.log = await PartitionLog.open({
      dir: r.dir,
      topic: 't',
      partition: 0,
      config: r.config,
      state: { cleanShutdown: false, recoveryPoint, logStartOffset: m.logStart, highWatermark: m.hw },
    });
    r.managed = true;
    const tail = m.batches.at(-1);
    m.leo = tail && tail.base >= lastBase ? tail.last + 1 : lastBase;
    if (m.logStart > m.leo) {
      // The checkpointed log start is past the surviving data: the log restarts empty there.
      m.batches = [];
      m.leo = m.logStart;
    }
    m.hw = Math.min(Math.max(m.hw, m.logStart), m.leo);
    // Entries below the recovery point come from the checkpoint, the rest from the batches, so
    // check what matters: entries rise, start inside the log, and give every visible batch its epoch.
    const epochs = r.log.epochEntries();
    for (let i = 0; i < epochs.length; i++) {
      const e = epochs[i]!;
      // (The entry moved up to the log start sits at the log end when no visible data is left.)
      assert.ok(
        e.startOffset >= m.logStart && (e.startOffset < m.leo || e.startOffset === m.logStart),
        `epoch entry ${e.epoch}@${e.startOffset} inside the log`,
      );
      if (i > 0) assert.ok(e.epoch > epochs[i - 1]!.epoch && e.startOffset > epochs[i - 1]!.startOffset);
    }
    for (const b of m.visible()) {
      if (b.epoch >= 0)
        assert.equal(r.log.epochForOffset(Math.max(b.base, m.logStart)), b.epoch, `epoch of batch ${b.base}`);
    }
    m.epochs = epochs;
    assert.ok(r.log.recoveryPoint <= m.leo);
    checkBasics(m, r);
  }
  toString = () => `CrashManaged(tear ${this.tearBytes})`;
}

class Flush implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    await r.log.flush();
    assert.equal(r.log.recoveryPoint, m.leo);
  }
  toString = () => 'Flush';
}

class ListOffsets implements fc.AsyncCommand<Model, Real> {
  constructor(readonly tsDelta: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const target = T0 + this.tsDelta;
    let found: { offset: number; timestamp: number; leaderEpoch: number } | null = null;
    let max: { offset: number; timestamp: number; leaderEpoch: number } = {
      offset: -1,
      timestamp: -1,
      leaderEpoch: -1,
    };
    for (const b of m.batches) {
      for (const rec of b.records) {
        if (rec.offset < m.logStart) continue;
        if (found === null && rec.timestamp >= target) found = { ...rec, leaderEpoch: b.epoch };
        if (rec.timestamp > max.timestamp) max = { ...rec, leaderEpoch: b.epoch };
      }
    }
    assert.deepEqual(r.log.offsetForTimestamp(target), found);
    assert.deepEqual(r.log.maxTimestamp(), max);
  }
  toString = () => `ListOffsets(${this.tsDelta})`;
}

class EpochLookup implements fc.AsyncCommand<Model, Real> {
  constructor(readonly epoch: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const e = this.epoch;
    let expected = { epoch: -1, endOffset: -1 };
    const latest = m.epochs.at(-1);
    if (e === -1) expected = { epoch: -1, endOffset: -1 };
    else if (latest && latest.epoch === e) expected = { epoch: e, endOffset: m.leo };
    else {
      const hi = m.epochs.findIndex((x) => x.epoch > e);
      if (hi === 0) expected = { epoch: e, endOffset: m.epochs[0]!.startOffset };
      else if (hi > 0) expected = { epoch: m.epochs[hi - 1]!.epoch, endOffset: m.epochs[hi]!.startOffset };
    }
    assert.deepEqual(r.log.endOffsetForEpoch(e), expected);
  }
  toString = () => `EpochLookup(${this.epoch})`;
}

class ReadAll implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const chunks: Buffer[] = [];
    let offset = m.logStart;
    while (offset < m.leo) {
      const res = r.log.read(offset, 1 << 20, m.leo);
      if (res.records.length === 0) break;
      chunks.push(res.records);
      offset = res.nextOffset;
    }
    assert.deepEqual(Buffer.concat(chunks), Buffer.concat(m.visible().map((b) => b.bytes)));
  }
  toString = () => 'ReadAll';
}

// Uniform fractions: fc.double is biased toward tiny values, which would hide most offsets.
const frac = fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000);

const commands = [
  fc
    .tuple(fc.array(batchSpecArb, { minLength: 1, maxLength: 3 }), fc.boolean())
    .map(([s, e]) => new AppendLeader(s, e)),
  fc
    .tuple(fc.array(batchSpecArb, { minLength: 1, maxLength: 3 }), fc.boolean())
    .map(([s, e]) => new AppendLeader(s, e)),
  fc
    .tuple(fc.array(batchSpecArb, { minLength: 1, maxLength: 2 }), fc.constantFrom(0, 0, 0, -1, 1))
    .map(([s, shift]) => new AppendFollower(s, shift)),
  fc.nat(10_000).map((n) => new AppendCorrupt(n)),
  fc
    .tuple(frac, fc.integer({ min: 0, max: 3000 }), frac, fc.boolean())
    .map(([o, mb, b, one]) => new Read(o, mb, b, one)),
  fc
    .tuple(frac, fc.integer({ min: 0, max: 3000 }), frac, fc.boolean())
    .map(([o, mb, b, one]) => new Read(o, mb, b, one)),
  frac.map((f) => new Truncate(f)),
  fc.constant(new Roll()),
  frac.map((f) => new SetHighWatermark(f)),
  frac.map((f) => new DeleteRecords(f)),
  fc.tuple(fc.constantFrom(0, 500, 2000, 100_000), fc.constantFrom(0, 10_000_000)).map(([b, a]) => new Retention(b, a)),
  fc.constant(new Reopen()),
  fc.constantFrom(0, 0, 1, 13, 60, 5000).map((n) => new Crash(n)),
  fc.constantFrom(0, 0, 1, 13, 60, 5000).map((n) => new CrashManaged(n)),
  fc.constant(new Flush()),
  fc.integer({ min: -100, max: 2000 }).map((d) => new ListOffsets(d)),
  fc.integer({ min: -1, max: 8 }).map((e) => new EpochLookup(e)),
  fc.constant(new ReadAll()),
];

const configArb = fc.record({
  segmentBytes: fc.integer({ min: 1200, max: 5000 }),
  indexIntervalBytes: fc.constantFrom(0, 100, 700, 4096),
  segmentIndexBytes: fc.constantFrom(40, 120, 10 * 1024 * 1024),
});

test('PartitionLog matches an in-memory model under random operations', async () => {
  await fc.assert(
    fc.asyncProperty(configArb, fc.commands(commands, { maxCommands: 80, size: 'max' }), async (cfg, cmds) => {
      const root = tempDir('eddy-model-');
      roots.push(root);
      const dir = path.join(root, 't-0');
      const config = testConfig({ ...cfg, retentionMs: -1 });
      clockTick = 0;
      const setup = async () => {
        const log = await PartitionLog.open({ dir, topic: 't', partition: 0, config });
        return { model: new Model(), real: { dir, config, log, managed: false } };
      };
      let real: Real | undefined;
      try {
        await fc.asyncModelRun(async () => {
          const s = await setup();
          real = s.real;
          return s;
        }, cmds);
      } finally {
        if (real && !real.log.isClosed) await real.log.close();
        removeDir(root);
      }
    }),
    {
      numRuns: Number(process.env.EDDY_MODEL_RUNS ?? 150),
      ...(process.env.EDDY_MODEL_SEED
        ? { seed: Number(process.env.EDDY_MODEL_SEED), path: process.env.EDDY_MODEL_PATH }
        : {}),
    },
  );
});
