"""kafkajs (2.2.4, from tests/e2e/node_modules) creates a 6-partition topic,
produces 100,000 keyed records with per-record headers and timestamps
(acks=-1) with one compression codec (--codec: gzip is built in; snappy,
lz4 and zstd come from kafkajs-snappy, @2l/kafkajs-lz4 and
@mongodb-js/zstd), and reads them back (kafkajs_produce_consume.js does the
client work); acceptance.verify checks them (exactly once, on the
Java-compatible murmur2 partition, in order, headers and timestamps exact).
kafkajs's own partitioner, asked for every key, must agree with murmur2.

--restart: the idempotent producer (idempotent: true, one request in
flight) with the broker restarted (SIGTERM) after a fifth of the records:
no duplicates, no gaps.
--kill: the same with a flush.messages=1 topic and kill -9: every
acknowledged record (all of them, in the end) reads back exactly once.
--bad-input: the broker without auto-creation; after the first half, the
producer sends a record over a small topic's max.message.bytes
(KafkaJSProtocolError MESSAGE_TOO_LARGE) and a second producer one to a
missing topic (UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this
topic-partition"); a raw socket sends a corrupt batch
(acceptance.send_bad_batches) while the first producer waits; then it sends
the second half and everything reads back as without the bad input.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import acceptance
import harness

E2E_DIR = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(E2E_DIR, "kafkajs_produce_consume.js")
NODE = os.environ.get("RUNNEL_NODE") or shutil.which("node") or shutil.which("nodejs") or "node"
STEP_TIMEOUT_S = 300


def node_env(endpoint, args, topic, tag, out=""):
    env = dict(os.environ, RUNNEL_BOOTSTRAP=endpoint.bootstrap, TOPIC=topic, CODEC=args.codec,
               RECORDS=str(args.records), TAG=tag, IDEMPOTENT="1" if args.restart or args.kill else "0", OUT=out,
               PARTITIONS=str(acceptance.PARTITIONS), TIMESTAMP_BASE_MS=str(acceptance.TIMESTAMP_BASE_MS),
               DISTINCT_KEYS=str(acceptance.DISTINCT_KEYS), TOPIC_CONFIG=json.dumps(acceptance.topic_config(args)),
               BAD_INPUT="1" if args.bad_input else "0")
    if args.bad_input:
        env.update(SMALL_TOPIC=acceptance.small_topic(topic), MISSING_TOPIC=acceptance.missing_topic(topic),
                   SMALL_TOPIC_CONFIG=json.dumps(acceptance.SMALL_TOPIC_CONFIG),
                   OVERSIZED_VALUE=acceptance.OVERSIZED_VALUE)
    return env


def produce(broker, args, topic, tag):
    """Runs the produce step; restarts (or kills) the broker mid-stream, or
    sends the raw bad batches, when asked. Returns {key: partition} as
    kafkajs's partitioner chose."""
    restart_at = acceptance.acks_before_break(args) if args.restart or args.kill else None
    bad_input_done = not args.bad_input
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen([NODE, SCRIPT, "produce"], env=node_env(broker.endpoint, args, topic, tag),
                                stdin=subprocess.PIPE if args.bad_input else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=err, text=True, cwd=E2E_DIR)
        chosen = None
        deadline = time.monotonic() + STEP_TIMEOUT_S
        try:
            for line in proc.stdout:
                if line.startswith("progress ") and restart_at is not None and int(line.split()[1]) >= restart_at:
                    how = "kill -9" if args.kill else "SIGTERM"
                    print(f"restarting the broker ({how}) after {line.split()[1]} acknowledged records")
                    broker.restart(hard=args.kill)
                    restart_at = None
                elif line.startswith("bad-input "):
                    print("kafkajs " + line.strip())
                elif line.strip() == "half" and not bad_input_done:
                    acceptance.send_bad_batches(broker.endpoint, topic)
                    acceptance.assert_empty(broker.endpoint, acceptance.small_topic(topic))
                    proc.stdin.write("go\n")
                    proc.stdin.close()
                    bad_input_done = True
                elif line.startswith("partitions "):
                    chosen = json.loads(line[len("partitions "):])
                if time.monotonic() > deadline:
                    break
            code = proc.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            code = None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            err.seek(0)
            errors = err.read()
    print(errors[-3000:], file=sys.stderr)
    assert code == 0, f"kafkajs produce exited with {code} (None: still running after {STEP_TIMEOUT_S} s)"
    assert restart_at is None, "the broker was never restarted"
    assert bad_input_done, "kafkajs never reached the bad input"
    assert chosen, "kafkajs produce did not report its partitions"
    return chosen


def consume(endpoint, args, topic, tag):
    with tempfile.NamedTemporaryFile(mode="r", suffix=".jsonl") as out:
        result = subprocess.run([NODE, SCRIPT, "consume"], env=node_env(endpoint, args, topic, tag, out.name),
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=STEP_TIMEOUT_S,
                                cwd=E2E_DIR)
        assert result.returncode == 0, f"kafkajs consume exited with {result.returncode}: {result.stderr[-3000:]}"
        consumed = []
        for line in out:
            r = json.loads(line)
            consumed.append(acceptance.Consumed(r["partition"], r["offset"], r["key"], r["value"],
                                                [tuple(h) for h in r["headers"]], r["timestamp"],
                                                r["timestamp_type"]))
        return consumed


def main():
    args, rest = acceptance.parse_args(__doc__)
    tag = f"js-{args.codec}"
    topic = acceptance.run_name("kafkajs", args)

    def kafkajs_produce_consume(broker):
        acceptance.require_apis(broker.endpoint)
        begin = time.monotonic()
        chosen = produce(broker, args, topic, tag)
        produced_s = time.monotonic() - begin
        acceptance.check_topic_configs(broker.endpoint, topic, args)
        disagree = [(k, p, acceptance.murmur2_partition(k)) for k, p in chosen.items()
                    if p != acceptance.murmur2_partition(k)]
        assert not disagree, f"kafkajs's partitioner and murmur2 disagree (key, kafkajs, murmur2): {disagree[:10]}"
        begin = time.monotonic()
        consumed = consume(broker.endpoint, args, topic, tag)
        print(f"kafkajs {args.codec} {acceptance.mode_name(args)}: produced {args.records} in {produced_s:.1f} s, "
              f"consumed {len(consumed)} in {time.monotonic() - begin:.1f} s")
        acceptance.verify(consumed, args.records, tag, acceptance.murmur2_partition,
                          lambda i: acceptance.headers_of(i, tag),
                          lambda i, c: c.timestamp_type == "CreateTime"
                          and c.timestamp == acceptance.TIMESTAMP_BASE_MS + i)

    kafkajs_produce_consume.__name__ = acceptance.run_name("kafkajs_produce_consume", args).replace("-", "_")
    harness.run_broker_test(kafkajs_produce_consume, argv=rest, description=__doc__,
                            overrides=acceptance.broker_overrides(args))


if __name__ == "__main__":
    main()
