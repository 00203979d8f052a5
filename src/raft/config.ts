// Quorum configuration from Kafka's keys: node.id, process.roles, controller.quorum.voters
// (`id@host:port,...`), controller.quorum.bootstrap.servers (`host:port,...`) and the
// controller.quorum.* timeouts.
import type { Endpoint } from './codec.js';
import { DEFAULT_RAFT_CONFIG, type RaftConfig } from './types.js';

export class QuorumConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuorumConfigError';
  }
}

export type ProcessRole = 'broker' | 'controller';

export interface QuorumConfig {
  nodeId: number;
  roles: ReadonlySet<ProcessRole>;
  /** controller.quorum.voters: the static voter set and where each voter listens. */
  voters: ReadonlyMap<number, Endpoint>;
  /** controller.quorum.bootstrap.servers: where to find the quorum when voters are not listed. */
  bootstrapServers: readonly Endpoint[];
  raft: RaftConfig;
  /** metadata.log.max.record.bytes.between.snapshots. */
  snapshotIntervalBytes: number;
}

function parseHostPort(text: string, what: string): Endpoint {
  const s = text.trim();
  // [ipv6]:port or host:port
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m) throw new QuorumConfigError(`${what}: expected host:port, got '${s}'`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new QuorumConfigError(`${what}: invalid port in '${s}'`);
  return { host: m[1]!, port };
}

/** Parses controller.quorum.voters: `1@host:9093,2@host:9094`. */
export function parseQuorumVoters(value: string): Map<number, Endpoint> {
  const voters = new Map<number, Endpoint>();
  for (const part of value.split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    const at = entry.indexOf('@');
    if (at <= 0) throw new QuorumConfigError(`controller.quorum.voters: expected id@host:port, got '${entry}'`);
    const id = Number(entry.slice(0, at));
    if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
      throw new QuorumConfigError(`controller.quorum.voters: invalid node id in '${entry}'`);
    }
    if (voters.has(id)) throw new QuorumConfigError(`controller.quorum.voters: node ${id} is listed twice`);
    voters.set(id, parseHostPort(entry.slice(at + 1), 'controller.quorum.voters'));
  }
  return voters;
}

/** Parses controller.quorum.bootstrap.servers: `host:9093,host:9094`. */
export function parseBootstrapServers(value: string): Endpoint[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => parseHostPort(s, 'controller.quorum.bootstrap.servers'));
}

/** Reads the quorum settings through `get` (a config lookup returning null for unset keys). */
export function quorumConfigFrom(get: (key: string) => string | null): QuorumConfig {
  const num = (key: string, fallback: number): number => {
    const v = get(key);
    if (v === null || v.trim() === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new QuorumConfigError(`${key} must be a non-negative integer, got '${v}'`);
    return n;
  };
  const nodeId = num('node.id', -1);
  if (nodeId < 0) throw new QuorumConfigError('node.id must be set');
  const roles = new Set<ProcessRole>();
  for (const r of (get('process.roles') ?? 'broker,controller').split(',')) {
    const role = r.trim();
    if (role === '') continue;
    if (role !== 'broker' && role !== 'controller')
      throw new QuorumConfigError(`process.roles: unknown role '${role}'`);
    roles.add(role);
  }
  if (roles.size === 0) throw new QuorumConfigError('process.roles must name broker, controller or both');
  const voters = parseQuorumVoters(get('controller.quorum.voters') ?? '');
  const bootstrapServers = parseBootstrapServers(get('controller.quorum.bootstrap.servers') ?? '');
  if (voters.size === 0 && bootstrapServers.length === 0) {
    throw new QuorumConfigError('set controller.quorum.voters (or controller.quorum.bootstrap.servers for a broker)');
  }
  if (roles.has('controller') && !voters.has(nodeId)) {
    throw new QuorumConfigError(`node ${nodeId} has the controller role but is not in controller.quorum.voters`);
  }
  if (!roles.has('controller') && voters.has(nodeId)) {
    throw new QuorumConfigError(`node ${nodeId} is in controller.quorum.voters but lacks the controller role`);
  }
  const d = DEFAULT_RAFT_CONFIG;
  const raft: RaftConfig = {
    ...d,
    electionTimeoutMs: Math.max(1, num('controller.quorum.election.timeout.ms', d.electionTimeoutMs)),
    fetchTimeoutMs: Math.max(1, num('controller.quorum.fetch.timeout.ms', d.fetchTimeoutMs)),
    electionBackoffMaxMs: Math.max(1, num('controller.quorum.election.backoff.max.ms', d.electionBackoffMaxMs)),
    requestTimeoutMs: Math.max(1, num('controller.quorum.request.timeout.ms', d.requestTimeoutMs)),
    retryBackoffMs: num('controller.quorum.retry.backoff.ms', d.retryBackoffMs),
    appendLingerMs: num('controller.quorum.append.linger.ms', d.appendLingerMs),
  };
  return {
    nodeId,
    roles,
    voters,
    bootstrapServers,
    raft,
    snapshotIntervalBytes: Math.max(1, num('metadata.log.max.record.bytes.between.snapshots', 20 * 1024 * 1024)),
  };
}
