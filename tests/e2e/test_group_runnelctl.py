"""Issue 5 acceptance: `runnelctl group list|describe|delete|reset-offsets`
against the real broker, checked against what the clients report.

Two confluent-kafka members (one process each) consume part of a 3-partition
topic and commit; `group describe --json` must show exactly those members
(client ids, hosts), the assignments the members report, the offsets they
committed and lag = log end offset - committed offset. Then: list with and
without a state filter, reset-offsets (dry run, then --execute with each
target), refusals for an active group, delete, and the errors of a group
that does not exist.

    test_group_runnelctl.py --broker BIN --runnelctl BIN
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile

import group_scenarios as gs
import harness

TIMEOUT_MS = 30_000
TOPIC = "ctl-group-topic"
GROUP = "ctl-group"
PARTITIONS = 3
RECORDS = 3000
PER_MEMBER = 400


def main():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--runnelctl", required=True)
    args, rest = p.parse_known_args()

    def ctl(endpoint, *words, expect=0):
        command = [args.runnelctl, "--bootstrap-server", endpoint.bootstrap, "--timeout-ms", str(TIMEOUT_MS)]
        r = subprocess.run(command + list(words), capture_output=True, text=True, timeout=TIMEOUT_MS / 1000 + 30)
        print(f"$ runnelctl {' '.join(words)} -> {r.returncode}\n{r.stdout[-2000:]}{r.stderr[-1500:]}")
        assert r.returncode == expect, f"runnelctl {' '.join(words)}: exit {r.returncode}, expected {expect}"
        return r

    def describe(endpoint):
        return json.loads(ctl(endpoint, "group", "describe", GROUP, "--json").stdout)

    def committed(endpoint):
        return {o["partition"]: o["committed"] for o in describe(endpoint)["offsets"] if o["committed"] is not None}

    def group_runnelctl(endpoint):
        gs.create_topic(endpoint.bootstrap, TOPIC, PARTITIONS)
        ends = gs.produce(endpoint.bootstrap, TOPIC, RECORDS)
        out = tempfile.mkdtemp(prefix="runnel-group-")
        members = [gs.Member("confluent", endpoint.bootstrap, TOPIC, GROUP, f"ctl-member-{i}", out,
                             max_records=PER_MEMBER) for i in range(2)]
        try:
            gs.wait_until(lambda: all(len(m.records()) >= PER_MEMBER for m in members) and
                          set().union(*(m.owned() for m in members)) == set(range(PARTITIONS)), 60,
                          "both members to process their records")
            # What the clients say: their partitions and the offsets they committed.
            owned = {m.name: m.owned() for m in members}
            processed = {}
            for m in members:
                for part, offset in m.records():
                    processed[part] = max(processed.get(part, 0), offset + 1)

            def describe_matches():
                d = describe(endpoint)
                return d if d["state"] == "Stable" and {o["partition"]: o["committed"] for o in d["offsets"]
                                                        if o["committed"] is not None} == processed else None
            d = gs.wait_until(describe_matches, 30, "describe to show the committed offsets", interval_s=0.5)
            assert d["group"] == GROUP and d["protocol"] == "range", d
            by_client = {m["client_id"]: m for m in d["members"]}
            assert set(by_client) == set(owned), (by_client.keys(), owned.keys())
            for name, partitions in owned.items():
                m = by_client[name]
                assert m["host"] == "/127.0.0.1", m
                assert {(a["topic"], a["partition"]) for a in m["assignment"]} == {(TOPIC, p) for p in partitions}
            for o in d["offsets"]:
                part = o["partition"]
                assert o["log_end_offset"] == ends[part], (o, ends)
                assert o["lag"] == (ends[part] - processed[part] if part in processed else None), o
                owner = next(name for name, parts in owned.items() if part in parts)
                assert o["member_id"] == by_client[owner]["member_id"], o
            print(f"describe agrees with the clients: {owned}, committed {processed}, log end {ends}")
            text = ctl(endpoint, "group", "describe", GROUP).stdout
            assert "TOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tCONSUMER-ID\tHOST\tCLIENT-ID" in text
            assert f"{GROUP}\tStable" in ctl(endpoint, "group", "list").stdout.splitlines()
            assert GROUP not in ctl(endpoint, "group", "list", "--state", "Empty").stdout
            ctl(endpoint, "group", "list", "--state", "Bogus", expect=2)
            # An active group can be neither reset nor deleted.
            r = ctl(endpoint, "group", "reset-offsets", GROUP, "--topic", TOPIC, "--to-earliest", "--execute",
                    expect=1)
            assert "Stable" in r.stderr
            assert "NON_EMPTY_GROUP" in ctl(endpoint, "group", "delete", GROUP, expect=1).stderr
            for m in members:
                m.stop()
            gs.wait_until(lambda: describe(endpoint)["state"] == "Empty", 30, "the group to empty")
            assert f"{GROUP}\tEmpty" in ctl(endpoint, "group", "list", "--state", "empty").stdout

            plan = ctl(endpoint, "group", "reset-offsets", GROUP, "--topic", TOPIC, "--to-earliest").stdout
            assert f"{GROUP}\t{TOPIC}\t0\t0" in plan
            assert committed(endpoint) == processed, "a dry run changed the offsets"
            ctl(endpoint, "group", "reset-offsets", GROUP, "--topic", TOPIC, "--to-earliest", "--execute")
            assert committed(endpoint) == {p: 0 for p in range(PARTITIONS)}
            ctl(endpoint, "group", "reset-offsets", GROUP, "--topic", TOPIC, "--shift-by", "5", "--execute")
            assert committed(endpoint) == {p: 5 for p in range(PARTITIONS)}
            ctl(endpoint, "group", "reset-offsets", GROUP, "--topic", TOPIC, "--to-latest", "--execute")
            assert committed(endpoint) == ends
            ctl(endpoint, "group", "reset-offsets", GROUP, "--topic", TOPIC, "--partition", "1", "--to-offset", "7",
                "--execute")
            assert committed(endpoint) == {**ends, 1: 7}
            ctl(endpoint, "group", "reset-offsets", GROUP, "--topic", TOPIC, "--partition", "1", "--to-timestamp",
                "0", "--execute")
            assert committed(endpoint)[1] == 0
            assert all(o["lag"] == ends[o["partition"]] - committed(endpoint)[o["partition"]]
                       for o in describe(endpoint)["offsets"])
            ctl(endpoint, "group", "reset-offsets", GROUP, "--topic", "no-such-topic", "--to-earliest", expect=1)

            ctl(endpoint, "group", "delete", GROUP)
            assert "GROUP_ID_NOT_FOUND" in ctl(endpoint, "group", "describe", GROUP, expect=1).stderr
            assert "GROUP_ID_NOT_FOUND" in ctl(endpoint, "group", "delete", GROUP, expect=1).stderr
            assert GROUP not in ctl(endpoint, "group", "list").stdout
            ctl(endpoint, "group", "describe", expect=2)
        except Exception:
            for m in members:
                m.print_log()
            print(f"(member journals kept in {out})", file=sys.stderr)
            raise
        finally:
            for m in members:
                m.cleanup()
        shutil.rmtree(out, ignore_errors=True)

    harness.run_test(group_runnelctl, argv=rest, description=__doc__)


if __name__ == "__main__":
    main()
