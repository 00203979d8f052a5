// `eddy broker start` and `eddy cluster up`: the only commands that load broker code, so
// main.ts imports this module lazily.
import { BrokerConfig, ConfigError, readPropertiesFile } from '../broker/config.js';
import { Broker } from '../broker/server.js';
import { errorMessage, logger } from '../util/log.js';
import { clusterUp } from './cluster-up.js';

export async function clusterUpCommand(args: string[], help: string): Promise<void> {
  const opts = {
    nodes: 3,
    basePort: 19092,
    controllerBasePort: 29092,
    dir: './eddy-cluster',
    overrides: [] as string[],
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const next = (): string => {
      const v = args[++i];
      if (v === undefined) throw new ConfigError(`${a} needs a value`);
      return v;
    };
    if (a === '--nodes') opts.nodes = Number(next());
    else if (a === '--base-port') opts.basePort = Number(next());
    else if (a === '--controller-base-port') opts.controllerBasePort = Number(next());
    else if (a === '--dir') opts.dir = next();
    else if (a === '--override' || a === '-o') opts.overrides.push(next());
    else if (a === '--help' || a === '-h') {
      process.stdout.write(help);
      return;
    } else throw new ConfigError(`unknown option ${a}`);
  }
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 9)
    throw new ConfigError('--nodes must be between 1 and 9');
  const bin = new URL('../../../bin/eddy.js', import.meta.url).pathname;
  await clusterUp(opts, bin);
}

export async function brokerStart(args: string[]): Promise<void> {
  const props = new Map<string, string>();
  const overrides: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--config' || a === '-c') {
      const path = args[++i];
      if (!path) throw new ConfigError('--config needs a file');
      for (const [k, v] of readPropertiesFile(path)) props.set(k, v);
    } else if (a === '--override' || a === '-o') {
      const kv = args[++i];
      if (!kv) throw new ConfigError('--override needs key=value');
      overrides.push(kv);
    } else if (a.startsWith('--override=')) {
      overrides.push(a.slice('--override='.length));
    } else if (!a.startsWith('-') && props.size === 0 && a.endsWith('.properties')) {
      for (const [k, v] of readPropertiesFile(a)) props.set(k, v);
    } else {
      throw new ConfigError(`unknown option ${a}`);
    }
  }
  for (const kv of overrides) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--override expects key=value, got ${JSON.stringify(kv)}`);
    props.set(kv.slice(0, eq).trim(), kv.slice(eq + 1).trim());
  }
  const config = new BrokerConfig(props);
  const broker = new Broker({ config });
  const log = logger('eddy');
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info(`received ${signal}`);
    broker.stop().then(
      () => process.exit(0),
      (err) => {
        log.error(`shutdown failed: ${errorMessage(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  try {
    await broker.start();
  } catch (err) {
    log.error(`broker failed to start: ${errorMessage(err)}`);
    await broker.stop().catch(() => undefined);
    process.exit(1);
  }
}
