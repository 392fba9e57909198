#!/usr/bin/python3
"""Captures record batches exactly as a stock client sends them.

librdkafka (through Debian's python3-confluent-kafka) produces a fixed set of
records, once per compression codec, to a minimal Kafka broker in this script
that speaks just enough of the protocol (ApiVersions, Metadata v1, Produce v3..v7)
on 127.0.0.1. The broker saves the records field of each Produce
request unchanged; those bytes become protocol/tests/testdata/librdkafka_<codec>.batch,
which the C++ tests validate and iterate.

Run: /usr/bin/python3 tools/capture_batches.py [--out DIR]
"""

import argparse
import os
import socket
import struct
import sys
import threading

from confluent_kafka import Producer

TOPIC = "capture"
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
# The tests expect exactly these records, in this order (see
# protocol/tests/record_batch_test.cc). The last timestamp is smaller than the
# one before it, so max_timestamp is not simply the last record's.
RECORDS = [
    # (key, value, headers, timestamp_ms)
    (b"key-0", b"value-0", [("trace", b"abc")], 1700000000000),
    (None, b"value with a null key", [], 1700000000001),
    (b"key-2", None, [("h-null", None)], 1700000000005),
    (b"key-3", b"x" * 2000, [("a", b"1"), ("b", b"2")], 1700000000003),
    (b"", b"", [], 1700000000002),
]

API_PRODUCE = 0
API_FETCH = 1
API_METADATA = 3
API_FIND_COORDINATOR = 10
API_API_VERSIONS = 18
# What the broker advertises, ranges starting at 0 as real brokers' do.
# librdkafka turns message format v2 on only when Produce 3 and Fetch 4 are
# offered, zstd only with Produce 7 and Fetch 10, lz4 only with
# FindCoordinator, and gzip and snappy only when Produce 0 is in the range.
# It sends the highest Produce version offered (7); Fetch and FindCoordinator
# are never sent by a plain producer, so they are advertised and not served.
ADVERTISED = [
    (API_PRODUCE, 0, 7),
    (API_FETCH, 0, 10),
    (API_METADATA, 1, 1),
    (API_FIND_COORDINATOR, 0, 0),
    (API_API_VERSIONS, 0, 3),
]
NODE_ID = 1
REQUEST_BYTES_MAX = 16 * 1024 * 1024
FLUSH_TIMEOUT_S = 30


class Reader:
    """Big-endian reads over a request body."""

    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("short request")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int16(self):
        return struct.unpack(">h", self.take(2))[0]

    def int32(self):
        return struct.unpack(">i", self.take(4))[0]

    def string(self):
        n = self.int16()
        return None if n < 0 else self.take(n).decode()

    def nullable_bytes(self):
        n = self.int32()
        return None if n < 0 else self.take(n)


def string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def api_versions_body(version):
    if version >= 3:  # flexible: compact array, tagged fields
        entries = b"".join(struct.pack(">hhh", k, lo, hi) + uvarint(0) for k, lo, hi in ADVERTISED)
        return struct.pack(">h", 0) + uvarint(len(ADVERTISED) + 1) + entries + struct.pack(">i", 0) + uvarint(0)
    entries = b"".join(struct.pack(">hhh", k, lo, hi) for k, lo, hi in ADVERTISED)
    body = struct.pack(">hi", 0, len(ADVERTISED)) + entries
    return body + (struct.pack(">i", 0) if version >= 1 else b"")


def metadata_v1_body(port, topics):
    brokers = struct.pack(">i", 1) + struct.pack(">i", NODE_ID) + string("127.0.0.1") + struct.pack(">ih", port, -1)
    body = brokers + struct.pack(">i", NODE_ID) + struct.pack(">i", len(topics))
    for name in topics:
        partition = struct.pack(">hiiii", 0, 0, NODE_ID, 1, NODE_ID) + struct.pack(">ii", 1, NODE_ID)
        body += struct.pack(">h", 0) + string(name) + b"\x00" + struct.pack(">i", 1) + partition
    return body


def produce_body(version, r, captured, next_offset):
    if version < 3:
        raise ValueError(f"Produce v{version} carries legacy message sets")
    r.string()  # transactional id
    r.int16()  # acks
    r.int32()  # timeout
    topics = []
    for _ in range(r.int32()):
        name = r.string()
        partitions = []
        for _ in range(r.int32()):
            index = r.int32()
            records = r.nullable_bytes()
            captured.append(records)
            partitions.append((index, next_offset[0]))
            next_offset[0] += struct.unpack(">i", records[57:61])[0] if records and len(records) >= 61 else 0
        topics.append((name, partitions))
    body = struct.pack(">i", len(topics))
    for name, partitions in topics:
        body += string(name) + struct.pack(">i", len(partitions))
        for index, base_offset in partitions:
            body += struct.pack(">ihqq", index, 0, base_offset, -1)  # error none, LogAppendTime none
            if version >= 5:
                body += struct.pack(">q", 0)  # log start offset
    return body + struct.pack(">i", 0)  # throttle time


class CaptureBroker:
    """One-node broker on 127.0.0.1 that records every Produce request's records."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.captured = []
        self.next_offset = [0]
        self.errors = []
        self.stopping = False
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        try:
            with conn:
                while True:
                    head = recv_exact(conn, 4)
                    if head is None:
                        return
                    size = struct.unpack(">i", head)[0]
                    if size < 0 or size > REQUEST_BYTES_MAX:
                        raise ValueError(f"bad request size {size}")
                    request = recv_exact(conn, size)
                    if request is None:
                        return
                    conn.sendall(self.answer(request))
        except Exception as e:  # reported by main; the client sees a closed socket
            self.errors.append(repr(e))

    def answer(self, request):
        r = Reader(request)
        api_key, version, correlation_id = r.int16(), r.int16(), r.int32()
        r.string()  # client id
        if api_key == API_API_VERSIONS:
            body = api_versions_body(version)  # its response header is never flexible
        elif api_key == API_METADATA:
            n = r.int32()
            topics = [TOPIC] if n < 0 else [r.string() for _ in range(n)]
            body = metadata_v1_body(self.port, topics)
        elif api_key == API_PRODUCE:
            body = produce_body(version, r, self.captured, self.next_offset)
        else:
            raise ValueError(f"api {api_key} v{version} not served")
        payload = struct.pack(">i", correlation_id) + body
        return struct.pack(">i", len(payload)) + payload

    def close(self):
        self.stopping = True
        self.listener.close()


def recv_exact(conn, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def capture(codec):
    broker = CaptureBroker()
    try:
        producer = Producer({
            "bootstrap.servers": f"127.0.0.1:{broker.port}",
            "compression.codec": codec,
            "linger.ms": 1000,  # flush() sends at once; until then the records gather
            "acks": 1,
            "enable.idempotence": False,
            "message.send.max.retries": 0,
        })
        # Learn the partition's leader first: records produced while it is
        # unknown can leave in more than one batch.
        producer.list_topics(TOPIC, timeout=FLUSH_TIMEOUT_S)
        for key, value, headers, ts in RECORDS:
            producer.produce(TOPIC, key=key, value=value, headers=headers, timestamp=ts, partition=0)
        left = producer.flush(FLUSH_TIMEOUT_S)
        if left != 0 or broker.errors:
            raise RuntimeError(f"{codec}: {left} records undelivered, broker errors {broker.errors}")
        if len(broker.captured) != 1:
            raise RuntimeError(f"{codec}: expected one batch, got {len(broker.captured)}")
        batch = broker.captured[0]
        count = struct.unpack(">i", batch[57:61])[0]
        attributes = struct.unpack(">h", batch[21:23])[0]
        if count != len(RECORDS) or attributes & 7 != CODECS.index(codec):
            raise RuntimeError(f"{codec}: batch has {count} records, codec bits {attributes & 7}")
        return batch
    finally:
        broker.close()


def main():
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "protocol", "tests", "testdata")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=default_out)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for codec in CODECS:
        batch = capture(codec)
        path = os.path.join(args.out, f"librdkafka_{codec}.batch")
        with open(path, "wb") as f:
            f.write(batch)
        print(f"{path}: {len(batch)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
