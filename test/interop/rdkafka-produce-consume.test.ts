// node-rdkafka 2.15 (librdkafka 2.0.2) against Eddy's broker: AdminClient topic creation,
// every codec with keys and headers, Java-compatible key partitioning, a 5 MiB record, 1000
// partitions, and seeking to earliest, latest and a timestamp.
//
// node-rdkafka 2.15's AdminClient has only createTopic, deleteTopic and createPartitions: it
// cannot describe or alter configs, so no test here claims that. Topic configs it sets at
// creation are checked with Eddy's own admin client.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IAdminClient, KafkaConsumer, Message, MessageHeader, Producer } from 'node-rdkafka';
import { Admin } from '../../src/client/admin.js';
import { partitionForKey } from '../../src/client/partitioner.js';
import { type EmbeddedBroker, startBroker } from '../../src/index.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  COMPRESSION_MASK,
  LOG_OVERHEAD,
  RECORD_COUNT_OFFSET,
} from '../../src/records/batch-header.js';
import { partitionDirName } from '../../src/storage/partition-log.js';
import { uniqueName } from '../helpers/client.js';
import {
  connectedConsumer,
  connectedProducer,
  consumeUntil,
  createAdmin,
  createTopic,
  disconnectClient,
  getTopicMetadata,
  type OutRecord,
  produceAll,
  seek,
} from './rdkafka-support.js';

/** Records per codec; five codecs make 500k records in all. */
const RECORDS_PER_CODEC = Number(process.env.EDDY_RDKAFKA_RECORDS ?? 100_000);
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
/** The RecordBatch attributes codec id of each (Kafka's CompressionType ids). */
const CODEC_IDS: Record<(typeof CODECS)[number], number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };
/** Kafka's TOPIC_ALREADY_EXISTS, as librdkafka reports it. */
const ERR_TOPIC_ALREADY_EXISTS = 36;
/** librdkafka's logical offsets RD_KAFKA_OFFSET_BEGINNING and RD_KAFKA_OFFSET_END. */
const OFFSET_BEGINNING = -2;
const OFFSET_END = -1;

let broker: EmbeddedBroker;
let admin: IAdminClient;
let eddyAdmin: Admin;
const toClose: (Producer | KafkaConsumer)[] = [];

before(async () => {
  // Embedded (not an external broker): the codec test reads the stored batches in its data dir.
  broker = await startBroker({ config: { 'auto.create.topics.enable': false, 'group.initial.rebalance.delay.ms': 0 } });
  admin = createAdmin(broker.bootstrap);
  eddyAdmin = new Admin({ bootstrapServers: broker.bootstrap, logger: null });
});

after(async () => {
  for (const c of toClose) await disconnectClient(c);
  admin.disconnect();
  await eddyAdmin.close();
  await broker.stop();
});

async function producer(
  conf: Parameters<typeof connectedProducer>[1] = {},
  topicConf: Parameters<typeof connectedProducer>[2] = {},
): Promise<Producer> {
  const p = await connectedProducer(broker.bootstrap, conf, topicConf);
  toClose.push(p);
  return p;
}

async function consumer(conf: Parameters<typeof connectedConsumer>[1] = {}): Promise<KafkaConsumer> {
  const c = await connectedConsumer(broker.bootstrap, conf);
  toClose.push(c);
  return c;
}

async function close(client: Producer | KafkaConsumer): Promise<void> {
  await disconnectClient(client);
  toClose.splice(toClose.indexOf(client), 1);
}

function headerPairs(headers: MessageHeader[] | undefined): [string, string][] {
  return (headers ?? []).flatMap((h) => Object.entries(h).map(([k, v]): [string, string] => [k, v.toString()]));
}

/**
 * Walks the RecordBatches stored on disk for a topic (Eddy keeps produced batches as they
 * arrived): the codec ids found and the number of records.
 */
function storedBatches(dataDir: string, topic: string, partitions: number): { codecs: Set<number>; records: number } {
  const codecs = new Set<number>();
  let records = 0;
  for (let p = 0; p < partitions; p++) {
    const dir = join(dataDir, partitionDirName(topic, p));
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.log'))) {
      const buf = readFileSync(join(dir, name));
      let pos = 0;
      while (pos + LOG_OVERHEAD <= buf.length) {
        const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
        if (batchLength <= 0) break;
        codecs.add(buf.readInt16BE(pos + ATTRIBUTES_OFFSET) & COMPRESSION_MASK);
        records += buf.readInt32BE(pos + RECORD_COUNT_OFFSET);
        pos += LOG_OVERHEAD + batchLength;
      }
    }
  }
  return { codecs, records };
}

function errorCode(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

describe('node-rdkafka AdminClient against Eddy', () => {
  it('creates a topic with configs, refuses a duplicate, grows and deletes it', async () => {
    const topic = uniqueName('rdk-admin');
    await createTopic(admin, topic, 3, { 'retention.ms': '3600000', 'cleanup.policy': 'compact' });

    const p = await producer();
    const md = await getTopicMetadata(p, topic);
    const t = md.topics.find((x) => x.name === topic);
    assert.ok(t, 'created topic is in metadata');
    assert.deepEqual(
      t.partitions.map((x) => x.id).sort((a, b) => a - b),
      [0, 1, 2],
    );

    // The configs node-rdkafka sent at creation are stored (read back with Eddy's client,
    // because node-rdkafka 2.15 cannot describe configs).
    const [described] = await eddyAdmin.describeConfigs([
      { type: 'topic', name: topic, configNames: ['retention.ms', 'cleanup.policy'] },
    ]);
    const values = new Map(described?.configs.map((c) => [c.name, c.value]));
    assert.equal(values.get('retention.ms'), '3600000');
    assert.equal(values.get('cleanup.policy'), 'compact');

    await assert.rejects(createTopic(admin, topic, 3), (err) => errorCode(err) === ERR_TOPIC_ALREADY_EXISTS);

    await new Promise<void>((resolve, reject) =>
      admin.createPartitions(topic, 5, 30_000, (err) => (err ? reject(err) : resolve())),
    );
    const grown = await eddyAdmin.describeTopics([topic]);
    assert.equal(grown[0]?.partitions.length, 5);

    await new Promise<void>((resolve, reject) =>
      admin.deleteTopic(topic, 30_000, (err) => (err ? reject(err) : resolve())),
    );
    assert.ok(!(await eddyAdmin.listTopics()).includes(topic), 'deleted topic is no longer listed');
    await close(p);
  });
});

describe('node-rdkafka produce and consume against Eddy', () => {
  for (const codec of CODECS) {
    it(`round-trips ${RECORDS_PER_CODEC} keyed records with headers, compression ${codec}`, async () => {
      const topic = uniqueName(`rdk-codec-${codec}`);
      const partitions = 4;
      await createTopic(admin, topic, partitions);
      const baseTs = Date.now() - 1_000_000;
      const records: OutRecord[] = [];
      for (let i = 0; i < RECORDS_PER_CODEC; i++) {
        records.push({
          partition: null,
          key: Buffer.from(`key-${i % 5000}`),
          // Repetitive text so every codec has something to compress.
          value: Buffer.from(`${codec} record ${i} `.repeat(4)),
          headers: [{ 'record-index': String(i) }, { codec }, { codec: 'repeated-key' }],
          timestamp: baseTs + i,
        });
      }
      // Idempotence keeps per-partition order equal to send order even if librdkafka retries.
      const p = await producer({
        'compression.codec': codec,
        'enable.idempotence': true,
        'batch.num.messages': 5000,
        'linger.ms': 20,
      });
      const t0 = Date.now();
      const delivered = await produceAll(p, topic, records);
      const produceMs = Date.now() - t0;
      await close(p);

      // Expected record indices per partition, in offset order; offsets must be dense from 0.
      const expected: number[][] = Array.from({ length: partitions }, () => []);
      for (const [i, d] of delivered.entries()) expected[d.partition]?.push(i);
      for (let part = 0; part < partitions; part++) {
        const list = expected[part] as number[];
        list.sort((a, b) => (delivered[a] as { offset: number }).offset - (delivered[b] as { offset: number }).offset);
        for (const [pos, idx] of list.entries()) {
          assert.equal(delivered[idx]?.offset, pos, `partition ${part} offsets are dense`);
        }
        // Records sent to one partition keep their send order.
        for (let j = 1; j < list.length; j++) assert.ok((list[j] as number) > (list[j - 1] as number));
      }

      const c = await consumer({ 'fetch.max.bytes': 8 * 1024 * 1024 });
      c.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })));
      const next = new Array<number>(partitions).fill(0);
      let seen = 0;
      const check = (m: Message): void => {
        const pos = next[m.partition] as number;
        const idx = expected[m.partition]?.[pos];
        assert.notEqual(idx, undefined, `unexpected extra record at ${m.partition}/${m.offset}`);
        const r = records[idx as number] as OutRecord;
        assert.equal(m.offset, pos, `partition ${m.partition} delivers offsets in order`);
        assert.deepEqual(m.key, r.key);
        assert.deepEqual(m.value, r.value);
        assert.equal(m.timestamp, r.timestamp);
        assert.deepEqual(headerPairs(m.headers), headerPairs(r.headers));
        next[m.partition] = pos + 1;
        seen++;
      };
      const t1 = Date.now();
      await consumeUntil(
        c,
        (batch) => {
          for (const m of batch) check(m);
          return seen >= RECORDS_PER_CODEC;
        },
        120_000,
        () => `consumed ${seen} of ${RECORDS_PER_CODEC}`,
      );
      const consumeMs = Date.now() - t1;
      assert.deepEqual(
        next,
        expected.map((l) => l.length),
      );
      await close(c);

      // librdkafka really compressed with this codec: every stored batch carries its id.
      const stored = storedBatches(broker.dataDir, topic, partitions);
      assert.deepEqual([...stored.codecs], [CODEC_IDS[codec]]);
      assert.equal(stored.records, RECORDS_PER_CODEC);
      console.log(`# ${codec}: ${RECORDS_PER_CODEC} records produced in ${produceMs} ms, consumed in ${consumeMs} ms`);
    });
  }

  it("places keyed records where Java's default partitioner does (murmur2_random)", async () => {
    const topic = uniqueName('rdk-murmur');
    const partitions = 7;
    await createTopic(admin, topic, partitions);
    const records: OutRecord[] = Array.from({ length: 2000 }, (_, i) => ({
      partition: null,
      key: Buffer.from(i % 3 === 0 ? `user-${i}` : `k${i * 7919}-\u00e9\u4e2d`),
      value: Buffer.from(`v${i}`),
    }));
    const p = await producer({}, { partitioner: 'murmur2_random' });
    const delivered = await produceAll(p, topic, records);
    await close(p);
    const mismatches = records.filter(
      (r, i) => delivered[i]?.partition !== partitionForKey(r.key as Buffer, partitions),
    ).length;
    assert.equal(mismatches, 0, 'every keyed record is in the Java-default partition');
    const used = new Set(delivered.map((d) => d.partition));
    assert.equal(used.size, partitions, 'keys spread over every partition');

    // The broker stored them where the producer was told they went.
    const c = await consumer();
    c.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })));
    let seen = 0;
    await consumeUntil(
      c,
      (batch) => {
        for (const m of batch) {
          assert.equal(m.partition, partitionForKey(m.key as Buffer, partitions), `key ${String(m.key)}`);
          seen++;
        }
        return seen >= records.length;
      },
      60_000,
      () => `consumed ${seen} of ${records.length}`,
    );
    await close(c);
  });

  it('carries a 5 MiB record when topic, producer and consumer limits are raised', async () => {
    const size = 5 * 1024 * 1024;
    const big = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    const limit = String(8 * 1024 * 1024);

    // A topic with the default max.message.bytes (about 1 MiB) refuses it.
    const small = uniqueName('rdk-big-refused');
    await createTopic(admin, small, 1);
    const p = await producer({ 'message.max.bytes': Number(limit), 'compression.codec': 'none' });
    await assert.rejects(
      produceAll(p, small, [{ partition: 0, key: null, value: big }]),
      // node-rdkafka passes delivery errors on with librdkafka's text only, not the code.
      /Message size too large/i,
    );

    const topic = uniqueName('rdk-big');
    await createTopic(admin, topic, 1, { 'max.message.bytes': limit });
    const [d] = await produceAll(p, topic, [{ partition: 0, key: Buffer.from('big'), value: big }]);
    assert.deepEqual(d, { partition: 0, offset: 0 });
    await close(p);

    const c = await consumer({ 'fetch.max.bytes': Number(limit), 'max.partition.fetch.bytes': Number(limit) });
    c.assign([{ topic, partition: 0, offset: 0 }]);
    let got: Message | undefined;
    await consumeUntil(
      c,
      (batch) => {
        got ??= batch[0];
        return got !== undefined;
      },
      60_000,
      () => 'no 5 MiB record yet',
    );
    assert.equal(got?.offset, 0);
    assert.equal(got?.value?.length, size);
    assert.ok(got?.value?.equals(big), 'the 5 MiB value arrives byte for byte');
    await close(c);
  });

  it('produces to and reads back from all 1000 partitions of a topic', async () => {
    const topic = uniqueName('rdk-1000p');
    const partitions = 1000;
    const t0 = Date.now();
    await createTopic(admin, topic, partitions);
    const createMs = Date.now() - t0;
    const perPartition = 3;
    const records: OutRecord[] = [];
    for (let part = 0; part < partitions; part++) {
      for (let j = 0; j < perPartition; j++) {
        records.push({ partition: part, key: null, value: Buffer.from(`p${part}-r${j}`) });
      }
    }
    // Eddy answers UNKNOWN_TOPIC_OR_PARTITION until it has created all 1000 partition logs,
    // which lags CreateTopics on a loaded machine; a longer backoff keeps the retries sparse.
    const p = await producer({ 'retry.backoff.ms': 500 });
    const t1 = Date.now();
    const delivered = await produceAll(p, topic, records, 180_000);
    const produceMs = Date.now() - t1;
    await close(p);
    delivered.forEach((d, i) => {
      assert.equal(d.partition, Math.floor(i / perPartition));
      assert.equal(d.offset, i % perPartition);
    });

    const c = await consumer();
    c.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })));
    const got = new Map<number, string[]>();
    let seen = 0;
    const t2 = Date.now();
    await consumeUntil(
      c,
      (batch) => {
        for (const m of batch) {
          const list = got.get(m.partition) ?? [];
          assert.equal(m.offset, list.length, `partition ${m.partition} in order`);
          list.push(String(m.value));
          got.set(m.partition, list);
          seen++;
        }
        return seen >= records.length;
      },
      180_000,
      () => `read ${seen} of ${records.length} from ${got.size} partitions`,
    );
    console.log(
      `# 1000 partitions: created in ${createMs} ms, produced in ${produceMs} ms, read in ${Date.now() - t2} ms`,
    );
    assert.equal(got.size, partitions);
    for (let part = 0; part < partitions; part++) {
      assert.deepEqual(
        got.get(part),
        Array.from({ length: perPartition }, (_, j) => `p${part}-r${j}`),
      );
    }
    await close(c);
  });

  it('seeks to earliest, latest and a timestamp found with offsetsForTimes', async () => {
    const topic = uniqueName('rdk-seek');
    await createTopic(admin, topic, 1);
    const baseTs = Date.now() - 3_600_000;
    const count = 100;
    const p = await producer();
    await produceAll(
      p,
      topic,
      Array.from({ length: count }, (_, i) => ({
        partition: 0,
        key: null,
        value: Buffer.from(`r${i}`),
        timestamp: baseTs + i * 1000,
      })),
    );

    const c = await consumer();
    const firstAfter = async (what: string): Promise<Message> => {
      let first: Message | undefined;
      await consumeUntil(
        c,
        (batch) => {
          first ??= batch[0];
          return first !== undefined;
        },
        30_000,
        () => `no record after seeking to ${what}`,
      );
      return first as Message;
    };

    c.assign([{ topic, partition: 0, offset: 40 }]);
    assert.equal((await firstAfter('offset 40')).offset, 40);

    await seek(c, topic, 0, OFFSET_BEGINNING);
    const earliest = await firstAfter('earliest');
    assert.equal(earliest.offset, 0);
    assert.equal(String(earliest.value), 'r0');

    // offsetsForTimes: the first record at or after a timestamp between records 57 and 58.
    const offsets = await new Promise<{ offset: number }[]>((resolve, reject) =>
      c.offsetsForTimes([{ topic, partition: 0, offset: baseTs + 57_500 }], 10_000, (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
    assert.equal(offsets[0]?.offset, 58);
    await seek(c, topic, 0, 58);
    const atTime = await firstAfter('timestamp');
    assert.equal(atTime.offset, 58);
    assert.equal(atTime.timestamp, baseTs + 58_000);

    // Latest: nothing old arrives, only what is produced after the seek.
    await seek(c, topic, 0, OFFSET_END);
    const stale = await new Promise<Message[]>((resolve, reject) =>
      c.consume(100, (err, ms) => (err ? reject(err) : resolve(ms))),
    );
    assert.deepEqual(
      stale.map((m) => m.offset),
      [],
    );
    await produceAll(p, topic, [{ partition: 0, key: null, value: Buffer.from('after-latest') }]);
    const latest = await firstAfter('latest');
    assert.equal(latest.offset, count);
    assert.equal(String(latest.value), 'after-latest');
    await close(p);
    await close(c);
  });
});
