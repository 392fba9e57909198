"""Smoke test of runnel-bench: short bounded runs of every command, checking
that each prints exactly one well-formed JSON line last and that its counts
are right. Durations are printed, never asserted.

    smoke_test.py --bench build/ci/tools/runnel-bench --broker build/ci/broker/runnel
    smoke_test.py --bench build/ci/tools/runnel-bench --mock

With --broker the real broker is started through tests/e2e/harness.py (free
ports, temporary data directory, clean SIGTERM and sanitizer checks); with
--mock the client commands run against librdkafka's in-process mock cluster.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "e2e"))
import harness  # noqa: E402

RECORDS = 20_000
# Each command's own bound; the subprocess bound on top catches a hang.
TIME_LIMIT_S = 60
SLACK_S = 60


def run_bench(bench, args, expect_exit=0, time_limit_s=TIME_LIMIT_S):
    cmd = [bench] + [str(a) for a in args] + ["--time-limit-s", str(time_limit_s)]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=time_limit_s + SLACK_S, stdin=subprocess.DEVNULL)
    sys.stdout.write(done.stdout)
    if done.returncode != expect_exit:
        sys.stderr.write(done.stderr)
        raise AssertionError(f"{' '.join(cmd)} exited with {done.returncode}, expected {expect_exit}")
    lines = done.stdout.splitlines()
    assert lines, f"{cmd} printed nothing"
    result = json.loads(lines[-1])  # the last line is the JSON line
    assert isinstance(result, dict) and result["tool"] == "runnel-bench", result
    assert sum(1 for l in lines if l.startswith("{")) == 1, "more than one JSON line"
    return result


def check_latency(lat, count):
    assert lat["count"] == count, (lat, count)
    if count:
        assert 0 <= lat["p50_us"] <= lat["p99_us"] <= lat["p999_us"] <= lat["max_us"], lat


def check_broker_fields(result, pid):
    b = result["broker"]
    assert b["pid"] == pid and not b["lost"], b
    assert b["cpu_s"] >= 0 and b["rss_peak_kb"] > 0 and b["rss_peak_kb"] >= b["rss_start_kb"], b


def client_checks(bench, where, pid):
    """produce / consume / e2e against `where` (bootstrap args or --mock)."""
    mock = "--mock" in where
    watch = [] if mock else ["--broker-pid", pid]

    p = run_bench(bench, ["produce", *where, *watch, "--topic", "smoke", "--partitions", 3, "--records", RECORDS,
                          "--record-size", 100, "--acks", 1, "--linger-ms", 5, "--label", "smoke"])
    assert p["command"] == "produce" and p["label"] == "smoke" and p["partitions"] == 3, p
    assert p["complete"] and p["stopped_by"] == "records", p
    assert p["records_sent"] == RECORDS and p["records_acked"] == RECORDS and p["records_failed"] == 0, p
    assert p["bytes"] == RECORDS * 100, p
    check_latency(p["ack_latency"], RECORDS)
    if not mock:
        assert p["topic_created"] and p["topic_create_ms"] >= 0, p
        check_broker_fields(p, pid)
    print(f"produce: {p['records_per_s']:.0f} records/s")

    # Durable and compressed variants, smaller.
    d = run_bench(bench, ["produce", *where, *watch, "--topic", "smoke-durable", "--partitions", 2,
                          "--topic-config", "flush.messages=1", "--records", 2000, "--acks", "all", "--idempotence",
                          "--compression", "lz4", "--record-size", 1024, "--payload", "text"])
    assert d["complete"] and d["records_acked"] == 2000 and d["acks"] == "all" and d["compression"] == "lz4", d

    if mock:
        c = run_bench(bench, ["consume", *where, "--topic", "smoke-read", "--partitions", 3, "--records", RECORDS])
    else:
        c = run_bench(bench, ["consume", *where, *watch, "--topic", "smoke"])
        check_broker_fields(c, pid)
    assert c["mode"] == "assign" and c["complete"], c
    assert c["records"] == RECORDS and c["records_available"] == RECORDS and c["bytes"] == RECORDS * 100, c
    print(f"consume: {c['records_per_s']:.0f} records/s")

    if not mock:
        lz = run_bench(bench, ["consume", *where, "--topic", "smoke-durable"])
        assert lz["complete"] and lz["records"] == 2000 and lz["bytes"] == 2000 * 1024, lz

    e = run_bench(bench, ["e2e", *where, *watch, "--topic", "smoke-e2e", "--partitions", 2, "--rate", 2000,
                          "--records", 2000, "--linger-ms", 0, "--warmup-s", 0])
    assert e["complete"] and e["records_sent"] == 2000 and e["records_acked"] == 2000, e
    assert e["records_received"] == 2000 and e["consumer_errors"] == 0, e
    check_latency(e["e2e_latency"], 2000)
    print(f"e2e: p99 {e['e2e_latency']['p99_us']:.0f} us")


def machine_checks(bench):
    with tempfile.TemporaryDirectory(prefix="runnel-bench-smoke-") as d:
        for kind, extra in (("tcp", ["--bytes", 8 << 20]), ("rtt", []), ("write", ["--dir", d, "--bytes", 4 << 20]),
                            ("write-sync", ["--dir", d, "--bytes", 64 << 10])):
            # Each stops at its byte count or at the time limit, whichever comes first.
            b = run_bench(bench, ["baseline", kind, *extra], time_limit_s=0.5)
            assert b["kind"] == kind and b["complete"] and b["bytes"] > 0 and b["ops"] > 0, b
        assert os.listdir(d) == [], "the write baselines left a file behind"


def usage_checks(bench):
    done = subprocess.run([bench, "produce", "--acks", "2"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "--acks must be" in done.stderr and done.stdout == "", done


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bench", required=True)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--broker")
    where.add_argument("--mock", action="store_true")
    args = p.parse_args()

    if args.mock:
        usage_checks(args.bench)
        machine_checks(args.bench)
        client_checks(args.bench, ["--mock"], 0)
        print("PASS runnel-bench smoke (mock)")
        return 0

    def check(broker):
        bootstrap = ["--bootstrap", broker.endpoint.bootstrap]
        client_checks(args.bench, bootstrap, broker.process.pid)
        i = run_bench(args.bench, ["idle", *bootstrap, "--broker-pid", broker.process.pid, "--topic", "smoke-idle",
                                   "--partitions", 20, "--connections", 50, "--hold-s", 0.2])
        assert i["complete"] and i["connections"] == 50 and i["partitions"] == 20 and i["topic_created"], i
        assert i["rss_before_kb"] > 0 and i["rss_connections_kb"] > 0, i

    harness.run_broker_test(check, ["--broker", args.broker])


if __name__ == "__main__":
    sys.exit(main())
