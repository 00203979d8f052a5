// `eddy topics create|list|describe|alter|delete`.
import { Admin, type ConfigEntry, KafkaError } from '../client/index.js';
import { type OptionSpecs, type ParsedArgs, splitKeyValue } from './args.js';
import { isOverride } from './configs.js';
import { CommandError, clientOptions, print, printJson, table, UsageError } from './output.js';

// Kafka's error code for an API or version the broker does not support.
const UNSUPPORTED_VERSION = 35;

export const TOPICS_OPTIONS: OptionSpecs = {
  topic: { kind: 'string', short: 't', value: 'name', description: 'topic name' },
  partitions: { kind: 'number', value: 'n', description: 'partition count (create; alter: the new, larger count)' },
  'replication-factor': { kind: 'number', value: 'n', description: 'replicas per partition (create)' },
  config: { kind: 'list', value: 'key=value', description: 'topic setting (create, alter)' },
  'if-not-exists': { kind: 'boolean', description: 'create: succeed when the topic exists' },
  'include-internal': { kind: 'boolean', description: 'list/describe: include internal topics' },
  'all-configs': { kind: 'boolean', description: 'describe: show default configs too' },
};

export const TOPICS_HELP = `Usage: eddy topics <create|list|describe|alter|delete> [options]

Examples:
  eddy topics create --topic orders --partitions 6 --replication-factor 3 --config retention.ms=86400000
  eddy topics list
  eddy topics describe --topic orders
  eddy topics alter --topic orders --partitions 12 --config cleanup.policy=compact
  eddy topics delete --topic orders
`;

function parseConfigs(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const [k, v] = splitKeyValue(kv, '--config');
    out[k] = v;
  }
  return out;
}

export async function topicsCommand(sub: string | undefined, args: ParsedArgs): Promise<void> {
  const admin = new Admin(clientOptions(args));
  try {
    switch (sub) {
      case 'create':
        return await create(admin, args);
      case 'list':
        return await list(admin, args);
      case 'describe':
        return await describe(admin, args);
      case 'alter':
        return await alter(admin, args);
      case 'delete':
        return await remove(admin, args);
      default:
        throw new UsageError(`unknown topics command ${sub ?? '(none)'}: use create, list, describe, alter or delete`);
    }
  } finally {
    await admin.close();
  }
}

async function create(admin: Admin, args: ParsedArgs): Promise<void> {
  const topic = args.requireString('topic');
  const [result] = await admin.createTopics([
    {
      name: topic,
      numPartitions: args.integer('partitions', 1) ?? -1,
      replicationFactor: args.integer('replication-factor', 1) ?? -1,
      configs: parseConfigs(args.list('config')),
    },
  ]);
  if (result === undefined) throw new CommandError(`the broker did not answer for topic ${topic}`);
  if (!result.created && !args.bool('if-not-exists')) throw new CommandError(`topic ${topic} already exists`);
  if (args.bool('json')) printJson(result);
  else if (result.created)
    print(
      `Created topic ${topic} (${result.numPartitions} partitions, replication factor ${result.replicationFactor}).`,
    );
  else print(`Topic ${topic} already exists.`);
}

async function list(admin: Admin, args: ParsedArgs): Promise<void> {
  const names = await admin.listTopics({ includeInternal: args.bool('include-internal') });
  if (args.bool('json')) printJson(names);
  else if (names.length > 0) print(names.join('\n'));
}

/** Configs that differ from defaults, unless all are asked for. */
function shownConfigs(configs: readonly ConfigEntry[], all: boolean): ConfigEntry[] {
  return configs.filter((c) => all || isOverride('topic', c.source)).sort((a, b) => (a.name < b.name ? -1 : 1));
}

async function describe(admin: Admin, args: ParsedArgs): Promise<void> {
  const wanted = args.string('topic');
  const names = wanted ? [wanted] : await admin.listTopics({ includeInternal: args.bool('include-internal') });
  const descriptions = names.length > 0 ? await admin.describeTopics(names) : [];
  let configs: Awaited<ReturnType<Admin['describeConfigs']>> | null = [];
  try {
    if (names.length > 0)
      configs = await admin.describeConfigs(names.map((name) => ({ type: 'topic' as const, name })));
  } catch (err) {
    // Brokers without DescribeConfigs (some test servers) still get their partitions described.
    if (!(err instanceof KafkaError && err.code === UNSUPPORTED_VERSION)) throw err;
    configs = null;
  }
  const all = args.bool('all-configs');
  const out = descriptions.map((d) => {
    const c = configs?.find((x) => x.name === d.name)?.configs ?? null;
    return {
      name: d.name,
      topicId: d.topicId,
      isInternal: d.isInternal,
      partitionCount: d.partitions.length,
      replicationFactor: d.partitions[0]?.replicas.length ?? 0,
      partitions: d.partitions
        .map((p) => ({
          partition: p.partition,
          leader: p.leader,
          replicas: p.replicas,
          isr: p.isr,
          offlineReplicas: p.offlineReplicas,
        }))
        .sort((a, b) => a.partition - b.partition),
      // null when the broker cannot describe configs.
      configs:
        c === null
          ? null
          : Object.fromEntries(shownConfigs(c, all).map((e) => [e.name, e.isSensitive ? null : e.value])),
    };
  });
  if (args.bool('json')) {
    printJson(wanted ? out[0] : out);
    return;
  }
  const blocks = out.map((t) => {
    const cfg =
      t.configs === null
        ? '(not available from this broker)'
        : Object.entries(t.configs)
            .map(([k, v]) => `${k}=${v ?? '(sensitive)'}`)
            .join(',');
    const head =
      `Topic: ${t.name}  TopicId: ${t.topicId}  PartitionCount: ${t.partitionCount}  ` +
      `ReplicationFactor: ${t.replicationFactor}  Configs: ${cfg}\n`;
    const rows = t.partitions.map((p) => [p.partition, p.leader, p.replicas.join(','), p.isr.join(',')]);
    return head + table(['partition', 'leader', 'replicas', 'isr'], rows);
  });
  if (blocks.length > 0) print(blocks.join('\n'));
}

async function alter(admin: Admin, args: ParsedArgs): Promise<void> {
  const topic = args.requireString('topic');
  const partitions = args.integer('partitions', 1);
  const configs = parseConfigs(args.list('config'));
  if (partitions === undefined && Object.keys(configs).length === 0)
    throw new UsageError('topics alter needs --partitions and/or --config key=value');
  const [before] = await admin.describeTopics([topic]);
  const current = before?.partitions.length ?? 0;
  const changes: string[] = [];
  if (partitions !== undefined && partitions !== current) {
    if (partitions < current)
      throw new CommandError(`topic ${topic} has ${current} partitions; partitions can be added but not removed`);
    await admin.createPartitions([{ topic, count: partitions }]);
    changes.push(`partitions ${current} -> ${partitions}`);
  }
  if (Object.keys(configs).length > 0) {
    await admin.alterConfigs([
      {
        type: 'topic',
        name: topic,
        configs: Object.entries(configs).map(([name, value]) => ({ name, value, op: 'set' as const })),
      },
    ]);
    for (const [k, v] of Object.entries(configs)) changes.push(`${k}=${v}`);
  }
  if (args.bool('json')) printJson({ topic, partitions: partitions ?? current, configs, changed: changes.length > 0 });
  else print(changes.length > 0 ? `Altered topic ${topic}: ${changes.join(', ')}.` : `Topic ${topic} unchanged.`);
}

async function remove(admin: Admin, args: ParsedArgs): Promise<void> {
  const topic = args.requireString('topic');
  await admin.deleteTopics([topic]);
  if (args.bool('json')) printJson({ topic, deleted: true });
  else print(`Deleted topic ${topic}.`);
}
