// Several brokers in one process sharing an in-memory metadata quorum and one controller:
// enough to exercise replication, ISR changes and failover without Raft or processes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerConfig, validateTopicConfigs } from '../../src/broker/config.js';
import { Broker } from '../../src/broker/server.js';
import { Controller } from '../../src/metadata/controller.js';
import { EMPTY_IMAGE, MetadataDelta, type MetadataImage } from '../../src/metadata/image.js';
import type { CommitListener, CommittedBatch, MetadataLog } from '../../src/metadata/log.js';
import type { MetadataRecord } from '../../src/metadata/records.js';
import { setLogLevel } from '../../src/util/log.js';

/** One committed log shared by reference: appends commit at once and reach every view. */
export class InMemoryQuorum {
  readonly batches: CommittedBatch[] = [];
  private readonly listeners = new Set<CommitListener>();
  private end = 0;

  view(leaderId: number): MetadataLog {
    let mine: CommitListener | null = null;
    return {
      start: async (listener) => {
        for (const b of this.batches) listener(b);
        mine = listener;
        this.listeners.add(listener);
      },
      append: async (records) => this.append(records),
      isLeader: () => true,
      leaderId: () => leaderId,
      leaderEpoch: () => 1,
      endOffset: () => this.end,
      close: async () => {
        if (mine) this.listeners.delete(mine);
      },
    };
  }

  append(records: MetadataRecord[]): number {
    const batch: CommittedBatch = {
      kind: 'records',
      baseOffset: this.end,
      lastOffset: this.end + records.length - 1,
      epoch: 1,
      appendTimestampMs: Date.now(),
      records,
    };
    this.end += records.length;
    this.batches.push(batch);
    for (const l of [...this.listeners]) l(batch);
    return batch.lastOffset;
  }
}

export interface InProcessCluster {
  quorum: InMemoryQuorum;
  controller: Controller;
  brokers: (Broker | null)[];
  dataDirs: string[];
  bootstrap(): string;
  broker(id: number): Broker;
  /** Stops broker `id` as if it died: no controlled shutdown; the controller fences it on session expiry. */
  kill(id: number): Promise<void>;
  /** Starts broker `id` again on its data dir. */
  restart(id: number): Promise<Broker>;
  stop(): Promise<void>;
}

export async function startInProcessCluster(
  count: number,
  overrides: Record<string, string | number | boolean> = {},
): Promise<InProcessCluster> {
  setLogLevel((process.env.EDDY_LOG_LEVEL as 'warn' | undefined) ?? 'warn');
  const quorum = new InMemoryQuorum();
  let image: MetadataImage = EMPTY_IMAGE;
  const controllerView = quorum.view(1);
  await controllerView.start((b) => {
    const d = new MetadataDelta(image);
    let o = b.baseOffset;
    for (const r of b.records) d.replay(r, o++);
    image = d.apply().image;
  });
  const sessionTimeoutMs = Number(overrides['broker.session.timeout.ms'] ?? 1500);
  const dataDirs = Array.from({ length: count }, () => mkdtempSync(join(tmpdir(), 'eddy-cluster-')));
  const clusterId = 'EddyInProcessClusterA';
  let controller: Controller;
  const configFor = (id: number): BrokerConfig =>
    BrokerConfig.fromObject({
      'node.id': id,
      listeners: 'PLAINTEXT://127.0.0.1:0',
      'log.dirs': dataDirs[id - 1] as string,
      'default.replication.factor': Math.min(3, count),
      'offsets.topic.replication.factor': Math.min(3, count),
      'offsets.topic.num.partitions': 3,
      'group.initial.rebalance.delay.ms': 0,
      'broker.heartbeat.interval.ms': 200,
      'broker.session.timeout.ms': sessionTimeoutMs,
      'replica.fetch.backoff.ms': 100,
      'replica.lag.time.max.ms': 2000,
      ...overrides,
    });
  const writeMeta = (id: number): void => {
    // Brokers of one cluster share its id (formatted up front, as `kafka-storage format` would).
    mkdirSync(dataDirs[id - 1] as string, { recursive: true });
    writeFileSync(
      join(dataDirs[id - 1] as string, 'meta.properties'),
      `cluster.id=${clusterId}\nnode.id=${id}\nversion=1\n`,
    );
  };
  const startOne = async (id: number): Promise<Broker> => {
    writeMeta(id);
    const b = new Broker({
      config: configFor(id),
      cluster: { metadataLog: quorum.view(1), controller: () => controller },
    });
    await b.start();
    return b;
  };
  controller = new Controller({
    log: controllerView,
    image: () => image,
    nodeId: 1,
    defaultPartitions: () => 1,
    defaultReplicationFactor: () => Math.min(3, count),
    validateTopicConfigs,
    validateBrokerConfig: () => null,
    deleteTopicEnable: () => true,
    clusterId,
    brokerSessionTimeoutMs: sessionTimeoutMs,
    uncleanLeaderElection: () => false,
  });
  const ticker = setInterval(() => void controller.tick(), 100);
  const brokers: (Broker | null)[] = [];
  for (let id = 1; id <= count; id++) brokers.push(await startOne(id));
  const cluster: InProcessCluster = {
    quorum,
    controller,
    brokers,
    dataDirs,
    bootstrap() {
      const live = brokers.filter((b): b is Broker => b !== null);
      return live.map((b) => `127.0.0.1:${b.boundPorts().get('PLAINTEXT')}`).join(',');
    },
    broker(id) {
      const b = brokers[id - 1];
      if (!b) throw new Error(`broker ${id} is not running`);
      return b;
    },
    async kill(id) {
      const b = brokers[id - 1];
      brokers[id - 1] = null;
      await b?.stop({ controlled: false });
    },
    async restart(id) {
      const b = await startOne(id);
      brokers[id - 1] = b;
      return b;
    },
    async stop() {
      clearInterval(ticker);
      for (const b of brokers) await b?.stop({ controlled: false });
      for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
    },
  };
  return cluster;
}
