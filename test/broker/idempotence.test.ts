// Idempotent producers: InitProducerId, sequence checks, duplicates answered with the
// original offsets, epoch fencing, and state that survives restarts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type EmbeddedBroker, startBroker } from '../../src/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { encodeRecordBatch } from '../../src/records/index.js';
import { RawClient } from '../helpers/raw-client.js';

function idempotentBatch(producerId: number, producerEpoch: number, baseSequence: number, count: number): Buffer {
  return encodeRecordBatch({
    producerId,
    producerEpoch,
    baseSequence,
    records: Array.from({ length: count }, (_, i) => ({ value: Buffer.from(`s${baseSequence + i}`) })),
  });
}

describe('idempotent producers', () => {
  let dataDir: string;
  let eb: EmbeddedBroker;
  let c: RawClient;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'eddy-idem-'));
    eb = await startBroker({ dataDir });
    c = await RawClient.connect(eb.bootstrap);
    await c.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'idem', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
    });
  });
  after(async () => {
    c.close();
    await eb.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function produce(records: Buffer) {
    const r = await c.request(ApiKey.Produce, 9, {
      acks: -1,
      timeoutMs: 1000,
      topicData: [{ name: 'idem', partitionData: [{ index: 0, records }] }],
    });
    return r.responses[0]?.partitionResponses[0];
  }

  it('hands out distinct producer ids and rejects transactional ids it cannot coordinate', async () => {
    const a = await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000 });
    const b = await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000 });
    assert.equal(a.errorCode, 0);
    assert.equal(a.producerEpoch, 0);
    assert.notEqual(a.producerId, b.producerId);
    const txn = await c.request(ApiKey.InitProducerId, 4, { transactionalId: 'tx', transactionTimeoutMs: 60000 });
    assert.notEqual(txn.errorCode, 0);
  });

  it('answers a retried batch with its original offset and rejects gaps and old epochs', async () => {
    const { producerId } = await c.request(ApiKey.InitProducerId, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60000,
    });
    const first = await produce(idempotentBatch(producerId, 0, 0, 3));
    assert.equal(first?.errorCode, 0);
    const retry = await produce(idempotentBatch(producerId, 0, 0, 3));
    assert.equal(retry?.errorCode, 0);
    assert.equal(retry?.baseOffset, first?.baseOffset, 'the duplicate gets the original offset');
    const next = await produce(idempotentBatch(producerId, 0, 3, 2));
    assert.equal(next?.baseOffset, (first?.baseOffset ?? 0) + 3, 'the retry was not appended again');
    const gap = await produce(idempotentBatch(producerId, 0, 9, 1));
    assert.equal(gap?.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const bumped = await produce(idempotentBatch(producerId, 1, 0, 1));
    assert.equal(bumped?.errorCode, 0, 'a new epoch starts again at sequence 0');
    const fenced = await produce(idempotentBatch(producerId, 0, 5, 1));
    assert.equal(fenced?.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    const badNewEpoch = await produce(idempotentBatch(producerId, 2, 4, 1));
    assert.equal(badNewEpoch?.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('keeps producer state across a restart', async () => {
    const { producerId } = await c.request(ApiKey.InitProducerId, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60000,
    });
    const first = await produce(idempotentBatch(producerId, 0, 0, 4));
    c.close();
    await eb.stop();
    eb = await startBroker({ dataDir });
    c = await RawClient.connect(eb.bootstrap);
    const retry = await produce(idempotentBatch(producerId, 0, 0, 4));
    assert.equal(retry?.baseOffset, first?.baseOffset);
    const gap = await produce(idempotentBatch(producerId, 0, 7, 1));
    assert.equal(gap?.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const inOrder = await produce(idempotentBatch(producerId, 0, 4, 1));
    assert.equal(inOrder?.errorCode, 0);
  });
});
