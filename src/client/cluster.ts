// The client's view of the cluster: bootstrap, one connection per broker with reconnect
// backoff, a metadata cache refreshed on errors and every metadataMaxAgeMs, coordinators.
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { MetadataResponse } from '../protocol/generated/api/metadata.js';
import { ApiKey, type ApiMessages } from '../protocol/generated/apis.js';
import { type AuthenticateHook, Connection, type RequestOptions, type SocketFactory } from './connection.js';
import { AbortError, ClientClosedError, ConfigError, ConnectionError } from './errors.js';
import {
  backoffMs,
  consoleLogger,
  type Logger,
  parseAddress,
  type RetryOptions,
  sleep,
  throwIfAborted,
  withRetries,
} from './util.js';

export interface ClientOptions {
  /** "host:port" strings (or one comma-separated string) used to discover the cluster. */
  bootstrapServers: string | string[];
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Pipelined requests per broker connection. */
  maxInFlightRequests?: number;
  /** First reconnect delay after a failure; doubles up to reconnectBackoffMaxMs (with jitter). */
  reconnectBackoffMs?: number;
  reconnectBackoffMaxMs?: number;
  /** Delay before retrying a failed request; doubles up to retryBackoffMaxMs. */
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** Retries of retriable failures for metadata, coordinator and admin requests. */
  retries?: number;
  /** Metadata is refreshed at least this often even without errors. */
  metadataMaxAgeMs?: number;
  /** Let Metadata requests create missing topics (when the broker allows it). */
  allowAutoTopicCreation?: boolean;
  /** Opens sockets; supply one for TLS. */
  socketFactory?: SocketFactory;
  /** Runs on every new connection after ApiVersions; supply one for SASL. */
  authenticate?: AuthenticateHook;
  logger?: Logger | null;
}

export interface BrokerNode {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionMetadata {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  errorCode: number;
}

export interface TopicMetadata {
  name: string;
  topicId: string;
  isInternal: boolean;
  errorCode: number;
  partitions: PartitionMetadata[];
}

interface BackoffState {
  failures: number;
  nextAttemptAt: number;
}

export type CoordinatorType = 'group' | 'transaction';

/** Errors after which cached leadership is stale. */
const STALE_METADATA_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.REPLICA_NOT_AVAILABLE,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.UNKNOWN_TOPIC_ID,
]);

export function isStaleMetadataError(code: number): boolean {
  return STALE_METADATA_ERRORS.has(code);
}

export class Cluster {
  readonly clientId: string;
  readonly logger: Logger;
  readonly options: Required<
    Omit<ClientOptions, 'socketFactory' | 'authenticate' | 'logger' | 'bootstrapServers' | 'clientId'>
  >;
  private readonly bootstrap: { host: string; port: number }[];
  private readonly socketFactory: SocketFactory | undefined;
  private readonly authenticate: AuthenticateHook | undefined;

  private readonly connections = new Map<string, Connection>();
  private readonly backoff = new Map<string, BackoffState>();
  private readonly nodes = new Map<number, BrokerNode>();
  private readonly topics = new Map<string, TopicMetadata>();
  private readonly interest = new Map<string, number>();
  private readonly coordinators = new Map<string, number>();
  private refreshing: { topics: Set<string> | null; promise: Promise<void> } | null = null;
  private lastRefreshAt = 0;
  private ageTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly closeController = new AbortController();
  clusterId: string | null = null;
  controllerId = -1;

  constructor(opts: ClientOptions) {
    const servers = Array.isArray(opts.bootstrapServers) ? opts.bootstrapServers : opts.bootstrapServers.split(',');
    this.bootstrap = servers
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
      .map((s) => parseAddress(s));
    if (this.bootstrap.length === 0) throw new ConfigError('bootstrapServers is empty');
    for (const b of this.bootstrap) {
      if (!Number.isInteger(b.port) || b.port <= 0 || b.port > 65535) throw new ConfigError(`bad port in ${b.host}`);
    }
    this.clientId = opts.clientId ?? 'eddy';
    this.logger = opts.logger === null ? consoleLogger('nothing') : (opts.logger ?? consoleLogger('warn'));
    this.socketFactory = opts.socketFactory;
    this.authenticate = opts.authenticate;
    this.options = {
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
      maxInFlightRequests: opts.maxInFlightRequests ?? 64,
      reconnectBackoffMs: opts.reconnectBackoffMs ?? 50,
      reconnectBackoffMaxMs: opts.reconnectBackoffMaxMs ?? 1000,
      retryBackoffMs: opts.retryBackoffMs ?? 100,
      retryBackoffMaxMs: opts.retryBackoffMaxMs ?? 1000,
      retries: opts.retries ?? 5,
      metadataMaxAgeMs: opts.metadataMaxAgeMs ?? 300_000,
      allowAutoTopicCreation: opts.allowAutoTopicCreation ?? true,
    };
  }

  /** Aborted when the cluster closes, so background loops stop. */
  get closeSignal(): AbortSignal {
    return this.closeController.signal;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  retryOptions(signal?: AbortSignal): RetryOptions {
    return {
      retries: this.options.retries,
      initialRetryTimeMs: this.options.retryBackoffMs,
      maxRetryTimeMs: this.options.retryBackoffMaxMs,
      signal: signal ?? this.closeSignal,
    };
  }

  /** Connects to a bootstrap broker and loads cluster metadata, retrying as configured. */
  async connect(signal?: AbortSignal): Promise<void> {
    this.assertOpen();
    await withRetries(() => this.refreshMetadata(), this.retryOptions(signal));
    if (this.ageTimer === null) {
      const period = Math.max(1000, Math.min(this.options.metadataMaxAgeMs, 60_000));
      this.ageTimer = setInterval(() => {
        if (Date.now() - this.lastRefreshAt >= this.options.metadataMaxAgeMs) {
          this.refreshMetadata().catch((err) => this.logger.debug('periodic metadata refresh failed', { err }));
        }
      }, period);
      this.ageTimer.unref();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closeController.abort(new ClientClosedError());
    if (this.ageTimer) clearInterval(this.ageTimer);
    this.ageTimer = null;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new ClientClosedError();
  }

  // ---- connections

  /** A ready connection to `address`, waiting out any reconnect backoff first. */
  async connectionTo(host: string, port: number, signal?: AbortSignal): Promise<Connection> {
    this.assertOpen();
    const address = `${host}:${port}`;
    for (;;) {
      const existing = this.connections.get(address);
      if (existing && !existing.isClosed) {
        if (!existing.isReady) await existing.connect(signal);
        return existing;
      }
      const state = this.backoff.get(address);
      const waitMs = state ? state.nextAttemptAt - Date.now() : 0;
      if (waitMs > 0) {
        await sleep(waitMs, signal ?? this.closeSignal);
        this.assertOpen();
        continue;
      }
      const conn = new Connection({
        host,
        port,
        clientId: this.clientId,
        connectTimeoutMs: this.options.connectTimeoutMs,
        requestTimeoutMs: this.options.requestTimeoutMs,
        maxInFlightRequests: this.options.maxInFlightRequests,
        socketFactory: this.socketFactory,
        authenticate: this.authenticate,
        logger: this.logger,
      });
      this.connections.set(address, conn);
      conn.onClose((err) => {
        if (this.connections.get(address) === conn) this.connections.delete(address);
        if (err !== null && !this.closed) {
          this.noteFailure(address);
          this.logger.debug('disconnected', { address, reason: err.message });
        }
      });
      try {
        await conn.connect(signal);
      } catch (err) {
        if (this.connections.get(address) === conn) this.connections.delete(address);
        conn.close();
        throw err;
      }
      this.backoff.delete(address);
      return conn;
    }
  }

  private noteFailure(address: string): void {
    const prev = this.backoff.get(address);
    const failures = (prev?.failures ?? 0) + 1;
    const delay = backoffMs(failures - 1, this.options.reconnectBackoffMs, this.options.reconnectBackoffMaxMs);
    this.backoff.set(address, { failures, nextAttemptAt: Date.now() + delay });
  }

  /** The ready connection to broker `nodeId`, if there is one right now (no waiting). */
  readyConnection(nodeId: number): Connection | null {
    const node = this.nodes.get(nodeId);
    if (node === undefined) return null;
    const c = this.connections.get(`${node.host}:${node.port}`);
    return c?.isReady ? c : null;
  }

  /** A ready connection to broker `nodeId`; unknown ids trigger a metadata refresh first. */
  async connectionToNode(nodeId: number, signal?: AbortSignal): Promise<Connection> {
    let node = this.nodes.get(nodeId);
    if (node === undefined) {
      await this.refreshMetadata();
      node = this.nodes.get(nodeId);
      if (node === undefined) throw new ConnectionError(`node ${nodeId}`, 'broker is not in the cluster metadata');
    }
    try {
      return await this.connectionTo(node.host, node.port, signal);
    } catch (err) {
      // The broker may have moved or gone: let the next lookup see fresh metadata.
      this.requestRefresh();
      throw err;
    }
  }

  /** The least busy ready connection, or a new one to any known broker or bootstrap address. */
  async anyConnection(signal?: AbortSignal): Promise<Connection> {
    this.assertOpen();
    let best: Connection | undefined;
    for (const c of this.connections.values()) {
      if (c.isReady && (best === undefined || c.pendingCount < best.pendingCount)) best = c;
    }
    if (best) return best;
    const candidates: { host: string; port: number }[] = [...this.nodes.values(), ...this.bootstrap];
    // Start after a random offset so clients spread over the bootstrap list.
    const start = Math.floor(Math.random() * candidates.length);
    let lastErr: unknown;
    const seen = new Set<string>();
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[(start + i) % candidates.length] as { host: string; port: number };
      const key = `${c.host}:${c.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const state = this.backoff.get(key);
      if (state && state.nextAttemptAt > Date.now() && i < candidates.length - 1) continue;
      try {
        return await this.connectionTo(c.host, c.port, signal);
      } catch (err) {
        if (err instanceof AbortError) throw err;
        lastErr = err;
      }
    }
    if (lastErr) throw lastErr;
    // Every address is backing off: wait for the first to become eligible.
    const first = candidates[start] as { host: string; port: number };
    return this.connectionTo(first.host, first.port, signal);
  }

  /** Sends to a broker by node id. */
  async sendTo<K extends keyof ApiMessages>(
    nodeId: number,
    apiKey: K,
    body: ApiMessages[K]['requestInit'],
    opts?: RequestOptions,
  ): Promise<ApiMessages[K]['response']> {
    const conn = await this.connectionToNode(nodeId, opts?.signal);
    return conn.request(apiKey, body, opts);
  }

  /** Sends to the least loaded broker. */
  async sendAny<K extends keyof ApiMessages>(
    apiKey: K,
    body: ApiMessages[K]['requestInit'],
    opts?: RequestOptions,
  ): Promise<ApiMessages[K]['response']> {
    const conn = await this.anyConnection(opts?.signal);
    return conn.request(apiKey, body, opts);
  }

  /** Sends to the controller (admin operations); any broker when it is unknown. */
  async sendToController<K extends keyof ApiMessages>(
    apiKey: K,
    body: ApiMessages[K]['requestInit'],
    opts?: RequestOptions,
  ): Promise<ApiMessages[K]['response']> {
    if (this.controllerId >= 0 && this.nodes.has(this.controllerId)) {
      return this.sendTo(this.controllerId, apiKey, body, opts);
    }
    return this.sendAny(apiKey, body, opts);
  }

  // ---- metadata

  brokers(): BrokerNode[] {
    return [...this.nodes.values()].sort((a, b) => a.nodeId - b.nodeId);
  }

  node(nodeId: number): BrokerNode | undefined {
    return this.nodes.get(nodeId);
  }

  topic(name: string): TopicMetadata | undefined {
    return this.topics.get(name);
  }

  knownTopics(): string[] {
    return [...this.topics.keys()];
  }

  /** Leader node of a partition from the cache, or -1 when unknown. */
  leaderFor(topic: string, partition: number): number {
    return this.topics.get(topic)?.partitions[partition]?.leader ?? -1;
  }

  partitionCount(topic: string): number {
    const t = this.topics.get(topic);
    return t && t.errorCode === ErrorCode.NONE ? t.partitions.length : 0;
  }

  /** Keeps `topics` in every metadata refresh until released. */
  addInterest(topics: Iterable<string>): void {
    for (const t of topics) this.interest.set(t, (this.interest.get(t) ?? 0) + 1);
  }

  removeInterest(topics: Iterable<string>): void {
    for (const t of topics) {
      const n = (this.interest.get(t) ?? 0) - 1;
      if (n <= 0) this.interest.delete(t);
      else this.interest.set(t, n);
    }
  }

  /**
   * Refreshes metadata for the topics of interest plus `extra` (all topics when `extra` is
   * null). A refresh already in flight that covers the request is joined rather than repeated.
   */
  refreshMetadata(extra?: Iterable<string> | null, signal?: AbortSignal): Promise<void> {
    this.assertOpen();
    let wanted: Set<string> | null;
    if (extra === null) wanted = null;
    else {
      wanted = new Set(this.interest.keys());
      if (extra) for (const t of extra) wanted.add(t);
    }
    const inFlight = this.refreshing;
    if (inFlight) {
      const covered =
        inFlight.topics === null || (wanted !== null && [...wanted].every((t) => inFlight.topics?.has(t)));
      if (covered) return inFlight.promise;
      return inFlight.promise.catch(() => {}).then(() => this.refreshMetadata(extra, signal));
    }
    const promise = this.doRefresh(wanted, signal).finally(() => {
      if (this.refreshing?.promise === promise) this.refreshing = null;
    });
    this.refreshing = { topics: wanted, promise };
    return promise;
  }

  private lastRefreshAttemptAt = 0;

  private async doRefresh(wanted: Set<string> | null, signal?: AbortSignal): Promise<void> {
    this.lastRefreshAttemptAt = Date.now();
    const conn = await this.anyConnection(signal);
    const version = conn.versionFor(ApiKey.Metadata);
    // An empty topic list means "no topics" from v1 on; null means all of them.
    const topics = wanted === null ? null : [...wanted].map((name) => ({ name }));
    const resp = await conn.request(
      ApiKey.Metadata,
      { topics, allowAutoTopicCreation: this.options.allowAutoTopicCreation },
      { version, signal },
    );
    this.applyMetadata(resp, wanted === null);
  }

  private applyMetadata(resp: MetadataResponse, allTopics: boolean): void {
    this.lastRefreshAt = Date.now();
    if (resp.brokers.length > 0) {
      this.nodes.clear();
      for (const b of resp.brokers)
        this.nodes.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack });
    }
    this.clusterId = resp.clusterId;
    this.controllerId = resp.controllerId;
    if (allTopics) {
      const present = new Set(resp.topics.map((t) => t.name));
      for (const name of this.topics.keys()) if (!present.has(name)) this.topics.delete(name);
    }
    for (const t of resp.topics) {
      if (t.name === null) continue;
      const partitions: PartitionMetadata[] = [];
      for (const p of t.partitions) {
        partitions[p.partitionIndex] = {
          partition: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          offlineReplicas: p.offlineReplicas,
          errorCode: p.errorCode,
        };
      }
      const prev = this.topics.get(t.name);
      if (t.errorCode !== ErrorCode.NONE && prev && t.errorCode === ErrorCode.LEADER_NOT_AVAILABLE) {
        // Keep what we knew while leaders are elected; the error makes callers retry.
        prev.errorCode = t.errorCode;
        continue;
      }
      this.topics.set(t.name, {
        name: t.name,
        topicId: t.topicId,
        isInternal: t.isInternal,
        errorCode: t.errorCode,
        partitions,
      });
    }
  }

  /**
   * Schedules a refresh soon, coalescing bursts of errors into one request and spacing
   * refreshes at least retryBackoffMs apart (as Java's metadata does).
   */
  requestRefresh(): void {
    if (this.closed || this.refreshing || this.refreshTimer !== null) return;
    const waitMs = this.lastRefreshAttemptAt + this.options.retryBackoffMs - Date.now();
    const run = (): void => {
      this.refreshTimer = null;
      if (this.closed || this.refreshing) return;
      this.refreshMetadata().catch((err) => this.logger.debug('metadata refresh failed', { err }));
    };
    if (waitMs <= 0) run();
    else {
      this.refreshTimer = setTimeout(run, waitMs);
      this.refreshTimer.unref();
    }
  }

  private refreshTimer: NodeJS.Timeout | null = null;

  /**
   * Makes sure metadata for `topics` is cached with a partition count, refreshing and
   * retrying while brokers report them missing or leaderless.
   */
  async ensureTopics(topics: readonly string[], signal?: AbortSignal): Promise<void> {
    const missing = (): string[] => topics.filter((t) => this.partitionCount(t) === 0);
    if (missing().length === 0) return;
    await withRetries(async () => {
      await this.refreshMetadata(topics, signal);
      for (const t of missing()) {
        const code = this.topics.get(t)?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        throw new KafkaError(code === ErrorCode.NONE ? ErrorCode.LEADER_NOT_AVAILABLE : code, `topic ${t}`);
      }
    }, this.retryOptions(signal));
  }

  // ---- coordinators

  /** The coordinator node for a group or transactional id, looked up once and cached. */
  async coordinator(type: CoordinatorType, key: string, signal?: AbortSignal): Promise<number> {
    const cacheKey = `${type}:${key}`;
    const cached = this.coordinators.get(cacheKey);
    if (cached !== undefined) return cached;
    return withRetries(async () => {
      throwIfAborted(signal);
      const conn = await this.anyConnection(signal);
      const version = conn.versionFor(ApiKey.FindCoordinator);
      const keyType = type === 'group' ? 0 : 1;
      const resp = await conn.request(
        ApiKey.FindCoordinator,
        version >= 4 ? { key: '', keyType, coordinatorKeys: [key] } : { key, keyType },
        { version, signal },
      );
      let nodeId: number;
      let host: string;
      let port: number;
      let errorCode: number;
      let errorMessage: string | null;
      if (version >= 4) {
        const c = resp.coordinators[0];
        if (c === undefined) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'empty FindCoordinator answer');
        ({ nodeId, host, port, errorCode, errorMessage } = c);
      } else {
        ({ nodeId, host, port, errorCode, errorMessage } = resp);
      }
      if (errorCode !== ErrorCode.NONE) throw new KafkaError(errorCode, errorMessage ?? `coordinator for ${key}`);
      if (!this.nodes.has(nodeId)) this.nodes.set(nodeId, { nodeId, host, port, rack: null });
      this.coordinators.set(cacheKey, nodeId);
      return nodeId;
    }, this.retryOptions(signal));
  }

  /** Forgets a coordinator after NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / disconnects. */
  invalidateCoordinator(type: CoordinatorType, key: string): void {
    this.coordinators.delete(`${type}:${key}`);
  }

  /** Ready connections, for tests and diagnostics. */
  connectedAddresses(): string[] {
    return [...this.connections.entries()].filter(([, c]) => c.isReady).map(([a]) => a);
  }
}
