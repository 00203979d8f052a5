// An embedded broker (startBroker) in a child process of the fuzzer, so that a crash shows
// up as the child exiting and the broker's memory and event-loop delay are its own, not
// mixed with the fuzzer's. Speaks to the parent over IPC:
//   child -> parent  { type: 'ready', bootstrap }     once listening
//   parent -> child  { type: 'stats', gc?: boolean }  -> { type: 'stats', ...BrokerStats }
//   parent -> child  { type: 'stop' }                 stops the broker and exits 0
// Started with the broker config (JSON) as argv[2] and the data dir as argv[3] (the parent
// owns it, so it is removed even when the broker dies). Error-level log lines go to stderr.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startBroker } from '../../src/index.js';

export interface BrokerStats {
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  /** Largest event-loop delay since the previous stats request. */
  eventLoopDelayMaxMs: number;
  connections: number;
  topics: number;
}

export type ParentMessage = { type: 'stats'; gc?: boolean } | { type: 'stop' };
export type ChildMessage = { type: 'ready'; bootstrap: string } | ({ type: 'stats' } & BrokerStats);

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as Record<string, string | number | boolean>;
  const dataDir = process.argv[3];
  const eb = await startBroker({ config, logLevel: 'error', ...(dataDir ? { dataDir } : {}) });
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const send = (m: ChildMessage): void => {
    process.send?.(m);
  };
  process.on('message', (m: ParentMessage) => {
    if (m.type === 'stats') {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (m.gc && gc) gc();
      const mem = process.memoryUsage();
      send({
        type: 'stats',
        rssBytes: mem.rss,
        heapUsedBytes: mem.heapUsed,
        externalBytes: mem.external,
        arrayBuffersBytes: mem.arrayBuffers,
        eventLoopDelayMaxMs: delay.max / 1e6,
        connections: eb.broker.connectionCount(),
        topics: eb.broker.image().topicsByName.size,
      });
      delay.reset();
    } else if (m.type === 'stop') {
      delay.disable();
      eb.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`stop failed: ${String(err)}\n`);
          process.exit(3);
        },
      );
    }
  });
  // The parent going away must not leave a broker behind.
  process.on('disconnect', () => {
    void eb.stop().finally(() => process.exit(0));
  });
  send({ type: 'ready', bootstrap: eb.bootstrap });
}

main().catch((err: unknown) => {
  process.stderr.write(`broker child failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(2);
});
