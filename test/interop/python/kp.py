# kafka-python driver for Eddy's interop tests. Usage: kp.py '<job json>'.
# Same ops and answers as ck.py, through kafka-python's own protocol implementation.
import logging
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic  # noqa: E402
from records import EDGE_RECORDS, big_value, emit, job_from_argv, record, write_record_line  # noqa: E402

logging.basicConfig(level=logging.ERROR)


def base_conf(job):
    return {"bootstrap_servers": job["bootstrap"], "request_timeout_ms": 60000, **job.get("config", {})}


def op_create_topics(job):
    admin = KafkaAdminClient(**base_conf(job))
    try:
        new = [
            NewTopic(t["name"], num_partitions=t["partitions"], replication_factor=1, topic_configs=t.get("config", {}))
            for t in job["topics"]
        ]
        resp = admin.create_topics(new, timeout_ms=30000)
        errors = [list(e) for e in resp.topic_errors if e[1] != 0]
        if errors:
            raise RuntimeError(f"create_topics errors: {errors}")
        return {"created": sorted(t["name"] for t in job["topics"])}
    finally:
        admin.close()


def make_producer(job):
    conf = base_conf(job)
    compression = job.get("compression", "none")
    if compression != "none":
        conf.setdefault("compression_type", compression)
    conf.setdefault("linger_ms", 5)
    # kafka-python's default partitioner is murmur2 over the key bytes, like Java's.
    return KafkaProducer(**conf)


def op_produce(job):
    producer = make_producer(job)
    start, count, prefix = job.get("start", 0), job["count"], job["prefix"]
    headers = job.get("headers", True)
    ts = job.get("timestamps")
    futures = []
    for i in range(start, start + count):
        key, value, hdrs = record(prefix, i, headers)
        kwargs = {"key": key, "value": value}
        if hdrs:
            kwargs["headers"] = hdrs
        if ts:
            kwargs["timestamp_ms"] = ts["base"] + (i - start) * ts["step"]
        if "partition" in job:
            kwargs["partition"] = job["partition"]
        futures.append(producer.send(job["topic"], **kwargs))
    producer.flush(timeout=job.get("timeout_ms", 120000) / 1000)
    partitions = []
    errors = []
    for idx, fut in enumerate(futures):
        try:
            partitions.append(fut.get(timeout=30).partition)
        except Exception as err:  # noqa: BLE001 - reported to the test, which fails on any
            partitions.append(-1)
            errors.append(f"record {start + idx}: {err!r}")
    producer.close(timeout=30)
    return {"delivered": count - len(errors), "partitions": partitions, "errors": errors[:20]}


def op_produce_big(job):
    producer = make_producer(job)
    try:
        meta = producer.send(job["topic"], key=b"big", value=big_value(job["size"])).get(timeout=60)
        return {"delivered": [[meta.partition, meta.offset]], "errors": []}
    except Exception as err:  # noqa: BLE001
        return {"delivered": [], "errors": [repr(err)]}
    finally:
        producer.close(timeout=30)


def op_produce_edge(job):
    """EDGE_RECORDS to partition 0, in order, but for the null header value kafka-python cannot send."""
    conf = base_conf(job)
    conf["max_in_flight_requests_per_connection"] = 1
    if job.get("compression", "none") != "none":
        conf["compression_type"] = job["compression"]
    producer = KafkaProducer(**conf)
    errors = []
    sendable = [(k, v, h) for k, v, h in EDGE_RECORDS if all(hv is not None for _, hv in h)]
    futures = [producer.send(job["topic"], key=k, value=v, headers=h, partition=0) for k, v, h in sendable]
    producer.flush(timeout=60)
    for fut in futures:
        try:
            fut.get(timeout=30)
        except Exception as err:  # noqa: BLE001
            errors.append(repr(err))
    producer.close(timeout=30)
    return {"delivered": len(sendable) - len(errors), "errors": errors}


def make_consumer(job):
    conf = base_conf(job)
    conf.setdefault("enable_auto_commit", False)
    conf.setdefault("consumer_timeout_ms", 1000)
    return KafkaConsumer(**conf)


def drain(consumer, job, out, expect):
    deadline = time.time() + job.get("timeout_ms", 180000) / 1000
    linger_s = job.get("linger_after_ms", 300) / 1000
    got = 0
    reached_at = None
    while time.time() < deadline:
        if reached_at is not None and time.time() - reached_at > linger_s:
            break
        for records in consumer.poll(timeout_ms=200, max_records=2000).values():
            for m in records:
                write_record_line(out, m.partition, m.offset, m.timestamp, m.key, m.value, m.headers)
                got += 1
        if got >= expect and reached_at is None:
            reached_at = time.time()
    return got


def assign(consumer, job, parts):
    tps = [TopicPartition(job["topic"], p) for p in parts]
    consumer.assign(tps)
    return tps


def op_consume(job):
    consumer = make_consumer(job)
    parts = job.get("partition_list") or list(range(job["partitions"]))
    tps = assign(consumer, job, parts)
    start = job.get("start", "earliest")
    if start == "earliest":
        consumer.seek_to_beginning(*tps)
    elif start == "latest":
        consumer.seek_to_end(*tps)
    else:
        for tp in tps:
            consumer.seek(tp, int(start[str(tp.partition)]))
    try:
        with open(job["out"], "w") as out:
            got = drain(consumer, job, out, job["expect"])
    finally:
        consumer.close()
    return {"consumed": got}


def op_consume_latest(job):
    consumer = make_consumer(job)
    tps = assign(consumer, job, list(range(job["partitions"])))
    consumer.seek_to_end(*tps)
    # position() resolves the pending seek with a ListOffsets request.
    positioned = {str(tp.partition): consumer.position(tp) for tp in tps}
    fresh = op_produce({**job, "count": job["fresh"], "start": 0, "config": job.get("producer_config", {})})
    try:
        with open(job["out"], "w") as out:
            got = drain(consumer, job, out, job["fresh"])
    finally:
        consumer.close()
    return {"consumed": got, "positions": positioned, "produced": fresh}


def offsets_for_times(consumer, job):
    tps = [TopicPartition(job["topic"], p) for p in range(job["partitions"])]
    found = consumer.offsets_for_times({tp: job["timestamp"] for tp in tps})
    # No record at or after the timestamp: None here, -1 (OFFSET_END) in librdkafka's answer.
    return {str(tp.partition): (-1 if oat is None else oat.offset) for tp, oat in found.items()}


def op_offsets_for_times(job):
    consumer = make_consumer(job)
    try:
        return {"offsets": offsets_for_times(consumer, job)}
    finally:
        consumer.close()


def op_seek_timestamp(job):
    consumer = make_consumer(job)
    tps = assign(consumer, job, list(range(job["partitions"])))
    offsets = offsets_for_times(consumer, job)
    for tp in tps:
        off = offsets[str(tp.partition)]
        if off >= 0:
            consumer.seek(tp, off)
        else:
            consumer.seek_to_end(tp)
    try:
        with open(job["out"], "w") as out:
            got = drain(consumer, job, out, job["expect"])
    finally:
        consumer.close()
    return {"consumed": got, "offsets": offsets}


def op_watermarks(job):
    consumer = make_consumer(job)
    try:
        tps = [TopicPartition(job["topic"], p) for p in range(job["partitions"])]
        low = consumer.beginning_offsets(tps)
        high = consumer.end_offsets(tps)
        return {"watermarks": {str(tp.partition): [low[tp], high[tp]] for tp in tps}}
    finally:
        consumer.close()


def resource(job):
    kind = ConfigResourceType.TOPIC if job["resource"] == "topic" else ConfigResourceType.BROKER
    return ConfigResource(kind, job["name"], configs=job.get("set"))


def op_describe_configs(job):
    admin = KafkaAdminClient(**base_conf(job))
    try:
        out = {}
        for resp in admin.describe_configs([resource(job)]):
            for res in resp.resources:
                err_code, err_msg = res[0], res[1]
                if err_code != 0:
                    raise RuntimeError(f"describe_configs error {err_code}: {err_msg}")
                for entry in res[4]:
                    # DescribeConfigs v0 entries: name, value, read_only, is_default, is_sensitive;
                    # v1+ carry config_source and synonyms instead of is_default.
                    name, value, read_only = entry[0], entry[1], entry[2]
                    if len(entry) >= 6:
                        out[name] = {"value": value, "read_only": read_only, "source": entry[3], "sensitive": entry[4]}
                    else:
                        out[name] = {"value": value, "read_only": read_only, "default": entry[3], "sensitive": entry[4]}
        return {"configs": out}
    finally:
        admin.close()


def op_alter_configs(job):
    admin = KafkaAdminClient(**base_conf(job))
    try:
        resp = admin.alter_configs([resource(job)])
        errors = [list(r[:2]) for r in resp.resources if r[0] != 0]
        if errors:
            raise RuntimeError(f"alter_configs errors: {errors}")
        return {"altered": True}
    finally:
        admin.close()


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
