"""SIGTERM drains the broker before it stops (docs/OPERATIONS.md, "Stopping"),
and queued.max.requests bounds the requests handled at once:

  waiters      a Fetch long-polling an empty partition and a JoinGroup waiting
               for the group's initial rebalance delay are answered at once
               (the Fetch with no records, the JoinGroup with NOT_COORDINATOR),
               although both asked to wait far longer than the harness lets a
               stop take; an idle connection and one holding half a frame are
               closed; the broker exits 0 and says how many requests it
               finished
  parking      with queued.max.requests=1, those two waiting requests do not
               hold the only slot: an ApiVersions on a third connection is
               answered meanwhile
  in hand      producers with acks=all on a flush.messages=1 topic write while
               the broker gets SIGTERM: each request is answered or its
               connection closed before it is handled, and after the restart
               the log holds exactly the acknowledged records
  the bound    with queued.max.requests=1 those producers' requests wait for
               the slot (the broker's debug log says so) and are all served
"""

import signal
import socket
import struct
import threading
import time

import harness
import raw_kafka
from raw_kafka import Reader, Writer

NONE, NOT_COORDINATOR = 0, 16
WAIT_MS = 100_000          # far beyond the harness's 30 s stop timeout
DRAIN_MS = 120_000         # the drain bound does not end the waits either
PRODUCERS = 4
ACKS_BEFORE_STOP = 400
TIMEOUT_S = 15

OVERRIDES = [f"shutdown.drain.ms={DRAIN_MS}", f"group.initial.rebalance.delay.ms={WAIT_MS}",
             "queued.max.requests=1", "logger.level=debug"]


def connect(endpoint):
    return raw_kafka.Connection(endpoint.host, endpoint.port, timeout_s=TIMEOUT_S, client_id="shutdown")


def produce_one(conn, topic, value, acks=-1):
    now_ms = int(time.time() * 1000)
    return conn.produce({topic: {0: raw_kafka.batch([(None, value, now_ms)], now_ms)}}, acks=acks)


def send_fetch(conn, topic, offset):
    """A Fetch v11 that waits up to WAIT_MS for one byte; the answer is read later."""
    w = Writer(False)
    w.int32(-1).int32(WAIT_MS).int32(1).int32(1 << 20).int8(0).int32(0).int32(-1)
    w.array([topic], lambda w, t: (w.string(t), w.array([0], lambda w, p: (
        w.int32(p).int32(-1).int64(offset).int64(-1).int32(1 << 20)))))
    w.array([], None)
    w.string("")
    return conn.send(1, 11, w.buf)


def read_fetch(conn, correlation):
    body = conn.receive(correlation)
    assert body is not None, "the broker closed a long-polling Fetch's connection instead of answering it"
    r = Reader(body)
    r.int32()
    top_error = r.int16()
    r.int32()
    partitions = []

    def partition(r):
        p = {"index": r.int32(), "error": r.int16(), "high_watermark": r.int64()}
        r.int64(), r.int64()
        r.array(lambda r: (r.int64(), r.int64()))
        r.int32()
        p["records"] = r.bytes_()
        partitions.append(p)

    r.array(lambda r: (r.string(), r.array(partition)))
    return top_error, partitions


def send_join(conn, group):
    """JoinGroup v5 of a new member of a new group (waits for the initial rebalance delay)."""
    w = Writer(False).string(group).int32(10_000).int32(WAIT_MS).string("").string(None).string("consumer")
    w.array([("range", b"\x00\x00\x00\x00\xff\xff\xff\xff")], lambda w, p: (w.string(p[0]), w.bytes_(p[1])))
    return conn.send(11, 5, w.buf)


def read_join_error(conn, correlation):
    body = conn.receive(correlation)
    assert body is not None, "the broker closed a waiting JoinGroup's connection instead of answering it"
    r = Reader(body)
    r.int32()
    return r.int16()


def api_versions_answered(endpoint):
    conn = connect(endpoint)
    try:
        body = conn.receive(conn.send(18, 0, b""))
        return body is not None and struct.unpack(">h", body[:2])[0] == NONE
    finally:
        conn.close()


def closed_by_broker(sock):
    sock.settimeout(TIMEOUT_S)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def check_waiters_answered(broker):
    endpoint = broker.endpoint
    setup = connect(endpoint)
    answer = produce_one(setup, "waiting", b"first")
    assert answer[("waiting", 0)]["error"] == NONE, answer
    setup.close()

    fetcher, joiner = connect(endpoint), connect(endpoint)
    fetch_correlation = send_fetch(fetcher, "waiting", 1)
    join_correlation = send_join(joiner, "drain-group")
    idle = socket.create_connection((endpoint.host, endpoint.port), timeout=TIMEOUT_S)
    partial = socket.create_connection((endpoint.host, endpoint.port), timeout=TIMEOUT_S)
    partial.sendall(struct.pack(">i", 64) + b"\x00\x12\x00\x00")
    time.sleep(0.5)  # both requests reach their waits

    assert api_versions_answered(endpoint), \
        "with queued.max.requests=1, ApiVersions was not answered while a Fetch and a JoinGroup waited"

    text_before = len(broker.log_text())
    broker.stop()  # SIGTERM; fails unless the broker exits 0 well before the waits would end

    top_error, partitions = read_fetch(fetcher, fetch_correlation)
    assert top_error == NONE and len(partitions) == 1, (top_error, partitions)
    assert partitions[0]["error"] == NONE and partitions[0]["high_watermark"] == 1, partitions
    assert not partitions[0]["records"], "a Fetch at the log end was answered with records"
    join_error = read_join_error(joiner, join_correlation)
    assert join_error == NOT_COORDINATOR, f"waiting JoinGroup answered with {join_error}, not NOT_COORDINATOR"
    assert closed_by_broker(idle), "an idle connection was not closed at shutdown"
    assert closed_by_broker(partial), "a connection holding half a frame was not closed at shutdown"
    log = broker.log_text()[text_before:]
    assert "shutdown: listeners closed, " in log and "request(s) in hand finished" in log, log[-3000:]
    for s in (fetcher.sock, joiner.sock, idle, partial):
        s.close()
    print("waiters: Fetch and JoinGroup answered at SIGTERM, idle and partial connections closed, exit 0")
    broker.start()


def check_requests_in_hand(broker):
    endpoint = broker.endpoint
    admin = connect(endpoint)
    # A durable topic: each acks=all Produce waits for its fsync.
    created = create_topic(admin, "durable", {"flush.messages": "1"})
    assert created == NONE, f"CreateTopics answered {created}"
    admin.close()

    acked = [[] for _ in range(PRODUCERS)]
    failures = []
    total = [0]
    lock = threading.Lock()

    def produce_until_closed(i):
        try:
            conn = connect(endpoint)
        except OSError as e:
            failures.append(f"producer {i} could not connect: {e}")
            return
        n = 0
        try:
            while n < 1_000_000:
                value = f"p{i}-{n}".encode()
                try:
                    answer = produce_one(conn, "durable", value)
                except (AssertionError, OSError):
                    return  # closed by the stopping broker before this request was handled
                error = answer[("durable", 0)]["error"]
                if error != NONE:
                    failures.append(f"producer {i}: record {n} answered {error}")
                    return
                acked[i].append(value)
                with lock:
                    total[0] += 1
                n += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=produce_until_closed, args=(i,)) for i in range(PRODUCERS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while total[0] < ACKS_BEFORE_STOP and time.monotonic() < deadline and not failures:
        time.sleep(0.01)
    assert not failures, failures
    assert total[0] >= ACKS_BEFORE_STOP, f"only {total[0]} records acknowledged in 60 s"
    log_before = len(broker.log_text())
    broker.stop()
    for t in threads:
        t.join(timeout=TIMEOUT_S)
        assert not t.is_alive(), "a producer thread did not see the broker stop"
    assert not failures, failures
    log = broker.log_text()[log_before:]
    assert "request(s) in hand finished" in log, log[-3000:]

    broker.start()
    stored = read_all_values(connect(broker.endpoint), "durable")
    expected = [v for values in acked for v in values]
    assert len(stored) == len(set(stored)), "a record is stored twice"
    missing = set(expected) - set(stored)
    extra = set(stored) - set(expected)
    assert not missing, f"{len(missing)} acknowledged records are missing after the restart, e.g. {sorted(missing)[:5]}"
    assert not extra, f"{len(extra)} records were stored but never acknowledged, e.g. {sorted(extra)[:5]}"
    for values in acked:  # each producer's records in its own order
        positions = [stored.index(v) for v in values]
        assert positions == sorted(positions), "a producer's records are out of order"
    waits = broker.log_text().count("request slots (queued.max.requests) spent")
    assert waits > 0, "with queued.max.requests=1 and 4 busy producers, no request ever waited for a slot"
    print(f"in hand: {len(expected)} acknowledged records, all stored exactly once after SIGTERM and restart; "
          f"{waits} waits for the one request slot")


def create_topic(conn, name, configs):
    w = Writer(False)
    w.array([name], lambda w, t: (w.string(t).int32(1).int16(1), w.array([], None),
                                  w.array(list(configs.items()), lambda w, c: (w.string(c[0]), w.string(c[1])))))
    w.int32(10_000).int8(0)
    body = conn.receive(conn.send(19, 4, w.buf))
    r = Reader(body)
    r.int32()
    errors = r.array(lambda r: (r.string(), r.int16(), r.string()))
    return errors[0][1]


def read_all_values(conn, topic):
    values = []
    offset = 0
    for _ in range(100_000):
        answer = conn.fetch([(topic, 0, offset, 1 << 20)], max_wait_ms=0)
        p = answer["partitions"][(topic, 0)]
        assert p["error"] == NONE, p
        records = raw_kafka.records_of(p["records"])
        for record_offset, _key, value in records:
            values.append(value)
            offset = record_offset + 1
        if offset >= p["high_watermark"]:
            break
    conn.close()
    return values


def check(broker):
    check_waiters_answered(broker)
    check_requests_in_hand(broker)


if __name__ == "__main__":
    harness.run_broker_test(check, description=__doc__, overrides=OVERRIDES)
