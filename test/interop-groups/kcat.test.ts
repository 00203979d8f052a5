// kcat -G balanced consumers (librdkafka) against Eddy, with static membership. kcat cannot
// commit by hand: it auto-commits (every 200 ms here) the offsets librdkafka stored when it
// handed each record to kcat, which prints it unbuffered (-u) at once. On SIGTERM kcat drops the
// record in hand unprinted and its close commits past it: the scenario allows exactly that one
// record per clean stop, and no other gap.
import { after, test } from 'node:test';
import { killAllMembers, runGroupScenario } from './support.js';

after(killAllMembers);

test('kcat -G group: leave, static restart, SIGKILL expiry, broker restart', { timeout: 300_000 }, async (t) => {
  await runGroupScenario({
    kind: 'kcat',
    staticMembership: true,
    cleanStopMayDropHeldRecord: true,
    log: (s) => t.diagnostic(s),
  });
});
