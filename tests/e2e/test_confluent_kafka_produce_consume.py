"""confluent-kafka (Python over librdkafka; Debian's python3-confluent-kafka)
creates a 6-partition topic, produces 100,000 keyed records with per-record
headers and timestamps (acks=all) with one compression codec (--codec), and
reads them back with an assigned Consumer (assign, never subscribe: the
group.id that confluent-kafka insists on is never used to join or commit);
acceptance.verify checks them (exactly once, on librdkafka's consistent_random
(CRC-32) partition, in order, headers and timestamps exact). The partition
and offset of every delivery report must be where the record was read.

--restart: the idempotent producer (enable.idempotence=true) with the broker
restarted (SIGTERM) after a fifth of the records were acknowledged: no
duplicates, no gaps.
--kill: the same with a flush.messages=1 topic and kill -9: every
acknowledged record (all of them, in the end) is read back exactly once.
--bad-input: the broker without auto-creation; after the first half of the
records, the same producer sends a record over a small topic's
max.message.bytes (MSG_SIZE_TOO_LARGE, code 10) and one to a missing topic
(UNKNOWN_TOPIC_OR_PART, code 3, or librdkafka's _UNKNOWN_TOPIC), a raw socket
sends a corrupt batch (acceptance.send_bad_batches), and then the producer
sends the second half: everything reads back as without the bad input.
"""

import time

from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME, Consumer, KafkaError, Producer, \
    TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import acceptance
import harness

PRODUCE_TIMEOUT_S = 240
CONSUME_TIMEOUT_S = 240
ADMIN_TIMEOUT_S = 60
QUEUED_MAX = 20_000  # records handed to librdkafka and not yet acknowledged
CONSUME_BATCH = 5_000
BAD_INPUT_TIMEOUT_S = 30
# librdkafka's codes for a missing topic: the broker's, or its own after
# topic.metadata.propagation.max.ms.
MISSING_TOPIC_CODES = (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC)


def create_topics(endpoint, topics):
    """topics: {name: (partitions, config)}."""
    admin = AdminClient({"bootstrap.servers": endpoint.bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1, config=config)
                                   for name, (partitions, config) in topics.items()], operation_timeout=30)
    for future in futures.values():
        future.result(timeout=ADMIN_TIMEOUT_S)


class Deliveries:
    """Delivery reports of the records made by acceptance.value_of."""

    def __init__(self, tag):
        self.tag = tag
        self.acknowledged = {}  # index -> (partition, offset)
        self.failures = []

    def report(self, err, msg):
        i = acceptance.index_of(msg.value().decode(), self.tag)
        if err is not None:
            self.failures.append((i, err))
        else:
            self.acknowledged[i] = (msg.partition(), msg.offset())


def producer_config(endpoint, args):
    idempotent = args.restart or args.kill
    config = {"bootstrap.servers": endpoint.bootstrap, "acks": "all", "compression.type": args.codec,
              "linger.ms": 5, "enable.idempotence": idempotent, "message.timeout.ms": 120_000,
              # Back soon after a restart (the default backoff grows to 10 s).
              "reconnect.backoff.max.ms": 1000}
    if args.bad_input:
        config["topic.metadata.propagation.max.ms"] = 1000  # report the missing topic within a second
    return config


class Stream:
    """Produces records [start, end) through one producer, bounded in time and
    in records queued; `on_progress()` is called as acknowledgements come in."""

    def __init__(self, producer, topic, tag, deliveries, deadline, queued_max=QUEUED_MAX):
        self.producer = producer
        self.queued_max = queued_max
        self.topic = topic
        self.tag = tag
        self.deliveries = deliveries
        self.deadline = deadline

    def _check_deadline(self, what):
        assert time.monotonic() < self.deadline, (
            f"{what} not done within {PRODUCE_TIMEOUT_S} s: {len(self.deliveries.acknowledged)} acknowledged")

    def send(self, start, end, on_progress=None):
        for i in range(start, end):
            while True:
                try:
                    self.producer.produce(self.topic, key=acceptance.key_of(i), value=acceptance.value_of(i, self.tag),
                                          headers=acceptance.headers_of(i, self.tag),
                                          timestamp=acceptance.TIMESTAMP_BASE_MS + i,
                                          on_delivery=self.deliveries.report)
                    break
                except BufferError:  # librdkafka's queue is full
                    self.producer.poll(0.05)
                    self._check_deadline("producing")
            self.producer.poll(0)
            while len(self.producer) > self.queued_max:
                self.producer.poll(0.05)
                self._check_deadline("producing")
                if on_progress is not None:
                    on_progress()
            if on_progress is not None:
                on_progress()

    def flush(self):
        while len(self.producer) > 0:
            self.producer.poll(0.1)
            self._check_deadline("flushing")


def produce(broker, args, topic, tag):
    """Produces every record (with the restart, kill or bad input of the mode); returns the Deliveries."""
    deliveries = Deliveries(tag)
    producer = Producer(producer_config(broker.endpoint, args))
    # Few enough records queued that the restart comes while records are still to be sent.
    queued_max = min(QUEUED_MAX, acceptance.acks_before_break(args))
    stream = Stream(producer, topic, tag, deliveries, time.monotonic() + PRODUCE_TIMEOUT_S, queued_max)
    broken = []

    def break_broker():
        if not broken and len(deliveries.acknowledged) >= acceptance.acks_before_break(args):
            broken.append(len(deliveries.acknowledged))
            how = "kill -9" if args.kill else "SIGTERM"
            print(f"restarting the broker ({how}) after {broken[0]} acknowledged records, "
                  f"{len(producer)} queued or in flight")
            broker.restart(hard=args.kill)

    if args.bad_input:
        half = args.records // 2
        stream.send(0, half)
        stream.flush()
        bad_input(broker.endpoint, producer, topic)
        stream.send(half, args.records)
    else:
        stream.send(0, args.records, on_progress=break_broker if args.restart or args.kill else None)
    stream.flush()
    assert not deliveries.failures, f"{len(deliveries.failures)} deliveries failed: {deliveries.failures[:5]}"
    assert len(deliveries.acknowledged) == args.records, (len(deliveries.acknowledged), args.records)
    assert broken or not (args.restart or args.kill), "the broker was never restarted"
    return deliveries


def bad_input(endpoint, producer, topic):
    """Between the halves: an oversized record and a missing topic through the
    client's producer, then bad batches from a raw socket."""
    reports = {}

    def keep(name):
        return lambda err, msg: reports.__setitem__(name, err)

    producer.produce(acceptance.small_topic(topic), key="big", value=acceptance.OVERSIZED_VALUE,
                     on_delivery=keep("oversized"))
    producer.produce(acceptance.missing_topic(topic), key="lost", value="to a missing topic",
                     on_delivery=keep("missing"))
    deadline = time.monotonic() + BAD_INPUT_TIMEOUT_S
    while len(reports) < 2 and time.monotonic() < deadline:
        producer.poll(0.1)
    assert len(reports) == 2, f"delivery reports within {BAD_INPUT_TIMEOUT_S} s: {reports}"
    oversized, missing = reports["oversized"], reports["missing"]
    assert oversized is not None and oversized.code() == KafkaError.MSG_SIZE_TOO_LARGE, oversized
    assert oversized.code() == acceptance.MESSAGE_TOO_LARGE
    assert missing is not None and missing.code() in MISSING_TOPIC_CODES, missing
    print(f"confluent-kafka: oversized record {oversized.name()}, missing topic {missing.name()}")
    acceptance.send_bad_batches(endpoint, topic)
    acceptance.assert_empty(endpoint, acceptance.small_topic(topic))


def consume(endpoint, topic):
    consumer = Consumer({"bootstrap.servers": endpoint.bootstrap, "group.id": f"runnel-e2e-{topic}",
                         "enable.auto.commit": False, "enable.auto.offset.store": False, "check.crcs": True,
                         "auto.offset.reset": "error"})
    try:
        high = {}
        for p in range(acceptance.PARTITIONS):
            low, high[p] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            assert low == 0, f"partition {p}: log start offset {low}"
        consumer.assign([TopicPartition(topic, p, 0) for p in range(acceptance.PARTITIONS) if high[p] > 0])
        position = {p: 0 for p in high}
        consumed = []
        deadline = time.monotonic() + CONSUME_TIMEOUT_S
        while any(position[p] < high[p] for p in high):
            assert time.monotonic() < deadline, (
                f"read {len(consumed)} of {sum(high.values())} within {CONSUME_TIMEOUT_S} s; at {position}, to {high}")
            for m in consumer.consume(num_messages=CONSUME_BATCH, timeout=1.0):
                if m.error():
                    raise AssertionError(f"consume error: {m.error()}")
                kind, ts = m.timestamp()
                assert kind in (TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME), m.timestamp()
                headers = [(k, None if v is None else v.decode()) for k, v in (m.headers() or [])]
                consumed.append(acceptance.Consumed(m.partition(), m.offset(), m.key().decode(), m.value().decode(),
                                                    headers, ts,
                                                    "CreateTime" if kind == TIMESTAMP_CREATE_TIME else "LogAppendTime"))
                position[m.partition()] = m.offset() + 1
        return consumed
    finally:
        consumer.close()


def main():
    args, rest = acceptance.parse_args(__doc__)
    tag = f"ck-{args.codec}"
    topic = acceptance.run_name("confluent-kafka", args)

    def check(broker):
        endpoint = broker.endpoint
        acceptance.require_apis(endpoint)
        topics = {topic: (acceptance.PARTITIONS, acceptance.topic_config(args))}
        if args.bad_input:
            topics[acceptance.small_topic(topic)] = (1, acceptance.SMALL_TOPIC_CONFIG)
        create_topics(endpoint, topics)
        begin = time.monotonic()
        deliveries = produce(broker, args, topic, tag)
        produced_s = time.monotonic() - begin
        acceptance.check_topic_configs(broker.endpoint, topic, args)
        wrong = [(i, p) for i, (p, _) in deliveries.acknowledged.items()
                 if p != acceptance.crc32_partition(acceptance.key_of(i))]
        assert not wrong, f"librdkafka's partitioner disagrees with CRC-32 for {len(wrong)} records: {wrong[:10]}"
        begin = time.monotonic()
        consumed = consume(broker.endpoint, topic)
        print(f"confluent-kafka {args.codec} {acceptance.mode_name(args)}: produced {args.records} in "
              f"{produced_s:.1f} s, consumed {len(consumed)} in {time.monotonic() - begin:.1f} s")
        acceptance.verify(consumed, args.records, tag, acceptance.crc32_partition,
                          lambda i: acceptance.headers_of(i, tag),
                          lambda i, c: c.timestamp_type == "CreateTime"
                          and c.timestamp == acceptance.TIMESTAMP_BASE_MS + i)
        where = {acceptance.index_of(c.value, tag): (c.partition, c.offset) for c in consumed}
        moved = [(i, at, where[i]) for i, at in deliveries.acknowledged.items() if where[i] != at]
        assert not moved, f"delivery reports name other partitions/offsets than consume found: {moved[:10]}"

    check.__name__ = acceptance.run_name("confluent_kafka_produce_consume", args).replace("-", "_")
    harness.run_broker_test(check, argv=rest, description=__doc__, overrides=acceptance.broker_overrides(args))


if __name__ == "__main__":
    main()
