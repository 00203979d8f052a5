// The Prometheus endpoint: scraped before and after produce and consume, its counters move
// by exactly the traffic sent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type EmbeddedBroker, startBroker } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { encodeRecordBatch } from '../../src/records/index.js';
import { RawClient } from '../helpers/raw-client.js';

async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('metrics endpoint', () => {
  let eb: EmbeddedBroker;
  let c: RawClient;
  before(async () => {
    eb = await startBroker({ config: { 'metrics.port': 0, 'offsets.topic.num.partitions': 1 } });
    c = await RawClient.connect(eb.bootstrap);
  });
  after(async () => {
    c.close();
    await eb.stop();
  });

  it('counts bytes and messages in and out per topic, requests per API, log size, lag and connections', async () => {
    await c.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'm', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
    });
    const port = eb.broker.metricsPort;
    assert.ok(port > 0);
    const before = await scrape(port);
    const batches = [0, 1, 2].map((i) =>
      encodeRecordBatch({ records: Array.from({ length: 4 }, (_, j) => ({ value: Buffer.from(`v${i}-${j}`) })) }),
    );
    for (const b of batches) {
      await c.request(ApiKey.Produce, 9, {
        acks: 1,
        timeoutMs: 1000,
        topicData: [{ name: 'm', partitionData: [{ index: 0, records: b }] }],
      });
    }
    const f = await c.request(ApiKey.Fetch, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: 'm', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
    });
    const fetchedBytes = f.responses[0]?.partitions[0]?.records?.length ?? 0;
    assert.equal((await c.request(ApiKey.FindCoordinator, 3, { key: 'lagging', keyType: 0 })).errorCode, 0);
    const commit = await c.request(ApiKey.OffsetCommit, 8, {
      groupId: 'lagging',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [{ name: 'm', partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: null }] }],
    });
    assert.equal(commit.topics[0]?.partitions[0]?.errorCode, 0);
    const afterScrape = await scrape(port);
    const delta = (k: string) => (afterScrape.get(k) ?? 0) - (before.get(k) ?? 0);
    const sent = batches.reduce((n, b) => n + b.length, 0);
    assert.equal(delta('kafka_server_brokertopicmetrics_bytesin_total{topic="m"}'), sent);
    assert.equal(delta('kafka_server_brokertopicmetrics_messagesin_total{topic="m"}'), 12);
    assert.equal(delta('kafka_server_brokertopicmetrics_bytesout_total{topic="m"}'), fetchedBytes);
    assert.equal(fetchedBytes, sent);
    assert.equal(delta('kafka_network_requestmetrics_requests_total{request="Produce"}'), 3);
    assert.equal(delta('kafka_network_requestmetrics_totaltime_seconds_count{request="Produce"}'), 3);
    assert.equal(afterScrape.get('kafka_log_log_size_bytes{partition="0",topic="m"}'), sent);
    assert.equal(afterScrape.get('kafka_log_log_end_offset{partition="0",topic="m"}'), 12);
    assert.equal(afterScrape.get('kafka_consumergroup_lag{group="lagging",partition="0",topic="m"}'), 7);
    assert.equal(afterScrape.get('kafka_server_replicamanager_underreplicatedpartitions'), 0);
    assert.ok((afterScrape.get('kafka_server_socketserver_connections') ?? 0) >= 1);
    const notFound = await fetch(`http://127.0.0.1:${port}/nope`);
    assert.equal(notFound.status, 404);
  });
});
