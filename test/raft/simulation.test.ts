// The deterministic Raft simulation in CI: 10,000 seeds, each a randomized quorum (3 or 5 voters,
// up to 2 observers) under message loss, delay, duplication, reordering, partitions, crashes and
// torn writes, checked for election safety, log matching, leader completeness, state-machine
// safety and liveness after the faults stop. Millions more: `npm run soak:raft`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSeed, Simulation, SimulationFailure, type SimulationStats } from './sim/simulation.js';

const SEEDS = 10_000;

describe('raft simulation', () => {
  it(`keeps Raft's safety properties and recovers after faults for ${SEEDS} seeds`, () => {
    const failures: string[] = [];
    const total = {
      elections: 0,
      crashes: 0,
      snapshotsInstalled: 0,
      truncations: 0,
      committed: 0,
      events: 0,
      fiveVoters: 0,
      observers: 0,
    };
    for (let seed = 0; seed < SEEDS; seed++) {
      let stats: SimulationStats;
      try {
        stats = runSeed(seed);
      } catch (err) {
        if (!(err instanceof SimulationFailure)) throw err;
        failures.push(err.message);
        if (failures.length >= 10) break;
        continue;
      }
      total.elections += stats.elections;
      total.crashes += stats.crashes;
      total.snapshotsInstalled += stats.snapshotsInstalled;
      total.truncations += stats.truncations;
      total.committed += stats.committed;
      total.events += stats.events;
      if (stats.voters === 5) total.fiveVoters++;
      total.observers += stats.observers;
    }
    assert.deepEqual(failures, [], `failing seeds (replay with npm run soak:raft -- --from <seed> --seeds 1 --trace)`);
    // The runs exercised what they claim to.
    assert.ok(total.elections >= SEEDS, `elections ${total.elections}`);
    assert.ok(total.crashes > SEEDS / 2, `crashes ${total.crashes}`);
    assert.ok(total.snapshotsInstalled > SEEDS / 10, `snapshot installs ${total.snapshotsInstalled}`);
    assert.ok(total.truncations > SEEDS / 10, `truncated records ${total.truncations}`);
    assert.ok(total.committed > SEEDS * 10, `committed records ${total.committed}`);
    assert.ok(total.fiveVoters > SEEDS / 4 && total.fiveVoters < SEEDS * 0.6, `five-voter runs ${total.fiveVoters}`);
    assert.ok(total.observers > SEEDS / 2, `observers ${total.observers}`);
  });

  it('replays a seed exactly', () => {
    for (const seed of [7, 1234, 99_999]) {
      const lines: string[] = [];
      const a = new Simulation(seed);
      a.trace = (l) => lines.push(l);
      const statsA = a.run();
      const again: string[] = [];
      const b = new Simulation(seed);
      b.trace = (l) => again.push(l);
      assert.deepEqual(b.run(), statsA);
      assert.deepEqual(again, lines);
      assert.ok(lines.length > 100);
    }
  });
});
