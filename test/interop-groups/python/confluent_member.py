# A consumer-group member on confluent-kafka (librdkafka) for the group interop tests.
# argv[1] is a JSON spec. Reports on stdout, one event per line:
#   A p,p  partitions assigned (incremental with cooperative-sticky)
#   V p,p  partitions revoked      L p,p  partitions lost
#   R p o  record processed (printed before its offset is committed: at-least-once)
#   E text a non-fatal error       CLOSED  after a clean close
import json
import signal
import sys

from confluent_kafka import Consumer, KafkaException, TopicPartition

spec = json.loads(sys.argv[1])
running = True


def stop(_signum, _frame):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)


def out(text):
    sys.stdout.write(text + '\n')
    sys.stdout.flush()


def parts(tps):
    return ','.join(str(tp.partition) for tp in tps)


conf = {
    'bootstrap.servers': spec['bootstrap'],
    'group.id': spec['group'],
    'client.id': spec['name'],
    'enable.auto.commit': False,
    'auto.offset.reset': 'earliest',
    'session.timeout.ms': spec['sessionTimeoutMs'],
    'heartbeat.interval.ms': spec['heartbeatIntervalMs'],
    'partition.assignment.strategy': spec['assignor'],
    'fetch.wait.max.ms': 100,
    # Verify every batch's CRC: a torn or corrupt batch must show up as an error, not as a gap.
    'check.crcs': True,
}
# commit 'sync': commit() after each processed batch. 'store': store_offsets() after each
# processed batch, and librdkafka's auto-commit commits what was stored (every 200 ms).
commit_mode = spec.get('commitMode', 'sync')
if commit_mode == 'store':
    conf.update({'enable.auto.commit': True, 'auto.commit.interval.ms': 200, 'enable.auto.offset.store': False})
if spec.get('debug'):
    conf['debug'] = spec['debug']
if spec.get('instanceId'):
    conf['group.instance.id'] = spec['instanceId']
consumer = Consumer(conf)
topic = spec['topic']
consumer.subscribe(
    [topic],
    on_assign=lambda _c, tps: out('A ' + parts(tps)),
    on_revoke=lambda _c, tps: out('V ' + parts(tps)),
    on_lost=lambda _c, tps: out('L ' + parts(tps)),
)
use_poll = spec.get('consumeApi', 'batch') == 'poll'


def next_batch():
    if not use_poll:
        return consumer.consume(num_messages=200, timeout=0.2)
    # One message per poll(): the batch consume() of librdkafka 2.0.2 can drop queued
    # messages across a cooperative rebalance (see cooperative.test.ts).
    first = consumer.poll(0.2)
    if first is None:
        return []
    batch = [first]
    while len(batch) < 200:
        m = consumer.poll(0)
        if m is None:
            break
        batch.append(m)
    return batch


while running:
    messages = next_batch()
    if not messages:
        continue
    last = {}
    lines = []
    for m in messages:
        if m.error():
            out('E ' + str(m.error()))
            continue
        lines.append('R %d %d' % (m.partition(), m.offset()))
        last[m.partition()] = m.offset()
    if lines:
        out('\n'.join(lines))
    if last and commit_mode == 'store':
        try:
            consumer.store_offsets(offsets=[TopicPartition(topic, p, o + 1) for p, o in last.items()])
        except KafkaException as e:
            # Partitions revoked meanwhile: their new owner reprocesses from the last commit.
            out('E store ' + str(e))
    elif last:
        try:
            consumer.commit(offsets=[TopicPartition(topic, p, o + 1) for p, o in last.items()], asynchronous=False)
        except KafkaException as e:
            # A commit refused during a rebalance: the new owner reprocesses from the last commit.
            out('E commit ' + str(e))
consumer.close()
out('CLOSED')
