"""Disk full: the broker's data directory is a small tmpfs (mounted in a
user and mount namespace of its own, so no privileges are needed). A filler
file takes most of the space; Produce then fills the rest until the broker
answers KAFKA_STORAGE_ERROR. Meanwhile and afterwards consumers keep reading
every acknowledged record, intact; once the filler is deleted (space freed,
no restart) Produce succeeds again, and a clean shutdown still works.

It needs `unshare` (util-linux) and user namespaces; on a machine without
them it fails naming the cause rather than passing.
"""

import os
import subprocess
import time

import harness
import raw_kafka

TMPFS_MB = 48
FILLER_LEFT_MB = 6      # space left free for the broker after the filler
RECORD_BYTES = 16 * 1024
RECORDS_PER_BATCH = 4
STORAGE_ERROR = 56      # KAFKA_STORAGE_ERROR
PRODUCE_MAX = 4000      # bounds the filling loop: 4000 x 64 KiB is far more than the tmpfs


class TmpfsBroker(harness.Broker):
    """A broker whose data directory is a fresh tmpfs of TMPFS_MB in its own
    mount namespace; /proc/<pid>/root/<data dir> reaches it from outside."""

    def command(self):
        mount = f'mount -t tmpfs -o size={TMPFS_MB}m runnel-disk-full "$1" && shift && exec "$@"'
        return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", mount, "sh",
                self.data_dir] + super().command()

    def inside(self, *parts):
        return os.path.join(f"/proc/{self.process.pid}/root", self.data_dir.lstrip("/"), *parts)


def payload(i):
    # Incompressible enough and recognisable: the index repeated with noise.
    seed = (i * 2654435761) & 0xFFFFFFFF
    out = bytearray()
    while len(out) < RECORD_BYTES:
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        out += seed.to_bytes(4, "big")
    return b"%08d" % i + bytes(out[:RECORD_BYTES - 8])


def produce_batch(conn, topic, first):
    recs = [(b"k%d" % (first + j), payload(first + j), int(time.time() * 1000)) for j in range(RECORDS_PER_BATCH)]
    return conn.produce({topic: {0: raw_kafka.batch(recs, recs[0][2])}})[(topic, 0)]


def read_all(conn, topic, end):
    """Every record from offset 0 up to `end`, checked against what was written."""
    offset = 0
    while offset < end:
        p = conn.fetch([(topic, 0, offset, 1 << 20)], max_wait_ms=0)["partitions"][(topic, 0)]
        assert p["error"] == 0, f"fetch at {offset}: error {p['error']}"
        records = raw_kafka.records_of(p["records"])
        assert records, f"fetch at {offset} returned nothing below {end}"
        for o, key, value in records:
            if o < offset or o >= end:
                continue
            assert o == offset, f"offset {offset} expected, {o} found"
            assert key == b"k%d" % o and value == payload(o), f"record {o} differs from what was written"
            offset += 1
    return offset


def disk_full(broker):
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    assert probe.returncode == 0, f"cannot create a user+mount namespace here: {probe.stderr.decode()}"
    conn = raw_kafka.Connection(broker.endpoint.host, broker.endpoint.port)
    topic = "fills-the-disk"
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": broker.endpoint.bootstrap})
    # Small segments, so that filling up also means rolling (new files) at the edge.
    for f in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1,
                                           config={"segment.bytes": str(2 * 1024 * 1024)})]).values():
        f.result(timeout=60)

    stat = os.statvfs(broker.inside())
    free_mb = stat.f_bavail * stat.f_frsize // (1 << 20)
    filler = broker.inside("filler")
    with open(filler, "wb") as f:
        f.write(b"\0" * ((free_mb - FILLER_LEFT_MB) << 20))
    print(f"tmpfs {TMPFS_MB} MiB, {free_mb} MiB free before the filler, {FILLER_LEFT_MB} MiB after")

    acknowledged = 0
    storage_errors = 0
    for _ in range(PRODUCE_MAX):
        answer = produce_batch(conn, topic, acknowledged)
        if answer["error"] == 0:
            assert answer["base_offset"] == acknowledged, answer
            acknowledged += RECORDS_PER_BATCH
            continue
        assert answer["error"] == STORAGE_ERROR, f"a full disk answered error {answer['error']}, expected 56"
        storage_errors += 1
        if storage_errors >= 5:
            break
    assert storage_errors >= 5, f"the disk never filled: {acknowledged} records acknowledged"
    print(f"disk full after {acknowledged} records ({acknowledged * RECORD_BYTES >> 20} MiB)")
    assert acknowledged > 0

    # Consumers keep reading, and what was acknowledged is intact.
    assert read_all(conn, topic, acknowledged) == acknowledged
    high = conn.list_offsets([(topic, 0, -1)])[(topic, 0)]
    assert high["error"] == 0 and high["offset"] == acknowledged, high

    # Space freed: writes succeed again without a restart.
    os.remove(filler)
    for _ in range(20):
        answer = produce_batch(conn, topic, acknowledged)
        assert answer["error"] == 0, f"after freeing space Produce answered {answer['error']}"
        assert answer["base_offset"] == acknowledged, answer
        acknowledged += RECORDS_PER_BATCH
    assert read_all(conn, topic, acknowledged) == acknowledged
    conn.close()
    text = broker.log_text()
    assert "No space left on device" in text or "ENOSPC" in text or "no space" in text.lower(), \
        "the broker log does not mention the full disk"


if __name__ == "__main__":
    def run(argv=None):
        args = harness.parse_args(argv, __doc__)
        broker = None
        failed = True
        try:
            broker = TmpfsBroker(args.broker)
            broker.start()
            disk_full(broker)
            broker.stop()
            failed = False
        except Exception:
            import traceback
            traceback.print_exc()
        finally:
            if broker is not None:
                if broker.process is not None:
                    broker.process.kill()
                    broker.process.wait()
                    broker.process = None
                if failed:
                    broker.print_log()
                broker.cleanup(keep=failed)
        print(f"{'FAIL' if failed else 'PASS'} disk_full")
        return 1 if failed else 0

    raise SystemExit(run())
