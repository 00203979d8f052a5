// `eddy groups list|describe|reset-offsets|delete`, after Kafka's kafka-consumer-groups.sh.
import { Admin, type GroupDescription, KafkaError } from '../client/index.js';
import type { OptionSpecs, ParsedArgs } from './args.js';
import { CommandError, clientOptions, print, printJson, table, UsageError } from './output.js';
import { parseIsoDuration, parseTimestamp } from './time.js';

export const GROUPS_OPTIONS: OptionSpecs = {
  group: { kind: 'string', short: 'g', value: 'id', description: 'consumer group id' },
  'all-groups': { kind: 'boolean', description: 'describe: every group' },
  topic: { kind: 'list', short: 't', value: 'name', description: 'reset-offsets: topic to reset' },
  'all-topics': { kind: 'boolean', description: 'reset-offsets: every topic the group has offsets for' },
  'to-earliest': { kind: 'boolean', description: 'reset to the log start offset' },
  'to-latest': { kind: 'boolean', description: 'reset to the log end offset' },
  'to-offset': { kind: 'number', value: 'n', description: 'reset to this offset (kept within the log)' },
  'to-datetime': { kind: 'string', value: 'iso', description: 'reset to the first record at or after this time' },
  'by-duration': { kind: 'string', value: 'PnDTnHnM', description: 'reset to this long before now, e.g. PT1H, P1D' },
  'shift-by': { kind: 'number', value: 'n', description: 'move the committed offset by n (may be negative)' },
  execute: { kind: 'boolean', description: 'reset-offsets: apply the plan (default: dry run)' },
  'dry-run': { kind: 'boolean', description: 'reset-offsets: only print the plan (the default)' },
};

export const GROUPS_HELP = `Usage: eddy groups <list|describe|reset-offsets|delete> [options]

describe shows, per partition, the committed (current) offset, the log end offset, the lag and
the member that owns it. reset-offsets prints its plan and changes nothing unless --execute is
given; like Kafka it refuses while the group has active members (stop the consumers first).

Examples:
  eddy groups list
  eddy groups describe --group billing
  eddy groups reset-offsets --group billing --topic orders --to-earliest
  eddy groups reset-offsets --group billing --all-topics --by-duration PT1H --execute
  eddy groups reset-offsets --group billing --topic orders --to-datetime 2024-05-01T00:00:00Z --execute
  eddy groups delete --group billing
`;

/**
 * DescribeGroups, or a stand-in with state Unknown and no members from a broker without it
 * (offsets and lag can still be shown from OffsetFetch and ListOffsets).
 */
async function describeGroups(admin: Admin, ids: readonly string[]): Promise<GroupDescription[]> {
  try {
    return await admin.describeGroups(ids);
  } catch (err) {
    if (!(err instanceof KafkaError && err.code === UNSUPPORTED_VERSION)) throw err;
    return ids.map((groupId) => ({ groupId, state: 'Unknown', protocolType: '', protocol: '', members: [] }));
  }
}

// Kafka's error code for an API or version the broker does not support.
const UNSUPPORTED_VERSION = 35;
// Commit errors meaning the group is not empty: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS.
const GROUP_BUSY: ReadonlySet<number> = new Set([25, 22, 27]);

export async function groupsCommand(sub: string | undefined, args: ParsedArgs): Promise<void> {
  const admin = new Admin(clientOptions(args));
  try {
    switch (sub) {
      case 'list':
        return await list(admin, args);
      case 'describe':
        return await describe(admin, args);
      case 'reset-offsets':
        return await resetOffsets(admin, args);
      case 'delete':
        return await remove(admin, args);
      default:
        throw new UsageError(`unknown groups command ${sub ?? '(none)'}: use list, describe, reset-offsets or delete`);
    }
  } finally {
    await admin.close();
  }
}

async function list(admin: Admin, args: ParsedArgs): Promise<void> {
  const groups = await admin.listGroups();
  if (args.bool('json')) printJson(groups);
  else if (groups.length > 0)
    print(
      table(
        ['group', 'type', 'state'],
        groups.map((g) => [g.groupId, g.protocolType || '-', g.state]),
      ),
    );
}

interface PartitionLag {
  topic: string;
  partition: number;
  currentOffset: number | null;
  logEndOffset: number;
  lag: number | null;
  memberId: string | null;
  clientId: string | null;
  host: string | null;
}

/** Log end offsets of every partition of the topics, by "topic\0partition". */
async function logEndOffsets(
  admin: Admin,
  topics: Iterable<string>,
): Promise<Map<string, { low: number; high: number }>> {
  const out = new Map<string, { low: number; high: number }>();
  for (const topic of new Set(topics)) {
    for (const o of await admin.fetchTopicOffsets(topic)) out.set(`${topic}\0${o.partition}`, o);
  }
  return out;
}

async function groupLag(admin: Admin, d: GroupDescription): Promise<PartitionLag[]> {
  const committed = await admin.fetchOffsets(d.groupId);
  const owner = new Map<string, GroupDescription['members'][number]>();
  for (const m of d.members) for (const tp of m.assignment) owner.set(`${tp.topic}\0${tp.partition}`, m);
  const keys = new Map<string, { topic: string; partition: number }>();
  for (const c of committed) keys.set(`${c.topic}\0${c.partition}`, c);
  for (const m of d.members) for (const tp of m.assignment) keys.set(`${tp.topic}\0${tp.partition}`, tp);
  const ends = await logEndOffsets(
    admin,
    [...keys.values()].map((k) => k.topic),
  );
  const rows: PartitionLag[] = [];
  for (const [k, tp] of keys) {
    const c = committed.find((x) => x.topic === tp.topic && x.partition === tp.partition);
    const current = c !== undefined && c.offset >= 0 ? c.offset : null;
    const end = ends.get(k)?.high ?? -1;
    const m = owner.get(k);
    rows.push({
      topic: tp.topic,
      partition: tp.partition,
      currentOffset: current,
      logEndOffset: end,
      lag: current === null || end < 0 ? null : Math.max(0, end - current),
      memberId: m?.memberId ?? null,
      clientId: m?.clientId ?? null,
      host: m?.clientHost ?? null,
    });
  }
  return rows.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

async function describe(admin: Admin, args: ParsedArgs): Promise<void> {
  const ids = args.bool('all-groups')
    ? (await admin.listGroups()).map((g) => g.groupId)
    : [args.requireString('group')];
  const descriptions = ids.length > 0 ? await describeGroups(admin, ids) : [];
  const out = [];
  for (const d of descriptions) {
    if (d.state === 'Dead') throw new CommandError(`consumer group ${d.groupId} does not exist`);
    out.push({
      group: d.groupId,
      state: d.state,
      protocolType: d.protocolType,
      assignor: d.protocol,
      members: d.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        host: m.clientHost,
        assignment: m.assignment,
      })),
      partitions: await groupLag(admin, d),
    });
  }
  if (args.bool('json')) {
    printJson(args.bool('all-groups') ? out : out[0]);
    return;
  }
  const blocks = out.map((g) => {
    const head =
      `Group ${g.group}: state ${g.state}, ${g.members.length} member${g.members.length === 1 ? '' : 's'}` +
      (g.assignor ? `, assignor ${g.assignor}` : '') +
      '\n';
    if (g.partitions.length === 0) return `${head}(no committed offsets and no assigned partitions)\n`;
    return (
      head +
      table(
        ['group', 'topic', 'partition', 'current-offset', 'log-end-offset', 'lag', 'consumer-id', 'host', 'client-id'],
        g.partitions.map((p) => [
          g.group,
          p.topic,
          p.partition,
          p.currentOffset,
          p.logEndOffset,
          p.lag,
          p.memberId,
          p.host,
          p.clientId,
        ]),
      )
    );
  });
  if (blocks.length > 0) print(blocks.join('\n'));
}

type Strategy =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset'; offset: number }
  | { kind: 'time'; timestamp: number }
  | { kind: 'shift'; by: number };

function strategyOf(args: ParsedArgs): Strategy {
  const chosen: Strategy[] = [];
  if (args.bool('to-earliest')) chosen.push({ kind: 'earliest' });
  if (args.bool('to-latest')) chosen.push({ kind: 'latest' });
  const offset = args.integer('to-offset', 0);
  if (offset !== undefined) chosen.push({ kind: 'offset', offset });
  const dt = args.string('to-datetime');
  if (dt !== undefined) chosen.push({ kind: 'time', timestamp: parseTimestamp(dt, '--to-datetime') });
  const dur = args.string('by-duration');
  if (dur !== undefined) chosen.push({ kind: 'time', timestamp: Date.now() - parseIsoDuration(dur, '--by-duration') });
  const shift = args.integer('shift-by');
  if (shift !== undefined) chosen.push({ kind: 'shift', by: shift });
  if (chosen.length !== 1)
    throw new UsageError(
      'reset-offsets needs exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --by-duration, --shift-by',
    );
  return chosen[0] as Strategy;
}

async function resetOffsets(admin: Admin, args: ParsedArgs): Promise<void> {
  const group = args.requireString('group');
  const strategy = strategyOf(args);
  const execute = args.bool('execute');
  if (execute && args.bool('dry-run')) throw new UsageError('--execute and --dry-run cannot be combined');
  const [d] = await describeGroups(admin, [group]);
  if (d !== undefined && d.members.length > 0)
    throw new CommandError(
      `consumer group ${group} has ${d.members.length} active member${d.members.length === 1 ? '' : 's'} ` +
        `(state ${d.state}); offsets can only be reset while the group is inactive: stop its consumers and retry`,
    );
  let topics = args.list('topic');
  let committed: Awaited<ReturnType<Admin['fetchOffsets']>>;
  if (args.bool('all-topics')) {
    if (topics.length > 0) throw new UsageError('use --topic or --all-topics, not both');
    committed = await admin.fetchOffsets(group);
    topics = [...new Set(committed.map((c) => c.topic))];
    if (topics.length === 0) throw new CommandError(`consumer group ${group} has no committed offsets`);
  } else {
    if (topics.length === 0) throw new UsageError('reset-offsets needs --topic or --all-topics');
    // Only the named topics' partitions: some servers cannot list all of a group's offsets.
    const partitions = [];
    for (const topic of topics) {
      const [d] = await admin.describeTopics([topic]);
      for (const p of d?.partitions ?? []) partitions.push({ topic, partition: p.partition });
    }
    committed = await admin.fetchOffsets(group, partitions);
  }
  const plan: { topic: string; partition: number; currentOffset: number | null; newOffset: number }[] = [];
  for (const topic of topics.sort()) {
    const bounds = await admin.fetchTopicOffsets(topic);
    const byTime =
      strategy.kind === 'time' ? await admin.fetchTopicOffsetsByTimestamp(topic, strategy.timestamp) : undefined;
    for (const b of bounds) {
      const c = committed.find((x) => x.topic === topic && x.partition === b.partition);
      const current = c !== undefined && c.offset >= 0 ? c.offset : null;
      let target: number;
      switch (strategy.kind) {
        case 'earliest':
          target = b.low;
          break;
        case 'latest':
          target = b.high;
          break;
        case 'offset':
          target = strategy.offset;
          break;
        case 'time': {
          const found = byTime?.find((x) => x.partition === b.partition)?.offset ?? -1;
          // No record at or after the time: the end of the log.
          target = found >= 0 ? found : b.high;
          break;
        }
        case 'shift':
          target = (current ?? b.low) + strategy.by;
          break;
      }
      // Like Kafka, offsets outside the log are moved to its nearest end.
      plan.push({
        topic,
        partition: b.partition,
        currentOffset: current,
        newOffset: Math.min(b.high, Math.max(b.low, target)),
      });
    }
  }
  if (execute) {
    try {
      await admin.setOffsets(
        group,
        plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.newOffset })),
      );
    } catch (err) {
      if (err instanceof KafkaError && GROUP_BUSY.has(err.code))
        throw new CommandError(
          `the broker refused to reset consumer group ${group} (${err.message}): it still counts members in the ` +
            'group; stop its consumers, wait for their sessions to end, and retry',
        );
      throw err;
    }
  }
  if (args.bool('json')) {
    printJson({ group, executed: execute, partitions: plan });
    return;
  }
  print(
    table(
      ['group', 'topic', 'partition', 'current-offset', 'new-offset'],
      plan.map((p) => [group, p.topic, p.partition, p.currentOffset, p.newOffset]),
    ),
  );
  print(
    execute
      ? `Reset ${plan.length} partition offset${plan.length === 1 ? '' : 's'} of group ${group}.`
      : 'Dry run: nothing changed. Add --execute to apply this plan.',
  );
}

async function remove(admin: Admin, args: ParsedArgs): Promise<void> {
  const group = args.requireString('group');
  await admin.deleteGroups([group]);
  if (args.bool('json')) printJson({ group, deleted: true });
  else print(`Deleted consumer group ${group}.`);
}
