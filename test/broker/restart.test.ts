// Restart safety: topics, configs and acknowledged records survive a clean restart and a
// kill -9 during acks=all produce.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startBroker } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/records/index.js';
import { RawClient } from '../helpers/raw-client.js';

const repoRoot = new URL('../../../', import.meta.url).pathname;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function readAll(client: RawClient, topic: string): Promise<string[]> {
  const values: string[] = [];
  let offset = 0;
  for (;;) {
    const res = await client.request(ApiKey.Fetch, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 22,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 22 }] }],
      forgottenTopicsData: [],
    });
    const p = res.responses[0]?.partitions[0];
    assert.equal(p?.errorCode, 0);
    const batches = decodeRecordBatches(p?.records ?? Buffer.alloc(0));
    if (batches.length === 0) return values;
    for (const b of batches) for (const r of b.records) if (r.offset >= offset) values.push(r.value?.toString() ?? '');
    const last = batches[batches.length - 1];
    offset = (last?.baseOffset ?? 0) + (last?.lastOffsetDelta ?? 0) + 1;
  }
}

describe('broker restart', () => {
  it('keeps topics, configs, data and the cluster id across a clean restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'eddy-restart-'));
    try {
      const first = await startBroker({ dataDir });
      const clusterId = first.broker.clusterId;
      let c = await RawClient.connect(first.bootstrap);
      await c.request(ApiKey.CreateTopics, 7, {
        topics: [
          {
            name: 'kept',
            numPartitions: 1,
            replicationFactor: 1,
            assignments: [],
            configs: [{ name: 'retention.ms', value: '123456' }],
          },
        ],
        timeoutMs: 1000,
      });
      for (let i = 0; i < 5; i++) {
        await c.request(ApiKey.Produce, 9, {
          acks: -1,
          timeoutMs: 1000,
          topicData: [
            {
              name: 'kept',
              partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: Buffer.from(`v${i}`) }] }) }],
            },
          ],
        });
      }
      c.close();
      await first.stop();
      const second = await startBroker({ dataDir });
      try {
        assert.equal(second.broker.clusterId, clusterId);
        c = await RawClient.connect(second.bootstrap);
        assert.deepEqual(await readAll(c, 'kept'), ['v0', 'v1', 'v2', 'v3', 'v4']);
        const cfg = await c.request(ApiKey.DescribeConfigs, 4, {
          resources: [{ resourceType: 2, resourceName: 'kept', configurationKeys: ['retention.ms'] }],
        });
        assert.equal(cfg.results[0]?.configs[0]?.value, '123456');
        const r = await c.request(ApiKey.Produce, 9, {
          acks: 1,
          timeoutMs: 1000,
          topicData: [
            {
              name: 'kept',
              partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: Buffer.from('v5') }] }) }],
            },
          ],
        });
        assert.equal(r.responses[0]?.partitionResponses[0]?.baseOffset, 5);
        c.close();
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('keeps every acknowledged acks=all record after kill -9', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'eddy-kill-'));
    const port = await freePort();
    const spawnBroker = () =>
      spawn(
        process.execPath,
        [
          join(repoRoot, 'bin/eddy.js'),
          'broker',
          'start',
          '--override',
          `listeners=PLAINTEXT://127.0.0.1:${port}`,
          '--override',
          `log.dirs=${dataDir}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
    const waitReady = async (): Promise<RawClient> => {
      for (let i = 0; i < 200; i++) {
        try {
          const c = await RawClient.connect(`127.0.0.1:${port}`);
          const md = await c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false });
          if (md.brokers.length > 0) return c;
          c.close();
        } catch {
          // not up yet
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('broker did not start');
    };
    let child = spawnBroker();
    try {
      let c = await waitReady();
      await c.request(ApiKey.CreateTopics, 7, {
        topics: [{ name: 'durable', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 1000,
      });
      const acked: string[] = [];
      let n = 0;
      const killAt = 150 + Math.floor(Math.random() * 200);
      const producing = (async () => {
        for (;;) {
          const value = `m${n++}`;
          try {
            const r = await c.request(ApiKey.Produce, 9, {
              acks: -1,
              timeoutMs: 1000,
              topicData: [
                {
                  name: 'durable',
                  partitionData: [
                    { index: 0, records: encodeRecordBatch({ records: [{ value: Buffer.from(value) }] }) },
                  ],
                },
              ],
            });
            if (r.responses[0]?.partitionResponses[0]?.errorCode === 0) acked.push(value);
          } catch {
            return;
          }
        }
      })();
      await new Promise((r) => setTimeout(r, killAt));
      child.kill('SIGKILL');
      await producing;
      c.close();
      assert.ok(acked.length > 0, 'some records were acknowledged before the kill');
      child = spawnBroker();
      c = await waitReady();
      const stored = await readAll(c, 'durable');
      c.close();
      for (const v of acked) assert.ok(stored.includes(v), `acknowledged ${v} survived`);
      assert.deepEqual(stored.slice(0, acked.length), acked, 'stored records keep produce order');
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
