// confluent-kafka (librdkafka, /usr/bin/python3) consumer groups against Eddy: members join,
// leave, crash and restart statically; no record is missed; offsets survive a broker restart.
import { after, test } from 'node:test';
import { killAllMembers, runGroupScenario } from './support.js';

after(killAllMembers);

test('confluent-kafka group: leave, static restart, SIGKILL expiry, broker restart', {
  timeout: 300_000,
}, async (t) => {
  await runGroupScenario({ kind: 'confluent', staticMembership: true, log: (s) => t.diagnostic(s) });
});
