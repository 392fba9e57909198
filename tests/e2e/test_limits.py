"""Each connection and request limit is a config key and is enforced with
Kafka's answer (docs/ARCHITECTURE.md, "Bad input and limits"), against the
real broker started with small limits:

  socket.request.max.bytes   a bigger frame closes the connection (one line);
                             a frame just under it is served
  message.max.bytes          a bigger batch gets MESSAGE_TOO_LARGE
  max.connections            the connection over the limit is closed at once
                             (one line); a slot freed is taken again
  max.connections.per.ip     the same, per client address (127.0.0.2 is
                             another address and still gets in)
  connections.max.idle.ms    a connection with traffic stays, an idle one is
                             closed
  queued.max.request.bytes   while large frames hold the request memory,
                             another large request waits (and is answered
                             once the memory comes back); small requests are
                             served meanwhile
  in-flight requests         one per connection: 50 pipelined requests are
                             answered in order, one at a time
"""

import select
import socket
import struct
import time

import harness
import raw_kafka

NONE, MESSAGE_TOO_LARGE = 0, 10
API_API_VERSIONS = 18

REQUEST_MAX = 300_000
MESSAGE_MAX = 5_000
MAX_CONNECTIONS = 12
MAX_PER_IP = 4
IDLE_MS = 3000
QUEUED_BYTES = 200_000   # a frame over 64 KiB reserves its size from this
TOPIC = "limits"
TIMEOUT_S = 10

OVERRIDES = [f"socket.request.max.bytes={REQUEST_MAX}", f"message.max.bytes={MESSAGE_MAX}",
             f"max.connections={MAX_CONNECTIONS}", f"max.connections.per.ip={MAX_PER_IP}",
             f"connections.max.idle.ms={IDLE_MS}", f"queued.max.request.bytes={QUEUED_BYTES}"]


def connect(endpoint, source=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT_S)
    if source:
        s.bind((source, 0))
    s.connect((endpoint.host, endpoint.port))
    return s


def connect_served(endpoint, source=None):
    """A connection the broker serves. Right after a step closed many
    connections the broker may not have counted them out yet (it learns of
    each close asynchronously), so a refusal is retried, bounded."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        s = connect(endpoint, source)
        if api_versions_ok(s):
            return s
        s.close()
        assert time.monotonic() < deadline, "the broker kept refusing connections under its limits"
        time.sleep(0.1)


def raw(sock):
    conn = raw_kafka.Connection.__new__(raw_kafka.Connection)
    conn.sock = sock
    conn.client_id = "limits"
    conn.correlation = 0
    return conn


def api_versions_ok(sock):
    """An ApiVersions v0 round trip; False if the broker closed the connection."""
    conn = raw(sock)
    try:
        c = conn.send(API_API_VERSIONS, 0, b"")
        body = conn.receive(c)
    except (ConnectionResetError, BrokenPipeError):
        return False
    return body is not None and struct.unpack_from(">h", body)[0] == NONE


def closed_by_broker(sock, timeout_s=TIMEOUT_S):
    sock.settimeout(timeout_s)
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def log_count(broker, text):
    return sum(1 for line in broker.log_text().splitlines() if text in line)


def wait_log(broker, text, count, timeout_s=TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while log_count(broker, text) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log_count(broker, text) == count, (text, log_count(broker, text), count)


def good_batch(value_bytes=10):
    ts = int(time.time() * 1000)
    return raw_kafka.batch([(b"k", b"v" * value_bytes, ts)], ts)


def request_and_message_size(broker):
    endpoint = broker.endpoint
    conn = raw_kafka.Connection(endpoint.host, endpoint.port)
    try:
        # The Produce frame carries the batch plus ~40 bytes of request.
        assert conn.produce({TOPIC: {0: good_batch(100)}})[(TOPIC, 0)]["error"] == NONE
        big = good_batch(MESSAGE_MAX)
        assert conn.produce({TOPIC: {0: big}})[(TOPIC, 0)]["error"] == MESSAGE_TOO_LARGE
        # A frame just under socket.request.max.bytes is read and answered
        # (here: refused by message.max.bytes, which is a Produce answer).
        near = good_batch(REQUEST_MAX - 200)
        assert conn.produce({TOPIC: {0: near}})[(TOPIC, 0)]["error"] == MESSAGE_TOO_LARGE
    finally:
        conn.close()
    s = connect(endpoint)
    port = s.getsockname()[1]
    s.sendall(struct.pack(">i", REQUEST_MAX + 1) + b"\x00" * 64)
    assert closed_by_broker(s), "a frame over socket.request.max.bytes was not refused"
    s.close()
    wait_log(broker, f"from 127.0.0.1:{port}: frame size {REQUEST_MAX + 1} outside 0..{REQUEST_MAX}", 1)


def connection_counts(broker):
    endpoint = broker.endpoint
    time.sleep(1)  # the broker notices the earlier steps' connections closing
    held = []
    try:
        # max.connections.per.ip: the fifth from 127.0.0.1 is closed at once.
        for _ in range(MAX_PER_IP):
            s = connect(endpoint)
            assert api_versions_ok(s)
            held.append(s)
        over = connect(endpoint)
        port = over.getsockname()[1]
        assert closed_by_broker(over), "a connection over max.connections.per.ip was served"
        over.close()
        wait_log(broker, f"refusing connection from 127.0.0.1:{port}: max.connections.per.ip ({MAX_PER_IP}) reached", 1)
        # Another address still gets in, up to max.connections in all.
        sources = [f"127.0.0.{2 + i // MAX_PER_IP}" for i in range(MAX_CONNECTIONS - MAX_PER_IP)]
        for source in sources:
            s = connect(endpoint, source)
            assert api_versions_ok(s), f"a connection from {source} under the limits was refused"
            held.append(s)
        over = connect(endpoint, "127.0.0.9")
        port = over.getsockname()[1]
        assert closed_by_broker(over), "a connection over max.connections was served"
        over.close()
        wait_log(broker, f"refusing connection from 127.0.0.9:{port}: max.connections ({MAX_CONNECTIONS}) reached", 1)
        # A connection that ends gives its place back.
        held.pop().close()
        deadline = time.monotonic() + TIMEOUT_S
        while True:  # bounded: the broker notices the close within moments
            again = connect(endpoint, "127.0.0.9")
            if api_versions_ok(again):
                held.append(again)
                break
            again.close()
            assert time.monotonic() < deadline, "a freed connection slot was not given back"
            time.sleep(0.1)
    finally:
        for s in held:
            s.close()


def idle_connections(broker):
    endpoint = broker.endpoint
    busy = connect_served(endpoint)
    idle = connect_served(endpoint)
    try:
        # Traffic every IDLE_MS / 4 keeps a connection; the other is closed.
        deadline = time.monotonic() + 3 * IDLE_MS / 1000
        while time.monotonic() < deadline:  # bounded by the deadline
            assert api_versions_ok(busy), "a connection with traffic was closed as idle"
            time.sleep(IDLE_MS / 4000)
        assert closed_by_broker(idle, timeout_s=0.5 + IDLE_MS / 1000), "an idle connection was not closed"
        assert api_versions_ok(busy)
    finally:
        busy.close()
        idle.close()


def request_memory(broker):
    """Two frames announced at 150 KB hold 2 x ~86 KB of the 200 KB pool
    (each reserves its size minus the 64 KiB receive buffer once its first
    64 KiB arrive); a third large request waits while they stall, small ones
    do not; when the holders go, it is answered."""
    endpoint = broker.endpoint
    holders = []
    waiting = small = None
    try:
        # Own addresses, so that max.connections.per.ip stays out of the way.
        for _ in range(3):
            s = connect_served(endpoint, "127.0.0.5")
            s.sendall(struct.pack(">i", 150_000) + b"\x00" * 70_000)  # more than 64 KiB, less than the frame
            holders.append(s)
        time.sleep(0.5)  # let the broker read and reserve
        waiting = raw(connect_served(endpoint, "127.0.0.6"))
        correlation = waiting.send(0, 8, produce_body(good_batch(100_000)))
        small = connect_served(endpoint, "127.0.0.7")  # a small request does not wait for the large-request memory
        # The holders trickle a byte now and then, so that they are not idle
        # (and closed) while they hold the memory; the large request waits.
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:  # bounded by the deadline
            for s in holders:
                s.sendall(b"\x00")
            answered, _, _ = select.select([waiting.sock], [], [], 0.3)
            assert not answered, "a large request was read while the request memory was spent"
        for s in holders:
            s.close()
        holders = []
        waiting.sock.settimeout(TIMEOUT_S)
        body = waiting.receive(correlation)
        assert body is not None, "the waiting request was not answered once memory came back"
    finally:
        for s in holders:
            s.close()
        if waiting:
            waiting.close()
        if small:
            small.close()


def produce_body(batch):
    w = raw_kafka.Writer(False).string(None).int16(1).int32(10000)
    w.array([TOPIC], lambda w, t: (w.string(t), w.array([0], lambda w, p: (w.int32(p), w.bytes_(batch)))))
    return w.buf


def pipelined_requests(broker):
    """50 requests sent at once on one connection: handled one at a time,
    answered in order."""
    s = connect_served(broker.endpoint)
    try:
        frames = b""
        for c in range(1, 51):
            payload = struct.pack(">hhi", API_API_VERSIONS, 0, c) + struct.pack(">h", 6) + b"limits"
            frames += struct.pack(">i", len(payload)) + payload
        s.sendall(frames)
        conn = raw(s)
        for c in range(1, 51):
            assert conn.receive(c) is not None
    finally:
        s.close()


def check(broker):
    conn = raw_kafka.Connection(broker.endpoint.host, broker.endpoint.port)
    w = raw_kafka.Writer(False)
    w.array([TOPIC], lambda w, t: (w.string(t), w.int32(1), w.int16(1), w.array([], None), w.array([], None)))
    w.int32(10000).raw("?", False)
    r = raw_kafka.Reader(conn.receive(conn.send(19, 4, w.buf)))  # CreateTopics v4
    r.int32()
    r.int32()
    r.string()
    assert r.int16() == NONE
    conn.close()
    for name, step in [("socket.request.max.bytes and message.max.bytes", request_and_message_size),
                       ("max.connections and max.connections.per.ip", connection_counts),
                       ("connections.max.idle.ms", idle_connections),
                       ("queued.max.request.bytes", request_memory),
                       ("one request in flight per connection", pipelined_requests)]:
        started = time.monotonic()
        step(broker)
        print(f"{name}: ok ({time.monotonic() - started:.1f} s)", flush=True)


if __name__ == "__main__":
    harness.run_broker_test(check, description=__doc__.splitlines()[0], overrides=OVERRIDES)
