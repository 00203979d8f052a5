// The broker's APIs over the wire, driven by a raw protocol client: each API's happy path
// and the Kafka error codes for bad input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type EmbeddedBroker, startBroker } from '../../src/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/records/index.js';
import { RawClient } from '../helpers/raw-client.js';

function batch(values: string[], timestamp = Date.now()): Buffer {
  return encodeRecordBatch({
    records: values.map((v, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(v), timestamp: timestamp + i })),
  });
}

describe('broker APIs', () => {
  let eb: EmbeddedBroker;
  let client: RawClient;

  before(async () => {
    eb = await startBroker({ config: { 'num.partitions': 2 } });
    client = await RawClient.connect(eb.bootstrap);
  });
  after(async () => {
    client.close();
    await eb.stop();
  });

  async function createTopic(name: string, numPartitions = 1, configs: { name: string; value: string }[] = []) {
    const res = await client.request(ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs }],
      timeoutMs: 5000,
    });
    return res.topics[0];
  }

  async function produce(topic: string, partition: number, records: Buffer, acks = 1, version = 9) {
    const res = await client.request(ApiKey.Produce, version, {
      acks,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
    });
    return res.responses[0]?.partitionResponses[0];
  }

  async function fetch(
    topic: string,
    partition: number,
    fetchOffset: number,
    opts: { maxWaitMs?: number; minBytes?: number } = {},
  ) {
    const res = await client.request(ApiKey.Fetch, 12, {
      maxWaitMs: opts.maxWaitMs ?? 0,
      minBytes: opts.minBytes ?? 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition, fetchOffset, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    return res.responses[0]?.partitions[0];
  }

  it('advertises its APIs and answers an unknown ApiVersions version with v0 and UNSUPPORTED_VERSION', async () => {
    const res = await client.request(ApiKey.ApiVersions, 3, {
      clientSoftwareName: 'eddy-test',
      clientSoftwareVersion: '1.0',
    });
    assert.equal(res.errorCode, 0);
    const produceRange = res.apiKeys.find((k) => k.apiKey === ApiKey.Produce);
    // v0 is listed for librdkafka < 2.10, which only compresses when it sees it.
    assert.deepEqual(produceRange && [produceRange.minVersion, produceRange.maxVersion], [0, 11]);
    const fetchRange = res.apiKeys.find((k) => k.apiKey === ApiKey.Fetch);
    assert.deepEqual(fetchRange && [fetchRange.minVersion, fetchRange.maxVersion], [4, 17]);
    // A version beyond what we support: the response is ApiVersions v0 with the error.
    const other = await RawClient.connect(eb.bootstrap);
    try {
      // Header v2 (ApiVersions is flexible from v3): client id, then an empty tagged-field section.
      const frame = Buffer.alloc(4 + 2 + 2 + 4 + 2 + 1);
      frame.writeInt32BE(frame.length - 4, 0);
      frame.writeInt16BE(ApiKey.ApiVersions, 4);
      frame.writeInt16BE(99, 6);
      frame.writeInt32BE(7, 8);
      frame.writeInt16BE(-1, 12);
      frame.writeUInt8(0, 14);
      other.writeRaw(frame);
      const v0 = await other.receive(ApiKey.ApiVersions, 0, 7);
      assert.equal(v0.errorCode, ErrorCode.UNSUPPORTED_VERSION);
      assert.ok(v0.apiKeys.some((k) => k.apiKey === ApiKey.Metadata));
    } finally {
      other.close();
    }
  });

  it('creates topics and reports Kafka errors for bad requests', async () => {
    const ok = await createTopic('orders', 3, [{ name: 'retention.ms', value: '3600000' }]);
    assert.equal(ok?.errorCode, 0);
    assert.equal(ok?.numPartitions, 3);
    assert.equal(ok?.replicationFactor, 1);
    assert.notEqual(ok?.topicId, 'AAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(ok?.configs?.find((c) => c.name === 'retention.ms')?.value, '3600000');
    assert.equal((await createTopic('orders'))?.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
    assert.equal((await createTopic('bad name!'))?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.equal((await createTopic('a'.repeat(250)))?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.equal((await createTopic('x', 0))?.errorCode, ErrorCode.INVALID_PARTITIONS);
    assert.equal((await createTopic('huge', 2147483647))?.errorCode, ErrorCode.POLICY_VIOLATION);
    assert.equal(
      (await createTopic('x', 1, [{ name: 'no.such.config', value: '1' }]))?.errorCode,
      ErrorCode.INVALID_CONFIG,
    );
    assert.equal(
      (await createTopic('x', 1, [{ name: 'retention.ms', value: 'soon' }]))?.errorCode,
      ErrorCode.INVALID_CONFIG,
    );
    const rf = await client.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'rf3', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
      timeoutMs: 5000,
    });
    assert.equal(rf.topics[0]?.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
    const validateOnly = await client.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'dry', numPartitions: 4, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: true,
    });
    assert.equal(validateOnly.topics[0]?.errorCode, 0);
    const md = await client.request(ApiKey.Metadata, 12, {
      topics: null,
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.ok(!md.topics.some((t) => t.name === 'dry'), 'validateOnly must not create the topic');
  });

  it('describes topics in Metadata and auto-creates only when allowed', async () => {
    await createTopic('meta-t', 3);
    const md = await client.request(ApiKey.Metadata, 12, {
      topics: [{ name: 'meta-t' }, { name: 'not-there' }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.equal(md.clusterId, eb.broker.clusterId);
    assert.deepEqual(
      md.brokers.map((b) => [b.nodeId, b.host, b.port]),
      [[1, '127.0.0.1', eb.port]],
    );
    const t = md.topics.find((x) => x.name === 'meta-t');
    assert.equal(t?.partitions.length, 3);
    assert.deepEqual(
      t?.partitions.map((p) => [p.leaderId, p.replicaNodes, p.isrNodes]),
      [
        [1, [1], [1]],
        [1, [1], [1]],
        [1, [1], [1]],
      ],
    );
    assert.equal(md.topics.find((x) => x.name === 'not-there')?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const auto = await client.request(ApiKey.Metadata, 12, {
      topics: [{ name: 'auto-made' }],
      allowAutoTopicCreation: true,
      includeTopicAuthorizedOperations: false,
    });
    assert.equal(auto.topics[0]?.errorCode, 0);
    assert.equal(auto.topics[0]?.partitions.length, 2, 'num.partitions=2 applies to auto-created topics');
    const byId = await client.request(ApiKey.Metadata, 12, {
      topics: [{ topicId: t?.topicId ?? '', name: null }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.equal(byId.topics[0]?.name, 'meta-t');
  });

  it('produces and fetches the same bytes, with offsets assigned in order', async () => {
    await createTopic('pf', 1);
    const b1 = batch(['a', 'b', 'c']);
    const r1 = await produce('pf', 0, b1);
    assert.equal(r1?.errorCode, 0);
    assert.equal(r1?.baseOffset, 0);
    const r2 = await produce('pf', 0, batch(['d']));
    assert.equal(r2?.baseOffset, 3);
    const f = await fetch('pf', 0, 0);
    assert.equal(f?.errorCode, 0);
    assert.equal(f?.highWatermark, 4);
    const batches = decodeRecordBatches(f?.records ?? Buffer.alloc(0));
    assert.deepEqual(
      batches.flatMap((b) => b.records.map((r) => [r.offset, r.value?.toString()])),
      [
        [0, 'a'],
        [1, 'b'],
        [2, 'c'],
        [3, 'd'],
      ],
    );
    // Stored bytes are the produced bytes, with only the base offset and leader epoch rewritten.
    const stored = (f?.records ?? Buffer.alloc(0)).subarray(0, b1.length);
    assert.deepEqual(stored.subarray(17), b1.subarray(17));
    // A fetch inside a batch returns that whole batch.
    const mid = decodeRecordBatches((await fetch('pf', 0, 1))?.records ?? Buffer.alloc(0));
    assert.equal(mid[0]?.baseOffset, 0);
    // Offsets past the end are out of range; at the end the answer is empty.
    assert.equal((await fetch('pf', 0, 5))?.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.equal((await fetch('pf', 0, 4))?.records?.length, 0);
  });

  it('rejects bad produce requests with Kafka error codes and leaves the log intact', async () => {
    await createTopic('bad-produce', 1, [{ name: 'max.message.bytes', value: '2000' }]);
    const good = await produce('bad-produce', 0, batch(['ok']));
    assert.equal(good?.baseOffset, 0);
    const corrupt = batch(['x']);
    corrupt.writeUInt8((corrupt.readUInt8(corrupt.length - 1) ^ 0xff) & 0xff, corrupt.length - 1);
    assert.equal((await produce('bad-produce', 0, corrupt))?.errorCode, ErrorCode.CORRUPT_MESSAGE);
    assert.equal((await produce('bad-produce', 0, batch(['y'.repeat(5000)])))?.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    assert.equal((await produce('no-such-topic', 0, batch(['z'])))?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await produce('bad-produce', 7, batch(['z'])))?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await produce('bad-produce', 0, batch(['z']), 2))?.errorCode, ErrorCode.INVALID_REQUIRED_ACKS);
    assert.equal((await produce('bad-produce', 0, batch(['z']), 1, 2))?.errorCode, ErrorCode.UNSUPPORTED_VERSION);
    const after = await fetch('bad-produce', 0, 0);
    assert.equal(after?.highWatermark, 1, 'only the good batch is in the log');
    assert.equal((await produce('bad-produce', 0, batch(['next'])))?.baseOffset, 1);
  });

  it('recompresses to the topic compression.type and checks timestamps against message.timestamp.*.max.ms', async () => {
    await createTopic('zipped', 1, [{ name: 'compression.type', value: 'gzip' }]);
    const sent = batch(['one', 'two']);
    assert.equal((await produce('zipped', 0, sent))?.errorCode, 0);
    const stored = decodeRecordBatches((await fetch('zipped', 0, 0))?.records ?? Buffer.alloc(0));
    assert.equal(stored[0]?.compression, 1, 'stored with gzip');
    assert.deepEqual(
      stored[0]?.records.map((r) => r.value?.toString()),
      ['one', 'two'],
    );
    await createTopic('recent-only', 1, [{ name: 'message.timestamp.before.max.ms', value: '60000' }]);
    const old = await produce('recent-only', 0, batch(['old'], Date.now() - 3_600_000));
    assert.equal(old?.errorCode, ErrorCode.INVALID_TIMESTAMP);
    assert.equal((await produce('recent-only', 0, batch(['new'])))?.errorCode, 0);
  });

  it('serves acks=-1 and acks=0 produce', async () => {
    await createTopic('acks', 1);
    assert.equal((await produce('acks', 0, batch(['all']), -1))?.baseOffset, 0);
    client.send(ApiKey.Produce, 9, {
      acks: 0,
      timeoutMs: 1000,
      topicData: [{ name: 'acks', partitionData: [{ index: 0, records: batch(['none']) }] }],
    });
    // No response for acks=0: the next response on the connection is the fetch's.
    const f = await fetch('acks', 0, 0);
    assert.equal(f?.highWatermark, 2);
  });

  it('long-polls a fetch until data arrives, and until max.wait.ms otherwise', async () => {
    await createTopic('poll', 1);
    const producer = await RawClient.connect(eb.bootstrap);
    try {
      const started = Date.now();
      const pending = fetch('poll', 0, 0, { maxWaitMs: 5000, minBytes: 1 });
      setTimeout(() => {
        producer.send(ApiKey.Produce, 9, {
          acks: 1,
          timeoutMs: 1000,
          topicData: [{ name: 'poll', partitionData: [{ index: 0, records: batch(['wake']) }] }],
        });
      }, 100);
      const f = await pending;
      assert.ok(Date.now() - started < 4000, 'the fetch completed when data arrived');
      assert.equal(decodeRecordBatches(f?.records ?? Buffer.alloc(0))[0]?.records[0]?.value?.toString(), 'wake');
      const t0 = Date.now();
      const empty = await fetch('poll', 0, 1, { maxWaitMs: 300, minBytes: 1 });
      assert.ok(Date.now() - t0 >= 250, 'an empty fetch waits about max.wait.ms');
      assert.equal(empty?.records?.length, 0);
    } finally {
      producer.close();
    }
  });

  it('keeps incremental fetch sessions (KIP-227)', async () => {
    await createTopic('sess', 2);
    await produce('sess', 0, batch(['p0']));
    const full = await client.request(ApiKey.Fetch, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      sessionId: 0,
      sessionEpoch: 0,
      topics: [
        {
          topic: 'sess',
          partitions: [
            { partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 },
            { partition: 1, fetchOffset: 0, partitionMaxBytes: 1 << 20 },
          ],
        },
      ],
      forgottenTopicsData: [],
    });
    assert.notEqual(full.sessionId, 0);
    assert.equal(full.responses[0]?.partitions.length, 2);
    // Incremental: the client names only the partition whose offset moved; nothing changed
    // on partition 1, so only partition 0 comes back.
    const inc = await client.request(ApiKey.Fetch, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      sessionId: full.sessionId,
      sessionEpoch: 1,
      topics: [{ topic: 'sess', partitions: [{ partition: 0, fetchOffset: 1, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
    });
    assert.equal(inc.errorCode, 0);
    assert.deepEqual(
      inc.responses.flatMap((t) => t.partitions.map((p) => p.partitionIndex)),
      [0],
    );
    await produce('sess', 1, batch(['p1']));
    const inc2 = await client.request(ApiKey.Fetch, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      sessionId: full.sessionId,
      sessionEpoch: 2,
      topics: [],
      forgottenTopicsData: [],
    });
    assert.deepEqual(
      inc2.responses.flatMap((t) => t.partitions.map((p) => p.partitionIndex)),
      [1],
    );
    const stale = await client.request(ApiKey.Fetch, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      sessionId: full.sessionId,
      sessionEpoch: 2,
      topics: [],
      forgottenTopicsData: [],
    });
    assert.equal(stale.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    const unknown = await client.request(ApiKey.Fetch, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      sessionId: 987654,
      sessionEpoch: 1,
      topics: [],
      forgottenTopicsData: [],
    });
    assert.equal(unknown.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });

  it('fetches by topic id from v13', async () => {
    const created = await createTopic('by-id', 1);
    await produce('by-id', 0, batch(['id']));
    const res = await client.request(ApiKey.Fetch, 13, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        { topicId: created?.topicId ?? '', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] },
      ],
      forgottenTopicsData: [],
    });
    assert.equal(res.responses[0]?.topicId, created?.topicId);
    assert.equal(decodeRecordBatches(res.responses[0]?.partitions[0]?.records ?? Buffer.alloc(0)).length, 1);
    const unknown = await client.request(ApiKey.Fetch, 13, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topicId: 'AAAAAAAAAAAAAAAAAAAAAg',
          partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }],
        },
      ],
      forgottenTopicsData: [],
    });
    assert.equal(unknown.responses[0]?.partitions[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
  });

  it('answers ListOffsets for earliest, latest, a timestamp and the max timestamp', async () => {
    await createTopic('lo', 1);
    const t0 = 1_700_000_000_000;
    await produce('lo', 0, batch(['a', 'b'], t0));
    await produce('lo', 0, batch(['c', 'd'], t0 + 10_000));
    const q = async (timestamp: number) => {
      const res = await client.request(ApiKey.ListOffsets, 7, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: 'lo', partitions: [{ partitionIndex: 0, timestamp }] }],
      });
      return res.topics[0]?.partitions[0];
    };
    assert.equal((await q(-2))?.offset, 0);
    assert.equal((await q(-1))?.offset, 4);
    const byTime = await q(t0 + 5_000);
    assert.equal(byTime?.offset, 2);
    assert.equal(byTime?.timestamp, t0 + 10_000);
    assert.equal((await q(t0 + 1))?.offset, 1);
    const max = await q(-3);
    assert.equal(max?.offset, 3);
    assert.equal(max?.timestamp, t0 + 10_001);
    assert.equal((await q(t0 + 999_999))?.offset, -1, 'no record at or after the timestamp');
  });

  it('describes and alters topic and broker configs with sources and synonyms', async () => {
    await createTopic('cfg', 1, [{ name: 'cleanup.policy', value: 'delete' }]);
    const describe = async () => {
      const res = await client.request(ApiKey.DescribeConfigs, 4, {
        resources: [{ resourceType: 2, resourceName: 'cfg', configurationKeys: null }],
        includeSynonyms: true,
        includeDocumentation: true,
      });
      return res.results[0];
    };
    const before = await describe();
    assert.equal(before?.errorCode, 0);
    const retention = before?.configs.find((c) => c.name === 'retention.ms');
    assert.equal(retention?.value, '604800000');
    assert.equal(retention?.configSource, 5, 'DEFAULT_CONFIG');
    assert.equal(before?.configs.find((c) => c.name === 'cleanup.policy')?.configSource, 1, 'DYNAMIC_TOPIC_CONFIG');
    const alter = await client.request(ApiKey.IncrementalAlterConfigs, 1, {
      resources: [
        {
          resourceType: 2,
          resourceName: 'cfg',
          configs: [{ name: 'retention.ms', configOperation: 0, value: '1000' }],
        },
      ],
      validateOnly: false,
    });
    assert.equal(alter.responses[0]?.errorCode, 0);
    const afterAlter = await describe();
    const r2 = afterAlter?.configs.find((c) => c.name === 'retention.ms');
    assert.equal(r2?.value, '1000');
    assert.equal(r2?.configSource, 1);
    assert.equal(r2?.synonyms[0]?.name, 'retention.ms');
    const bad = await client.request(ApiKey.IncrementalAlterConfigs, 1, {
      resources: [
        { resourceType: 2, resourceName: 'cfg', configs: [{ name: 'retention.ms', configOperation: 0, value: 'x' }] },
      ],
      validateOnly: false,
    });
    assert.equal(bad.responses[0]?.errorCode, ErrorCode.INVALID_CONFIG);
    const missing = await client.request(ApiKey.DescribeConfigs, 4, {
      resources: [{ resourceType: 2, resourceName: 'nope', configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    assert.equal(missing.results[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    // Legacy AlterConfigs replaces the whole set: cleanup.policy goes back to its default.
    const legacy = await client.request(ApiKey.AlterConfigs, 2, {
      resources: [{ resourceType: 2, resourceName: 'cfg', configs: [{ name: 'segment.ms', value: '60000' }] }],
      validateOnly: false,
    });
    assert.equal(legacy.responses[0]?.errorCode, 0);
    const afterLegacy = await describe();
    assert.equal(afterLegacy?.configs.find((c) => c.name === 'cleanup.policy')?.configSource, 5);
    assert.equal(afterLegacy?.configs.find((c) => c.name === 'segment.ms')?.value, '60000');
    const brokerCfg = await client.request(ApiKey.DescribeConfigs, 4, {
      resources: [{ resourceType: 4, resourceName: '1', configurationKeys: ['num.partitions', 'log.dirs'] }],
      includeSynonyms: true,
      includeDocumentation: false,
    });
    const np = brokerCfg.results[0]?.configs.find((c) => c.name === 'num.partitions');
    assert.equal(np?.value, '2');
    assert.equal(np?.configSource, 4, 'STATIC_BROKER_CONFIG');
  });

  it('deletes records, answers OffsetForLeaderEpoch, DescribeCluster, DescribeTopicPartitions and DescribeLogDirs', async () => {
    await createTopic('misc', 3);
    await produce('misc', 0, batch(['a', 'b', 'c', 'd']));
    const del = await client.request(ApiKey.DeleteRecords, 2, {
      topics: [{ name: 'misc', partitions: [{ partitionIndex: 0, offset: 2 }] }],
      timeoutMs: 1000,
    });
    assert.equal(del.topics[0]?.partitions[0]?.lowWatermark, 2);
    assert.equal((await fetch('misc', 0, 0))?.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    const tooFar = await client.request(ApiKey.DeleteRecords, 2, {
      topics: [{ name: 'misc', partitions: [{ partitionIndex: 0, offset: 99 }] }],
      timeoutMs: 1000,
    });
    assert.equal(tooFar.topics[0]?.partitions[0]?.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    const ofle = await client.request(ApiKey.OffsetForLeaderEpoch, 4, {
      replicaId: -1,
      topics: [{ topic: 'misc', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }],
    });
    assert.equal(ofle.topics[0]?.partitions[0]?.errorCode, 0);
    assert.equal(ofle.topics[0]?.partitions[0]?.endOffset, 4);
    const fenced = await client.request(ApiKey.OffsetForLeaderEpoch, 4, {
      replicaId: -1,
      topics: [{ topic: 'misc', partitions: [{ partition: 0, currentLeaderEpoch: 5, leaderEpoch: 0 }] }],
    });
    assert.equal(fenced.topics[0]?.partitions[0]?.errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    const cluster = await client.request(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false });
    assert.equal(cluster.clusterId, eb.broker.clusterId);
    assert.equal(cluster.brokers[0]?.port, eb.port);
    const page1 = await client.request(ApiKey.DescribeTopicPartitions, 0, {
      topics: [{ name: 'misc' }],
      responsePartitionLimit: 2,
      cursor: null,
    });
    assert.equal(page1.topics[0]?.partitions.length, 2);
    assert.deepEqual(page1.nextCursor, { topicName: 'misc', partitionIndex: 2 });
    const page2 = await client.request(ApiKey.DescribeTopicPartitions, 0, {
      topics: [{ name: 'misc' }],
      responsePartitionLimit: 2,
      cursor: page1.nextCursor,
    });
    assert.deepEqual(
      page2.topics[0]?.partitions.map((p) => p.partitionIndex),
      [2],
    );
    assert.equal(page2.nextCursor, null);
    const dirs = await client.request(ApiKey.DescribeLogDirs, 4, {
      topics: [{ topic: 'misc', partitions: [0, 1, 2] }],
    });
    const parts = dirs.results[0]?.topics[0]?.partitions ?? [];
    assert.equal(parts.length, 3);
    assert.ok((parts.find((p) => p.partitionIndex === 0)?.partitionSize ?? 0) > 0);
  });

  it('creates partitions and deletes topics by name and by id', async () => {
    const t = await createTopic('grow', 1);
    const cp = await client.request(ApiKey.CreatePartitions, 3, {
      topics: [{ name: 'grow', count: 4, assignments: null }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    assert.equal(cp.results[0]?.errorCode, 0);
    const shrink = await client.request(ApiKey.CreatePartitions, 3, {
      topics: [{ name: 'grow', count: 2, assignments: null }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    assert.equal(shrink.results[0]?.errorCode, ErrorCode.INVALID_PARTITIONS);
    const md = await client.request(ApiKey.Metadata, 12, { topics: [{ name: 'grow' }], allowAutoTopicCreation: false });
    assert.equal(md.topics[0]?.partitions.length, 4);
    const delById = await client.request(ApiKey.DeleteTopics, 6, {
      topics: [{ name: null, topicId: t?.topicId ?? '' }],
      timeoutMs: 1000,
    });
    assert.equal(delById.responses[0]?.errorCode, 0);
    assert.equal(delById.responses[0]?.name, 'grow');
    await createTopic('gone', 1);
    const delByName = await client.request(ApiKey.DeleteTopics, 5, { topicNames: ['gone', 'never'], timeoutMs: 1000 });
    assert.deepEqual(
      delByName.responses.map((r) => r.errorCode),
      [0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    );
    const md2 = await client.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false });
    assert.ok(!md2.topics.some((x) => x.name === 'grow' || x.name === 'gone'));
    // The name can be reused at once.
    assert.equal((await createTopic('gone', 1))?.errorCode, 0);
  });
});
