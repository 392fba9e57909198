"""Bad Produce input gets Kafka's error codes, per partition, and the broker
keeps serving: a corrupt batch (CRC) is CORRUPT_MESSAGE, a batch over the
topic's max.message.bytes MESSAGE_TOO_LARGE, a missing topic (auto-creation
off) UNKNOWN_TOPIC_OR_PARTITION, acks=2 INVALID_REQUIRED_ACKS, two batches or
magic 1 INVALID_RECORD, a timestamp too far ahead INVALID_TIMESTAMP with its
record_errors entry; acks=0 with an error closes the connection; a Produce to
the internal __consumer_offsets INVALID_TOPIC_EXCEPTION. One bad
partition does not fail the good one in the same request. Afterwards
confluent-kafka still produces and consumes, and the raw records read back.
Also Fetch at the protocol level: OFFSET_OUT_OF_RANGE, long polling woken by
an append, incremental fetch sessions (KIP-227) and topic ids (v13)."""

import os
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import raw_kafka

NONE, OFFSET_OUT_OF_RANGE, CORRUPT_MESSAGE, UNKNOWN_TOPIC_OR_PARTITION = 0, 1, 2, 3
MESSAGE_TOO_LARGE, INVALID_TOPIC_EXCEPTION, INVALID_REQUIRED_ACKS, INVALID_TIMESTAMP = 10, 17, 21, 32
FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH, INVALID_RECORD, UNKNOWN_TOPIC_ID = 70, 71, 87, 100

TOPIC = "errors"
MAX_MESSAGE_BYTES = 2000


def now_ms():
    return int(time.time() * 1000)


def good_batch(n=3, tag=b"ok"):
    ts = now_ms()
    return raw_kafka.batch([(b"k%d" % i, tag + b"-%d" % i, ts + i) for i in range(n)], ts)


def create_topics(endpoint):
    admin = AdminClient({"bootstrap.servers": endpoint.bootstrap})
    topics = [NewTopic(TOPIC, num_partitions=2, replication_factor=1,
                       config={"max.message.bytes": str(MAX_MESSAGE_BYTES),
                               "message.timestamp.after.max.ms": "60000"}),
              NewTopic("fetching", num_partitions=2, replication_factor=1)]
    for name, future in admin.create_topics(topics, operation_timeout=20).items():
        future.result(timeout=30)


def produce_errors(conn):
    first = conn.produce({TOPIC: {0: good_batch()}})[(TOPIC, 0)]
    assert first["error"] == NONE and first["base_offset"] == 0, first
    assert first["log_append_time"] == -1 and first["log_start_offset"] == 0, first

    corrupt = bytearray(good_batch())
    corrupt[-1] ^= 0xFF
    bad = conn.produce({TOPIC: {0: bytes(corrupt), 1: good_batch(tag=b"neighbour")}})
    assert bad[(TOPIC, 0)]["error"] == CORRUPT_MESSAGE, bad
    assert bad[(TOPIC, 1)]["error"] == NONE, bad  # one bad partition never fails the others

    big = raw_kafka.batch([(b"k", b"x" * (MAX_MESSAGE_BYTES + 100), now_ms())], now_ms())
    too_large = conn.produce({TOPIC: {0: big}})[(TOPIC, 0)]
    assert too_large["error"] == MESSAGE_TOO_LARGE, too_large

    missing = conn.produce({"no-such-topic": {0: good_batch()}})[("no-such-topic", 0)]
    assert missing["error"] == UNKNOWN_TOPIC_OR_PARTITION, missing
    no_partition = conn.produce({TOPIC: {7: good_batch()}})[(TOPIC, 7)]
    assert no_partition["error"] == UNKNOWN_TOPIC_OR_PARTITION, no_partition

    acks = conn.produce({TOPIC: {0: good_batch()}}, acks=2)[(TOPIC, 0)]
    assert acks["error"] == INVALID_REQUIRED_ACKS, acks

    two = conn.produce({TOPIC: {0: good_batch() + good_batch()}})[(TOPIC, 0)]
    assert two["error"] == INVALID_RECORD, two
    old = bytearray(good_batch())
    old[16] = 1  # magic
    magic = conn.produce({TOPIC: {0: bytes(old)}})[(TOPIC, 0)]
    assert magic["error"] == INVALID_RECORD, magic
    empty = conn.produce({TOPIC: {0: None}})[(TOPIC, 0)]
    assert empty["error"] == INVALID_RECORD, empty

    ts = now_ms()
    future = raw_kafka.batch([(b"a", b"fine", ts), (b"b", b"far ahead", ts + 3_600_000)], ts)
    stamped = conn.produce({TOPIC: {0: future}})[(TOPIC, 0)]
    assert stamped["error"] == INVALID_TIMESTAMP, stamped
    assert [e[0] for e in stamped["record_errors"]] == [1], stamped
    assert stamped["error_message"], stamped

    second = conn.produce({TOPIC: {0: good_batch(2, b"after")}})[(TOPIC, 0)]
    assert second["error"] == NONE and second["base_offset"] == 3, second


def internal_topic_refused(conn):
    """Only the group coordinator writes __consumer_offsets; FindCoordinator creates it."""
    c = conn.send(10, 2, raw_kafka.Writer(False).string("errors-group").int8(0).buf)
    r = raw_kafka.Reader(conn.receive(c))
    r.int32()
    assert r.int16() == NONE, "FindCoordinator failed"
    refused = conn.produce({"__consumer_offsets": {0: good_batch()}})[("__consumer_offsets", 0)]
    assert refused["error"] == INVALID_TOPIC_EXCEPTION, refused
    assert "internal topic" in (refused["error_message"] or ""), refused


def acks_zero_error_closes(endpoint):
    conn = raw_kafka.Connection(endpoint.host, endpoint.port)
    try:
        # A good acks=0 produce gets no answer and the connection stays.
        conn.produce({TOPIC: {1: good_batch(1, b"quiet")}}, acks=0, expect_response=False)
        corrupt = bytearray(good_batch())
        corrupt[-2] ^= 0x55
        conn.produce({TOPIC: {1: bytes(corrupt)}}, acks=0, expect_response=False)
        assert conn.receive(conn.correlation) is None, "expected the broker to close the connection"
    finally:
        conn.close()


def fetch_checks(conn):
    # The raw records of the good batches read back in order.
    answer = conn.fetch([(TOPIC, 0, 0, 1 << 20)])
    p = answer["partitions"][(TOPIC, 0)]
    assert p["error"] == NONE and p["high_watermark"] == 5 and p["log_start_offset"] == 0, p
    assert p["last_stable_offset"] == 5 and p["preferred_read_replica"] == -1, p
    values = [v for _, _, v in raw_kafka.records_of(p["records"])]
    assert values == [b"ok-0", b"ok-1", b"ok-2", b"after-0", b"after-1"], values

    past = conn.fetch([(TOPIC, 0, 99, 1 << 20)])["partitions"][(TOPIC, 0)]
    assert past["error"] == OFFSET_OUT_OF_RANGE and past["high_watermark"] == 5, past

    # Long polling: a fetch waiting on an empty partition is woken by an append.
    other = raw_kafka.Connection(conn.sock.getpeername()[0], conn.sock.getpeername()[1])
    result = {}
    waiter = threading.Thread(target=lambda: result.update(
        conn.fetch([("fetching", 0, 0, 1 << 20)], max_wait_ms=20000, min_bytes=1)))
    waiter.start()
    time.sleep(0.3)
    produced = other.produce({"fetching": {0: good_batch(1, b"wake")}})[("fetching", 0)]
    assert produced["error"] == NONE, produced
    waiter.join(timeout=60)
    assert not waiter.is_alive(), "the long poll was not answered"
    woken = result["partitions"][("fetching", 0)]
    assert [v for _, _, v in raw_kafka.records_of(woken["records"])] == [b"wake-0"], woken
    # With nothing new, the wait ends empty at max_wait_ms.
    empty = conn.fetch([("fetching", 0, 1, 1 << 20)], max_wait_ms=200, min_bytes=1)
    assert empty["partitions"][("fetching", 0)]["records"] == b"", empty
    other.close()


def session_checks(conn):
    # Partition 0 holds one record (offset 0); the session fetches past it, so
    # that neither partition has data to return until something is produced
    # (a partition whose fetch offset has records is always in the answer).
    parts = [("fetching", 0, 1, 1 << 20), ("fetching", 1, 0, 1 << 20)]
    full = conn.fetch(parts, session_id=0, session_epoch=0)
    sid = full["session_id"]
    assert full["error"] == NONE and sid > 0, full
    assert set(full["partitions"]) == {("fetching", 0), ("fetching", 1)}, full
    # Incremental, nothing changed and no partitions named: nothing to say.
    quiet = conn.fetch([], session_id=sid, session_epoch=1)
    assert quiet["error"] == NONE and quiet["session_id"] == sid and quiet["partitions"] == {}, quiet
    # New data in partition 1 only: only it is in the answer.
    other = raw_kafka.Connection(conn.sock.getpeername()[0], conn.sock.getpeername()[1])
    assert other.produce({"fetching": {1: good_batch(2, b"inc")}})[("fetching", 1)]["error"] == NONE
    other.close()
    changed = conn.fetch([], session_id=sid, session_epoch=2)
    assert set(changed["partitions"]) == {("fetching", 1)}, changed
    assert changed["partitions"][("fetching", 1)]["high_watermark"] == 2, changed
    # Move partition 1's offset forward (an update), forget partition 0.
    moved = conn.fetch([("fetching", 1, 2, 1 << 20)], session_id=sid, session_epoch=3,
                       forgotten=[("fetching", [0])])
    assert moved["error"] == NONE, moved
    wrong_epoch = conn.fetch([], session_id=sid, session_epoch=9)
    assert wrong_epoch["error"] == INVALID_FETCH_SESSION_EPOCH and wrong_epoch["partitions"] == {}, wrong_epoch
    unknown = conn.fetch([], session_id=sid + 1, session_epoch=1)
    assert unknown["error"] == FETCH_SESSION_ID_NOT_FOUND, unknown
    # Closing the session (epoch -1) makes it unknown.
    conn.fetch(parts, session_id=sid, session_epoch=-1)
    gone = conn.fetch([], session_id=sid, session_epoch=4)
    assert gone["error"] == FETCH_SESSION_ID_NOT_FOUND, gone


def topic_id_checks(conn):
    ids = conn.topic_ids([TOPIC])
    error, tid = ids[TOPIC]
    assert error == NONE and tid != bytes(16), ids
    by_id = conn.fetch([(tid, 0, 0, 1 << 20)], version=13)
    p = by_id["partitions"][(tid, 0)]
    assert p["error"] == NONE and len(raw_kafka.records_of(p["records"])) == 5, p
    unknown = conn.fetch([(os.urandom(16), 0, 0, 1 << 20)], version=13)
    assert [q["error"] for q in unknown["partitions"].values()] == [UNKNOWN_TOPIC_ID], unknown


def clients_still_work(endpoint):
    producer = Producer({"bootstrap.servers": endpoint.bootstrap, "acks": "all"})
    for i in range(50):
        producer.produce(TOPIC, key=b"c%d" % i, value=b"client-%d" % i, partition=1)
    assert producer.flush(30) == 0, "messages left undelivered"
    consumer = Consumer({"bootstrap.servers": endpoint.bootstrap, "group.id": "errors-check",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(TOPIC, 1, 0)])
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len([v for v in seen if v.startswith(b"client-")]) < 50:
        msg = consumer.poll(1.0)
        if msg is not None and not msg.error():
            seen.append(msg.value())
    consumer.close()
    clients = [v for v in seen if v.startswith(b"client-")]
    assert clients == [b"client-%d" % i for i in range(50)], clients[:5]


def produce_fetch_errors(broker):
    endpoint = broker.endpoint
    create_topics(endpoint)
    conn = raw_kafka.Connection(endpoint.host, endpoint.port)
    try:
        produce_errors(conn)
        internal_topic_refused(conn)
        fetch_checks(conn)
        session_checks(conn)
        topic_id_checks(conn)
    finally:
        conn.close()
    acks_zero_error_closes(endpoint)
    clients_still_work(endpoint)


if __name__ == "__main__":
    raw_kafka.run_with_overrides(produce_fetch_errors, ["auto.create.topics.enable=false"], description=__doc__)
