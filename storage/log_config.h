// Per-partition log settings with Kafka's defaults; the broker maps its
// topic and broker config keys (segment.bytes, log.segment.bytes, ...) onto it.
#pragma once

#include <cstdint>
#include <limits>

namespace runnel::storage {

enum class cleanup_policy : uint8_t {
    delete_segments, // cleanup.policy=delete
    compact,         // cleanup.policy=compact
    compact_delete,  // cleanup.policy=compact,delete
};

enum class message_timestamp_type : uint8_t {
    create_time,     // keep the producer's timestamps
    log_append_time, // stamp each batch with the broker's clock on append
};

inline constexpr int64_t unlimited = -1;
inline constexpr int64_t never = std::numeric_limits<int64_t>::max();

struct log_config {
    uint64_t segment_bytes = 1024 * 1024 * 1024;                 // segment.bytes
    int64_t segment_ms = 7 * 24 * 3600 * 1000LL;                 // segment.ms
    uint64_t index_interval_bytes = 4096;                        // index.interval.bytes
    uint64_t segment_index_bytes = 10 * 1024 * 1024;             // segment.index.bytes
    int64_t retention_ms = 7 * 24 * 3600 * 1000LL;               // retention.ms (-1: forever)
    int64_t retention_bytes = unlimited;                         // retention.bytes (-1: no limit)
    int64_t flush_messages = never;                              // flush.messages
    int64_t flush_ms = never;                                    // flush.ms
    cleanup_policy cleanup = cleanup_policy::delete_segments;    // cleanup.policy
    int64_t delete_retention_ms = 24 * 3600 * 1000LL;            // delete.retention.ms
    int64_t min_compaction_lag_ms = 0;                           // min.compaction.lag.ms
    int64_t max_compaction_lag_ms = never;                       // max.compaction.lag.ms
    double min_cleanable_ratio = 0.5;                            // min.cleanable.dirty.ratio
    message_timestamp_type timestamp_type = message_timestamp_type::create_time; // message.timestamp.type
    int64_t retention_check_interval_ms = 5 * 60 * 1000;         // log.retention.check.interval.ms
    // Batches larger than this are refused (max.message.bytes plus headroom
    // is the broker's job; this only bounds what recovery will believe).
    uint64_t batch_bytes_max = 64 * 1024 * 1024;

    bool deletes() const { return cleanup != cleanup_policy::compact; }
    bool compacts() const { return cleanup != cleanup_policy::delete_segments; }
};

} // namespace runnel::storage
