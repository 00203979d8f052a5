// Torn writes and damaged files: recovery must cut cleanly at the last valid batch and rebuild.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { PartitionLog } from '../../src/storage/index.js';
import { checkSegmentFiles, removeDir, simpleBatch, tempDir, testConfig } from './helpers.js';

const roots: string[] = [];
after(() => {
  for (const d of roots) removeDir(d);
});

function newDir(): string {
  const d = tempDir('eddy-recovery-');
  roots.push(d);
  return path.join(d, 't-0');
}

const CONFIG = testConfig({ segmentBytes: 1500, indexIntervalBytes: 200 });

function open(dir: string) {
  return PartitionLog.open({ dir, topic: 't', partition: 0, config: CONFIG });
}

interface Written {
  dir: string;
  /** Stored bytes of each batch (with offsets), in order. */
  batches: Buffer[];
  firstOffsets: number[];
}

/** Writes `n` batches of varied sizes, then drops the log as a crash would. */
async function writeAndCrash(n: number, opts: { clean?: boolean } = {}): Promise<Written> {
  const dir = newDir();
  const log = await open(dir);
  const batches: Buffer[] = [];
  const firstOffsets: number[] = [];
  for (let i = 0; i < n; i++) {
    const b = simpleBatch(1 + (i % 3), 40 + ((i * 37) % 120), i, { timestamps: [1000 + i, 1000 + i, 1000 + i] });
    const r = log.appendAsLeader(b, 1 + Math.floor(i / 10));
    batches.push(b);
    firstOffsets.push(r.firstOffset);
  }
  if (opts.clean) await log.close();
  else log.abandon();
  return { dir, batches, firstOffsets };
}

function segmentFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort();
}

/** Reopens and checks the log holds exactly the first `keep` batches, then appends and checks files. */
async function expectPrefix(w: Written, keep: number): Promise<void> {
  const log = await open(w.dir);
  const expectedEnd =
    keep === w.batches.length
      ? w.firstOffsets.at(-1)! + (w.batches.at(-1)!.readInt32BE(23) + 1)
      : w.firstOffsets[keep]!;
  assert.equal(log.logEndOffset, expectedEnd, 'log end offset');
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset < log.logEndOffset) {
    const r = log.read(offset, 1 << 20, log.logEndOffset);
    assert.ok(r.records.length > 0);
    chunks.push(r.records);
    offset = r.nextOffset;
  }
  assert.deepEqual(Buffer.concat(chunks), Buffer.concat(w.batches.slice(0, keep)));
  // Every offset finds its own batch through the rebuilt indexes.
  for (let i = 0; i < keep; i++) {
    assert.equal(log.read(w.firstOffsets[i]!, 1, log.logEndOffset).firstBatchOffset, w.firstOffsets[i]);
  }
  const epochs = log.epochEntries();
  assert.ok(epochs.every((e) => e.startOffset < log.logEndOffset || (e.startOffset === 0 && log.logEndOffset === 0)));
  // The log keeps working after recovery.
  const next = log.appendAsLeader(simpleBatch(1, 10, 999), 9);
  assert.equal(next.firstOffset, expectedEnd);
  await log.close();
  assert.deepEqual(checkSegmentFiles(w.dir), [...w.firstOffsets.slice(0, keep), expectedEnd]);
}

/** Position of batch `i` within its segment file, and that file. */
function locateBatch(w: Written, i: number): { file: string; pos: number } {
  const files = segmentFiles(w.dir);
  let file = files[0]!;
  for (const f of files) if (Number(f.slice(0, 20)) <= w.firstOffsets[i]!) file = f;
  const segBase = Number(file.slice(0, 20));
  let pos = 0;
  for (let j = 0; j < i; j++) if (w.firstOffsets[j]! >= segBase) pos += w.batches[j]!.length;
  return { file: path.join(w.dir, file), pos };
}

describe('torn tails', () => {
  const cuts: [string, (size: number) => number][] = [
    ['inside baseOffset', () => 3],
    ['inside batchLength', () => 10],
    ['inside the header', () => 40],
    ['just after the header', () => 61],
    ['inside the records', (size) => Math.floor(size / 2) + 3],
    ['one byte short', (size) => size - 1],
  ];
  for (const [name, at] of cuts) {
    test(`cut ${name} of the last batch: recovery drops exactly that batch`, async () => {
      const w = await writeAndCrash(25);
      const last = w.batches.length - 1;
      const { file, pos } = locateBatch(w, last);
      fs.truncateSync(file, pos + at(w.batches[last]!.length));
      await expectPrefix(w, last);
    });
  }

  test('a crash without a torn write loses nothing', async () => {
    const w = await writeAndCrash(25);
    await expectPrefix(w, 25);
  });

  test('zero bytes after the last batch (preallocated space) are cut', async () => {
    const w = await writeAndCrash(12);
    const files = segmentFiles(w.dir);
    fs.appendFileSync(path.join(w.dir, files.at(-1)!), Buffer.alloc(4096));
    await expectPrefix(w, 12);
  });

  test('an active segment cut to nothing leaves the previous segments intact', async () => {
    const w = await writeAndCrash(25);
    const files = segmentFiles(w.dir);
    const lastFile = path.join(w.dir, files.at(-1)!);
    const base = Number(files.at(-1)!.slice(0, 20));
    fs.truncateSync(lastFile, 0);
    await expectPrefix(w, w.firstOffsets.indexOf(base));
  });
});

describe('garbled data', () => {
  test('a garbled byte in the last batch fails its CRC: the batch is dropped', async () => {
    const w = await writeAndCrash(20);
    const last = w.batches.length - 1;
    const { file, pos } = locateBatch(w, last);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([0xee]), 0, 1, pos + 70);
    fs.closeSync(fd);
    await expectPrefix(w, last);
  });

  test('a corrupt batch mid-log truncates there and drops every later segment', async () => {
    const w = await writeAndCrash(30);
    assert.ok(segmentFiles(w.dir).length >= 4);
    const victim = 8;
    const { file, pos } = locateBatch(w, victim);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([0x7f, 0xff, 0xff, 0xf0]), 0, 4, pos + 8); // absurd batchLength
    fs.closeSync(fd);
    await expectPrefix(w, victim);
    const bases = segmentFiles(w.dir).map((f) => Number(f.slice(0, 20)));
    assert.ok(bases.every((b) => b <= w.firstOffsets[victim]!));
  });

  test('a batch with offsets going backwards is treated as corrupt', async () => {
    const w = await writeAndCrash(10);
    const last = w.batches.length - 1;
    const { file, pos } = locateBatch(w, last);
    const fd = fs.openSync(file, 'r+');
    const zero = Buffer.alloc(8);
    fs.writeSync(fd, zero, 0, 8, pos); // baseOffset 0 (not covered by the CRC)
    fs.closeSync(fd);
    await expectPrefix(w, last);
  });
});

describe('damaged index files', () => {
  for (const clean of [true, false]) {
    const when = clean ? 'after a clean shutdown' : 'after a crash';
    test(`a garbled .index is rebuilt (${when})`, async () => {
      const w = await writeAndCrash(25, { clean });
      const files = segmentFiles(w.dir);
      for (const f of files) {
        const idx = path.join(w.dir, f.replace('.log', '.index'));
        if (!fs.existsSync(idx)) continue; // the active segment's index is written lazily
        const size = fs.statSync(idx).size;
        fs.writeFileSync(idx, Buffer.alloc(size + 3, 0xab));
      }
      await expectPrefix(w, 25);
    });

    test(`a plausible but wrong .index is caught and rebuilt (${when})`, async () => {
      const w = await writeAndCrash(25, { clean });
      for (const f of segmentFiles(w.dir)) {
        const idxPath = path.join(w.dir, f.replace('.log', '.index'));
        if (!fs.existsSync(idxPath)) continue;
        const idx = fs.readFileSync(idxPath);
        // Shift every position by 5 bytes: still increasing and inside the file.
        for (let i = 0; i < idx.length; i += 8) idx.writeUInt32BE(idx.readUInt32BE(i + 4) + 5, i + 4);
        fs.writeFileSync(idxPath, idx);
      }
      await expectPrefix(w, 25);
    });

    test(`deleted .index and .timeindex files are rebuilt (${when})`, async () => {
      const w = await writeAndCrash(25, { clean });
      for (const f of fs.readdirSync(w.dir)) {
        if (f.endsWith('.index') || f.endsWith('.timeindex')) fs.unlinkSync(path.join(w.dir, f));
      }
      const log = await open(w.dir);
      assert.deepEqual(log.offsetForTimestamp(1000 + 17), {
        offset: w.firstOffsets[17],
        timestamp: 1017,
        leaderEpoch: 2,
      });
      assert.deepEqual(log.maxTimestamp().timestamp, 1024);
      await log.close();
      await expectPrefix(w, 25);
    });
  }

  test('a garbled leader-epoch-checkpoint is rebuilt from the batches', async () => {
    const w = await writeAndCrash(25, { clean: true });
    fs.writeFileSync(path.join(w.dir, 'leader-epoch-checkpoint'), 'garbage\n');
    const log = await open(w.dir);
    assert.deepEqual(log.epochEntries(), [
      { epoch: 1, startOffset: w.firstOffsets[0] },
      { epoch: 2, startOffset: w.firstOffsets[10] },
      { epoch: 3, startOffset: w.firstOffsets[20] },
    ]);
    await log.close();
  });

  test('an epoch checkpoint ahead of the recovered data is truncated to it', async () => {
    const w = await writeAndCrash(25);
    const { file, pos } = locateBatch(w, 20);
    fs.truncateSync(file, pos);
    const log = await open(w.dir);
    assert.deepEqual(
      log.epochEntries().map((e) => e.epoch),
      [1, 2],
    );
    await log.close();
  });
});

describe('leftover files', () => {
  test('.deleted, .cleaned and stray index files are removed; a finished .swap is completed', async () => {
    const w = await writeAndCrash(25, { clean: true });
    const files = segmentFiles(w.dir);
    assert.ok(files.length >= 3);
    // Pretend a cleaner rewrote segments 1 and 2 into one and crashed before the final rename.
    const s1 = path.join(w.dir, files[1]!);
    const s2 = path.join(w.dir, files[2]!);
    const merged = Buffer.concat([fs.readFileSync(s1), fs.readFileSync(s2)]);
    fs.writeFileSync(`${s1}.swap`, merged);
    fs.renameSync(s1, `${s1}.deleted`);
    fs.writeFileSync(path.join(w.dir, '00000000000000099999.log.cleaned'), 'x');
    fs.writeFileSync(path.join(w.dir, '00000000000000088888.index'), 'x');
    const log = await open(w.dir);
    const names = fs.readdirSync(w.dir);
    assert.ok(!names.some((n) => n.endsWith('.deleted') || n.endsWith('.cleaned') || n.endsWith('.swap')));
    assert.ok(!names.includes('00000000000000088888.index'));
    assert.ok(!names.includes(files[2]!), 'the segment replaced by the swap is gone');
    await log.close();
    await expectPrefix(w, 25);
  });
});
