// Produce and fetch against librdkafka's mock cluster: a Kafka server nobody here wrote.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CompressionName } from '../../src/client/compression.js';
import { partitionForKey } from '../../src/client/partitioner.js';
import { Producer, type ProducerOptions, type RecordMetadata } from '../../src/client/producer/producer.js';
import { kcat, readAll, uniqueName } from '../helpers/client.js';
import { type MockCluster, startMockCluster } from '../helpers/rdkafka-mock/index.js';

let mock: MockCluster;
before(async () => {
  mock = await startMockCluster(3);
});
after(async () => {
  await mock.stop();
});

function producer(opts: Partial<ProducerOptions> = {}): Producer {
  return new Producer({ bootstrapServers: mock.bootstrap, logger: null, lingerMs: 2, ...opts });
}

describe('producer and consumer against the librdkafka mock cluster', () => {
  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as CompressionName[]) {
    it(`round-trips keyed records with headers using ${compression}`, async () => {
      const topic = uniqueName(`codec-${compression}`);
      await mock.createTopic(topic, 4);
      const p = producer({ compression, batchSize: 4096 });
      const n = 400;
      const sent = await p.sendBatch(
        Array.from({ length: n }, (_, i) => ({
          topic,
          key: `key-${i % 37}`,
          value: i % 50 === 0 ? null : `value-${i}-${'x'.repeat(i % 200)}`,
          headers: { idx: String(i), h2: [Buffer.from([i & 0xff]), null] },
          timestamp: 1_700_000_000_000 + i,
        })),
      );
      await p.close();
      assert.equal(sent.length, n);
      for (const [i, m] of sent.entries()) {
        assert.equal(m.partition, partitionForKey(Buffer.from(`key-${i % 37}`), 4));
        assert.ok(m.offset >= 0);
      }
      const got = await readAll(mock.bootstrap, topic, 4, n);
      assert.equal(got.length, n);
      const byIdx = new Map(got.map((m) => [Number(m.headers[0]?.[1]?.toString()), m]));
      for (let i = 0; i < n; i++) {
        const m = byIdx.get(i);
        assert.ok(m, `record ${i} missing`);
        assert.equal(m.key?.toString(), `key-${i % 37}`);
        assert.equal(
          m.value === null ? null : m.value.toString(),
          i % 50 === 0 ? null : `value-${i}-${'x'.repeat(i % 200)}`,
        );
        assert.equal(m.timestamp, 1_700_000_000_000 + i);
        assert.deepEqual(m.headers.slice(1), [
          ['h2', Buffer.from([i & 0xff])],
          ['h2', null],
        ]);
        assert.equal(m.partition, (sent[i] as RecordMetadata).partition);
        assert.equal(m.offset, (sent[i] as RecordMetadata).offset);
      }
      // Per partition, offsets follow send order.
      const perPartition = new Map<number, number[]>();
      for (const m of sent) perPartition.set(m.partition, [...(perPartition.get(m.partition) ?? []), m.offset]);
      for (const offsets of perPartition.values())
        assert.deepEqual(
          offsets,
          [...offsets].sort((a, b) => a - b),
        );
    });
  }

  for (const acks of [0, 1, 'all'] as const) {
    it(`delivers with acks=${acks}`, async () => {
      const topic = uniqueName('acks');
      await mock.createTopic(topic, 2);
      const p = producer({ acks });
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => p.send({ topic, value: `v${i}`, partition: i % 2 })),
      );
      await p.close();
      if (acks === 0) assert.ok(results.every((r) => r.offset === -1));
      else
        assert.deepEqual(
          results.filter((r) => r.partition === 0).map((r) => r.offset),
          Array.from({ length: 25 }, (_, i) => i),
        );
      const got = await readAll(mock.bootstrap, topic, 2, 50);
      assert.deepEqual(
        got.filter((m) => m.partition === 1).map((m) => m.value?.toString()),
        Array.from({ length: 25 }, (_, i) => `v${i * 2 + 1}`),
      );
    });
  }

  it('fire-and-forget produce() with flush() and buffer.memory back-pressure', async () => {
    const topic = uniqueName('ff');
    await mock.createTopic(topic, 3);
    const errors: Error[] = [];
    const p = producer({ bufferMemory: 64 * 1024, batchSize: 16 * 1024, onDeliveryError: (e) => errors.push(e) });
    await p.connect();
    let blocked = 0;
    const n = 3000;
    for (let i = 0; i < n; i++) {
      if (!p.produce({ topic, value: Buffer.alloc(100, i & 0xff), partition: i % 3 })) {
        blocked++;
        await p.drained();
      }
    }
    await p.flush();
    assert.ok(blocked > 0, 'a 64 KiB buffer must push back on 300 KB of records');
    assert.deepEqual(errors, []);
    const got = await readAll(mock.bootstrap, topic, 3, n);
    assert.equal(got.length, n);
    for (const part of [0, 1, 2]) {
      const values = got.filter((m) => m.partition === part).map((m) => m.value?.[0]);
      assert.deepEqual(
        values,
        Array.from({ length: n / 3 }, (_, j) => (j * 3 + part) & 0xff),
      );
    }
    await p.close();
  });

  it('flush() covers records still waiting for metadata', async () => {
    const topic = uniqueName('ff-nometa');
    await mock.createTopic(topic, 2);
    const errors: Error[] = [];
    const p = producer({ onDeliveryError: (e) => errors.push(e) });
    // No connect(): the first records wait for the topic's metadata before they are batched.
    for (let i = 0; i < 50; i++) p.produce({ topic, value: `early-${i}` });
    await p.flush();
    await p.close();
    assert.deepEqual(errors, []);
    const got = await readAll(mock.bootstrap, topic, 2, 50);
    assert.equal(got.length, 50);
  });

  it('send() waits for buffer space instead of failing', async () => {
    const topic = uniqueName('bp');
    await mock.createTopic(topic, 1);
    await mock.setRtt(-1, 30);
    try {
      const p = producer({ bufferMemory: 20 * 1024, batchSize: 4096, acks: 1 });
      const value = Buffer.alloc(1000);
      const results = await Promise.all(
        Array.from({ length: 120 }, (_, i) => p.send({ topic, value, key: String(i) })),
      );
      assert.deepEqual(
        results.map((r) => r.offset),
        Array.from({ length: 120 }, (_, i) => i),
      );
      await p.close();
    } finally {
      await mock.setRtt(-1, 0);
    }
  });

  it('uses an explicit partition, a custom partitioner, and sticky partitions for keyless records', async () => {
    const topic = uniqueName('part');
    await mock.createTopic(topic, 5);
    const p = producer({
      batchSize: 1024,
      partitioner: ({ key, partitionCount }) => (key?.toString() === 'route-to-4' ? partitionCount - 1 : -1),
    });
    const explicit = await p.send({ topic, value: 'x', key: 'route-to-4', partition: 2 });
    assert.equal(explicit.partition, 2);
    const custom = await p.send({ topic, value: 'x', key: 'route-to-4' });
    assert.equal(custom.partition, 4);
    const fallback = await p.send({ topic, value: 'x', key: 'foobar' });
    assert.equal(fallback.partition, partitionForKey(Buffer.from('foobar'), 5));
    // Keyless: consecutive records share a partition until ~1 KiB batches fill up.
    const keyless = await p.sendBatch(Array.from({ length: 200 }, () => ({ topic, value: Buffer.alloc(100) })));
    let switches = 0;
    for (let i = 1; i < keyless.length; i++) if (keyless[i]?.partition !== keyless[i - 1]?.partition) switches++;
    assert.ok(switches >= 10 && switches < 60, `${switches} partition switches`);
    assert.ok(new Set(keyless.map((r) => r.partition)).size >= 3);
    await p.close();
  });

  it('places keys exactly where librdkafka murmur2_random (Java-compatible) does', async () => {
    const topic = uniqueName('interop-keys');
    await mock.createTopic(topic, 7);
    const keys = Array.from({ length: 40 }, (_, i) => `user-${i * 7919}`);
    await kcat(
      ['-b', mock.bootstrap, '-t', topic, '-P', '-K', ':', '-X', 'partitioner=murmur2_random'],
      keys.map((k) => `${k}:v`).join('\n') + '\n',
    );
    const got = await readAll(mock.bootstrap, topic, 7, keys.length);
    for (const m of got) assert.equal(m.partition, partitionForKey(m.key as Buffer, 7), `key ${m.key}`);
    // And the other way: kcat reads what Eddy's producer wrote, with every codec.
    const p = producer({ compression: 'lz4' });
    await p.sendBatch(keys.map((k) => ({ topic, key: k, value: `from-eddy-${k}` })));
    await p.close();
    const out = await kcat(['-b', mock.bootstrap, '-t', topic, '-C', '-e', '-o', 'beginning', '-f', '%k|%p|%s\n']);
    const lines = out.split('\n').filter((l) => l.includes('from-eddy'));
    assert.equal(lines.length, keys.length);
    for (const l of lines) {
      const [k, part, v] = l.split('|');
      assert.equal(v, `from-eddy-${k}`);
      assert.equal(Number(part), partitionForKey(Buffer.from(k as string), 7));
    }
  });

  it('reads every codec produced by librdkafka', async () => {
    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
      const topic = uniqueName(`kcat-${codec}`);
      await mock.createTopic(topic, 1);
      const values = Array.from({ length: 30 }, (_, i) => `${codec}-${i}-${'y'.repeat(i * 3)}`);
      await kcat(
        ['-b', mock.bootstrap, '-t', topic, '-P', '-z', codec, '-X', 'linger.ms=50'],
        values.join('\n') + '\n',
      );
      const got = await readAll(mock.bootstrap, topic, 1, values.length);
      assert.deepEqual(
        got.map((m) => m.value?.toString()),
        values,
        codec,
      );
    }
  });

  it('fails a record larger than maxRequestSize without affecting others', async () => {
    const topic = uniqueName('big');
    await mock.createTopic(topic, 1);
    const p = producer({ maxRequestSize: 10_000 });
    await assert.rejects(p.send({ topic, value: Buffer.alloc(20_000) }), /MESSAGE_TOO_LARGE/);
    const ok = await p.send({ topic, value: 'small' });
    assert.equal(ok.offset, 0);
    await p.close();
  });
});
