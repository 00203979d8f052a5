// Eddy's broker as a separate process (`bin/eddy.js broker start`), so a load generator and
// the broker never share an event loop. The listener binds port 0; the broker's start-up log
// line says which port it got.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSecondsOf, peakRssBytesOf, rssBytesOf, type Server, startServer } from './proc.js';

/** The repository root (this file is dist/bench/lib/eddy-process.js once compiled). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface EddyProcessOptions {
  /** Broker configs with Kafka's names, passed as --override. */
  config?: Record<string, string | number | boolean>;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof']. */
  nodeFlags?: string[];
  /** Log level of the broker process (default info: the start-up line names the port). */
  logLevel?: 'debug' | 'info';
}

export interface EddyProcess {
  readonly bootstrap: string;
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  cpuSeconds(): number;
  rssBytes(): number;
  peakRssBytes(): number;
  /** Graceful stop (SIGTERM); removes the data dir. */
  stop(): Promise<void>;
}

export async function startEddyProcess(opts: EddyProcessOptions = {}): Promise<EddyProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'eddy-bench-'));
  const overrides: Record<string, string | number | boolean> = {
    listeners: 'PLAINTEXT://127.0.0.1:0',
    'log.dirs': dataDir,
    ...opts.config,
  };
  const args = [...(opts.nodeFlags ?? []), join(REPO_ROOT, 'bin', 'eddy.js'), 'broker', 'start'];
  for (const [k, v] of Object.entries(overrides)) args.push('--override', `${k}=${v}`);
  let server: Server;
  try {
    server = await startServer(process.execPath, args, /listening on PLAINTEXT:\/\/[^:]+:(\d+)/, {
      env: { ...process.env, EDDY_LOG_LEVEL: opts.logLevel === 'debug' ? 'debug' : 'info' },
      timeoutMs: 30_000,
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const port = Number(server.match[1]);
  return {
    bootstrap: `127.0.0.1:${port}`,
    port,
    pid: server.pid,
    dataDir,
    cpuSeconds: () => cpuSecondsOf(server.pid).total,
    rssBytes: () => rssBytesOf(server.pid),
    peakRssBytes: () => peakRssBytesOf(server.pid),
    async stop() {
      await server.stop(15_000);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
