// The broker side of log compaction (cleanup.policy=compact, such as
// __consumer_offsets): every log.cleaner.backoff.ms each shard asks its
// compacted logs for a job (storage::partition_log::prepare_compaction
// decides from min.cleanable.dirty.ratio and max.compaction.lag.ms), hands
// it to the cleaner thread, and installs the output back on the partition's
// shard. Appends and reads never wait for it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <asio/awaitable.hpp>

#include "broker/partition_manager.h"
#include "broker/shards.h"
#include "storage/compaction.h"

namespace runnel::broker {

struct compactor_options {
    bool enabled = true;             // log.cleaner.enable
    int64_t backoff_ms = 15000;      // log.cleaner.backoff.ms
    // Distinct keys one job may map (log.cleaner.dedupe.buffer.size at
    // Kafka's 24 bytes an entry); a job never maps more than its records.
    size_t offset_map_entries_max = 134217728 / 24;
};

class log_compactor {
public:
    log_compactor(compactor_options options, shard_set& shards, partition_manager& partitions,
                  std::shared_ptr<storage::file_system> fs);
    ~log_compactor();
    log_compactor(const log_compactor&) = delete;
    log_compactor& operator=(const log_compactor&) = delete;

    // Starts each shard's loop (nothing when disabled).
    void start();
    // Before the shards' contexts go: finishes the job under way and joins
    // the cleaner thread. An output that reaches a stopped shard is never
    // installed; its ".cleaned" files are removed when the log next opens.
    void stop();

    // Jobs installed so far (any thread; for logs and tests).
    uint64_t installed() const { return installed_.load(std::memory_order_relaxed); }

private:
    asio::awaitable<void> loop(size_t shard);
    void offer(const std::shared_ptr<partition>& p, int64_t now_ms);

    compactor_options options_;
    shard_set& shards_;
    partition_manager& partitions_;
    std::shared_ptr<storage::file_system> fs_;
    std::unique_ptr<storage::log_cleaner> cleaner_;
    std::atomic<uint64_t> installed_{0};
};

} // namespace runnel::broker
