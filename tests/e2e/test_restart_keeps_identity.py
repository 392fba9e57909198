"""A broker restarted on the same data directory, after SIGTERM and after
kill -9, comes back as the same node of the same cluster: same node id, same
address, same cluster id (kept in meta.properties)."""

from confluent_kafka.admin import AdminClient

import harness


def identity(endpoint):
    admin = AdminClient({"bootstrap.servers": endpoint.bootstrap, "socket.timeout.ms": 10000})
    metadata = admin.list_topics(timeout=10)
    brokers = {b.id: f"{b.host}:{b.port}" for b in metadata.brokers.values()}
    return metadata.cluster_id, brokers, metadata.controller_id


def restart_keeps_identity(broker):
    first = identity(broker.endpoint)
    print("first start:", first)
    assert first[0], "no cluster id"
    assert first[1] == {broker.endpoint.node_id: broker.endpoint.bootstrap}, first

    broker.restart()
    after_sigterm = identity(broker.endpoint)
    print("after SIGTERM and start:", after_sigterm)
    assert after_sigterm == first, (first, after_sigterm)

    broker.restart(hard=True)
    after_kill = identity(broker.endpoint)
    print("after kill -9 and start:", after_kill)
    assert after_kill == first, (first, after_kill)


if __name__ == "__main__":
    harness.run_broker_test(restart_keeps_identity, description=__doc__)
