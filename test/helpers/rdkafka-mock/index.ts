// Starts librdkafka's mock cluster (a Kafka server nobody here wrote) from mock-cluster.c.
// The binary is built with gcc on first use and cached under os.tmpdir() by source hash.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('../../../../test/helpers/rdkafka-mock/mock-cluster.c', import.meta.url));

/** Builds the mock-cluster program if needed and returns its path. */
export function buildMockCluster(): string {
  const source = readFileSync(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `eddy-rdkafka-mock-${hash}`);
  const bin = join(dir, 'mock-cluster');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  // Build under a private name and rename, so concurrent test files never run a half-written binary.
  const tmp = `${bin}.${process.pid}.${Date.now()}`;
  execFileSync('gcc', ['-O1', '-Wall', '-o', tmp, SOURCE, '-lrdkafka'], { stdio: 'pipe' });
  renameSync(tmp, bin);
  return bin;
}

export interface MockCluster {
  bootstrap: string;
  /** Broker addresses by node id (1..n). */
  brokers: string[];
  createTopic(name: string, partitions: number, replicationFactor?: number): Promise<void>;
  /** The next requests of `apiKey` (to any broker) fail with `codes`, in order. */
  pushErrors(apiKey: number, ...codes: number[]): Promise<void>;
  /** The next requests of `apiKey` to `brokerId` fail with the codes, answered after `rttMs` each. */
  pushBrokerErrors(brokerId: number, apiKey: number, errors: { code: number; rttMs?: number }[]): Promise<void>;
  clearErrors(apiKey: number): Promise<void>;
  brokerDown(brokerId: number): Promise<void>;
  brokerUp(brokerId: number): Promise<void>;
  setRtt(brokerId: number, rttMs: number): Promise<void>;
  setLeader(topic: string, partition: number, brokerId: number): Promise<void>;
  setCoordinator(type: 'group' | 'transaction', key: string, brokerId: number): Promise<void>;
  setApiVersion(apiKey: number, min: number, max: number): Promise<void>;
  command(line: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a mock cluster of `brokerCount` brokers on 127.0.0.1 ephemeral ports. */
export async function startMockCluster(brokerCount = 1): Promise<MockCluster> {
  const bin = buildMockCluster();
  const child: ChildProcess = spawn(bin, [String(brokerCount)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const waiting: { resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  const early: string[] = [];
  let exited = false;
  lines.on('line', (line) => {
    const w = waiting.shift();
    if (w) w.resolve(line);
    else early.push(line);
  });
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      for (const w of waiting.splice(0)) w.reject(new Error('mock cluster exited'));
      resolve();
    });
  });
  const nextLine = (): Promise<string> => {
    const e = early.shift();
    if (e !== undefined) return Promise.resolve(e);
    if (exited) return Promise.reject(new Error('mock cluster exited'));
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  };
  const first = await nextLine();
  const m = /^BOOTSTRAP (.+)$/.exec(first);
  if (!m) throw new Error(`unexpected mock cluster output: ${first}`);
  const bootstrap = m[1] as string;

  let chain: Promise<void> = Promise.resolve();
  const command = (line: string): Promise<void> => {
    const run = chain.then(async () => {
      (child.stdin as NodeJS.WritableStream).write(`${line}\n`);
      const answer = await nextLine();
      if (answer !== 'OK') throw new Error(`mock cluster: ${line}: ${answer}`);
    });
    chain = run.catch(() => {});
    return run;
  };

  // librdkafka 2.0.2's mock answers ListOffsets v4+ wrongly for the second partition of a
  // topic onwards (garbage partition index and offsets); v3 is what it gets right.
  await command('apiversion 2 0 3');

  return {
    bootstrap,
    brokers: bootstrap.split(','),
    createTopic: (name, partitions, rf = 1) => command(`topic ${name} ${partitions} ${rf}`),
    pushErrors: (apiKey, ...codes) => command(`errors ${apiKey} ${codes.join(' ')}`),
    pushBrokerErrors: (brokerId, apiKey, errors) =>
      command(`broker-errors ${brokerId} ${apiKey} ${errors.map((e) => `${e.code}:${e.rttMs ?? 0}`).join(' ')}`),
    clearErrors: (apiKey) => command(`clear ${apiKey}`),
    brokerDown: (id) => command(`down ${id}`),
    brokerUp: (id) => command(`up ${id}`),
    setRtt: (id, ms) => command(`rtt ${id} ${ms}`),
    setLeader: (topic, partition, id) => command(`leader ${topic} ${partition} ${id}`),
    setCoordinator: (type, key, id) => command(`coordinator ${type} ${key} ${id}`),
    setApiVersion: (apiKey, min, max) => command(`apiversion ${apiKey} ${min} ${max}`),
    command,
    stop: async () => {
      if (!exited) (child.stdin as NodeJS.WritableStream).end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
