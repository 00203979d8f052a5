// `eddy topics`, `eddy produce` and `eddy consume` end to end against an embedded broker.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Admin } from '../../src/client/index.js';
import { uniqueName, waitFor } from '../helpers/client.js';
import { startEddyBroker, type TestBroker } from '../helpers/eddy-broker.js';
import { cliJson, cliOk, runCli, tableRows } from './run-cli.js';

interface JsonRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string | null>;
}

const jsonLines = (out: string): JsonRecord[] =>
  out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as JsonRecord);

describe('eddy topics, produce and consume', { timeout: 240_000 }, () => {
  let broker: TestBroker;
  let admin: Admin;
  let b: string[];
  let tmp: string;

  before(async () => {
    broker = await startEddyBroker({ 'num.partitions': 1 });
    admin = new Admin({ bootstrapServers: broker.bootstrap, logger: null });
    b = ['--bootstrap-server', broker.bootstrap];
    tmp = mkdtempSync(join(tmpdir(), 'eddy-cli-'));
  });
  after(async () => {
    await admin.close();
    await broker.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('topics create, list, describe, alter and delete (human and --json)', async () => {
    const topic = uniqueName('cli-topic');
    const created = await cliOk([
      'topics',
      'create',
      '--topic',
      topic,
      '--partitions',
      '3',
      '--replication-factor',
      '1',
      '--config',
      'retention.ms=3600000',
      ...b,
    ]);
    assert.match(created, new RegExp(`Created topic ${topic} \\(3 partitions, replication factor 1\\)`));
    const [described] = await admin.describeTopics([topic]);
    assert.equal(described?.partitions.length, 3);

    // Creating it again fails unless --if-not-exists.
    const again = await runCli(['topics', 'create', '--topic', topic, ...b]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);
    const idempotent = await cliJson<{ created: boolean }>([
      'topics',
      'create',
      '--topic',
      topic,
      '--if-not-exists',
      ...b,
    ]);
    assert.equal(idempotent.created, false);

    assert.ok((await cliOk(['topics', 'list', ...b])).split('\n').includes(topic));
    assert.ok((await cliJson<string[]>(['topics', 'list', ...b])).includes(topic));

    const human = await cliOk(['topics', 'describe', '--topic', topic, ...b]);
    assert.match(
      human,
      new RegExp(`Topic: ${topic} .*PartitionCount: 3 .*ReplicationFactor: 1 .*retention.ms=3600000`),
    );
    const rows = tableRows(human, 'PARTITION');
    assert.deepEqual(
      rows.map((r) => r[0]),
      ['0', '1', '2'],
    );
    for (const r of rows) assert.equal(r.length, 4, `partition, leader, replicas, isr in ${r.join('|')}`);

    interface Desc {
      name: string;
      partitions: { partition: number; leader: number; replicas: number[]; isr: number[] }[];
      configs: Record<string, string>;
    }
    const json = await cliJson<Desc>(['topics', 'describe', '--topic', topic, ...b]);
    assert.equal(json.name, topic);
    assert.equal(json.partitions.length, 3);
    for (const p of json.partitions) {
      assert.ok(p.leader >= 0);
      assert.deepEqual(p.replicas, [p.leader]);
      assert.deepEqual(p.isr, [p.leader]);
    }
    assert.equal(json.configs['retention.ms'], '3600000');

    const altered = await cliOk([
      'topics',
      'alter',
      '--topic',
      topic,
      '--partitions',
      '5',
      '--config',
      'cleanup.policy=compact',
      ...b,
    ]);
    assert.match(altered, /partitions 3 -> 5/);
    const afterAlter = await cliJson<Desc>(['topics', 'describe', '--topic', topic, ...b]);
    assert.equal(afterAlter.partitions.length, 5);
    assert.equal(afterAlter.configs['cleanup.policy'], 'compact');
    assert.equal(afterAlter.configs['retention.ms'], '3600000', 'alter changes only the named setting');

    const shrink = await runCli(['topics', 'alter', '--topic', topic, '--partitions', '2', ...b]);
    assert.equal(shrink.code, 1);
    assert.match(shrink.stderr, /can be added but not removed/);

    assert.match(await cliOk(['topics', 'delete', '--topic', topic, ...b]), new RegExp(`Deleted topic ${topic}`));
    await waitFor(async () => !(await admin.listTopics()).includes(topic), 20_000, 'topic deletion');
    const gone = await runCli(['topics', 'describe', '--topic', topic, ...b]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /UNKNOWN_TOPIC_OR_PARTITION/);
    assert.doesNotMatch(gone.stderr, /\n\s+at /, 'no stack trace');
  });

  test('produce parses keys and headers; consume prints value, key-value and json', async () => {
    const topic = uniqueName('cli-kv');
    await admin.createTopics([{ name: topic, numPartitions: 1 }]);
    const produced = await runCli(
      ['produce', '--topic', topic, '--key-separator', ':', '--header', 'source=cli', '--header', 'n=1', ...b],
      { input: 'k1:v1\nk2:v2:with:colons\n:empty-key\n' },
    );
    assert.equal(produced.code, 0, produced.stderr);
    assert.match(produced.stderr, /Produced 3 records/);

    const common = ['consume', '--topic', topic, '--from-beginning', '--max-messages', '3', ...b];
    assert.equal(await cliOk(common), 'v1\nv2:with:colons\nempty-key\n');
    assert.equal(
      await cliOk([...common, '--format', 'key-value', '--key-separator', '=']),
      'k1=v1\nk2=v2:with:colons\n=empty-key\n',
    );
    const records = jsonLines(await cliOk([...common, '--format', 'json']));
    assert.deepEqual(
      records.map((r) => [r.topic, r.partition, r.offset, r.key, r.value, r.headers]),
      [
        [topic, 0, 0, 'k1', 'v1', { source: 'cli', n: '1' }],
        [topic, 0, 1, 'k2', 'v2:with:colons', { source: 'cli', n: '1' }],
        [topic, 0, 2, '', 'empty-key', { source: 'cli', n: '1' }],
      ],
    );
    for (const r of records) assert.ok(Math.abs(r.timestamp - Date.now()) < 600_000, 'timestamps are recent');
    assert.deepEqual(jsonLines(await cliOk([...common, '--json'])), records, '--json means --format json');

    // A line without the separator is an error that says which line.
    const bad = await runCli(['produce', '--topic', topic, '--parse-key', ...b], { input: 'a\tb\nno-tab\n' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /line 2 has no key separator/);
  });

  test('produce from --file with compression and acks; --json summary', async () => {
    const topic = uniqueName('cli-file');
    await admin.createTopics([{ name: topic, numPartitions: 2 }]);
    const lines = Array.from({ length: 200 }, (_, i) => `line-${i}`);
    const file = join(tmp, 'input.txt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    for (const [compression, acks] of [
      ['gzip', '1'],
      ['zstd', 'all'],
      ['lz4', '1'],
      ['snappy', 'all'],
    ] as const) {
      const summary = await cliJson<{ records: number; partitions: { partition: number; records: number }[] }>([
        'produce',
        '--topic',
        topic,
        '--file',
        file,
        '--compression',
        compression,
        '--acks',
        acks,
        '--partition',
        '1',
        ...b,
      ]);
      assert.equal(summary.records, 200);
      assert.deepEqual(
        summary.partitions.map((p) => [p.partition, p.records]),
        [[1, 200]],
      );
    }
    const offsets = await admin.fetchTopicOffsets(topic);
    assert.deepEqual(
      offsets.map((o) => o.high),
      [0, 800],
    );
    const out = await cliOk([
      'consume',
      '--topic',
      topic,
      '--partition',
      '1',
      '--offset',
      '600',
      '--max-messages',
      '200',
      ...b,
    ]);
    assert.deepEqual(out.trimEnd().split('\n'), lines, 'the snappy pass, read back from offset 600');

    const bad = await runCli(['produce', '--topic', topic, '--compression', 'brotli', ...b]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--compression must be one of/);
  });

  test('consume --partition/--offset, --from-time and --timeout-ms', async () => {
    const topic = uniqueName('cli-time');
    await admin.createTopics([{ name: topic, numPartitions: 2 }]);
    await cliOk(['produce', '--topic', topic, '--partition', '0', ...b], { input: 'old-0\nold-1\n' });
    await cliOk(['produce', '--topic', topic, '--partition', '1', ...b], { input: 'old-2\n' });
    // Record timestamps have millisecond resolution: step past the old ones.
    await new Promise((r) => setTimeout(r, 50));
    const cut = new Date();
    await new Promise((r) => setTimeout(r, 50));
    await cliOk(['produce', '--topic', topic, '--partition', '0', ...b], { input: 'new-0\n' });
    await cliOk(['produce', '--topic', topic, '--partition', '1', ...b], { input: 'new-1\nnew-2\n' });

    const fromTime = await runCli([
      'consume',
      '--topic',
      topic,
      '--from-time',
      cut.toISOString(),
      '--timeout-ms',
      '3000',
      ...b,
    ]);
    assert.equal(fromTime.code, 0, fromTime.stderr);
    assert.deepEqual(fromTime.stdout.trimEnd().split('\n').sort(), ['new-0', 'new-1', 'new-2']);
    assert.match(fromTime.stderr, /Processed a total of 3 messages/);
    const fromMs = await cliOk([
      'consume',
      '--topic',
      topic,
      '--from-time',
      String(cut.getTime()),
      '--max-messages',
      '3',
      ...b,
    ]);
    assert.deepEqual(fromMs.trimEnd().split('\n').sort(), ['new-0', 'new-1', 'new-2']);

    const one = jsonLines(
      await cliOk([
        'consume',
        '--topic',
        topic,
        '--partition',
        '1',
        '--offset',
        '1',
        '--timeout-ms',
        '2000',
        '--format',
        'json',
        ...b,
      ]),
    );
    assert.deepEqual(
      one.map((r) => [r.partition, r.offset, r.value]),
      [
        [1, 1, 'new-1'],
        [1, 2, 'new-2'],
      ],
    );

    // Without --from-beginning only new records are read: none arrive, so it times out empty.
    const started = Date.now();
    const none = await runCli(['consume', '--topic', topic, '--timeout-ms', '1500', ...b]);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, '');
    assert.ok(Date.now() - started >= 1500);

    const badPartition = await runCli(['consume', '--topic', topic, '--partition', '7', '--timeout-ms', '500', ...b]);
    assert.equal(badPartition.code, 1);
    assert.match(badPartition.stderr, /has 2 partitions; there is no partition 7/);
  });
});
