"""Hostile and broken input over raw sockets, against the real broker, while a
confluent-kafka producer and consumer (by assignment) run beside the attack.

Each attack gets its documented answer (docs/ARCHITECTURE.md, "Bad input and
limits"): a Kafka error code, or the connection closed with exactly one
warning line naming the client's address and port. The attacks: a size
prefix of 2 GiB - 1 and of 2 GiB (negative as an int32), -1, a truncated
frame then a close, a valid header with a truncated body, an unknown api key,
a known key at an unsupported version, ApiVersions of a future version
(KIP-511: a v0 answer with UNSUPPORTED_VERSION and the ranges), a request
that would decode into more memory than its budget, Produce of a batch with a
wrong CRC, a wrong length, record counts that lie, a compressed payload of
garbage for every codec, a gzip bomb, and 1,000 connections that send half a
frame and stall (closed by connections.max.idle.ms, one line each).

Throughout, the broker's resident memory stays within a bound (its peak,
VmHWM, read from /proc), every other client is unaffected (the producer sees
no delivery error and no client error, the consumer reads every record in
order), and the broker stops cleanly afterwards with no sanitizer report.
"""

import os
import re
import resource
import select
import socket
import struct
import threading
import time
import zlib

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import harness
import raw_kafka

NONE, CORRUPT_MESSAGE, UNSUPPORTED_VERSION, INVALID_RECORD = 0, 2, 35, 87
API_PRODUCE, API_METADATA, API_API_VERSIONS = 0, 3, 18

IDLE_MS = 6000             # the broker's connections.max.idle.ms for this test
CLIENT_IDLE_MS = 3000      # clients close their idle connections first, as Kafka's do
STALLED_CONNECTIONS = 1000
# The bound on the broker's peak resident memory over the whole test, above
# what it used once the bystanders were running (ASan build: generous).
RSS_GROWTH_MAX_BYTES = 200 * 1024 * 1024
CLOSE_TIMEOUT_S = 10
LOG_TIMEOUT_S = 10
BYSTANDER_TOPIC = "bystander"
ATTACK_TOPIC = "attack"
BOMB_BYTES = 80 * 1024 * 1024  # over the broker's 64 MiB decompression bound

OVERRIDES = [f"connections.max.idle.ms={IDLE_MS}"]


def now_ms():
    return int(time.time() * 1000)


def rss_bytes(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def raise_fd_limit(wanted):
    """The stalled connections need descriptors here and in the broker (which inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= STALLED_CONNECTIONS + 200, \
        "not enough file descriptors for the stalled connections"


# ---- The bystanders ------------------------------------------------------------

class Bystanders:
    """A producer (acks=all) and a consumer assigned to the same partition,
    each in its own thread; any error either sees is recorded."""

    def __init__(self, bootstrap):
        self.errors = []
        self.sent = 0
        self.delivered = []
        self.consumed = []
        self.stopping = threading.Event()
        common = {"bootstrap.servers": bootstrap, "connections.max.idle.ms": CLIENT_IDLE_MS,
                  "error_cb": lambda e: self.errors.append(f"client error: {e}")}
        self.producer = Producer(dict(common, acks="all", **{"linger.ms": 5, "enable.idempotence": False}))
        self.consumer = Consumer(dict(common, **{"group.id": "bystander", "enable.auto.commit": False,
                                                 "fetch.wait.max.ms": 100}))
        self.consumer.assign([TopicPartition(BYSTANDER_TOPIC, 0, 0)])
        self.threads = [threading.Thread(target=self.produce_loop, daemon=True),
                        threading.Thread(target=self.consume_loop, daemon=True)]

    def start(self):
        for t in self.threads:
            t.start()

    def on_delivery(self, err, msg):
        if err is not None:
            self.errors.append(f"delivery failed: {err}")
        else:
            self.delivered.append(int(msg.value()))

    def produce_loop(self):
        # Bounded by stop(); one record every 20 ms.
        while not self.stopping.is_set():
            self.producer.produce(BYSTANDER_TOPIC, value=str(self.sent).encode(), partition=0,
                                  on_delivery=self.on_delivery)
            self.sent += 1
            self.producer.poll(0.02)
        left = self.producer.flush(30)
        if left:
            self.errors.append(f"{left} records not delivered")

    def consume_loop(self):
        # Bounded by stop() and then by the number of records produced.
        deadline = None
        while True:
            if self.stopping.is_set() and deadline is None:
                deadline = time.monotonic() + 30
            if deadline is not None and (len(self.consumed) >= len(self.delivered) or time.monotonic() > deadline):
                break
            msg = self.consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    self.errors.append(f"consumer: {msg.error()}")
                continue
            self.consumed.append(int(msg.value()))

    def check_progress(self, what, timeout_s=20):
        """The pair keeps going: a record produced now is delivered and consumed."""
        before = len(self.consumed)
        deadline = time.monotonic() + timeout_s
        while len(self.consumed) <= before + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.consumed) > before + 2, f"the bystanders made no progress during {what}"
        assert not self.errors, f"the bystanders saw errors during {what}: {self.errors[:5]}"

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=60)
            assert not t.is_alive(), "a bystander thread did not finish"
        self.consumer.close()
        assert not self.errors, f"the bystanders saw errors: {self.errors[:10]}"
        assert self.delivered == list(range(self.sent)), "the producer's records were not all delivered in order"
        assert self.consumed == self.delivered, \
            f"the consumer read {len(self.consumed)} records, {len(self.delivered)} were delivered (or out of order)"


# ---- Raw connections -------------------------------------------------------------

def connect(endpoint):
    s = socket.create_connection((endpoint.host, endpoint.port), timeout=CLOSE_TIMEOUT_S)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def request_header(api_key, version, correlation=7, client_id="bad-input", flexible=False):
    head = struct.pack(">hhi", api_key, version, correlation)
    head += struct.pack(">h", len(client_id)) + client_id.encode()
    return head + (b"\x00" if flexible else b"")


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def wait_closed(sock, timeout_s=CLOSE_TIMEOUT_S):
    """True once the broker has closed the connection (EOF or reset), within the timeout."""
    sock.settimeout(timeout_s)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                return True
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def read_response(sock, correlation, timeout_s=CLOSE_TIMEOUT_S):
    sock.settimeout(timeout_s)
    conn = raw_kafka.Connection.__new__(raw_kafka.Connection)
    conn.sock = sock
    body = conn.receive(correlation)
    assert body is not None, "the broker closed the connection instead of answering"
    return body


def log_lines_about(broker, peer):
    return [line for line in broker.log_text().splitlines() if f"from {peer}:" in line or f"from {peer} " in line]


def expect_closed_with_one_line(broker, sock, reason_pattern):
    """The broker closes the connection and logs exactly one line about it, matching the reason."""
    host, port = sock.getsockname()[:2]
    peer = f"{host}:{port}"
    assert wait_closed(sock), f"the broker did not close the connection ({reason_pattern})"
    sock.close()
    deadline = time.monotonic() + LOG_TIMEOUT_S
    lines = log_lines_about(broker, peer)
    while not lines and time.monotonic() < deadline:
        time.sleep(0.05)
        lines = log_lines_about(broker, peer)
    assert len(lines) == 1, f"expected one log line about {peer}, got {lines}"
    assert re.search(reason_pattern, lines[0]), f"log line {lines[0]!r} does not say {reason_pattern!r}"
    assert "[warning]" in lines[0] or " warn" in lines[0].lower(), lines[0]


def attack_closes(broker, endpoint, data, reason_pattern, close_after_send=False):
    s = connect(endpoint)
    s.sendall(data)
    if close_after_send:
        host, port = s.getsockname()[:2]
        s.close()
        peer = f"{host}:{port}"
        deadline = time.monotonic() + LOG_TIMEOUT_S
        while not log_lines_about(broker, peer) and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = log_lines_about(broker, peer)
        assert len(lines) == 1 and re.search(reason_pattern, lines[0]), lines
        return
    expect_closed_with_one_line(broker, s, reason_pattern)


# ---- The attacks -------------------------------------------------------------------

def framing_attacks(broker, endpoint):
    # Sizes outside 0..socket.request.max.bytes: refused before any byte of the body is read.
    attack_closes(broker, endpoint, struct.pack(">I", 0x7FFFFFFF) + b"\x00" * 16,
                  r"frame size 2147483647 outside 0\.\.104857600 \(socket\.request\.max\.bytes\)")
    attack_closes(broker, endpoint, struct.pack(">I", 0x80000000) + b"\x00" * 16, r"frame size -2147483648 outside")
    attack_closes(broker, endpoint, struct.pack(">i", -1), r"frame size -1 outside")
    # A truncated frame, then the client goes.
    attack_closes(broker, endpoint, struct.pack(">i", 100) + b"\x00\x03\x00\x01" + b"x" * 6,
                  r"truncated frame: peer closed with 14 of 104 bytes received", close_after_send=True)
    # Fewer bytes than any request header.
    attack_closes(broker, endpoint, frame(b"\x00\x03\x00"), r"request header truncated: frame of 3 bytes")
    # A valid header whose body is cut short: Metadata v1 announcing 3 topics, holding one.
    body = struct.pack(">i", 3) + struct.pack(">h", 5) + b"topic"
    attack_closes(broker, endpoint, frame(request_header(API_METADATA, 1) + body),
                  r"malformed Metadata v1 request: short read")
    # An api key nobody defines, and a known one at a version nobody serves.
    attack_closes(broker, endpoint, frame(request_header(999, 0) + b"\x00" * 8), r"unknown api key 999")
    attack_closes(broker, endpoint, frame(request_header(API_METADATA, 99) + b"\x00" * 8),
                  r"Metadata v99 is not supported \(versions 0\.\.\d+\)")
    # A request that decodes into more memory than a request may: Metadata v1
    # with two million empty topic names (4 MB on the wire, ~160 MB decoded).
    names = 2_000_000
    body = struct.pack(">i", names) + b"\x00\x00" * names
    attack_closes(broker, endpoint, frame(request_header(API_METADATA, 1) + body),
                  r"malformed Metadata v1 request: decoded size over the request's budget")


def api_versions_from_the_future(endpoint):
    """KIP-511: an ApiVersions version the broker does not know gets a v0
    answer with UNSUPPORTED_VERSION and the supported ranges; the connection
    stays open for the client to ask again at a version it knows."""
    s = connect(endpoint)
    try:
        s.sendall(frame(request_header(API_API_VERSIONS, 99, correlation=41, flexible=True) + b"\x00" * 8))
        r = raw_kafka.Reader(read_response(s, 41))
        assert r.int16() == UNSUPPORTED_VERSION
        ranges = {}
        for _ in range(r.int32()):
            key, lo, hi = r.int16(), r.int16(), r.int16()
            ranges[key] = (lo, hi)
        assert r.pos == len(r.data), "a v0 ApiVersions answer has nothing after the ranges"
        assert ranges.get(API_API_VERSIONS, (0, 0))[1] >= 3, ranges
        assert API_PRODUCE in ranges and API_METADATA in ranges, ranges
        # The client asks again at a version both know: v0, the classic encoding.
        s.sendall(frame(request_header(API_API_VERSIONS, 0, correlation=42)))
        r = raw_kafka.Reader(read_response(s, 42))
        assert r.int16() == NONE
    finally:
        s.close()


def resign(batch):
    """Recomputes the CRC of a batch after an edit behind it."""
    b = bytearray(batch)
    struct.pack_into(">I", b, 17, raw_kafka.crc32c(bytes(b[21:])))
    return bytes(b)


def good_batch(n=3):
    ts = now_ms()
    return raw_kafka.batch([(b"k%d" % i, b"v%d" % i, ts + i) for i in range(n)], ts)


def compressed_batch(codec, section, count=1):
    """A batch header for a records section given as is (compressed or not)."""
    ts = now_ms()
    after_crc = struct.pack(">hiqqqhii", codec, count - 1, ts, ts, -1, -1, -1, count) + section
    return struct.pack(">qiibI", 0, 4 + 1 + 4 + len(after_crc), -1, 2, raw_kafka.crc32c(after_crc)) + after_crc


def gzip_bomb_batch():
    """One record whose value is BOMB_BYTES zeros, gzip-compressed: ~80 KB that
    would expand past the broker's decompression bound."""
    value_head = raw_kafka.varint(BOMB_BYTES)
    record_body_len = 1 + 1 + 1 + 1 + len(value_head) + BOMB_BYTES + 1  # attrs, ts delta, offset delta, key, value, headers
    head = raw_kafka.varint(record_body_len) + b"\x00" + raw_kafka.varint(0) + raw_kafka.varint(0) \
        + raw_kafka.varint(-1) + value_head
    z = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip wrapper
    out = z.compress(head)
    zeros = bytes(1024 * 1024)
    for _ in range(BOMB_BYTES // len(zeros)):  # bounded: 80 chunks
        out += z.compress(zeros)
    out += z.compress(raw_kafka.varint(0)) + z.flush()
    return compressed_batch(1, out)


def produce_attacks(endpoint):
    conn = raw_kafka.Connection(endpoint.host, endpoint.port)
    try:
        def produce_error(batch):
            return conn.produce({ATTACK_TOPIC: {0: batch}})[(ATTACK_TOPIC, 0)]["error"]

        assert produce_error(good_batch()) == NONE
        wrong_crc = bytearray(good_batch())
        wrong_crc[-1] ^= 0x55
        assert produce_error(bytes(wrong_crc)) == CORRUPT_MESSAGE
        for delta in (+7, -7):
            wrong_length = bytearray(good_batch())
            length = struct.unpack_from(">i", wrong_length, 8)[0]
            struct.pack_into(">i", wrong_length, 8, length + delta)
            assert produce_error(bytes(wrong_length)) == CORRUPT_MESSAGE, delta
        # The record count lies: against last_offset_delta, or (both raised
        # together) against the records actually there. CRCs are right.
        lying = bytearray(good_batch(3))
        struct.pack_into(">i", lying, 57, 5)
        assert produce_error(resign(lying)) == INVALID_RECORD
        lying = bytearray(good_batch(3))
        struct.pack_into(">i", lying, 23, 4)  # last_offset_delta
        struct.pack_into(">i", lying, 57, 5)
        assert produce_error(resign(lying)) == INVALID_RECORD
        # Garbage where compressed records should be, for every codec.
        garbage = os.urandom(300)
        for codec in (1, 2, 3, 4):
            assert produce_error(compressed_batch(codec, garbage)) == CORRUPT_MESSAGE, codec
        # A decompression bomb stops at the bound.
        assert produce_error(gzip_bomb_batch()) == INVALID_RECORD
        # The connection still serves.
        assert produce_error(good_batch()) == NONE
    finally:
        conn.close()


def stalled_connections(broker, endpoint, bystanders):
    """1,000 connections each send half a frame and stall: nobody else waits
    for them, and connections.max.idle.ms closes each with one line."""
    sockets = []
    try:
        for i in range(STALLED_CONNECTIONS):
            s = connect(endpoint)
            payload = request_header(API_METADATA, 1, correlation=i) + struct.pack(">i", -1)
            s.sendall(struct.pack(">i", 2 * len(payload)) + payload)  # half of the announced frame
            sockets.append(s)
        # Meanwhile: a fresh connection is answered at once, and the pair keeps going.
        fresh = raw_kafka.Connection(endpoint.host, endpoint.port)
        assert fresh.produce({ATTACK_TOPIC: {0: good_batch()}})[(ATTACK_TOPIC, 0)]["error"] == NONE
        fresh.close()
        bystanders.check_progress("the stalled connections")
        # Every stalled connection is closed once idle for connections.max.idle.ms.
        open_ = {s.fileno(): s for s in sockets}
        deadline = time.monotonic() + IDLE_MS / 1000 + 30
        while open_ and time.monotonic() < deadline:  # bounded by the deadline
            readable, _, _ = select.select(list(open_.values())[:500], [], [], 0.5)
            for s in readable:
                try:
                    data = s.recv(4096)
                except ConnectionResetError:
                    data = b""
                assert not data, "a stalled connection got an answer"
                del open_[s.fileno()]
        assert not open_, f"{len(open_)} stalled connections were still open after connections.max.idle.ms"
    finally:
        for s in sockets:
            s.close()
    pattern = f"idle for {IDLE_MS} ms (connections.max.idle.ms) with a partial frame"
    deadline = time.monotonic() + LOG_TIMEOUT_S
    count = 0
    while time.monotonic() < deadline:
        count = sum(1 for line in broker.log_text().splitlines() if pattern in line)
        if count >= STALLED_CONNECTIONS:
            break
        time.sleep(0.1)
    assert count == STALLED_CONNECTIONS, f"{count} log lines for {STALLED_CONNECTIONS} stalled connections"


def check(broker):
    endpoint = broker.endpoint
    admin = AdminClient({"bootstrap.servers": endpoint.bootstrap})
    topics = [NewTopic(BYSTANDER_TOPIC, num_partitions=1, replication_factor=1),
              NewTopic(ATTACK_TOPIC, num_partitions=1, replication_factor=1)]
    for future in admin.create_topics(topics, operation_timeout=20).values():
        future.result(timeout=30)

    bystanders = Bystanders(endpoint.bootstrap)
    bystanders.start()
    bystanders.check_progress("the start")
    pid = broker.process.pid
    rss_start = rss_bytes(pid)

    for name, attack in [("framing attacks", lambda: framing_attacks(broker, endpoint)),
                         ("ApiVersions from the future", lambda: api_versions_from_the_future(endpoint)),
                         ("produce attacks", lambda: produce_attacks(endpoint)),
                         ("stalled connections", lambda: stalled_connections(broker, endpoint, bystanders))]:
        started = time.monotonic()
        attack()
        bystanders.check_progress(name)
        peak = rss_bytes(pid, "VmHWM")
        print(f"{name}: {time.monotonic() - started:.1f} s, broker peak RSS {peak / 2**20:.0f} MiB "
              f"(+{(peak - rss_start) / 2**20:.0f} MiB)", flush=True)
        assert peak - rss_start < RSS_GROWTH_MAX_BYTES, \
            f"the broker's peak RSS grew by {(peak - rss_start) / 2**20:.0f} MiB during {name}"

    bystanders.stop()
    print(f"bystanders: {len(bystanders.delivered)} records produced and consumed without an error", flush=True)


if __name__ == "__main__":
    raise_fd_limit(4096)
    # ASan keeps freed memory in quarantine (256 MiB by default), which would
    # count against the memory bound without being the broker's own.
    os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:quarantine_size_mb=16")
    harness.run_broker_test(check, description=__doc__.splitlines()[0], overrides=OVERRIDES)
