"""kafka-python's KafkaAdminClient manages topics and configs: create (with
configs, validate_only, and each error as kafka-python raises it), describe
configs with synonyms (topic and broker), alter configs (topic, and a
per-broker dynamic value), add partitions, delete, describe the cluster;
then a restart (SIGTERM) keeps all of it."""

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka import errors as Errors

import harness

SOURCE_DYNAMIC_TOPIC, SOURCE_DYNAMIC_BROKER, SOURCE_STATIC, SOURCE_DEFAULT = 1, 2, 4, 5


def admin_for(endpoint):
    return KafkaAdminClient(bootstrap_servers=endpoint.bootstrap, client_id="runnel-e2e", request_timeout_ms=30000)


def expect_error(error_type, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except error_type:
        return
    except Exception as e:  # the wrong error is a failure too
        raise AssertionError(f"expected {error_type.__name__}, got {type(e).__name__}: {e}")
    raise AssertionError(f"expected {error_type.__name__}, got success")


def describe(admin, resource_type, name, keys=None):
    """{key: (value, read_only, source, [(synonym, value, source)])} of one resource."""
    # kafka-python takes the keys wanted as the keys of a dict.
    wanted = {k: None for k in keys} if keys else None
    responses = admin.describe_configs([ConfigResource(resource_type, name, configs=wanted)], include_synonyms=True)
    entries = {}
    for response in responses:
        for error_code, error_message, _rtype, rname, configs in response.resources:
            assert error_code == 0, (rname, error_code, error_message)
            for key, value, read_only, source, _sensitive, synonyms in configs:
                entries[key] = (value, read_only, source, [tuple(s) for s in synonyms])
    return entries


def alter(admin, resource_type, name, configs):
    response = admin.alter_configs([ConfigResource(resource_type, name, configs=configs)])
    return [(code, rname) for code, _msg, _rtype, rname in response.resources]


def topic_partitions(admin, name):
    for t in admin.describe_topics([name]):
        if t["topic"] == name:
            return t["error_code"], len(t["partitions"])
    raise AssertionError(f"{name} missing from the answer")


def check_create(admin):
    admin.create_topics([NewTopic("kp-events", 3, 1, topic_configs={"cleanup.policy": "compact",
                                                                     "retention.ms": "86400000"})])
    assert topic_partitions(admin, "kp-events") == (0, 3)
    expect_error(Errors.TopicAlreadyExistsError, admin.create_topics, [NewTopic("kp-events", 1, 1)])
    expect_error(Errors.InvalidReplicationFactorError, admin.create_topics, [NewTopic("kp-rf", 1, 2)])
    expect_error(Errors.InvalidPartitionsError, admin.create_topics, [NewTopic("kp-zero", 0, 1)])
    expect_error(Errors.InvalidTopicError, admin.create_topics, [NewTopic("kp bad", 1, 1)])
    expect_error(Errors.InvalidConfigurationError, admin.create_topics,
                 [NewTopic("kp-conf", 1, 1, topic_configs={"min.insync.replicas": "0"})])
    admin.create_topics([NewTopic("kp-checked", 2, 1)], validate_only=True)
    assert "kp-checked" not in admin.list_topics(), admin.list_topics()
    admin.create_topics([NewTopic("kp-defaults", -1, -1, replica_assignments={0: [1], 1: [1]})])
    assert topic_partitions(admin, "kp-defaults") == (0, 2), "the assignment's partitions"
    expect_error(Errors.InvalidReplicationAssignmentError, admin.create_topics,
                 [NewTopic("kp-elsewhere", -1, -1, replica_assignments={0: [7]})])
    print("kafka-python: create, its errors and validate_only behave")


def check_configs(admin):
    entries = describe(admin, ConfigResourceType.TOPIC, "kp-events")
    value, read_only, source, synonyms = entries["retention.ms"]
    assert (value, read_only, source) == ("86400000", False, SOURCE_DYNAMIC_TOPIC), entries["retention.ms"]
    assert synonyms[0] == ("retention.ms", "86400000", SOURCE_DYNAMIC_TOPIC), synonyms
    value, _, source, synonyms = entries["segment.bytes"]
    assert (value, source) == ("1073741824", SOURCE_STATIC), entries["segment.bytes"]
    assert synonyms == [("log.segment.bytes", "1073741824", SOURCE_STATIC),
                        ("log.segment.bytes", "1073741824", SOURCE_DEFAULT)], synonyms
    only = describe(admin, ConfigResourceType.TOPIC, "kp-events", keys=["cleanup.policy"])
    assert list(only) == ["cleanup.policy"] and only["cleanup.policy"][0] == "compact", only

    assert alter(admin, ConfigResourceType.TOPIC, "kp-events", {"retention.ms": "1000"}) == [(0, "kp-events")]
    entries = describe(admin, ConfigResourceType.TOPIC, "kp-events", keys=["retention.ms", "cleanup.policy"])
    assert entries["retention.ms"][0] == "1000"
    assert entries["cleanup.policy"][0] == "delete" and entries["cleanup.policy"][2] == SOURCE_DEFAULT, entries
    assert alter(admin, ConfigResourceType.TOPIC, "kp-events", {"retention.ms": "-9"}) == \
        [(Errors.InvalidConfigurationError.errno, "kp-events")]
    assert alter(admin, ConfigResourceType.TOPIC, "kp-nope", {"retention.ms": "1"}) == \
        [(Errors.UnknownTopicOrPartitionError.errno, "kp-nope")]

    broker = describe(admin, ConfigResourceType.BROKER, "1")
    assert broker["node.id"][0] == "1" and broker["node.id"][1], broker["node.id"]
    assert broker["log.retention.hours"][2] == SOURCE_STATIC, broker["log.retention.hours"]
    assert alter(admin, ConfigResourceType.BROKER, "1", {"log.retention.bytes": "99999999"}) == [(0, "1")]
    broker = describe(admin, ConfigResourceType.BROKER, "1", keys=["log.retention.bytes"])
    assert broker["log.retention.bytes"][:3] == ("99999999", False, SOURCE_DYNAMIC_BROKER), broker
    topic = describe(admin, ConfigResourceType.TOPIC, "kp-defaults", keys=["retention.bytes"])
    assert topic["retention.bytes"][0] == "99999999", topic
    assert alter(admin, ConfigResourceType.BROKER, "1", {"node.id": "2"}) == \
        [(Errors.InvalidRequestError.errno, "1")], "read-only keys are refused"
    print("kafka-python: describe and alter configs behave")


def check_partitions_delete_cluster(admin, endpoint):
    admin.create_partitions({"kp-events": NewPartitions(5)})
    assert topic_partitions(admin, "kp-events") == (0, 5)
    expect_error(Errors.InvalidPartitionsError, admin.create_partitions, {"kp-events": NewPartitions(2)})
    admin.create_topics([NewTopic("kp-doomed", 2, 1)])
    admin.delete_topics(["kp-doomed"])
    assert "kp-doomed" not in admin.list_topics()
    expect_error(Errors.UnknownTopicOrPartitionError, admin.delete_topics, ["kp-doomed"])
    cluster = admin.describe_cluster()
    assert cluster["controller_id"] == endpoint.node_id, cluster
    assert [(b["node_id"], b["host"], b["port"]) for b in cluster["brokers"]] == \
        [(endpoint.node_id, endpoint.host, endpoint.port)], cluster
    print("kafka-python: create partitions, delete and describe cluster behave")


def topic_admin_with_kafka_python(broker):
    admin = admin_for(broker.endpoint)
    check_create(admin)
    check_configs(admin)
    check_partitions_delete_cluster(admin, broker.endpoint)
    admin.close()
    broker.restart()
    admin = admin_for(broker.endpoint)
    assert topic_partitions(admin, "kp-events") == (0, 5)
    assert "kp-doomed" not in admin.list_topics()
    assert describe(admin, ConfigResourceType.TOPIC, "kp-events", keys=["retention.ms"])["retention.ms"][0] == "1000"
    assert describe(admin, ConfigResourceType.BROKER, "1", keys=["log.retention.bytes"])["log.retention.bytes"][0] == \
        "99999999"
    admin.close()
    print("kafka-python: topics and configs survive a restart")


if __name__ == "__main__":
    harness.run_broker_test(topic_admin_with_kafka_python, description=__doc__)
