"""Damage on disk: bytes are flipped, while the broker is stopped, inside a
batch of a closed segment and inside the last batch of the active segment.

  * The active segment's batch was written after the last clean shutdown
    (the broker was then killed with SIGKILL), so it lies above the recovery
    point: the restart's recovery scan finds it, says so in the log, and cuts
    the log at that batch -- only the damaged tail goes.
  * The closed segment lies below the recovery point and is not scanned at
    start-up; a Fetch that reaches the damaged batch gets CORRUPT_MESSAGE and
    the broker logs it, instead of handing out garbage. Batches before it
    still read back intact, and so do the segments after it.
"""

import glob
import os
import struct

import harness
import raw_kafka

TOPIC = "damaged"
BATCHES = 90
RECORDS_PER_BATCH = 50
VALUE_BYTES = 1000
SEGMENT_BYTES = 1024 * 1024
CORRUPT_MESSAGE = 2


def value_of(offset):
    return (b"%010d-" % offset) * (VALUE_BYTES // 11) + b"#" * (VALUE_BYTES % 11)


def produce(conn, batches, first_offset):
    offset = first_offset
    for _ in range(batches):
        recs = [(b"k", value_of(offset + j), 1_700_000_000_000 + offset + j) for j in range(RECORDS_PER_BATCH)]
        answer = conn.produce({TOPIC: {0: raw_kafka.batch(recs, recs[0][2])}})[(TOPIC, 0)]
        assert answer["error"] == 0 and answer["base_offset"] == offset, answer
        offset += RECORDS_PER_BATCH
    return offset


def batches_in(path):
    """(position, base_offset, size) of every batch in a .log file."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos + 12 <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        out.append((pos, base, 12 + length))
        pos += 12 + length
    return out


def flip(path, position):
    with open(path, "r+b") as f:
        f.seek(position)
        b = f.read(1)
        f.seek(position)
        f.write(bytes([b[0] ^ 0xFF]))


def fetch(conn, offset):
    return conn.fetch([(TOPIC, 0, offset, 1 << 20)], max_wait_ms=0)["partitions"][(TOPIC, 0)]


def read_range(conn, start, end):
    """Reads [start, end) and checks every value; returns the next offset."""
    offset = start
    while offset < end:
        p = fetch(conn, offset)
        assert p["error"] == 0, f"fetch at {offset}: error {p['error']}"
        records = [r for r in raw_kafka.records_of(p["records"]) if offset <= r[0] < end]
        assert records, f"nothing at {offset}"
        for o, _, v in records:
            assert o == offset and v == value_of(o), f"offset {offset}: wrong record {o}"
            offset += 1
    return offset


def corruption(broker):
    conn = raw_kafka.Connection(broker.endpoint.host, broker.endpoint.port)
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": broker.endpoint.bootstrap})
    for f in admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=1,
                                           config={"segment.bytes": str(SEGMENT_BYTES)})]).values():
        f.result(timeout=60)
    end = produce(conn, BATCHES, 0)
    conn.close()
    broker.stop()  # clean: the recovery point is the log end
    broker.start()
    conn = raw_kafka.Connection(broker.endpoint.host, broker.endpoint.port)
    clean_end = end
    end = produce(conn, 3, end)  # into the active segment, above the recovery point
    conn.close()
    broker.kill()

    part_dir = os.path.join(broker.data_dir, f"{TOPIC}-0")
    logs = sorted(glob.glob(os.path.join(part_dir, "*.log")))
    assert len(logs) >= 4, f"expected several segments, found {logs}"
    closed = logs[1]
    closed_batches = batches_in(closed)
    pos, damaged_closed, size = closed_batches[len(closed_batches) // 2]
    flip(closed, pos + size - 20)  # inside the records, past the header
    active_batches = batches_in(logs[-1])
    apos, damaged_active, asize = active_batches[-2]  # the second-to-last batch, above the recovery point
    assert damaged_active >= clean_end, (damaged_active, clean_end)
    flip(logs[-1], apos + asize - 30)
    print(f"flipped a byte of batch {damaged_closed} in {os.path.basename(closed)} and of batch "
          f"{damaged_active} in {os.path.basename(logs[-1])}")

    broker.start()
    text = broker.log_text()
    assert "recovery dropped" in text and "CRC" in text, "the restart did not report the damaged active segment"
    conn = raw_kafka.Connection(broker.endpoint.host, broker.endpoint.port)
    high = conn.list_offsets([(TOPIC, 0, -1)])[(TOPIC, 0)]
    assert high["offset"] == damaged_active, \
        f"log end {high['offset']}: recovery should cut exactly at the damaged batch {damaged_active}"

    # Before the damaged closed batch: intact.
    assert read_range(conn, 0, damaged_closed) == damaged_closed
    # The damaged batch: an error, not garbage.
    p = fetch(conn, damaged_closed)
    assert p["error"] == CORRUPT_MESSAGE and not p["records"], \
        f"fetch of the damaged batch: error {p['error']}, {len(p['records'] or b'')} bytes"
    # The segments after it: intact up to the cut.
    next_segment = int(os.path.basename(logs[2]).split(".")[0])
    assert read_range(conn, next_segment, damaged_active) == damaged_active
    # Still serving writes.
    assert produce(conn, 2, damaged_active) == damaged_active + 2 * RECORDS_PER_BATCH
    conn.close()
    assert "fails its CRC" in broker.log_text().split("harness: start #3")[-1], \
        "the damaged closed segment was not reported in the log"


if __name__ == "__main__":
    harness.run_broker_test(corruption, description=__doc__)
