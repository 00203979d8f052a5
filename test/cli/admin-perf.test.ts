// `eddy --help`, connection errors, `eddy configs`, `eddy cluster describe` and `eddy perf`
// end to end against an embedded broker.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin } from '../../src/client/index.js';
import { uniqueName } from '../helpers/client.js';
import { startEddyBroker, type TestBroker } from '../helpers/eddy-broker.js';
import { cliJson, cliOk, runCli, tableRows, unusedPort } from './run-cli.js';

interface PerfJson {
  test: string;
  records: number;
  elapsedMs: number;
  recordsPerSec: number;
  mbPerSec: number;
  latencyMs?: { avg: number; max: number; p50: number; p95: number; p99: number; p999: number };
}

describe('eddy help and errors', { timeout: 120_000 }, () => {
  test('--help lists every command; each command has its own help with examples', async () => {
    const top = await cliOk(['--help']);
    for (const cmd of ['topics', 'produce', 'consume', 'groups', 'configs', 'cluster describe', 'perf', 'broker start'])
      assert.ok(top.includes(cmd), `top-level help mentions ${cmd}`);
    for (const cmd of [
      ['topics'],
      ['produce'],
      ['consume'],
      ['groups'],
      ['configs'],
      ['cluster', 'describe'],
      ['perf'],
    ]) {
      const help = await cliOk([...cmd, '--help']);
      assert.match(help, /Usage: eddy/);
      assert.match(help, /Examples:\n {2}.*eddy /, `${cmd.join(' ')} --help has examples`);
      assert.match(help, /--bootstrap-server/);
    }
    const unknown = await runCli(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command frobnicate/);
    const badOption = await runCli(['topics', 'list', '--no-such-option']);
    assert.equal(badOption.code, 2);
    assert.match(badOption.stderr, /unknown option --no-such-option/);
  });

  test('cannot connect: names the address, the cause and what to check, without a stack trace', async () => {
    const port = await unusedPort();
    const address = `127.0.0.1:${port}`;
    for (const args of [
      ['topics', 'list'],
      ['produce', '--topic', 'x'],
      ['groups', 'list', '--json'],
    ]) {
      const started = Date.now();
      const r = await runCli([...args, '--bootstrap-server', address], { input: 'x\n' });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`cannot connect to ${address.replace(/\./g, '\\.')}: connection refused`));
      assert.match(r.stderr, /ECONNREFUSED/);
      assert.match(r.stderr, /check that a Kafka-compatible broker is running/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.ok(Date.now() - started < 30_000, 'fails within seconds');
    }
  });
});

describe('eddy configs, cluster describe and perf', { timeout: 240_000 }, () => {
  let broker: TestBroker;
  let admin: Admin;
  let b: string[];

  before(async () => {
    broker = await startEddyBroker();
    admin = new Admin({ bootstrapServers: broker.bootstrap, logger: null });
    b = ['--bootstrap-server', broker.bootstrap];
  });
  after(async () => {
    await admin.close();
    await broker.stop();
  });

  test('configs describe and alter a topic', async () => {
    const topic = uniqueName('cli-configs');
    await admin.createTopics([{ name: topic, numPartitions: 1, configs: { 'retention.ms': '100000' } }]);
    const entity = ['--entity-type', 'topics', '--entity-name', topic, ...b];
    const human = await cliOk(['configs', 'describe', ...entity]);
    assert.match(human, new RegExp(`Configs for topic ${topic}`));
    assert.deepEqual(tableRows(human, 'NAME'), [['retention.ms', '100000', 'DYNAMIC_TOPIC_CONFIG']]);

    const altered = await cliOk([
      'configs',
      'alter',
      ...entity,
      '--add-config',
      'cleanup.policy=compact',
      '--add-config',
      'max.message.bytes=200000',
      '--delete-config',
      'retention.ms',
    ]);
    assert.match(altered, /Completed updating config/);
    interface ConfigsJson {
      entityName: string;
      configs: { name: string; value: string | null; source: string }[];
    }
    const json = await cliJson<ConfigsJson>(['configs', 'describe', ...entity]);
    assert.equal(json.entityName, topic);
    assert.deepEqual(
      json.configs.map((c) => [c.name, c.value]),
      [
        ['cleanup.policy', 'compact'],
        ['max.message.bytes', '200000'],
      ],
    );
    // The change is real: the admin client sees it too.
    const [seen] = await admin.describeConfigs([{ type: 'topic', name: topic }]);
    assert.equal(seen?.configs.find((c) => c.name === 'cleanup.policy')?.value, 'compact');
    assert.equal(
      seen?.configs.find((c) => c.name === 'retention.ms')?.source,
      5,
      'retention.ms is back to its default',
    );

    const withDefaults = await cliJson<ConfigsJson>(['configs', 'describe', ...entity, '--all']);
    assert.ok(withDefaults.configs.some((c) => c.name === 'segment.bytes' && c.source === 'DEFAULT_CONFIG'));
  });

  test('configs describe and alter a broker', async () => {
    const cluster = await admin.describeCluster();
    const id = String(cluster.brokers[0]?.nodeId);
    const entity = ['--entity-type', 'brokers', '--entity-name', id, ...b];
    await cliOk(['configs', 'alter', ...entity, '--add-config', 'log.retention.ms=7200000']);
    interface ConfigsJson {
      configs: { name: string; value: string | null; source: string }[];
    }
    const json = await cliJson<ConfigsJson>(['configs', 'describe', ...entity]);
    assert.deepEqual(
      json.configs.find((c) => c.name === 'log.retention.ms'),
      {
        name: 'log.retention.ms',
        value: '7200000',
        source: 'DYNAMIC_BROKER_CONFIG',
        readOnly: false,
        sensitive: false,
      },
    );
    const human = await cliOk(['configs', 'describe', ...entity]);
    assert.ok(tableRows(human, 'NAME').some((r) => r[0] === 'log.retention.ms' && r[1] === '7200000'));
    await cliOk(['configs', 'alter', ...entity, '--delete-config', 'log.retention.ms']);
    const after = await cliJson<ConfigsJson>(['configs', 'describe', ...entity]);
    assert.equal(
      after.configs.find((c) => c.name === 'log.retention.ms'),
      undefined,
    );
    const bad = await runCli(['configs', 'describe', '--entity-type', 'users', ...b]);
    assert.equal(bad.code, 2);
  });

  test('cluster describe shows brokers, controller and cluster id', async () => {
    const truth = await admin.describeCluster();
    const json = await cliJson<{
      clusterId: string;
      controllerId: number;
      brokers: { nodeId: number; host: string; port: number }[];
    }>(['cluster', 'describe', ...b]);
    assert.equal(json.clusterId, truth.clusterId);
    assert.equal(json.controllerId, truth.controllerId);
    assert.deepEqual(
      json.brokers.map((x) => `${x.host}:${x.port}`),
      [broker.bootstrap],
    );
    const human = await cliOk(['cluster', 'describe', ...b]);
    assert.match(human, new RegExp(`Cluster ID: ${truth.clusterId}`));
    assert.match(human, new RegExp(`Controller: ${truth.controllerId}`));
    const [row] = tableRows(human, 'ID');
    assert.deepEqual(row?.slice(0, 3), [String(truth.brokers[0]?.nodeId), '127.0.0.1', broker.bootstrap.split(':')[1]]);
  });

  test('perf produce, consume and latency report rates and percentiles', async () => {
    const topic = uniqueName('cli-perf');
    await admin.createTopics([{ name: topic, numPartitions: 2 }]);
    const produced = await cliJson<PerfJson>([
      'perf',
      'produce',
      '--topic',
      topic,
      '--num-records',
      '3000',
      '--record-size',
      '200',
      '--acks',
      '1',
      '--compression',
      'lz4',
      ...b,
    ]);
    assert.equal(produced.test, 'produce');
    assert.equal(produced.records, 3000);
    assert.ok(produced.recordsPerSec > 0 && produced.mbPerSec > 0);
    const l = produced.latencyMs;
    assert.ok(l !== undefined);
    assert.ok(l.p50 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, JSON.stringify(l));
    assert.ok(l.avg > 0 && l.avg <= l.max);
    const offsets = await admin.fetchTopicOffsets(topic);
    assert.equal(
      offsets.reduce((s, o) => s + o.high, 0),
      3000,
      'every record reached the broker',
    );
    // The rate limit holds: 400 records at 200/s take about 2 s.
    const limitedRun = await runCli([
      'perf',
      'produce',
      '--topic',
      topic,
      '--num-records',
      '400',
      '--throughput',
      '200',
      '--reporting-interval-ms',
      '500',
      ...b,
    ]);
    assert.equal(limitedRun.code, 0, limitedRun.stderr);
    const limited = limitedRun.stdout;
    // stderr is not a TTY here: progress comes as separate lines while it runs.
    const progress = limitedRun.stderr
      .split('\n')
      .filter((l) => /^\d+\/400 records acknowledged, [\d.]+ records\/s/.test(l));
    assert.ok(progress.length >= 2, `progress lines: ${limitedRun.stderr}`);
    const m =
      /(\d+) records in ([\d.]+) s: ([\d.]+) records\/s, ([\d.]+) MB\/s\nlatency ms: avg [\d.]+, p50 [\d.]+, p95 [\d.]+, p99 [\d.]+, p99\.9 [\d.]+, max [\d.]+/.exec(
        limited,
      );
    assert.ok(m, limited);
    assert.equal(m[1], '400');
    assert.ok(Number(m[2]) >= 1.9, `400 records at 200/s took ${m[2]} s`);
    assert.ok(Number(m[3]) <= 215, `rate ${m[3]} records/s`);

    const consumed = await cliJson<PerfJson>(['perf', 'consume', '--topic', topic, '--num-records', '3400', ...b]);
    assert.equal(consumed.test, 'consume');
    assert.equal(consumed.records, 3400);
    assert.ok(consumed.mbPerSec > 0);
    const tooMany = await runCli([
      'perf',
      'consume',
      '--topic',
      topic,
      '--num-records',
      '5000',
      '--timeout-ms',
      '1500',
      ...b,
    ]);
    assert.equal(tooMany.code, 1);
    assert.match(tooMany.stderr, /only 3400 of 5000 records arrived/);

    const latency = await cliJson<PerfJson>([
      'perf',
      'latency',
      '--topic',
      uniqueName('cli-latency'),
      '--num-records',
      '50',
      ...b,
    ]);
    assert.equal(latency.test, 'latency');
    assert.equal(latency.records, 50);
    const e = latency.latencyMs;
    assert.ok(e !== undefined && e.p50 > 0 && e.p50 <= e.p99 && e.p99 <= e.max);
  });
});
