// Child process for the crash tests: appends deterministic batches as fast as it can and
// reports each acknowledged append on stdout ("ack <index> <firstOffset> <lastOffset>") until
// the parent kills it with SIGKILL.
// Usage: node crash-writer.js <logDir> <fsync|default> <seed> <manager|standalone>
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LogManager, PartitionLog } from '../../src/storage/index.js';
import { crashBatch, crashConfig } from './crash-shared.js';

function say(line: string): void {
  const buf = Buffer.from(`${line}\n`);
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(1, buf, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}

async function main(): Promise<void> {
  const [logDir, mode, seedText, kind] = process.argv.slice(2);
  if (!logDir || !mode || !seedText || !kind)
    throw new Error('usage: crash-writer <dir> <fsync|default> <seed> <manager|standalone>');
  const seed = Number(seedText);
  const config = crashConfig(mode === 'fsync');
  let log: PartitionLog;
  if (kind === 'manager') {
    const mgr = await LogManager.open({
      logDirs: [logDir],
      defaultConfig: config,
      flushSchedulerIntervalMs: 5,
      recoveryPointCheckpointIntervalMs: 7,
      logStartOffsetCheckpointIntervalMs: 11,
      highWatermarkCheckpointIntervalMs: 13,
    });
    log = await mgr.getOrCreateLog('crash', 0, undefined, config);
    mgr.startBackgroundTasks();
  } else {
    log = await PartitionLog.open({ dir: path.join(logDir, 'crash-0'), topic: 'crash', partition: 0, config });
  }
  say('ready');
  for (let i = 0; ; i++) {
    const r = log.appendAsLeader(crashBatch(seed, i), 1 + Math.floor(i / 40));
    log.highWatermark = log.logEndOffset;
    say(`ack ${i} ${r.firstOffset} ${r.lastOffset}`);
    // Let background flushes and checkpoints interleave with the appends.
    if (i % 4 === 3) await new Promise((resolve) => setImmediate(resolve));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
