// Shared pieces for the interop tests with third-party Node.js clients (kafkajs,
// @platformatic/kafka): a reference murmur2 partitioner written independently of
// src/client, record generators, and an exact produced-versus-consumed comparison.
import assert from 'node:assert/strict';

/**
 * Kafka's murmur2 (the Java client's Utils.murmur2) as a signed 32-bit integer. Written
 * from the algorithm's description, on purpose not shared with src/client/partitioner.ts,
 * so the two can check each other.
 */
export function referenceMurmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ data.length;
  const whole = data.length - (data.length % 4);
  for (let i = 0; i < whole; i += 4) {
    let k = data.readInt32LE(i);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = data.length - whole;
  if (rest > 0) {
    // Little-endian tail, as Java's fall-through switch folds it in.
    let tail = 0;
    for (let j = rest - 1; j >= 0; j--) tail = (tail << 8) | (data[whole + j] as number);
    h ^= tail;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Where the Java default partitioner puts a keyed record: toPositive(murmur2(key)) % n. */
export function javaPartitionForKey(key: Buffer | string, partitionCount: number): number {
  const bytes = typeof key === 'string' ? Buffer.from(key) : key;
  return (referenceMurmur2(bytes) & 0x7fffffff) % partitionCount;
}

/** One record as the tests see it, independent of any client's types. */
export interface TestRecord {
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** A record as a consumer delivered it. */
export interface DeliveredRecord extends TestRecord {
  partition: number;
  offset: bigint;
}

/**
 * `count` keyed records with headers. Keys are unique so they spread over all partitions;
 * values carry some repetitive text so that compression has something to do; one header
 * is non-ASCII to catch encoding mistakes.
 */
export function makeRecords(tag: string, count: number, valueBytes = 64): TestRecord[] {
  const filler = 'abcdefghij'.repeat(Math.ceil(valueBytes / 10)).slice(0, valueBytes);
  const out: TestRecord[] = [];
  for (let i = 0; i < count; i++) {
    out.push({
      key: `${tag}-key-${i}`,
      value: `${tag}-value-${i}-${filler}`,
      headers: { seq: String(i), origin: tag, 'ключ-✓': `значение-${i % 7}` },
    });
  }
  return out;
}

/**
 * Checks that `delivered` is exactly `produced`: every record once, no extras, with the
 * same key, value and headers, on the partition the Java partitioner picks for its key,
 * and in produce order within each partition with increasing offsets.
 */
export function assertDeliveredExactly(
  produced: readonly TestRecord[],
  delivered: readonly DeliveredRecord[],
  partitionCount: number,
): void {
  assert.equal(delivered.length, produced.length, 'delivered record count');
  const expectedByPartition = new Map<number, TestRecord[]>();
  for (const r of produced) {
    const p = javaPartitionForKey(r.key, partitionCount);
    let list = expectedByPartition.get(p);
    if (!list) {
      list = [];
      expectedByPartition.set(p, list);
    }
    list.push(r);
  }
  const gotByPartition = new Map<number, DeliveredRecord[]>();
  for (const r of delivered) {
    let list = gotByPartition.get(r.partition);
    if (!list) {
      list = [];
      gotByPartition.set(r.partition, list);
    }
    list.push(r);
  }
  for (const [partition, got] of gotByPartition) {
    const expected = expectedByPartition.get(partition) ?? [];
    assert.equal(got.length, expected.length, `record count on partition ${partition}`);
    for (let i = 0; i < got.length; i++) {
      const g = got[i] as DeliveredRecord;
      const e = expected[i] as TestRecord;
      if (i > 0) assert.ok(g.offset > (got[i - 1] as DeliveredRecord).offset, `offsets increase on ${partition}`);
      // Compare field by field first: a mismatch message then names the record.
      if (g.key !== e.key || g.value !== e.value) {
        assert.fail(`partition ${partition} position ${i}: got key ${g.key} value ${g.value}, expected ${e.key}`);
      }
      assert.deepEqual(g.headers, e.headers, `headers of ${e.key}`);
    }
  }
  for (const partition of expectedByPartition.keys()) {
    assert.ok(gotByPartition.has(partition), `no records delivered from partition ${partition}`);
  }
}

/** Rejects after `timeoutMs`, so a stuck client fails the test instead of hanging it. */
export function withTimeout<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Splits `items` into consecutive chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A 5 MiB value whose content depends on its position, so truncation or reordering shows. */
export function bigValue(sizeBytes: number): Buffer {
  const buf = Buffer.alloc(sizeBytes);
  for (let i = 0; i + 4 <= sizeBytes; i += 4) buf.writeUInt32BE(i, i);
  return buf;
}

/** Broker settings for interop tests: no group join delay, room for 5 MiB records. */
export const INTEROP_BROKER_CONFIG: Record<string, string | number | boolean> = {
  'group.initial.rebalance.delay.ms': 0,
  'auto.create.topics.enable': false,
};

export const BIG_RECORD_BYTES = 5 * 1024 * 1024;
/** Topic max.message.bytes for the big-record test: the record plus batch overhead. */
export const BIG_TOPIC_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/** The 1000-partition tests write `p<P>-r0`, `p<P>-r1` to every partition P: check all came back in order. */
export function assertTwoPerPartition(
  delivered: readonly { partition: number; value: string }[],
  partitions: number,
): void {
  assert.equal(delivered.length, 2 * partitions);
  const byPartition = new Map<number, string[]>();
  for (const r of delivered) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.value]);
  assert.equal(byPartition.size, partitions);
  for (let p = 0; p < partitions; p++) assert.deepEqual(byPartition.get(p), [`p${p}-r0`, `p${p}-r1`]);
}
