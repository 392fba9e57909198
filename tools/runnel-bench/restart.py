#!/usr/bin/env python3
"""Restart time with a large log (issue 8, docs/OPERATIONS.md "Stopping and
restarting"): fills a fresh release broker with about 1 GiB of 1 KiB records
(runnel-bench produce), then measures

  - the clean stop: SIGTERM until the process exits (exit code checked);
  - the restart after it: exec until ApiVersions is answered, and the
    broker's own "started in" figure (recovery skipped: the log says "after a
    clean shutdown");
  - reading the whole log twice after that restart (runnel-bench consume,
    with the broker's CPU): the first read CRC-checks each closed segment's
    bytes as it serves them (docs/OPERATIONS.md, "Damaged closed segments"),
    the second serves bytes already checked, so the pair prices that check;
  - for contrast, a restart after kill -9 (the recovery scan of the active
    segments runs).

Usage: tools/runnel-bench/restart.py [--gib G] [--segment-mib M] [--no-build]
It builds the release broker and runnel-bench first (-j2) unless --no-build.
Prints a summary and one JSON line; asserts nothing about time.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import suite  # noqa: E402  (the suite's Broker: free ports, temp dir, ready = ApiVersions answered)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RECORD_BYTES = 1024


def started_ms(log_text, nth):
    """The broker's own "started in X ms" of its nth start (1-based)."""
    found = re.findall(r"started in ([0-9.]+) ms", log_text)
    return float(found[nth - 1]) if len(found) >= nth else None


def consume_all(bench, broker, records, group):
    """records/s and the broker's CPU seconds of one full read of the topic."""
    done = subprocess.run([bench, "consume", "-b", broker.bootstrap, "-t", "restart", "--records", str(records),
                           "--broker-pid", str(broker.pid), "--time-limit-s", "600", "--no-progress"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=700)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise suite.SuiteError(f"runnel-bench consume failed:\n{done.stdout[-2000:]}")
    run = json.loads(lines[-1])
    broker_stats = run.get("broker") or {}
    return {"records_per_s": round(run.get("records_per_s", 0)), "mb_per_s": round(run.get("mb_per_s", 0), 1),
            "broker_cpu_s": broker_stats.get("cpu_s")}


def du_bytes(path):
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(dirpath, f)).st_blocks * 512
            except OSError:
                pass
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=float, default=1.0, help="record bytes to write, in GiB (default 1)")
    parser.add_argument("--segment-mib", type=int, default=128, help="segment.bytes of the topic, MiB (default 128)")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()

    build = os.path.join(ROOT, "build", "release")
    if not args.no_build:
        subprocess.run(["cmake", "--preset", "release"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", "--preset", "release", "-j", os.environ.get("RUNNEL_JOBS", "2"),
                        "--target", "runnel", "runnel-bench"], cwd=ROOT, check=True)
    binary = os.path.join(build, "broker", "runnel")
    bench = os.path.join(build, "tools", "runnel-bench")
    work = tempfile.mkdtemp(prefix="runnel-restart-")
    broker = suite.Broker(binary, work, log_level="info")
    result = {"gib": args.gib, "segment_mib": args.segment_mib, "load_start": suite.load_average()}
    try:
        broker.start()
        records = int(args.gib * (1 << 30) / RECORD_BYTES)
        fill = subprocess.run([bench, "produce", "-b", broker.bootstrap, "-t", "restart", "-p", "6",
                               "--topic-config", f"segment.bytes={args.segment_mib << 20}",
                               "--records", str(records), "--record-size", str(RECORD_BYTES), "--acks", "1",
                               "--linger-ms", "5", "--time-limit-s", "900", "--no-progress"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1000)
        if fill.returncode != 0:
            raise suite.SuiteError(f"runnel-bench produce failed:\n{fill.stdout[-2000:]}")
        result["records"] = records
        result["data_dir_bytes"] = du_bytes(broker.data_dir)

        code, stop_s = broker.stop()
        result["clean_stop_s"] = round(stop_s, 3)
        result["clean_stop_exit"] = code
        broker.start()
        result["ready_after_clean_ms"] = round(broker.ready_ms, 1)
        log = open(broker.log_path, errors="replace").read()
        result["started_in_after_clean_ms"] = started_ms(log, 2)
        result["recovery_skipped"] = log.count("(after a clean shutdown)") == 1
        for read in ("first_read", "second_read"):
            run = consume_all(bench, broker, records, f"restart-{read}")
            result[read] = run

        broker.process.send_signal(signal.SIGKILL)
        broker.process.wait(timeout=30)
        broker.process = None
        broker.start()
        result["ready_after_kill_ms"] = round(broker.ready_ms, 1)
        log = open(broker.log_path, errors="replace").read()
        result["started_in_after_kill_ms"] = started_ms(log, 3)
        code, stop_s = broker.stop()
        result["final_stop_exit"] = code
    finally:
        broker.kill()
        result["load_end"] = suite.load_average()
        shutil.rmtree(work, ignore_errors=True)

    gib = result.get("data_dir_bytes", 0) / (1 << 30)
    print(f"log of {gib:.2f} GiB on disk ({result.get('records', 0):,} records of {RECORD_BYTES} B, "
          f"{args.segment_mib} MiB segments, 6 partitions); load {result['load_start']:.2f} -> {result['load_end']:.2f}")
    print(f"clean stop (SIGTERM to exit): {result['clean_stop_s']:.3f} s, exit {result['clean_stop_exit']}")
    print(f"restart after the clean stop: ApiVersions answered {result['ready_after_clean_ms']} ms after exec "
          f"(broker: started in {result['started_in_after_clean_ms']} ms; recovery skipped: "
          f"{result['recovery_skipped']})")
    for read in ("first_read", "second_read"):
        r = result[read]
        print(f"{read.replace('_', ' ')} of the whole log after the restart: {r['records_per_s']:,} records/s, "
              f"{r['mb_per_s']} MB/s, broker CPU {r['broker_cpu_s']} s")
    print(f"restart after kill -9: ApiVersions answered {result['ready_after_kill_ms']} ms after exec "
          f"(broker: started in {result['started_in_after_kill_ms']} ms)")
    print(json.dumps(result))
    return 0 if result.get("clean_stop_exit") == 0 and result.get("final_stop_exit") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
