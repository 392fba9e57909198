"""The broker compacts cleanup.policy=compact logs (docs/ARCHITECTURE.md,
"Compaction"), __consumer_offsets included:

  topic        a compacted topic with 1 MiB segments gets 60,000 keyed records
               over 40 keys (the last value of 8 keys a tombstone, with
               delete.retention.ms=0); within a bound the log read from the
               beginning keeps each live key's latest value and far fewer
               records, in offset order, and no key's record appears twice
               below the active segment; a consumer from the beginning sees
               the latest values; after a restart the same
  offsets      a group commits the offsets of 200 partitions 200 times into a
               __consumer_offsets of one partition with 1 MiB segments; that
               partition is compacted (the broker logs it) and after a
               restart the group's committed offsets are the last ones
"""

import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import harness
import raw_kafka

TOPIC = "compacted"
KEYS = 40
TOMBSTONED = 8
RECORDS = 60_000
VALUE_BYTES = 90
COMMITS = 200
WIDE = "wide"
WIDE_PARTITIONS = 200
GROUP = "compaction-group"
BOUND_S = 60

OVERRIDES = ["log.cleaner.backoff.ms=200", "offsets.topic.segment.bytes=1048576", "offsets.topic.num.partitions=1"]


def produce(endpoint):
    admin = AdminClient({"bootstrap.servers": endpoint.bootstrap})
    topic = NewTopic(TOPIC, num_partitions=1, replication_factor=1,
                     config={"cleanup.policy": "compact", "segment.bytes": str(1 << 20),
                             "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "0"})
    for future in admin.create_topics([topic], operation_timeout=20).values():
        future.result(timeout=30)
    producer = Producer({"bootstrap.servers": endpoint.bootstrap, "linger.ms": 5, "acks": "all"})
    latest = {}
    for i in range(RECORDS):
        key = f"key-{i % KEYS}"
        value = f"{i:08d}-".encode() + b"v" * (VALUE_BYTES - 9)
        if i >= RECORDS - KEYS and i % KEYS < TOMBSTONED:
            value = None
        producer.produce(TOPIC, key=key.encode(), value=value)
        latest[key] = value
        if i % 10_000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0, "records not delivered"
    return latest


def read_log(endpoint):
    """(offset, key, value) of every record from the log start, raw Fetch."""
    conn = raw_kafka.Connection(endpoint.host, endpoint.port)
    out = []
    offset = 0
    try:
        for _ in range(10_000):
            answer = conn.fetch([(TOPIC, 0, offset, 1 << 20)], max_wait_ms=0)
            p = answer["partitions"][(TOPIC, 0)]
            assert p["error"] == 0, p
            records = raw_kafka.records_of(p["records"])
            out.extend(records)
            if records:
                offset = records[-1][0] + 1
            if not records or offset >= p["high_watermark"]:
                break
    finally:
        conn.close()
    return out


def compacted_enough(records):
    return len(records) < RECORDS // 2


def check_log(records, latest):
    offsets = [r[0] for r in records]
    assert offsets == sorted(set(offsets)), "offsets out of order or repeated"
    last = {}
    for _offset, key, value in records:
        last[key.decode()] = value
    for key, value in latest.items():
        if value is None:
            assert last.get(key) is None, f"{key}: the tombstone's key still has a value"
        else:
            assert last.get(key) == value, f"{key}: latest value lost ({last.get(key)!r:.20} != {value!r:.20})"


def consume_latest(endpoint):
    consumer = Consumer({"bootstrap.servers": endpoint.bootstrap, "group.id": "compaction-reader",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.assign([TopicPartition(TOPIC, 0, 0)])
    _low, high = consumer.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=10)
    seen = {}
    deadline = time.monotonic() + BOUND_S
    position = 0
    while position < high and time.monotonic() < deadline:
        m = consumer.poll(1.0)
        if m is None:
            continue
        assert m.error() is None, m.error()
        seen[m.key().decode()] = m.value()
        position = m.offset() + 1
    consumer.close()
    assert position >= high, f"consumer stopped at {position} of {high}"
    return seen


def commit_offsets(endpoint):
    admin = AdminClient({"bootstrap.servers": endpoint.bootstrap})
    for future in admin.create_topics([NewTopic(WIDE, num_partitions=WIDE_PARTITIONS, replication_factor=1)],
                                      operation_timeout=20).values():
        future.result(timeout=30)
    consumer = Consumer({"bootstrap.servers": endpoint.bootstrap, "group.id": GROUP, "enable.auto.commit": False})
    for i in range(COMMITS):
        consumer.commit(offsets=[TopicPartition(WIDE, p, i + 1) for p in range(WIDE_PARTITIONS)], asynchronous=False)
    consumer.close()


def committed_offsets(endpoint):
    consumer = Consumer({"bootstrap.servers": endpoint.bootstrap, "group.id": GROUP, "enable.auto.commit": False})
    got = consumer.committed([TopicPartition(WIDE, p) for p in range(WIDE_PARTITIONS)], timeout=20)
    consumer.close()
    return {tp.partition: tp.offset for tp in got}


def wait_for(what, predicate):
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} within {BOUND_S} s")


def check(broker):
    latest = produce(broker.endpoint)
    records = wait_for("the compacted topic was not compacted",
                       lambda: (lambda r: r if compacted_enough(r) else None)(read_log(broker.endpoint)))
    check_log(records, latest)
    seen = consume_latest(broker.endpoint)
    for key, value in latest.items():
        if value is not None:
            assert seen.get(key) == value, f"consumer: {key} does not end at its latest value"
    print(f"topic: {RECORDS} records over {KEYS} keys compacted to {len(records)}")

    commit_offsets(broker.endpoint)
    wait_for("__consumer_offsets was not compacted",
             lambda: "__consumer_offsets-0: compaction rewrote" in broker.log_text())
    broker.restart()
    after = read_log(broker.endpoint)
    check_log(after, latest)
    assert len(after) <= len(records), "the log grew across a restart"
    committed = committed_offsets(broker.endpoint)
    assert committed == {p: COMMITS for p in range(WIDE_PARTITIONS)}, \
        f"the group's last committed offsets were lost: {sorted(set(committed.values()))[:5]}"
    print(f"offsets: {COMMITS} commits of {WIDE_PARTITIONS} partitions, __consumer_offsets compacted, "
          "the last ones read back after a restart")


if __name__ == "__main__":
    harness.run_broker_test(check, description=__doc__, overrides=OVERRIDES)
