// node-rdkafka (librdkafka 2.0.2 through its Node binding) consumer groups against Eddy, each
// member its own Node process, with static membership.
import { after, test } from 'node:test';
import { killAllMembers, runGroupScenario } from './support.js';

after(killAllMembers);

test('node-rdkafka group: leave, static restart, SIGKILL expiry, broker restart', { timeout: 300_000 }, async (t) => {
  await runGroupScenario({ kind: 'node-rdkafka', staticMembership: true, log: (s) => t.diagnostic(s) });
});
