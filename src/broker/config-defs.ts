// Config definitions with Kafka's names, types and defaults (facts from Kafka's docs),
// and the mapping from topic configs to their broker-level synonyms.

export type ConfigType = 'boolean' | 'string' | 'int' | 'short' | 'long' | 'double' | 'list' | 'class' | 'password';

/** DescribeConfigs ConfigType codes (KIP-569). */
export const CONFIG_TYPE_CODE: Record<ConfigType, number> = {
  boolean: 1,
  string: 2,
  int: 3,
  short: 4,
  long: 5,
  double: 6,
  list: 7,
  class: 8,
  password: 9,
};

/** DescribeConfigs ConfigSource codes. */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
  CLIENT_METRICS_CONFIG: 7,
} as const;

/** Config resource types used by DescribeConfigs/AlterConfigs and ConfigRecord. */
export const ConfigResourceType = {
  UNKNOWN: 0,
  TOPIC: 2,
  BROKER: 4,
  BROKER_LOGGER: 8,
  CLIENT_METRICS: 16,
  GROUP: 32,
} as const;

export type Validator = (value: string) => string | null;

export interface ConfigDef {
  name: string;
  type: ConfigType;
  /** Kafka's default, as text; null means no value. */
  defaultValue: string | null;
  doc: string;
  validate?: Validator;
  /** Broker configs that can be changed at runtime through AlterConfigs. */
  dynamic?: boolean;
  sensitive?: boolean;
}

const LONG_MAX = '9223372036854775807';
const INT_MAX = '2147483647';

export function atLeast(min: number): Validator {
  return (v) => (Number(v) >= min ? null : `must be at least ${min}`);
}
export function between(min: number, max: number): Validator {
  return (v) => (Number(v) >= min && Number(v) <= max ? null : `must be between ${min} and ${max}`);
}
export function oneOf(...allowed: string[]): Validator {
  return (v) => (allowed.includes(v) ? null : `must be one of ${allowed.join(', ')}`);
}
function listOf(...allowed: string[]): Validator {
  return (v) => {
    const items = v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (items.length === 0) return 'must not be empty';
    const bad = items.filter((i) => !allowed.includes(i));
    return bad.length === 0 ? null : `unknown values ${bad.join(', ')} (allowed: ${allowed.join(', ')})`;
  };
}

const COMPRESSION_TYPES = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'];
const TIMESTAMP_TYPES = ['CreateTime', 'LogAppendTime'];

/** Topic-level configs, each with its broker synonyms in Kafka's priority order. */
export interface TopicConfigDef extends ConfigDef {
  brokerSynonyms: string[];
}

function topic(
  name: string,
  type: ConfigType,
  defaultValue: string | null,
  brokerSynonyms: string[],
  doc: string,
  validate?: Validator,
): TopicConfigDef {
  return { name, type, defaultValue, brokerSynonyms, doc, ...(validate ? { validate } : {}) };
}

export const TOPIC_CONFIG_DEFS: readonly TopicConfigDef[] = [
  topic(
    'cleanup.policy',
    'list',
    'delete',
    ['log.cleanup.policy'],
    'Retention policy: delete old segments, compact by key, or both.',
    listOf('delete', 'compact'),
  ),
  topic(
    'compression.type',
    'string',
    'producer',
    ['compression.type'],
    'Final compression of the topic data; producer keeps what the producer sent.',
    oneOf(...COMPRESSION_TYPES),
  ),
  topic(
    'delete.retention.ms',
    'long',
    '86400000',
    ['log.cleaner.delete.retention.ms'],
    'How long delete tombstones are kept on compacted topics.',
    atLeast(0),
  ),
  topic(
    'file.delete.delay.ms',
    'long',
    '60000',
    ['log.segment.delete.delay.ms'],
    'Time to wait before deleting a file from the filesystem.',
    atLeast(0),
  ),
  topic(
    'flush.messages',
    'long',
    LONG_MAX,
    ['log.flush.interval.messages'],
    'Number of messages after which the log is fsynced.',
    atLeast(1),
  ),
  topic('flush.ms', 'long', LONG_MAX, ['log.flush.interval.ms'], 'Time after which the log is fsynced.', atLeast(0)),
  topic(
    'follower.replication.throttled.replicas',
    'list',
    '',
    ['follower.replication.throttled.replicas'],
    'Replicas whose log replication is throttled on the follower side.',
  ),
  topic(
    'index.interval.bytes',
    'int',
    '4096',
    ['log.index.interval.bytes'],
    'Bytes between offset index entries.',
    atLeast(0),
  ),
  topic(
    'leader.replication.throttled.replicas',
    'list',
    '',
    ['leader.replication.throttled.replicas'],
    'Replicas whose log replication is throttled on the leader side.',
  ),
  topic(
    'local.retention.bytes',
    'long',
    '-2',
    ['log.local.retention.bytes'],
    'Local retention size for tiered storage (-2 means retention.bytes).',
    atLeast(-2),
  ),
  topic(
    'local.retention.ms',
    'long',
    '-2',
    ['log.local.retention.ms'],
    'Local retention time for tiered storage (-2 means retention.ms).',
    atLeast(-2),
  ),
  topic(
    'max.compaction.lag.ms',
    'long',
    LONG_MAX,
    ['log.cleaner.max.compaction.lag.ms'],
    'Maximum time a message stays uncompacted.',
    atLeast(1),
  ),
  topic('max.message.bytes', 'int', '1048588', ['message.max.bytes'], 'Largest record batch size allowed.', atLeast(0)),
  topic(
    'message.timestamp.after.max.ms',
    'long',
    LONG_MAX,
    ['log.message.timestamp.after.max.ms'],
    'Largest allowed amount a record timestamp may be ahead of the broker time.',
    atLeast(0),
  ),
  topic(
    'message.timestamp.before.max.ms',
    'long',
    LONG_MAX,
    ['log.message.timestamp.before.max.ms'],
    'Largest allowed amount a record timestamp may be behind the broker time.',
    atLeast(0),
  ),
  topic(
    'message.timestamp.type',
    'string',
    'CreateTime',
    ['log.message.timestamp.type'],
    'Whether record timestamps are the producer create time or the log append time.',
    oneOf(...TIMESTAMP_TYPES),
  ),
  topic(
    'min.cleanable.dirty.ratio',
    'double',
    '0.5',
    ['log.cleaner.min.cleanable.ratio'],
    'Dirty ratio at which the log cleaner compacts.',
    between(0, 1),
  ),
  topic(
    'min.compaction.lag.ms',
    'long',
    '0',
    ['log.cleaner.min.compaction.lag.ms'],
    'Minimum time a message stays uncompacted.',
    atLeast(0),
  ),
  topic(
    'min.insync.replicas',
    'int',
    '1',
    ['min.insync.replicas'],
    'Replicas that must acknowledge an acks=all write.',
    atLeast(1),
  ),
  topic('preallocate', 'boolean', 'false', ['log.preallocate'], 'Preallocate segment files.'),
  topic(
    'remote.storage.enable',
    'boolean',
    'false',
    [],
    'Tiered storage for this topic (not supported by Eddy; must stay false).',
    oneOf('false'),
  ),
  topic(
    'retention.bytes',
    'long',
    '-1',
    ['log.retention.bytes'],
    'Largest size a partition may grow to before old segments are deleted (-1: no limit).',
  ),
  topic(
    'retention.ms',
    'long',
    '604800000',
    ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
    'Longest time a segment is kept before deletion (-1: no limit).',
    atLeast(-1),
  ),
  topic('segment.bytes', 'int', '1073741824', ['log.segment.bytes'], 'Segment file size.', atLeast(14)),
  topic(
    'segment.index.bytes',
    'int',
    '10485760',
    ['log.index.size.max.bytes'],
    'Size of the offset index per segment.',
    atLeast(4),
  ),
  topic(
    'segment.jitter.ms',
    'long',
    '0',
    ['log.roll.jitter.ms', 'log.roll.jitter.hours'],
    'Random jitter subtracted from segment.ms.',
    atLeast(0),
  ),
  topic(
    'segment.ms',
    'long',
    '604800000',
    ['log.roll.ms', 'log.roll.hours'],
    'Time after which the active segment is rolled.',
    atLeast(1),
  ),
  topic(
    'unclean.leader.election.enable',
    'boolean',
    'false',
    ['unclean.leader.election.enable'],
    'Allow out-of-sync replicas to become leader as a last resort.',
  ),
];

export const TOPIC_CONFIGS: ReadonlyMap<string, TopicConfigDef> = new Map(TOPIC_CONFIG_DEFS.map((d) => [d.name, d]));

function broker(
  name: string,
  type: ConfigType,
  defaultValue: string | null,
  doc: string,
  extra: Partial<ConfigDef> = {},
): ConfigDef {
  return { name, type, defaultValue, doc, ...extra };
}

const dyn = { dynamic: true };

/** Broker configs Eddy reads (or reports), with Kafka's defaults. */
export const BROKER_CONFIG_DEFS: readonly ConfigDef[] = [
  broker('node.id', 'int', '1', 'This node id.', { validate: atLeast(0) }),
  broker('broker.id', 'int', '-1', 'Legacy alias of node.id.'),
  broker('process.roles', 'list', 'broker,controller', 'Roles of this node: broker, controller, or both.', {
    validate: listOf('broker', 'controller'),
  }),
  broker('listeners', 'list', 'PLAINTEXT://127.0.0.1:9092', 'Listeners: name://host:port, comma separated.'),
  broker('advertised.listeners', 'list', null, 'Listeners published to clients (defaults to listeners).'),
  broker(
    'listener.security.protocol.map',
    'string',
    'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
    'Listener name to security protocol.',
  ),
  broker('inter.broker.listener.name', 'string', null, 'Listener used between brokers.'),
  broker('controller.listener.names', 'list', 'CONTROLLER', 'Listeners used by the controller.'),
  broker(
    'cluster.id',
    'string',
    null,
    'Cluster id for new log dirs (default: derived from controller.quorum.voters, or random).',
  ),
  broker(
    'metadata.log.max.record.bytes.between.snapshots',
    'long',
    '20971520',
    'Metadata log bytes between snapshots.',
  ),
  broker('controller.quorum.retry.backoff.ms', 'int', '20', 'Raft retry backoff.'),
  broker('controller.quorum.voters', 'list', '', 'Static controller quorum: id@host:port, comma separated.'),
  broker('controller.quorum.bootstrap.servers', 'list', '', 'Controller endpoints to discover the quorum.'),
  broker('controller.quorum.election.timeout.ms', 'int', '1000', 'Base of the randomized election timeout.', {
    validate: atLeast(1),
  }),
  broker(
    'controller.quorum.fetch.timeout.ms',
    'int',
    '2000',
    'A follower without a fetch from the leader this long starts an election.',
    {
      validate: atLeast(1),
    },
  ),
  broker(
    'controller.quorum.election.backoff.max.ms',
    'int',
    '1000',
    'Largest backoff before retrying a lost election.',
    {
      validate: atLeast(1),
    },
  ),
  broker('controller.quorum.request.timeout.ms', 'int', '2000', 'Timeout of requests between quorum members.', {
    validate: atLeast(1),
  }),
  broker('controller.quorum.retry.backoff.ms', 'int', '20', 'Wait before retrying a failed quorum request.', {
    validate: atLeast(0),
  }),
  broker(
    'controller.quorum.append.linger.ms',
    'int',
    '25',
    'How long the quorum leader gathers appends before flushing them together.',
    {
      validate: atLeast(0),
    },
  ),
  broker(
    'metadata.log.max.record.bytes.between.snapshots',
    'int',
    '20971520',
    'Bytes of metadata log after the latest snapshot that trigger a new snapshot.',
    {
      validate: atLeast(1),
    },
  ),
  broker('broker.rack', 'string', null, 'Rack of this broker.'),
  broker('log.dirs', 'list', null, 'Directories holding the log data.'),
  broker('log.dir', 'string', './eddy-data', 'Log directory used when log.dirs is unset.'),
  broker('num.partitions', 'int', '1', 'Default partition count for new topics.', { validate: atLeast(1), ...dyn }),
  broker('default.replication.factor', 'int', '1', 'Default replication factor for new topics.', {
    validate: atLeast(1),
  }),
  broker('auto.create.topics.enable', 'boolean', 'true', 'Create topics automatically on metadata requests.'),
  broker('delete.topic.enable', 'boolean', 'true', 'Allow topic deletion.'),
  broker('message.max.bytes', 'int', '1048588', 'Largest record batch size allowed.', {
    validate: atLeast(0),
    ...dyn,
  }),
  broker('socket.request.max.bytes', 'int', '104857600', 'Largest request size the broker accepts.', {
    validate: atLeast(1),
  }),
  broker('connections.max.idle.ms', 'long', '600000', 'Idle connections are closed after this time.'),
  broker('max.connections', 'int', INT_MAX, 'Maximum simultaneous connections.', { validate: atLeast(0), ...dyn }),
  broker('queued.max.request.bytes', 'long', '-1', 'Bytes of queued requests per connection before reading pauses.'),
  broker('log.segment.bytes', 'int', '1073741824', 'Segment file size.', { validate: atLeast(14), ...dyn }),
  broker('log.roll.ms', 'long', null, 'Time after which the active segment rolls.', dyn),
  broker('log.roll.hours', 'int', '168', 'Hours after which the active segment rolls.', dyn),
  broker('log.roll.jitter.ms', 'long', null, 'Jitter for segment rolling.', dyn),
  broker('log.roll.jitter.hours', 'int', '0', 'Jitter for segment rolling in hours.', dyn),
  broker('log.retention.ms', 'long', null, 'Retention time in ms (-1: unlimited).', dyn),
  broker('log.retention.minutes', 'int', null, 'Retention time in minutes.', dyn),
  broker('log.retention.hours', 'int', '168', 'Retention time in hours.', dyn),
  broker('log.retention.bytes', 'long', '-1', 'Retention size per partition.', dyn),
  broker('log.retention.check.interval.ms', 'long', '300000', 'How often retention is checked.', {
    validate: atLeast(1),
  }),
  broker('log.segment.delete.delay.ms', 'long', '60000', 'Delay before deleting files.', dyn),
  broker('log.index.size.max.bytes', 'int', '10485760', 'Offset index size per segment.', dyn),
  broker('log.index.interval.bytes', 'int', '4096', 'Bytes between offset index entries.', dyn),
  broker('log.flush.interval.messages', 'long', LONG_MAX, 'Messages between fsyncs.', dyn),
  broker('log.flush.interval.ms', 'long', null, 'Time between fsyncs.', dyn),
  broker('log.flush.scheduler.interval.ms', 'long', LONG_MAX, 'How often the flusher checks logs.'),
  broker('log.cleanup.policy', 'list', 'delete', 'Default cleanup policy.', dyn),
  broker('log.cleaner.delete.retention.ms', 'long', '86400000', 'Tombstone retention on compacted topics.', dyn),
  broker('log.cleaner.min.compaction.lag.ms', 'long', '0', 'Minimum time before compaction.', dyn),
  broker('log.cleaner.max.compaction.lag.ms', 'long', LONG_MAX, 'Maximum time before compaction.', dyn),
  broker('log.cleaner.min.cleanable.ratio', 'double', '0.5', 'Dirty ratio that triggers compaction.', dyn),
  broker('log.message.timestamp.type', 'string', 'CreateTime', 'Default timestamp type.', {
    validate: oneOf(...TIMESTAMP_TYPES),
    ...dyn,
  }),
  broker('log.message.timestamp.before.max.ms', 'long', LONG_MAX, 'Allowed lag of record timestamps.', dyn),
  broker('log.message.timestamp.after.max.ms', 'long', LONG_MAX, 'Allowed lead of record timestamps.', dyn),
  broker('log.preallocate', 'boolean', 'false', 'Preallocate segment files.', dyn),
  broker('log.local.retention.ms', 'long', '-2', 'Local retention for tiered storage.', dyn),
  broker('log.local.retention.bytes', 'long', '-2', 'Local retention size for tiered storage.', dyn),
  broker('compression.type', 'string', 'producer', 'Default final compression of topic data.', {
    validate: oneOf(...COMPRESSION_TYPES),
    ...dyn,
  }),
  broker('min.insync.replicas', 'int', '1', 'Default min.insync.replicas for topics.', {
    validate: atLeast(1),
    ...dyn,
  }),
  broker('unclean.leader.election.enable', 'boolean', 'false', 'Allow unclean leader election.', dyn),
  broker('follower.replication.throttled.replicas', 'list', '', 'Throttled follower replicas.'),
  broker('leader.replication.throttled.replicas', 'list', '', 'Throttled leader replicas.'),
  broker('offsets.topic.num.partitions', 'int', '50', 'Partitions of __consumer_offsets.', { validate: atLeast(1) }),
  broker(
    'offsets.topic.replication.factor',
    'short',
    '3',
    'Replication factor of __consumer_offsets (capped by the live brokers).',
    {
      validate: atLeast(1),
    },
  ),
  broker('offsets.topic.segment.bytes', 'int', '104857600', 'Segment size of __consumer_offsets.'),
  broker('offsets.retention.minutes', 'int', '10080', 'Committed offsets of empty groups expire after this.'),
  broker('offsets.retention.check.interval.ms', 'long', '600000', 'How often offset expiry runs.'),
  broker('offsets.commit.timeout.ms', 'int', '5000', 'Offset commits wait this long for replication.'),
  broker('offset.metadata.max.bytes', 'int', '4096', 'Largest metadata string of a committed offset.'),
  broker('group.initial.rebalance.delay.ms', 'int', '3000', 'Delay of the first rebalance of an empty group.'),
  broker('group.min.session.timeout.ms', 'int', '6000', 'Smallest session timeout members may ask for.'),
  broker('group.max.session.timeout.ms', 'int', '1800000', 'Largest session timeout members may ask for.'),
  broker('group.max.size', 'int', INT_MAX, 'Most members a group may have.', { validate: atLeast(1) }),
  broker('transaction.state.log.num.partitions', 'int', '50', 'Partitions of __transaction_state.'),
  broker('transaction.max.timeout.ms', 'int', '900000', 'Largest transaction timeout allowed.'),
  broker('replica.lag.time.max.ms', 'long', '30000', 'A follower silent or behind this long leaves the ISR.'),
  broker('replica.fetch.wait.max.ms', 'int', '500', 'Longest wait of a follower fetch for new data.'),
  broker('replica.fetch.min.bytes', 'int', '1', 'Bytes a follower fetch waits for.'),
  broker('replica.fetch.max.bytes', 'int', '1048576', 'Bytes a follower fetches per partition.'),
  broker('replica.fetch.response.max.bytes', 'int', '10485760', 'Bytes a follower fetches per request.'),
  broker('replica.fetch.backoff.ms', 'int', '1000', 'Pause after a follower fetch error.'),
  broker('broker.heartbeat.interval.ms', 'int', '2000', 'How often a broker heartbeats to the controller.'),
  broker('broker.session.timeout.ms', 'int', '9000', 'A broker silent this long is fenced by the controller.'),
  broker('controller.quorum.election.timeout.ms', 'int', '1000', 'Raft election timeout.'),
  broker('controller.quorum.fetch.timeout.ms', 'int', '2000', 'Raft fetch timeout.'),
  broker('controller.quorum.election.backoff.max.ms', 'int', '1000', 'Raft election backoff.'),
  broker('controller.quorum.request.timeout.ms', 'int', '2000', 'Raft request timeout.'),
  broker('controller.quorum.append.linger.ms', 'int', '25', 'Raft append linger.'),
  broker('producer.id.expiration.ms', 'int', '86400000', 'Idle producers are forgotten after this.'),
  broker('metrics.port', 'int', '-1', 'Port of the Prometheus metrics endpoint (-1: disabled).'),
];

export const BROKER_CONFIGS: ReadonlyMap<string, ConfigDef> = new Map(BROKER_CONFIG_DEFS.map((d) => [d.name, d]));

/** Checks a value against a definition's type and validator; returns an error message or null. */
export function validateConfigValue(def: ConfigDef, value: string): string | null {
  const v = value.trim();
  switch (def.type) {
    case 'int':
    case 'short':
    case 'long': {
      if (!/^-?\d+$/.test(v))
        return `Invalid value ${value} for configuration ${def.name}: Not a number of type ${def.type.toUpperCase()}`;
      const n = Number(v);
      const limit = def.type === 'int' ? 2 ** 31 : def.type === 'short' ? 2 ** 15 : 2 ** 63;
      if (n >= limit || n < -limit) return `Invalid value ${value} for configuration ${def.name}: out of range`;
      break;
    }
    case 'double':
      if (v === '' || !Number.isFinite(Number(v)))
        return `Invalid value ${value} for configuration ${def.name}: Not a number of type DOUBLE`;
      break;
    case 'boolean':
      if (v.toLowerCase() !== 'true' && v.toLowerCase() !== 'false') {
        return `Invalid value ${value} for configuration ${def.name}: Expected value to be either true or false`;
      }
      break;
    default:
      break;
  }
  if (def.validate) {
    const problem = def.validate(v);
    if (problem !== null) return `Invalid value ${value} for configuration ${def.name}: Value ${problem}`;
  }
  return null;
}
