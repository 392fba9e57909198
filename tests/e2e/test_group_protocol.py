"""The group APIs at the protocol level, with hand-built frames (raw_kafka.py),
against a broker with group.max.size=2 and 5 __consumer_offsets partitions:

NOT_COORDINATOR before __consumer_offsets exists; FindCoordinator v2 and
batched v4 (a transaction key: COORDINATOR_NOT_AVAILABLE); JoinGroup v5 with
KIP-394's MEMBER_ID_REQUIRED round trip, INVALID_SESSION_TIMEOUT,
INCONSISTENT_GROUP_PROTOCOL, GROUP_MAX_SIZE_REACHED; SyncGroup v3; Heartbeat v3
(ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS); OffsetCommit
v2 by a simple consumer (generation -1) and v7 by members (ILLEGAL_GENERATION,
OFFSET_METADATA_TOO_LARGE, UNKNOWN_TOPIC_OR_PARTITION); OffsetFetch v1, v7 (all
partitions) and v8 (two groups at once); ListGroups v4 with a state filter;
DescribeGroups v4; OffsetDelete (GROUP_SUBSCRIBED_TO_TOPIC); LeaveGroup v3 as a
batch; DeleteGroups (NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND); and the committed
offsets after a restart.
"""

import struct

import group_scenarios as gs
import raw_kafka
from raw_kafka import Reader, Writer

NONE = 0
OFFSET_METADATA_TOO_LARGE = 12
UNKNOWN_TOPIC_OR_PARTITION = 3
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
MEMBER_ID_REQUIRED = 79
GROUP_MAX_SIZE_REACHED = 81
GROUP_SUBSCRIBED_TO_TOPIC = 86

TOPIC = "proto-topic"


def subscription(topics):
    """A ConsumerProtocolSubscription v0."""
    w = Writer(False).int16(0)
    w.array(topics, lambda w, t: w.string(t))
    w.bytes_(None)
    return bytes(w.buf)


class Client(raw_kafka.Connection):
    def find_coordinator_v2(self, key, key_type=0):
        r = self.call(10, 2, Writer(False).string(key).int8(key_type).buf)
        r.int32()
        return {"error": r.int16(), "message": r.string(), "node": r.int32(), "host": r.string(), "port": r.int32()}

    def find_coordinator_v4(self, keys, key_type=0):
        w = Writer(True).int8(key_type)
        w.array(keys, lambda w, k: w.string(k))
        w.tags()
        r = self.call(10, 4, w.buf, flexible=True)
        r.int32()

        def one(r):
            c = {"key": r.string(), "node": r.int32(), "host": r.string(), "port": r.int32(), "error": r.int16(),
                 "message": r.string()}
            r.skip_tags()
            return c
        return r.array(one)

    def join(self, group, member_id="", session_ms=10000, protocol_type="consumer", protocols=None,
             instance=None):
        protocols = protocols if protocols is not None else [("range", subscription([TOPIC]))]
        w = Writer(False).string(group).int32(session_ms).int32(30000).string(member_id).string(instance)
        w.string(protocol_type)
        w.array(protocols, lambda w, p: (w.string(p[0]), w.bytes_(p[1])))
        r = self.call(11, 5, w.buf)
        r.int32()
        out = {"error": r.int16(), "generation": r.int32(), "protocol": r.string(), "leader": r.string(),
               "member_id": r.string()}
        out["members"] = r.array(lambda r: (r.string(), r.string(), r.bytes_()))
        return out

    def sync(self, group, generation, member_id, assignments=()):
        w = Writer(False).string(group).int32(generation).string(member_id).string(None)
        w.array(list(assignments), lambda w, a: (w.string(a[0]), w.bytes_(a[1])))
        r = self.call(14, 3, w.buf)
        r.int32()
        return {"error": r.int16(), "assignment": r.bytes_()}

    def heartbeat(self, group, generation, member_id):
        r = self.call(12, 3, Writer(False).string(group).int32(generation).string(member_id).string(None).buf)
        r.int32()
        return r.int16()

    def leave(self, group, members):
        w = Writer(False).string(group)
        w.array(members, lambda w, m: (w.string(m[0]), w.string(m[1])))
        r = self.call(13, 3, w.buf)
        r.int32()
        return {"error": r.int16(), "members": r.array(lambda r: (r.string(), r.string(), r.int16()))}

    def commit(self, group, offsets, generation=-1, member_id="", version=7, metadata=""):
        """offsets: {(topic, partition): offset} -> {(topic, partition): error}"""
        w = Writer(False).string(group).int32(generation).string(member_id)
        if version >= 7:
            w.string(None)
        if 2 <= version <= 4:
            w.int64(-1)
        by_topic = {}
        for (t, p), o in offsets.items():
            by_topic.setdefault(t, []).append((p, o))

        def partition(w, po):
            w.int32(po[0]).int64(po[1])
            if version >= 6:
                w.int32(-1)
            w.string(metadata)
        w.array(list(by_topic.items()), lambda w, t: (w.string(t[0]), w.array(t[1], partition)))
        r = self.call(8, version, w.buf)
        if version >= 3:
            r.int32()
        out = {}

        def topic(r):
            name = r.string()
            for p, e in r.array(lambda r: (r.int32(), r.int16())):
                out[(name, p)] = e
        r.array(topic)
        return out

    def fetch_offsets_v1(self, group, partitions):
        w = Writer(False).string(group)
        w.array([(TOPIC, partitions)], lambda w, t: (w.string(t[0]), w.array(t[1], lambda w, p: w.int32(p))))
        r = self.call(9, 1, w.buf)
        out = {}

        def topic(r):
            name = r.string()
            for p, o, m, e in r.array(lambda r: (r.int32(), r.int64(), r.string(), r.int16())):
                out[(name, p)] = (o, e)
        r.array(topic)
        return out

    def fetch_offsets_v7_all(self, group):
        w = Writer(True).string(group)
        w.buf += raw_kafka.uvarint(0)  # topics: null, every committed offset
        w.int8(0).tags()
        r = self.call(9, 7, w.buf, flexible=True)
        r.int32()
        out = {}

        def partition(r, name):
            p, o, _epoch, _meta, e = r.int32(), r.int64(), r.int32(), r.string(), r.int16()
            r.skip_tags()
            out[(name, p)] = o
            assert e == NONE, e

        def topic(r):
            name = r.string()
            r.array(lambda r: partition(r, name))
            r.skip_tags()
        r.array(topic)
        return {"error": r.int16(), "offsets": out}

    def fetch_offsets_v8(self, groups):
        w = Writer(True)
        w.array(groups, lambda w, g: (w.string(g), w.array([(TOPIC, [0, 1])], lambda w, t: (
            w.string(t[0]), w.array(t[1], lambda w, p: w.int32(p)), w.tags())), w.tags()))
        w.int8(0).tags()
        r = self.call(9, 8, w.buf, flexible=True)
        r.int32()
        out = {}

        def group(r):
            gid = r.string()
            offsets = {}

            def topic(r):
                name = r.string()

                def partition(r):
                    p, o, _epoch, _meta, e = r.int32(), r.int64(), r.int32(), r.string(), r.int16()
                    r.skip_tags()
                    offsets[(name, p)] = (o, e)
                r.array(partition)
                r.skip_tags()
            r.array(topic)
            error = r.int16()
            r.skip_tags()
            out[gid] = (error, offsets)
        r.array(group)
        return out

    def list_groups_v4(self, states=()):
        w = Writer(True)
        w.array(list(states), lambda w, s: w.string(s))
        w.tags()
        r = self.call(16, 4, w.buf, flexible=True)
        r.int32()
        error = r.int16()

        def one(r):
            g = (r.string(), r.string(), r.string())
            r.skip_tags()
            return g
        return error, r.array(one)

    def describe_groups_v4(self, groups):
        w = Writer(False)
        w.array(groups, lambda w, g: w.string(g))
        w.int8(1)
        r = self.call(15, 4, w.buf)
        r.int32()

        def member(r):
            return {"member_id": r.string(), "instance": r.string(), "client_id": r.string(), "host": r.string(),
                    "metadata": r.bytes_(), "assignment": r.bytes_()}

        def group(r):
            return {"error": r.int16(), "group": r.string(), "state": r.string(), "protocol_type": r.string(),
                    "protocol": r.string(), "members": r.array(member), "operations": r.int32()}
        return r.array(group)

    def delete_groups(self, groups):
        w = Writer(False)
        w.array(groups, lambda w, g: w.string(g))
        r = self.call(42, 1, w.buf)
        r.int32()
        return dict(r.array(lambda r: (r.string(), r.int16())))

    def offset_delete(self, group, partitions):
        w = Writer(False).string(group)
        w.array([(TOPIC, partitions)], lambda w, t: (w.string(t[0]), w.array(t[1], lambda w, p: w.int32(p))))
        r = self.call(47, 0, w.buf)
        error = r.int16()
        r.int32()
        out = {}

        def topic(r):
            name = r.string()
            for p, e in r.array(lambda r: (r.int32(), r.int16())):
                out[(name, p)] = e
        r.array(topic)
        return error, out


def check(broker):
    endpoint = broker.endpoint
    c = Client(endpoint.host, endpoint.port)
    try:
        # Before FindCoordinator has created __consumer_offsets there is no coordinator.
        assert c.join("early")["error"] == NOT_COORDINATOR
        found = c.find_coordinator_v2("g-main")
        assert found["error"] == NONE and found["node"] == endpoint.node_id and found["port"] == endpoint.port, found
        batch = c.find_coordinator_v4(["g-main", "g-other"])
        assert [x["key"] for x in batch] == ["g-main", "g-other"] and all(x["error"] == NONE for x in batch), batch
        txn = c.find_coordinator_v4(["some-txn"], key_type=1)
        assert txn[0]["error"] == COORDINATOR_NOT_AVAILABLE, txn
        gs.create_topic(endpoint.bootstrap, TOPIC, 2)
        gs.wait_until(lambda: c.join("probe", session_ms=1000)["error"] == INVALID_SESSION_TIMEOUT, 30,
                      "the group partitions to load")

        # KIP-394: a new member gets its id first, then joins with it.
        first = c.join("g-main")
        assert first["error"] == MEMBER_ID_REQUIRED and first["member_id"].startswith("runnel-e2e-raw-"), first
        joined = c.join("g-main", member_id=first["member_id"])
        assert joined["error"] == NONE and joined["generation"] == 1, joined
        assert joined["leader"] == first["member_id"] and joined["protocol"] == "range"
        assert [m[0] for m in joined["members"]] == [first["member_id"]]
        member, generation = first["member_id"], joined["generation"]
        assert c.join("g-main", protocol_type="connect")["error"] == INCONSISTENT_GROUP_PROTOCOL
        synced = c.sync("g-main", generation, member, [(member, b"assignment-1")])
        assert synced == {"error": NONE, "assignment": b"assignment-1"}, synced
        assert c.heartbeat("g-main", generation, member) == NONE
        assert c.heartbeat("g-main", generation + 1, member) == ILLEGAL_GENERATION
        assert c.heartbeat("g-main", generation, "stranger") == UNKNOWN_MEMBER_ID

        # A second member fills the group (group.max.size=2); a third is refused.
        c2 = Client(endpoint.host, endpoint.port, client_id="second")
        c3 = Client(endpoint.host, endpoint.port, client_id="third")
        try:
            second_id = c2.join("g-main")["member_id"]
            c2.send(11, 5, Writer(False).string("g-main").int32(10000).int32(30000).string(second_id).string(None)
                    .string("consumer").array([("range", subscription([TOPIC]))],
                                              lambda w, p: (w.string(p[0]), w.bytes_(p[1]))).buf)
            gs.wait_until(lambda: c.heartbeat("g-main", generation, member) == REBALANCE_IN_PROGRESS, 10,
                          "the group to rebalance")
            rejoined = c.join("g-main", member_id=member)
            assert rejoined["error"] == NONE and rejoined["generation"] == 2 and len(rejoined["members"]) == 2
            second_join = Reader(c2.receive(c2.correlation))
            second_join.int32()
            assert second_join.int16() == NONE and second_join.int32() == 2
            generation = 2
            third = c3.join("g-main")
            assert third["error"] == GROUP_MAX_SIZE_REACHED and third["member_id"] == "", third
            assert c.sync("g-main", generation, member, [(member, b"a1"), (second_id, b"a2")])["assignment"] == b"a1"
            assert c2.sync("g-main", generation, second_id)["assignment"] == b"a2"

            # Offsets: members with the current generation; a simple consumer in its own group.
            ok = c.commit("g-main", {(TOPIC, 0): 5, (TOPIC, 1): 6}, generation, member)
            assert ok == {(TOPIC, 0): NONE, (TOPIC, 1): NONE}, ok
            assert c.commit("g-main", {(TOPIC, 0): 9}, generation - 1, member) == {(TOPIC, 0): ILLEGAL_GENERATION}
            assert c.commit("g-main", {(TOPIC, 0): 9}, generation, member, metadata="m" * 5000) == {
                (TOPIC, 0): OFFSET_METADATA_TOO_LARGE}
            assert c.commit("g-main", {("no-such-topic", 0): 1}, generation, member) == {
                ("no-such-topic", 0): UNKNOWN_TOPIC_OR_PARTITION}
            assert c.commit("g-simple", {(TOPIC, 0): 42, (TOPIC, 1): 43}, version=2) == {(TOPIC, 0): NONE,
                                                                                          (TOPIC, 1): NONE}
            assert c.fetch_offsets_v1("g-simple", [0, 1]) == {(TOPIC, 0): (42, NONE), (TOPIC, 1): (43, NONE)}
            assert c.fetch_offsets_v7_all("g-main") == {"error": NONE, "offsets": {(TOPIC, 0): 5, (TOPIC, 1): 6}}
            multi = c.fetch_offsets_v8(["g-main", "g-simple", "g-nobody"])
            assert multi["g-main"] == (NONE, {(TOPIC, 0): (5, NONE), (TOPIC, 1): (6, NONE)}), multi
            assert multi["g-simple"] == (NONE, {(TOPIC, 0): (42, NONE), (TOPIC, 1): (43, NONE)}), multi
            assert multi["g-nobody"] == (NONE, {(TOPIC, 0): (-1, NONE), (TOPIC, 1): (-1, NONE)}), multi

            # ListGroups, DescribeGroups.
            error, groups = c.list_groups_v4(["Stable"])
            assert error == NONE and groups == [("g-main", "consumer", "Stable")], groups
            error, groups = c.list_groups_v4()
            assert {g[0]: g[2] for g in groups} == {"g-main": "Stable", "g-simple": "Empty"}, groups
            described = c.describe_groups_v4(["g-main", "g-nobody"])
            main, nobody = described
            assert main["state"] == "Stable" and main["protocol"] == "range" and main["protocol_type"] == "consumer"
            assert sorted((m["member_id"], m["client_id"], m["host"], m["assignment"]) for m in main["members"]) == \
                sorted([(member, "runnel-e2e-raw", "/127.0.0.1", b"a1"), (second_id, "second", "/127.0.0.1", b"a2")])
            assert nobody["error"] == NONE and nobody["state"] == "Dead" and nobody["members"] == []

            # OffsetDelete and DeleteGroups refuse what members still use.
            error, per = c.offset_delete("g-main", [0])
            assert error == NONE and per == {(TOPIC, 0): GROUP_SUBSCRIBED_TO_TOPIC}, (error, per)
            error, per = c.offset_delete("g-simple", [0])
            assert error == NONE and per == {(TOPIC, 0): NONE}
            assert c.fetch_offsets_v1("g-simple", [0, 1]) == {(TOPIC, 0): (-1, NONE), (TOPIC, 1): (43, NONE)}
            assert c.offset_delete("g-nobody", [0])[0] == GROUP_ID_NOT_FOUND
            assert c.delete_groups(["g-main", "g-nobody"]) == {"g-main": NON_EMPTY_GROUP,
                                                               "g-nobody": GROUP_ID_NOT_FOUND}

            # Both leave in one request; an unknown member is reported, the rest leave.
            left = c.leave("g-main", [(member, None), ("ghost", None), (second_id, None)])
            assert left["error"] == NONE and [m[2] for m in left["members"]] == [NONE, UNKNOWN_MEMBER_ID, NONE], left
            assert c.heartbeat("g-main", generation, member) == UNKNOWN_MEMBER_ID
            assert c.describe_groups_v4(["g-main"])[0]["state"] == "Empty"
        finally:
            c2.close()
            c3.close()
    finally:
        c.close()

    # Everything committed survives a restart.
    broker.restart()
    c = Client(endpoint.host, endpoint.port)
    try:
        def fetched():
            try:
                return c.fetch_offsets_v8(["g-main", "g-simple"])
            except AssertionError:
                return None
        after = gs.wait_until(lambda: (lambda f: f if f and f["g-main"][0] == NONE else None)(fetched()), 30,
                              "the offsets after the restart")
        assert after["g-main"] == (NONE, {(TOPIC, 0): (5, NONE), (TOPIC, 1): (6, NONE)}), after
        assert after["g-simple"] == (NONE, {(TOPIC, 0): (-1, NONE), (TOPIC, 1): (43, NONE)}), after
        assert c.delete_groups(["g-simple"]) == {"g-simple": NONE}
        assert c.fetch_offsets_v1("g-simple", [1]) == {(TOPIC, 1): (-1, NONE)}
        print("group protocol checks passed, and the offsets survived a restart")
    finally:
        c.close()


if __name__ == "__main__":
    raw_kafka.run_with_overrides(check, ["group.max.size=2", "offsets.topic.num.partitions=5"], description=__doc__)
