#!/usr/bin/python3
"""Captures stock Kafka clients' request frames as seeds for the request fuzzer.

A small loopback TCP proxy sits between the clients (kcat, confluent-kafka,
kafka-python, kafkajs) and a real Runnel broker it starts, and saves the body
of every request frame (what follows the int32 size) into
protocol/fuzz/corpus/request_fuzz/ as `<client>-<Api>-v<version>-<hash>`.

The broker serves only ApiVersions and Metadata so far, and stock clients never
send a request the broker does not advertise, nor produce to a topic without a
leader. So that the capture also holds the requests clients would really send
(Produce with real record batches, Fetch, ListOffsets, FindCoordinator,
CreateTopics, ...), the proxy rewrites two kinds of answers on their way back:
ApiVersions answers advertise every API at the spec's full range, and Metadata
answers for named topics describe each of them as one partition led by the
broker (at the proxy's address). Everything else passes through unchanged, and
the broker closes the connection on requests it does not serve, after the
proxy has seen them.

Run: /usr/bin/python3 tools/capture_requests.py --broker build/<dir>/broker/runnel [--out DIR]
"""

import argparse
import glob
import hashlib
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "e2e"))
import harness  # noqa: E402  (the project's own broker runner)

HOST = "127.0.0.1"
DEFAULT_OUT = os.path.join(REPO_ROOT, "protocol", "fuzz", "corpus", "request_fuzz")
SCHEMA_DIR = os.path.join(REPO_ROOT, "protocol", "schema")
KAFKAJS_DIR = os.path.join(REPO_ROOT, "tests", "e2e")

TOPIC = "seeds"
NODE_ID = harness.NODE_ID
API_METADATA = 3
API_API_VERSIONS = 18
FRAME_BYTES_MAX = 64 * 1024      # the fuzzer's -max_len; larger frames are not saved
SEEDS_PER_VERSION_MAX = 2        # per client, API and version: keeps the corpus small
CLIENT_TIMEOUT_S = 40
RECV_CHUNK_BYTES = 64 * 1024


def load_api_table():
    """{key: (name, min_version, max_version)} from the committed schema files."""
    table = {}
    line_re = re.compile(r"^request (\w+)Request key=(\d+) valid=(\d+)-(\d+)")
    for path in glob.glob(os.path.join(SCHEMA_DIR, "*_request.schema")):
        with open(path) as f:
            for line in f:
                m = line_re.match(line)
                if m:
                    table[int(m.group(2))] = (m.group(1), int(m.group(3)), int(m.group(4)))
    return table


# ---------------------------------------------------------------- wire helpers

def int16(v):
    return struct.pack(">h", v)


def int32(v):
    return struct.pack(">i", v)


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def string(s, compact):
    raw = s.encode()
    return (uvarint(len(raw) + 1) if compact else int16(len(raw))) + raw


def array_length(n, compact):
    return uvarint(n + 1) if compact else int32(n)


class Cursor:
    """Reads a request's fields; raises ValueError past the end."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("short frame")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int16(self):
        return struct.unpack(">h", self.take(2))[0]

    def int32(self):
        return struct.unpack(">i", self.take(4))[0]

    def uvarint(self):
        n, shift = 0, 0
        while shift < 35:
            b = self.take(1)[0]
            n |= (b & 0x7F) << shift
            if b & 0x80 == 0:
                return n
            shift += 7
        raise ValueError("varint too long")

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def nullable_string(self, compact):
        n = self.uvarint() - 1 if compact else self.int16()
        return None if n < 0 else self.take(n).decode(errors="replace")


# ---------------------------------------------------------------- rewritten answers

def api_versions_body(version, table):
    """An ApiVersions answer (error 0) advertising every API in the specs."""
    flexible = version >= 3
    out = int16(0) + array_length(len(table), flexible)
    for key in sorted(table):
        _, lo, hi = table[key]
        out += int16(key) + int16(lo) + int16(hi) + (b"\0" if flexible else b"")
    if version >= 1:
        out += int32(0)  # ThrottleTimeMs
    return out + (b"\0" if flexible else b"")


def requested_topic_names(version, body):
    """The topic names a Metadata request asks for, or None for "all topics"."""
    flexible = version >= 9
    c = Cursor(body)
    n = c.uvarint() - 1 if flexible else c.int32()
    if n < 0 or (n == 0 and version == 0):
        return None
    names = []
    for _ in range(n):
        if version >= 10:
            c.take(16)  # TopicId
        name = c.nullable_string(flexible)
        if flexible:
            c.skip_tags()
        if name is None:
            return None  # asked by id: leave it to the broker
        names.append(name)
    return names


def metadata_body(version, port, names):
    """A Metadata answer describing each named topic as partition 0 led by us."""
    flexible = version >= 9
    tags = b"\0" if flexible else b""
    one_node = array_length(1, flexible) + int32(NODE_ID)
    out = int32(0) if version >= 3 else b""
    out += array_length(1, flexible) + int32(NODE_ID) + string(HOST, flexible) + int32(port)
    if version >= 1:
        out += uvarint(0) if flexible else int16(-1)  # Rack null
    out += tags
    if version >= 2:
        out += string("capture-cluster", flexible)
    if version >= 1:
        out += int32(NODE_ID)  # ControllerId
    out += array_length(len(names), flexible)
    for i, name in enumerate(names):
        out += int16(0) + string(name, flexible)
        if version >= 10:
            out += bytes([0x5E, i + 1]) + bytes(14)  # a non-zero topic id per topic
        if version >= 1:
            out += b"\0"  # IsInternal
        out += array_length(1, flexible) + int16(0) + int32(0) + int32(NODE_ID)
        if version >= 7:
            out += int32(0)  # LeaderEpoch
        out += one_node + one_node
        if version >= 5:
            out += array_length(0, flexible)  # OfflineReplicas
        out += tags
        if version >= 8:
            out += int32(-2147483648)  # TopicAuthorizedOperations
        out += tags
    if 8 <= version <= 10:
        out += int32(-2147483648)  # ClusterAuthorizedOperations
    return out + tags


# ---------------------------------------------------------------- the proxy

class Capture:
    """Saves request frame bodies, a bounded number per client, API and version."""

    def __init__(self, out_dir, table):
        self.out_dir, self.table = out_dir, table
        self.label = "unknown"
        self.counts = {}
        self.saved = []
        self.lock = threading.Lock()

    def save(self, body):
        if len(body) < 4 or len(body) > FRAME_BYTES_MAX:
            return
        key, version = struct.unpack(">hh", body[:4])
        name = self.table.get(key, (f"key{key}",))[0]
        with self.lock:
            slot = (self.label, key, version)
            if self.counts.get(slot, 0) >= SEEDS_PER_VERSION_MAX:
                return
            self.counts[slot] = self.counts.get(slot, 0) + 1
            digest = hashlib.sha1(body).hexdigest()[:10]
            path = os.path.join(self.out_dir, f"{self.label}-{name}-v{version}-{digest}")
            with open(path, "wb") as f:
                f.write(body)
            self.saved.append((self.label, name, version))


def split_frames(buf):
    """Complete frames' bodies from the front of buf, and what is left over."""
    bodies = []
    while len(buf) >= 4:
        size = struct.unpack(">i", buf[:4])[0]
        if size < 0 or len(buf) < 4 + size:
            break
        bodies.append(buf[4:4 + size])
        buf = buf[4 + size:]
    return bodies, buf


class Connection:
    """One client connection and its broker connection, pumped by two threads."""

    def __init__(self, client, broker_port, proxy_port, capture):
        self.client = client
        self.upstream = socket.create_connection((HOST, broker_port), timeout=10)
        self.upstream.settimeout(None)
        self.proxy_port, self.capture = proxy_port, capture
        self.replacements = {}  # correlation id -> whole response (header and body) to send instead
        self.lock = threading.Lock()

    def start(self):
        for target in (self.client_to_broker, self.broker_to_client):
            threading.Thread(target=target, daemon=True).start()

    def close(self):
        for s in (self.client, self.upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def plan_answer(self, body):
        """Decides whether this request's answer gets rewritten, and how."""
        try:
            c = Cursor(body)
            key, version, correlation_id = c.int16(), c.int16(), c.int32()
            table = self.capture.table
            if key not in table or not table[key][1] <= version <= table[key][2]:
                return
            flexible_header = (key == API_API_VERSIONS and version >= 3) or (key == API_METADATA and version >= 9)
            c.nullable_string(compact=False)  # ClientId is never compact
            if flexible_header:
                c.skip_tags()
            if key == API_API_VERSIONS:
                # ApiVersions always answers with response header v0 (KIP-511).
                answer = int32(correlation_id) + api_versions_body(version, table)
            elif key == API_METADATA:
                names = requested_topic_names(version, body[c.pos:])
                if names is None:
                    return
                header_tags = b"\0" if version >= 9 else b""  # response header v1 from v9 on
                answer = int32(correlation_id) + header_tags + metadata_body(version, self.proxy_port, names)
            else:
                return
            with self.lock:
                self.replacements[correlation_id] = answer
        except ValueError:
            pass

    def client_to_broker(self):
        buf = b""
        try:
            while True:
                data = self.client.recv(RECV_CHUNK_BYTES)
                if not data:
                    break
                buf += data
                bodies, buf = split_frames(buf)
                for body in bodies:
                    self.capture.save(body)
                    self.plan_answer(body)
                self.upstream.sendall(data)
        except OSError:
            pass
        self.close()

    def broker_to_client(self):
        buf = b""
        try:
            while True:
                data = self.upstream.recv(RECV_CHUNK_BYTES)
                if not data:
                    break
                buf += data
                bodies, buf = split_frames(buf)
                out = b""
                for body in bodies:
                    correlation_id = struct.unpack(">i", body[:4])[0] if len(body) >= 4 else None
                    with self.lock:
                        replacement = self.replacements.pop(correlation_id, None)
                    if replacement is not None:
                        body = replacement
                    out += int32(len(body)) + body
                self.client.sendall(out)
        except OSError:
            pass
        self.close()


class Proxy:
    def __init__(self, capture):
        self.capture = capture
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((HOST, 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.broker_port = None
        self.connections = []
        self.stopping = False

    def start(self, broker_port):
        self.broker_port = broker_port
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                conn = Connection(client, self.broker_port, self.port, self.capture)
            except OSError:
                client.close()
                continue
            self.connections.append(conn)
            conn.start()

    def close_connections(self):
        for conn in self.connections:
            conn.close()
        self.connections = []

    def stop(self):
        self.stopping = True
        self.listener.close()
        self.close_connections()


# ---------------------------------------------------------------- the clients

CONFLUENT_STEPS = r'''
import sys, time
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
bootstrap, step = sys.argv[1], sys.argv[2]
base = {"bootstrap.servers": bootstrap, "socket.timeout.ms": 5000}

def attempt(what, fn):
    try:
        fn()
    except Exception as e:
        print(f"{what}: {e}")

if step == "admin":
    a = AdminClient(dict(base))
    attempt("list_topics", lambda: a.list_topics(timeout=5))
    attempt("list_topics(seeds)", lambda: a.list_topics(topic="seeds", timeout=5))
    for f in a.create_topics([NewTopic("seeds-new", 3, 1)], request_timeout=5).values():
        attempt("create_topics", lambda: f.result(timeout=10))
    attempt("list_groups", lambda: a.list_groups(timeout=5))
    for f in a.describe_configs([ConfigResource("topic", "seeds")], request_timeout=5).values():
        attempt("describe_configs", lambda: f.result(timeout=10))
elif step == "producer":
    for codec in ("none", "lz4"):
        p = Producer(dict(base, **{"enable.idempotence": True, "message.timeout.ms": 5000,
                                   "compression.type": codec}))
        p.produce("seeds", key=b"key", value=b"value-" + codec.encode(), headers=[("h", b"1")])
        p.flush(10)
elif step == "transactions":
    p = Producer(dict(base, **{"transactional.id": "seed-tx", "transaction.timeout.ms": 10000}))
    attempt("init_transactions", lambda: p.init_transactions(8))
elif step == "consumer":
    c = Consumer(dict(base, **{"group.id": "seed-group", "auto.offset.reset": "earliest",
                               "session.timeout.ms": 6000}))
    c.subscribe(["seeds"])
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        c.poll(0.5)
    c.close()
elif step == "assign":
    c = Consumer(dict(base, **{"group.id": "seed-assign", "enable.auto.commit": False}))
    c.assign([TopicPartition("seeds", 0, 0)])
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        c.poll(0.5)
    c.close()
'''

KAFKA_PYTHON_STEPS = r'''
import sys
bootstrap, step = sys.argv[1], sys.argv[2]
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

def attempt(what, fn):
    try:
        fn()
    except Exception as e:
        print(f"{what}: {e!r}")

if step == "admin":
    a = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000, api_version_auto_timeout_ms=5000)
    attempt("list_topics", a.list_topics)
    attempt("describe_topics", lambda: a.describe_topics(["seeds"]))
    attempt("describe_cluster", a.describe_cluster)
    attempt("create_topics", lambda: a.create_topics([NewTopic("seeds-kp", 1, 1)]))
    attempt("list_consumer_groups", a.list_consumer_groups)
elif step == "producer":
    p = KafkaProducer(bootstrap_servers=bootstrap, max_block_ms=5000, request_timeout_ms=5000,
                      compression_type="gzip", api_version_auto_timeout_ms=5000)
    attempt("send", lambda: p.send("seeds", key=b"key", value=b"value").get(timeout=5))
    p.close(timeout=2)
elif step == "consumer":
    c = KafkaConsumer("seeds", bootstrap_servers=bootstrap, group_id="seed-kp", consumer_timeout_ms=6000,
                      auto_offset_reset="earliest", api_version_auto_timeout_ms=5000)
    attempt("poll", lambda: c.poll(timeout_ms=6000))
    c.close()
'''

KAFKAJS_STEPS = r'''
const { Kafka, logLevel } = require('kafkajs');
const [bootstrap, step] = process.argv.slice(1);
const kafka = new Kafka({ clientId: 'seed-kafkajs', brokers: [bootstrap], connectionTimeout: 3000,
                          requestTimeout: 5000, retry: { retries: 1, initialRetryTime: 200 },
                          logLevel: logLevel.NOTHING });
async function attempt(what, fn) {
  try { await fn(); } catch (e) { console.log(`${what}: ${e.message}`); }
}
async function main() {
  if (step === 'admin') {
    const admin = kafka.admin();
    await attempt('connect', () => admin.connect());
    await attempt('fetchTopicMetadata', () => admin.fetchTopicMetadata({ topics: ['seeds'] }));
    await attempt('createTopics', () => admin.createTopics({ topics: [{ topic: 'seeds-js', numPartitions: 1 }] }));
    await attempt('listGroups', () => admin.listGroups());
    await attempt('disconnect', () => admin.disconnect());
  } else if (step === 'producer') {
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await attempt('connect', () => producer.connect());
    await attempt('send', () => producer.send({ topic: 'seeds', messages: [{ key: 'k', value: 'v' }] }));
    await attempt('disconnect', () => producer.disconnect());
  } else if (step === 'consumer') {
    const consumer = kafka.consumer({ groupId: 'seed-js', sessionTimeout: 6000 });
    await attempt('connect', () => consumer.connect());
    await attempt('subscribe', () => consumer.subscribe({ topics: ['seeds'], fromBeginning: true }));
    await attempt('run', () => consumer.run({ eachMessage: async () => {} }));
    await new Promise((resolve) => setTimeout(resolve, 6000));
    await attempt('disconnect', () => consumer.disconnect());
  }
}
main().then(() => process.exit(0), () => process.exit(0));
'''


def client_steps(bootstrap):
    """(label, argv, stdin bytes, cwd) for every client action, in order."""
    py = "/usr/bin/python3"
    steps = [
        ("kcat", ["kcat", "-L", "-b", bootstrap, "-m", "5"], None, None),
        ("kcat", ["kcat", "-P", "-b", bootstrap, "-t", TOPIC, "-p", "0", "-z", "snappy",
                  "-X", "message.timeout.ms=5000"], b"hello from kcat\n", None),
        ("kcat", ["kcat", "-C", "-b", bootstrap, "-t", TOPIC, "-p", "0", "-o", "beginning", "-c", "1", "-e",
                  "-m", "5"], None, None),
        ("kcat", ["kcat", "-G", "seed-kcat", "-b", bootstrap, "-c", "1", "-e", TOPIC], None, None),
    ]
    for step in ("admin", "producer", "transactions", "consumer", "assign"):
        steps.append(("confluent", [py, "-c", CONFLUENT_STEPS, bootstrap, step], None, None))
    for step in ("admin", "producer", "consumer"):
        steps.append(("kafkapython", [py, "-c", KAFKA_PYTHON_STEPS, bootstrap, step], None, None))
    if os.path.isdir(os.path.join(KAFKAJS_DIR, "node_modules", "kafkajs")):
        for step in ("admin", "producer", "consumer"):
            steps.append(("kafkajs", ["node", "-e", KAFKAJS_STEPS, bootstrap, step], None, KAFKAJS_DIR))
    else:
        print("kafkajs is not installed in tests/e2e/node_modules: skipping it", file=sys.stderr)
    return steps


def run_step(argv, stdin, cwd, log):
    """Runs one client action; a client that outlives its time is killed (by its own PID)."""
    log.write(f"==== {' '.join(a if len(a) < 80 else a[:40] + '...' for a in argv)}\n".encode())
    log.flush()
    try:
        subprocess.run(argv, input=stdin if stdin is not None else b"", stdout=log, stderr=subprocess.STDOUT,
                       cwd=cwd, timeout=CLIENT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        log.write(b"(timed out; killed)\n")
    except FileNotFoundError as e:
        log.write(f"(cannot run: {e})\n".encode())


def start_broker(binary, proxy):
    broker = harness.Broker(binary, overrides=[f"advertised.listeners=PLAINTEXT://{HOST}:{proxy.port}"])
    broker.start()
    proxy.broker_port = broker.port
    return broker


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--broker", required=True, help="path of the runnel binary")
    p.add_argument("--out", default=DEFAULT_OUT, help="where to write the seeds")
    p.add_argument("--client-log", default=None, help="file for the clients' output (default: a temp file)")
    args = p.parse_args()

    table = load_api_table()
    os.makedirs(args.out, exist_ok=True)
    capture = Capture(args.out, table)
    proxy = Proxy(capture)
    log_path = args.client_log
    if log_path is None:
        fd, log_path = tempfile.mkstemp(prefix="capture-requests-", suffix=".log")
        os.close(fd)
    crashes = []  # (client, step, exit code, kept work directory)
    broker = None
    try:
        broker = start_broker(args.broker, proxy)
        proxy.start(broker.port)
        bootstrap = f"{HOST}:{proxy.port}"
        with open(log_path, "wb") as log:
            for label, argv, stdin, cwd in client_steps(bootstrap):
                capture.label = label
                run_step(argv, stdin, cwd, log)
                proxy.close_connections()
                if broker.process.poll() is not None:
                    # A broker bug, not a capture problem: keep its log, and
                    # carry on with a fresh broker so that the other clients run.
                    crashes.append((label, argv[-1], broker.process.returncode, broker.work_dir))
                    broker.process = None
                    broker.cleanup(keep=True)
                    broker = start_broker(args.broker, proxy)
        proxy.stop()
        try:
            broker.stop()
            broker.cleanup()
        except harness.HarnessError as e:
            crashes.append(("shutdown", str(e).splitlines()[0], broker.process, broker.work_dir))
            broker.cleanup(keep=True)
        broker = None
    finally:
        proxy.stop()
        if broker is not None:
            broker.print_log()
            broker.cleanup(keep=True)
            print(f"(broker work directory kept: {broker.work_dir})", file=sys.stderr)
    summary = {}
    for label, name, version in capture.saved:
        summary.setdefault((label, name), set()).add(version)
    for (label, name), versions in sorted(summary.items()):
        print(f"{label:12} {name:28} v{','.join(str(v) for v in sorted(versions))}")
    print(f"{len(capture.saved)} seeds written to {args.out}; client output in {log_path}")
    for label, step, code, work_dir in crashes:
        print(f"the broker failed (exit {code}) during {label} {step}. Its log: {work_dir}/broker.log",
              file=sys.stderr)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
