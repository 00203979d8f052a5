// Cluster benchmark (issue 8): the cost of replication and the time of a failover.
//
//   npm run bench:cluster -- [--records 40000] [--trials 20] [--controller-trials 5] [--value-bytes 1024] [--kafka-defaults]
//
// 1. Produce throughput of 3 nodes, RF=3, acks=all (min.insync.replicas=2), as a ratio of a
//    single node with acks=1 measured in the same run with the same producer (target >= 0.5).
// 2. Failover: kill -9 of a partition's leader, then the time until a surviving node accepts
//    an acks=all Produce for it as the new leader; p50 and p99 over the trials (target < 2 s).
//    The killed leader is not the active controller; extra trials (--controller-trials) kill a
//    leader that is, which adds a metadata-quorum election, and are reported apart.
// Nodes are separate processes; the producer runs here. The load average is printed: other
// work on a shared machine skews every figure.
import { Admin } from '../src/client/admin.js';
import { Producer } from '../src/client/producer/producer.js';
import { ApiKey } from '../src/protocol/generated/apis.js';
import { encodeRecordBatch } from '../src/records/index.js';
import { ChaosCluster } from '../test/chaos/cluster.js';
import { RawClient } from '../test/helpers/raw-client.js';
import { startEddyProcess } from './lib/eddy-process.js';
import { loadAverage } from './lib/proc.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const RECORDS = arg('records', 40_000);
const TRIALS = arg('trials', 20);
const CONTROLLER_TRIALS = arg('controller-trials', 5);
const VALUE_BYTES = arg('value-bytes', 1024);
const PARTITIONS = 3;

/**
 * Failure detection settings of the cluster: heartbeats every 250 ms, fenced after 1.5 s; with
 * --kafka-defaults, Kafka's own defaults (2000 ms heartbeats, 9000 ms session, 1000 ms election).
 */
const KAFKA_DEFAULTS = process.argv.includes('--kafka-defaults');
const CLUSTER_CONFIG = KAFKA_DEFAULTS
  ? {
      'broker.heartbeat.interval.ms': 2000,
      'broker.session.timeout.ms': 9000,
      'controller.quorum.election.timeout.ms': 1000,
      'replica.lag.time.max.ms': 30_000,
    }
  : {
      'broker.heartbeat.interval.ms': 250,
      'broker.session.timeout.ms': 1500,
      'controller.quorum.election.timeout.ms': 1000,
      'replica.lag.time.max.ms': 10_000,
    };

async function createTopic(bootstrap: string, name: string, partitions: number, rf: number): Promise<void> {
  const admin = new Admin({ bootstrapServers: bootstrap, logger: null });
  try {
    await admin.createTopics([{ name, numPartitions: partitions, replicationFactor: rf }], {
      waitForLeaders: true,
      timeoutMs: 30_000,
    });
  } finally {
    await admin.close();
  }
}

/** Records per second of one producer writing RECORDS values to `topic`. */
async function produceRate(bootstrap: string, topic: string, acks: 1 | 'all'): Promise<number> {
  let failures = 0;
  const producer = new Producer({
    bootstrapServers: bootstrap,
    acks,
    idempotent: acks === 'all',
    lingerMs: 5,
    logger: null,
    onDeliveryError: () => {
      failures++;
    },
  });
  const value = Buffer.alloc(VALUE_BYTES, 'x');
  const run = async (count: number): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      if (!producer.produce({ topic, partition: i % PARTITIONS, value })) await producer.drained();
    }
    await producer.flush();
    return performance.now() - t0;
  };
  try {
    await run(Math.min(2000, RECORDS / 10)); // warm-up: metadata, connections, JIT
    const ms = await run(RECORDS);
    return (RECORDS / ms) * 1000;
  } finally {
    if (failures) process.stdout.write(`  ${failures} delivery failures\n`);
    await producer.close({ timeoutMs: 10_000 });
  }
}

interface View {
  controllerId: number;
  /** Leader and ISR per partition index. */
  partitions: { leader: number; isr: number[] }[];
}

async function viewFrom(port: number, topic: string): Promise<View | null> {
  let c: RawClient | null = null;
  try {
    c = await RawClient.connect(`127.0.0.1:${port}`);
    const r = await c.request(ApiKey.Metadata, 12, { topics: [{ name: topic }], allowAutoTopicCreation: false });
    const ps = r.topics[0]?.partitions ?? [];
    if (ps.length === 0) return null;
    const partitions: View['partitions'] = [];
    for (const p of ps) partitions[p.partitionIndex] = { leader: p.leaderId, isr: p.isrNodes };
    return { controllerId: r.controllerId, partitions };
  } catch {
    return null;
  } finally {
    c?.close();
  }
}

/** Sends one acks=all Produce to `port`; true when it was accepted (so that node leads). */
async function produceAccepted(port: number, topic: string, partition: number, timeoutMs: number): Promise<boolean> {
  let c: RawClient | null = null;
  const attempt = (async () => {
    c = await RawClient.connect(`127.0.0.1:${port}`);
    const r = await c.request(ApiKey.Produce, 9, {
      acks: -1,
      timeoutMs,
      topicData: [
        {
          name: topic,
          partitionData: [
            { index: partition, records: encodeRecordBatch({ records: [{ value: Buffer.from('probe') }] }) },
          ],
        },
      ],
    });
    return r.responses[0]?.partitionResponses[0]?.errorCode === 0;
  })().catch(() => false);
  try {
    return await Promise.race([attempt, sleep(timeoutMs + 500).then(() => false)]);
  } finally {
    (c as RawClient | null)?.close();
  }
}

/** Kills the leader of a partition (led by the controller or not) `trials` times; failover times in ms. */
async function failoverTrials(
  cluster: ChaosCluster,
  topic: string,
  trials: number,
  controllerLeads: boolean,
): Promise<number[]> {
  const times: number[] = [];
  for (let trial = 0; trial < trials; trial++) {
    // Start healthy: every partition led with a full ISR, and a partition of the wanted kind.
    let view: View | null = null;
    let partition = -1;
    const healthyBy = Date.now() + 60_000;
    while (Date.now() < healthyBy) {
      const asking = cluster.ids().find((id) => cluster.isRunning(id)) ?? 1;
      view = await viewFrom(cluster.node(asking).clientPort, topic);
      const v = view;
      if (v && v.controllerId > 0 && v.partitions.every((p) => p.leader > 0 && p.isr.length === 3)) {
        partition = v.partitions.findIndex((p) => (p.leader === v.controllerId) === controllerLeads);
        if (partition >= 0) break;
      }
      await sleep(100);
    }
    const leader = view?.partitions[partition]?.leader ?? -1;
    if (!view || partition < 0 || leader <= 0) {
      process.stdout.write(
        `  no healthy partition ${controllerLeads ? 'led by' : 'not led by'} the controller; trials stop\n`,
      );
      break;
    }
    const survivors = cluster.ids().filter((id) => id !== leader);
    const t0 = performance.now();
    await cluster.kill(leader);
    let elapsed = -1;
    const giveUp = Date.now() + 30_000;
    while (elapsed < 0 && Date.now() < giveUp) {
      const ok = await Promise.all(
        survivors.map((id) => produceAccepted(cluster.node(id).clientPort, topic, partition, 1000)),
      );
      if (ok.some(Boolean)) elapsed = performance.now() - t0;
      else await sleep(20);
    }
    if (elapsed < 0) throw new Error(`no new leader within 30 s after killing node ${leader}`);
    times.push(elapsed);
    process.stdout.write(
      `  trial ${trial + 1}: killed node ${leader}, leader of partition ${partition}${controllerLeads ? ' and the active controller' : ''}: new leader serving produce after ${elapsed.toFixed(0)} ms\n`,
    );
    await cluster.startNode(leader);
  }
  return times;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] as number;
}

async function main(): Promise<void> {
  process.stdout.write(
    `cluster benchmark: ${RECORDS} records of ${VALUE_BYTES} B, ${PARTITIONS} partitions; load average ${loadAverage().toFixed(2)}\n`,
  );

  // 1. Single node, acks=1.
  const single = await startEddyProcess({ config: { 'num.partitions': PARTITIONS } });
  let singleRate: number;
  try {
    await createTopic(single.bootstrap, 'bench-single', PARTITIONS, 1);
    singleRate = await produceRate(single.bootstrap, 'bench-single', 1);
  } finally {
    await single.stop();
  }

  // 2. Three nodes, RF=3, acks=all, no proxies (this measures Eddy, not the chaos proxy).
  const cluster = await ChaosCluster.start({ proxies: false, config: CLUSTER_CONFIG });
  try {
    await createTopic(cluster.bootstrap, 'bench-rf3', PARTITIONS, 3);
    const clusterRate = await produceRate(cluster.bootstrap, 'bench-rf3', 'all');
    const mb = (rate: number): string => ((rate * VALUE_BYTES) / 1e6).toFixed(1);
    process.stdout.write(
      `produce: single node acks=1 ${singleRate.toFixed(0)} records/s (${mb(singleRate)} MB/s); ` +
        `3 nodes RF=3 acks=all ${clusterRate.toFixed(0)} records/s (${mb(clusterRate)} MB/s)\n` +
        `  ratio RF=3 acks=all / single acks=1: ${(clusterRate / singleRate).toFixed(2)} (target >= 0.5)\n`,
    );

    // 3. Failover trials. The topic has one partition per node, so each trial can pick a
    // partition whose leader is not the active controller (the partition failover proper) or,
    // in the extra trials, one whose leader is (a metadata-quorum election comes first).
    const topic = 'bench-failover';
    await createTopic(cluster.bootstrap, topic, 3, 3);
    const leaderOnly = await failoverTrials(cluster, topic, TRIALS, false);
    const withController = await failoverTrials(cluster, topic, CONTROLLER_TRIALS, true);
    const line = (name: string, xs: number[]): string => {
      const sorted = [...xs].sort((a, b) => a - b);
      return `  ${name}: ${xs.length} trials, p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, max ${(sorted.at(-1) ?? Number.NaN).toFixed(0)} ms`;
    };
    process.stdout.write(
      'failover: kill -9 of a partition leader -> a new leader accepts an acks=all produce (target < 2000 ms)\n' +
        `${line('leader (not the controller)', leaderOnly)}\n` +
        `${line('leader that is also the active controller', withController)}\n` +
        `  failure detection: broker.session.timeout.ms=${CLUSTER_CONFIG['broker.session.timeout.ms']}, ` +
        `broker.heartbeat.interval.ms=${CLUSTER_CONFIG['broker.heartbeat.interval.ms']}, ` +
        `controller.quorum.election.timeout.ms=${CLUSTER_CONFIG['controller.quorum.election.timeout.ms']}\n`,
    );
  } finally {
    await cluster.stop();
  }
}

await main();
