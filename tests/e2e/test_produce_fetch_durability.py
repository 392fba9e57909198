"""No acknowledged record is lost: with flush.messages=1 (every append is
fsynced, by group commit, before it is acknowledged) the broker is killed
with kill -9 in the middle of a stream of acks=all writes, restarted, and
every acknowledged record reads back; with the default flush policy a clean
restart (SIGTERM) loses nothing either."""

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import harness

PARTITIONS = 2
KILL_AFTER = 1500  # acknowledged records before kill -9
STREAM_MAX = 20000


def create(endpoint, name, config):
    admin = AdminClient({"bootstrap.servers": endpoint.bootstrap})
    for future in admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1,
                                                config=config)], operation_timeout=30).values():
        future.result(timeout=60)


def read_all(endpoint, topic, at_least, deadline_s=60):
    consumer = Consumer({"bootstrap.servers": endpoint.bootstrap, "group.id": "durability-" + topic,
                         "enable.auto.commit": False, "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    values = []
    eof = set()
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline and (len(values) < at_least or len(eof) < PARTITIONS):
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
            eof.add(msg.partition())
            continue
        eof.discard(msg.partition())
        values.append(int(msg.value()))
    consumer.close()
    return values


def kill_under_flush_messages_1(broker):
    topic = "fsync-every-append"
    create(broker.endpoint, topic, {"flush.messages": "1"})
    producer = Producer({"bootstrap.servers": broker.endpoint.bootstrap, "acks": "all", "linger.ms": 1,
                         "message.timeout.ms": 5000, "retries": 0, "enable.idempotence": False})
    acknowledged = set()

    def report(err, msg):
        if err is None:
            acknowledged.add(int(msg.value()))

    killed = False
    deadline = time.monotonic() + 90
    for i in range(STREAM_MAX):
        if time.monotonic() > deadline:
            break
        producer.produce(topic, value=b"%d" % i, partition=i % PARTITIONS, on_delivery=report)
        producer.poll(0)
        while len(producer) > 200:
            producer.poll(0.01)
        if len(acknowledged) >= KILL_AFTER:
            broker.kill()  # mid-stream: requests are in flight
            killed = True
            break
    assert killed, f"only {len(acknowledged)} acknowledged before the deadline"
    producer.flush(15)  # the rest fail (the broker is gone): they were never acknowledged
    at_kill = set(acknowledged)
    print(f"kill -9 with {len(at_kill)} acknowledged records")
    broker.start()
    values = read_all(broker.endpoint, topic, len(at_kill))
    lost = at_kill - set(values)
    assert not lost, f"{len(lost)} acknowledged records lost, e.g. {sorted(lost)[:5]}"
    assert len(values) == len(set(values)), "duplicates after recovery"


def clean_restart_default_policy(broker):
    topic = "default-flush"
    create(broker.endpoint, topic, {})
    producer = Producer({"bootstrap.servers": broker.endpoint.bootstrap, "acks": "all", "linger.ms": 5})
    count = 3000
    for i in range(count):
        producer.produce(topic, value=b"%d" % i, partition=i % PARTITIONS)
        if i % 500 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0
    broker.restart()
    values = read_all(broker.endpoint, topic, count)
    assert sorted(values) == list(range(count)), (len(values), len(set(values)))


def durability(broker):
    kill_under_flush_messages_1(broker)
    clean_restart_default_policy(broker)


if __name__ == "__main__":
    harness.run_broker_test(durability, description=__doc__)
