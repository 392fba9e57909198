"""A small Kafka wire client for the data-path tests (standard library only):
request framing, the primitives of both the classic and the flexible
encodings, record batch v2 (with CRC-32C) and the Produce, Fetch and
Metadata requests at the versions the tests use. The tests need it for what
stock clients never send: corrupt batches, wrong acks, fetch sessions."""

import socket
import struct

READ_LIMIT = 64 * 1024 * 1024


# ---- CRC-32C (Castagnoli), table-driven ---------------------------------

def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


# ---- Encoding -------------------------------------------------------------

def uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def varint(v):
    return uvarint((v << 1) ^ (v >> 63))


class Writer:
    def __init__(self, flexible=False):
        self.flexible = flexible
        self.buf = bytearray()

    def raw(self, fmt, *v):
        self.buf += struct.pack(">" + fmt, *v)
        return self

    def int8(self, v): return self.raw("b", v)
    def int16(self, v): return self.raw("h", v)
    def int32(self, v): return self.raw("i", v)
    def int64(self, v): return self.raw("q", v)
    def boolean(self, v): return self.raw("?", v)
    def uuid(self, v): self.buf += v; return self

    def uvarint(self, v):
        self.buf += uvarint(v)
        return self

    def string(self, s):
        if s is None:
            self.buf += uvarint(0) if self.flexible else struct.pack(">h", -1)
            return self
        b = s.encode()
        self.buf += uvarint(len(b) + 1) if self.flexible else struct.pack(">h", len(b))
        self.buf += b
        return self

    def bytes_(self, b):
        if b is None:
            self.buf += uvarint(0) if self.flexible else struct.pack(">i", -1)
            return self
        self.buf += uvarint(len(b) + 1) if self.flexible else struct.pack(">i", len(b))
        self.buf += b
        return self

    def array(self, items, each):
        if items is None:
            self.buf += uvarint(0) if self.flexible else struct.pack(">i", -1)
            return self
        self.buf += uvarint(len(items) + 1) if self.flexible else struct.pack(">i", len(items))
        for item in items:
            each(self, item)
        return self

    def tags(self):
        if self.flexible:
            self.buf += uvarint(0)
        return self


class Reader:
    def __init__(self, data, flexible=False):
        self.data = data
        self.pos = 0
        self.flexible = flexible

    def raw(self, fmt):
        size = struct.calcsize(">" + fmt)
        assert self.pos + size <= len(self.data), "short response"
        v = struct.unpack_from(">" + fmt, self.data, self.pos)[0]
        self.pos += size
        return v

    def int8(self): return self.raw("b")
    def int16(self): return self.raw("h")
    def int32(self): return self.raw("i")
    def int64(self): return self.raw("q")
    def boolean(self): return self.raw("?")

    def uvarint(self):
        shift = value = 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    def length(self, classic_fmt):
        return self.uvarint() - 1 if self.flexible else self.raw(classic_fmt)

    def string(self):
        n = self.length("h")
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def bytes_(self):
        n = self.length("i")
        if n < 0:
            return None
        b = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return b

    def uuid(self):
        b = bytes(self.data[self.pos:self.pos + 16])
        self.pos += 16
        return b

    def array(self, each):
        n = self.length("i")
        return None if n < 0 else [each(self) for _ in range(n)]

    def skip_tags(self):
        if not self.flexible:
            return
        for _ in range(self.uvarint()):
            self.uvarint()
            self.pos += self.uvarint()

    def tags(self):
        """The tagged fields, {tag: bytes} ({} when not flexible)."""
        if not self.flexible:
            return {}
        out = {}
        for _ in range(self.uvarint()):
            tag = self.uvarint()
            size = self.uvarint()
            out[tag] = bytes(self.data[self.pos:self.pos + size])
            self.pos += size
        return out

    def end(self):
        assert self.pos == len(self.data), f"{len(self.data) - self.pos} bytes left over"


# ---- Record batches (v2) ----------------------------------------------------

def record(offset_delta, timestamp_delta, key, value, headers=()):
    body = bytearray(b"\x00")  # attributes
    body += varint(timestamp_delta) + varint(offset_delta)
    for field in (key, value):
        if field is None:
            body += varint(-1)
        else:
            body += varint(len(field)) + field
    body += varint(len(headers))
    for hk, hv in headers:
        body += varint(len(hk)) + hk + varint(len(hv)) + hv
    return varint(len(body)) + bytes(body)


def batch(records, first_timestamp, producer_id=-1, producer_epoch=-1, base_sequence=-1, attributes=0,
          base_offset=0):
    """records: (key, value, timestamp) tuples; returns a complete v2 batch."""
    body = b"".join(record(i, ts - first_timestamp, k, v) for i, (k, v, ts) in enumerate(records))
    max_ts = max(ts for _, _, ts in records)
    after_crc = struct.pack(">hiqqqhii", attributes, len(records) - 1, first_timestamp, max_ts, producer_id,
                            producer_epoch, base_sequence, len(records)) + body
    crc = crc32c(after_crc)
    length = 4 + 1 + 4 + len(after_crc)  # leader epoch, magic, crc, the rest
    return struct.pack(">qiibI", base_offset, length, -1, 2, crc) + after_crc


# ---- A connection -----------------------------------------------------------

class Connection:
    def __init__(self, host, port, timeout_s=15, client_id="runnel-e2e-raw"):
        self.sock = socket.create_connection((host, port), timeout=timeout_s)
        self.client_id = client_id
        self.correlation = 0

    def close(self):
        self.sock.close()

    def send(self, api_key, version, body, flexible_header=False):
        self.correlation += 1
        head = Writer(False).int16(api_key).int16(version).int32(self.correlation).string(self.client_id)
        if flexible_header:
            head.buf += uvarint(0)  # the request header's own tagged fields (header v2)
        frame = bytes(head.buf) + bytes(body)
        self.sock.sendall(struct.pack(">i", len(frame)) + frame)
        return self.correlation

    def receive(self, correlation, flexible_header=False):
        """The response body, or None if the broker closed the connection."""
        size_bytes = self._read_exact(4)
        if size_bytes is None:
            return None
        size = struct.unpack(">i", size_bytes)[0]
        assert 0 <= size <= READ_LIMIT, size
        frame = self._read_exact(size)
        assert frame is not None, "connection closed inside a response"
        r = Reader(frame, flexible_header)
        got = r.int32()
        assert got == correlation, (got, correlation)
        r.skip_tags()
        return frame[r.pos:]

    def call(self, api_key, version, body, flexible=False):
        """One request and its answer: a Reader at the response body."""
        c = self.send(api_key, version, body, flexible_header=flexible)
        data = self.receive(c, flexible_header=flexible)
        assert data is not None, f"api {api_key} v{version}: the broker closed the connection"
        return Reader(data, flexible)

    def _read_exact(self, n):
        out = bytearray()
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                return None if not out else bytes(out)
            out += chunk
        return bytes(out)

    # ---- Produce v8 (classic encoding, record_errors present) ------------

    def produce(self, topic_partitions, acks=-1, timeout_ms=10000, version=8, expect_response=True):
        """topic_partitions: {topic: {partition: records bytes or None}}. Returns
        {(topic, partition): dict} or None when no response comes."""
        w = Writer(False).string(None).int16(acks).int32(timeout_ms)
        w.array(list(topic_partitions.items()), lambda w, t: (
            w.string(t[0]), w.array(list(t[1].items()), lambda w, p: (w.int32(p[0]), w.bytes_(p[1])))))
        c = self.send(0, version, w.buf)
        if not expect_response:
            return None
        body = self.receive(c)
        assert body is not None, "the broker closed the connection instead of answering"
        r = Reader(body)
        out = {}

        def partition(r, topic):
            p = {"index": r.int32(), "error": r.int16(), "base_offset": r.int64(), "log_append_time": r.int64()}
            if version >= 5:
                p["log_start_offset"] = r.int64()
            if version >= 8:
                p["record_errors"] = r.array(lambda r: (r.int32(), r.string()))
                p["error_message"] = r.string()
            out[(topic, p["index"])] = p

        def topic(r):
            name = r.string()
            r.array(lambda r: partition(r, name))

        r.array(topic)
        r.int32()  # throttle
        return out

    # ---- Fetch v11 (classic) and v13 (flexible, topic ids) ----------------

    def fetch(self, partitions, max_wait_ms=0, min_bytes=0, max_bytes=1 << 20, session_id=0, session_epoch=-1,
              forgotten=(), version=11, isolation_level=0):
        """partitions: [(topic or topic id, partition, fetch_offset, partition_max_bytes)]."""
        flexible = version >= 12
        w = Writer(flexible)
        w.int32(-1).int32(max_wait_ms).int32(min_bytes).int32(max_bytes).int8(isolation_level)
        w.int32(session_id).int32(session_epoch)
        topics = {}
        for t, p, offset, pmax in partitions:
            topics.setdefault(t, []).append((p, offset, pmax))

        def topic_name(w, t):
            if version >= 13:
                w.uuid(t)
            else:
                w.string(t)

        def one_partition(w, p):
            w.int32(p[0]).int32(-1).int64(p[1])
            if version >= 12:
                w.int32(-1)  # last_fetched_epoch
            w.int64(-1).int32(p[2])
            w.tags()

        w.array(list(topics.items()), lambda w, t: (topic_name(w, t[0]), w.array(t[1], one_partition), w.tags()))
        w.array(list(forgotten), lambda w, f: (topic_name(w, f[0]), w.array(f[1], lambda w, p: w.int32(p)),
                                               w.tags()))
        w.string("")  # rack
        w.tags()
        c = self.send(1, version, w.buf, flexible_header=flexible)
        body = self.receive(c, flexible_header=flexible)
        assert body is not None, "the broker closed the connection instead of answering a fetch"
        r = Reader(body, flexible)
        r.int32()  # throttle
        answer = {"error": r.int16(), "session_id": r.int32(), "partitions": {}}

        def partition(r, topic):
            p = {"index": r.int32(), "error": r.int16(), "high_watermark": r.int64(),
                 "last_stable_offset": r.int64(), "log_start_offset": r.int64()}
            p["aborted"] = r.array(lambda r: (r.int64(), r.int64(), r.skip_tags()))
            p["preferred_read_replica"] = r.int32()
            p["records"] = r.bytes_()
            r.skip_tags()
            answer["partitions"][(topic, p["index"])] = p

        def topic(r):
            name = r.uuid() if version >= 13 else r.string()
            r.array(lambda r: partition(r, name))
            r.skip_tags()

        r.array(topic)
        r.skip_tags()
        return answer

    # ---- ListOffsets v7, OffsetForLeaderEpoch v3, DeleteRecords v1, InitProducerId v3

    def list_offsets(self, partitions, isolation_level=0):
        """partitions: [(topic, partition, timestamp)] -> {(topic, p): dict}."""
        topics = {}
        for t, p, ts in partitions:
            topics.setdefault(t, []).append((p, ts))
        # v7 (max timestamp, -3) is a flexible version.
        w = Writer(True).int32(-1).int8(isolation_level)
        w.array(list(topics.items()), lambda w, t: (
            w.string(t[0]), w.array(t[1], lambda w, p: w.int32(p[0]).int32(-1).int64(p[1]).tags()), w.tags()))
        w.tags()
        r = Reader(self.receive(self.send(2, 7, w.buf, flexible_header=True), flexible_header=True), True)
        r.int32()
        out = {}

        def partition(r, name):
            index = r.int32()
            out[(name, index)] = {"error": r.int16(), "timestamp": r.int64(), "offset": r.int64(),
                                  "leader_epoch": r.int32()}
            r.skip_tags()

        def topic(r):
            name = r.string()
            r.array(lambda r: partition(r, name))
            r.skip_tags()

        r.array(topic)
        r.skip_tags()
        return out

    def offset_for_leader_epoch(self, partitions):
        """partitions: [(topic, partition, leader_epoch)] -> {(topic, p): dict}."""
        topics = {}
        for t, p, e in partitions:
            topics.setdefault(t, []).append((p, e))
        w = Writer(False).int32(-1)
        w.array(list(topics.items()), lambda w, t: (
            w.string(t[0]), w.array(t[1], lambda w, p: w.int32(p[0]).int32(-1).int32(p[1]))))
        r = Reader(self.receive(self.send(23, 3, w.buf)))
        r.int32()
        out = {}

        def partition(r, name):
            error = r.int16()
            index = r.int32()
            out[(name, index)] = {"error": error, "leader_epoch": r.int32(), "end_offset": r.int64()}

        def topic(r):
            name = r.string()
            r.array(lambda r: partition(r, name))

        r.array(topic)
        return out

    def delete_records(self, partitions, timeout_ms=10000):
        """partitions: [(topic, partition, offset)] -> {(topic, p): dict}."""
        topics = {}
        for t, p, o in partitions:
            topics.setdefault(t, []).append((p, o))
        w = Writer(False)
        w.array(list(topics.items()), lambda w, t: (
            w.string(t[0]), w.array(t[1], lambda w, p: w.int32(p[0]).int64(p[1]))))
        w.int32(timeout_ms)
        r = Reader(self.receive(self.send(21, 1, w.buf)))
        r.int32()
        out = {}

        def topic(r):
            name = r.string()
            r.array(lambda r: out.__setitem__((name, r.int32()), {"low_watermark": r.int64(), "error": r.int16()}))

        r.array(topic)
        return out

    def init_producer_id(self, transactional_id=None, producer_id=-1, producer_epoch=-1):
        w = Writer(True).string(transactional_id).int32(60000).int64(producer_id).int16(producer_epoch).tags()
        r = Reader(self.receive(self.send(22, 3, w.buf, flexible_header=True), flexible_header=True), True)
        r.int32()
        return {"error": r.int16(), "producer_id": r.int64(), "producer_epoch": r.int16()}

    # ---- Metadata v12 (flexible): topic ids ---------------------------------

    def topic_ids(self, names):
        w = Writer(True)
        w.array(names, lambda w, n: (w.uuid(bytes(16)), w.string(n), w.tags()))
        w.raw("?", False).raw("?", False).tags()  # allow_auto_topic_creation, include_topic_authorized_operations
        c = self.send(3, 12, w.buf, flexible_header=True)
        r = Reader(self.receive(c, flexible_header=True), True)
        r.int32()  # throttle
        r.array(lambda r: (r.int32(), r.string(), r.int32(), r.string(), r.skip_tags()))  # brokers
        r.string()  # cluster id
        r.int32()  # controller
        ids = {}

        def topic(r):
            error = r.int16()
            name = r.string()
            tid = r.uuid()
            r.raw("?")
            r.array(lambda r: (r.int16(), r.int32(), r.int32(), r.int32(), r.array(lambda r: r.int32()),
                               r.array(lambda r: r.int32()), r.array(lambda r: r.int32()), r.skip_tags()))
            r.int32()  # authorized operations
            r.skip_tags()
            ids[name] = (error, tid)

        r.array(topic)
        return ids


def records_of(record_set):
    """(offset, key, value) of every record of every uncompressed batch in a record set."""
    out = []
    pos = 0
    while pos + 12 <= len(record_set):
        base_offset, length = struct.unpack_from(">qi", record_set, pos)
        end = pos + 12 + length
        if end > len(record_set):
            break
        attributes = struct.unpack_from(">h", record_set, pos + 21)[0]
        assert attributes & 0x07 == 0, "records_of reads uncompressed batches only"
        r = Reader(record_set[pos + 61:end])
        count = struct.unpack_from(">i", record_set, pos + 57)[0]
        for _ in range(count):
            _zig_length = r.uvarint()
            r.int8()
            r.uvarint()  # timestamp delta
            offset_delta = _unzig(r.uvarint())
            fields = []
            for _f in range(2):
                n = _unzig(r.uvarint())
                fields.append(None if n < 0 else bytes(r.data[r.pos:r.pos + n]))
                r.pos += max(n, 0)
            for _h in range(_unzig(r.uvarint())):
                r.pos += _unzig(r.uvarint())
                n = _unzig(r.uvarint())
                r.pos += max(n, 0)
            out.append((base_offset + offset_delta, fields[0], fields[1]))
        pos = end
    return out


def _unzig(v):
    return (v >> 1) ^ -(v & 1)


def run_with_overrides(check, overrides, description=None):
    """harness.run_broker_test with broker config overrides: check(broker)
    gets a started Broker; exits 0 only if check returns and the broker then
    stops cleanly (SIGTERM, exit 0, no sanitizer report)."""
    import harness

    harness.run_broker_test(check, description=description, overrides=overrides)
