"""kafka-python (pure Python; Debian's python3-kafka 2.0.2) creates a
6-partition topic, produces 100,000 keyed records with per-record headers
and timestamps (acks=all) with one compression codec (--codec; snappy, lz4
and zstd need python3-snappy, python3-lz4 and python3-zstandard), and
consumes them back with assigned partitions (no consumer group);
acceptance.verify checks them (exactly once, on the Java-compatible murmur2
partition, in order, headers and timestamps exact). The partition each send
reported must match too.

kafka-python 2.0.2 has no idempotent producer, so:
--restart: the default flush policy and a clean restart: every record of the
first half acknowledged, the broker restarted (SIGTERM), the same producer
sends the second half; every record reads back exactly once (nothing was in
flight at the restart, so even without idempotence nothing may repeat).
--kill: a flush.messages=1 topic, one request in flight, retries; the broker
is killed (kill -9) and restarted after a fifth of the records were
acknowledged: acceptance.verify_at_least_once (every acknowledged record at
least once, first copies in order; a retried request may have been written
before the kill), and each acknowledgement names a partition and offset
holding a copy of its record.
--bad-input: the broker without auto-creation; between the halves the same
producer sends a record over a small topic's max.message.bytes
(MessageSizeTooLargeError, code 10) and one to a missing topic (kafka-python
only waits for metadata that never names the topic: KafkaTimeoutError, after
logging the broker's UNKNOWN_TOPIC_OR_PARTITION; so a Produce request built
with kafka-python's own protocol classes must get UnknownTopicOrPartitionError,
code 3), and a raw socket sends a corrupt batch (acceptance.send_bad_batches).
"""

import logging
import time

from kafka import KafkaClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as kafka_errors
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.protocol.produce import ProduceRequest
from kafka.record.memory_records import MemoryRecordsBuilder

import acceptance
import harness

TIMEOUT_MS = 60_000
CONSUME_TIMEOUT_S = 240
PRODUCE_TIMEOUT_S = 240
POLL_RECORDS_MAX = 5000
# Through a broker restart: retries, a short backoff and reconnection.
RETRIES = 30
RETRY_BACKOFF_MS = 300
BAD_INPUT_BLOCK_MS = 5000  # how long a send waits for the missing topic's metadata
REQUEST_TIMEOUT_S = 30


def headers_of(i, tag):
    return [(k, v.encode()) for k, v in acceptance.headers_of(i, tag)]


def create_topics(endpoint, topics):
    """topics: {name: (partitions, config)}."""
    admin = KafkaAdminClient(bootstrap_servers=endpoint.bootstrap, client_id="runnel-e2e",
                             request_timeout_ms=30000, api_version_auto_timeout_ms=10000)
    try:
        admin.create_topics([NewTopic(name, partitions, 1, topic_configs=config)
                             for name, (partitions, config) in topics.items()], timeout_ms=30000)
    finally:
        admin.close()


def make_producer(endpoint, args):
    settings = dict(bootstrap_servers=endpoint.bootstrap, client_id="runnel-e2e", acks="all",
                    compression_type=None if args.codec == "none" else args.codec,
                    linger_ms=5, request_timeout_ms=30000, api_version_auto_timeout_ms=10000,
                    max_block_ms=BAD_INPUT_BLOCK_MS if args.bad_input else TIMEOUT_MS)
    if args.restart or args.kill:
        settings.update(retries=RETRIES, retry_backoff_ms=RETRY_BACKOFF_MS, reconnect_backoff_max_ms=1000)
    if args.kill:
        # Retries keep the produce order only with one request in flight.
        settings.update(max_in_flight_requests_per_connection=1)
    return KafkaProducer(**settings)


class Sends:
    """The futures of the records sent, and which were acknowledged so far."""

    def __init__(self, producer, topic, tag, deadline):
        self.producer = producer
        self.topic = topic
        self.tag = tag
        self.deadline = deadline
        self.futures = {}
        self.acknowledged = set()  # filled by the producer's I/O thread

    def send(self, start, end, window=None, on_progress=None):
        """Sends [start, end); with a window, waits while more than that many are unacknowledged."""
        for i in range(start, end):
            future = self.producer.send(self.topic, key=acceptance.key_of(i).encode(),
                                        value=acceptance.value_of(i, self.tag).encode(), headers=headers_of(i, self.tag),
                                        timestamp_ms=acceptance.TIMESTAMP_BASE_MS + i)
            future.add_callback(lambda _, i=i: self.acknowledged.add(i))
            self.futures[i] = future
            while window is not None and i + 1 - len(self.acknowledged) > window:
                assert time.monotonic() < self.deadline, f"{len(self.acknowledged)} acknowledged at the deadline"
                if on_progress is not None:
                    on_progress()
                time.sleep(0.005)
            if on_progress is not None:
                on_progress()

    def flush(self):
        self.producer.flush(timeout=max(1, self.deadline - time.monotonic()))

    def outcomes(self):
        """{index: RecordMetadata or the exception the send failed with}."""
        out = {}
        for i, future in self.futures.items():
            assert future.is_done, f"record {i}: send not finished after flush"
            out[i] = future.value if future.succeeded() else future.exception
        return out


def produce(broker, topic, args, tag):
    """Sends every record, with the restart, kill or bad input of the mode;
    returns {index: RecordMetadata or exception}."""
    producer = make_producer(broker.endpoint, args)
    print("kafka-python: inferred broker version", producer.config["api_version"])
    try:
        sends = Sends(producer, topic, tag, time.monotonic() + PRODUCE_TIMEOUT_S)
        half = args.records // 2
        if args.kill:
            killed = []

            def kill():
                if not killed and len(sends.acknowledged) >= acceptance.acks_before_break(args):
                    killed.append(len(sends.acknowledged))
                    print(f"restarting the broker (kill -9) after {killed[0]} acknowledged records")
                    broker.restart(hard=True)

            sends.send(0, args.records, window=acceptance.acks_before_break(args), on_progress=kill)
            sends.flush()
            assert killed, "the broker was never killed"
        else:
            sends.send(0, half)
            sends.flush()
            if args.restart:
                assert len(sends.acknowledged) == half, f"{len(sends.acknowledged)} of {half} acknowledged"
                print(f"restarting the broker (SIGTERM) after {half} acknowledged records")
                broker.restart()
            elif args.bad_input:
                bad_input(broker.endpoint, producer, topic)
            sends.send(half, args.records)
            sends.flush()
        return sends.outcomes()
    finally:
        producer.close(timeout=10)


def bad_input(endpoint, producer, topic):
    """Between the halves: an oversized record and a missing topic through the
    same producer, a Produce to the missing topic through kafka-python's
    protocol classes, then raw bad batches."""
    try:
        producer.send(acceptance.small_topic(topic), key=b"big", value=acceptance.OVERSIZED_VALUE.encode()).get(
            timeout=REQUEST_TIMEOUT_S)
        raise AssertionError("a record over max.message.bytes was accepted")
    except kafka_errors.MessageSizeTooLargeError as e:
        assert e.errno == acceptance.MESSAGE_TOO_LARGE, e
    missing = acceptance.missing_topic(topic)
    seen = MetadataErrors(missing)
    logging.getLogger("kafka.cluster").addHandler(seen)
    try:
        producer.send(missing, key=b"lost", value=b"to a missing topic").get(timeout=REQUEST_TIMEOUT_S)
        raise AssertionError(f"a record to the missing topic {missing} was accepted")
    except kafka_errors.KafkaTimeoutError:
        pass  # kafka-python waits max_block_ms for metadata naming the topic
    finally:
        logging.getLogger("kafka.cluster").removeHandler(seen)
    assert seen.count > 0, "kafka-python never logged the broker's UNKNOWN_TOPIC_OR_PARTITION for the missing topic"
    error = produce_request_error(endpoint, missing)
    assert error is kafka_errors.UnknownTopicOrPartitionError, error
    print("kafka-python: oversized record MessageSizeTooLargeError, missing topic KafkaTimeoutError after "
          "UNKNOWN_TOPIC_OR_PARTITION in metadata; its own Produce request UnknownTopicOrPartitionError")
    acceptance.send_bad_batches(endpoint, topic)
    acceptance.assert_empty(endpoint, acceptance.small_topic(topic))


class MetadataErrors(logging.Handler):
    """Counts kafka-python's log lines saying that the metadata did not have the topic."""

    def __init__(self, topic):
        super().__init__(logging.ERROR)
        self.topic = topic
        self.count = 0

    def emit(self, record):
        if "not found in cluster metadata" in record.getMessage() and self.topic in record.getMessage():
            self.count += 1


def produce_request_error(endpoint, topic):
    """The error class of a Produce (v3, acks=all) of one record to topic's
    partition 0, encoded and sent by kafka-python's own client classes."""
    client = KafkaClient(bootstrap_servers=endpoint.bootstrap, client_id="runnel-e2e-protocol",
                         api_version_auto_timeout_ms=10000, request_timeout_ms=REQUEST_TIMEOUT_S * 1000)
    try:
        deadline = time.monotonic() + REQUEST_TIMEOUT_S
        node = client.least_loaded_node()
        while not client.ready(node):
            assert time.monotonic() < deadline, f"kafka-python's client did not connect to {node}"
            client.poll(timeout_ms=100)
        builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
        builder.append(timestamp=int(time.time() * 1000), key=b"lost", value=b"to a missing topic", headers=[])
        builder.close()
        request = ProduceRequest[3](transactional_id=None, required_acks=-1, timeout=10000,
                                    topics=[(topic, [(0, builder.buffer())])])
        future = client.send(node, request)
        while not future.is_done:
            assert time.monotonic() < deadline, "no answer to the Produce request"
            client.poll(timeout_ms=100, future=future)
        assert future.succeeded(), future.exception
        [(name, [(partition, code, *_)])] = future.value.topics
        assert (name, partition) == (topic, 0), future.value
        return kafka_errors.for_code(code)
    finally:
        client.close()


def consume(endpoint, topic, expected_count=None):
    consumer = KafkaConsumer(bootstrap_servers=endpoint.bootstrap, client_id="runnel-e2e", group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest", check_crcs=True,
                             request_timeout_ms=30000, api_version_auto_timeout_ms=10000,
                             max_poll_records=POLL_RECORDS_MAX)
    try:
        partitions = [TopicPartition(topic, p) for p in range(acceptance.PARTITIONS)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        if expected_count is not None:
            assert sum(end.values()) == expected_count, f"end offsets {end} do not add up to {expected_count}"
        expected_count = sum(end.values())
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


def check_acknowledgements(outcomes, consumed, tag, exactly_once):
    """Every send reported the murmur2 partition, and a partition and offset
    holding its record; with exactly_once, every send succeeded."""
    failed = {i: e for i, e in outcomes.items() if isinstance(e, Exception)}
    if exactly_once:
        assert not failed, f"{len(failed)} sends failed: {list(failed.items())[:5]}"
    elif failed:
        print(f"{len(failed)} sends failed (not acknowledged), e.g. {list(failed.items())[:3]}")
    reported = {i: m for i, m in outcomes.items() if i not in failed}
    wrong = [(i, m.partition) for i, m in reported.items()
             if m.partition != acceptance.murmur2_partition(acceptance.key_of(i))]
    assert not wrong, f"kafka-python's partitioner disagrees with murmur2 for {len(wrong)} records: {wrong[:10]}"
    where = {}
    for c in consumed:
        where.setdefault(acceptance.index_of(c.value, tag), set()).add((c.partition, c.offset))
    moved = [(i, (m.partition, m.offset), where.get(i)) for i, m in reported.items()
             if (m.partition, m.offset) not in where.get(i, ())]
    assert not moved, f"sends reported other partitions/offsets than consume found: {moved[:10]}"
    return set(reported)


def main():
    args, rest = acceptance.parse_args(__doc__)
    tag = f"kp-{args.codec}"
    topic = acceptance.run_name("kafka-python", args)

    def kafka_python_produce_consume(broker):
        endpoint = broker.endpoint
        acceptance.require_apis(endpoint)
        topics = {topic: (acceptance.PARTITIONS, acceptance.topic_config(args))}
        if args.bad_input:
            topics[acceptance.small_topic(topic)] = (1, acceptance.SMALL_TOPIC_CONFIG)
        create_topics(endpoint, topics)
        begin = time.monotonic()
        outcomes = produce(broker, topic, args, tag)
        produced_s = time.monotonic() - begin
        acceptance.check_topic_configs(broker.endpoint, topic, args)
        begin = time.monotonic()
        consumed = consume(broker.endpoint, topic, None if args.kill else args.records)
        print(f"kafka-python {args.codec} {acceptance.mode_name(args)}: produced {args.records} in {produced_s:.1f} s, "
              f"consumed {len(consumed)} in {time.monotonic() - begin:.1f} s")
        partition_of = acceptance.murmur2_partition

        def headers(i):
            return acceptance.headers_of(i, tag)

        def timestamp_ok(i, c):
            return c.timestamp_type == "CreateTime" and c.timestamp == acceptance.TIMESTAMP_BASE_MS + i

        if args.kill:
            acknowledged = check_acknowledgements(outcomes, consumed, tag, exactly_once=False)
            acceptance.verify_at_least_once(consumed, acknowledged, args.records, tag, partition_of, headers,
                                            timestamp_ok)
        else:
            acceptance.verify(consumed, args.records, tag, partition_of, headers, timestamp_ok)
            check_acknowledgements(outcomes, consumed, tag, exactly_once=True)

    kafka_python_produce_consume.__name__ = acceptance.run_name("kafka_python_produce_consume", args).replace("-", "_")
    harness.run_broker_test(kafka_python_produce_consume, argv=rest, description=__doc__,
                            overrides=acceptance.broker_overrides(args))


if __name__ == "__main__":
    main()
