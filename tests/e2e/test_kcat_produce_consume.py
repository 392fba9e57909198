"""kcat (librdkafka's CLI) produces 100,000 keyed records with headers into a
6-partition topic (created with runnelctl: kcat cannot create topics) with
`-X acks=all -X compression.codec=<--codec> -X enable.idempotence=true`, and
reads them back with `kcat -C -e -J -X check.crcs=true`; acceptance.verify
checks them (exactly once, on librdkafka's consistent_random partition, in
order, headers and timestamps intact).

--restart: the broker is restarted (SIGTERM) while kcat is producing, after
some records are readable: the idempotent producer must still leave no
duplicates and no gaps.
--kill: the topic has flush.messages=1, and the broker is killed (kill -9)
and restarted once kcat has reported a fifth of the records delivered
(`-v -v -v` prints each delivery report): every record, acknowledged before
the kill or after, reads back exactly once.
--bad-input: the broker without auto-creation; while the kcat producer waits
between the two halves of its input (all of the first half delivered), other
kcat runs send a record over a small topic's max.message.bytes ("Message
size too large") and one to a missing topic ("Unknown topic or partition"),
and a raw socket sends a corrupt batch (acceptance.send_bad_batches); then the
first kcat sends the second half and everything reads back as without them.
"""

import json
import shutil
import subprocess
import sys
import tempfile
import time

import acceptance
import harness

KCAT = shutil.which("kcat") or "/usr/bin/kcat"
PRODUCE_TIMEOUT_S = 240
CONSUME_TIMEOUT_S = 180
WAIT_FOR_DATA_S = 60
BAD_INPUT_TIMEOUT_S = 60
DELIVERED = "% Message delivered"  # kcat's line for each delivery report, at verbosity 3
TRICKLE_LINES = 5


def static_headers(codec):
    return [("source", "kcat"), ("codec", codec)]


def input_lines(tag, start, end):
    return "".join(f"{acceptance.key_of(i)}\t{acceptance.value_of(i, tag)}\n" for i in range(start, end)).encode()


def some_record_is_readable(endpoint, topic):
    r = subprocess.run([KCAT, "-C", "-b", endpoint.bootstrap, "-t", topic, "-o", "beginning", "-c", "1", "-e", "-q",
                        "-X", "socket.timeout.ms=3000"],
                       capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    return r.returncode == 0 and len(r.stdout) > 0


def delivered(err):
    """The delivery reports kcat has printed so far into the file err. Read
    through a file description of its own: err's offset is kcat's too, and
    moving it would make kcat write over earlier lines."""
    with open(err.name, "rb") as f:
        return sum(1 for line in f if line.startswith(DELIVERED.encode()))


def trickle_until_delivered(proc, err, tag, start, end, count):
    """Feeds lines [start, end) a few at a time until kcat has reported `count`
    deliveries (it serves delivery reports only when it reads input, so a
    trickle keeps them coming); returns (deliveries, the next line to feed)."""
    deadline = time.monotonic() + WAIT_FOR_DATA_S
    while (seen := delivered(err)) < count:
        assert proc.poll() is None, f"kcat -P exited with {proc.returncode} after {seen} deliveries"
        assert time.monotonic() < deadline, f"{seen} of {count} records delivered within {WAIT_FOR_DATA_S} s"
        step = min(TRICKLE_LINES, end - start)
        proc.stdin.write(input_lines(tag, start, start + step) or b"")
        proc.stdin.flush()
        start += step
        time.sleep(0.02)
    return seen, start


def kcat_expecting_failure(endpoint, topic, line, *extra):
    """Runs kcat -P for one line that must fail; returns kcat's error output."""
    r = subprocess.run([KCAT, "-P", "-b", endpoint.bootstrap, "-t", topic, "-K", "\t", "-X", "acks=all"] + list(extra),
                       input=line.encode(), capture_output=True, timeout=BAD_INPUT_TIMEOUT_S)
    errors = r.stderr.decode(errors="replace")
    assert r.returncode != 0, f"kcat -P to {topic} succeeded: {errors}"
    return errors


def bad_input(endpoint, topic):
    """Between the halves: other kcat runs send an oversized record and one to a missing topic; then raw bad batches."""
    errors = kcat_expecting_failure(endpoint, acceptance.small_topic(topic), f"big\t{acceptance.OVERSIZED_VALUE}\n")
    assert "Delivery failed for message: Broker: Message size too large" in errors, errors
    errors = kcat_expecting_failure(endpoint, acceptance.missing_topic(topic), "lost\tto a missing topic\n",
                                    "-X", "topic.metadata.propagation.max.ms=1000")
    assert ("Delivery failed for message: Broker: Unknown topic or partition" in errors
            or "Delivery failed for message: Local: Unknown topic" in errors), errors
    print("kcat: oversized record: Message size too large; missing topic: Unknown topic or partition")
    acceptance.send_bad_batches(endpoint, topic)
    acceptance.assert_empty(endpoint, acceptance.small_topic(topic))


def produce(args, broker, topic, tag):
    command = [KCAT, "-P", "-b", broker.endpoint.bootstrap, "-t", topic, "-K", "\t",
               "-X", "acks=all", "-X", f"compression.codec={args.codec}", "-X", "enable.idempotence=true",
               "-X", "message.timeout.ms=60000"]
    for k, v in static_headers(args.codec):
        command += ["-H", f"{k}={v}"]
    if args.restart or args.kill:
        # kcat exits on any client error by default, including "all brokers
        # down" while the broker restarts; -E keeps it going (librdkafka retries).
        command.append("-E")
    if args.kill or args.bad_input:
        command += ["-v", "-v"]  # verbosity 3: a line per delivery report
    half = args.records // 2
    with tempfile.NamedTemporaryFile() as err:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
        try:
            proc.stdin.write(input_lines(tag, 0, half))
            proc.stdin.flush()
            if args.restart:
                deadline = time.monotonic() + WAIT_FOR_DATA_S
                while not some_record_is_readable(broker.endpoint, topic):
                    assert time.monotonic() < deadline, f"no record readable within {WAIT_FOR_DATA_S} s"
                    time.sleep(0.2)
                print("restarting the broker (SIGTERM) while kcat produces")
                broker.restart()
            elif args.kill:
                seen, half = trickle_until_delivered(proc, err, tag, half, args.records,
                                                     acceptance.acks_before_break(args))
                print(f"restarting the broker (kill -9) after {seen} records delivered, {half} fed to kcat")
                broker.restart(hard=True)
            elif args.bad_input:
                seen, half = trickle_until_delivered(proc, err, tag, half, args.records, half)
                print(f"bad input after {seen} records delivered, {half} fed to kcat")
                bad_input(broker.endpoint, topic)
            proc.stdin.write(input_lines(tag, half, args.records))
            proc.stdin.close()
            code = proc.wait(timeout=PRODUCE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(f"kcat -P did not finish within {PRODUCE_TIMEOUT_S} s")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            err.seek(0)
            errors = err.read().decode(errors="replace")
        count = errors.count(DELIVERED)
        errors = "\n".join(line for line in errors.splitlines() if not line.startswith(DELIVERED))
        print(errors[-3000:], file=sys.stderr)
        if args.kill or args.bad_input:
            assert count == args.records, f"kcat reported {count} deliveries of {args.records} records"
        assert code == 0, f"kcat -P exited with {code}"
        assert "Delivery failed" not in errors, "kcat reported failed deliveries"


def consume(endpoint, topic):
    result = subprocess.run([KCAT, "-C", "-b", endpoint.bootstrap, "-t", topic, "-o", "beginning", "-e", "-J", "-q",
                             "-X", "check.crcs=true"],
                            capture_output=True, text=True, timeout=CONSUME_TIMEOUT_S, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"kcat -C exited with {result.returncode}: {result.stderr[-3000:]}"
    consumed = []
    for line in result.stdout.splitlines():
        r = json.loads(line)
        flat = r.get("headers") or []
        headers = list(zip(flat[0::2], flat[1::2]))
        tstype = {"create": "CreateTime", "logappend": "LogAppendTime"}.get(r["tstype"], r["tstype"])
        consumed.append(acceptance.Consumed(r["partition"], r["offset"], r["key"], r["payload"], headers,
                                            r["ts"], tstype))
    return consumed


def create_topic(args, endpoint, topic, partitions=acceptance.PARTITIONS, config=None):
    command = [args.runnelctl, "--bootstrap-server", endpoint.bootstrap, "topic", "create", topic,
               "--partitions", str(partitions), "--replication-factor", "1"]
    for k, v in (config or {}).items():
        command += ["--config", f"{k}={v}"]
    r = subprocess.run(command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"runnelctl topic create: {r.stderr}"


def main():
    args, rest = acceptance.parse_args(__doc__)
    tag = f"kcat-{args.codec}"
    topic = acceptance.run_name("kcat", args)

    def kcat_produce_consume(broker):
        acceptance.require_apis(broker.endpoint)
        create_topic(args, broker.endpoint, topic, config=acceptance.topic_config(args))
        if args.bad_input:
            create_topic(args, broker.endpoint, acceptance.small_topic(topic), 1, acceptance.SMALL_TOPIC_CONFIG)
        started_ms = int(time.time() * 1000)
        begin = time.monotonic()
        produce(args, broker, topic, tag)
        produced_s = time.monotonic() - begin
        acceptance.check_topic_configs(broker.endpoint, topic, args)
        finished_ms = int(time.time() * 1000)
        begin = time.monotonic()
        consumed = consume(broker.endpoint, topic)
        print(f"kcat {args.codec} {acceptance.mode_name(args)}: produced {args.records} in {produced_s:.1f} s, "
              f"consumed {len(consumed)} in {time.monotonic() - begin:.1f} s")

        def timestamp_ok(i, c):
            return c.timestamp_type == "CreateTime" and started_ms - 1000 <= c.timestamp <= finished_ms + 1000

        acceptance.verify(consumed, args.records, tag, acceptance.crc32_partition,
                          lambda i: static_headers(args.codec), timestamp_ok)

    kcat_produce_consume.__name__ = acceptance.run_name("kcat_produce_consume", args).replace("-", "_")
    harness.run_broker_test(kcat_produce_consume, argv=rest, description=__doc__,
                            overrides=acceptance.broker_overrides(args))


if __name__ == "__main__":
    main()
