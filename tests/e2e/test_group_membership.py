"""Issue 5 acceptance, membership (confluent-kafka, one process per member):

1. A fourth consumer joining a 3-partition topic gets no partitions and
   waits; when a member leaves (clean close: LeaveGroup) it takes over.
2. Static membership (KIP-345): three members with group.instance.id; one is
   killed and restarted with the same instance id within the session
   timeout: it gets its partitions back, and the other two never see a
   rebalance (no revocation, no new assignment in their journals).
"""

import shutil
import sys
import tempfile
import time

import group_scenarios as gs
import harness

SESSION_MS = 6000
STATIC_SESSION_MS = 30000  # long enough that the restart comes well inside it
TIMEOUT_S = 60


def members_settled(members, partitions):
    owned = [m.owned() for m in members]
    return set().union(*owned) == set(range(partitions)) and sum(len(o) for o in owned) == partitions


def fourth_member_waits(endpoint, out):
    topic = "membership-three-partitions"
    gs.create_topic(endpoint.bootstrap, topic, 3)
    gs.produce(endpoint.bootstrap, topic, 3000)
    group = "membership-fourth"
    members = [gs.Member("confluent", endpoint.bootstrap, topic, group, f"m{i}", out, session_ms=SESSION_MS)
               for i in range(3)]
    try:
        gs.wait_until(lambda: members_settled(members, 3) and all(len(m.owned()) == 1 for m in members),
                      TIMEOUT_S, "three members with a partition each")
        fourth = gs.Member("confluent", endpoint.bootstrap, topic, group, "m3", out, session_ms=SESSION_MS)
        members.append(fourth)
        # It has joined once its journal shows an (empty) assignment after the rebalance.
        gs.wait_until(lambda: any(e["ev"] == "assigned" for e in fourth.events()) and members_settled(members, 3),
                      TIMEOUT_S, "the fourth member to join")
        assert fourth.owned() == set(), fourth.owned()
        time.sleep(2)
        assert fourth.owned() == set(), "the fourth member took a partition while nobody left"
        leaving = members[1]
        had = leaving.owned()
        left_at = time.monotonic()
        leaving.stop()
        gs.wait_until(lambda: fourth.owned() != set() and members_settled([members[0], members[2], fourth], 3),
                      TIMEOUT_S, "the fourth member to take over")
        print(f"4th member waited with no partition; {leaving.name} left owning {sorted(had)}; the 4th took "
              f"{sorted(fourth.owned())} {time.monotonic() - left_at:.1f} s later")
        for m in (members[0], members[2], fourth):
            m.stop()
        gs.check_exclusive_ownership(members)
    except Exception:
        for m in members:
            m.print_log()
        raise
    finally:
        for m in members:
            m.cleanup()


def static_member_returns(endpoint, out):
    topic = "membership-static"
    gs.create_topic(endpoint.bootstrap, topic, 6)
    group = "membership-static-group"

    def member(i, run):
        return gs.Member("confluent", endpoint.bootstrap, topic, group, f"s{i}-run{run}", out,
                         instance_id=f"instance-{i}", session_ms=STATIC_SESSION_MS)

    members = [member(i, 1) for i in range(3)]
    everyone = list(members)
    try:
        gs.wait_until(lambda: members_settled(members, 6) and all(m.owned() for m in members), TIMEOUT_S,
                      "three static members owning all partitions")
        before = {m.name: m.owned() for m in members}
        others_events = {m.name: len(m.events()) for m in members[1:]}
        victim = members[0]
        victim.kill()
        killed = time.monotonic()
        time.sleep(1)
        back = member(0, 2)
        everyone.append(back)
        gs.wait_until(lambda: back.owned(), TIMEOUT_S, "the restarted static member to get partitions")
        returned_after = time.monotonic() - killed
        assert back.owned() == before[victim.name], (back.owned(), before[victim.name])
        assert returned_after < STATIC_SESSION_MS / 1000, returned_after
        time.sleep(3)  # a rebalance, if one were coming, would show by now
        for m in members[1:]:
            new = m.events()[others_events[m.name]:]
            assert not new, f"{m.name} saw {new}: the others must not rebalance"
            assert m.owned() == before[m.name]
        print(f"static member killed and back after {returned_after:.1f} s with {sorted(back.owned())}; "
              f"the others kept {[sorted(before[m.name]) for m in members[1:]]} without a rebalance")
        for m in members[1:] + [back]:
            m.stop()
    except Exception:
        for m in everyone:
            m.print_log()
        raise
    finally:
        for m in everyone:
            m.cleanup()


def check(endpoint):
    out = tempfile.mkdtemp(prefix="runnel-group-")
    try:
        fourth_member_waits(endpoint, out)
        static_member_returns(endpoint, out)
    except Exception:
        print(f"(member journals kept in {out})", file=sys.stderr)
        raise
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    harness.run_test(check, description=__doc__)
