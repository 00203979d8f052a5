// CI-sized chaos run: three node processes behind fault-injecting proxies (RF=3,
// min.insync.replicas=2) take acks=all writes from Eddy's producer (idempotence off and on),
// kafkajs (idempotent) and librdkafka (confluent_kafka), while a seeded nemesis kills leaders,
// followers and the controller, pauses nodes and partitions the network. After healing, no
// acknowledged write may be lost, misplaced or reordered, replicas must agree, consumers must
// have read only committed records, and idempotent writers must have no duplicates (librdkafka:
// none within a producer epoch, see below).
// EDDY_CHAOS_SEED picks another schedule; EDDY_CHAOS_SECONDS lengthens the fault phase.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatReport, runChaos } from './run.js';

const SEED = Number(process.env.EDDY_CHAOS_SEED ?? 20_261_207);
const FAULT_SECONDS = Number(process.env.EDDY_CHAOS_SECONDS ?? 60);

describe('chaos', () => {
  it('keeps every acknowledged write through kills, pauses and partitions', { timeout: 15 * 60_000 }, async () => {
    const report = await runChaos({
      seed: SEED,
      faultMs: FAULT_SECONDS * 1000,
      // Each third-party client sees its partition leader killed or cut off first.
      opening: [
        { kind: 'kill-leader', topic: 'kafkajs', partition: 0 },
        { kind: 'partition-leader', topic: 'rdkafka', partition: 1 },
        { kind: 'kill-leader', topic: 'rdkafka', partition: 0 },
      ],
    });
    const text = formatReport(report);
    process.stdout.write(`${text}\n`);
    // The opening faults always run; how many seeded ones follow depends on restart times.
    assert.ok(report.faults.length >= 3, `faults were injected:\n${text}`);
    assert.ok(report.nodeToNodeConnections > 0, 'replication and Raft traffic went through the proxies');
    assert.equal(report.workloads.length, 4);
    for (const w of report.workloads) {
      assert.deepEqual(w.violations, [], `${w.kind} (seed ${SEED}):\n${text}`);
      assert.ok(w.result.acknowledged > 50, `${w.kind} got acknowledgements:\n${text}`);
      assert.ok(w.acksAfterHeal > 0, `${w.kind} kept producing after the faults:\n${text}`);
      assert.ok(
        w.result.committedRecords >= w.result.acknowledged,
        `${w.kind}: the final log holds every acknowledged write`,
      );
      // Eddy's producer and kafkajs never re-send a batch under a new epoch: no duplicates at
      // all. librdkafka 2.0.2 may bump its epoch and re-send in-flight messages during a leader
      // change (confluentinc/librdkafka#4953); the broker cannot dedupe across epochs, so only
      // same-epoch duplicates count against it (violations() checks those for every writer).
      if (w.idempotent && w.kind !== 'rdkafka')
        assert.equal(w.result.duplicates, 0, `${w.kind} is idempotent:\n${text}`);
    }
  });
});
