// kafkajs consumer groups against Eddy, each member its own Node process. kafkajs has no
// static membership (group.instance.id), so its member c restarts as a new dynamic member.
import { after, test } from 'node:test';
import { killAllMembers, runGroupScenario } from './support.js';

after(killAllMembers);

test('kafkajs group: leave, restart, SIGKILL expiry, broker restart', { timeout: 300_000 }, async (t) => {
  await runGroupScenario({ kind: 'kafkajs', staticMembership: false, log: (s) => t.diagnostic(s) });
});
