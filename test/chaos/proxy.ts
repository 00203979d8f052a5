// A fault-injecting TCP proxy. Every listener of every node (client and controller) sits
// behind one ChaosProxy; nodes advertise the proxy ports and name them in
// controller.quorum.voters, so all traffic between nodes crosses a proxy. A Network owns the
// proxies and the partition rules: which (source, destination) node pairs are cut, and how
// (drop: connections are reset; blackhole: bytes vanish and the peer sees silence).
//
// All traffic comes from 127.0.0.1, so the source of a connection is found by its owner:
// the connecting socket's inode in /proc/net/tcp, then the node process holding that inode.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** Source id of connections from processes that are not nodes (clients, the test itself). */
export const EXTERNAL = 0;

export type CutMode = 'drop' | 'blackhole';

/** The inode of the IPv4/IPv6 loopback socket whose local port is `localPort` and remote port `remotePort`. */
function socketInode(localPort: number, remotePort: number): string | undefined {
  const lp = localPort.toString(16).toUpperCase().padStart(4, '0');
  const rp = remotePort.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      if (f[1]?.endsWith(`:${lp}`) && f[2]?.endsWith(`:${rp}`)) return f[9];
    }
  }
  return undefined;
}

/** Which of `pids` holds the socket with `inode` open; undefined when none does. */
function ownerOf(inode: string, pids: ReadonlyMap<number, number>): number | undefined {
  const target = `socket:[${inode}]`;
  for (const [pid, node] of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return node;
      } catch {
        // The fd closed while we looked.
      }
    }
  }
  return undefined;
}

interface Link {
  source: number;
  client: Socket;
  upstream: Socket | null;
  blackholed: boolean;
}

/** One listener's proxy: accepts on `port`, forwards to 127.0.0.1:`targetPort` unless cut. */
export class ChaosProxy {
  private server: Server | null = null;
  private readonly links = new Set<Link>();
  port = 0;

  constructor(
    readonly node: number,
    readonly targetPort: number,
    private readonly net: Network,
  ) {}

  async listen(port = 0): Promise<number> {
    const server = createServer((socket) => this.accept(socket));
    server.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : port;
    return this.port;
  }

  private accept(client: Socket): void {
    client.setNoDelay(true);
    client.on('error', () => {});
    const source = this.net.sourceOf(client.remotePort ?? 0, this.port);
    this.net.countConnection(source, this.node);
    const link: Link = { source, client, upstream: null, blackholed: false };
    this.links.add(link);
    client.once('close', () => {
      this.links.delete(link);
      link.upstream?.destroy();
    });
    const cut = this.net.cutBetween(source, this.node);
    if (cut === 'drop') {
      client.resetAndDestroy();
      return;
    }
    if (cut === 'blackhole') {
      this.blackhole(link);
      return;
    }
    this.connectUpstream(link);
  }

  private connectUpstream(link: Link): void {
    const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
    link.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('error', () => {});
    upstream.once('close', () => {
      if (!link.blackholed) link.client.destroy();
    });
    link.client.pipe(upstream);
    upstream.pipe(link.client);
  }

  /** Swallows everything the client sends and never answers. */
  private blackhole(link: Link): void {
    link.blackholed = true;
    if (link.upstream) {
      link.client.unpipe(link.upstream);
      link.upstream.unpipe(link.client);
      link.upstream.destroy();
      link.upstream = null;
    }
    link.client.on('data', () => {});
    link.client.resume();
  }

  /** Applies the current rules to open connections. */
  enforce(): void {
    for (const link of [...this.links]) {
      const cut = this.net.cutBetween(link.source, this.node);
      if (cut === 'drop') {
        link.client.resetAndDestroy();
        link.upstream?.destroy();
      } else if (cut === 'blackhole' && !link.blackholed) {
        this.blackhole(link);
      } else if (cut === undefined && link.blackholed) {
        // The peer would time out on the silent connection eventually; a reset makes it
        // reconnect at once, through the healed network.
        link.client.resetAndDestroy();
      }
    }
  }

  /** Closes every connection (as a crashed node's peer sees it). */
  dropAll(): void {
    for (const link of [...this.links]) {
      link.client.resetAndDestroy();
      link.upstream?.destroy();
    }
  }

  openLinks(): number {
    return this.links.size;
  }

  async close(): Promise<void> {
    this.dropAll();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

/** The proxies of a cluster and the partitions between its nodes. */
export class Network {
  private readonly proxies: ChaosProxy[] = [];
  /** node id -> pid, kept current by the harness across restarts. */
  private readonly pidToNode = new Map<number, number>();
  /** "a>b" -> mode: traffic from a to b (connections a opens to b) is cut. */
  private readonly cuts = new Map<string, CutMode>();
  /** Connections whose source could not be told (counted to spot a broken lookup). */
  unknownSources = 0;
  /** Accepted connections by "source>destination" node ids (0: external), to show who went through. */
  readonly connections = new Map<string, number>();

  async addProxy(node: number, targetPort: number, port = 0): Promise<ChaosProxy> {
    const p = new ChaosProxy(node, targetPort, this);
    await p.listen(port);
    this.proxies.push(p);
    return p;
  }

  setPid(node: number, pid: number | undefined): void {
    for (const [p, n] of [...this.pidToNode]) if (n === node) this.pidToNode.delete(p);
    if (pid !== undefined) this.pidToNode.set(pid, node);
  }

  sourceOf(remotePort: number, proxyPort: number): number {
    const inode = socketInode(remotePort, proxyPort);
    if (inode === undefined) {
      this.unknownSources++;
      return EXTERNAL;
    }
    return ownerOf(inode, this.pidToNode) ?? EXTERNAL;
  }

  countConnection(source: number, dest: number): void {
    const k = `${source}>${dest}`;
    this.connections.set(k, (this.connections.get(k) ?? 0) + 1);
  }

  /** Connections accepted between nodes (not from external clients). */
  nodeToNodeConnections(): number {
    let n = 0;
    for (const [k, c] of this.connections) if (!k.startsWith(`${EXTERNAL}>`)) n += c;
    return n;
  }

  cutBetween(source: number, dest: number): CutMode | undefined {
    return this.cuts.get(`${source}>${dest}`);
  }

  /** Cuts traffic both ways between every node of `a` and every node of `b`. */
  partition(a: readonly number[], b: readonly number[], mode: CutMode = 'drop'): void {
    for (const x of a)
      for (const y of b) {
        if (x === y) continue;
        this.cuts.set(`${x}>${y}`, mode);
        this.cuts.set(`${y}>${x}`, mode);
      }
    this.enforce();
  }

  /** Cuts one node off from all other nodes (clients still reach it unless `clientsToo`). */
  isolate(node: number, others: readonly number[], mode: CutMode = 'drop', clientsToo = false): void {
    this.partition(
      [node],
      others.filter((o) => o !== node),
      mode,
    );
    if (clientsToo) this.partition([node], [EXTERNAL], mode);
  }

  heal(): void {
    this.cuts.clear();
    this.enforce();
  }

  isPartitioned(): boolean {
    return this.cuts.size > 0;
  }

  describeCuts(): string {
    return [...this.cuts].map(([k, m]) => `${k}:${m}`).join(' ');
  }

  private enforce(): void {
    for (const p of this.proxies) p.enforce();
  }

  proxiesOf(node: number): ChaosProxy[] {
    return this.proxies.filter((p) => p.node === node);
  }

  async close(): Promise<void> {
    await Promise.all(this.proxies.map((p) => p.close()));
    this.proxies.length = 0;
  }
}
