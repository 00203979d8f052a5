// A cluster of combined broker+controller node processes (`bin/eddy.js broker start`) behind
// fault-injecting proxies: nodes advertise the proxy ports and name them in
// controller.quorum.voters, so client, replication and Raft traffic can all be cut. Nodes can
// be killed (SIGKILL), stopped gracefully, paused (SIGSTOP/SIGCONT) and restarted on the same
// ports and data dirs.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Network } from './proxy.js';

/** The repository root (this file is dist/test/chaos/cluster.js once compiled). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ChaosClusterOptions {
  nodes?: number;
  /** Broker settings under Kafka's names, added to (and overriding) the defaults below. */
  config?: Record<string, string | number | boolean>;
  /** Where data dirs and node logs go; a temp dir (removed by stop) when absent. */
  dir?: string;
  /** Put proxies in front of the nodes (default true); without them clients connect directly. */
  proxies?: boolean;
  startTimeoutMs?: number;
}

/** Settings that make faults show within seconds instead of Kafka's production timeouts. */
export const CHAOS_DEFAULTS: Record<string, string | number | boolean> = {
  'min.insync.replicas': 2,
  'default.replication.factor': 3,
  'offsets.topic.replication.factor': 3,
  'offsets.topic.num.partitions': 3,
  'num.partitions': 2,
  'group.initial.rebalance.delay.ms': 0,
  'unclean.leader.election.enable': false,
  'replica.lag.time.max.ms': 4000,
  'broker.heartbeat.interval.ms': 300,
  'broker.session.timeout.ms': 2000,
  'replica.fetch.backoff.ms': 200,
  'controller.quorum.election.timeout.ms': 1000,
  'controller.quorum.fetch.timeout.ms': 2000,
};

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const addr = s.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface NodeState {
  id: number;
  clientPort: number;
  controllerPort: number;
  clientProxyPort: number;
  controllerProxyPort: number;
  dataDir: string;
  child: ChildProcess | null;
  paused: boolean;
  exited: Promise<void> | null;
  log: WriteStream;
}

export class ChaosCluster {
  readonly net = new Network();
  readonly nodes: NodeState[] = [];
  private readonly ownDir: boolean;
  private voters: string;
  private readonly config: Record<string, string | number | boolean>;
  private readonly startTimeoutMs: number;
  /** Events (kills, restarts, pauses) with their time, for reports. */
  readonly events: string[] = [];
  private readonly t0 = Date.now();

  private constructor(
    readonly dir: string,
    ownDir: boolean,
    nodes: NodeState[],
    voters: string,
    opts: ChaosClusterOptions,
  ) {
    this.ownDir = ownDir;
    this.nodes = nodes;
    this.voters = voters;
    this.config = { ...CHAOS_DEFAULTS, ...opts.config };
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  }

  static async start(opts: ChaosClusterOptions = {}): Promise<ChaosCluster> {
    const count = opts.nodes ?? 3;
    const ownDir = opts.dir === undefined;
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'eddy-chaos-'));
    mkdirSync(dir, { recursive: true });
    const useProxies = opts.proxies ?? true;
    const nodes: NodeState[] = [];
    for (let id = 1; id <= count; id++) {
      const clientPort = await freePort();
      const controllerPort = await freePort();
      const dataDir = join(dir, `node-${id}`);
      nodes.push({
        id,
        clientPort,
        controllerPort,
        clientProxyPort: clientPort,
        controllerProxyPort: controllerPort,
        dataDir,
        child: null,
        paused: false,
        exited: null,
        log: createWriteStream(join(dir, `node-${id}.log`), { flags: 'a' }),
      });
    }
    const cluster = new ChaosCluster(dir, ownDir, nodes, '', opts);
    if (useProxies) {
      for (const n of nodes) {
        n.clientProxyPort = (await cluster.net.addProxy(n.id, n.clientPort)).port;
        n.controllerProxyPort = (await cluster.net.addProxy(n.id, n.controllerPort)).port;
      }
    }
    const voters = nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerProxyPort}`).join(',');
    cluster.voters = voters;
    try {
      await Promise.all(nodes.map((n) => cluster.startNode(n.id)));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  get bootstrap(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.clientProxyPort}`).join(',');
  }

  bootstrapOf(id: number): string {
    return `127.0.0.1:${this.node(id).clientProxyPort}`;
  }

  node(id: number): NodeState {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  ids(): number[] {
    return this.nodes.map((n) => n.id);
  }

  isRunning(id: number): boolean {
    return this.node(id).child !== null;
  }

  note(event: string): void {
    this.events.push(`${((Date.now() - this.t0) / 1000).toFixed(1)}s ${event}`);
  }

  /** Starts node `id` (again) on its ports and data dir; resolves once it listens. */
  async startNode(id: number): Promise<void> {
    const n = this.node(id);
    if (n.child) throw new Error(`node ${id} is running`);
    const cfg: Record<string, string | number | boolean> = {
      'node.id': id,
      'process.roles': 'broker,controller',
      listeners: `PLAINTEXT://127.0.0.1:${n.clientPort},CONTROLLER://127.0.0.1:${n.controllerPort}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${n.clientProxyPort}`,
      'controller.listener.names': 'CONTROLLER',
      'controller.quorum.voters': this.voters,
      'log.dirs': n.dataDir,
      ...this.config,
    };
    const args = [join(REPO_ROOT, 'bin', 'eddy.js'), 'broker', 'start'];
    for (const [k, v] of Object.entries(cfg)) args.push('--override', `${k}=${v}`);
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, EDDY_LOG_LEVEL: process.env.EDDY_CHAOS_LOG_LEVEL ?? 'info' },
    });
    n.child = child;
    n.paused = false;
    this.net.setPid(id, child.pid);
    n.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        n.log.write(`=== node ${id} exited (${signal ?? code}) ===\n`);
        if (n.child === child) {
          n.child = null;
          this.net.setPid(id, undefined);
        }
        resolve();
      });
    });
    this.note(`start node ${id} (pid ${child.pid})`);
    let output = '';
    await new Promise<void>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(
        () => finish(new Error(`node ${id} did not start within ${this.startTimeoutMs} ms`)),
        this.startTimeoutMs,
      );
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(new Error(`${err.message}: ${output.slice(-1500)}`));
        else resolve();
      };
      const onData = (d: Buffer): void => {
        n.log.write(d);
        if (done) return;
        output = (output + d.toString()).slice(-8192);
        if (/Eddy broker \d+ started/.test(output)) finish();
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code, signal) => finish(new Error(`node ${id} exited (${signal ?? code}) while starting`)));
    });
  }

  /** kill -9: no flush, no clean-shutdown marker. */
  async kill(id: number): Promise<void> {
    const n = this.node(id);
    if (!n.child) return;
    this.note(`kill -9 node ${id}`);
    n.child.kill('SIGKILL');
    await n.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stopNode(id: number, graceMs = 20_000): Promise<void> {
    const n = this.node(id);
    const child = n.child;
    if (!child) return;
    this.note(`stop node ${id}`);
    if (n.paused) child.kill('SIGCONT');
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await n.exited;
    clearTimeout(t);
  }

  pause(id: number): void {
    const n = this.node(id);
    if (!n.child || n.paused) return;
    this.note(`SIGSTOP node ${id}`);
    n.child.kill('SIGSTOP');
    n.paused = true;
  }

  resume(id: number): void {
    const n = this.node(id);
    if (!n.child || !n.paused) return;
    this.note(`SIGCONT node ${id}`);
    n.child.kill('SIGCONT');
    n.paused = false;
  }

  isPaused(id: number): boolean {
    return this.node(id).paused;
  }

  /** Restarts every stopped node and resumes paused ones. */
  async reviveAll(): Promise<void> {
    for (const n of this.nodes) if (n.paused) this.resume(n.id);
    await Promise.all(this.nodes.filter((n) => !n.child).map((n) => this.startNode(n.id)));
  }

  /** Stops every node gracefully, keeping the data dirs (for inspection). */
  async stopAllNodes(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.stopNode(n.id)));
  }

  /** Stops nodes and proxies; removes the dir when the cluster made it (and `keepDir` is false). */
  async stop(keepDir = false): Promise<void> {
    for (const n of this.nodes) if (n.child) n.child.kill('SIGKILL');
    await Promise.all(this.nodes.map((n) => n.exited));
    await this.net.close();
    await Promise.all(this.nodes.map((n) => new Promise<void>((r) => n.log.end(() => r()))));
    if (this.ownDir && !keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
