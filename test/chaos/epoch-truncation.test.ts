// Found by the chaos run (seed 100): a node that briefly led an epoch without appending to it
// kept that epoch's entry at its log end; as a follower it reported it as its last fetched
// epoch, the new leader answered with a divergence at the log end, truncation there was a
// no-op, and the follower never caught up (the ISR stayed short forever). The follower now drops
// such an entry (ReplicaManager.truncateFollower -> PartitionLog.truncateEpochsAtLogEnd), as
// Kafka truncates its epoch cache.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { encodeRecordBatch } from '../../src/records/index.js';
import { DEFAULT_LOG_CONFIG, PartitionLog } from '../../src/storage/index.js';

it('a follower can drop an epoch that starts at its log end without records', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-epoch-'));
  try {
    const log = await PartitionLog.open({
      dir: join(dir, 't-0'),
      topic: 't',
      partition: 0,
      config: DEFAULT_LOG_CONFIG,
    });
    log.appendAsLeader(encodeRecordBatch({ records: [{ value: Buffer.from('a') }, { value: Buffer.from('b') }] }), 0);
    assert.equal(log.logEndOffset, 2);
    log.assignEpochStartOffset(1, log.logEndOffset); // became leader of epoch 1, appended nothing
    assert.equal(log.latestEpoch(), 1);
    log.truncateTo(2); // the new leader (epoch 2) says epoch 0 ends at 2: no records go...
    assert.equal(log.latestEpoch(), 1);
    log.truncateEpochsAtLogEnd(); // ...and the follower drops the empty epoch
    assert.equal(log.latestEpoch(), 0, 'the empty epoch 1 is gone');
    assert.equal(log.logEndOffset, 2, 'no records were removed');
    await log.close();
    const reopened = await PartitionLog.open({
      dir: join(dir, 't-0'),
      topic: 't',
      partition: 0,
      config: DEFAULT_LOG_CONFIG,
    });
    assert.equal(reopened.latestEpoch(), 0, 'the checkpoint agrees');
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
