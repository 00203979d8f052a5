// Broker config: properties parsing, synonyms and the effective log config of a topic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokerConfig, parseProperties } from '../../src/broker/config.js';

describe('broker config', () => {
  it('parses server.properties text', () => {
    const p = parseProperties('# comment\nlisteners=PLAINTEXT://:9092\nlog.dirs = /a,/b\nkey: value\nmulti=one \\\n  two\n');
    assert.equal(p.get('listeners'), 'PLAINTEXT://:9092');
    assert.equal(p.get('log.dirs'), '/a,/b');
    assert.equal(p.get('key'), 'value');
    assert.equal(p.get('multi'), 'one two');
  });

  it('resolves topic configs through broker synonyms with unit conversion', () => {
    const cfg = BrokerConfig.fromObject({ 'log.dirs': '/tmp/x', 'log.retention.hours': 2, 'log.segment.bytes': 1000 });
    assert.equal(cfg.topicConfigValue('retention.ms', new Map()), String(2 * 3_600_000));
    assert.equal(cfg.topicConfigValue('retention.ms', new Map([['retention.ms', '5']])), '5');
    const withMinutes = BrokerConfig.fromObject({ 'log.dirs': '/tmp/x', 'log.retention.minutes': 3, 'log.retention.hours': 2 });
    assert.equal(withMinutes.topicConfigValue('retention.ms', new Map()), String(3 * 60_000), 'minutes win over hours');
    assert.equal(cfg.logConfigFor(new Map()).segmentBytes, 1000);
  });

  it('keeps compacted topics out of time and size retention', () => {
    const cfg = BrokerConfig.fromObject({ 'log.dirs': '/tmp/x', 'log.retention.ms': 1000, 'log.retention.bytes': 5000 });
    const deleting = cfg.logConfigFor(new Map());
    assert.equal(deleting.retentionMs, 1000);
    assert.equal(deleting.retentionBytes, 5000);
    const compacted = cfg.logConfigFor(new Map([['cleanup.policy', 'compact']]));
    assert.equal(compacted.retentionMs, -1);
    assert.equal(compacted.retentionBytes, -1);
    const both = cfg.logConfigFor(new Map([['cleanup.policy', 'compact,delete']]));
    assert.equal(both.retentionMs, 1000);
  });

  it('rejects invalid values and listeners', () => {
    assert.throws(() => BrokerConfig.fromObject({ 'log.dirs': '/tmp/x', 'num.partitions': 'many' }), /num.partitions/);
    assert.throws(() => BrokerConfig.fromObject({ 'log.dirs': '/tmp/x', listeners: 'nonsense' }), /listener/);
  });
});
