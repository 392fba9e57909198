"""runnelctl (librdkafka underneath) creates a 6-partition topic, produces
100,000 keyed records with headers (acks=all) with one compression codec
(--codec), and consumes them all back as JSON; acceptance.verify checks them
(exactly once, on librdkafka's consistent_random partition, in order, headers
and timestamps intact), and the partition and offset that `produce
--print-offsets` reported for each line must be where the record was read.

--restart: the idempotent producer (--idempotent) with the broker restarted
(SIGTERM) mid-stream, after a fifth of the records were acknowledged: still
no duplicates and no gaps.
--kill: the same with a flush.messages=1 topic and kill -9: every
acknowledged record (all of them, in the end) reads back exactly once, where
produce reported it.
--bad-input: the broker without auto-creation; while a `runnelctl produce`
is producing (a fifth of the records acknowledged, its input held back to a
trickle), other runs send a record over a small topic's max.message.bytes
(MESSAGE_TOO_LARGE) and one to a missing topic (UNKNOWN_TOPIC_OR_PARTITION),
and a raw socket sends a corrupt batch (acceptance.send_bad_batches); then
the first run sends the second half and everything reads back as without them.
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
WAIT_FOR_ACKS_S = 60
TRICKLE_LINES = 5
TRICKLE_PAUSE_S = 0.02


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
    if args.restart or args.kill:
        words.append("--idempotent")
    return ctl_command(args, endpoint, *words)


def ctl_expecting_failure(args, endpoint, topic, line):
    """Runs `runnelctl produce` of one line that must fail; returns its error output."""
    result = subprocess.run(ctl_command(args, endpoint, "produce", topic, "--key-separator", "\t", "--acks", "all"),
                            input=line, capture_output=True, text=True, timeout=CTL_TIMEOUT_MS / 1000 + 30)
    assert result.returncode == 1, f"runnelctl produce to {topic} exited {result.returncode}: {result.stderr}"
    return result.stderr


def bad_input(args, endpoint, topic):
    """Between the halves: other runs send an oversized record and one to a missing topic; then raw bad batches."""
    errors = ctl_expecting_failure(args, endpoint, acceptance.small_topic(topic), f"big\t{acceptance.OVERSIZED_VALUE}\n")
    assert "MESSAGE_TOO_LARGE" in errors and "1 failed" in errors, errors
    errors = ctl_expecting_failure(args, endpoint, acceptance.missing_topic(topic), "lost\tto a missing topic\n")
    assert "UNKNOWN_TOPIC_OR_PARTITION" in errors, errors
    print("runnelctl: oversized record MESSAGE_TOO_LARGE, missing topic UNKNOWN_TOPIC_OR_PARTITION")
    acceptance.send_bad_batches(endpoint, topic)
    acceptance.assert_empty(endpoint, acceptance.small_topic(topic))


def produce(args, broker, topic, tag):
    """Feeds the lines to `runnelctl produce`, restarting the broker after the
    first acknowledgements (--restart, --kill) or sending bad input after the
    first acknowledgements (--bad-input); returns {line: (partition, offset)}."""
    half = args.records // 2
    may_restart = threading.Event()
    stderr_file = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(produce_command(args, broker.endpoint, topic), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=stderr_file, text=True)

    def feed():
        try:
            proc.stdin.write(input_lines(args.records, tag, 0, half))
            proc.stdin.flush()
            # runnelctl serves delivery reports (and so prints offsets) only
            # while it reads input: trickle lines until the restart is done.
            deadline = time.monotonic() + WAIT_FOR_ACKS_S + 60
            start = half
            while not may_restart.wait(timeout=TRICKLE_PAUSE_S) and time.monotonic() < deadline:
                end = min(args.records, start + TRICKLE_LINES)
                proc.stdin.write(input_lines(args.records, tag, start, end))
                proc.stdin.flush()
                start = end
            proc.stdin.write(input_lines(args.records, tag, start, args.records))
            proc.stdin.close()
        except BrokenPipeError:
            pass  # runnelctl stopped early; its exit code and stderr say why

    pausing = args.restart or args.kill or args.bad_input
    if not pausing:
        may_restart.set()  # nothing to wait for: feed every line at once
    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    acks = {}
    deadline = time.monotonic() + PRODUCE_TIMEOUT_S
    restarted = not pausing
    pause_at = acceptance.acks_before_break(args)
    for line in proc.stdout:
        number, partition, offset = (int(x) for x in line.split("\t"))
        acks[number] = (partition, offset)
        if not restarted and len(acks) >= pause_at:
            if args.bad_input:
                bad_input(args, broker.endpoint, topic)
            else:
                how = "kill -9" if args.kill else "SIGTERM"
                print(f"restarting the broker ({how}) after {len(acks)} acknowledged records")
                broker.restart(hard=args.kill)
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
    topic = acceptance.run_name("runnelctl", args)

    def create(endpoint, name, partitions, config):
        words = ["topic", "create", name, "--partitions", str(partitions), "--replication-factor", "1"]
        for k, v in config.items():
            words += ["--config", f"{k}={v}"]
        run_ctl(args, endpoint, *words)

    def runnelctl_produce_consume(broker):
        acceptance.require_apis(broker.endpoint)
        endpoint = broker.endpoint
        create(endpoint, topic, acceptance.PARTITIONS, acceptance.topic_config(args))
        if args.bad_input:
            create(endpoint, acceptance.small_topic(topic), 1, acceptance.SMALL_TOPIC_CONFIG)
        started_ms = int(time.time() * 1000)
        begin = time.monotonic()
        acks = produce(args, broker, topic, tag)
        produced_s = time.monotonic() - begin
        acceptance.check_topic_configs(broker.endpoint, topic, args)
        finished_ms = int(time.time() * 1000)
        begin = time.monotonic()
        consumed = consume(args, broker.endpoint, topic)
        consumed_s = time.monotonic() - begin
        print(f"runnelctl {args.codec} {acceptance.mode_name(args)}: produced {args.records} in {produced_s:.1f} s, "
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

    runnelctl_produce_consume.__name__ = acceptance.run_name("runnelctl_produce_consume", args).replace("-", "_")
    harness.run_broker_test(runnelctl_produce_consume, argv=rest, description=__doc__,
                            overrides=acceptance.broker_overrides(args))


if __name__ == "__main__":
    main()
