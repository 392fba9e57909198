"""Offsets and idempotence at the protocol level: ListOffsets (earliest,
latest, max timestamp, by timestamp, with the leader epoch), OffsetForLeaderEpoch,
DeleteRecords (moves the log start; past the high watermark is
OFFSET_OUT_OF_RANGE; reading below the new start is OFFSET_OUT_OF_RANGE),
InitProducerId (fresh ids, epoch 0; a transactional id needs a coordinator),
Produce creating a missing topic (auto.create.topics.enable),
and the idempotent producer rules on the wire: a retried batch answers its
first offset without a second copy, a gap is OUT_OF_ORDER_SEQUENCE_NUMBER,
an older epoch INVALID_PRODUCER_EPOCH, a new epoch must start at 0. The
producer state survives a restart (SIGTERM, then kill -9)."""

import time

from confluent_kafka.admin import AdminClient, NewTopic

import raw_kafka

NONE, OFFSET_OUT_OF_RANGE = 0, 1
COORDINATOR_NOT_AVAILABLE, OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH = 15, 45, 47
TOPIC = "offsets"
IDEMPOTENT = "idem"
BASE_TS = 1_700_000_000_000


def create(endpoint):
    admin = AdminClient({"bootstrap.servers": endpoint.bootstrap})
    topics = [NewTopic(TOPIC, num_partitions=1, replication_factor=1),
              NewTopic(IDEMPOTENT, num_partitions=1, replication_factor=1)]
    for future in admin.create_topics(topics, operation_timeout=20).values():
        future.result(timeout=30)


def offsets_checks(conn):
    # Four batches of 5 records; timestamps rise by 10 per record, except that
    # batch 2 holds the largest timestamp of all.
    for b in range(4):
        recs = [(b"k", b"v%d-%d" % (b, i), BASE_TS + (b * 5 + i) * 10) for i in range(5)]
        if b == 2:
            recs[3] = (b"k", b"max", BASE_TS + 10_000)
        answer = conn.produce({TOPIC: {0: raw_kafka.batch(recs, recs[0][2])}})[(TOPIC, 0)]
        assert answer["error"] == NONE and answer["base_offset"] == b * 5, answer

    lo = conn.list_offsets([(TOPIC, 0, -2)])[(TOPIC, 0)]
    hi = conn.list_offsets([(TOPIC, 0, -1)])[(TOPIC, 0)]
    assert lo["error"] == NONE and lo["offset"] == 0 and lo["timestamp"] == -1, lo
    assert hi["error"] == NONE and hi["offset"] == 20 and hi["leader_epoch"] >= 0, hi
    top = conn.list_offsets([(TOPIC, 0, -3)])[(TOPIC, 0)]
    assert top["offset"] == 13 and top["timestamp"] == BASE_TS + 10_000, top
    by_time = conn.list_offsets([(TOPIC, 0, BASE_TS + 71)])[(TOPIC, 0)]
    assert by_time["offset"] == 8 and by_time["timestamp"] == BASE_TS + 80, by_time
    none = conn.list_offsets([(TOPIC, 0, BASE_TS + 999_999)])[(TOPIC, 0)]
    assert none["error"] == NONE and none["offset"] == -1, none
    missing = conn.list_offsets([("nope", 0, -1)])[("nope", 0)]
    assert missing["error"] == 3, missing

    epoch = hi["leader_epoch"]
    end = conn.offset_for_leader_epoch([(TOPIC, 0, epoch)])[(TOPIC, 0)]
    assert end["error"] == NONE and end["leader_epoch"] == epoch and end["end_offset"] == 20, end

    deleted = conn.delete_records([(TOPIC, 0, 7)])[(TOPIC, 0)]
    assert deleted["error"] == NONE and deleted["low_watermark"] == 7, deleted
    assert conn.list_offsets([(TOPIC, 0, -2)])[(TOPIC, 0)]["offset"] == 7
    below = conn.fetch([(TOPIC, 0, 3, 1 << 20)])["partitions"][(TOPIC, 0)]
    assert below["error"] == OFFSET_OUT_OF_RANGE and below["log_start_offset"] == 7, below
    from_start = conn.fetch([(TOPIC, 0, 7, 1 << 20)])["partitions"][(TOPIC, 0)]
    offsets = [o for o, _, _ in raw_kafka.records_of(from_start["records"]) if o >= 7]
    assert offsets == list(range(7, 20)), offsets
    past = conn.delete_records([(TOPIC, 0, 21)])[(TOPIC, 0)]
    assert past["error"] == OFFSET_OUT_OF_RANGE, past
    to_hw = conn.delete_records([(TOPIC, 0, -1)])[(TOPIC, 0)]
    assert to_hw["error"] == NONE and to_hw["low_watermark"] == 20, to_hw


def idem_batch(pid, epoch, seq, n, tag):
    ts = int(time.time() * 1000)
    return raw_kafka.batch([(b"k", b"%s-%d" % (tag, seq + i), ts) for i in range(n)], ts, producer_id=pid,
                           producer_epoch=epoch, base_sequence=seq)


def idempotence_checks(conn):
    first = conn.init_producer_id()
    second = conn.init_producer_id()
    assert first["error"] == NONE and first["producer_epoch"] == 0 and first["producer_id"] >= 0, first
    assert second["producer_id"] != first["producer_id"], (first, second)
    txn = conn.init_producer_id(transactional_id="tx-1")
    assert txn["error"] == COORDINATOR_NOT_AVAILABLE, txn
    pid = first["producer_id"]

    def send(epoch, seq, n, tag=b"m"):
        return conn.produce({IDEMPOTENT: {0: idem_batch(pid, epoch, seq, n, tag)}})[(IDEMPOTENT, 0)]

    assert send(0, 0, 3)["base_offset"] == 0
    assert send(0, 3, 2)["base_offset"] == 3
    retry = send(0, 0, 3)
    assert retry["error"] == NONE and retry["base_offset"] == 0, retry  # a duplicate: not appended again
    gap = send(0, 9, 1)
    assert gap["error"] == OUT_OF_ORDER_SEQUENCE_NUMBER, gap
    bad_start = send(1, 5, 1)
    assert bad_start["error"] == OUT_OF_ORDER_SEQUENCE_NUMBER, bad_start
    assert send(1, 0, 2)["base_offset"] == 5  # a new epoch starts at 0
    fenced = send(0, 5, 1)
    assert fenced["error"] == INVALID_PRODUCER_EPOCH, fenced
    return pid, send


def log_values(conn):
    answer = conn.fetch([(IDEMPOTENT, 0, 0, 1 << 20)])["partitions"][(IDEMPOTENT, 0)]
    return [v for _, _, v in raw_kafka.records_of(answer["records"])]


def offsets_and_idempotence(broker):
    create(broker.endpoint)
    conn = raw_kafka.Connection(broker.endpoint.host, broker.endpoint.port)
    offsets_checks(conn)
    pid, _ = idempotence_checks(conn)
    # Produce itself creates a missing topic (auto.create.topics.enable is on).
    ts = int(time.time() * 1000)
    auto = conn.produce({"made-by-raw-produce": {0: raw_kafka.batch([(b"k", b"v", ts)], ts)}})
    assert auto[("made-by-raw-produce", 0)]["error"] == NONE, auto
    expected = [b"m-0", b"m-1", b"m-2", b"m-3", b"m-4", b"m-0", b"m-1"]
    assert log_values(conn) == expected, log_values(conn)
    conn.close()

    # The producer state survives restarts: the last batch is still a duplicate,
    # and the sequence continues.
    for hard in (False, True):
        broker.restart(hard=hard)
        conn = raw_kafka.Connection(broker.endpoint.host, broker.endpoint.port)
        ts = int(time.time() * 1000)
        last = raw_kafka.batch([(b"k", b"m-%d" % i, ts) for i in range(2)], ts, producer_id=pid, producer_epoch=1,
                               base_sequence=0 if not hard else 2)
        retried = conn.produce({IDEMPOTENT: {0: last}})[(IDEMPOTENT, 0)]
        assert retried["error"] == NONE and retried["base_offset"] == (5 if not hard else 7), (hard, retried)
        if not hard:
            nxt = conn.produce({IDEMPOTENT: {0: idem_batch(pid, 1, 2, 2, b"m")}})[(IDEMPOTENT, 0)]
            assert nxt["error"] == NONE and nxt["base_offset"] == 7, nxt
            expected += [b"m-2", b"m-3"]
        gap = conn.produce({IDEMPOTENT: {0: idem_batch(pid, 1, 40, 1, b"m")}})[(IDEMPOTENT, 0)]
        assert gap["error"] == OUT_OF_ORDER_SEQUENCE_NUMBER, gap
        assert log_values(conn) == expected, log_values(conn)
        conn.close()


if __name__ == "__main__":
    raw_kafka.run_with_overrides(offsets_and_idempotence, [], description=__doc__)
