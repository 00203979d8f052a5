// The chaos checker finds each kind of anomaly it reports, and passes a clean history.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { check, type LogRecord, violations, type Write } from './checker.js';

const T = 't';
const log = (...values: string[]): LogRecord[] => values.map((value, offset) => ({ offset, value }));
const acked = (...pairs: [number, string][]): Write[] =>
  pairs.map(([offset, value]) => ({ topic: T, partition: 0, offset, value }));

describe('chaos checker', () => {
  it('passes a history whose acknowledged writes are all in place on every replica', () => {
    const committed = log('w:0', 'w:1', 'w:2');
    const r = check({
      attempted: new Set(['w:0', 'w:1', 'w:2', 'w:3']),
      acknowledged: acked([0, 'w:0'], [1, 'w:1'], [2, 'w:2']),
      consumed: acked([0, 'w:0'], [1, 'w:1']),
      logs: [
        {
          topic: T,
          partition: 0,
          committed,
          replicas: new Map([
            [1, committed],
            [2, [...committed, { offset: 3, value: 'w:3' }]],
          ]),
        },
      ],
    });
    assert.deepEqual(violations(r, true), []);
    assert.equal(r.committedRecords, 3);
    assert.equal(r.acknowledged, 3);
  });

  it('reports lost, misplaced, reordered, unexpected, consumed-not-committed and divergent records', () => {
    const committed = log('w:0', 'w:2', 'w:1', 'x:9', 'w:3');
    const r = check({
      attempted: new Set(['w:0', 'w:1', 'w:2', 'w:3', 'w:4']),
      acknowledged: acked([0, 'w:0'], [1, 'w:1'], [2, 'w:2'], [4, 'w:3'], [5, 'w:4']),
      consumed: acked([5, 'w:4']),
      logs: [{ topic: T, partition: 0, committed, replicas: new Map([[3, log('w:0', 'w:2', 'zz')]]) }],
    });
    assert.equal(r.lost, 1, 'w:4 is gone');
    assert.equal(r.misplaced, 2, 'w:1 and w:2 swapped places');
    assert.ok(r.reordered >= 1, 'w:1 follows w:2');
    assert.equal(r.unexpected, 1, 'x:9 was never sent');
    assert.equal(r.consumedNotCommitted, 1, 'w:4 was read at offset 5, which the final log lacks');
    assert.equal(r.divergent, 3, 'node 3 differs at offset 2 and lacks offsets 3 and 4');
    assert.equal(violations(r, false).length, 6);
  });

  it('counts duplicates, which only idempotent writers must not have', () => {
    const r = check({
      attempted: new Set(['w:0', 'w:1']),
      acknowledged: acked([0, 'w:0'], [2, 'w:1']),
      logs: [{ topic: T, partition: 0, committed: log('w:0', 'w:0', 'w:1') }],
    });
    assert.equal(r.duplicates, 1);
    assert.equal(r.lost + r.misplaced + r.reordered, 0);
    assert.deepEqual(violations(r, false), []);
    assert.deepEqual(violations(r, true), ['1 duplicates with idempotence (same producer epoch)']);
  });

  it('tells duplicates under one producer epoch (broker dedupe failed) from re-sends under a bumped epoch', () => {
    const committed = log('w:0', 'w:0', 'w:1', 'w:1');
    const replica: LogRecord[] = committed.map((r, i) => ({ ...r, producer: i === 1 ? '7/1' : '7/0' }));
    const r = check({
      attempted: new Set(['w:0', 'w:1']),
      acknowledged: acked([0, 'w:0'], [2, 'w:1']),
      logs: [{ topic: T, partition: 0, committed, replicas: new Map([[1, replica]]) }],
    });
    assert.equal(r.duplicates, 2);
    assert.equal(r.duplicatesAcrossEpochs, 1, 'w:0 was re-sent under epoch 1');
    assert.deepEqual(
      violations(r, true),
      ['1 duplicates with idempotence (same producer epoch)'],
      'w:1 twice under 7/0',
    );
  });
});
