// kafka-python (/usr/bin/python3) consumer groups against Eddy. kafka-python 2.0.2 has no
// static membership (group.instance.id), so its member c restarts as a new dynamic member.
import { after, test } from 'node:test';
import { killAllMembers, runGroupScenario } from './support.js';

after(killAllMembers);

test('kafka-python group: leave, restart, SIGKILL expiry, broker restart', { timeout: 300_000 }, async (t) => {
  await runGroupScenario({ kind: 'kafka-python', staticMembership: false, log: (s) => t.diagnostic(s) });
});
