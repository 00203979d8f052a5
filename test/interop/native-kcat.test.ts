// kcat (librdkafka 2.0.2), a client nobody here wrote, against Eddy's broker: every codec,
// keyed placement by murmur2, a 5 MiB record, 1000 partitions, seeks by position and time.
// kcat cannot create topics, so Eddy's admin client does.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Producer } from '../../src/client/producer/producer.js';
import { uniqueName } from '../helpers/client.js';
import type { TestBroker } from '../helpers/eddy-broker.js';
import {
  assertExactlyProduced,
  bigValue,
  type ConsumedRecord,
  createTopicsWithEddy,
  expectedRecord,
  FIVE_MIB,
  javaPartition,
  kcatConsume as kcatConsumeFrom,
  kcatLines,
  kcatProducerArgs,
  parseKcatJson,
  RECORD_COUNT,
  runChild,
  runKcat,
  sha256Hex,
  startNativeTestBroker,
} from './native-support.js';

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const TEST_TIMEOUT_MS = 300_000;

let broker: TestBroker;
before(async () => {
  broker = await startNativeTestBroker();
});
after(async () => {
  await broker.stop();
});

/** kcat's producer: Java-compatible murmur2 for keys, as the Java default partitioner. */
function kcatProduceArgs(topic: string, extra: string[] = []): string[] {
  return kcatProducerArgs(broker.bootstrap, topic, extra);
}

function kcatConsume(topic: string, offset: string, extra: string[] = []): Promise<ConsumedRecord[]> {
  return kcatConsumeFrom(broker.bootstrap, topic, offset, extra);
}

describe('kcat against Eddy', () => {
  for (const codec of CODECS) {
    it(`produces and consumes ${RECORD_COUNT} keyed records with headers, compression ${codec}`, {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const topic = uniqueName(`kcat-${codec}`);
      const partitions = 6;
      await createTopicsWithEddy(broker.bootstrap, [{ name: topic, partitions }]);
      const prefix = `kcat-${codec}`;
      // kcat -H puts the same headers on every record of a run.
      await runKcat(
        kcatProduceArgs(topic, ['-z', codec, '-H', 'src=kcat', '-H', `codec=${codec}`]),
        kcatLines(prefix, 0, RECORD_COUNT),
      );
      const consumed = await kcatConsume(topic, 'beginning');
      assertExactlyProduced(consumed, {
        prefix,
        count: RECORD_COUNT,
        partitions,
        headers: () => [
          ['src', 'kcat'],
          ['codec', codec],
        ],
      });
    });
  }

  it('produces and consumes a 5 MiB record when the limits are raised', { timeout: TEST_TIMEOUT_MS }, async () => {
    const topic = uniqueName('kcat-big');
    await createTopicsWithEddy(broker.bootstrap, [
      { name: topic, partitions: 1, configs: { 'max.message.bytes': String(8 * 1024 * 1024) } },
    ]);
    const value = bigValue(FIVE_MIB);
    // Given as a file argument, kcat sends the whole file as one record.
    const dir = mkdtempSync(join(tmpdir(), 'eddy-kcat-big-'));
    try {
      const file = join(dir, 'big.bin');
      writeFileSync(file, value);
      await runKcat(['-P', '-b', broker.bootstrap, '-t', topic, '-k', 'big', '-X', 'message.max.bytes=8388608', file]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // %s alone writes the raw value; -c 1 stops after the one record.
    const r = await runKcat([
      '-C',
      '-b',
      broker.bootstrap,
      '-t',
      topic,
      '-o',
      'beginning',
      '-c',
      '1',
      '-f',
      '%s',
      '-q',
    ]);
    assert.equal(r.stdout.length, FIVE_MIB, 'value size in bytes');
    assert.equal(sha256Hex(r.stdout), sha256Hex(value), 'value bytes');
    const meta = await runKcat([
      '-C',
      '-b',
      broker.bootstrap,
      '-t',
      topic,
      '-o',
      'beginning',
      '-e',
      '-q',
      '-f',
      '%k|%S|%o\n',
    ]);
    assert.equal(meta.stdout.toString(), `big|${FIVE_MIB}|0\n`, 'key, value size and offset of the only record');
  });

  it('produces to all 1000 partitions of a topic and reads every one back', { timeout: TEST_TIMEOUT_MS }, async () => {
    const topic = uniqueName('kcat-1000p');
    const partitions = 1000;
    await createTopicsWithEddy(broker.bootstrap, [{ name: topic, partitions }]);
    const prefix = 'kcat-1000p';
    // Enough keys that murmur2 covers every partition (asserted below, not assumed).
    const count = 10_000;
    const covered = new Set<number>();
    for (let i = 0; i < count; i++) covered.add(javaPartition(expectedRecord(prefix, i).key, partitions));
    assert.equal(covered.size, partitions, 'the keys cover every partition');
    await runKcat(kcatProduceArgs(topic, ['-H', 'src=kcat']), kcatLines(prefix, 0, count));
    const consumed = await kcatConsume(topic, 'beginning');
    assert.equal(new Set(consumed.map((c) => c.p)).size, partitions, 'partitions read back');
    assertExactlyProduced(consumed, { prefix, count, partitions, headers: () => [['src', 'kcat']] });
  });

  it('seeks to the earliest offset, relative to the end, to the end, and to a timestamp', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const topic = uniqueName('kcat-seek');
    const partitions = 3;
    await createTopicsWithEddy(broker.bootstrap, [{ name: topic, partitions }]);
    const prefix = 'kcat-seek';
    const count = 300;
    const baseTs = Date.now() - 3_600_000;
    const producer = new Producer({ bootstrapServers: broker.bootstrap, logger: null, lingerMs: 2 });
    try {
      // Explicit CreateTimes one second apart: record i has baseTs + i*1000.
      await producer.sendBatch(
        Array.from({ length: count }, (_, i) => {
          const r = expectedRecord(prefix, i);
          return { topic, key: r.key, value: r.value, headers: r.headers, timestamp: baseTs + i * 1000 };
        }),
      );
    } finally {
      await producer.close();
    }

    const all = await kcatConsume(topic, 'beginning');
    assertExactlyProduced(all, { prefix, count, partitions });
    for (const c of all) assert.equal(c.ts, baseTs + Number(c.h[0]?.[1]) * 1000, 'CreateTime kept');

    // s@ts: the first record with timestamp >= ts in each partition (records 150.. here).
    const fromTs = await kcatConsume(topic, `s@${baseTs + 149_500}`);
    const wantFromTs = all.filter((c) => c.ts >= baseTs + 149_500);
    assert.equal(wantFromTs.length, 150);
    assert.deepEqual(sortByPartitionOffset(fromTs), sortByPartitionOffset(wantFromTs));

    // A timestamp past every record: nothing to read.
    const fromFuture = await kcatConsume(topic, `s@${baseTs + count * 1000 + 1}`);
    assert.equal(fromFuture.length, 0, 'records after the last timestamp');

    // -o -N: the last N records of every partition.
    const last = await kcatConsume(topic, '-5');
    const wantLast = lastPerPartition(all, 5, partitions);
    assert.deepEqual(sortByPartitionOffset(last), sortByPartitionOffset(wantLast));

    // -o end: only records produced after kcat has positioned itself at the end.
    await seekEndReadsOnlyNewRecords(topic, count);
  });
});

function sortByPartitionOffset(list: readonly ConsumedRecord[]): ConsumedRecord[] {
  return [...list].sort((a, b) => a.p - b.p || a.o - b.o);
}

function lastPerPartition(all: readonly ConsumedRecord[], n: number, partitions: number): ConsumedRecord[] {
  const out: ConsumedRecord[] = [];
  for (let p = 0; p < partitions; p++) out.push(...all.filter((c) => c.p === p).slice(-n));
  return out;
}

/**
 * Starts `kcat -o end -c 3` on partition 0, then keeps producing fresh records to it until kcat
 * exits: whatever it read must be 3 consecutive fresh records (none of the old ones), wherever
 * its positioning happened to land in the stream of fresh records.
 */
async function seekEndReadsOnlyNewRecords(topic: string, oldCount: number): Promise<void> {
  const oldInP0 = (await kcatConsume(topic, 'beginning', ['-p', '0'])).length;
  const stopKcat = new AbortController();
  const child = runChild(
    'kcat',
    ['-C', '-b', broker.bootstrap, '-t', topic, '-p', '0', '-o', 'end', '-c', '3', '-J', '-q'],
    undefined,
    150_000,
    stopKcat.signal,
  );
  let exited = false;
  child.then(
    () => {
      exited = true;
    },
    () => {
      exited = true;
    },
  );
  const producer = new Producer({ bootstrapServers: broker.bootstrap, logger: null, lingerMs: 0 });
  let fresh = 0;
  let finishedInTime = false;
  try {
    const deadline = Date.now() + 120_000;
    while (!exited && Date.now() < deadline) {
      await producer.send({ topic, partition: 0, key: 'fresh', value: `fresh-${fresh}` });
      fresh++;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await producer.close();
    finishedInTime = exited;
    // On a failure above, do not leave kcat waiting for records.
    if (!exited) stopKcat.abort();
  }
  assert.ok(finishedInTime, `kcat -o end -c 3 had not read 3 of ${fresh} fresh records after 120 s`);
  const r = await child;
  assert.equal(r.code, 0, `kcat -o end: ${r.stderr}`);
  const got = parseKcatJson(r.stdout);
  assert.equal(got.length, 3, 'records read from the end');
  const first = Number((got[0]?.v ?? '').replace('fresh-', ''));
  assert.ok(oldCount > 0 && oldInP0 > 0);
  for (let n = 0; n < 3; n++) {
    assert.equal(got[n]?.v, `fresh-${first + n}`, 'consecutive fresh records');
    assert.equal(got[n]?.o, oldInP0 + first + n, 'offset after the old records');
  }
}
