"""Shared pieces of the produce/consume acceptance tests (issue 4): the records
each client sends, the partition each client's partitioner must choose, and
the check that what came back is exactly what went in.

Every test produces `records` keyed records (100,000 by default, the issue's
number) with headers into a fresh 6-partition topic, consumes them all back
and calls `verify`, which fails (AssertionError, with the first few offending
records) unless:
  * every record is present exactly once (nothing missing, nothing twice);
  * each record is on the partition the producing client's partitioner chose
    for its key;
  * within each partition, offsets run 0, 1, 2, ... with no gap and records
    are in the order they were produced;
  * keys, values, headers and timestamps are the ones sent.

Modes (parse_args), one CTest test each:
  --restart    idempotent producer, broker restarted (SIGTERM) mid-stream:
               `verify` as above (no duplicates, no gaps);
  --kill       the topic has flush.messages=1 (TOPIC_CONFIG_KILL) and the
               broker is killed (kill -9) and restarted mid-stream, after some
               records were acknowledged. Idempotent clients: `verify`; a
               client without idempotence (kafka-python): every acknowledged
               record at least once, `verify_at_least_once`;
  --bad-input  the broker runs with auto.create.topics.enable=false; between
               the two halves of the stream the client sends a record over a
               small topic's max.message.bytes (MESSAGE_TOO_LARGE) and to a
               missing topic (UNKNOWN_TOPIC_OR_PARTITION), and a raw socket
               sends a corrupt batch into the client's topic (CORRUPT_MESSAGE,
               `send_bad_batches`); then the same client finishes and `verify`.

Standard library only, like harness.py (raw_kafka.py is too).
"""

import argparse
import os
import random
import shutil
import socket
import string
import struct
import time
import zlib

import raw_kafka

PARTITIONS = 6
DEFAULT_RECORDS = 100_000
# Keys repeat (each about ten times at the default count), as real keys do,
# so that the per-key partition check sees several records per key.
DISTINCT_KEYS = 10_007
# A fixed base for clients that set timestamps themselves: record i gets BASE + i.
TIMESTAMP_BASE_MS = 1_700_000_000_000
SHOWN_MAX = 10  # offending records listed in a failure message

# Every codec in the record batch format; a client test runs the ones its client has.
CODECS = ("none", "gzip", "snappy", "lz4", "zstd")


def key_of(i):
    return f"key-{i % DISTINCT_KEYS}"


def value_of(i, tag):
    # Compressible filler, so that every codec has real work to do.
    return f"{tag}-{i:07d}-" + "payload-" * 8


def index_of(value, tag):
    """The record number inside a value made by value_of, or None if it is not one."""
    prefix = f"{tag}-"
    if not value.startswith(prefix):
        return None
    try:
        return int(value[len(prefix):len(prefix) + 7])
    except ValueError:
        return None


def headers_of(i, tag):
    """Per-record headers for clients that can vary them record by record."""
    return [("seq", str(i)), ("tag", tag), ("empty", "")]


def murmur2(data):
    """Kafka's murmur2 (the Java client's Utils.murmur2), as an unsigned 32-bit value."""
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(length // 4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    tail = length & ~3
    extra = length % 4
    if extra == 3:
        h ^= data[tail + 2] << 16
    if extra >= 2:
        h ^= data[tail + 1] << 8
    if extra >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def murmur2_partition(key, partitions=PARTITIONS):
    """The Java client's default partitioner for a keyed record (also kafka-python's and
    kafkajs's DefaultPartitioner): toPositive(murmur2(key)) % partitions."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def crc32_partition(key, partitions=PARTITIONS):
    """librdkafka's default partitioner (consistent_random) for a keyed record:
    CRC-32 of the key modulo the partition count. kcat and runnelctl use it."""
    return (zlib.crc32(key.encode()) & 0xFFFFFFFF) % partitions


class Consumed:
    """One record as a client read it back."""

    __slots__ = ("partition", "offset", "key", "value", "headers", "timestamp", "timestamp_type")

    def __init__(self, partition, offset, key, value, headers, timestamp, timestamp_type="CreateTime"):
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
        self.timestamp_type = timestamp_type

    def __repr__(self):
        return (f"<p{self.partition}@{self.offset} key={self.key!r} value={self.value[:24]!r}... "
                f"headers={self.headers!r} ts={self.timestamp} {self.timestamp_type}>")


def _fail(what, items):
    shown = ", ".join(repr(x) for x in items[:SHOWN_MAX])
    more = f" (and {len(items) - SHOWN_MAX} more)" if len(items) > SHOWN_MAX else ""
    raise AssertionError(f"{what}: {len(items)} records: {shown}{more}")


def _sort_out(consumed, records, tag):
    """[(index, record)] of the records made by value_of for this run; fails on any other."""
    pairs, foreign = [], []
    for c in consumed:
        i = index_of(c.value, tag)
        if i is None or i >= records:
            foreign.append(c)
        else:
            pairs.append((i, c))
    if foreign:
        _fail("records that were never produced", foreign)
    return pairs


def _check_contents(pairs, partition_of, expected_headers, timestamp_ok):
    """Key, partition, headers and timestamp of every (index, record)."""
    wrong_key = [(i, c) for i, c in pairs if c.key != key_of(i)]
    if wrong_key:
        _fail("records with the wrong key", wrong_key)
    wrong_partition = [(i, c, partition_of(c.key)) for i, c in pairs if c.partition != partition_of(c.key)]
    if wrong_partition:
        _fail("records not on the partition the partitioner chose (index, record, expected)", wrong_partition)
    wrong_headers = [(i, c) for i, c in pairs if list(c.headers) != list(expected_headers(i))]
    if wrong_headers:
        _fail(f"records whose headers differ from {expected_headers(0)!r}-style", wrong_headers)
    wrong_ts = [(i, c) for i, c in pairs if not timestamp_ok(i, c)]
    if wrong_ts:
        _fail("records with a wrong timestamp", wrong_ts)


def _by_partition(pairs, partitions):
    """Per partition, [(offset, index)] sorted by offset; fails unless the offsets run 0, 1, 2, ..."""
    out = []
    for p in range(partitions):
        in_partition = sorted((c.offset, i) for i, c in pairs if c.partition == p)
        offsets = [o for o, _ in in_partition]
        if offsets != list(range(len(offsets))):
            gaps = [(a, b) for a, b in zip([-1] + offsets, offsets) if b != a + 1]
            _fail(f"partition {p}: offsets not 0..{len(offsets) - 1} without gaps (previous, next)", gaps)
        out.append(in_partition)
    return out


def _check_order(p, order):
    out_of_order = [(a, b) for a, b in zip(order, order[1:]) if b <= a]
    if out_of_order:
        _fail(f"partition {p}: records out of produce order (earlier index, later index)", out_of_order)


def verify(consumed, records, tag, partition_of, expected_headers, timestamp_ok, partitions=PARTITIONS):
    """Checks the consumed records against what was produced: every one of
    the `records` exactly once.

    partition_of(key) -> the partition the producer's partitioner chose;
    expected_headers(i) -> the list of (key, value) headers record i was sent with;
    timestamp_ok(i, record) -> whether record i's timestamp is the one sent.
    """
    pairs = _sort_out(consumed, records, tag)
    by_index, duplicates = {}, []
    for i, c in pairs:
        if i in by_index:
            duplicates.append((i, by_index[i], c))
        else:
            by_index[i] = c
    if duplicates:
        _fail("records consumed twice", duplicates)
    missing = [i for i in range(records) if i not in by_index]
    if missing:
        _fail(f"records missing (of {records})", missing)
    _check_contents(pairs, partition_of, expected_headers, timestamp_ok)
    for p, in_partition in enumerate(_by_partition(pairs, partitions)):
        _check_order(p, [i for _, i in in_partition])
    counts = [sum(1 for c in by_index.values() if c.partition == p) for p in range(partitions)]
    print(f"verified {records} records: exactly once, on the partitioner's partition, in order, "
          f"headers and timestamps intact; per partition {counts}")


def verify_at_least_once(consumed, acknowledged, records, tag, partition_of, expected_headers, timestamp_ok,
                         partitions=PARTITIONS):
    """The check for a producer without idempotence whose broker went away
    mid-stream (its retries may write a record twice, and a record whose send
    failed may or may not be there): every acknowledged record (the indexes in
    `acknowledged`) is present at least once; no record is one this run did
    not produce; offsets have no gaps; within each partition, records appear
    for the first time in produce order; keys, partitions, headers and
    timestamps are the ones sent, for every copy."""
    pairs = _sort_out(consumed, records, tag)
    present = {i for i, _ in pairs}
    lost = sorted(set(acknowledged) - present)
    if lost:
        _fail(f"acknowledged records missing (of {len(acknowledged)} acknowledged)", lost)
    _check_contents(pairs, partition_of, expected_headers, timestamp_ok)
    for p, in_partition in enumerate(_by_partition(pairs, partitions)):
        seen, first = set(), []
        for _, i in in_partition:
            if i not in seen:
                seen.add(i)
                first.append(i)
        _check_order(p, first)
    copies = len(pairs) - len(present)
    unacknowledged = len(present - set(acknowledged))
    print(f"verified {len(acknowledged)} acknowledged records (of {records} sent): each at least once, on the "
          f"partitioner's partition, first copies in order, headers and timestamps intact; {copies} second "
          f"copies (retries), {unacknowledged} unacknowledged records present")


# What the produce/consume tests need from the broker, by Kafka API key.
NEEDED_APIS = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 19: "CreateTopics", 22: "InitProducerId"}


def require_apis(endpoint, needed=NEEDED_APIS, timeout_s=10):
    """Fails at once, naming what is missing, when the broker does not
    advertise an API the test needs (ApiVersions v0, the one every broker
    answers) -- rather than letting a client retry until its timeout."""
    request = struct.pack(">hhih", 18, 0, 1, len("runnel-e2e")) + b"runnel-e2e"
    with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout_s) as s:
        s.sendall(struct.pack(">i", len(request)) + request)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError("the broker closed the connection during ApiVersions")
            data += chunk
    _, error, count = struct.unpack(">ihi", data[4:14])
    assert error == 0, f"ApiVersions answered error code {error}"
    advertised = {struct.unpack(">h", data[14 + 6 * i:16 + 6 * i])[0] for i in range(count)}
    missing = [f"{name} (key {key})" for key, name in needed.items() if key not in advertised]
    assert not missing, f"the broker does not advertise {', '.join(missing)}: this test cannot run yet"


def parse_args(description):
    """The arguments every acceptance test takes; the rest goes to harness.py."""
    p = argparse.ArgumentParser(description=description, add_help=False)
    p.add_argument("--codec", default="none", choices=CODECS)
    p.add_argument("--records", type=int, default=int(os.environ.get("RUNNEL_E2E_RECORDS", DEFAULT_RECORDS)))
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--restart", action="store_true",
                      help="idempotent producer, broker restarted (SIGTERM) mid-stream")
    mode.add_argument("--kill", action="store_true",
                      help="topic with flush.messages=1, broker killed (kill -9) and restarted mid-stream")
    mode.add_argument("--bad-input", action="store_true",
                      help="oversized record, missing topic, raw corrupt batch between two halves of the stream")
    p.add_argument("--runnelctl", default=os.environ.get("RUNNELCTL", shutil.which("runnelctl") or "runnelctl"))
    args, rest = p.parse_known_args()
    return args, rest


def mode_name(args):
    """"", "restart", "kill" or "bad-input": for topic and test names."""
    return "restart" if args.restart else "kill" if args.kill else "bad-input" if args.bad_input else ""


def run_name(client, args):
    """A topic name (and, with _ for -, the check's name) for this client, codec and mode."""
    return "-".join(x for x in (client, args.codec, mode_name(args)) if x)


# ---- --kill ---------------------------------------------------------------------

# Every append is fsynced before it is acknowledged, so that kill -9 may lose
# nothing that was acknowledged.
TOPIC_CONFIG_KILL = {"flush.messages": "1"}


def topic_config(args):
    return dict(TOPIC_CONFIG_KILL) if args.kill else {}


def described_configs(endpoint, topic, names, timeout_s=30):
    """{name: value} of a topic's configs, by DescribeConfigs v0 on a raw socket."""
    w = raw_kafka.Writer(False)
    w.array([topic], lambda w, t: (w.int8(2), w.string(t), w.array(list(names), lambda w, n: w.string(n))))
    conn = raw_kafka.Connection(endpoint.host, endpoint.port, timeout_s=timeout_s)
    try:
        body = conn.receive(conn.send(32, 0, w.buf))
    finally:
        conn.close()
    assert body is not None, "the broker closed the connection instead of answering DescribeConfigs"
    r = raw_kafka.Reader(body)
    r.int32()  # throttle

    def resource(r):
        error, message, _type, name = r.int16(), r.string(), r.int8(), r.string()
        # name, value, read_only, is_default, is_sensitive
        configs = r.array(lambda r: (r.string(), r.string(), r.int8(), r.int8(), r.int8()))
        return error, message, name, configs

    [(error, message, name, configs)] = r.array(resource)
    assert error == 0 and name == topic, f"DescribeConfigs {topic}: error {error} ({message}), resource {name}"
    return {n: v for n, v, *_ in configs}


def check_topic_configs(endpoint, topic, args):
    """The configs this mode created its topics with are the topics' configs
    (so that, say, the kill test really runs on flush.messages=1)."""
    wanted = {topic: topic_config(args)}
    if args.bad_input:
        wanted[small_topic(topic)] = SMALL_TOPIC_CONFIG
    for name, config in wanted.items():
        if config:
            got = described_configs(endpoint, name, config)
            assert got == config, f"topic {name}: configs {got}, created with {config}"


def acks_before_break(args):
    """Acknowledged records to wait for before the broker is restarted or killed mid-stream."""
    return max(1, args.records // 5)


# ---- --bad-input ------------------------------------------------------------------

NO_AUTO_CREATE = ("auto.create.topics.enable=false",)
CORRUPT_MESSAGE, UNKNOWN_TOPIC_OR_PARTITION, MESSAGE_TOO_LARGE = 2, 3, 10
# The small topic's max.message.bytes, and a record value well over it even
# compressed (max.message.bytes limits the batch as sent: random letters, not
# "xxx...", which zstd squeezes under any limit), and under every client's own
# default limit (1 MB), so that the client sends it.
SMALL_MAX_MESSAGE_BYTES = 10_000
OVERSIZED_VALUE = "".join(random.Random(4).choices(string.ascii_letters + string.digits,
                                                   k=3 * SMALL_MAX_MESSAGE_BYTES))
SMALL_TOPIC_CONFIG = {"max.message.bytes": str(SMALL_MAX_MESSAGE_BYTES)}


def broker_overrides(args):
    return list(NO_AUTO_CREATE) if args.bad_input else []


def small_topic(topic):
    return f"{topic}-small"


def missing_topic(topic):
    return f"{topic}-missing"


def send_bad_batches(endpoint, topic, timeout_s=30):
    """What a stock client cannot send, from a raw socket while the client
    under test is connected: a batch with a wrong CRC into `topic`'s
    partition 0 (CORRUPT_MESSAGE), then on the same connection a batch over
    the small topic's max.message.bytes (MESSAGE_TOO_LARGE) and a good batch
    to the missing topic (UNKNOWN_TOPIC_OR_PARTITION). None is appended:
    `verify` later finds no foreign record and no offset gap in `topic`."""
    now = int(time.time() * 1000)
    good = raw_kafka.batch([(b"raw-key", b"raw-not-a-record", now)], now)
    corrupt = bytearray(good)
    corrupt[-1] ^= 0xFF  # the last byte of the record: the CRC no longer matches
    oversized = raw_kafka.batch([(b"raw-key", OVERSIZED_VALUE.encode(), now)], now)
    conn = raw_kafka.Connection(endpoint.host, endpoint.port, timeout_s=timeout_s)
    try:
        answers = [(topic, CORRUPT_MESSAGE, conn.produce({topic: {0: bytes(corrupt)}})),
                   (small_topic(topic), MESSAGE_TOO_LARGE, conn.produce({small_topic(topic): {0: oversized}})),
                   (missing_topic(topic), UNKNOWN_TOPIC_OR_PARTITION, conn.produce({missing_topic(topic): {0: good}}))]
    finally:
        conn.close()
    for name, expected, answer in answers:
        error = answer[(name, 0)]["error"]
        assert error == expected, f"raw produce to {name}: error {error}, expected {expected}: {answer}"
    print("raw socket: corrupt batch CORRUPT_MESSAGE, oversized batch MESSAGE_TOO_LARGE, "
          "missing topic UNKNOWN_TOPIC_OR_PARTITION")


def assert_empty(endpoint, topic, timeout_s=30):
    """The topic's partition 0 holds no record (ListOffsets latest is 0)."""
    conn = raw_kafka.Connection(endpoint.host, endpoint.port, timeout_s=timeout_s)
    try:
        answer = conn.list_offsets([(topic, 0, -1)])[(topic, 0)]
    finally:
        conn.close()
    assert answer["error"] == 0 and answer["offset"] == 0, f"{topic}: expected no records, ListOffsets {answer}"
