"""runnelctl (librdkafka underneath) creates a 6-partition topic, produces
100,000 keyed records with headers (acks=all) with one compression codec
(--codec), and consumes them all back as JSON; acceptance.verify checks them
(exactly once, on librdkafka's consistent_random partition, in order, headers
and timestamps intact), and the partition and offset that `produce
--print-offsets` reported for each line must be where the record was read.

--restart: the idempotent producer (--idempotent) with the broker killed
(kill -9) and restarted mid-stream: still no duplicates and no gaps.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import acceptance
import harness

PRODUCE_TIMEOUT_S = 240
CTL_TIMEOUT_MS = 60_000
ACKS_BEFORE_RESTART = 2_000
WAIT_FOR_ACKS_S = 60


def ctl_command(args, endpoint, *words):
    return [args.runnelctl, "--bootstrap-server", endpoint.bootstrap, "--timeout-ms", str(CTL_TIMEOUT_MS)] + list(words)


def run_ctl(args, endpoint, *words, input_text=None, timeout_s=PRODUCE_TIMEOUT_S):
    result = subprocess.run(ctl_command(args, endpoint, *words), input=input_text, capture_output=True, text=True,
                            timeout=timeout_s)
    if result.returncode != 0:
        raise AssertionError(f"runnelctl {' '.join(words)} exited with {result.returncode}:\n{result.stderr[-4000:]}")
    return result


def static_headers(codec):
    return [("source", "runnelctl"), ("codec", codec), ("empty", "")]


def input_lines(records, tag, start, end):
    return "".join(f"{acceptance.key_of(i)}\t{acceptance.value_of(i, tag)}\n" for i in range(start, end))


def produce_command(args, endpoint, topic):
    words = ["produce", topic, "--key-separator", "\t", "--acks", "all", "--compression", args.codec, "--print-offsets"]
    for k, v in static_headers(args.codec):
        words += ["--header", f"{k}={v}"]
    if args.restart:
        words.append("--idempotent")
    return ctl_command(args, endpoint, *words)


def produce(args, broker, topic, tag):
    """Feeds the lines to `runnelctl produce`, restarting the broker after the
    first acknowledgements when --restart; returns {line: (partition, offset)}."""
    half = args.records // 2
    may_restart = threading.Event()
    stderr_file = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(produce_command(args, broker.endpoint, topic), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=stderr_file, text=True)

    def feed():
        try:
            proc.stdin.write(input_lines(args.records, tag, 0, half))
            proc.stdin.flush()
            may_restart.wait(timeout=WAIT_FOR_ACKS_S + 60)
            proc.stdin.write(input_lines(args.records, tag, half, args.records))
            proc.stdin.close()
        except BrokenPipeError:
            pass  # runnelctl stopped early; its exit code and stderr say why

    if not args.restart:
        may_restart.set()  # nothing to wait for: feed every line at once
    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    acks = {}
    deadline = time.monotonic() + PRODUCE_TIMEOUT_S
    restarted = not args.restart
    for line in proc.stdout:
        number, partition, offset = (int(x) for x in line.split("\t"))
        acks[number] = (partition, offset)
        if not restarted and len(acks) >= ACKS_BEFORE_RESTART:
            print(f"restarting the broker (kill -9) after {len(acks)} acknowledged records")
            broker.restart(hard=True)
            restarted = True
            may_restart.set()
        if time.monotonic() > deadline:
            proc.kill()
            break
    may_restart.set()
    try:
        code = proc.wait(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"runnelctl produce did not finish within {PRODUCE_TIMEOUT_S} s")
    feeder.join(timeout=10)
    stderr_file.seek(0)
    err = stderr_file.read()
    print(err[-2000:], file=sys.stderr)
    assert code == 0, f"runnelctl produce exited with {code}"
    assert restarted, f"only {len(acks)} acknowledgements arrived: the broker was never restarted"
    return acks


def consume(args, endpoint, topic):
    result = run_ctl(args, endpoint, "consume", topic, "--from-beginning", "--exit-at-end", "--json")
    consumed = []
    for line in result.stdout.splitlines():
        r = json.loads(line)
        headers = [(h["key"], h["value"]) for h in r["headers"]]
        consumed.append(acceptance.Consumed(r["partition"], r["offset"], r["key"], r["value"], headers,
                                            r["timestamp"], r["timestamp_type"]))
    return consumed


def main():
    args, rest = acceptance.parse_args(__doc__)
    tag = f"ctl-{args.codec}"
    topic = f"runnelctl-{args.codec}" + ("-restart" if args.restart else "")

    def runnelctl_produce_consume(broker):
        acceptance.require_apis(broker.endpoint)
        endpoint = broker.endpoint
        run_ctl(args, endpoint, "topic", "create", topic, "--partitions", str(acceptance.PARTITIONS),
                "--replication-factor", "1")
        started_ms = int(time.time() * 1000)
        begin = time.monotonic()
        acks = produce(args, broker, topic, tag)
        produced_s = time.monotonic() - begin
        finished_ms = int(time.time() * 1000)
        begin = time.monotonic()
        consumed = consume(args, broker.endpoint, topic)
        consumed_s = time.monotonic() - begin
        print(f"runnelctl {args.codec}: produced {args.records} in {produced_s:.1f} s, "
              f"consumed {len(consumed)} in {consumed_s:.1f} s")

        def timestamp_ok(i, c):
            # librdkafka stamps each record (CreateTime) when runnelctl hands it over.
            return c.timestamp_type == "CreateTime" and started_ms - 1000 <= c.timestamp <= finished_ms + 1000

        acceptance.verify(consumed, args.records, tag, acceptance.crc32_partition,
                          lambda i: static_headers(args.codec), timestamp_ok)
        # What produce reported for each line is where the record is.
        assert len(acks) == args.records, f"{len(acks)} acknowledgements for {args.records} records"
        where = {acceptance.index_of(c.value, tag): (c.partition, c.offset) for c in consumed}
        wrong = [(line, acks[line], where.get(line - 1)) for line in acks if acks[line] != where.get(line - 1)]
        assert not wrong, f"produce reported other partitions/offsets than consume found: {wrong[:10]}"

    runnelctl_produce_consume.__name__ = f"runnelctl_produce_consume_{args.codec}" + ("_restart" if args.restart else "")
    harness.run_broker_test(runnelctl_produce_consume, argv=rest, description=__doc__)


if __name__ == "__main__":
    main()
