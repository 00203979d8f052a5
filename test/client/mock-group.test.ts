// Consumer groups against librdkafka's mock cluster: eager and cooperative rebalancing,
// commits, seek, pause/resume, slow handlers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TopicPartition } from '../../src/client/consumer/assignors.js';
import { Consumer, type ConsumerOptions } from '../../src/client/consumer/consumer.js';
import { Producer } from '../../src/client/producer/producer.js';
import { uniqueName, waitFor } from '../helpers/client.js';
import { type MockCluster, startMockCluster } from '../helpers/rdkafka-mock/index.js';

let mock: MockCluster;
let producer: Producer;
before(async () => {
  mock = await startMockCluster(2);
  producer = new Producer({ bootstrapServers: mock.bootstrap, logger: null, lingerMs: 1 });
});
after(async () => {
  await producer.close();
  await mock.stop();
});

// The mock holds a rebalance open sessionTimeoutMs - 1000 for members to rejoin, then waits up to
// sessionTimeoutMs for them to sync, answering stragglers REBALANCE_IN_PROGRESS (with a null
// assignment, which a strict client cannot decode). Short enough to keep the tests quick, long
// enough for a member on a loaded machine to rejoin and sync in time.
const FAST: Partial<ConsumerOptions> = { sessionTimeoutMs: 6000, heartbeatIntervalMs: 300, fetchMaxWaitMs: 100 };
/** How long tests wait for consumption and rebalances (generous: the machine may be loaded). */
const WAIT_MS = 30_000;

interface Tracked {
  consumer: Consumer;
  name: string;
  events: string[];
  received: { partition: number; offset: number; value: string }[];
  run: Promise<void>;
}

function tracked(name: string, groupId: string, topic: string, opts: Partial<ConsumerOptions> = {}): Tracked {
  const events: string[] = [];
  const received: Tracked['received'] = [];
  const fmt = (tps: TopicPartition[]): string =>
    tps
      .map((t) => t.partition)
      .sort((a, b) => a - b)
      .join(',');
  const consumer = new Consumer({
    bootstrapServers: mock.bootstrap,
    groupId,
    logger: null,
    autoOffsetReset: 'earliest',
    ...FAST,
    ...opts,
    rebalanceListener: {
      onPartitionsAssigned: (tps) => {
        events.push(`assigned:${fmt(tps)}`);
      },
      onPartitionsRevoked: (tps) => {
        events.push(`revoked:${fmt(tps)}`);
      },
      onPartitionsLost: (tps) => {
        events.push(`lost:${fmt(tps)}`);
      },
    },
  });
  consumer.subscribe([topic]);
  const run = consumer.run({
    eachMessage: ({ partition, message }) => {
      received.push({ partition, offset: message.offset, value: message.value?.toString() ?? '' });
    },
  });
  return { consumer, name, events, received, run };
}

async function produce(topic: string, n: number, partitions: number, tag = 'm'): Promise<void> {
  await producer.sendBatch(
    Array.from({ length: n }, (_, i) => ({ topic, value: `${tag}${i}`, partition: i % partitions })),
  );
}

const owned = (c: Consumer): number[] =>
  c
    .assignment()
    .map((t) => t.partition)
    .sort((a, b) => a - b);

/**
 * Eager rebalancing: a member gives up everything it owns (revoked, or lost) before it is given a
 * new assignment, in every generation.
 */
function assertEagerEvents(events: string[], who: string): void {
  let owning = '';
  for (const e of events) {
    const [kind, parts = ''] = e.split(':');
    if (kind === 'assigned') {
      assert.equal(owning, '', `${who} was assigned ${parts} while owning ${owning}: ${events.join(' ')}`);
      owning = parts;
    } else {
      assert.equal(parts, owning, `${who}: ${e} while owning ${owning}: ${events.join(' ')}`);
      owning = '';
    }
  }
}

describe('consumer groups against the librdkafka mock cluster', () => {
  it('eager (range): splits partitions, rebalances when members come and go, consumes each record once', async () => {
    const topic = uniqueName('eager');
    const groupId = uniqueName('g-eager');
    await mock.createTopic(topic, 4);
    const a = tracked('a', groupId, topic);
    await waitFor(() => owned(a.consumer).length === 4, WAIT_MS, 'a owns all partitions');
    await produce(topic, 40, 4, 'first');
    await waitFor(() => a.received.length === 40, WAIT_MS, 'a consumed the first records');
    const b = tracked('b', groupId, topic);
    await waitFor(() => owned(a.consumer).length === 2 && owned(b.consumer).length === 2, WAIT_MS, 'split 2/2');
    // Eager: a gave up everything before the new assignment.
    assert.deepEqual(a.events.slice(0, 2), ['assigned:0,1,2,3', 'revoked:0,1,2,3']);
    assertEagerEvents(a.events, 'a');
    assertEagerEvents(b.events, 'b');
    // Range hands each member a contiguous half; which half goes to whom follows the member ids,
    // which the mock makes up (memory addresses), so either way round is right.
    const aParts = owned(a.consumer);
    const bParts = owned(b.consumer);
    assert.deepEqual([aParts, bParts].map(String).sort(), ['0,1', '2,3']);
    assert.equal(a.events.at(-1), `assigned:${aParts}`);
    assert.equal(b.events.at(-1), `assigned:${bParts}`);
    await produce(topic, 40, 4, 'second');
    const second = (): string[] =>
      [...a.received, ...b.received].filter((r) => r.value.startsWith('second')).map((r) => r.value);
    await waitFor(() => new Set(second()).size === 40, WAIT_MS, 'all second records');
    assert.equal(second().length, 40, 'no record consumed twice');
    assert.ok(a.received.filter((r) => r.value.startsWith('second')).every((r) => aParts.includes(r.partition)));
    assert.ok(b.received.filter((r) => r.value.startsWith('second')).every((r) => bParts.includes(r.partition)));
    await b.consumer.close();
    await waitFor(() => owned(a.consumer).length === 4, WAIT_MS, 'a takes everything back');
    await a.consumer.close();
    await Promise.all([a.run, b.run]);
  });

  it('cooperative-sticky: only moved partitions are revoked, in a follow-up rebalance', async () => {
    const topic = uniqueName('coop');
    const groupId = uniqueName('g-coop');
    await mock.createTopic(topic, 4);
    const opts = { assignors: ['cooperative-sticky'] };
    const a = tracked('a', groupId, topic, opts);
    await waitFor(() => owned(a.consumer).length === 4, WAIT_MS, 'a owns all partitions');
    await produce(topic, 20, 4);
    const b = tracked('b', groupId, topic, opts);
    await waitFor(() => owned(a.consumer).length === 2 && owned(b.consumer).length === 2, WAIT_MS, 'split 2/2');
    // a kept two partitions throughout and revoked only the two that moved.
    assert.equal(a.events[0], 'assigned:0,1,2,3');
    const revoked = a.events.filter((e) => e.startsWith('revoked:'));
    assert.equal(revoked.length, 1);
    assert.equal(revoked[0]?.split(':')[1]?.split(',').length, 2);
    assert.ok(!a.events.includes('revoked:0,1,2,3'));
    const bParts = owned(b.consumer);
    assert.deepEqual(revoked[0], `revoked:${bParts.join(',')}`);
    await waitFor(() => a.received.length + b.received.length >= 20, WAIT_MS, 'records consumed');
    await Promise.all([a.consumer.close(), b.consumer.close()]);
    await Promise.all([a.run, b.run]);
  });

  it('commits: a new member resumes after the committed offsets', async () => {
    const topic = uniqueName('commit');
    const groupId = uniqueName('g-commit');
    await mock.createTopic(topic, 2);
    await produce(topic, 30, 2, 'x');
    const c1 = new Consumer({
      bootstrapServers: mock.bootstrap,
      groupId,
      logger: null,
      autoOffsetReset: 'earliest',
      autoCommit: false,
      ...FAST,
    });
    c1.subscribe(topic);
    let seen = 0;
    while (seen < 30) {
      const batch = await c1.poll();
      assert.ok(batch);
      seen += batch.messages.length;
    }
    await c1.commit();
    const committed = await c1.committed([
      { topic, partition: 0 },
      { topic, partition: 1 },
    ]);
    assert.deepEqual(
      [...committed.values()].map((c) => c.offset),
      [15, 15],
    );
    await c1.close();
    await produce(topic, 10, 2, 'y');
    const c2 = new Consumer({
      bootstrapServers: mock.bootstrap,
      groupId,
      logger: null,
      autoOffsetReset: 'earliest',
      ...FAST,
      autoCommitIntervalMs: 200,
    });
    c2.subscribe(topic);
    const values: string[] = [];
    while (values.length < 10) {
      const batch = await c2.poll();
      assert.ok(batch);
      values.push(...batch.messages.map((m) => m.value?.toString() ?? ''));
    }
    assert.ok(
      values.every((v) => v.startsWith('y')),
      `re-read committed records: ${values}`,
    );
    // Auto-commit records the progress of the batch handed out before.
    const pending = c2.poll();
    await waitFor(
      async () => {
        const c = await c2.committed([{ topic, partition: 0 }]);
        return [...c.values()][0]?.offset === 20;
      },
      WAIT_MS,
      'auto-commit',
    );
    await c2.close();
    assert.equal(await pending, null, 'closing ends a waiting poll');
  });

  it('a handler slower than sessionTimeoutMs keeps its membership (heartbeats continue)', async () => {
    const topic = uniqueName('slow');
    const groupId = uniqueName('g-slow');
    await mock.createTopic(topic, 2);
    await produce(topic, 4, 2);
    const events: string[] = [];
    const c = new Consumer({
      bootstrapServers: mock.bootstrap,
      groupId,
      logger: null,
      autoOffsetReset: 'earliest',
      ...FAST,
      // A lone member joins and syncs at once, so a short session suits it (and keeps the wait short).
      sessionTimeoutMs: 3000,
      maxPollIntervalMs: 60_000,
      rebalanceListener: {
        onPartitionsRevoked: () => {
          events.push('revoked');
        },
        onPartitionsLost: () => {
          events.push('lost');
        },
      },
    });
    c.subscribe(topic);
    const first = await c.poll();
    assert.ok(first);
    const before = c.groupState();
    // Hold the batch for twice the session timeout.
    await new Promise((r) => setTimeout(r, 6500));
    const afterSleep = c.groupState();
    assert.deepEqual(afterSleep, before);
    assert.deepEqual(events, []);
    await c.commit();
    const next = await Promise.race([c.poll(), new Promise((r) => setTimeout(() => r('idle'), 1000))]);
    assert.ok(next !== null);
    assert.deepEqual(c.groupState(), before);
    await c.close();
  });

  it('exceeding maxPollIntervalMs leaves the group; the next poll rejoins', async () => {
    const topic = uniqueName('poll-timeout');
    const groupId = uniqueName('g-poll');
    await mock.createTopic(topic, 1);
    await produce(topic, 3, 1);
    const events: string[] = [];
    const c = new Consumer({
      bootstrapServers: mock.bootstrap,
      groupId,
      logger: null,
      autoOffsetReset: 'earliest',
      ...FAST,
      maxPollIntervalMs: 1000,
      rebalanceListener: {
        onPartitionsAssigned: () => {
          events.push('assigned');
        },
        onPartitionsLost: () => {
          events.push('lost');
        },
      },
    });
    c.subscribe(topic);
    assert.ok(await c.poll());
    const gen = c.groupState()?.generationId;
    await waitFor(() => (c.groupState()?.generationId ?? 0) < 0, WAIT_MS, 'member left after the poll timeout');
    // Polling again rejoins (partitions were lost meanwhile).
    const next = c.poll();
    await waitFor(() => events.length === 3, WAIT_MS, 'rejoined');
    assert.deepEqual(events, ['assigned', 'lost', 'assigned']);
    assert.ok((c.groupState()?.generationId ?? -1) > (gen ?? 0), 'a new generation');
    await c.close();
    await next;
  });
});

describe('standalone consumers against the librdkafka mock cluster', () => {
  it('assign() with seek and pause/resume', async () => {
    const topic = uniqueName('assign');
    await mock.createTopic(topic, 2);
    await produce(topic, 20, 2, 'v');
    const c = new Consumer({ bootstrapServers: mock.bootstrap, logger: null, fetchMaxWaitMs: 50 });
    c.assign([
      { topic, partition: 0, offset: 0 },
      { topic, partition: 1, offset: 'earliest' },
    ]);
    c.pause([{ topic, partition: 1 }]);
    const fromZero: number[] = [];
    while (fromZero.length < 10) {
      const b = await c.poll();
      assert.ok(b);
      assert.equal(b.partition, 0, 'paused partition 1 delivered nothing');
      fromZero.push(...b.messages.map((m) => m.offset));
    }
    assert.deepEqual(fromZero, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    c.seek({ topic, partition: 0 }, 7);
    c.resume([{ topic, partition: 1 }]);
    const again: string[] = [];
    while (again.length < 13) {
      const b = await c.poll();
      assert.ok(b);
      again.push(...b.messages.map((m) => `${b.partition}:${m.offset}`));
    }
    assert.deepEqual(
      again.filter((s) => s.startsWith('0:')),
      ['0:7', '0:8', '0:9'],
    );
    assert.equal(again.filter((s) => s.startsWith('1:')).length, 10);
    assert.equal(c.position({ topic, partition: 0 }), 10);
    c.seek({ topic, partition: 1 }, 'latest');
    await produce(topic, 2, 2, 'late');
    const late = await c.poll();
    assert.ok(late);
    assert.deepEqual(
      late.messages.map((m) => m.value?.toString()),
      [late.partition === 0 ? 'late0' : 'late1'],
    );
    await c.close();
  });

  it('the async iterator yields batches until the consumer closes', async () => {
    const topic = uniqueName('iter');
    await mock.createTopic(topic, 1);
    await produce(topic, 5, 1);
    const c = new Consumer({ bootstrapServers: mock.bootstrap, logger: null, fetchMaxWaitMs: 50 });
    c.assign([{ topic, partition: 0, offset: 'earliest' }]);
    const values: string[] = [];
    setTimeout(() => void c.close(), 1500);
    for await (const batch of c) values.push(...batch.messages.map((m) => m.value?.toString() ?? ''));
    assert.deepEqual(values, ['m0', 'm1', 'm2', 'm3', 'm4']);
  });
});
