// Embedded mode: start a broker inside the current process, for tests and tools.
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LogLevel, setLogLevel } from '../util/log.js';
import { BrokerConfig } from './config.js';
import { Broker } from './server.js';

export interface StartBrokerOptions {
  /** Data directory; a fresh temp dir (removed on stop) when omitted. */
  dataDir?: string;
  /** Listener port; 0 (default) picks a free port. */
  port?: number;
  host?: string;
  nodeId?: number;
  /** Any broker config, with Kafka's names (for example 'num.partitions': 3). */
  config?: Record<string, string | number | boolean>;
  /** Log level for the broker's own log lines (default 'warn' in embedded mode). */
  logLevel?: LogLevel;
}

export interface EmbeddedBroker {
  /** host:port for a client's bootstrap servers. */
  readonly bootstrap: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly broker: Broker;
  stop(): Promise<void>;
}

export async function startBroker(opts: StartBrokerOptions = {}): Promise<EmbeddedBroker> {
  setLogLevel(opts.logLevel ?? 'warn');
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'eddy-'));
  const host = opts.host ?? '127.0.0.1';
  const config = BrokerConfig.fromObject({
    'node.id': opts.nodeId ?? 1,
    listeners: `PLAINTEXT://${host}:${opts.port ?? 0}`,
    'log.dirs': dataDir,
    ...opts.config,
  });
  const broker = new Broker({ config });
  try {
    await broker.start();
  } catch (err) {
    await broker.stop().catch(() => undefined);
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const port = broker.boundPorts().get('PLAINTEXT') ?? [...broker.boundPorts().values()][0] ?? 0;
  let stopped = false;
  return {
    bootstrap: `${host}:${port}`,
    host,
    port,
    dataDir,
    broker,
    async stop() {
      if (stopped) return;
      stopped = true;
      await broker.stop();
      // Async, so a test process with other brokers keeps serving while thousands of files go.
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
