// `eddy cluster up`: a local cluster of combined broker+controller nodes on loopback, one
// child process per node, stopped together with Ctrl-C.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorMessage } from '../util/log.js';

export interface ClusterUpOptions {
  nodes: number;
  basePort: number;
  controllerBasePort: number;
  dir: string;
  overrides: string[];
}

/** The `eddy broker start` arguments of node `id` in a local cluster. */
export function nodeArgs(opts: ClusterUpOptions, id: number): string[] {
  const voters = Array.from({ length: opts.nodes }, (_, i) => `${i + 1}@127.0.0.1:${opts.controllerBasePort + i}`).join(
    ',',
  );
  const o = (kv: string): string[] => ['--override', kv];
  return [
    'broker',
    'start',
    ...o(`node.id=${id}`),
    ...o('process.roles=broker,controller'),
    ...o(
      `listeners=PLAINTEXT://127.0.0.1:${opts.basePort + id - 1},CONTROLLER://127.0.0.1:${opts.controllerBasePort + id - 1}`,
    ),
    ...o('controller.listener.names=CONTROLLER'),
    ...o(`controller.quorum.voters=${voters}`),
    ...o(`log.dirs=${join(opts.dir, `node-${id}`)}`),
    ...o(`default.replication.factor=${Math.min(3, opts.nodes)}`),
    ...o(`offsets.topic.replication.factor=${Math.min(3, opts.nodes)}`),
    ...opts.overrides.flatMap(o),
  ];
}

export async function clusterUp(opts: ClusterUpOptions, eddyBin: string): Promise<void> {
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const children: ChildProcess[] = [];
  let stopping = false;
  const stopAll = (code: number): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('stopping the cluster...\n');
    for (const c of children) c.kill('SIGTERM');
    let left = children.length;
    for (const c of children) {
      c.once('exit', () => {
        if (--left === 0) process.exit(code);
      });
    }
    setTimeout(() => process.exit(code), 10_000).unref();
  };
  for (let id = 1; id <= opts.nodes; id++) {
    const args = nodeArgs({ ...opts, dir }, id);
    const child = spawn(process.execPath, [eddyBin, ...args], { stdio: ['ignore', 'inherit', 'pipe'] });
    child.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line) process.stderr.write(`[node ${id}] ${line}\n`);
    });
    child.on('exit', (code, signal) => {
      if (!stopping) {
        process.stderr.write(`node ${id} exited (${signal ?? code}); stopping the cluster\n`);
        stopAll(1);
      }
    });
    child.on('error', (err) => process.stderr.write(`node ${id}: ${errorMessage(err)}\n`));
    children.push(child);
  }
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));
  const bootstrap = Array.from({ length: opts.nodes }, (_, i) => `127.0.0.1:${opts.basePort + i}`).join(',');
  process.stdout.write(
    `Eddy cluster of ${opts.nodes} nodes starting; data in ${dir}\nbootstrap servers: ${bootstrap}\n`,
  );
}
