"""confluent-kafka's idempotent producer (enable.idempotence=true) keeps
producing while the broker is restarted twice mid-stream, once with SIGTERM
and once with kill -9: every record is acknowledged, and reading back finds
each exactly once (no duplicates from the retries, no gaps) and in order
within each partition."""

import threading
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import harness

TOPIC = "idempotent-restarts"
PARTITIONS = 3
TOTAL = 9000
RESTART_AT = (2500, 5500)  # delivered records before each restart
PRODUCE_DEADLINE_S = 150


def idempotent_restarts(broker):
    endpoint = broker.endpoint
    admin = AdminClient({"bootstrap.servers": endpoint.bootstrap})
    for future in admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=1)],
                                      operation_timeout=30).values():
        future.result(timeout=60)

    producer = Producer({"bootstrap.servers": endpoint.bootstrap, "enable.idempotence": True, "linger.ms": 2,
                         "batch.num.messages": 50, "message.timeout.ms": 120000,
                         "reconnect.backoff.max.ms": 500})
    delivered = {}
    failures = []

    def report(err, msg):
        if err is not None:
            failures.append(str(err))
        else:
            delivered[int(msg.value())] = msg.partition()

    restarts = []
    restarter = None
    deadline = time.monotonic() + PRODUCE_DEADLINE_S
    for i in range(TOTAL):
        producer.produce(TOPIC, key=b"k%d" % (i % 101), value=b"%d" % i, on_delivery=report)
        producer.poll(0)
        if len(restarts) < len(RESTART_AT) and restarter is None and len(delivered) >= RESTART_AT[len(restarts)]:
            hard = len(restarts) == 1
            restarter = threading.Thread(target=broker.restart, kwargs={"hard": hard})
            restarter.start()
            restarts.append(("kill -9" if hard else "SIGTERM", len(delivered)))
            print(f"restarting ({restarts[-1][0]}) after {len(delivered)} deliveries")
        if restarter is not None and not restarter.is_alive():
            restarter.join()
            restarter = None
        while len(producer) > 2000 and time.monotonic() < deadline:
            producer.poll(0.05)
    while len(producer) > 0 and time.monotonic() < deadline:
        producer.poll(0.1)
    if restarter is not None:
        restarter.join(timeout=120)
    assert len(producer) == 0, f"{len(producer)} records still queued at the deadline"
    assert not failures, failures[:5]
    assert len(restarts) == 2, f"only {len(restarts)} restarts happened"
    assert len(delivered) == TOTAL, (len(delivered), TOTAL)

    consumer = Consumer({"bootstrap.servers": endpoint.bootstrap, "group.id": "idem-check",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    got = []
    read_deadline = time.monotonic() + 60
    while len(got) < TOTAL + 10 and time.monotonic() < read_deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            if len(got) >= TOTAL:
                break
            continue
        if msg.error():
            assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
            continue
        got.append((msg.partition(), int(msg.value())))
    consumer.close()
    ids = [i for _, i in got]
    dups = len(ids) - len(set(ids))
    missing = set(range(TOTAL)) - set(ids)
    assert dups == 0, f"{dups} duplicates"
    assert not missing, f"{len(missing)} missing, e.g. {sorted(missing)[:5]}"
    last = {}
    for partition, i in got:
        assert delivered[i] == partition, (i, partition, delivered[i])
        assert i > last.get(partition, -1), f"partition {partition}: {i} after {last[partition]}"
        last[partition] = i
    print(f"{TOTAL} records exactly once through restarts {restarts}")


if __name__ == "__main__":
    harness.run_broker_test(idempotent_restarts, description=__doc__)
