// One chaos run: a 3-node cluster behind proxies, acks=all writers and a verifying consumer,
// a seeded schedule of faults (kill -9 of a partition leader, a follower or the active
// controller and restart; SIGSTOP/SIGCONT; network partitions; heal), then healing, the final
// logs of the cluster and of every replica, and the checker's verdict.
import { Admin } from '../../src/client/admin.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { RawClient } from '../helpers/raw-client.js';
import { type CheckResult, check, type PartitionLogs, violations } from './checker.js';
import { ChaosCluster } from './cluster.js';
import type { CutMode } from './proxy.js';
import {
  eddyWriter,
  type History,
  kafkajsWriter,
  rdkafkaWriter,
  readPartition,
  readReplicaLogs,
  verifyingConsumer,
  type Workload,
} from './workloads.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a small seeded PRNG, so a seed names a fault schedule. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type WorkloadKind = 'eddy' | 'eddy-idempotent' | 'kafkajs' | 'rdkafka';

export interface ChaosOptions {
  seed: number;
  /** How long faults are injected. */
  faultMs: number;
  workloads?: WorkloadKind[];
  partitions?: number;
  log?: (line: string) => void;
  /** Keep the cluster dir (data and node logs) after the run. */
  keepDir?: boolean;
  /** Faults to run first, before the seeded schedule (e.g. to be sure a given client sees a leader change). */
  opening?: { kind: FaultKind; topic: WorkloadKind; partition?: number }[];
}

export type FaultKind =
  | 'kill-leader'
  | 'kill-follower'
  | 'kill-controller'
  | 'pause'
  | 'partition'
  | 'partition-leader';
const FAULT_KINDS: readonly FaultKind[] = [
  'kill-leader',
  'kill-follower',
  'kill-controller',
  'pause',
  'partition',
  'partition-leader',
];

export interface WorkloadReport {
  kind: WorkloadKind;
  topic: string;
  idempotent: boolean;
  result: CheckResult;
  failedSends: number;
  lastError: string;
  /** Acknowledgements after the cluster healed: the client rode through the faults. */
  acksAfterHeal: number;
  violations: string[];
}

export interface ChaosReport {
  seed: number;
  faults: string[];
  workloads: WorkloadReport[];
  consumerRegressions: number;
  /** Time from heal to every partition led with a full ISR. */
  recoveryMs: number;
  unknownProxySources: number;
  /** Connections between nodes that went through the proxies (must be > 0 for partitions to mean anything). */
  nodeToNodeConnections: number;
  dir: string;
}

interface PartitionState {
  leader: number;
  isr: number[];
}

/** Node `id`'s own view (asked on its real port, past the proxies): controller and partitions. */
async function probe(
  cluster: ChaosCluster,
  id: number,
  topics: string[],
): Promise<{ controllerId: number; partitions: Map<string, PartitionState> } | null> {
  if (!cluster.isRunning(id) || cluster.isPaused(id)) return null;
  let client: RawClient | null = null;
  const timeout = sleep(5000).then(() => null);
  try {
    const attempt = (async () => {
      client = await RawClient.connect(`127.0.0.1:${cluster.node(id).clientPort}`);
      const r = await client.request(ApiKey.Metadata, 12, {
        topics: topics.map((name) => ({ name })),
        allowAutoTopicCreation: false,
      });
      const partitions = new Map<string, PartitionState>();
      for (const t of r.topics)
        for (const p of t.partitions)
          partitions.set(`${t.name}/${p.partitionIndex}`, { leader: p.leaderId, isr: p.isrNodes });
      return { controllerId: r.controllerId, partitions };
    })();
    return await Promise.race([attempt, timeout]);
  } catch {
    return null;
  } finally {
    (client as RawClient | null)?.close();
  }
}

/** Waits until every partition has a leader and all nodes in its ISR, as a live node sees it. */
async function waitHealthy(
  cluster: ChaosCluster,
  topics: string[],
  partitions: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    for (const id of cluster.ids()) {
      const view = await probe(cluster, id, topics);
      if (!view) continue;
      let ok = view.controllerId > 0;
      for (const t of topics)
        for (let p = 0; p < partitions; p++) {
          const s = view.partitions.get(`${t}/${p}`);
          if (!s || s.leader < 0 || s.isr.length < cluster.ids().length) ok = false;
        }
      last = JSON.stringify([...view.partitions]);
      if (ok) return;
      break;
    }
    await sleep(300);
  }
  throw new Error(`the cluster did not heal within ${timeoutMs} ms (last view ${last})`);
}

async function createTopics(bootstrap: string, topics: string[], partitions: number): Promise<void> {
  const admin = new Admin({ bootstrapServers: bootstrap, logger: null, requestTimeoutMs: 10_000 });
  try {
    const results = await admin.createTopics(
      topics.map((name) => ({ name, numPartitions: partitions, replicationFactor: 3 })),
      { waitForLeaders: true, timeoutMs: 30_000 },
    );
    for (const r of results as { name: string; errorCode?: number; error?: unknown }[]) {
      if (r.error) throw new Error(`creating ${r.name}: ${String(r.error)}`);
    }
  } finally {
    await admin.close();
  }
}

async function highWatermarks(bootstrap: string, topic: string): Promise<Map<number, number>> {
  const admin = new Admin({ bootstrapServers: bootstrap, logger: null, requestTimeoutMs: 10_000 });
  try {
    const offs = await admin.fetchTopicOffsets(topic);
    return new Map(offs.map((o) => [o.partition, o.high]));
  } finally {
    await admin.close();
  }
}

/** The nemesis: one fault at a time from a seeded schedule, each held a while and then undone. */
async function nemesis(
  cluster: ChaosCluster,
  topics: string[],
  partitions: number,
  random: () => number,
  untilMs: number,
  faults: string[],
  log: (line: string) => void,
  opening: { kind: FaultKind; topic: string; partition?: number }[],
): Promise<void> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const ids = cluster.ids();
  const queue = [...opening];
  while (Date.now() < untilMs || queue.length > 0) {
    await sleep(1000 + random() * 2000);
    const first = queue.shift();
    const kind = first?.kind ?? pick(FAULT_KINDS);
    const holdMs = 1500 + random() * 4000;
    const topic = first?.topic ?? pick(topics);
    const partition = first?.partition ?? Math.floor(random() * partitions);
    const mode: CutMode = random() < 0.5 ? 'drop' : 'blackhole';
    // The schedule is drawn up front from the seed; which node it hits depends on the
    // cluster's state (who leads) when the fault fires.
    let view = null;
    for (const id of ids) {
      view = await probe(cluster, id, topics);
      if (view) break;
    }
    const state = view?.partitions.get(`${topic}/${partition}`);
    const leader = state && state.leader > 0 ? state.leader : pick(ids);
    const controller = view && view.controllerId > 0 ? view.controllerId : pick(ids);
    const followers = ids.filter((i) => i !== leader);
    const follower = pick(followers);
    let text: string;
    switch (kind) {
      case 'kill-leader':
      case 'kill-follower':
      case 'kill-controller': {
        const target = kind === 'kill-leader' ? leader : kind === 'kill-follower' ? follower : controller;
        text = `${kind} ${topic}/${partition}: kill -9 node ${target} for ${holdMs.toFixed(0)} ms`;
        log(text);
        await cluster.kill(target);
        await sleep(holdMs);
        await cluster.startNode(target);
        break;
      }
      case 'pause': {
        const target = random() < 0.5 ? leader : pick(ids);
        text = `SIGSTOP node ${target} for ${holdMs.toFixed(0)} ms`;
        log(text);
        cluster.pause(target);
        await sleep(holdMs);
        cluster.resume(target);
        break;
      }
      case 'partition':
      case 'partition-leader': {
        const target = kind === 'partition-leader' ? leader : pick(ids);
        text = `isolate node ${target} (${mode}) for ${holdMs.toFixed(0)} ms${kind === 'partition-leader' ? ` (leader of ${topic}/${partition})` : ''}`;
        log(text);
        cluster.note(text);
        cluster.net.isolate(target, ids, mode);
        await sleep(holdMs);
        cluster.net.heal();
        cluster.note('heal');
        break;
      }
    }
    faults.push(text);
  }
}

const TOPIC_OF: Record<WorkloadKind, string> = {
  eddy: 'chaos-eddy',
  'eddy-idempotent': 'chaos-eddy-idem',
  kafkajs: 'chaos-kafkajs',
  rdkafka: 'chaos-rdkafka',
};

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => {});
  const kinds = opts.workloads ?? ['eddy', 'eddy-idempotent', 'kafkajs', 'rdkafka'];
  const partitions = opts.partitions ?? 2;
  const topics = kinds.map((k) => TOPIC_OF[k]);
  const random = prng(opts.seed);
  const cluster = await ChaosCluster.start();
  log(`cluster up in ${cluster.dir}: ${cluster.bootstrap}`);
  const faults: string[] = [];
  const workloads: { kind: WorkloadKind; w: Workload }[] = [];
  let consumer: ReturnType<typeof verifyingConsumer> | null = null;
  try {
    await createTopics(cluster.bootstrap, topics, partitions);
    await waitHealthy(cluster, topics, partitions, 60_000);
    for (const kind of kinds) {
      const topic = TOPIC_OF[kind];
      const common = { bootstrap: cluster.bootstrap, topic, partitions, name: `${kind}-${opts.seed}` };
      const w =
        kind === 'eddy'
          ? eddyWriter({ ...common, idempotent: false })
          : kind === 'eddy-idempotent'
            ? eddyWriter({ ...common, idempotent: true })
            : kind === 'kafkajs'
              ? await kafkajsWriter(common)
              : rdkafkaWriter({ ...common, idempotent: true, intervalMs: 10 });
      workloads.push({ kind, w });
    }
    consumer = verifyingConsumer(
      cluster.bootstrap,
      topics.map((topic) => ({ topic, partitions })),
    );
    await sleep(1000);
    const opening = (opts.opening ?? []).map((o) => ({ ...o, topic: TOPIC_OF[o.topic] }));
    await nemesis(cluster, topics, partitions, random, Date.now() + opts.faultMs, faults, log, opening);

    // Heal: undo every fault, then wait for every partition to be led with a full ISR.
    cluster.net.heal();
    await cluster.reviveAll();
    const healedAt = Date.now();
    await waitHealthy(cluster, topics, partitions, 90_000);
    const recoveryMs = Date.now() - healedAt;
    log(`healed; cluster healthy after ${recoveryMs} ms`);
    // The writers keep going for a while after healing: each must get acknowledgements again.
    const afterHeal = Date.now();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && workloads.some(({ w }) => w.history.acksAfter(afterHeal) < 20)) await sleep(200);
    await Promise.all(workloads.map(({ w }) => w.stop()));
    await sleep(500);
    await consumer.stop();

    // The committed logs, as clients read them, then each replica's own copy from disk.
    const logs: PartitionLogs[] = [];
    for (const topic of topics) {
      const hws = await highWatermarks(cluster.bootstrap, topic);
      for (let p = 0; p < partitions; p++) {
        const committed = await readPartition(cluster.bootstrap, topic, p, hws.get(p) ?? 0);
        logs.push({ topic, partition: p, committed, replicas: new Map() });
      }
    }
    // Followers hold everything below the high watermark once they are in the ISR; a
    // graceful stop then leaves the data dirs quiet for reading.
    await waitHealthy(cluster, topics, partitions, 60_000);
    await cluster.stopAllNodes();
    for (const n of cluster.nodes) {
      for (const topic of topics) {
        const replicas = await readReplicaLogs(n.dataDir, topic);
        for (const [p, records] of replicas)
          logs.find((l) => l.topic === topic && l.partition === p)?.replicas?.set(n.id, records);
      }
    }

    const reports: WorkloadReport[] = workloads.map(({ kind, w }) => {
      const h: History = w.history;
      const result = check({
        attempted: h.attempted,
        acknowledged: h.acknowledged,
        consumed: consumer?.consumed.filter((c) => c.topic === h.topic),
        logs: logs.filter((l) => l.topic === h.topic),
      });
      // Every partition must have a copy on every node.
      for (const l of logs.filter((x) => x.topic === h.topic)) {
        if ((l.replicas?.size ?? 0) < cluster.ids().length) {
          result.divergent++;
          result.examples.push(`divergent: ${l.topic}/${l.partition} found on ${l.replicas?.size ?? 0} nodes only`);
        }
      }
      return {
        kind,
        topic: h.topic,
        idempotent: h.idempotent,
        result,
        failedSends: h.failed,
        lastError: h.lastError,
        acksAfterHeal: h.acksAfter(afterHeal),
        violations: violations(result, h.idempotent),
      };
    });
    return {
      seed: opts.seed,
      faults,
      workloads: reports,
      consumerRegressions: consumer.regressions(),
      recoveryMs,
      unknownProxySources: cluster.net.unknownSources,
      nodeToNodeConnections: cluster.net.nodeToNodeConnections(),
      dir: cluster.dir,
    };
  } finally {
    await Promise.all(workloads.map(({ w }) => w.stop().catch(() => {})));
    await consumer?.stop().catch(() => {});
    await cluster.stop(opts.keepDir ?? false);
  }
}

export function formatReport(r: ChaosReport): string {
  const lines = [`seed ${r.seed}: ${r.faults.length} faults, healthy ${r.recoveryMs} ms after heal`];
  for (const f of r.faults) lines.push(`  fault: ${f}`);
  for (const w of r.workloads) {
    const x = w.result;
    lines.push(
      `  ${w.kind.padEnd(16)} acked ${x.acknowledged}/${x.attempted} committed ${x.committedRecords} consumed ${x.consumed}` +
        ` lost ${x.lost} misplaced ${x.misplaced} reordered ${x.reordered} divergent ${x.divergent}` +
        ` duplicates ${x.duplicates} (across producer epochs ${x.duplicatesAcrossEpochs}) unexpected ${x.unexpected} consumed-not-committed ${x.consumedNotCommitted}` +
        ` failed-sends ${w.failedSends} acks-after-heal ${w.acksAfterHeal}`,
    );
    for (const e of x.examples) lines.push(`    ${e}`);
    if (w.failedSends && w.lastError) lines.push(`    last send error: ${w.lastError.slice(0, 200)}`);
  }
  lines.push(
    `  consumer offset regressions ${r.consumerRegressions}, unknown proxy sources ${r.unknownProxySources}, node-to-node connections through proxies ${r.nodeToNodeConnections}`,
  );
  return lines.join('\n');
}
