// The benchmark's consumer side: reads a topic's partitions either by
// assignment, with librdkafka's simple consumer API (no group: librdkafka
// 2.0's assign() insists on a group.id, and a group.id brings the group
// coordinator in), or as a member of a consumer group (subscribe).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tools/runnel-bench/client.h"

namespace runnel::bench {

class record_reader {
public:
    // By assignment: every partition 0..start_offsets.size()-1 from its offset
    // (RD_KAFKA_OFFSET_BEGINNING and friends allowed).
    static std::unique_ptr<record_reader> assign(const target& t, const common_options& common,
                                                 const std::vector<int64_t>& start_offsets, std::string* error);
    // As a member of `group`; a group with no committed offsets starts at the beginning.
    static std::unique_ptr<record_reader> subscribe(const target& t, const common_options& common,
                                                    const std::string& group, std::string* error);
    ~record_reader();

    // The next message or error event (the caller destroys it), or nullptr after timeout_ms.
    rd_kafka_message_t* poll(int timeout_ms);
    // Up to out.size() messages or error events into `out` (the caller
    // destroys each), waiting at most timeout_ms for the first; returns how
    // many. One call per batch keeps the application thread's cost per
    // record (locks, clock reads) out of a throughput run.
    size_t poll_batch(int timeout_ms, std::vector<rd_kafka_message_t*>& out);
    // Stops fetching (leaves the group in group mode).
    void close();

private:
    record_reader() = default;
    handle_ptr rk_;
    topic_ptr rkt_;
    // The queue messages arrive on: the simple consumer's own, or in group
    // mode the consumer queue (whose group events the batch call serves too).
    std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)> queue_{nullptr, rd_kafka_queue_destroy};
    std::vector<int32_t> started_;
    bool group_ = false;
    bool closed_ = false;
};

} // namespace runnel::bench
