"""Crash durability: an idempotent confluent-kafka producer (acks=all) writes
into a topic with flush.messages=1 while the broker is killed with SIGKILL at
random moments and restarted, --kills times (20 in the test command; the
opt-in `crash_long` target runs 200). After each restart, a consumer that
stays assigned from the beginning must see every record acknowledged before
the kill; over the whole run every acknowledged record is in the log exactly
once, and within each partition in the order it was produced.

With --groups, the consumer also commits its position (a simple consumer:
OffsetCommit with generation -1) before each kill, and after each restart the
committed offsets must read back unchanged.

The moments are drawn from --seed (printed), so a failing run can be replayed.
"""

import argparse
import os
import random
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import harness

TOPIC = "crash-kills"
PARTITIONS = 3
RECORDS_MAX = 3_000_000        # bounds the whole run whatever the timings
RATE = 5_000                   # records/s offered: enough to keep requests in flight at every kill
CATCH_UP_S = 90                # after a restart, to see what was acknowledged
RUN_DEADLINE_S = 60 * 60 * 3   # the long form's bound; the short form ends long before


def create_topic(endpoint):
    admin = AdminClient({"bootstrap.servers": endpoint.bootstrap})
    futures = admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=1,
                                            config={"flush.messages": "1"})], operation_timeout=30)
    for f in futures.values():
        f.result(timeout=60)


class Reader:
    """A consumer assigned to every partition from the beginning, across
    restarts; checks exactly-once and per-partition order as it reads."""

    def __init__(self, endpoint, groups):
        config = {"bootstrap.servers": endpoint.bootstrap, "group.id": "crash-kills-reader",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "enable.partition.eof": False, "fetch.wait.max.ms": 100,
                  # After a restart, find the broker (and the group coordinator) again at once.
                  "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 200}
        if os.environ.get("RUNNEL_RDKAFKA_DEBUG"):
            config["debug"] = os.environ["RUNNEL_RDKAFKA_DEBUG"]
        self.consumer = Consumer(config)
        self.consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        self.groups = groups
        self.seen = {}                                # value -> (partition, offset)
        self.last = {p: (-1, -1) for p in range(PARTITIONS)}  # partition -> (offset, sequence)

    def poll_once(self, timeout):
        for msg in self.consumer.consume(2000, timeout):
            self.take(msg)

    def take(self, msg):
        if msg.error():
            # While the broker is down or restarting librdkafka reports
            # transport errors; it reconnects by itself.
            assert msg.error().code() in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN,
                                          KafkaError._MAX_POLL_EXCEEDED), msg.error()
            return
        p, offset = msg.partition(), msg.offset()
        last_offset, last_seq = self.last[p]
        if offset <= last_offset:
            return  # a re-fetch of what was read already
        part, seq = (int(x) for x in msg.value().split(b":"))
        assert part == p, f"record {msg.value()} of partition {part} found in partition {p}"
        value = (part, seq)
        assert value not in self.seen, \
            f"record {value} twice: at offset {self.seen[value][1]} and at offset {offset} of partition {p}"
        assert seq > last_seq, f"partition {p}: record {seq} at offset {offset} after record {last_seq}"
        self.seen[value] = (p, offset)
        self.last[p] = (offset, seq)

    def catch_up(self, wanted, what):
        deadline = time.monotonic() + CATCH_UP_S
        missing = wanted - self.seen.keys()
        while missing and time.monotonic() < deadline:
            self.poll_once(0.2)
            missing = wanted - self.seen.keys()
        assert not missing, f"{what}: {len(missing)} acknowledged records not readable, e.g. {sorted(missing)[:5]}"

    def commit_position(self):
        offsets = [TopicPartition(TOPIC, p, self.last[p][0] + 1) for p in range(PARTITIONS) if self.last[p][0] >= 0]
        if offsets:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        return {tp.partition: tp.offset for tp in offsets}

    def committed(self):
        got = self.consumer.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=30)
        return {tp.partition: tp.offset for tp in got if tp.offset >= 0}

    def close(self):
        self.consumer.close()


def crash_kills(args):
    def check(broker):
        rng = random.Random(args.seed)
        print(f"seed {args.seed}, {args.kills} kills")
        create_topic(broker.endpoint)
        producer = Producer({"bootstrap.servers": broker.endpoint.bootstrap, "acks": "all",
                             "enable.idempotence": True, "linger.ms": 2, "message.timeout.ms": 300000,
                             "reconnect.backoff.max.ms": 200})
        acknowledged = set()
        errors = []

        def report(err, msg):
            if err is None:
                part, seq = (int(x) for x in msg.value().split(b":"))
                acknowledged.add((part, seq))
            else:
                errors.append(err)

        reader = Reader(broker.endpoint, args.groups)
        next_seq = [0] * PARTITIONS
        produced = 0
        started = time.monotonic()

        def produce_for(seconds):
            nonlocal produced
            until = time.monotonic() + seconds
            while time.monotonic() < until and produced < RECORDS_MAX:
                if len(producer) > 2000 or produced > RATE * (time.monotonic() - started):
                    # Enough in flight (or queued while the broker is down), or ahead of the rate.
                    producer.poll(0.01)
                    reader.poll_once(0)
                    continue
                p = produced % PARTITIONS
                producer.produce(TOPIC, value=b"%d:%d" % (p, next_seq[p]), partition=p, on_delivery=report)
                next_seq[p] += 1
                produced += 1
                producer.poll(0)
                reader.poll_once(0)
            assert not errors, f"delivery failed: {errors[:3]}"

        committed = {}
        for kill in range(args.kills):
            assert time.monotonic() - started < RUN_DEADLINE_S, "the run took too long"
            # Each kill comes at a random moment after the restarted broker
            # has acknowledged something, so that every kill interrupts a
            # stream that is really flowing.
            before = len(acknowledged)
            progress_deadline = time.monotonic() + CATCH_UP_S
            while len(acknowledged) == before:
                assert time.monotonic() < progress_deadline, f"nothing acknowledged within {CATCH_UP_S} s"
                produce_for(0.05)
            produce_for(rng.uniform(0.0, 1.0))
            if args.groups:
                committed = reader.commit_position()
            at_kill = set(acknowledged)
            broker.kill()  # requests are in flight: the producer keeps queueing and retrying
            produce_for(rng.uniform(0.0, 0.3))
            broker.start()
            reader.catch_up(at_kill, f"after kill {kill + 1}")
            if args.groups:
                after = reader.committed()
                assert after == committed, f"after kill {kill + 1}: committed {committed}, read back {after}"
            print(f"kill {kill + 1}: {len(at_kill)} acknowledged before it, {produced} produced so far")
        left = producer.flush(120)
        assert left == 0, f"{left} records still unacknowledged"
        assert not errors, f"delivery failed: {errors[:3]}"
        assert len(acknowledged) == produced, f"{produced} produced, {len(acknowledged)} acknowledged"
        reader.catch_up(set(acknowledged), "at the end")
        # Nothing that was never produced, and every partition read in order
        # with no gap: exactly once.
        for p in range(PARTITIONS):
            seqs = sorted(seq for part, seq in reader.seen if part == p)
            assert seqs == list(range(next_seq[p])), f"partition {p}: gaps or extra records"
        reader.close()
        print(f"{args.kills} kills, {produced} records, all acknowledged and read exactly once in order")

    check.__name__ = f"crash_kills_{args.kills}"
    return check


def main():
    p = argparse.ArgumentParser(description=__doc__, add_help=False)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--seed", type=int, default=random.SystemRandom().randrange(1 << 30))
    p.add_argument("--groups", action="store_true", help="also commit offsets and check them after each kill")
    args, rest = p.parse_known_args()
    harness.run_broker_test(crash_kills(args), argv=rest, description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
