"""A topic's compression.type is applied on append, as Kafka's broker does:

  lz4           an uncompressed batch is stored lz4-compressed
  uncompressed  a gzip batch is stored uncompressed
  producer      (the default) the batch is stored as the producer sent it

In each case the stored batch keeps the records (keys, values, headers,
timestamps) and the producer's id, epoch and sequence, and confluent-kafka
reads the records back. An idempotent producer's retry of a recompressed
batch is still recognised as a duplicate.
"""

import gzip
import struct
import time

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import harness
import raw_kafka

NONE = 0
CODEC_NONE, CODEC_GZIP, CODEC_LZ4 = 0, 1, 3
RECORDS = 50


def records(tag):
    ts = int(time.time() * 1000)
    return [(f"k{i}".encode(), (f"{tag}-{i}-" + "x" * 200).encode(), ts + i) for i in range(RECORDS)]


def gzip_batch(recs, producer_id=-1, producer_epoch=-1, base_sequence=-1):
    """A v2 batch whose records section is gzip-compressed."""
    first_ts = recs[0][2]
    body = b"".join(raw_kafka.record(i, ts - first_ts, k, v) for i, (k, v, ts) in enumerate(recs))
    packed = gzip.compress(body)
    after_crc = struct.pack(">hiqqqhii", CODEC_GZIP, len(recs) - 1, first_ts, max(r[2] for r in recs), producer_id,
                            producer_epoch, base_sequence, len(recs)) + packed
    crc = raw_kafka.crc32c(after_crc)
    return struct.pack(">qiibI", 0, 4 + 1 + 4 + len(after_crc), -1, 2, crc) + after_crc


def stored_batch(conn, topic):
    """(attributes, producer id, epoch, base sequence) of the first stored batch."""
    answer = conn.fetch([(topic, 0, 0, 1 << 20)], max_wait_ms=0)
    p = answer["partitions"][(topic, 0)]
    assert p["error"] == NONE, p
    data = p["records"]
    assert data and len(data) >= 61, f"{topic}: nothing stored"
    attributes = struct.unpack_from(">h", data, 21)[0]
    producer_id, epoch, sequence = struct.unpack_from(">qhi", data, 43)
    return attributes, producer_id, epoch, sequence


def consumed(endpoint, topic):
    consumer = Consumer({"bootstrap.servers": endpoint.bootstrap, "group.id": f"read-{topic}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    out = []
    deadline = time.monotonic() + 30
    while len(out) < RECORDS and time.monotonic() < deadline:
        m = consumer.poll(1.0)
        if m is None:
            continue
        assert m.error() is None, m.error()
        out.append((m.key(), m.value(), m.timestamp()[1]))
    consumer.close()
    return out


def check(endpoint):
    admin = AdminClient({"bootstrap.servers": endpoint.bootstrap})
    topics = [NewTopic("to-lz4", 1, 1, config={"compression.type": "lz4"}),
              NewTopic("to-plain", 1, 1, config={"compression.type": "uncompressed"}),
              NewTopic("as-sent", 1, 1)]
    for future in admin.create_topics(topics, operation_timeout=20).values():
        future.result(timeout=30)
    conn = raw_kafka.Connection(endpoint.host, endpoint.port)

    cases = [("to-lz4", CODEC_NONE, CODEC_LZ4), ("to-plain", CODEC_GZIP, CODEC_NONE), ("as-sent", CODEC_GZIP, CODEC_GZIP)]
    for topic, sent_codec, stored_codec in cases:
        recs = records(topic)
        batch = gzip_batch(recs) if sent_codec == CODEC_GZIP else raw_kafka.batch(recs, recs[0][2])
        answer = conn.produce({topic: {0: batch}})[(topic, 0)]
        assert answer["error"] == NONE and answer["base_offset"] == 0, answer
        attributes, _pid, _epoch, _seq = stored_batch(conn, topic)
        assert attributes & 0x07 == stored_codec, f"{topic}: stored with codec {attributes & 0x07}, not {stored_codec}"
        got = consumed(endpoint, topic)
        assert got == recs, f"{topic}: records changed by the broker"
        print(f"{topic}: sent with codec {sent_codec}, stored with {stored_codec}, {len(got)} records read back")

    # An idempotent producer's batch keeps its identity through recompression,
    # so its retry is answered as the duplicate it is.
    pid = init_producer_id(conn)
    recs = records("idempotent")
    batch = raw_kafka.batch(recs, recs[0][2], producer_id=pid, producer_epoch=0, base_sequence=0)
    first = conn.produce({"to-lz4": {0: batch}})[("to-lz4", 0)]
    retry = conn.produce({"to-lz4": {0: batch}})[("to-lz4", 0)]
    assert first["error"] == NONE and retry["error"] == NONE, (first, retry)
    assert retry["base_offset"] == first["base_offset"], f"the retry was appended again: {first} {retry}"
    answer = conn.fetch([("to-lz4", 0, first["base_offset"], 1 << 20)], max_wait_ms=0)
    data = answer["partitions"][("to-lz4", 0)]["records"]
    attributes = struct.unpack_from(">h", data, 21)[0]
    stored_pid, stored_epoch, stored_seq = struct.unpack_from(">qhi", data, 43)
    assert attributes & 0x07 == CODEC_LZ4 and (stored_pid, stored_epoch, stored_seq) == (pid, 0, 0), \
        (attributes, stored_pid, stored_epoch, stored_seq)
    assert answer["partitions"][("to-lz4", 0)]["high_watermark"] == first["base_offset"] + RECORDS
    print("idempotent: the recompressed batch keeps its producer id and sequence; the retry is a duplicate")
    conn.close()


def init_producer_id(conn):
    answer = conn.init_producer_id()
    assert answer["error"] == NONE, answer
    return answer["producer_id"]


if __name__ == "__main__":
    harness.run_test(check, description=__doc__)
