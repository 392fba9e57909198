"""Every runnelctl command against the real broker: topic create (with
configs, validate-only, and the broker's errors by Kafka name), list,
describe (partitions, leader, replicas, isr, configs with sources),
alter-config (set, delete, errors), delete; produce to a partition and
consume by offset, by timestamp, with a --format, and the errors for a
missing topic and an offset out of range. Exit codes: 0, 1 for broker
errors, 2 for usage errors.
"""

import json
import subprocess

import acceptance
import harness

TIMEOUT_MS = 30_000


def main():
    args, rest = acceptance.parse_args(__doc__)

    def ctl(endpoint, *words, input_text=None, expect=0, timeout_ms=TIMEOUT_MS):
        command = [args.runnelctl, "--bootstrap-server", endpoint.bootstrap, "--timeout-ms", str(timeout_ms)]
        r = subprocess.run(command + list(words), input=input_text, capture_output=True, text=True,
                           timeout=timeout_ms / 1000 + 30)
        print(f"$ runnelctl {' '.join(words)} -> {r.returncode}\n{r.stdout[-1500:]}{r.stderr[-1500:]}")
        assert r.returncode == expect, f"runnelctl {' '.join(words)}: exit {r.returncode}, expected {expect}"
        return r

    def config_lines(describe_output):
        out = {}
        for line in describe_output.splitlines():
            if line.startswith("\t") and "\tsource=" in line:
                name_value, source = line.strip().split("\tsource=")[:2]
                name, _, value = name_value.partition("=")
                out[name] = (value, source.split("\t")[0])
        return out

    def runnelctl_commands(endpoint):
        acceptance.require_apis(endpoint, {**acceptance.NEEDED_APIS, 20: "DeleteTopics", 32: "DescribeConfigs",
                                           44: "IncrementalAlterConfigs"})
        # Create, with the errors the broker must give by name.
        r = ctl(endpoint, "topic", "create", "orders", "--partitions", "3", "--replication-factor", "1",
                "--config", "retention.ms=3600000", "--config", "cleanup.policy=delete")
        assert r.stdout == "Created topic orders.\n", r.stdout
        r = ctl(endpoint, "topic", "create", "orders", "--partitions", "3", expect=1)
        assert "TOPIC_ALREADY_EXISTS" in r.stderr
        r = ctl(endpoint, "topic", "create", "bad name!", expect=1)
        assert "INVALID_TOPIC_EXCEPTION" in r.stderr
        r = ctl(endpoint, "topic", "create", "too-many-replicas", "--replication-factor", "3", expect=1)
        assert "INVALID_REPLICATION_FACTOR" in r.stderr
        r = ctl(endpoint, "topic", "create", "bad-config", "--config", "no.such.config=1", expect=1)
        assert "INVALID_CONFIG" in r.stderr
        r = ctl(endpoint, "topic", "create", "checked-only", "--partitions", "2", "--validate-only")
        assert r.stdout == "Validated topic checked-only.\n", r.stdout
        ctl(endpoint, "topic", "create", "defaults")
        ctl(endpoint, "topic", "create", "--partitions", "0", "x", expect=2)  # refused before any request

        r = ctl(endpoint, "topic", "list")
        assert r.stdout.splitlines() == ["defaults", "orders"], r.stdout

        # Describe: partitions with leader, replicas, isr; every config with its source.
        r = ctl(endpoint, "topic", "describe", "orders")
        lines = r.stdout.splitlines()
        assert lines[0] == "Topic: orders\tPartitionCount: 3\tReplicationFactor: 1", lines[0]
        node = endpoint.node_id
        for p in range(3):
            assert lines[1 + p] == f"\tPartition: {p}\tLeader: {node}\tReplicas: {node}\tIsr: {node}", lines[1 + p]
        configs = config_lines(r.stdout)
        assert configs["retention.ms"] == ("3600000", "DYNAMIC_TOPIC_CONFIG"), configs.get("retention.ms")
        assert configs["cleanup.policy"] == ("delete", "DYNAMIC_TOPIC_CONFIG"), configs.get("cleanup.policy")
        assert configs["segment.bytes"][1] in ("DEFAULT_CONFIG", "STATIC_BROKER_CONFIG"), configs.get("segment.bytes")
        r = ctl(endpoint, "topic", "describe", "defaults")
        assert r.stdout.startswith("Topic: defaults\tPartitionCount: 1\tReplicationFactor: 1\n"), r.stdout
        r = ctl(endpoint, "topic", "describe", "missing", expect=1)
        assert "UNKNOWN_TOPIC_OR_PARTITION" in r.stderr

        # Incremental alter: set and delete, in one request; then errors.
        r = ctl(endpoint, "topic", "alter-config", "orders", "--set", "retention.ms=1000", "--set",
                "max.message.bytes=2000000", "--delete", "cleanup.policy")
        assert r.stdout.startswith("Altered configs of topic orders:"), r.stdout
        configs = config_lines(ctl(endpoint, "topic", "describe", "orders").stdout)
        assert configs["retention.ms"] == ("1000", "DYNAMIC_TOPIC_CONFIG"), configs.get("retention.ms")
        assert configs["max.message.bytes"] == ("2000000", "DYNAMIC_TOPIC_CONFIG"), configs.get("max.message.bytes")
        assert configs["cleanup.policy"][1] != "DYNAMIC_TOPIC_CONFIG", configs.get("cleanup.policy")
        ctl(endpoint, "topic", "alter-config", "orders", "--delete", "retention.ms")
        configs = config_lines(ctl(endpoint, "topic", "describe", "orders").stdout)
        assert configs["retention.ms"][1] != "DYNAMIC_TOPIC_CONFIG", configs.get("retention.ms")
        r = ctl(endpoint, "topic", "alter-config", "orders", "--set", "no.such.config=1", expect=1)
        assert "INVALID_CONFIG" in r.stderr
        r = ctl(endpoint, "topic", "alter-config", "missing", "--set", "retention.ms=1", expect=1)
        assert "UNKNOWN_TOPIC_OR_PARTITION" in r.stderr
        r = ctl(endpoint, "topic", "alter-config", "orders", "--set", "retention.ms=5", "--validate-only")
        configs = config_lines(ctl(endpoint, "topic", "describe", "orders").stdout)
        assert configs["retention.ms"][0] != "5", "validate-only changed the config"

        # Produce to one partition; consume by offset, timestamp and format.
        lines = "".join(f"k{i}:v{i}\n" for i in range(10))
        r = ctl(endpoint, "produce", "orders", "--partition", "2", "--key-separator", ":", "--header", "h=1",
                "--print-offsets", input_text=lines)
        assert r.stdout.splitlines() == [f"{i + 1}\t2\t{i}" for i in range(10)], r.stdout
        r = ctl(endpoint, "consume", "orders", "--partition", "2", "--offset", "7", "--max-messages", "3",
                "--format", "%p/%o %k=%v [%h]\\n")
        assert r.stdout == "2/7 k7=v7 [h=1]\n2/8 k8=v8 [h=1]\n2/9 k9=v9 [h=1]\n", r.stdout
        records = [json.loads(x) for x in
                   ctl(endpoint, "consume", "orders", "--from-beginning", "--exit-at-end", "--json").stdout.splitlines()]
        assert [(x["partition"], x["offset"], x["key"]) for x in records] == [(2, i, f"k{i}") for i in range(10)]
        target = records[5]["timestamp"]
        first = min(i for i, x in enumerate(records) if x["timestamp"] >= target)
        r = ctl(endpoint, "consume", "orders", "--timestamp", str(target), "--partition", "2", "--max-messages", "1",
                "--format", "%o")
        assert r.stdout == str(first), f"by timestamp {target}: {r.stdout}, expected offset {first}"
        r = ctl(endpoint, "consume", "orders", "--timestamp", str(records[-1]["timestamp"] + 60_000), "--exit-at-end")
        assert r.stdout == "", r.stdout
        r = ctl(endpoint, "consume", "orders", "--partition", "2", "--offset", "50", "--max-messages", "1", expect=1)
        assert "OFFSET_OUT_OF_RANGE" in r.stderr
        r = ctl(endpoint, "consume", "missing", "--from-beginning", "--exit-at-end", expect=1)
        assert "UNKNOWN_TOPIC_OR_PARTITION" in r.stderr
        r = ctl(endpoint, "produce", "orders", "--partition", "3", input_text="x\n", expect=1)
        assert "UNKNOWN_TOPIC_OR_PARTITION" in r.stderr

        # Delete.
        assert ctl(endpoint, "topic", "delete", "orders").stdout == "Deleted topic orders.\n"
        assert ctl(endpoint, "topic", "list").stdout.splitlines() == ["defaults"]
        r = ctl(endpoint, "topic", "delete", "orders", expect=1)
        assert "UNKNOWN_TOPIC_OR_PARTITION" in r.stderr

    harness.run_test(runnelctl_commands, argv=rest, description=__doc__)


if __name__ == "__main__":
    main()
