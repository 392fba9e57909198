"""kafka-python (pure Python; Debian's python3-kafka 2.0.2) creates a
6-partition topic, produces 100,000 keyed records with per-record headers
and timestamps (acks=all) with one compression codec (--codec; snappy, lz4
and zstd need python3-snappy, python3-lz4 and python3-zstandard), and
consumes them back with assigned partitions (no consumer group);
acceptance.verify checks them (exactly once, on the Java-compatible murmur2
partition, in order, headers and timestamps exact). The partition each send
reported must match too.

kafka-python 2.0.2 has no idempotent producer, so this client has no
restart test.
"""

import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

import acceptance
import harness

TIMEOUT_MS = 60_000
CONSUME_TIMEOUT_S = 240
POLL_RECORDS_MAX = 5000


def headers_of(i, tag):
    return [(k, v.encode()) for k, v in acceptance.headers_of(i, tag)]


def create_topic(endpoint, topic):
    admin = KafkaAdminClient(bootstrap_servers=endpoint.bootstrap, client_id="runnel-e2e",
                             request_timeout_ms=30000, api_version_auto_timeout_ms=10000)
    try:
        admin.create_topics([NewTopic(topic, acceptance.PARTITIONS, 1)], timeout_ms=30000)
    finally:
        admin.close()


def produce(endpoint, topic, args, tag):
    producer = KafkaProducer(bootstrap_servers=endpoint.bootstrap, client_id="runnel-e2e", acks="all",
                             compression_type=None if args.codec == "none" else args.codec,
                             linger_ms=5, request_timeout_ms=30000, api_version_auto_timeout_ms=10000,
                             max_block_ms=TIMEOUT_MS)
    print("kafka-python: inferred broker version", producer.config["api_version"])
    try:
        futures = []
        for i in range(args.records):
            futures.append(producer.send(topic, key=acceptance.key_of(i).encode(),
                                         value=acceptance.value_of(i, tag).encode(), headers=headers_of(i, tag),
                                         timestamp_ms=acceptance.TIMESTAMP_BASE_MS + i))
        producer.flush(timeout=TIMEOUT_MS / 1000)
        reported = [f.get(timeout=1) for f in futures]  # raises the send's error, if any
    finally:
        producer.close(timeout=10)
    wrong = [(i, m.partition) for i, m in enumerate(reported)
             if m.partition != acceptance.murmur2_partition(acceptance.key_of(i))]
    assert not wrong, f"kafka-python's partitioner disagrees with murmur2 for {len(wrong)} records: {wrong[:10]}"
    return {i: (m.partition, m.offset) for i, m in enumerate(reported)}


def consume(endpoint, topic, expected_count):
    consumer = KafkaConsumer(bootstrap_servers=endpoint.bootstrap, client_id="runnel-e2e", group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest", check_crcs=True,
                             request_timeout_ms=30000, api_version_auto_timeout_ms=10000,
                             max_poll_records=POLL_RECORDS_MAX)
    try:
        partitions = [TopicPartition(topic, p) for p in range(acceptance.PARTITIONS)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        assert sum(end.values()) == expected_count, f"end offsets {end} do not add up to {expected_count}"
        consumed = []
        deadline = time.monotonic() + CONSUME_TIMEOUT_S
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            assert time.monotonic() < deadline, f"read {len(consumed)} of {expected_count} within {CONSUME_TIMEOUT_S} s"
            for tp, batch in consumer.poll(timeout_ms=1000).items():
                for m in batch:
                    headers = [(k, v.decode()) for k, v in m.headers]
                    consumed.append(acceptance.Consumed(m.partition, m.offset, m.key.decode(), m.value.decode(),
                                                        headers, m.timestamp,
                                                        "LogAppendTime" if m.timestamp_type == 1 else "CreateTime"))
        return consumed
    finally:
        consumer.close()


def main():
    args, rest = acceptance.parse_args(__doc__)
    assert not args.restart, "kafka-python 2.0.2 has no idempotent producer: no restart test"
    tag = f"kp-{args.codec}"
    topic = f"kafka-python-{args.codec}"

    def kafka_python_produce_consume(endpoint):
        acceptance.require_apis(endpoint)
        create_topic(endpoint, topic)
        begin = time.monotonic()
        reported = produce(endpoint, topic, args, tag)
        produced_s = time.monotonic() - begin
        begin = time.monotonic()
        consumed = consume(endpoint, topic, args.records)
        print(f"kafka-python {args.codec}: produced {args.records} in {produced_s:.1f} s, "
              f"consumed {len(consumed)} in {time.monotonic() - begin:.1f} s")
        acceptance.verify(consumed, args.records, tag, acceptance.murmur2_partition,
                          lambda i: acceptance.headers_of(i, tag),
                          lambda i, c: c.timestamp_type == "CreateTime"
                          and c.timestamp == acceptance.TIMESTAMP_BASE_MS + i)
        where = {acceptance.index_of(c.value, tag): (c.partition, c.offset) for c in consumed}
        wrong = [(i, reported[i], where[i]) for i in reported if reported[i] != where[i]]
        assert not wrong, f"sends reported other partitions/offsets than consume found: {wrong[:10]}"

    kafka_python_produce_consume.__name__ = f"kafka_python_produce_consume_{args.codec}"
    harness.run_test(kafka_python_produce_consume, argv=rest, description=__doc__)


if __name__ == "__main__":
    main()
