"""confluent-kafka (Python on librdkafka) reads the cluster metadata: one
broker, id 1, at the listener's host and port; a non-empty cluster id that is
the same on every call; broker 1 as controller."""

from confluent_kafka.admin import AdminClient

import harness


def confluent_kafka_sees_broker_1(endpoint):
    admin = AdminClient({"bootstrap.servers": endpoint.bootstrap, "socket.timeout.ms": 10000})
    first = admin.list_topics(timeout=10)
    brokers = {b.id: f"{b.host}:{b.port}" for b in first.brokers.values()}
    print("confluent-kafka: brokers", brokers, "cluster_id", first.cluster_id, "controller_id", first.controller_id)
    assert brokers == {endpoint.node_id: endpoint.bootstrap}, brokers
    assert first.orig_broker_id == endpoint.node_id, first.orig_broker_id
    assert isinstance(first.cluster_id, str) and first.cluster_id, repr(first.cluster_id)
    assert first.controller_id == endpoint.node_id, first.controller_id
    for name, topic in first.topics.items():
        assert topic.error is None, (name, topic.error)
    second = admin.list_topics(timeout=10)
    assert second.cluster_id == first.cluster_id, (first.cluster_id, second.cluster_id)


if __name__ == "__main__":
    harness.run_test(confluent_kafka_sees_broker_1, description=__doc__)
