"""Issue 5 acceptance, restarts: committed offsets and group membership live
in __consumer_offsets and survive the broker.

1. Two confluent-kafka members consume and commit; the broker restarts
   (SIGTERM) under them. Afterwards the group is the same (state Stable, the
   same member ids: replayed, not rebuilt by a rebalance), the committed
   offsets are the same, and the members carry on with the records produced
   after the restart, none skipped and none processed twice.
2. The members leave; more records are written; the broker is killed
   (kill -9) and started again; two new members of the same group start
   exactly at the committed offsets: every new record once, nothing older.
"""

import shutil
import sys
import tempfile
import time

from kafka import KafkaAdminClient

import group_scenarios as gs
import harness

TOPIC = "restart-topic"
GROUP = "restart-group"
PARTITIONS = 4
TIMEOUT_S = 90


def group_state(bootstrap):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=20000)
    try:
        info = admin.describe_consumer_groups([GROUP])[0]
        offsets = {tp.partition: om.offset for tp, om in admin.list_consumer_group_offsets(GROUP).items()}
        return info.state, sorted(m.member_id for m in info.members), offsets
    finally:
        admin.close()


def wait_group(bootstrap, what, predicate):
    def probe():
        try:
            state = group_state(bootstrap)
        except Exception:
            return None
        return state if predicate(state) else None
    return gs.wait_until(probe, TIMEOUT_S, what, interval_s=0.5)


def check(broker):
    bootstrap = broker.endpoint.bootstrap
    out = tempfile.mkdtemp(prefix="runnel-group-")
    members = [gs.Member("confluent", bootstrap, TOPIC, GROUP, f"r{i}", out, session_ms=10000) for i in range(2)]
    everyone = list(members)
    try:
        gs.create_topic(bootstrap, TOPIC, PARTITIONS)
        ends = gs.produce(bootstrap, TOPIC, 20_000)
        gs.wait_until(lambda: gs.all_processed(members, ends), TIMEOUT_S, "the first 20,000 records", interval_s=0.5)
        state, ids, offsets = wait_group(bootstrap, "the commits of the first records",
                                         lambda s: s[0] == "Stable" and s[2] == ends)
        print(f"before the restart: {state}, members {ids}, committed {offsets}")
        events_before = {m.name: len(m.events()) for m in members}

        restart_began = time.monotonic()
        broker.restart()
        print(f"broker restarted (SIGTERM) in {time.monotonic() - restart_began:.1f} s")
        state2, ids2, offsets2 = wait_group(bootstrap, "the group after the restart", lambda s: s[0] == "Stable")
        assert ids2 == ids, f"member ids changed across the restart: {ids} -> {ids2}"
        assert offsets2 == offsets, (offsets, offsets2)
        more = gs.produce(bootstrap, TOPIC, 20_000)
        total = {p: ends.get(p, 0) + more.get(p, 0) for p in range(PARTITIONS)}
        gs.wait_until(lambda: gs.all_processed(members, total), TIMEOUT_S, "the records after the restart",
                      interval_s=0.5)
        processed, duplicates = gs.check_none_skipped(members, total)
        assert duplicates == 0, f"{duplicates} records processed twice across a restart without a rebalance"
        for m in members:
            changes = [e for e in m.events()[events_before[m.name]:] if e["ev"] in ("assigned", "revoked", "lost")]
            assert not changes, f"{m.name} rebalanced across the restart: {changes}"
        print(f"after the restart: the same {len(ids)} members carried on; {processed} records processed once each")

        for m in members:
            m.stop()
        final = wait_group(bootstrap, "the group to empty", lambda s: s[0] == "Empty")
        assert final[2] == total, (final[2], total)
        later = gs.produce(bootstrap, TOPIC, 10_000)
        broker.restart(hard=True)
        print("broker killed (kill -9) and started again")
        assert wait_group(bootstrap, "the offsets after kill -9", lambda s: True)[2] == total
        fresh = [gs.Member("confluent", bootstrap, TOPIC, GROUP, f"n{i}", out, session_ms=10000) for i in range(2)]
        everyone += fresh
        gs.wait_until(lambda: sum(len(m.records()) for m in fresh) >= sum(later.values()), TIMEOUT_S,
                      "the new members to process the newest records", interval_s=0.5)
        time.sleep(1)  # anything older would arrive with the same fetches
        seen = gs.processed_offsets(fresh)
        for p in range(PARTITIONS):
            expected = set(range(total[p], total[p] + later.get(p, 0)))
            assert seen.get(p, set()) == expected, (
                f"partition {p}: new members processed {len(seen.get(p, ()))} offsets from "
                f"{min(seen.get(p, {-1}))}; expected exactly [{total[p]}, {total[p] + later.get(p, 0)})")
        assert sum(len(m.records()) for m in fresh) == sum(later.values()), "records processed twice"
        print(f"new members resumed at the committed offsets {total}: {sum(later.values())} records, each once")
        for m in fresh:
            m.stop()
    except Exception:
        for m in everyone:
            m.print_log()
        print(f"(member journals kept in {out})", file=sys.stderr)
        raise
    finally:
        for m in everyone:
            m.cleanup()
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    harness.run_broker_test(check, description=__doc__)
