// Snapshot files (header, records, footer; names; damage detection) and the real log's snapshot
// handling: log start after a snapshot, reading and installing fetched snapshots, and agreeing
// with the newest snapshot after a crash.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { PartitionRaftLog } from '../../src/raft/partition-raft-log.js';
import { snapshotHeaderBatch } from '../../src/raft/records.js';
import {
  decodeSnapshot,
  encodeSnapshot,
  listSnapshots,
  parseSnapshotFileName,
  SnapshotFormatError,
  snapshotFileName,
} from '../../src/raft/snapshot-file.js';
import { encodeRecordBatch } from '../../src/records/index.js';
import { tempDir } from './cluster-helpers.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDir('eddy-raft-snapshot-');
  dirs.push(d);
  return d;
}

function values(n: number, from = 0): Buffer[] {
  return Array.from({ length: n }, (_, i) => Buffer.from(`record-${from + i}`));
}

function batch(value: string): Buffer {
  return encodeRecordBatch({ baseTimestamp: 1, records: [{ key: null, value: Buffer.from(value) }] });
}

async function openLog(d: string): Promise<PartitionRaftLog> {
  return PartitionRaftLog.open({ dir: d, topic: '__cluster_metadata', topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' });
}

describe('snapshot files', () => {
  it('names snapshots <endOffset>-<epoch>.checkpoint with Kafka’s zero padding', () => {
    const name = snapshotFileName({ endOffset: 100, epoch: 2 });
    assert.equal(name, '00000000000000000100-0000000002.checkpoint');
    assert.deepEqual(parseSnapshotFileName(name), { endOffset: 100, epoch: 2 });
    assert.equal(parseSnapshotFileName('00000000000000000100-0000000002.checkpoint.part'), null);
    assert.equal(parseSnapshotFileName('100-2.checkpoint'), null);
  });

  it('round-trips records between a header and a footer, across several batches', () => {
    const vals = values(2500);
    const bytes = encodeSnapshot({ endOffset: 9000, epoch: 3 }, vals, 12345);
    const decoded = decodeSnapshot(bytes);
    assert.equal(decoded.lastContainedLogTimestampMs, 12345);
    assert.deepEqual(decoded.values, vals);
    assert.deepEqual(decodeSnapshot(encodeSnapshot({ endOffset: 1, epoch: 1 }, [], 0)).values, []);
  });

  it('detects damage: a flipped byte, a cut-off tail, a missing footer', () => {
    const bytes = encodeSnapshot({ endOffset: 10, epoch: 1 }, values(10), 0);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 30]! ^= 0xff;
    assert.throws(() => decodeSnapshot(flipped), SnapshotFormatError);
    assert.throws(() => decodeSnapshot(bytes.subarray(0, bytes.length - 5)), SnapshotFormatError);
    const withoutFooter = Buffer.concat([snapshotHeaderBatch(1, 0), batch('state')]);
    assert.throws(() => decodeSnapshot(withoutFooter), /does not end with a footer/);
    assert.throws(() => decodeSnapshot(snapshotHeaderBatch(1, 0)), /lacks its header or footer/);
  });
});

describe('PartitionRaftLog snapshots', () => {
  it('moves the log start to a snapshot and keeps the epochs known across a reopen', async () => {
    const d = dir();
    const log = await openLog(d);
    for (let i = 0; i < 5; i++) log.appendAsLeader(batch(`a${i}`), 1);
    for (let i = 0; i < 5; i++) log.appendAsLeader(batch(`b${i}`), 2);
    await log.flush();
    assert.deepEqual(log.endOffsetForEpoch(1), { epoch: 1, offset: 5 });
    log.addSnapshot({ endOffset: 7, epoch: 2 }, encodeSnapshot({ endOffset: 7, epoch: 2 }, values(3), 0));
    log.deleteBefore(7);
    assert.equal(log.startOffset(), 7);
    assert.equal(log.lastEpoch(), 2);
    assert.equal(log.endOffsetForEpoch(1), null, 'epoch 1 is below the snapshot');
    assert.deepEqual(log.endOffsetForEpoch(2), { epoch: 2, offset: 10 });
    await log.close();
    const reopened = await openLog(d);
    assert.equal(reopened.startOffset(), 7);
    assert.equal(reopened.endOffset(), 10);
    assert.deepEqual(reopened.latestSnapshotId(), { endOffset: 7, epoch: 2 });
    await reopened.close();
  });

  it('an empty log after a snapshot takes its epoch from the snapshot', async () => {
    const d = dir();
    const log = await openLog(d);
    for (let i = 0; i < 3; i++) log.appendAsLeader(batch(`a${i}`), 4);
    log.addSnapshot({ endOffset: 3, epoch: 4 }, encodeSnapshot({ endOffset: 3, epoch: 4 }, values(3), 0));
    log.deleteBefore(3);
    assert.equal(log.startOffset(), 3);
    assert.equal(log.endOffset(), 3);
    assert.equal(log.lastEpoch(), 4);
    assert.deepEqual(log.endOffsetForEpoch(5), { epoch: 4, offset: 3 });
    await log.close();
  });

  it('serves a snapshot in chunks that another log installs, replacing its records', async () => {
    const leader = await openLog(dir());
    for (let i = 0; i < 20; i++) leader.appendAsLeader(batch(`r${i}`), 1);
    const id = { endOffset: 20, epoch: 1 };
    const bytes = encodeSnapshot(id, values(20), 0);
    leader.addSnapshot(id, bytes);
    leader.deleteBefore(20);
    const follower = await openLog(dir());
    follower.appendAsLeader(batch('stale'), 1);
    let position = 0;
    for (;;) {
      const chunk = leader.readSnapshot(id, position, 100);
      assert.ok(chunk !== null);
      assert.equal(chunk.sizeBytes, bytes.length);
      if (chunk.bytes.length === 0) break;
      follower.writeSnapshotChunk(id, position, chunk.bytes);
      position += chunk.bytes.length;
    }
    assert.equal(position, bytes.length);
    assert.equal(follower.installSnapshot(id, bytes.length), true);
    assert.equal(follower.startOffset(), 20);
    assert.equal(follower.endOffset(), 20);
    assert.equal(follower.lastEpoch(), 1);
    assert.deepEqual(follower.readLatestSnapshot()?.bytes, bytes);
    assert.equal(leader.readSnapshot({ endOffset: 5, epoch: 1 }, 0, 10), null, 'unknown snapshot');
    await leader.close();
    await follower.close();
  });

  it('refuses to install a download that is short or damaged', async () => {
    const log = await openLog(dir());
    const id = { endOffset: 5, epoch: 1 };
    const bytes = encodeSnapshot(id, values(5), 0);
    log.writeSnapshotChunk(id, 0, bytes.subarray(0, 10));
    assert.equal(log.installSnapshot(id, bytes.length), false, 'short');
    const damaged = Buffer.from(bytes);
    damaged[40]! ^= 1;
    log.writeSnapshotChunk(id, 0, damaged);
    assert.equal(log.installSnapshot(id, damaged.length), false, 'damaged');
    assert.equal(log.latestSnapshotId(), null);
    assert.equal(log.startOffset(), 0);
    await log.close();
  });

  it('after a crash, the newest snapshot wins over a log that is behind it', async () => {
    const d = dir();
    const log = await openLog(d);
    log.appendAsLeader(batch('x'), 1);
    // A follower installed a snapshot far ahead, then crashed before anything else was durable.
    const id = { endOffset: 50, epoch: 3 };
    const bytes = encodeSnapshot(id, values(2), 0);
    log.writeSnapshotChunk(id, 0, bytes);
    assert.equal(log.installSnapshot(id, bytes.length), true);
    log.abandon();
    const reopened = await openLog(d);
    assert.equal(reopened.startOffset(), 50);
    assert.equal(reopened.endOffset(), 50);
    assert.equal(reopened.lastEpoch(), 3);
    assert.deepEqual(
      listSnapshots(path.join(d)).map((s) => s.endOffset),
      [50],
    );
    await reopened.close();
  });
});
