import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { CheckpointFormatError, parseCheckpoint, parsePartitionOffsets } from '../../src/storage/checkpoint-file.js';
import { LeaderEpochCache } from '../../src/storage/leader-epoch-cache.js';
import { removeDir, tempDir } from './helpers.js';

const roots: string[] = [];
after(() => {
  for (const d of roots) removeDir(d);
});

function fresh(): { cache: LeaderEpochCache; file: string } {
  const dir = tempDir('eddy-epochs-');
  roots.push(dir);
  const file = path.join(dir, 'leader-epoch-checkpoint');
  return { cache: LeaderEpochCache.load(file).cache, file };
}

describe('LeaderEpochCache', () => {
  test('assign appends new epochs and ignores the latest epoch at a later offset', () => {
    const { cache } = fresh();
    assert.equal(cache.latestEpoch(), -1);
    assert.ok(cache.assign(1, 0));
    assert.ok(!cache.assign(1, 5));
    assert.ok(cache.assign(3, 10));
    assert.deepEqual(cache.epochEntries(), [
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 10 },
    ]);
    // An entry that breaks monotonicity removes the conflicting ones (as Kafka does).
    assert.ok(cache.assign(2, 10));
    assert.deepEqual(cache.epochEntries(), [
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 10 },
    ]);
    assert.throws(() => cache.assign(-1, 0), RangeError);
  });

  test('truncateFromEnd and truncateFromStart', () => {
    const { cache } = fresh();
    cache.assign(1, 0);
    cache.assign(2, 10);
    cache.assign(4, 20);
    assert.ok(cache.truncateFromEnd(20));
    assert.deepEqual(
      cache.epochEntries().map((e) => e.epoch),
      [1, 2],
    );
    assert.ok(!cache.truncateFromEnd(25));
    assert.ok(cache.truncateFromStart(12));
    assert.deepEqual(cache.epochEntries(), [{ epoch: 2, startOffset: 12 }]);
    assert.ok(!cache.truncateFromStart(12), 'an entry exactly at the start is kept as is');
    assert.ok(!cache.truncateFromStart(3));
  });

  test('endOffsetFor follows OffsetForLeaderEpoch semantics', () => {
    const { cache } = fresh();
    assert.deepEqual(cache.endOffsetFor(3, 50), { epoch: -1, endOffset: -1 });
    cache.assign(2, 5);
    cache.assign(4, 20);
    cache.assign(7, 40);
    assert.deepEqual(cache.endOffsetFor(7, 50), { epoch: 7, endOffset: 50 });
    assert.deepEqual(cache.endOffsetFor(5, 50), { epoch: 4, endOffset: 40 });
    assert.deepEqual(cache.endOffsetFor(4, 50), { epoch: 4, endOffset: 40 });
    assert.deepEqual(cache.endOffsetFor(1, 50), { epoch: 1, endOffset: 5 });
    assert.deepEqual(cache.endOffsetFor(9, 50), { epoch: -1, endOffset: -1 });
    assert.deepEqual(cache.endOffsetFor(-1, 50), { epoch: -1, endOffset: -1 });
    assert.equal(cache.epochForOffset(4), -1);
    assert.equal(cache.epochForOffset(20), 4);
    assert.equal(cache.epochForOffset(39), 4);
  });

  test('persists in Kafka checkpoint format and reloads; a damaged file is reported invalid', () => {
    const { cache, file } = fresh();
    cache.assign(0, 0);
    cache.assign(5, 100);
    cache.persist(true);
    assert.equal(fs.readFileSync(file, 'utf8'), '0\n2\n0 0\n5 100\n');
    const loaded = LeaderEpochCache.load(file);
    assert.ok(loaded.valid);
    assert.deepEqual(loaded.cache.epochEntries(), cache.epochEntries());
    fs.writeFileSync(file, '0\n3\n0 0\n5 100\n');
    assert.equal(LeaderEpochCache.load(file).valid, false);
    fs.writeFileSync(file, '0\n1\nfive 100\n');
    assert.equal(LeaderEpochCache.load(file).valid, false);
    fs.unlinkSync(file);
    const missing = LeaderEpochCache.load(file);
    assert.equal(missing.valid, false);
    missing.cache.persist(false);
    assert.equal(fs.readFileSync(file, 'utf8'), '0\n0\n', 'an invalid checkpoint is rewritten');
  });
});

describe('checkpoint files', () => {
  test('parse rejects bad versions, counts and entries', () => {
    assert.deepEqual(parseCheckpoint('f', '0\n1\nt 0 5\n'), ['t 0 5']);
    assert.throws(() => parseCheckpoint('f', '1\n0\n'), CheckpointFormatError);
    assert.throws(() => parseCheckpoint('f', '0\n2\nt 0 5\n'), CheckpointFormatError);
    assert.throws(() => parseCheckpoint('f', '0\n'), CheckpointFormatError);
    assert.deepEqual(parsePartitionOffsets('f', ['my-topic 3 42']), [{ topic: 'my-topic', partition: 3, offset: 42 }]);
    assert.throws(() => parsePartitionOffsets('f', ['t x 1']), CheckpointFormatError);
  });
});
