// `eddy groups list|describe|reset-offsets|delete` end to end against an embedded broker.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin, Consumer } from '../../src/client/index.js';
import { uniqueName, waitFor } from '../helpers/client.js';
import { startEddyBroker, type TestBroker } from '../helpers/eddy-broker.js';
import { cliJson, cliOk, runCli, tableRows } from './run-cli.js';

interface PlanJson {
  group: string;
  executed: boolean;
  partitions: { topic: string; partition: number; currentOffset: number | null; newOffset: number }[];
}

interface DescribeJson {
  group: string;
  state: string;
  members: { memberId: string; clientId: string; host: string }[];
  partitions: {
    topic: string;
    partition: number;
    currentOffset: number | null;
    logEndOffset: number;
    lag: number | null;
    memberId: string | null;
    clientId: string | null;
    host: string | null;
  }[];
}

describe('eddy groups', { timeout: 240_000 }, () => {
  let broker: TestBroker;
  let admin: Admin;
  let b: string[];
  let topic: string;
  let cut: Date;

  before(async () => {
    broker = await startEddyBroker();
    admin = new Admin({ bootstrapServers: broker.bootstrap, logger: null });
    b = ['--bootstrap-server', broker.bootstrap];
    topic = uniqueName('cli-groups');
    await admin.createTopics([{ name: topic, numPartitions: 2 }]);
    // Per partition: offsets 0-2 before `cut`, 3-4 after it.
    for (const p of ['0', '1'])
      await cliOk(['produce', '--topic', topic, '--partition', p, ...b], { input: 'a\nb\nc\n' });
    await new Promise((r) => setTimeout(r, 50));
    cut = new Date();
    await new Promise((r) => setTimeout(r, 50));
    for (const p of ['0', '1']) await cliOk(['produce', '--topic', topic, '--partition', p, ...b], { input: 'd\ne\n' });
  });
  after(async () => {
    await admin.close();
    await broker.stop();
  });

  const committed = async (group: string): Promise<number[]> =>
    (await admin.fetchOffsets(group)).filter((o) => o.topic === topic).map((o) => o.offset);

  test('consume --group commits what it printed; list and describe show offsets and lag', async () => {
    const group = uniqueName('g-describe');
    const out = await cliOk([
      'consume',
      '--topic',
      topic,
      '--group',
      group,
      '--from-beginning',
      '--max-messages',
      '6',
      ...b,
    ]);
    assert.equal(out.trimEnd().split('\n').length, 6);
    const offsets = await committed(group);
    assert.equal(
      offsets.reduce((x, y) => x + y, 0),
      6,
      `committed ${offsets.join(',')}`,
    );

    const list = await cliOk(['groups', 'list', ...b]);
    const row = tableRows(list, 'GROUP').find((r) => r[0] === group);
    assert.deepEqual(row, [group, 'consumer', 'Empty']);
    const listJson = await cliJson<{ groupId: string; state: string }[]>(['groups', 'list', ...b]);
    assert.equal(listJson.find((g) => g.groupId === group)?.state, 'Empty');

    const human = await cliOk(['groups', 'describe', '--group', group, ...b]);
    const rows = tableRows(human, 'GROUP');
    assert.equal(rows.length, 2);
    for (const r of rows) {
      const [g, t, p, current, end, lag] = r;
      assert.equal(g, group);
      assert.equal(t, topic);
      assert.ok(p === '0' || p === '1');
      assert.equal(end, '5');
      assert.equal(Number(lag), 5 - Number(current));
    }
    const json = await cliJson<DescribeJson>(['groups', 'describe', '--group', group, ...b]);
    assert.equal(json.state, 'Empty');
    assert.deepEqual(json.members, []);
    assert.equal(
      json.partitions.reduce((s, p) => s + (p.lag ?? 0), 0),
      4,
    );
    assert.deepEqual(
      json.partitions.map((p) => p.logEndOffset),
      [5, 5],
    );

    const missing = await runCli(['groups', 'describe', '--group', uniqueName('nobody'), ...b]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not exist/);
  });

  test('reset-offsets: dry run changes nothing; --execute applies every strategy', async () => {
    const group = uniqueName('g-reset');
    await admin.setOffsets(group, [
      { topic, partition: 0, offset: 4 },
      { topic, partition: 1, offset: 4 },
    ]);
    const reset = (strategy: string[], extra: string[] = []): string[] => [
      'groups',
      'reset-offsets',
      '--group',
      group,
      '--topic',
      topic,
      ...strategy,
      ...extra,
      ...b,
    ];

    const dry = await cliOk(reset(['--to-earliest']));
    assert.deepEqual(
      tableRows(dry, 'GROUP').map((r) => r.slice(2)),
      [
        ['0', '4', '0'],
        ['1', '4', '0'],
      ],
    );
    assert.match(dry, /Dry run: nothing changed/);
    const dryJson = await cliJson<PlanJson>(reset(['--to-earliest'], ['--dry-run']));
    assert.equal(dryJson.executed, false);
    assert.deepEqual(await committed(group), [4, 4], 'a dry run leaves the offsets alone');

    const cases: [string[], number[]][] = [
      [['--to-earliest'], [0, 0]],
      [['--to-latest'], [5, 5]],
      [
        ['--to-offset', '2'],
        [2, 2],
      ],
      [
        ['--shift-by', '1'],
        [3, 3],
      ],
      [
        ['--shift-by', '-10'],
        [0, 0],
      ],
      [
        ['--to-offset', '99'],
        [5, 5],
      ],
      [
        ['--to-datetime', cut.toISOString()],
        [3, 3],
      ],
      [
        ['--by-duration', 'PT1H'],
        [0, 0],
      ],
      [
        ['--by-duration', 'PT0S'],
        [5, 5],
      ],
    ];
    for (const [strategy, expected] of cases) {
      const plan = await cliJson<PlanJson>(reset(strategy, ['--execute']));
      assert.equal(plan.executed, true);
      assert.deepEqual(
        plan.partitions.map((p) => p.newOffset),
        expected,
        strategy.join(' '),
      );
      assert.deepEqual(await committed(group), expected, `committed after ${strategy.join(' ')}`);
    }

    const human = await cliOk(reset(['--to-offset', '1'], ['--execute']));
    assert.match(human, /Reset 2 partition offsets/);
    assert.deepEqual(await committed(group), [1, 1]);

    const all = await cliJson<PlanJson>([
      'groups',
      'reset-offsets',
      '--group',
      group,
      '--all-topics',
      '--to-latest',
      '--execute',
      ...b,
    ]);
    assert.deepEqual(
      all.partitions.map((p) => [p.topic, p.partition, p.newOffset]),
      [
        [topic, 0, 5],
        [topic, 1, 5],
      ],
    );

    const twoStrategies = await runCli(reset(['--to-earliest', '--to-latest']));
    assert.equal(twoStrategies.code, 2);
    assert.match(twoStrategies.stderr, /exactly one of/);
    const badDuration = await runCli(reset(['--by-duration', '1 hour']));
    assert.equal(badDuration.code, 2);
    assert.match(badDuration.stderr, /ISO-8601 duration/);
  });

  test('reset-offsets and delete refuse while the group has an active member; describe shows it', async () => {
    const group = uniqueName('g-active');
    await admin.setOffsets(group, [
      { topic, partition: 0, offset: 1 },
      { topic, partition: 1, offset: 1 },
    ]);
    const consumer = new Consumer({
      bootstrapServers: broker.bootstrap,
      groupId: group,
      clientId: 'cli-test-member',
      autoCommit: false,
      logger: null,
    });
    consumer.subscribe([topic]);
    const running = consumer.run({ eachMessage: async () => {} });
    try {
      await waitFor(() => consumer.assignment().length === 2, 30_000, 'the member to be assigned both partitions');
      const json = await cliJson<DescribeJson>(['groups', 'describe', '--group', group, ...b]);
      assert.equal(json.state, 'Stable');
      assert.equal(json.members.length, 1);
      for (const p of json.partitions) {
        assert.equal(p.clientId, 'cli-test-member');
        assert.equal(p.memberId, json.members[0]?.memberId);
        assert.ok(p.host && p.host.length > 0);
      }
      const human = await cliOk(['groups', 'describe', '--group', group, ...b]);
      for (const r of tableRows(human, 'GROUP')) assert.equal(r[8], 'cli-test-member');

      const refused = await runCli([
        'groups',
        'reset-offsets',
        '--group',
        group,
        '--topic',
        topic,
        '--to-earliest',
        '--execute',
        ...b,
      ]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /has 1 active member .*stop its consumers/);
      assert.deepEqual(await committed(group), [1, 1], 'nothing was reset');

      const notDeleted = await runCli(['groups', 'delete', '--group', group, ...b]);
      assert.equal(notDeleted.code, 1);
      assert.match(notDeleted.stderr, /NON_EMPTY_GROUP/);
    } finally {
      await consumer.close();
      await running;
    }
    await waitFor(
      async () => (await admin.describeGroups([group]))[0]?.members.length === 0,
      30_000,
      'the member to leave',
    );
    assert.match(
      await cliOk(['groups', 'delete', '--group', group, ...b]),
      new RegExp(`Deleted consumer group ${group}`),
    );
    const groups = await cliJson<{ groupId: string }[]>(['groups', 'list', ...b]);
    assert.ok(!groups.some((g) => g.groupId === group));
  });
});
