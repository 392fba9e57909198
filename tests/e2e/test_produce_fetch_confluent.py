"""confluent-kafka (librdkafka) produces keyed records with headers and
timestamps with acks 0, 1 and all and every compression codec, and reads
them all back: each exactly once, in order within each partition, on the
partition the producer chose, headers and timestamps intact. Also: a
LogAppendTime topic stamps the broker's clock; the watermarks and
offsets_for_times (ListOffsets) agree with what was written; Produce to a
topic that does not exist creates it (auto.create.topics.enable)."""

import time

from confluent_kafka import OFFSET_BEGINNING, TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import harness

PARTITIONS = 3
PER_RUN = 600
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
ACKS = ["0", "1", "all"]
BASE_TS = 1_700_000_000_000


def create_topics(endpoint, names, config=None):
    admin = AdminClient({"bootstrap.servers": endpoint.bootstrap})
    futures = admin.create_topics([NewTopic(n, num_partitions=PARTITIONS, replication_factor=1, config=config or {})
                                   for n in names], operation_timeout=30)
    for future in futures.values():
        future.result(timeout=60)


def produce(endpoint, topic, acks, codec, count):
    """Produces `count` records; returns {id: (partition, key, headers, timestamp)} from the delivery reports
    (for acks=0 the partition comes from the report too: librdkafka assigns it before sending)."""
    producer = Producer({"bootstrap.servers": endpoint.bootstrap, "acks": acks, "compression.type": codec,
                         "linger.ms": 5, "batch.num.messages": 100, "enable.idempotence": False})
    delivered = {}
    failures = []

    def report(err, msg):
        if err is not None:
            failures.append(err)
        else:
            delivered[int(msg.value().split(b":")[1])] = msg.partition()

    sent = {}
    for i in range(count):
        key = b"key-%d" % (i % 37)
        headers = [("n", b"%d" % i), ("codec", codec.encode())]
        ts = BASE_TS + i
        producer.produce(topic, key=key, value=b"value:%d:%s" % (i, b"x" * (i % 50)), headers=headers,
                         timestamp=ts, on_delivery=report)
        sent[i] = (key, headers, ts)
        if i % 200 == 0:
            producer.poll(0)
    left = producer.flush(60)
    assert left == 0, f"{left} records undelivered"
    assert not failures, failures[:3]
    assert len(delivered) == count, (len(delivered), count)
    return {i: (delivered[i],) + sent[i] for i in range(count)}


def consume(endpoint, topic, expected, deadline_s=60):
    consumer = Consumer({"bootstrap.servers": endpoint.bootstrap, "group.id": "check-" + topic,
                         "enable.auto.commit": False, "fetch.wait.max.ms": 100})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    got = []
    deadline = time.monotonic() + deadline_s
    while len(got) < expected and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
            continue
        got.append(msg)
    # Nothing more arrives after the expected count.
    extra_deadline = time.monotonic() + 1.0
    while time.monotonic() < extra_deadline:
        msg = consumer.poll(0.2)
        if msg is not None and not msg.error():
            got.append(msg)
    consumer.close()
    return got


def check_run(endpoint, acks, codec):
    topic = f"pf-{acks}-{codec}"
    sent = produce(endpoint, topic, acks, codec, PER_RUN)
    got = consume(endpoint, topic, PER_RUN)
    ids = [int(m.value().split(b":")[1]) for m in got]
    assert sorted(ids) == list(range(PER_RUN)), f"{topic}: {len(ids)} records, {len(set(ids))} distinct"
    last_offset = {}
    last_id = {}
    for m, i in zip(got, ids):
        partition, key, headers, ts = sent[i]
        assert m.partition() == partition, (topic, i, m.partition(), partition)
        assert m.key() == key, (topic, i, m.key())
        assert m.headers() == headers, (topic, i, m.headers())
        assert m.timestamp() == (TIMESTAMP_CREATE_TIME, ts), (topic, i, m.timestamp())
        assert m.offset() > last_offset.get(m.partition(), -1), (topic, "offsets must rise")
        assert i > last_id.get(m.partition(), -1), (topic, "records out of order in a partition")
        last_offset[m.partition()] = m.offset()
        last_id[m.partition()] = i
    print(f"{topic}: {PER_RUN} records back, exactly once and in order")
    return sent


def watermarks_and_times(endpoint, topic, sent):
    consumer = Consumer({"bootstrap.servers": endpoint.bootstrap, "group.id": "wm"})
    per_partition = {}
    for i, (partition, _, _, ts) in sent.items():
        per_partition.setdefault(partition, []).append((i, ts))
    for p in range(PARTITIONS):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        assert (low, high) == (0, len(per_partition.get(p, []))), (p, low, high)
    # The first record at or after a timestamp, per partition.
    target = BASE_TS + PER_RUN // 2
    found = consumer.offsets_for_times([TopicPartition(topic, p, target) for p in range(PARTITIONS)], timeout=10)
    for tp in found:
        ordered = per_partition.get(tp.partition, [])
        expected = next((n for n, (_, ts) in enumerate(ordered) if ts >= target), -1)
        assert tp.offset == expected, (tp.partition, tp.offset, expected)
    consumer.close()


def log_append_time(endpoint):
    topic = "log-append-time"
    create_topics(endpoint, [topic], {"message.timestamp.type": "LogAppendTime"})
    before = int(time.time() * 1000)
    produce(endpoint, topic, "all", "lz4", 50)
    after = int(time.time() * 1000)
    got = consume(endpoint, topic, 50)
    assert len(got) == 50, len(got)
    for m in got:
        kind, ts = m.timestamp()
        assert kind == TIMESTAMP_LOG_APPEND_TIME and before <= ts <= after, (kind, ts, before, after)


def auto_create_on_produce(endpoint):
    producer = Producer({"bootstrap.servers": endpoint.bootstrap, "acks": "all"})
    errors = []
    producer.produce("made-by-produce", value=b"hello", on_delivery=lambda err, msg: err and errors.append(err))
    assert producer.flush(30) == 0 and not errors, errors
    metadata = AdminClient({"bootstrap.servers": endpoint.bootstrap}).list_topics(timeout=10)
    assert "made-by-produce" in metadata.topics, list(metadata.topics)


def produce_consume_every_codec(endpoint):
    names = [f"pf-{a}-{c}" for a in ACKS for c in CODECS]
    create_topics(endpoint, names)
    last = None
    for acks in ACKS:
        for codec in CODECS:
            last = (f"pf-{acks}-{codec}", check_run(endpoint, acks, codec))
    watermarks_and_times(endpoint, *last)
    log_append_time(endpoint)
    auto_create_on_produce(endpoint)


if __name__ == "__main__":
    harness.run_test(produce_consume_every_codec, description=__doc__)
