"""kcat (librdkafka's CLI) produces 100,000 keyed records with headers into a
6-partition topic (created with runnelctl: kcat cannot create topics) with
`-X acks=all -X compression.codec=<--codec> -X enable.idempotence=true`, and
reads them back with `kcat -C -e -J -X check.crcs=true`; acceptance.verify
checks them (exactly once, on librdkafka's consistent_random partition, in
order, headers and timestamps intact).

--restart: the broker is restarted (SIGTERM) while kcat is producing, after
some records are readable: the idempotent producer must still leave no
duplicates and no gaps.
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


def static_headers(codec):
    return [("source", "kcat"), ("codec", codec)]


def input_lines(tag, start, end):
    return "".join(f"{acceptance.key_of(i)}\t{acceptance.value_of(i, tag)}\n" for i in range(start, end)).encode()


def some_record_is_readable(endpoint, topic):
    r = subprocess.run([KCAT, "-C", "-b", endpoint.bootstrap, "-t", topic, "-o", "beginning", "-c", "1", "-e", "-q",
                        "-X", "socket.timeout.ms=3000"],
                       capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    return r.returncode == 0 and len(r.stdout) > 0


def produce(args, broker, topic, tag):
    command = [KCAT, "-P", "-b", broker.endpoint.bootstrap, "-t", topic, "-K", "\t",
               "-X", "acks=all", "-X", f"compression.codec={args.codec}", "-X", "enable.idempotence=true",
               "-X", "message.timeout.ms=60000"]
    for k, v in static_headers(args.codec):
        command += ["-H", f"{k}={v}"]
    if args.restart:
        # kcat exits on any client error by default, including "all brokers
        # down" while the broker restarts; -E keeps it going (librdkafka retries).
        command.append("-E")
    half = args.records // 2
    with tempfile.TemporaryFile() as err:
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
        print(errors[-3000:], file=sys.stderr)
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


def create_topic(args, endpoint, topic):
    r = subprocess.run([args.runnelctl, "--bootstrap-server", endpoint.bootstrap, "topic", "create", topic,
                        "--partitions", str(acceptance.PARTITIONS), "--replication-factor", "1"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"runnelctl topic create: {r.stderr}"


def main():
    args, rest = acceptance.parse_args(__doc__)
    tag = f"kcat-{args.codec}"
    topic = f"kcat-{args.codec}" + ("-restart" if args.restart else "")

    def kcat_produce_consume(broker):
        acceptance.require_apis(broker.endpoint)
        create_topic(args, broker.endpoint, topic)
        started_ms = int(time.time() * 1000)
        begin = time.monotonic()
        produce(args, broker, topic, tag)
        produced_s = time.monotonic() - begin
        finished_ms = int(time.time() * 1000)
        begin = time.monotonic()
        consumed = consume(broker.endpoint, topic)
        print(f"kcat {args.codec}: produced {args.records} in {produced_s:.1f} s, "
              f"consumed {len(consumed)} in {time.monotonic() - begin:.1f} s")

        def timestamp_ok(i, c):
            return c.timestamp_type == "CreateTime" and started_ms - 1000 <= c.timestamp <= finished_ms + 1000

        acceptance.verify(consumed, args.records, tag, acceptance.crc32_partition,
                          lambda i: static_headers(args.codec), timestamp_ok)

    kcat_produce_consume.__name__ = f"kcat_produce_consume_{args.codec}" + ("_restart" if args.restart else "")
    harness.run_broker_test(kcat_produce_consume, argv=rest, description=__doc__)


if __name__ == "__main__":
    main()
