"""Building blocks of the consumer-group tests: member processes (one per
consumer: group_member.py for confluent-kafka and kafka-python,
group_member_kafkajs.js for kafkajs), a keyed producer, bounded waits, and
the checks on what the members wrote down: every record processed at least
once and none skipped, and each partition owned by one member at a time.
"""

import json
import os
import signal
import subprocess
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

HERE = os.path.dirname(os.path.abspath(__file__))
NODE = os.environ.get("RUNNEL_NODE", "node")


def wait_until(predicate, timeout_s, what, interval_s=0.1):
    """Polls predicate until it returns something true; fails after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


def create_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)],
                                  operation_timeout=30)
    for f in futures.values():
        f.result(timeout=60)


class Member:
    """One consumer process; its journal files live in out_dir."""

    def __init__(self, client, bootstrap, topic, group, name, out_dir, assignor=None, instance_id=None,
                 session_ms=6000, max_records=None):
        self.name = name
        self.out_dir = out_dir
        self.client = client
        if client == "kafkajs":
            cmd = [NODE, os.path.join(HERE, "group_member_kafkajs.js"), bootstrap, topic, group, name, out_dir,
                   str(session_ms)]
        else:
            cmd = [sys.executable, os.path.join(HERE, "group_member.py"), "--client", client, "--bootstrap",
                   bootstrap, "--topic", topic, "--group", group, "--name", name, "--out", out_dir,
                   "--session-ms", str(session_ms)]
            if assignor:
                cmd += ["--assignor", assignor]
            if instance_id:
                cmd += ["--instance-id", instance_id]
            if max_records is not None:
                cmd += ["--max-records", str(max_records)]
        self.log = open(os.path.join(out_dir, f"{name}.log"), "ab")
        self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.killed_at = None

    def events(self):
        path = os.path.join(self.out_dir, f"{self.name}.events")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.endswith("\n")]

    def owned(self):
        """The partitions it owns now (by its own account); nothing once dead."""
        if self.process.poll() is not None:
            return set()
        events = self.events()
        return set(events[-1]["owned"]) if events else set()

    def records(self):
        """[(partition, offset)] in processing order."""
        path = os.path.join(self.out_dir, f"{self.name}.records")
        if not os.path.exists(path):
            return []
        out = []
        with open(path) as f:
            for line in f:
                if line.endswith("\n"):
                    p, o = line.split()
                    out.append((int(p), int(o)))
        return out

    def kill(self):
        """SIGKILL by PID, as a crash."""
        self.killed_at = time.time()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout_s=30):
        """SIGTERM by PID: it commits, leaves and exits 0."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout_s)
        assert code == 0 or self.killed_at is not None, f"{self.name} exited with {code}; see {self.log.name}"

    def cleanup(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()

    def print_log(self):
        try:
            with open(self.log.name, "rb") as f:
                text = f.read()[-8000:].decode(errors="replace")
        except OSError:
            text = ""
        print(f"---- {self.name} output ----\n{text}\n---- end of {self.name} ----", file=sys.stderr)


def produce(bootstrap, topic, count, key_space=1000, value_bytes=16, stop_after=None):
    """Produces `count` keyed records (acks=all); returns {partition: records written}."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                         "batch.num.messages": 2000, "enable.idempotence": True})
    per_partition = {}
    failures = []

    def report(err, msg):
        if err is not None:
            failures.append(err)
        else:
            per_partition[msg.partition()] = per_partition.get(msg.partition(), 0) + 1

    value = b"v" * value_bytes
    for i in range(count):
        while True:
            try:
                producer.produce(topic, key=b"k%d" % (i % key_space), value=value, on_delivery=report)
                break
            except BufferError:
                producer.poll(0.05)
        if i % 1000 == 0:
            producer.poll(0)
            if stop_after is not None:
                stop_after(i)
    left = producer.flush(120)
    assert left == 0, f"{left} records undelivered"
    assert not failures, failures[:3]
    assert sum(per_partition.values()) == count
    return per_partition


def processed_offsets(members):
    """{partition: set of offsets} over every member."""
    out = {}
    for m in members:
        for p, o in m.records():
            out.setdefault(p, set()).add(o)
    return out


def all_processed(members, ends):
    seen = processed_offsets(members)
    return all(len(seen.get(p, ())) >= n for p, n in ends.items())


def check_none_skipped(members, ends):
    """Every offset below each partition's end was processed by someone.
    Returns (records processed in all, duplicates)."""
    seen = processed_offsets(members)
    for p, n in ends.items():
        missing = set(range(n)) - seen.get(p, set())
        assert not missing, f"partition {p}: {len(missing)} records never processed, e.g. {sorted(missing)[:5]}"
    total = sum(len(m.records()) for m in members)
    return total, total - sum(ends.values())


def ownership_intervals(member):
    """{partition: [(start, end)]} from a member's journal; a killed member's
    ownership ends when it was killed, a running member's now."""
    open_since = {}
    out = {}
    end_of_life = member.killed_at if member.killed_at is not None else time.time()
    for e in member.events():
        now_owned = set(e["owned"])
        for p in now_owned - set(open_since):
            open_since[p] = e["t"]
        for p in set(open_since) - now_owned:
            out.setdefault(p, []).append((open_since.pop(p), e["t"]))
    for p, start in open_since.items():
        out.setdefault(p, []).append((start, end_of_life))
    return out


def check_exclusive_ownership(members):
    """No partition was owned by two members at the same time."""
    spans = []
    for m in members:
        for p, intervals in ownership_intervals(m).items():
            spans += [(p, start, end, m.name) for start, end in intervals]
    spans.sort()
    for i, (p, start, end, name) in enumerate(spans):
        for q, start2, end2, name2 in spans[i + 1:]:
            if q != p or start2 >= end:
                break
            if name2 != name:
                raise AssertionError(f"partition {p} owned by {name} during [{start:.3f}, {end:.3f}) and by "
                                     f"{name2} from {start2:.3f}")
