# confluent-kafka (librdkafka) driver for Eddy's interop tests. Usage: ck.py '<job json>'.
# Each job names an op; the answer is one JSON line on stdout. Consumed records go to the
# job's "out" file as JSON lines (see records.write_record_line).
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402
from records import EDGE_RECORDS, big_value, emit, job_from_argv, record, write_record_line  # noqa: E402


def base_conf(job):
    return {"bootstrap.servers": job["bootstrap"], **job.get("config", {})}


def op_create_topics(job):
    admin = AdminClient(base_conf(job))
    new = [
        NewTopic(t["name"], num_partitions=t["partitions"], replication_factor=1, config=t.get("config", {}))
        for t in job["topics"]
    ]
    futures = admin.create_topics(new, operation_timeout=30, request_timeout=60)
    created = []
    for name, fut in futures.items():
        fut.result(timeout=60)
        created.append(name)
    return {"created": sorted(created)}


def make_producer(job):
    conf = base_conf(job)
    conf.setdefault("compression.type", job.get("compression", "none"))
    conf.setdefault("linger.ms", 5)
    return Producer(conf)


def op_produce(job):
    """Produces records start..start+count-1 of the job's prefix; reports each record's partition."""
    producer = make_producer(job)
    start, count, prefix = job.get("start", 0), job["count"], job["prefix"]
    headers = job.get("headers", True)
    ts = job.get("timestamps")  # {"base": ms, "step": ms}: explicit CreateTime per record
    partitions = [-1] * count
    errors = []

    def on_delivery(err, msg, idx):
        if err is not None:
            errors.append(f"record {idx}: {err}")
        else:
            partitions[idx - start] = msg.partition()

    for i in range(start, start + count):
        key, value, hdrs = record(prefix, i, headers)
        kwargs = {"key": key, "value": value, "on_delivery": lambda err, msg, idx=i: on_delivery(err, msg, idx)}
        if hdrs:
            kwargs["headers"] = hdrs
        if ts:
            kwargs["timestamp"] = ts["base"] + (i - start) * ts["step"]
        if "partition" in job:
            kwargs["partition"] = job["partition"]
        while True:
            try:
                producer.produce(job["topic"], **kwargs)
                break
            except BufferError:
                producer.poll(0.1)  # local queue full: serve delivery reports, then retry
        producer.poll(0)
    left = producer.flush(job.get("timeout_ms", 120000) / 1000)
    if left:
        errors.append(f"{left} records still undelivered after flush")
    return {"delivered": count - len(errors) - left, "partitions": partitions, "errors": errors[:20]}


def op_produce_big(job):
    """One record of job['size'] bytes (key 'big')."""
    producer = make_producer(job)
    errors = []
    done = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            done.append((msg.partition(), msg.offset()))

    producer.produce(job["topic"], key=b"big", value=big_value(job["size"]), on_delivery=on_delivery)
    producer.flush(60)
    return {"delivered": done, "errors": errors}


def op_produce_edge(job):
    """EDGE_RECORDS to partition 0, in order (one in flight keeps the order without idempotence)."""
    producer = Producer({**base_conf(job), "max.in.flight": 1, "compression.type": job.get("compression", "none")})
    errors = []
    for key, value, hdrs in EDGE_RECORDS:
        producer.produce(
            job["topic"], key=key, value=value, headers=hdrs or None, partition=0,
            on_delivery=lambda err, msg: errors.append(str(err)) if err else None,
        )
    left = producer.flush(60)
    return {"delivered": len(EDGE_RECORDS) - len(errors) - left, "errors": errors}


def make_consumer(job):
    conf = base_conf(job)
    conf.setdefault("group.id", job.get("group", "eddy-interop-ck"))
    conf.setdefault("enable.auto.commit", False)
    conf.setdefault("enable.partition.eof", False)
    return Consumer(conf)


def start_offset(start, partition):
    if start == "earliest":
        return OFFSET_BEGINNING
    if start == "latest":
        return OFFSET_END
    return int(start[str(partition)])


def drain(consumer, job, out, expect):
    """Consumes until `expect` records arrived (then lingers briefly to catch extras)."""
    deadline = time.time() + job.get("timeout_ms", 180000) / 1000
    linger_s = job.get("linger_after_ms", 300) / 1000
    got = 0
    reached_at = None
    while time.time() < deadline:
        if reached_at is not None and time.time() - reached_at > linger_s:
            break
        for msg in consumer.consume(num_messages=1000, timeout=0.2):
            if msg.error():
                raise KafkaException(msg.error())
            write_record_line(
                out, msg.partition(), msg.offset(), msg.timestamp()[1], msg.key(), msg.value(), msg.headers()
            )
            got += 1
        if got >= expect and reached_at is None:
            reached_at = time.time()
    return got


def op_consume(job):
    """Assigns the topic's partitions at job['start'] and reads job['expect'] records."""
    consumer = make_consumer(job)
    parts = job.get("partition_list") or list(range(job["partitions"]))
    consumer.assign([TopicPartition(job["topic"], p, start_offset(job.get("start", "earliest"), p)) for p in parts])
    try:
        with open(job["out"], "w") as out:
            got = drain(consumer, job, out, job["expect"])
    finally:
        consumer.close()
    return {"consumed": got}


def op_consume_latest(job):
    """Assigns at the end, waits until positioned, then produces fresh records and reads only those."""
    # librdkafka's position() stays invalid until a record is consumed; its statistics show
    # when each partition's fetcher is active and at which offset (resolved from OFFSET_END).
    stats = {}

    def on_stats(text):
        stats["last"] = json.loads(text)

    consumer = make_consumer({**job, "config": {**job.get("config", {}), "statistics.interval.ms": 100, "stats_cb": on_stats}})
    parts = list(range(job["partitions"]))
    consumer.assign([TopicPartition(job["topic"], p, OFFSET_END) for p in parts])
    positioned = {}
    deadline = time.time() + 60
    while time.time() < deadline and len(positioned) < len(parts):
        for m in consumer.consume(num_messages=100, timeout=0.2):
            raise RuntimeError(f"unexpected record at offset {m.offset()} before the fresh ones")
        tstats = stats.get("last", {}).get("topics", {}).get(job["topic"], {}).get("partitions", {})
        for p in parts:
            ps = tstats.get(str(p), {})
            if ps.get("fetch_state") == "active" and ps.get("next_offset", -1) >= 0:
                positioned[p] = ps["next_offset"]
    if len(positioned) < len(parts):
        raise RuntimeError(f"positions never resolved: {positioned}")
    fresh = op_produce({**job, "count": job["fresh"], "start": 0, "config": job.get("producer_config", {})})
    try:
        with open(job["out"], "w") as out:
            got = drain(consumer, job, out, job["fresh"])
    finally:
        consumer.close()
    return {"consumed": got, "positions": {str(k): v for k, v in positioned.items()}, "produced": fresh}


def op_offsets_for_times(job):
    consumer = make_consumer(job)
    try:
        tps = [TopicPartition(job["topic"], p, job["timestamp"]) for p in range(job["partitions"])]
        found = consumer.offsets_for_times(tps, timeout=30)
        return {"offsets": {str(tp.partition): tp.offset for tp in found}}
    finally:
        consumer.close()


def op_seek_timestamp(job):
    """offsets_for_times, then seek() on an active assignment, then reads job['expect'] records."""
    consumer = make_consumer(job)
    parts = list(range(job["partitions"]))
    tps = [TopicPartition(job["topic"], p, OFFSET_BEGINNING) for p in parts]
    consumer.assign(tps)
    found = consumer.offsets_for_times(
        [TopicPartition(job["topic"], p, job["timestamp"]) for p in parts], timeout=30
    )
    for tp in found:
        # seek() needs the partition to be fetched already; retry while it is not yet ready.
        deadline = time.time() + 30
        while True:
            try:
                consumer.seek(tp)
                break
            except KafkaException:
                if time.time() > deadline:
                    raise
                consumer.consume(num_messages=1, timeout=0.1)
    try:
        with open(job["out"], "w") as out:
            got = drain(consumer, job, out, job["expect"])
    finally:
        consumer.close()
    return {"consumed": got, "offsets": {str(tp.partition): tp.offset for tp in found}}


def watermarks(job):
    consumer = make_consumer(job)
    try:
        return {
            str(p): list(consumer.get_watermark_offsets(TopicPartition(job["topic"], p), timeout=30))
            for p in range(job["partitions"])
        }
    finally:
        consumer.close()


def op_watermarks(job):
    return {"watermarks": watermarks(job)}


def resource(job):
    kind = ConfigResource.Type.TOPIC if job["resource"] == "topic" else ConfigResource.Type.BROKER
    return ConfigResource(kind, job["name"], set_config=job.get("set"))


def op_describe_configs(job):
    admin = AdminClient(base_conf(job))
    futures = admin.describe_configs([resource(job)], request_timeout=30)
    out = {}
    for _, fut in futures.items():
        for name, entry in fut.result(timeout=30).items():
            out[name] = {
                "value": entry.value,
                "read_only": entry.is_read_only,
                "default": entry.is_default,
                "sensitive": entry.is_sensitive,
                "source": int(getattr(entry.source, "value", entry.source)),
            }
    return {"configs": out}


def op_alter_configs(job):
    """Non-incremental AlterConfigs: the given set replaces the resource's dynamic configs."""
    admin = AdminClient(base_conf(job))
    futures = admin.alter_configs([resource(job)], request_timeout=30)
    for _, fut in futures.items():
        fut.result(timeout=30)
    return {"altered": True}


OPS = {
    "create_topics": op_create_topics,
    "produce": op_produce,
    "produce_big": op_produce_big,
    "produce_edge": op_produce_edge,
    "consume": op_consume,
    "consume_latest": op_consume_latest,
    "offsets_for_times": op_offsets_for_times,
    "seek_timestamp": op_seek_timestamp,
    "watermarks": op_watermarks,
    "describe_configs": op_describe_configs,
    "alter_configs": op_alter_configs,
}

if __name__ == "__main__":
    job = job_from_argv()
    emit(OPS[job["op"]](job))
