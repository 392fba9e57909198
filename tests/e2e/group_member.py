"""One consumer-group member in its own process, for the group acceptance tests.

    group_member.py --client confluent|kafka-python --bootstrap HOST:PORT --topic T
                    --group G --name N --out DIR [--assignor A] [--instance-id I]
                    [--session-ms MS] [--max-records N]

It subscribes to the topic and, for every record it processes, appends
"partition offset" to DIR/N.records (flushed) before it commits the offsets
after that record (commits after processing: a record is never skipped, some
may be processed twice). Every change of the partitions it owns goes to
DIR/N.events as a JSON line {"t": wall clock, "ev": ..., "owned": [...]}.
SIGTERM ends it cleanly (a last commit, then close); SIGKILL is what the
tests use to make it die. --max-records stops consuming (but stays in the
group) after that many records, so that a test can look at a group with lag.
Runs under Debian's /usr/bin/python3 (confluent-kafka and kafka-python).
"""

import argparse
import json
import os
import signal
import sys
import time

stopping = False


def on_term(signum, frame):
    global stopping
    stopping = True


class Journal:
    def __init__(self, out, name):
        self.events = open(os.path.join(out, f"{name}.events"), "a")
        self.records = open(os.path.join(out, f"{name}.records"), "a")
        self.owned = set()
        self.processed = 0

    def event(self, ev, partitions=(), **extra):
        line = {"t": time.time(), "ev": ev, "owned": sorted(self.owned), "delta": sorted(partitions)}
        line.update(extra)
        self.events.write(json.dumps(line) + "\n")
        self.events.flush()

    def assigned(self, partitions):
        self.owned |= set(partitions)
        self.event("assigned", partitions)

    def revoked(self, partitions, ev="revoked"):
        self.owned -= set(partitions)
        self.event(ev, partitions)

    def stop_owning(self):
        """The loop has stopped: nothing more is processed, whatever close()
        (which leaves the group) reports afterwards."""
        gone = sorted(self.owned)
        self.owned = set()
        self.event("closing", gone)

    def processed_batch(self, pairs):
        self.records.write("".join(f"{p} {o}\n" for p, o in pairs))
        self.records.flush()
        self.processed += len(pairs)


def last_offsets(pairs):
    """{partition: the offset after the last record processed}."""
    out = {}
    for p, o in pairs:
        out[p] = max(out.get(p, -1), o + 1)
    return out


def run_confluent(args, journal):
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    conf = {
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "client.id": args.name,
        "partition.assignment.strategy": args.assignor or "range",
        "session.timeout.ms": args.session_ms,
        "heartbeat.interval.ms": 1000,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    }
    if args.instance_id:
        conf["group.instance.id"] = args.instance_id
    consumer = Consumer(conf)

    # The client assigns (incrementally for cooperative-sticky) by itself
    # after these return.
    def on_assign(c, partitions):
        journal.assigned([p.partition for p in partitions])

    def on_revoke(c, partitions):
        journal.revoked([p.partition for p in partitions])

    def on_lost(c, partitions):
        journal.revoked([p.partition for p in partitions], ev="lost")

    consumer.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    journal.event("started")
    while not stopping:
        if args.max_records is not None and journal.processed >= args.max_records:
            consumer.poll(0.2)  # stays in the group, takes nothing more
            continue
        want = 500 if args.max_records is None else max(1, min(500, args.max_records - journal.processed))
        messages = consumer.consume(num_messages=want, timeout=0.5)
        pairs = [(m.partition(), m.offset()) for m in messages if m.error() is None]
        if not pairs:
            continue
        journal.processed_batch(pairs)
        offsets = [TopicPartition(args.topic, p, o) for p, o in last_offsets(pairs).items()]
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as e:
            # A rebalance took the partitions: the next owner starts at the
            # last commit and processes these again (at least once).
            journal.event("commit-failed", error=str(e))
    journal.stop_owning()
    consumer.close()
    journal.event("closed")


def run_kafka_python(args, journal):
    from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
    from kafka.errors import CommitFailedError, KafkaError
    from kafka.structs import OffsetAndMetadata

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            journal.revoked([tp.partition for tp in revoked])

        def on_partitions_assigned(self, assigned):
            journal.assigned([tp.partition for tp in assigned])

    consumer = KafkaConsumer(bootstrap_servers=args.bootstrap, group_id=args.group, client_id=args.name,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             session_timeout_ms=args.session_ms, heartbeat_interval_ms=1000, max_poll_records=500)
    consumer.subscribe([args.topic], listener=Listener())
    journal.event("started")
    while not stopping:
        if args.max_records is not None and journal.processed >= args.max_records:
            consumer.pause(*consumer.assignment())
        batches = consumer.poll(timeout_ms=500)
        pairs = [(r.partition, r.offset) for records in batches.values() for r in records]
        if not pairs:
            continue
        journal.processed_batch(pairs)
        offsets = {TopicPartition(args.topic, p): OffsetAndMetadata(o, None) for p, o in last_offsets(pairs).items()}
        try:
            consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as e:
            journal.event("commit-failed", error=str(e))
    journal.stop_owning()
    consumer.close()
    journal.event("closed")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--client", required=True, choices=["confluent", "kafka-python"])
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--assignor")
    p.add_argument("--instance-id")
    p.add_argument("--session-ms", type=int, default=6000)
    p.add_argument("--max-records", type=int)
    args = p.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    journal = Journal(args.out, args.name)
    if args.client == "confluent":
        run_confluent(args, journal)
    else:
        run_kafka_python(args, journal)
    return 0


if __name__ == "__main__":
    sys.exit(main())
