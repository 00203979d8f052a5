import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  CLEAN_SHUTDOWN_FILE,
  HIGH_WATERMARK_CHECKPOINT_FILE,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  LogManager,
  parsePartitionDirName,
  RECOVERY_POINT_CHECKPOINT_FILE,
} from '../../src/storage/index.js';
import { removeDir, simpleBatch, tempDir, testConfig } from './helpers.js';

const roots: string[] = [];
after(() => {
  for (const d of roots) removeDir(d);
});

function newRoot(): string {
  const d = tempDir('eddy-logmgr-');
  roots.push(d);
  return d;
}

const config = testConfig({ segmentBytes: 1000 });

describe('LogManager', () => {
  test('parses partition directory names', () => {
    assert.deepEqual(parsePartitionDirName('my-topic-12'), { topic: 'my-topic', partition: 12 });
    assert.equal(parsePartitionDirName('recovery-point-offset-checkpoint'), null);
    assert.equal(parsePartitionDirName('topic'), null);
  });

  test('places new partitions on the log dir with the fewest partitions', async () => {
    const root = newRoot();
    const dirs = [path.join(root, 'a'), path.join(root, 'b')];
    const mgr = await LogManager.open({ logDirs: dirs, defaultConfig: config });
    for (let p = 0; p < 6; p++) await mgr.getOrCreateLog('t', p, undefined, config);
    const counts = dirs.map((d) => fs.readdirSync(d).filter((n) => n.startsWith('t-')).length);
    assert.deepEqual(counts, [3, 3]);
    assert.equal(mgr.allLogs().length, 6);
    assert.equal(await mgr.getOrCreateLog('t', 0, undefined, config), mgr.getLog('t', 0));
    await mgr.close();
  });

  test('close writes checkpoints and the marker; reopen loads every log cleanly', async () => {
    const root = newRoot();
    const dirs = [path.join(root, 'a'), path.join(root, 'b')];
    const mgr = await LogManager.open({ logDirs: dirs, defaultConfig: config });
    for (let p = 0; p < 4; p++) {
      const log = await mgr.getOrCreateLog('orders', p, 'AAAAAAAAAAAAAAAAAAAAAQ', config);
      for (let i = 0; i < 10 + p; i++) log.appendAsLeader(simpleBatch(2, 80, i), 3);
      log.highWatermark = 2 * (5 + p);
      log.deleteRecordsBefore(p);
    }
    await mgr.close();
    for (const d of dirs) {
      assert.ok(fs.existsSync(path.join(d, CLEAN_SHUTDOWN_FILE)));
      for (const f of [
        RECOVERY_POINT_CHECKPOINT_FILE,
        LOG_START_OFFSET_CHECKPOINT_FILE,
        HIGH_WATERMARK_CHECKPOINT_FILE,
      ]) {
        assert.match(fs.readFileSync(path.join(d, f), 'utf8'), /^0\n2\norders \d+ \d+\norders \d+ \d+\n$/);
      }
    }
    const again = await LogManager.open({ logDirs: dirs, defaultConfig: config });
    for (const d of dirs) assert.ok(!fs.existsSync(path.join(d, CLEAN_SHUTDOWN_FILE)), 'marker removed after loading');
    for (let p = 0; p < 4; p++) {
      const log = again.getLog('orders', p)!;
      assert.equal(log.logEndOffset, 2 * (10 + p));
      assert.equal(log.logStartOffset, p);
      assert.equal(log.highWatermark, 2 * (5 + p));
      assert.equal(log.topicId, 'AAAAAAAAAAAAAAAAAAAAAQ');
      assert.equal(log.recoveryPoint, log.logEndOffset);
    }
    await again.close();
  });

  test('after a crash, logs are recovered from the checkpointed recovery point', async () => {
    const root = newRoot();
    const dir = path.join(root, 'a');
    const mgr = await LogManager.open({ logDirs: [dir], defaultConfig: config });
    const log = await mgr.getOrCreateLog('t', 0, undefined, config);
    for (let i = 0; i < 20; i++) log.appendAsLeader(simpleBatch(2, 80, i), 1);
    await log.flush();
    await mgr.checkpointAll();
    const checkpointed = log.recoveryPoint;
    assert.equal(checkpointed, 40);
    for (let i = 0; i < 5; i++) log.appendAsLeader(simpleBatch(2, 80, 100 + i), 1);
    // Tear the last batch, then "crash": no close, no marker.
    for (const l of mgr.allLogs()) l.abandon();
    // Damage a record payload in the first segment: below the recovery point nothing is rescanned,
    // so the damage stays (a full rescan would have cut the log there).
    const first = path.join(log.dir, '00000000000000000000.log');
    const firstSize = fs.statSync(first).size;
    const fd = fs.openSync(first, 'r+');
    fs.writeSync(fd, Buffer.from([0x55]), 0, 1, 100);
    fs.closeSync(fd);
    const active = fs
      .readdirSync(log.dir)
      .filter((n) => n.endsWith('.log'))
      .sort()
      .at(-1)!;
    const activePath = path.join(log.dir, active);
    fs.truncateSync(activePath, fs.statSync(activePath).size - 7);
    const again = await LogManager.open({ logDirs: [dir], defaultConfig: config });
    const recovered = again.getLog('t', 0)!;
    assert.equal(recovered.logEndOffset, 48);
    assert.ok(recovered.recoveryPoint <= 48);
    assert.equal(recovered.read(46, 1 << 20, 48).nextOffset, 48);
    assert.equal(fs.statSync(first).size, firstSize);
    await again.close();
  });

  test('deleteLog renames the directory to -delete and removes it; leftovers are removed on open', async () => {
    const root = newRoot();
    const dir = path.join(root, 'a');
    const mgr = await LogManager.open({ logDirs: [dir], defaultConfig: config });
    const log = await mgr.getOrCreateLog('gone', 0, undefined, config);
    log.appendAsLeader(simpleBatch(1, 10, 0), 0);
    await mgr.deleteLog('gone', 0);
    assert.equal(mgr.getLog('gone', 0), undefined);
    assert.ok(!fs.existsSync(path.join(dir, 'gone-0')));
    await mgr.close();
    assert.deepEqual(
      fs.readdirSync(dir).filter((n) => n.startsWith('gone')),
      [],
    );
    const leftover = path.join(dir, 'old-0.0123456789abcdef0123456789abcdef-delete');
    fs.mkdirSync(leftover);
    fs.writeFileSync(path.join(leftover, '00000000000000000000.log'), 'x');
    const again = await LogManager.open({ logDirs: [dir], defaultConfig: config });
    assert.equal(again.allLogs().length, 0);
    await again.close();
    assert.ok(!fs.existsSync(leftover));
  });

  test('background tasks apply retention, flush.ms and write checkpoints', async () => {
    const root = newRoot();
    const dir = path.join(root, 'a');
    const mgr = await LogManager.open({
      logDirs: [dir],
      defaultConfig: config,
      retentionCheckIntervalMs: 20,
      flushSchedulerIntervalMs: 20,
      recoveryPointCheckpointIntervalMs: 20,
      logStartOffsetCheckpointIntervalMs: 20,
      highWatermarkCheckpointIntervalMs: 20,
    });
    const retained = await mgr.getOrCreateLog('r', 0, undefined, { ...config, retentionBytes: 0, retentionMs: -1 });
    const flushed = await mgr.getOrCreateLog('f', 0, undefined, { ...config, flushMs: 10 });
    for (let i = 0; i < 20; i++) retained.appendAsLeader(simpleBatch(2, 100, i), 0);
    retained.highWatermark = retained.logEndOffset;
    flushed.appendAsLeader(simpleBatch(2, 10, 0), 0);
    mgr.startBackgroundTasks();
    const deadline = Date.now() + 3000;
    const hwFile = path.join(dir, HIGH_WATERMARK_CHECKPOINT_FILE);
    while (Date.now() < deadline) {
      const ready =
        retained.segmentCount === 1 &&
        flushed.recoveryPoint === 2 &&
        fs.existsSync(hwFile) &&
        fs.readFileSync(hwFile, 'utf8').includes(`r 0 ${retained.logEndOffset}`);
      if (ready) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(retained.segmentCount, 1);
    assert.equal(retained.logStartOffset, retained.logEndOffset);
    assert.equal(flushed.recoveryPoint, 2);
    assert.match(fs.readFileSync(hwFile, 'utf8'), /r 0 40/);
    await mgr.close();
  });
});
