# A consumer-group member on kafka-python for the group interop tests; same stdout protocol
# as confluent_member.py. kafka-python 2.0.2 has no static membership (group.instance.id).
import json
import signal
import sys

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

spec = json.loads(sys.argv[1])
running = True


def stop(_signum, _frame):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)


def out(text):
    sys.stdout.write(text + '\n')
    sys.stdout.flush()


class Listener(ConsumerRebalanceListener):
    def on_partitions_revoked(self, revoked):
        out('V ' + ','.join(str(tp.partition) for tp in revoked))

    def on_partitions_assigned(self, assigned):
        out('A ' + ','.join(str(tp.partition) for tp in assigned))


topic = spec['topic']
consumer = KafkaConsumer(
    bootstrap_servers=spec['bootstrap'],
    group_id=spec['group'],
    client_id=spec['name'],
    enable_auto_commit=False,
    auto_offset_reset='earliest',
    session_timeout_ms=spec['sessionTimeoutMs'],
    heartbeat_interval_ms=spec['heartbeatIntervalMs'],
    max_poll_records=200,
    fetch_max_wait_ms=100,
)
consumer.subscribe([topic], listener=Listener())
while running:
    batches = consumer.poll(timeout_ms=200)
    last = {}
    lines = []
    for tp, records in batches.items():
        for r in records:
            lines.append('R %d %d' % (tp.partition, r.offset))
            last[tp.partition] = r.offset
    if lines:
        out('\n'.join(lines))
    if last:
        try:
            consumer.commit({TopicPartition(topic, p): OffsetAndMetadata(o + 1, None) for p, o in last.items()})
        except KafkaError as e:
            # A commit refused during a rebalance: the new owner reprocesses from the last commit.
            out('E commit ' + str(e))
consumer.close()
out('CLOSED')
