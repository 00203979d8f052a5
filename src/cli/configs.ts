// `eddy configs describe|alter` for topics and brokers.
import { Admin, type ConfigResourceType } from '../client/index.js';
import { type OptionSpecs, type ParsedArgs, splitKeyValue } from './args.js';
import { clientOptions, print, printJson, table, UsageError } from './output.js';

export const CONFIGS_OPTIONS: OptionSpecs = {
  'entity-type': { kind: 'string', value: 'topics|brokers', description: 'kind of entity (required)' },
  'entity-name': { kind: 'string', value: 'name', description: 'topic name or broker id (describe: default all)' },
  'add-config': { kind: 'list', value: 'key=value', description: 'alter: set a setting' },
  'delete-config': { kind: 'list', value: 'key', description: 'alter: remove a setting (back to its default)' },
  all: { kind: 'boolean', description: 'describe: list defaults too (default: only overridden settings)' },
};

export const CONFIGS_HELP = `Usage: eddy configs <describe|alter> --entity-type topics|brokers [options]

Examples:
  eddy configs describe --entity-type topics --entity-name orders
  eddy configs describe --entity-type brokers --entity-name 1 --all
  eddy configs alter --entity-type topics --entity-name orders --add-config retention.ms=3600000 --add-config cleanup.policy=compact
  eddy configs alter --entity-type topics --entity-name orders --delete-config retention.ms
`;

// Kafka's ConfigSource codes, named as kafka-configs.sh names them.
const SOURCES: Record<number, string> = {
  0: 'UNKNOWN',
  1: 'DYNAMIC_TOPIC_CONFIG',
  2: 'DYNAMIC_BROKER_CONFIG',
  3: 'DYNAMIC_DEFAULT_BROKER_CONFIG',
  4: 'STATIC_BROKER_CONFIG',
  5: 'DEFAULT_CONFIG',
  6: 'DYNAMIC_BROKER_LOGGER_CONFIG',
  7: 'CLIENT_METRICS_CONFIG',
  8: 'GROUP_CONFIG',
};

/**
 * Whether a setting is set for the entity rather than inherited: a topic's own settings
 * (as kafka-configs.sh shows them), or a broker's non-default ones.
 */
export function isOverride(type: ConfigResourceType, source: number): boolean {
  return type === 'topic' ? source === 1 : source !== 5;
}

function entityType(args: ParsedArgs): ConfigResourceType {
  const t = args.requireString('entity-type');
  if (t === 'topics' || t === 'topic') return 'topic';
  if (t === 'brokers' || t === 'broker') return 'broker';
  throw new UsageError(`--entity-type must be topics or brokers, got ${t}`);
}

export async function configsCommand(sub: string | undefined, args: ParsedArgs): Promise<void> {
  if (sub !== 'describe' && sub !== 'alter')
    throw new UsageError(`unknown configs command ${sub ?? '(none)'}: use describe or alter`);
  const type = entityType(args);
  const admin = new Admin(clientOptions(args));
  try {
    if (sub === 'describe') await describe(admin, type, args);
    else await alter(admin, type, args);
  } finally {
    await admin.close();
  }
}

async function describe(admin: Admin, type: ConfigResourceType, args: ParsedArgs): Promise<void> {
  const name = args.string('entity-name');
  let names: string[];
  if (name !== undefined) names = [name];
  else if (type === 'topic') names = await admin.listTopics();
  else names = (await admin.describeCluster()).brokers.map((b) => String(b.nodeId));
  const all = args.bool('all');
  const results = names.length > 0 ? await admin.describeConfigs(names.map((n) => ({ type, name: n }))) : [];
  const out = names.map((n) => {
    const r = results.find((x) => x.name === n);
    const configs = (r?.configs ?? [])
      .filter((c) => all || isOverride(type, c.source))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((c) => ({
        name: c.name,
        value: c.isSensitive ? null : c.value,
        source: SOURCES[c.source] ?? String(c.source),
        readOnly: c.readOnly,
        sensitive: c.isSensitive,
      }));
    return { entityType: type === 'topic' ? 'topics' : 'brokers', entityName: n, configs };
  });
  if (args.bool('json')) {
    printJson(name !== undefined ? out[0] : out);
    return;
  }
  const label = type === 'topic' ? 'topic' : 'broker';
  print(
    out
      .map(
        (e) =>
          `Configs for ${label} ${e.entityName}:\n` +
          (e.configs.length === 0
            ? '(none overridden; --all lists defaults)\n'
            : table(
                ['name', 'value', 'source'],
                e.configs.map((c) => [c.name, c.sensitive ? '(sensitive)' : c.value, c.source]),
              )),
      )
      .join('\n'),
  );
}

async function alter(admin: Admin, type: ConfigResourceType, args: ParsedArgs): Promise<void> {
  const name = args.requireString('entity-name');
  const set = args.list('add-config').map((kv) => splitKeyValue(kv, '--add-config'));
  const del = args.list('delete-config');
  if (set.length === 0 && del.length === 0) throw new UsageError('configs alter needs --add-config or --delete-config');
  await admin.alterConfigs([
    {
      type,
      name,
      configs: [
        ...set.map(([k, v]) => ({ name: k, value: v, op: 'set' as const })),
        ...del.map((k) => ({ name: k, op: 'delete' as const })),
      ],
    },
  ]);
  if (args.bool('json'))
    printJson({
      entityType: type === 'topic' ? 'topics' : 'brokers',
      entityName: name,
      set: Object.fromEntries(set),
      deleted: del,
    });
  else print(`Completed updating config for ${type} ${name}.`);
}
