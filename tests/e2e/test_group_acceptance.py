"""Issue 5 acceptance: three consumers (one process each) share a 6-partition
topic in one group while a producer writes 200,000 keyed records; one
consumer is killed with SIGKILL along the way.

Checked: the group settles with every partition owned; the dead member's
partitions move to the others within the session timeout plus the rebalance;
no partition is ever owned by two members at once (each member's own
account of its assignment, with wall-clock times); at the end every record
was processed, none skipped (commits follow processing, so some records are
processed twice after the kill: counted and printed).

    test_group_acceptance.py --broker BIN --client confluent --assignor range|roundrobin|cooperative-sticky
    test_group_acceptance.py --broker BIN --client kafka-python|kafkajs
"""

import argparse
import shutil
import sys
import tempfile
import threading
import time

import group_scenarios as gs
import harness

RECORDS = 200_000
PARTITIONS = 6
SESSION_MS = 6000
SETTLE_TIMEOUT_S = 60
MOVE_SLACK_S = 15  # the rebalance after the session expires, on a busy sanitized build
DRAIN_TIMEOUT_S = 150


def scenario(endpoint, client, assignor):
    topic = f"acceptance-{client}-{assignor or 'default'}".replace("_", "-")
    group = topic + "-group"
    gs.create_topic(endpoint.bootstrap, topic, PARTITIONS)
    out = tempfile.mkdtemp(prefix="runnel-group-")
    members = [gs.Member(client, endpoint.bootstrap, topic, group, f"member-{i}", out, assignor=assignor,
                         session_ms=SESSION_MS) for i in range(3)]
    ok = False
    try:
        started = time.monotonic()
        gs.wait_until(lambda: set().union(*(m.owned() for m in members)) == set(range(PARTITIONS)) and
                      all(m.owned() for m in members), SETTLE_TIMEOUT_S, "three members owning all partitions")
        print(f"group settled in {time.monotonic() - started:.1f} s: "
              f"{ {m.name: sorted(m.owned()) for m in members} }")

        victim = members[0]
        ends = {}
        produce_started = time.monotonic()

        def producer():
            ends.update(gs.produce(endpoint.bootstrap, topic, RECORDS))

        writer = threading.Thread(target=producer)
        writer.start()
        # The kill comes in the middle of the work: a third of the records processed.
        gs.wait_until(lambda: sum(len(m.records()) for m in members) >= RECORDS // 3, 120,
                      "a third of the records to be processed", interval_s=0.2)
        victim_partitions = victim.owned()
        victim_processed = len(victim.records())
        victim.kill()
        survivors = members[1:]
        print(f"killed {victim.name} (owned {sorted(victim_partitions)}, processed {victim_processed}) after "
              f"{time.monotonic() - produce_started:.1f} s of producing")
        gs.wait_until(lambda: set().union(*(m.owned() for m in survivors)) == set(range(PARTITIONS)),
                      SESSION_MS / 1000 + MOVE_SLACK_S + 5, "the survivors to own every partition")
        moved_after = time.time() - victim.killed_at
        print(f"its partitions moved to the others {moved_after:.1f} s after the kill "
              f"(session timeout {SESSION_MS / 1000:.0f} s): "
              f"{ {m.name: sorted(m.owned()) for m in survivors} }")
        assert moved_after <= SESSION_MS / 1000 + MOVE_SLACK_S, moved_after
        writer.join(timeout=180)
        assert not writer.is_alive(), "the producer did not finish"
        assert sum(ends.values()) == RECORDS
        print(f"produced {RECORDS} records in {time.monotonic() - produce_started:.1f} s: {dict(sorted(ends.items()))}")
        gs.wait_until(lambda: gs.all_processed(members, ends), DRAIN_TIMEOUT_S, "every record to be processed",
                      interval_s=0.5)
        print(f"all processed {time.monotonic() - produce_started:.1f} s after producing began")
        for m in survivors:
            m.stop()
        total, duplicates = gs.check_none_skipped(members, ends)
        gs.check_exclusive_ownership(members)
        print(f"{total} records processed, {duplicates} of them twice (after the kill); none skipped; "
              f"each partition owned by one member at a time")
        ok = True
    finally:
        for m in members:
            if not ok:
                m.print_log()
            m.cleanup()
        if ok:
            shutil.rmtree(out, ignore_errors=True)
        else:
            print(f"(member journals kept in {out})", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--client", required=True, choices=["confluent", "kafka-python", "kafkajs"])
    p.add_argument("--assignor", choices=["range", "roundrobin", "cooperative-sticky"])
    args, rest = p.parse_known_args()

    def check(endpoint):
        scenario(endpoint, args.client, args.assignor)

    check.__name__ = f"group_acceptance_{args.client}_{args.assignor or 'default'}"
    harness.run_test(check, argv=rest, description=__doc__)


if __name__ == "__main__":
    main()
