"""Topic and config admin at the protocol level, for the versions and fields
the Python clients here do not send: CreateTopics v7 (topic ids, configs in
the answer), DeleteTopics v6 by topic id, DescribeConfigs v4 (config types,
documentation), IncrementalAlterConfigs v0 and v1 (SET, DELETE, APPEND,
SUBTRACT, validate_only, errors), DescribeCluster v0 and v1, and Metadata
auto-creation, over one TCP connection with raw_kafka's codec."""

import harness
import raw_kafka
from raw_kafka import Writer

TOPIC_RESOURCE = 2
BROKER_RESOURCE = 4
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
ERRORS = {0: "NONE", 3: "UNKNOWN_TOPIC_OR_PARTITION", 17: "INVALID_TOPIC_EXCEPTION", 36: "TOPIC_ALREADY_EXISTS",
          37: "INVALID_PARTITIONS", 38: "INVALID_REPLICATION_FACTOR", 40: "INVALID_CONFIG", 42: "INVALID_REQUEST",
          100: "UNKNOWN_TOPIC_ID", 115: "UNSUPPORTED_ENDPOINT_TYPE"}
SOURCE_DYNAMIC_TOPIC, SOURCE_DYNAMIC_DEFAULT_BROKER, SOURCE_STATIC, SOURCE_DEFAULT = 1, 3, 4, 5
TYPE_INT, TYPE_LONG, TYPE_LIST = 3, 5, 7


def connect(endpoint):
    return raw_kafka.Connection(endpoint.host, endpoint.port, timeout_s=30, client_id="runnel-e2e")


def error_name(code):
    return ERRORS.get(code, str(code))


# ---- CreateTopics v7 / DeleteTopics v6.

def create_topics_v7(conn, topics, validate_only=False):
    """topics: [(name, partitions, rf, {key: value})] -> {name: dict}"""
    w = Writer(True)

    def topic(w, t):
        name, partitions, rf, configs = t
        w.string(name).int32(partitions).int16(rf)
        w.array([], lambda w, a: None)
        w.array(list(configs.items()), lambda w, kv: w.string(kv[0]).string(kv[1]).tags())
        w.tags()
    w.array(topics, topic).int32(30000).boolean(validate_only).tags()
    r = conn.call(19, 7, w.buf, flexible=True)
    r.int32()

    def result(r):
        out = {"name": r.string(), "id": r.uuid(), "error": error_name(r.int16()), "message": r.string()}
        out["partitions"] = r.int32()
        out["rf"] = r.int16()
        out["configs"] = r.array(lambda r: (r.string(), r.string(), r.boolean(), r.int8(), r.boolean(), r.tags()))
        r.tags()
        return out
    results = r.array(result)
    r.tags()
    r.end()
    return {t["name"]: t for t in results}


def delete_topics_v6(conn, refs):
    """refs: [(name or None, topic id bytes)] -> list of dicts"""
    w = Writer(True)
    w.array(refs, lambda w, ref: w.string(ref[0]).uuid(ref[1]).tags()).int32(30000).tags()
    r = conn.call(20, 6, w.buf, flexible=True)
    r.int32()
    out = r.array(lambda r: {"name": r.string(), "id": r.uuid(), "error": error_name(r.int16()),
                             "message": r.string(), "tags": r.tags()})
    r.tags()
    r.end()
    return out


# ---- DescribeConfigs v4.

def describe_configs_v4(conn, resources, synonyms=True, documentation=True):
    """resources: [(type, name, keys or None)] -> list of {error, configs: {name: dict}}"""
    w = Writer(True)
    w.array(resources, lambda w, res: w.int8(res[0]).string(res[1]).array(res[2], lambda w, k: w.string(k)).tags())
    w.boolean(synonyms).boolean(documentation).tags()
    r = conn.call(32, 4, w.buf, flexible=True)
    r.int32()

    def config(r):
        c = {"name": r.string(), "value": r.string(), "read_only": r.boolean(), "source": r.int8(),
             "sensitive": r.boolean()}
        c["synonyms"] = r.array(lambda r: (r.string(), r.string(), r.int8(), r.tags()))
        c["type"] = r.int8()
        c["doc"] = r.string()
        r.tags()
        return c

    def result(r):
        out = {"error": error_name(r.int16()), "message": r.string(), "type": r.int8(), "name": r.string()}
        out["configs"] = {c["name"]: c for c in r.array(config)}
        r.tags()
        return out
    results = r.array(result)
    r.tags()
    r.end()
    return results


# ---- IncrementalAlterConfigs v0 / v1.

def incremental_alter(conn, version, resources, validate_only=False):
    """resources: [(type, name, [(key, op, value)])] -> [(error, message)]"""
    flexible = version >= 1
    w = Writer(flexible)

    def resource(w, res):
        w.int8(res[0]).string(res[1])
        w.array(res[2], lambda w, c: w.string(c[0]).int8(c[1]).string(c[2]).tags())
        w.tags()
    w.array(resources, resource).boolean(validate_only).tags()
    r = conn.call(44, version, w.buf, flexible=flexible)
    r.int32()

    def result(r):
        out = (error_name(r.int16()), r.string(), r.int8(), r.string())
        r.tags()
        return out
    results = r.array(result)
    r.tags()
    r.end()
    return [(e, m) for e, m, _, _ in results]


# ---- DescribeCluster v0 / v1.

def describe_cluster(conn, version, endpoint_type=1):
    w = Writer(True).boolean(True)
    if version >= 1:
        w.int8(endpoint_type)
    w.tags()
    r = conn.call(60, version, w.buf, flexible=True)
    out = {"throttle": r.int32(), "error": error_name(r.int16()), "message": r.string()}
    if version >= 1:
        out["endpoint_type"] = r.int8()
    out["cluster_id"] = r.string()
    out["controller"] = r.int32()
    out["brokers"] = r.array(lambda r: (r.int32(), r.string(), r.int32(), r.string(), r.tags()))
    out["operations"] = r.int32()
    r.tags()
    r.end()
    return out


# ---- Metadata v4 (auto-creation).

def metadata_v4(conn, topics, allow_auto_create):
    w = Writer(False)
    w.array(topics, lambda w, t: w.string(t)).boolean(allow_auto_create)
    r = conn.call(3, 4, w.buf, flexible=False)
    r.int32()
    r.array(lambda r: (r.int32(), r.string(), r.int32(), r.string()))
    r.string()
    r.int32()

    def partition(r):
        out = (r.int16(), r.int32(), r.int32())
        r.array(lambda r: r.int32())
        r.array(lambda r: r.int32())
        return out

    def topic(r):
        return {"error": error_name(r.int16()), "name": r.string(), "internal": r.boolean(),
                "partitions": r.array(partition)}
    topics = r.array(topic)
    r.end()
    return {t["name"]: t for t in topics}


def config_values(result):
    return {name: c["value"] for name, c in result["configs"].items()}


def check_create_and_delete(conn):
    made = create_topics_v7(conn, [("raw-orders", 4, 1, {"retention.ms": "123456", "cleanup.policy": "compact"}),
                                   ("raw-bad", 0, 1, {}), ("raw-conf", 1, 1, {"retention.ms": "abc"}),
                                   ("raw-rf", 1, 2, {}), ("bad/name", 1, 1, {})])
    orders = made["raw-orders"]
    assert orders["error"] == "NONE", orders
    assert orders["message"] is None, orders
    assert orders["id"] != bytes(16), "v7 returns the new topic id"
    assert orders["partitions"] == 4 and orders["rf"] == 1, orders
    configs = {c[0]: c for c in orders["configs"]}
    assert configs["retention.ms"][1] == "123456" and configs["retention.ms"][3] == SOURCE_DYNAMIC_TOPIC, configs
    # config/server.properties sets log.segment.bytes; message.max.bytes is left at its default.
    assert configs["segment.bytes"][3] == SOURCE_STATIC, configs["segment.bytes"]
    assert configs["max.message.bytes"][3] == SOURCE_DEFAULT, configs["max.message.bytes"]
    assert made["raw-bad"]["error"] == "INVALID_PARTITIONS", made["raw-bad"]
    assert made["raw-conf"]["error"] == "INVALID_CONFIG", made["raw-conf"]
    assert made["raw-rf"]["error"] == "INVALID_REPLICATION_FACTOR", made["raw-rf"]
    assert made["bad/name"]["error"] == "INVALID_TOPIC_EXCEPTION", made["bad/name"]
    assert made["raw-bad"]["partitions"] == -1

    again = create_topics_v7(conn, [("raw-orders", 1, 1, {})])
    assert again["raw-orders"]["error"] == "TOPIC_ALREADY_EXISTS", again

    checked = create_topics_v7(conn, [("raw-checked", -1, -1, {})], validate_only=True)
    assert checked["raw-checked"]["error"] == "NONE", checked
    assert checked["raw-checked"]["partitions"] == 1, "num.partitions of config/server.properties"
    meta = metadata_v4(conn, ["raw-checked"], allow_auto_create=False)
    assert meta["raw-checked"]["error"] == "UNKNOWN_TOPIC_OR_PARTITION", meta

    gone = delete_topics_v6(conn, [(None, orders["id"]), (None, bytes(range(16)))])
    assert gone[0]["error"] == "NONE" and gone[0]["name"] == "raw-orders", gone
    assert gone[1]["error"] == "UNKNOWN_TOPIC_ID", gone
    meta = metadata_v4(conn, ["raw-orders"], allow_auto_create=False)
    assert meta["raw-orders"]["error"] == "UNKNOWN_TOPIC_OR_PARTITION", meta
    print("raw: CreateTopics v7 and DeleteTopics v6 behave")


def check_configs(conn):
    made = create_topics_v7(conn, [("raw-cfg", 1, 1, {})])
    assert made["raw-cfg"]["error"] == "NONE", made

    # v1: SET and APPEND on the topic; the answer shows them with their source.
    res = incremental_alter(conn, 1, [(TOPIC_RESOURCE, "raw-cfg", [("retention.ms", SET, "5000"),
                                                                  ("cleanup.policy", APPEND, "compact")])])
    assert res == [("NONE", None)], res
    described = describe_configs_v4(conn, [(TOPIC_RESOURCE, "raw-cfg", None)])[0]
    assert described["error"] == "NONE", described
    retention = described["configs"]["retention.ms"]
    assert retention["value"] == "5000" and retention["source"] == SOURCE_DYNAMIC_TOPIC, retention
    assert retention["synonyms"][0][:3] == ("retention.ms", "5000", SOURCE_DYNAMIC_TOPIC), retention["synonyms"]
    assert retention["type"] == TYPE_LONG and retention["doc"], retention
    assert described["configs"]["cleanup.policy"]["value"] == "delete,compact", described["configs"]["cleanup.policy"]
    assert described["configs"]["cleanup.policy"]["type"] == TYPE_LIST
    segment = described["configs"]["segment.bytes"]
    assert segment["source"] == SOURCE_STATIC and segment["type"] == TYPE_INT, segment
    assert [s[:3] for s in segment["synonyms"]] == [("log.segment.bytes", "1073741824", SOURCE_STATIC),
                                                    ("log.segment.bytes", "1073741824", SOURCE_DEFAULT)], segment
    largest = described["configs"]["max.message.bytes"]
    assert largest["source"] == SOURCE_DEFAULT and largest["value"] == "1048588", largest

    # v0: SUBTRACT and DELETE; validate_only changes nothing.
    res = incremental_alter(conn, 0, [(TOPIC_RESOURCE, "raw-cfg", [("cleanup.policy", SUBTRACT, "delete"),
                                                                  ("retention.ms", DELETE, None)])])
    assert res == [("NONE", None)], res
    res = incremental_alter(conn, 1, [(TOPIC_RESOURCE, "raw-cfg", [("retention.ms", SET, "1")])], validate_only=True)
    assert res == [("NONE", None)], res
    values = config_values(describe_configs_v4(conn, [(TOPIC_RESOURCE, "raw-cfg", ["retention.ms",
                                                                                   "cleanup.policy"])])[0])
    assert values == {"retention.ms": "604800000", "cleanup.policy": "compact"}, values

    # Errors, each for its own resource in one request.
    res = incremental_alter(conn, 1, [
        (TOPIC_RESOURCE, "raw-cfg", [("retention.ms", APPEND, "1")]),
        (TOPIC_RESOURCE, "raw-missing", [("retention.ms", SET, "1")]),
        (BROKER_RESOURCE, "", [("node.id", SET, "7")]),
        (BROKER_RESOURCE, "1", [("log.retention.ms", SET, "-x")]),
    ])
    assert [e for e, _ in res] == ["INVALID_REQUEST", "UNKNOWN_TOPIC_OR_PARTITION", "INVALID_REQUEST",
                                   "INVALID_CONFIG"], res
    assert all(m for _, m in res), res

    # A cluster-wide dynamic broker default reaches topics without an override.
    res = incremental_alter(conn, 1, [(BROKER_RESOURCE, "", [("log.retention.ms", SET, "7200000")])])
    assert res == [("NONE", None)], res
    retention = describe_configs_v4(conn, [(TOPIC_RESOURCE, "raw-cfg", ["retention.ms"])])[0]["configs"]["retention.ms"]
    assert retention["value"] == "7200000", retention
    assert retention["source"] == SOURCE_DYNAMIC_DEFAULT_BROKER, retention
    cluster = describe_configs_v4(conn, [(BROKER_RESOURCE, "", None)])[0]
    assert config_values(cluster) == {"log.retention.ms": "7200000"}, config_values(cluster)
    broker = describe_configs_v4(conn, [(BROKER_RESOURCE, "1", ["node.id", "log.retention.ms"])])[0]
    assert broker["configs"]["node.id"]["read_only"], broker
    assert broker["configs"]["log.retention.ms"]["source"] == SOURCE_DYNAMIC_DEFAULT_BROKER, broker
    other = describe_configs_v4(conn, [(BROKER_RESOURCE, "99", None)])[0]
    assert other["error"] == "INVALID_REQUEST", other
    res = incremental_alter(conn, 1, [(BROKER_RESOURCE, "", [("log.retention.ms", DELETE, None)])])
    assert res == [("NONE", None)], res
    print("raw: IncrementalAlterConfigs v0/v1 and DescribeConfigs v4 behave")


def check_cluster_and_auto_create(conn, endpoint):
    for version in (0, 1):
        cluster = describe_cluster(conn, version)
        assert cluster["error"] == "NONE", cluster
        assert cluster["cluster_id"], cluster
        assert cluster["controller"] == endpoint.node_id, cluster
        assert [(b[0], b[1], b[2]) for b in cluster["brokers"]] == [(endpoint.node_id, endpoint.host, endpoint.port)], \
            cluster
        assert cluster["operations"] not in (0, -2147483648), cluster
    refused = describe_cluster(conn, 1, endpoint_type=2)
    assert refused["error"] == "UNSUPPORTED_ENDPOINT_TYPE", refused

    meta = metadata_v4(conn, ["raw-auto"], allow_auto_create=True)
    auto = meta["raw-auto"]
    assert auto["error"] == "NONE" and len(auto["partitions"]) == 1, meta
    assert auto["partitions"][0] == (0, 0, endpoint.node_id), auto
    meta = metadata_v4(conn, ["raw-not-auto"], allow_auto_create=False)
    assert meta["raw-not-auto"]["error"] == "UNKNOWN_TOPIC_OR_PARTITION", meta
    print("raw: DescribeCluster v0/v1 and Metadata auto-creation behave")


def admin_at_protocol_level(endpoint):
    conn = connect(endpoint)
    try:
        check_create_and_delete(conn)
        check_configs(conn)
        check_cluster_and_auto_create(conn, endpoint)
    finally:
        conn.close()


if __name__ == "__main__":
    harness.run_test(admin_at_protocol_level, description=__doc__)
