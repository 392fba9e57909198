"""confluent-kafka's AdminClient (librdkafka) manages topics and configs:
create (with configs, validate_only, and each error), describe, alter
configs, add partitions, delete; then the broker is restarted (SIGTERM, and
then kill -9) and topics, partition counts and configs are all still there."""

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewPartitions, NewTopic

import harness

TIMEOUT_S = 30


def admin_for(endpoint):
    # A Metadata request for one topic would otherwise auto-create it (as with Kafka).
    return AdminClient({"bootstrap.servers": endpoint.bootstrap, "socket.timeout.ms": 10000,
                        "allow.auto.create.topics": False})


def outcome(future):
    """None on success, else the KafkaError code."""
    try:
        future.result(timeout=TIMEOUT_S)
        return None
    except KafkaException as e:
        return e.args[0].code()


def source_of(entry):
    return ConfigSource(int(getattr(entry.source, "value", entry.source)))


def create(admin, topics, validate_only=False):
    futures = admin.create_topics(topics, validate_only=validate_only, operation_timeout=TIMEOUT_S)
    return {name: outcome(f) for name, f in futures.items()}


def partition_count(admin, topic):
    """The topic's partition count, or UNKNOWN_TOPIC_OR_PART when the full listing lacks it."""
    meta = admin.list_topics(timeout=TIMEOUT_S)
    t = meta.topics.get(topic)
    if t is None:
        return KafkaError.UNKNOWN_TOPIC_OR_PART
    assert t.error is None, (topic, t.error)
    return len(t.partitions)


def topic_configs(admin, topic):
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = admin.describe_configs([resource], request_timeout=TIMEOUT_S)[resource].result(timeout=TIMEOUT_S)
    return entries


def check_create(admin):
    results = create(admin, [NewTopic("cf-orders", num_partitions=6, replication_factor=1,
                                      config={"retention.ms": "3600000", "cleanup.policy": "compact"})])
    assert results == {"cf-orders": None}, results
    assert partition_count(admin, "cf-orders") == 6
    results = create(admin, [
        NewTopic("cf-orders", num_partitions=1, replication_factor=1),
        NewTopic("cf-replicated", num_partitions=1, replication_factor=3),
        NewTopic("cf-config", num_partitions=1, replication_factor=1, config={"retention.ms": "later"}),
        NewTopic("cf-unknown-config", num_partitions=1, replication_factor=1, config={"no.such.key": "1"}),
        NewTopic("cf bad name", num_partitions=1, replication_factor=1),
    ])
    assert results == {
        "cf-orders": KafkaError.TOPIC_ALREADY_EXISTS,
        "cf-replicated": KafkaError.INVALID_REPLICATION_FACTOR,
        "cf-config": KafkaError.INVALID_CONFIG,
        "cf-unknown-config": KafkaError.INVALID_CONFIG,
        "cf bad name": KafkaError.TOPIC_EXCEPTION,
    }, results
    results = create(admin, [NewTopic("cf-checked", num_partitions=3, replication_factor=1)], validate_only=True)
    assert results == {"cf-checked": None}, results
    assert partition_count(admin, "cf-checked") == KafkaError.UNKNOWN_TOPIC_OR_PART
    print("confluent-kafka: create, its errors and validate_only behave")


def check_configs(admin):
    entries = topic_configs(admin, "cf-orders")
    retention = entries["retention.ms"]
    assert retention.value == "3600000", retention
    assert source_of(retention) == ConfigSource.DYNAMIC_TOPIC_CONFIG, retention.source
    assert not retention.is_read_only and not retention.is_default, retention
    assert entries["cleanup.policy"].value == "compact"
    assert entries["max.message.bytes"].is_default, entries["max.message.bytes"]

    # AlterConfigs replaces every override of the topic.
    resource = ConfigResource(ConfigResource.Type.TOPIC, "cf-orders", set_config={"retention.ms": "7200000"})
    assert outcome(admin.alter_configs([resource], request_timeout=TIMEOUT_S)[resource]) is None
    entries = topic_configs(admin, "cf-orders")
    assert entries["retention.ms"].value == "7200000", entries["retention.ms"]
    assert entries["cleanup.policy"].value == "delete", "the override not listed went back to its default"

    bad = ConfigResource(ConfigResource.Type.TOPIC, "cf-orders", set_config={"retention.ms": "x"})
    assert outcome(admin.alter_configs([bad], request_timeout=TIMEOUT_S)[bad]) == KafkaError.INVALID_CONFIG
    missing = ConfigResource(ConfigResource.Type.TOPIC, "cf-missing", set_config={"retention.ms": "1"})
    assert outcome(admin.alter_configs([missing], request_timeout=TIMEOUT_S)[missing]) == \
        KafkaError.UNKNOWN_TOPIC_OR_PART

    broker = ConfigResource(ConfigResource.Type.BROKER, "1")
    entries = admin.describe_configs([broker], request_timeout=TIMEOUT_S)[broker].result(timeout=TIMEOUT_S)
    assert entries["node.id"].value == "1" and entries["node.id"].is_read_only, entries["node.id"]
    assert entries["log.segment.bytes"].value == "1073741824", entries["log.segment.bytes"]
    # A dynamic value for this broker (librdkafka cannot name the cluster-wide default resource "")
    # reaches topics without an override of their own.
    dynamic = ConfigResource(ConfigResource.Type.BROKER, "1", set_config={"log.retention.bytes": "123456789"})
    assert outcome(admin.alter_configs([dynamic], request_timeout=TIMEOUT_S)[dynamic]) is None
    entries = admin.describe_configs([broker], request_timeout=TIMEOUT_S)[broker].result(timeout=TIMEOUT_S)
    assert entries["log.retention.bytes"].value == "123456789", entries["log.retention.bytes"]
    assert source_of(entries["log.retention.bytes"]) == ConfigSource.DYNAMIC_BROKER_CONFIG
    entries = topic_configs(admin, "cf-orders")
    assert entries["retention.bytes"].value == "123456789", entries["retention.bytes"]
    assert source_of(entries["retention.bytes"]) == ConfigSource.DYNAMIC_BROKER_CONFIG
    print("confluent-kafka: describe and alter configs behave")


def check_partitions_and_delete(admin):
    futures = admin.create_partitions([NewPartitions("cf-orders", 8)], operation_timeout=TIMEOUT_S)
    assert outcome(futures["cf-orders"]) is None
    assert partition_count(admin, "cf-orders") == 8
    futures = admin.create_partitions([NewPartitions("cf-orders", 4)], operation_timeout=TIMEOUT_S)
    assert outcome(futures["cf-orders"]) == KafkaError.INVALID_PARTITIONS
    futures = admin.create_partitions([NewPartitions("cf-missing", 4)], operation_timeout=TIMEOUT_S)
    assert outcome(futures["cf-missing"]) == KafkaError.UNKNOWN_TOPIC_OR_PART

    assert create(admin, [NewTopic("cf-doomed", num_partitions=2, replication_factor=1)]) == {"cf-doomed": None}
    futures = admin.delete_topics(["cf-doomed", "cf-never"], operation_timeout=TIMEOUT_S)
    assert outcome(futures["cf-doomed"]) is None
    assert outcome(futures["cf-never"]) == KafkaError.UNKNOWN_TOPIC_OR_PART
    assert partition_count(admin, "cf-doomed") == KafkaError.UNKNOWN_TOPIC_OR_PART
    print("confluent-kafka: create partitions and delete behave")


def check_survives(admin):
    assert partition_count(admin, "cf-orders") == 8
    assert partition_count(admin, "cf-doomed") == KafkaError.UNKNOWN_TOPIC_OR_PART
    entries = topic_configs(admin, "cf-orders")
    assert entries["retention.ms"].value == "7200000", entries["retention.ms"]
    assert entries["retention.bytes"].value == "123456789", entries["retention.bytes"]
    topics = admin.list_topics(timeout=TIMEOUT_S).topics
    assert "cf-orders" in topics and "cf-checked" not in topics, sorted(topics)


def last_open_was(broker, kind):
    """Whether the broker's latest start found the log dir closed cleanly (SIGTERM) or not (kill -9)."""
    opened = [line for line in broker.log_text().splitlines() if "partition logs (after" in line]
    assert opened, "no log dir opening line in the broker's log"
    assert f"after {kind} shutdown" in opened[-1], opened[-1]


def topic_admin_survives_restarts(broker):
    admin = admin_for(broker.endpoint)
    check_create(admin)
    check_configs(admin)
    check_partitions_and_delete(admin)
    broker.restart()
    last_open_was(broker, "a clean")
    check_survives(admin_for(broker.endpoint))
    broker.restart(hard=True)
    last_open_was(broker, "an unclean")
    admin = admin_for(broker.endpoint)
    check_survives(admin)
    # The broker still creates topics after a crash.
    assert create(admin, [NewTopic("cf-after", num_partitions=2, replication_factor=1)]) == {"cf-after": None}
    print("confluent-kafka: topics and configs survive SIGTERM and kill -9 restarts")


if __name__ == "__main__":
    harness.run_broker_test(topic_admin_survives_restarts, description=__doc__)
