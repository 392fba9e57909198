"""kafka-python (pure Python; it probes the broker's API versions with
ApiVersions v0 before anything else) connects an admin client, and
describe_cluster / list_topics report broker 1 at the listener's address."""

from kafka.admin import KafkaAdminClient

import harness


def kafka_python_sees_broker_1(endpoint):
    admin = KafkaAdminClient(bootstrap_servers=endpoint.bootstrap, client_id="runnel-e2e",
                             request_timeout_ms=10000, api_version_auto_timeout_ms=10000)
    try:
        print("kafka-python: inferred broker version", admin.config["api_version"])
        cluster = admin.describe_cluster()
        print("kafka-python: describe_cluster", cluster)
        brokers = [(b["node_id"], b["host"], b["port"]) for b in cluster["brokers"]]
        assert brokers == [(endpoint.node_id, endpoint.host, endpoint.port)], brokers
        assert cluster["controller_id"] == endpoint.node_id, cluster["controller_id"]
        assert cluster["cluster_id"], cluster
        topics = admin.list_topics()
        assert isinstance(topics, list), topics
    finally:
        admin.close()


if __name__ == "__main__":
    harness.run_test(kafka_python_sees_broker_1, description=__doc__)
