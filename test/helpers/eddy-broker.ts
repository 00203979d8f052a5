// Eddy's own broker for client tests: the embedded broker from src/index.ts (startBroker),
// or an already running one named by EDDY_TEST_BOOTSTRAP.
export interface TestBroker {
  bootstrap: string;
  stop(): Promise<void>;
}

type StartBroker = (opts: { config?: Record<string, string | number | boolean> }) => Promise<TestBroker>;

export async function startEddyBroker(config: Record<string, string | number | boolean> = {}): Promise<TestBroker> {
  const external = process.env.EDDY_TEST_BOOTSTRAP;
  if (external) return { bootstrap: external, stop: async () => {} };
  const mod = (await import('../../src/index.js')) as Record<string, unknown>;
  const start = mod.startBroker as StartBroker | undefined;
  if (typeof start !== 'function') throw new Error('src/index.ts does not export startBroker');
  // No initial rebalance delay: tests join groups many times.
  return start({ config: { 'group.initial.rebalance.delay.ms': 0, ...config } });
}
