// The idempotent producer against a scripted broker that checks producer sequences the way
// Kafka does (the librdkafka mock does not), so reordering and duplicates would show.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Producer } from '../../src/client/producer/producer.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { ProduceRequest } from '../../src/protocol/generated/api/produce.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { readBatchHeader } from '../../src/records/batch-header.js';
import { decodeRecordBatch } from '../../src/records/record-batch.js';
import { apiVersionsBody, type FakeBroker, type FakeRequest, startFakeBroker } from '../helpers/fake-broker.js';

interface Entry {
  value: string;
  producerId: number;
  epoch: number;
  sequence: number;
}

/**
 * One broker, topic "t" with one partition. Produce applies Kafka's sequence rules per
 * producer id and epoch: the next sequence appends, a repeat of the last batch is answered
 * with its original offset, anything else is OUT_OF_ORDER_SEQUENCE_NUMBER. `inject` may
 * answer a produce request instead (return true when it did).
 */
async function sequencedBroker(inject: (req: FakeRequest, n: number) => boolean = () => false): Promise<{
  broker: FakeBroker;
  log: Entry[];
  epochs: number[];
}> {
  const log: Entry[] = [];
  const epochs: number[] = [];
  let producerEpoch = -1;
  // Per producer: next expected sequence and the last appended batch (for duplicates).
  let expected = 0;
  let last: { seq: number; offset: number } | null = null;
  let produceCount = 0;
  const broker = await startFakeBroker((req) => {
    const key = req.header.requestApiKey;
    if (key === ApiKey.ApiVersions) req.reply(apiVersionsBody({ 18: [0, 3], 3: [0, 12], 0: [3, 9], 22: [0, 4] }));
    else if (key === ApiKey.Metadata) {
      req.reply<3>({
        brokers: [{ nodeId: 1, host: '127.0.0.1', port: req.socket.localPort as number }],
        clusterId: 'seq',
        controllerId: 1,
        topics: [
          {
            errorCode: 0,
            name: 't',
            partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1] }],
          },
        ],
      });
    } else if (key === ApiKey.InitProducerId) {
      producerEpoch++;
      epochs.push(producerEpoch);
      expected = 0;
      last = null;
      req.reply<22>({ throttleTimeMs: 0, errorCode: 0, producerId: 4242, producerEpoch });
    } else if (key === ApiKey.Produce) {
      produceCount++;
      if (inject(req, produceCount)) return;
      const body = req.body as ProduceRequest;
      const records = body.topicData[0]?.partitionData[0]?.records as Buffer;
      const h = readBatchHeader(records, 0);
      const answer = (errorCode: number, baseOffset: number): void =>
        req.reply<0>({ responses: [{ name: 't', partitionResponses: [{ index: 0, errorCode, baseOffset }] }] });
      if (h.producerEpoch !== producerEpoch) return answer(ErrorCode.INVALID_PRODUCER_EPOCH, -1);
      if (last !== null && h.baseSequence === last.seq) return answer(ErrorCode.NONE, last.offset);
      if (h.baseSequence !== expected) return answer(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, -1);
      const offset = log.length;
      for (const r of decodeRecordBatch(records, 0).records) {
        log.push({
          value: r.value?.toString() ?? '',
          producerId: h.producerId,
          epoch: h.producerEpoch,
          sequence: h.baseSequence,
        });
      }
      last = { seq: h.baseSequence, offset };
      expected = h.baseSequence + h.recordCount;
      answer(ErrorCode.NONE, offset);
    }
  });
  return { broker, log, epochs };
}

let brokers: FakeBroker[] = [];
let producers: Producer[] = [];
afterEach(async () => {
  for (const p of producers) await p.close().catch(() => {});
  for (const b of brokers) await b.close();
  brokers = [];
  producers = [];
});

function idempotentProducer(b: FakeBroker, extra: Record<string, unknown> = {}): Producer {
  const p = new Producer({
    bootstrapServers: b.address,
    logger: null,
    acks: 'all',
    idempotent: true,
    batchSize: 256,
    lingerMs: 0,
    retryBackoffMs: 10,
    retryBackoffMaxMs: 50,
    reconnectBackoffMs: 10,
    ...extra,
  });
  producers.push(p);
  return p;
}

const values = (n: number): string[] => Array.from({ length: n }, (_, i) => `v${String(i).padStart(3, '0')}`);

describe('idempotent producer', () => {
  it('keeps order when an early batch fails while later ones are in flight', async () => {
    const { broker, log } = await sequencedBroker((req, n) => {
      if (n !== 1) return false;
      // The first batch is refused after a delay, so later batches arrive before its retry.
      setTimeout(
        () =>
          req.reply<0>({
            responses: [
              {
                name: 't',
                partitionResponses: [{ index: 0, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, baseOffset: -1 }],
              },
            ],
          }),
        30,
      );
      return true;
    });
    brokers.push(broker);
    const p = idempotentProducer(broker);
    const all = values(60);
    const metas = await Promise.all(all.map((value) => p.send({ topic: 't', value, partition: 0 })));
    assert.deepEqual(
      log.map((e) => e.value),
      all,
    );
    assert.deepEqual(
      metas.map((m) => m.offset),
      all.map((_, i) => i),
    );
  });

  it('writes a batch once when its response was lost and it was resent', async () => {
    const { broker, log } = await sequencedBroker((req, n) => {
      if (n !== 2) return false;
      // Let the broker write the batch, then drop the connection before the answer.
      setImmediate(() => req.socket.destroy());
      return false;
    });
    brokers.push(broker);
    const p = idempotentProducer(broker, { maxInFlightPerPartition: 1 });
    const all = values(100);
    const metas = await Promise.all(all.map((value) => p.send({ topic: 't', value, partition: 0 })));
    assert.deepEqual(
      log.map((e) => e.value),
      all,
      'no duplicates after the resend',
    );
    assert.deepEqual(
      metas.map((m) => m.offset),
      all.map((_, i) => i),
    );
  });

  it('bumps the epoch and restarts sequences after UNKNOWN_PRODUCER_ID', async () => {
    const { broker, log, epochs } = await sequencedBroker((req, n) => {
      if (n !== 3) return false;
      req.reply<0>({
        responses: [
          { name: 't', partitionResponses: [{ index: 0, errorCode: ErrorCode.UNKNOWN_PRODUCER_ID, baseOffset: -1 }] },
        ],
      });
      return true;
    });
    brokers.push(broker);
    const p = idempotentProducer(broker, { maxInFlightPerPartition: 1 });
    const all = values(100);
    await Promise.all(all.map((value) => p.send({ topic: 't', value, partition: 0 })));
    assert.deepEqual(
      log.map((e) => e.value),
      all,
    );
    assert.deepEqual(epochs, [0, 1]);
    const afterBump = log.filter((e) => e.epoch === 1);
    assert.ok(afterBump.length > 0);
    assert.equal(afterBump[0]?.sequence, 0, 'sequences restart with the new epoch');
  });
});
