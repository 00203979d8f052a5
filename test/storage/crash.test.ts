// Crash tests: a child process appends under load and is killed with SIGKILL at a random moment.
// On reopen the log must hold a prefix of what was appended, including every acknowledged
// batch (acknowledged appends reached the page cache, which a process crash does not lose; with
// fsyncEveryBatch they were also fsynced), no corrupt batch, and indexes that agree with the data.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isBatchCrcValid } from '../../src/records/batch-header.js';
import { LogManager, PartitionLog } from '../../src/storage/index.js';
import { crashBatch, crashConfig } from './crash-shared.js';
import { checkSegmentFiles, headers, removeDir, tempDir, withOffset } from './helpers.js';

const ITERATIONS = Number(process.env.EDDY_CRASH_ITERATIONS ?? 50);
const writer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-writer.js');
const roots: string[] = [];
after(() => {
  for (const d of roots) removeDir(d);
});

interface Ack {
  index: number;
  first: number;
  last: number;
}

/** Runs the writer, kills it `killAfterMs` after it is ready, returns the acks it printed. */
function runAndKill(args: string[], killAfterMs: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [writer, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (timer === undefined && out.startsWith('ready\n')) {
        timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(guard);
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`writer exited by itself (${signal ?? _code}): ${err}`));
        return;
      }
      const acks: Ack[] = [];
      // Only whole lines count: the kill may cut the last one.
      for (const line of out.split('\n').slice(0, -1)) {
        const m = /^ack (\d+) (\d+) (\d+)$/.exec(line);
        if (m) acks.push({ index: Number(m[1]), first: Number(m[2]), last: Number(m[3]) });
      }
      resolve(acks);
    });
  });
}

/** A tiny seeded PRNG so a failing iteration can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

test(`SIGKILL at a random moment never loses acknowledged batches or corrupts the log (${ITERATIONS} runs)`, async (t) => {
  const baseSeed = Number(process.env.EDDY_CRASH_SEED ?? Date.now() % 1_000_000);
  const random = rng(baseSeed);
  let totalAcks = 0;
  let totalRecovered = 0;
  for (let it = 0; it < ITERATIONS; it++) {
    const seed = baseSeed + it;
    const fsyncMode = it % 2 === 0;
    const manager = it % 4 < 2;
    const killAfterMs = 5 + Math.floor(random() * 200);
    const root = tempDir('eddy-crash-');
    roots.push(root);
    const label = `iteration ${it} (seed ${seed}, ${fsyncMode ? 'fsync' : 'default'}, ${manager ? 'manager' : 'standalone'}, kill after ${killAfterMs} ms)`;
    const acks = await runAndKill(
      [root, fsyncMode ? 'fsync' : 'default', String(seed), manager ? 'manager' : 'standalone'],
      killAfterMs,
    );
    for (let i = 0; i < acks.length; i++) assert.equal(acks[i]!.index, i, `${label}: acks in order`);

    const config = crashConfig(fsyncMode);
    let log: PartitionLog;
    let mgr: LogManager | undefined;
    if (manager) {
      mgr = await LogManager.open({ logDirs: [root], defaultConfig: config });
      const found = mgr.getLog('crash', 0);
      assert.ok(found, `${label}: log loaded`);
      log = found;
    } else {
      log = await PartitionLog.open({ dir: path.join(root, 'crash-0'), topic: 'crash', partition: 0, config });
    }

    // Read everything back and compare with what the writer produced.
    const stored: Buffer[] = [];
    let offset = log.logStartOffset;
    while (offset < log.logEndOffset) {
      const r = log.read(offset, 1 << 20, log.logEndOffset);
      assert.ok(r.records.length > 0, `${label}: read at ${offset} returned nothing`);
      for (const h of headers(r.records)) {
        assert.ok(isBatchCrcValid(r.records, h), `${label}: corrupt batch at offset ${h.baseOffset}`);
        stored.push(r.records.subarray(h.position, h.position + h.sizeBytes));
      }
      offset = r.nextOffset;
    }
    assert.ok(
      stored.length >= acks.length,
      `${label}: ${acks.length} acknowledged but only ${stored.length} recovered`,
    );
    let expectedOffset = 0;
    for (let i = 0; i < stored.length; i++) {
      const expected = withOffset(crashBatch(seed, i), expectedOffset, 1 + Math.floor(i / 40));
      assert.ok(stored[i]!.equals(expected), `${label}: batch ${i} differs from what was appended`);
      if (i < acks.length) assert.equal(acks[i]!.first, expectedOffset, `${label}: ack ${i} offset`);
      expectedOffset += expected.readInt32BE(23) + 1;
    }
    assert.equal(log.logEndOffset, expectedOffset, `${label}: log end offset`);
    // Every batch is found through the indexes.
    let o = 0;
    for (let i = 0; i < stored.length; i++) {
      assert.equal(log.read(o, 1, log.logEndOffset).firstBatchOffset, o, `${label}: index lookup of ${o}`);
      o += stored[i]!.readInt32BE(23) + 1;
    }
    // Epochs come back right: 1 for batches 0-39, 2 for 40-79, ...
    for (const e of log.epochEntries()) assert.ok(e.startOffset < log.logEndOffset);
    if (mgr) await mgr.close();
    else await log.close();
    const onDisk = checkSegmentFiles(path.join(root, 'crash-0'));
    assert.equal(onDisk.length, stored.length, `${label}: segment files and indexes agree with the data`);
    totalAcks += acks.length;
    totalRecovered += stored.length;
    removeDir(root);
  }
  t.diagnostic(`seed ${baseSeed}: ${totalAcks} acknowledged appends, ${totalRecovered} batches recovered`);
  assert.ok(
    totalAcks > ITERATIONS,
    `the writer made progress (${totalAcks} acks, ${totalRecovered} batches recovered)`,
  );
});
