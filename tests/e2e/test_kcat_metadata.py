"""kcat (librdkafka's CLI) lists the cluster: `kcat -L -J` must show exactly
broker 1 at the address the broker listens on, and broker 1 as controller."""

import json
import shutil
import subprocess

import harness

KCAT = shutil.which("kcat") or "/usr/bin/kcat"


def kcat_lists_broker_1(endpoint):
    result = subprocess.run([KCAT, "-L", "-J", "-b", endpoint.bootstrap, "-m", "15"],
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"kcat exited with {result.returncode}: {result.stderr}"
    metadata = json.loads(result.stdout)
    print("kcat:", json.dumps(metadata))
    expected_name = f"{endpoint.host}:{endpoint.port}"
    assert metadata["brokers"] == [{"id": endpoint.node_id, "name": expected_name}], metadata["brokers"]
    assert metadata["originating_broker"]["id"] == endpoint.node_id, metadata["originating_broker"]
    assert metadata["originating_broker"]["name"].startswith(expected_name), metadata["originating_broker"]
    assert metadata["controllerid"] == endpoint.node_id, metadata["controllerid"]
    for topic in metadata["topics"]:
        assert "error" not in topic, topic


if __name__ == "__main__":
    harness.run_test(kcat_lists_broker_1, description=__doc__)
