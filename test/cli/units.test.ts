// Unit tests of the CLI's parsers and formatters (no broker).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseArgs } from '../../src/cli/args.js';
import { table, UsageError } from '../../src/cli/output.js';
import { latencyStats } from '../../src/cli/perf.js';
import { parseIsoDuration, parseTimestamp } from '../../src/cli/time.js';

describe('CLI parsers and formatters', () => {
  test('ISO-8601 durations', () => {
    const H = 3_600_000;
    assert.equal(parseIsoDuration('PT1H', 'd'), H);
    assert.equal(parseIsoDuration('P1D', 'd'), 24 * H);
    assert.equal(parseIsoDuration('P1DT2H30M', 'd'), 26.5 * H);
    assert.equal(parseIsoDuration('PT0.5S', 'd'), 500);
    assert.equal(parseIsoDuration('P2W', 'd'), 14 * 24 * H);
    assert.equal(parseIsoDuration('pt15m', 'd'), 15 * 60_000);
    for (const bad of ['P', 'PT', '1H', 'P1Y', 'P1M', 'PT1X', 'P1DT', ''])
      assert.throws(() => parseIsoDuration(bad, '--by-duration'), UsageError, bad);
  });

  test('timestamps: ISO datetimes or epoch milliseconds', () => {
    assert.equal(parseTimestamp('2024-05-01T12:00:00Z', 't'), Date.UTC(2024, 4, 1, 12));
    assert.equal(parseTimestamp('2024-05-01T12:00:00.250+02:00', 't'), Date.UTC(2024, 4, 1, 10, 0, 0, 250));
    assert.equal(parseTimestamp('1714564800000', 't'), 1714564800000);
    assert.throws(() => parseTimestamp('yesterday', '--from-time'), /ISO-8601 datetime/);
  });

  test('options: values, --name=value, repeats, booleans, shorts and errors', () => {
    const a = parseArgs(['--topic', 't', '--config=a=1', '--config', 'b=2', '--json', '-p', '3', 'extra'], {
      topic: { kind: 'string', description: '' },
      config: { kind: 'list', description: '' },
      partition: { kind: 'number', short: 'p', description: '' },
    });
    assert.equal(a.string('topic'), 't');
    assert.deepEqual(a.list('config'), ['a=1', 'b=2']);
    assert.equal(a.bool('json'), true);
    assert.equal(a.integer('partition', 0), 3);
    assert.deepEqual(a.positional, ['extra']);
    assert.throws(() => parseArgs(['--nope'], {}), /unknown option --nope/);
    assert.throws(() => parseArgs(['--bootstrap-server'], {}), /needs a value/);
    const n = parseArgs(['--n', 'x'], { n: { kind: 'number', description: '' } });
    assert.throws(() => n.number('n'), /expects a number/);
  });

  test('tables align columns and show missing cells as -', () => {
    assert.equal(
      table(
        ['topic', 'lag'],
        [
          ['a', 1],
          ['longer-name', null],
        ],
      ),
      'TOPIC        LAG\na            1\nlonger-name  -\n',
    );
  });

  test('latency percentiles use the nearest rank', () => {
    const values = Float64Array.from({ length: 1000 }, (_, i) => i + 1); // 1..1000 ms
    const s = latencyStats(values);
    assert.deepEqual(s, { avg: 500.5, max: 1000, p50: 500, p95: 950, p99: 990, p999: 999 });
    assert.deepEqual(latencyStats(new Float64Array(0)), { avg: 0, max: 0, p50: 0, p95: 0, p99: 0, p999: 0 });
  });
});
