// The broker process: a combined broker and controller node. Start-up formats new log
// dirs, replays the metadata log into the image, loads hosted partitions, opens listeners
// and registers this node; stop() shuts down gracefully with a clean-shutdown marker.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GroupCoordinator } from '../coordinator/group/coordinator.js';
import { groupPartition, OFFSETS_TOPIC } from '../coordinator/group/records.js';
import { Controller, newUuid } from '../metadata/controller.js';
import { configsOf, EMPTY_IMAGE, type MetadataChanges, MetadataDelta, type MetadataImage } from '../metadata/image.js';
import { type CommittedBatch, type MetadataLog, SingleVoterMetadataLog } from '../metadata/log.js';
import { imageToRecords } from '../metadata/snapshot.js';
import { type QuorumConfig, quorumConfigFrom } from '../raft/config.js';
import { raftHandlers } from '../raft/handlers.js';
import { RaftMetadataLog } from '../raft/raft-metadata-log.js';
import { LogManager } from '../storage/index.js';
import { errorMessage, logger } from '../util/log.js';
import { BrokerMetrics } from './broker-metrics.js';
import { type BrokerConfig, ConfigError, parseProperties, validateTopicConfigs } from './config.js';
import { BROKER_CONFIGS, ConfigResourceType, validateConfigValue } from './config-defs.js';
import type { BrokerContext } from './context.js';
import type { ControllerApi } from './controller-api.js';
import { InternalTopicLog } from './coordinator-log.js';
import { FetchSessionCache } from './fetch-session.js';
import { apiVersionsHandler } from './handlers/api-versions.js';
import { describeClusterHandler, describeLogDirsHandler, describeTopicPartitionsHandler } from './handlers/cluster.js';
import { alterConfigsHandler, describeConfigsHandler, incrementalAlterConfigsHandler } from './handlers/configs.js';
import {
  allocateProducerIdsHandler,
  alterPartitionHandler,
  brokerHeartbeatHandler,
  brokerRegistrationHandler,
} from './handlers/controller-rpc.js';
import { fetchHandler } from './handlers/fetch.js';
import {
  deleteGroupsHandler,
  describeGroupsHandler,
  findCoordinatorHandler,
  heartbeatHandler,
  joinGroupHandler,
  leaveGroupHandler,
  listGroupsHandler,
  offsetCommitHandler,
  offsetDeleteHandler,
  offsetFetchHandler,
  syncGroupHandler,
} from './handlers/groups.js';
import { metadataHandler } from './handlers/metadata.js';
import { deleteRecordsHandler, listOffsetsHandler, offsetForLeaderEpochHandler } from './handlers/offsets.js';
import {
  alterPartitionReassignmentsHandler,
  electLeadersHandler,
  listPartitionReassignmentsHandler,
} from './handlers/partitions-admin.js';
import { produceHandler } from './handlers/produce.js';
import { initProducerIdHandler } from './handlers/producer.js';
import { createPartitionsHandler, createTopicsHandler, deleteTopicsHandler } from './handlers/topics.js';
import { BrokerLifecycle } from './lifecycle.js';
import { serveMetrics } from './metrics.js';
import { Listener } from './network.js';
import { RemoteController } from './remote-controller.js';
import { ReplicaFetcherManager } from './replica-fetcher.js';
import { ReplicaManager } from './replica-manager.js';
import { RequestRouter } from './router.js';

const SECURITY_PROTOCOL_IDS: Record<string, number> = { PLAINTEXT: 0, SSL: 1, SASL_PLAINTEXT: 2, SASL_SSL: 3 };

export interface BrokerOptions {
  config: BrokerConfig;
  clock?: () => number;
  /**
   * Cluster mode: the metadata log this node follows and how it reaches the active
   * controller. Without it the node is a single-node combined broker and controller.
   */
  cluster?: { metadataLog: MetadataLog; controller: () => ControllerApi };
}

/** Reads or writes meta.properties in each log dir; returns the cluster id. */
/** A cluster id every node configured with the same voters derives alike: no format step. */
export function clusterIdForVoters(voters: string): string {
  const b = createHash('sha256')
    .update(`eddy-cluster:${voters.replace(/\s+/g, '')}`)
    .digest()
    .subarray(0, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const id = b.toString('base64url');
  return id.startsWith('-') ? `A${id.slice(1)}` : id;
}

function formatLogDirs(dirs: string[], nodeId: number, preferredClusterId: string | null): string {
  let clusterId: string | null = null;
  const metas: { dir: string; props: Map<string, string> | null }[] = [];
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'meta.properties');
    const props = existsSync(path) ? parseProperties(readFileSync(path, 'utf8')) : null;
    metas.push({ dir, props });
    if (props) {
      const id = props.get('cluster.id');
      if (id) {
        if (clusterId !== null && clusterId !== id) {
          throw new ConfigError(`log dirs belong to different clusters: ${clusterId} and ${id} (in ${dir})`);
        }
        clusterId = id;
      }
      const node = props.get('node.id');
      if (node !== undefined && Number(node) !== nodeId) {
        throw new ConfigError(`log dir ${dir} belongs to node ${node}, but this is node.id=${nodeId}`);
      }
    }
  }
  clusterId ??= preferredClusterId ?? newUuid();
  for (const m of metas) {
    if (m.props) continue;
    const text = [
      '#',
      `#${new Date().toString()}`,
      `cluster.id=${clusterId}`,
      `directory.id=${newUuid()}`,
      `node.id=${nodeId}`,
      'version=1',
      '',
    ].join('\n');
    const path = join(m.dir, 'meta.properties');
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
  return clusterId;
}

export class Broker implements BrokerContext {
  private readonly log = logger('broker');
  readonly config: BrokerConfig;
  readonly clock: () => number;
  readonly nodeId: number;
  clusterId = '';
  private currentImage: MetadataImage = EMPTY_IMAGE;
  private appliedOffset = -1;
  private offsetWaiters: { offset: number; resolve: () => void }[] = [];
  private applyChain: Promise<void> = Promise.resolve();
  private listeners: Listener[] = [];
  private readonly router: RequestRouter;
  private _logs: LogManager | null = null;
  private _replicas: ReplicaManager | null = null;
  private _metadataLog: MetadataLog | null = null;
  private _controller: Controller | null = null;
  private clusterOpts: BrokerOptions['cluster'];
  /** Set when the node runs a Raft metadata quorum (controller.quorum.voters or bootstrap servers). */
  private quorum: QuorumConfig | null = null;
  private raftLog: RaftMetadataLog | null = null;
  private remoteController: RemoteController | null = null;
  private controllerActive = false;
  private controllerTimer: NodeJS.Timeout | null = null;
  private lifecycle: BrokerLifecycle | null = null;
  private fetchers: ReplicaFetcherManager | null = null;
  private _groups: GroupCoordinator | null = null;
  private offsetsTopicCreation: Promise<void> | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private producerIdBlock = { next: 0, end: 0 };
  private producerIdRefill: Promise<void> | null = null;
  private brokerEpoch = -1;
  readonly fetchSessions: FetchSessionCache;
  readonly metrics: BrokerMetrics;
  private metricsServer: { port: number; close: () => Promise<void> } | null = null;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private replaying = true;

  constructor(opts: BrokerOptions) {
    this.config = opts.config;
    this.clock = opts.clock ?? Date.now;
    this.nodeId = this.config.nodeId;
    this.clusterOpts = opts.cluster;
    this.fetchSessions = new FetchSessionCache(1000, 120_000);
    this.router = new RequestRouter(this);
    this.router.closeListener = (conn) => this.onConnectionClosed(conn.id);
    this.metrics = new BrokerMetrics({
      replicas: () => this._replicas,
      groups: () => this._groups,
      connections: () => this.connectionCount(),
    });
    this.router.observer = (apiKey, _version, latencyMs) => this.metrics.observeRequest(apiKey, latencyMs);
    for (const h of [
      apiVersionsHandler,
      metadataHandler,
      produceHandler,
      fetchHandler,
      listOffsetsHandler,
      offsetForLeaderEpochHandler,
      deleteRecordsHandler,
      createTopicsHandler,
      deleteTopicsHandler,
      createPartitionsHandler,
      describeConfigsHandler,
      alterConfigsHandler,
      incrementalAlterConfigsHandler,
      describeClusterHandler,
      describeTopicPartitionsHandler,
      describeLogDirsHandler,
      findCoordinatorHandler,
      joinGroupHandler,
      syncGroupHandler,
      heartbeatHandler,
      leaveGroupHandler,
      offsetCommitHandler,
      offsetFetchHandler,
      describeGroupsHandler,
      listGroupsHandler,
      deleteGroupsHandler,
      offsetDeleteHandler,
      initProducerIdHandler,
      electLeadersHandler,
      alterPartitionReassignmentsHandler,
      listPartitionReassignmentsHandler,
      brokerRegistrationHandler,
      brokerHeartbeatHandler,
      alterPartitionHandler,
      allocateProducerIdsHandler,
    ]) {
      this.router.register(h);
    }
    const raft = raftHandlers(() => this.raftLog);
    for (const h of [raft.vote, raft.beginQuorumEpoch, raft.endQuorumEpoch, raft.fetchSnapshot, raft.describeQuorum]) {
      this.router.register(h);
    }
  }

  get logs(): LogManager {
    if (!this._logs) throw new Error('broker not started');
    return this._logs;
  }
  get replicas(): ReplicaManager {
    if (!this._replicas) throw new Error('broker not started');
    return this._replicas;
  }
  get metadataLog(): MetadataLog {
    if (!this._metadataLog) throw new Error('broker not started');
    return this._metadataLog;
  }
  /** The active controller as this node reaches it (local in single-node mode). */
  get controller(): ControllerApi {
    if (this.clusterOpts) return this.clusterOpts.controller();
    const local = this.activeController();
    if (local) return local;
    if (this.remoteController) return this.remoteController;
    if (!this._controller) throw new Error('broker not started');
    return this._controller;
  }

  /** The node's Raft metadata log, in quorum mode. */
  raft(): RaftMetadataLog | null {
    return this.raftLog;
  }

  private hasRole(role: 'broker' | 'controller'): boolean {
    return this.quorum === null || this.quorum.roles.has(role);
  }

  private quorumConfig(): QuorumConfig | null {
    const voters = this.config.get('controller.quorum.voters') ?? '';
    const bootstrap = this.config.get('controller.quorum.bootstrap.servers') ?? '';
    if (voters.trim() === '' && bootstrap.trim() === '') return null;
    return quorumConfigFrom((k) => (k === 'node.id' ? String(this.nodeId) : this.config.get(k)));
  }

  activeController(): Controller | null {
    if (this.clusterOpts) return null;
    if (this.quorum !== null) return this.controllerActive ? this._controller : null;
    return this._controller;
  }

  /** In quorum mode: follows Raft leadership, activating the local controller while it leads. */
  private startControllerLoop(): void {
    const raft = this.raftLog;
    const controller = this._controller;
    if (!raft || !controller) return;
    const heartbeatMs = this.config.getNumber('broker.heartbeat.interval.ms');
    const tick = (): void => {
      const leading = raft.isLeader();
      if (leading && !this.controllerActive) {
        this.controllerActive = true;
        // Live brokers reach a new controller within a heartbeat or two.
        controller.becomeActive(2 * heartbeatMs + 1000);
        this.log.info(`node ${this.nodeId} is the active controller (epoch ${raft.leaderEpoch()})`);
      } else if (!leading && this.controllerActive) {
        this.controllerActive = false;
        this.log.info(`node ${this.nodeId} is no longer the active controller`);
      }
      if (this.controllerActive) void controller.tick().catch(() => undefined);
    };
    this.controllerTimer = setInterval(tick, 100);
    this.controllerTimer.unref();
  }

  /** Resolves once the local image satisfies `predicate` (forwarded changes arrive through the log). */
  awaitImage(predicate: (image: MetadataImage) => boolean, timeoutMs = 5000): Promise<void> {
    // Applied, too: the hosted logs exist once the replica manager has caught up.
    const ready = (): boolean => predicate(this.currentImage) && this.appliedOffset >= this.currentImage.offset;
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => {
      const deadline = Date.now() + timeoutMs;
      const check = (): void => {
        if (ready() || Date.now() > deadline) resolve();
        else setTimeout(check, 5);
      };
      check();
    });
  }

  /** Connection ids carrying broker heartbeats, so a dropped connection fences fast. */
  private readonly brokerSessionConnections = new Map<number, number>();

  bindBrokerSession(brokerId: number, connectionId: number): void {
    this.brokerSessionConnections.set(connectionId, brokerId);
  }

  private onConnectionClosed(connectionId: number): void {
    const brokerId = this.brokerSessionConnections.get(connectionId);
    if (brokerId === undefined) return;
    this.brokerSessionConnections.delete(connectionId);
    // A killed broker's connections close at once; give it a moment to reconnect, then fence.
    // At most 1 s: with Kafka's 2 s heartbeats, two intervals would hold its partitions
    // leaderless for 4 s after a kill -9. A live broker that reconnects later is unfenced again
    // by its next heartbeat; only leadership moves meanwhile.
    const graceMs = Math.min(2 * this.config.getNumber('broker.heartbeat.interval.ms'), 1000);
    this.activeController()?.expireSession(brokerId, graceMs);
  }

  /** Port of the Prometheus endpoint, or -1 when metrics.port is not set. */
  get metricsPort(): number {
    return this.metricsServer?.port ?? -1;
  }

  /** The follower fetchers (pause/resume for operations and tests). */
  get replicaFetchers(): ReplicaFetcherManager | null {
    return this.fetchers;
  }

  /** The offset of the last metadata record applied to this node's image. */
  get metadataOffset(): number {
    return this.appliedOffset;
  }

  get groups(): GroupCoordinator {
    if (!this._groups) throw new Error('broker not started');
    return this._groups;
  }

  image(): MetadataImage {
    return this.currentImage;
  }

  async groupCoordinatorPartition(groupId: string): Promise<{ partition: number; leader: number } | null> {
    if (!this.currentImage.topicsByName.has(OFFSETS_TOPIC)) {
      this.offsetsTopicCreation ??= this.createOffsetsTopic().finally(() => {
        this.offsetsTopicCreation = null;
      });
      await this.offsetsTopicCreation;
    }
    const t = this.currentImage.topicsByName.get(OFFSETS_TOPIC);
    if (!t || t.partitions.length === 0) return null;
    const partition = groupPartition(groupId, t.partitions.length);
    const reg = t.partitions[partition];
    if (!reg || reg.leader < 0) return null;
    return { partition, leader: reg.leader };
  }

  async allocateProducerId(): Promise<number> {
    while (this.producerIdBlock.next >= this.producerIdBlock.end) {
      this.producerIdRefill ??= this.controller
        .allocateProducerIds(this.nodeId, this.brokerEpoch)
        .then((b) => {
          this.producerIdBlock = { next: b.start, end: b.start + b.length };
        })
        .finally(() => {
          this.producerIdRefill = null;
        });
      await this.producerIdRefill;
    }
    return this.producerIdBlock.next++;
  }

  private async createOffsetsTopic(): Promise<void> {
    const live = [...this.currentImage.brokers.values()].filter((b) => !b.fenced).length;
    const rf = Math.max(1, Math.min(this.config.getNumber('offsets.topic.replication.factor'), live));
    const [result] = await this.controller.createTopics(
      [
        {
          name: OFFSETS_TOPIC,
          numPartitions: this.config.getNumber('offsets.topic.num.partitions'),
          replicationFactor: rf,
          assignments: [],
          configs: new Map([
            ['cleanup.policy', 'compact'],
            ['compression.type', 'producer'],
            ['segment.bytes', String(this.config.getNumber('offsets.topic.segment.bytes'))],
          ]),
        },
      ],
      false,
    );
    if (result && result.errorCode !== 0 && result.errorCode !== 36) {
      this.log.error(`creating ${OFFSETS_TOPIC} failed: ${result.errorMessage}`);
    }
    await this.awaitImage((img) => img.topicsByName.has(OFFSETS_TOPIC));
  }

  supportedApis(): { apiKey: number; minVersion: number; maxVersion: number }[] {
    return this.router.supportedApis();
  }

  /** Bound ports of the listeners, by listener name. */
  boundPorts(): Map<string, number> {
    return new Map(this.listeners.map((l) => [l.opts.name, l.boundPort]));
  }

  connectionCount(): number {
    return this.listeners.reduce((n, l) => n + l.connectionCount, 0);
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`broker cannot start from state ${this.state}`);
    this.state = 'starting';
    const started = performance.now();
    const dirs = this.config.logDirs();
    const quorum = this.clusterOpts ? null : this.quorumConfig();
    this.quorum = quorum;
    const voterText = this.config.get('controller.quorum.voters') ?? '';
    const preferredClusterId =
      this.config.get('cluster.id') ?? (voterText.trim() !== '' ? clusterIdForVoters(voterText) : null);
    this.clusterId = formatLogDirs(dirs, this.nodeId, preferredClusterId);
    const firstDir = dirs[0] as string;
    this._logs = await LogManager.open({
      logDirs: dirs,
      defaultConfig: this.config.logConfigFor(new Map()),
      clock: this.clock,
      retentionCheckIntervalMs: this.config.getNumber('log.retention.check.interval.ms'),
    });
    this._replicas = new ReplicaManager(this.nodeId, this._logs, this.config, this.clock);
    const interBrokerListener =
      this.config.get('inter.broker.listener.name') ?? this.config.listeners()[0]?.name ?? 'PLAINTEXT';
    this.fetchers = new ReplicaFetcherManager({
      nodeId: this.nodeId,
      listenerName: interBrokerListener,
      image: () => this.currentImage,
      replicas: this._replicas,
      brokerEpoch: () => this.brokerEpoch,
      maxWaitMs: this.config.getNumber('replica.fetch.wait.max.ms'),
      minBytes: this.config.getNumber('replica.fetch.min.bytes'),
      maxBytes: this.config.getNumber('replica.fetch.response.max.bytes'),
      partitionMaxBytes: this.config.getNumber('replica.fetch.max.bytes'),
      backoffMs: this.config.getNumber('replica.fetch.backoff.ms'),
    });
    this._replicas.followerDriver = this.fetchers;
    const groups = new GroupCoordinator(
      {
        minSessionTimeoutMs: this.config.getNumber('group.min.session.timeout.ms'),
        maxSessionTimeoutMs: this.config.getNumber('group.max.session.timeout.ms'),
        initialRebalanceDelayMs: this.config.getNumber('group.initial.rebalance.delay.ms'),
        maxGroupSize: this.config.getNumber('group.max.size'),
        offsetMetadataMaxBytes: this.config.getNumber('offset.metadata.max.bytes'),
        offsetsRetentionMs: this.config.getNumber('offsets.retention.minutes') * 60_000,
      },
      new InternalTopicLog(OFFSETS_TOPIC, () => this.currentImage, this._replicas),
      () =>
        this.currentImage.topicsByName.get(OFFSETS_TOPIC)?.partitions.length ??
        this.config.getNumber('offsets.topic.num.partitions'),
    );
    this._groups = groups;
    this._replicas.leadershipListeners.push((p, isLeader) => {
      if (p.topic !== OFFSETS_TOPIC) return;
      if (isLeader) groups.onElection(p.index);
      else groups.onResignation(p.index);
    });
    let metadataLog: MetadataLog;
    if (this.clusterOpts) metadataLog = this.clusterOpts.metadataLog;
    else if (quorum) {
      this.raftLog = new RaftMetadataLog({
        dir: firstDir,
        nodeId: this.nodeId,
        clusterId: this.clusterId,
        voters: quorum.voters,
        bootstrapServers: quorum.bootstrapServers,
        config: quorum.raft,
        clock: this.clock,
        snapshotIntervalBytes: quorum.snapshotIntervalBytes,
      });
      metadataLog = this.raftLog;
      this.remoteController = new RemoteController(
        this.nodeId,
        [...quorum.voters].map(([id, e]) => ({ id, host: e.host, port: e.port })),
        () => this.raftLog?.leaderId() ?? -1,
        () => this.currentImage,
      );
      // Raft peers must reach this node while it joins the quorum.
      if (this.hasRole('controller')) await this.startListeners(['controller']);
    } else metadataLog = new SingleVoterMetadataLog(firstDir, this.nodeId, this.clock);
    this._metadataLog = metadataLog;
    await metadataLog.start(
      (batch) => this.onCommit(batch),
      () => ({ lastContainedOffset: this.appliedOffset, records: imageToRecords(this.currentImage) }),
    );
    await this.applyChain;
    this.replaying = false;
    if (!this.clusterOpts && this.hasRole('controller')) this.createLocalController(metadataLog);
    if (quorum) this.startControllerLoop();
    this._replicas.isrChannel = { alterPartition: (req) => this.controller.alterPartition(req) };
    await this.replicas.loadAll(this.currentImage);
    this._replicas.startIsrChecks();
    if (!this.hasRole('broker')) {
      this.state = 'running';
      this.log.info(`Eddy controller ${this.nodeId} started: cluster ${this.clusterId}, quorum voters ${voterText}`);
      return;
    }
    await this.startListeners(['broker']);
    const endpoints = this.advertisedEndpoints();
    if (this.clusterOpts || quorum) {
      const lifecycle = new BrokerLifecycle({
        nodeId: this.nodeId,
        clusterId: this.clusterId,
        incarnationId: newUuid(),
        endpoints,
        rack: this.config.get('broker.rack'),
        heartbeatIntervalMs: this.config.getNumber('broker.heartbeat.interval.ms'),
        controller: () => this.controller,
        appliedOffset: () => this.appliedOffset,
      });
      this.lifecycle = lifecycle;
      await lifecycle.start(30_000);
      this.brokerEpoch = lifecycle.brokerEpoch;
      this._replicas.brokerEpoch = lifecycle.brokerEpoch;
    } else {
      const registeredEpoch = await (this._controller as Controller).bootstrapAndRegister({
        incarnationId: newUuid(),
        endpoints,
        rack: this.config.get('broker.rack'),
      });
      this.brokerEpoch = registeredEpoch;
      this._replicas.brokerEpoch = registeredEpoch;
      await this.awaitMetadata(registeredEpoch);
    }
    this.logs.startBackgroundTasks();
    const metricsPort = this.config.getNumber('metrics.port');
    if (metricsPort >= 0) {
      const host = this.config.listeners()[0]?.host || '127.0.0.1';
      this.metricsServer = await serveMetrics(this.metrics.registry, host, metricsPort);
    }
    this.expiryTimer = setInterval(() => {
      groups.expireOffsets().catch((err) => this.log.warn(`offset expiry failed: ${errorMessage(err)}`));
    }, this.config.getNumber('offsets.retention.check.interval.ms'));
    this.expiryTimer.unref();
    this.state = 'running';
    let where = endpoints.map((e) => `${e.name}://${e.host}:${e.port}`).join(', ');
    if (this.metricsServer) where += `, metrics on http://127.0.0.1:${this.metricsServer.port}/metrics`;
    this.log.info(
      `Eddy broker ${this.nodeId} started in ${(performance.now() - started).toFixed(0)} ms: cluster ${this.clusterId}, listening on ${where}, data in ${dirs.join(', ')}`,
    );
  }

  private createLocalController(metadataLog: MetadataLog): void {
    this._controller = new Controller({
      log: metadataLog,
      image: () => this.currentImage,
      nodeId: this.nodeId,
      defaultPartitions: () => this.config.getNumber('num.partitions'),
      defaultReplicationFactor: () => this.config.getNumber('default.replication.factor'),
      validateTopicConfigs,
      validateBrokerConfig: (name, value) => {
        const def = BROKER_CONFIGS.get(name);
        if (!def) return `Unknown broker config ${name}`;
        if (!def.dynamic) return `Cannot update ${name} dynamically; it is a static broker config`;
        return value === null ? null : validateConfigValue(def, value);
      },
      deleteTopicEnable: () => this.config.getBoolean('delete.topic.enable'),
      clusterId: this.clusterId,
      clock: this.clock,
      brokerSessionTimeoutMs: this.config.getNumber('broker.session.timeout.ms'),
      uncleanLeaderElection: (topic) =>
        this.config.topicConfigValue(
          'unclean.leader.election.enable',
          configsOf(this.currentImage, ConfigResourceType.TOPIC, topic),
        ) === 'true',
    });
  }

  private controllerListenerNames(): Set<string> {
    return new Set(this.config.getList('controller.listener.names').map((n) => n.toUpperCase()));
  }

  /** Opens the broker listeners or the controller listeners. */
  private async startListeners(kinds: ('broker' | 'controller')[]): Promise<void> {
    const maxRequestBytes = this.config.getNumber('socket.request.max.bytes');
    const queued = this.config.getNumber('queued.max.request.bytes');
    const controllerNames = this.controllerListenerNames();
    for (const spec of this.config.listeners()) {
      const kind = controllerNames.has(spec.name) ? 'controller' : 'broker';
      if (!kinds.includes(kind)) continue;
      if (kind === 'controller' && this.quorum === null) continue;
      const listener = new Listener(
        {
          name: spec.name,
          host: spec.host,
          port: spec.port,
          securityProtocol: spec.securityProtocol,
          maxRequestBytes,
          idleTimeoutMs: this.config.getNumber('connections.max.idle.ms'),
          maxConnections: this.config.getNumber('max.connections'),
          maxUnsentBytes: 8 * 1024 * 1024,
          maxQueuedRequestBytes: queued > 0 ? queued : Math.max(maxRequestBytes, 16 * 1024 * 1024),
        },
        this.router,
      );
      await listener.listen();
      this.listeners.push(listener);
    }
    if (kinds.includes('broker') && !this.listeners.some((l) => !controllerNames.has(l.opts.name))) {
      throw new ConfigError('no client listener configured (listeners=...)');
    }
  }

  private advertisedEndpoints(): { name: string; host: string; port: number; securityProtocol: number }[] {
    const bound = this.boundPorts();
    const controllerNames = this.controllerListenerNames();
    return this.config
      .advertisedListeners()
      .filter((a) => !controllerNames.has(a.name))
      .map((a) => {
        const port = a.port === 0 ? (bound.get(a.name) ?? 0) : a.port;
        const host = a.host === '' || a.host === '0.0.0.0' || a.host === '::' ? '127.0.0.1' : a.host;
        return { name: a.name, host, port, securityProtocol: SECURITY_PROTOCOL_IDS[a.securityProtocol] ?? 0 };
      });
  }

  /** Applies a committed metadata batch to the image and the hosted partitions. */
  private onCommit(batch: CommittedBatch): void {
    let image: MetadataImage;
    let changes: MetadataChanges;
    if (batch.kind === 'snapshot') {
      // A snapshot replaces the image; the difference to the old one drives the logs.
      const delta = new MetadataDelta(EMPTY_IMAGE);
      let offset = batch.baseOffset;
      for (const rec of batch.records) delta.replay(rec, offset++);
      const built = delta.apply().image;
      image = { ...built, offset: batch.lastOffset };
      const old = this.currentImage;
      changes = {
        createdTopics: [...image.topicsById.values()].filter((t) => !old.topicsById.has(t.id)),
        deletedTopics: [...old.topicsById.values()].filter((t) => !image.topicsById.has(t.id)),
        changedTopics: [...image.topicsById.values()],
        changedConfigs: [...new Set([...old.configs.keys(), ...image.configs.keys()])],
        brokersChanged: true,
      };
    } else {
      const delta = new MetadataDelta(this.currentImage);
      let offset = batch.baseOffset;
      for (const rec of batch.records) delta.replay(rec, offset++);
      ({ image, changes } = delta.apply());
    }
    this.currentImage = image;
    if (changes.changedConfigs.some((k) => k.startsWith(`${ConfigResourceType.BROKER}/`))) {
      this.config.setDynamic(
        configsOf(image, ConfigResourceType.BROKER, String(this.nodeId)),
        configsOf(image, ConfigResourceType.BROKER, ''),
      );
    }
    // While the log replays at start-up only the image moves; hosted partitions load once after.
    const replicas = this.replaying ? null : this._replicas;
    const apply = async (): Promise<void> => {
      if (replicas) await replicas.applyMetadata(image, changes);
      this.appliedOffset = batch.lastOffset;
      const ready = this.offsetWaiters.filter((w) => w.offset <= batch.lastOffset);
      this.offsetWaiters = this.offsetWaiters.filter((w) => w.offset > batch.lastOffset);
      for (const w of ready) w.resolve();
    };
    this.applyChain = this.applyChain.then(apply, apply).catch((err) => {
      this.log.error(`applying metadata at offset ${batch.lastOffset} failed: ${errorMessage(err)}`);
    });
  }

  awaitMetadata(offset: number): Promise<void> {
    if (this.appliedOffset >= offset) return Promise.resolve();
    return new Promise((resolve) => this.offsetWaiters.push({ offset, resolve }));
  }

  async autoCreateTopics(names: string[]): Promise<void> {
    const results = await this.controller.createTopics(
      names.map((name) => ({ name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: new Map() })),
      false,
    );
    for (const r of results) {
      if (r.errorCode !== 0 && r.errorCode !== 36) {
        this.log.warn(`auto-creating topic ${r.name} failed: ${r.errorMessage}`);
      }
    }
    await this.awaitImage((img) =>
      results.every((r) => (r.errorCode !== 0 && r.errorCode !== 36) || img.topicsByName.has(r.name)),
    );
  }

  /**
   * Graceful shutdown: move leadership away (cluster mode), finish in-flight requests, flush
   * logs, write the clean-shutdown marker. `controlled: false` skips the leadership handoff,
   * as when a broker dies (tests).
   */
  async stop(opts: { controlled?: boolean } = {}): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    this.log.info(`Eddy broker ${this.nodeId} shutting down`);
    // Move leadership away first, so clients switch over without errors.
    if (opts.controlled === false) await this.lifecycle?.shutdown(0);
    else await this.lifecycle?.shutdown(5000);
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    if (this.controllerTimer) clearInterval(this.controllerTimer);
    await this.metricsServer?.close();
    await Promise.all(this.listeners.map((l) => l.close()));
    this._groups?.shutdown();
    for (const p of this._replicas?.allPartitions() ?? []) p.notifyWaiters();
    this.fetchers?.close();
    this.remoteController?.close();
    await this._controller?.drain();
    await this._replicas?.close();
    await this.applyChain;
    await this._metadataLog?.close();
    await this._logs?.close();
    this.state = 'stopped';
    this.log.info(`Eddy broker ${this.nodeId} stopped`);
  }
}
