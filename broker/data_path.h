// The broker-wide parts of the data path: it attaches each hosted partition's
// partition_data (loading the producer state from its snapshot and the log)
// and snapshots it at shutdown; it keeps a fetch session cache per shard and
// the block of producer ids InitProducerId hands out.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "broker/fetch_session.h"
#include "broker/partition_data.h"
#include "broker/partition_manager.h"
#include "protocol/errors.h"
#include "storage/file_system.h"

namespace runnel::broker {

// A block of producer ids the control plane reserved: [first_id, first_id + count).
struct producer_id_range {
    proto::error_code error = proto::error_code::none;
    int64_t first_id = -1;
    int32_t count = 0;
};

// What the data path asks of the control plane (main.cc connects these to
// the controller). Either may be empty: no auto-creation, no producer ids.
struct control_plane_hooks {
    // Creates the missing topics when auto.create.topics.enable says so;
    // one error code per name (none: it exists now).
    std::function<asio::awaitable<std::vector<proto::error_code>>(std::vector<std::string>)> auto_create_topics;
    // Reserves `count` producer ids, never handed out before.
    std::function<asio::awaitable<producer_id_range>(int32_t)> allocate_producer_ids;
};

struct data_path_options {
    fetch_session_limits sessions;        // max.incremental.fetch.session.cache.slots (broker-wide)
    partition_data_limits partitions;     // producer.id.expiration.ms, waiters
    int32_t producer_id_block_size = 1000; // ids fetched from the controller at a time
    int64_t flush_check_interval_ms = 100;  // how often flush.ms is looked at
    int64_t producer_expiration_check_interval_ms = 600'000; // producer.id.expiration.check.interval.ms
    // A Fetch answer is at most this big whatever the client asks (fetch.max.bytes).
    int32_t fetch_max_bytes = 57'671'680;
};

struct producer_id_result {
    proto::error_code error = proto::error_code::none;
    int64_t producer_id = -1;
};

class data_path : public partition_observer {
public:
    data_path(data_path_options options, shard_set& shards, partition_manager& partitions, control_plane_hooks hooks,
              std::shared_ptr<storage::file_system> fs);
    ~data_path() override;

    // partition_observer: on the partition's shard.
    void on_open(partition& p) override;
    void on_close(partition& p, bool deleted) override;

    // The shard an executor belongs to (asserted to be one of ours).
    size_t shard_of(const asio::any_io_executor& executor) const;
    // The calling shard's session cache.
    fetch_session_cache& sessions(size_t shard) { return *sessions_.at(shard); }

    // A fresh producer id, from the current block or a new one the
    // controller allocates. Any shard; runs on shard 0.
    asio::awaitable<producer_id_result> next_producer_id();
    // Starts, on every shard, the periodic work of the data path: the
    // flushes flush.ms asks for, and forgetting producers idle for
    // producer.id.expiration.ms or whose batches retention removed.
    void start_housekeeping();
    // From any shard: wakes every waiting Fetch on every shard, so that it
    // answers with what it has (the broker drains before it stops).
    void wake_fetch_waiters();

    // Produce's auto-creation of missing topics (see control_plane_hooks):
    // one error per name, unknown_topic_or_partition for all without a hook.
    asio::awaitable<std::vector<proto::error_code>> auto_create_topics(std::vector<std::string> names);

    const data_path_options& options() const { return options_; }
    shard_set& shards() { return shards_; }
    partition_manager& partitions() { return partitions_; }

private:
    asio::awaitable<producer_id_result> next_producer_id_on_home();
    asio::awaitable<void> housekeeping_loop(size_t shard);

    data_path_options options_;
    shard_set& shards_;
    partition_manager& partitions_;
    control_plane_hooks hooks_;
    std::shared_ptr<storage::file_system> fs_;
    std::vector<std::unique_ptr<fetch_session_cache>> sessions_; // one per shard
    // Producer ids not yet handed out: [next, end) of each block, on shard 0.
    struct id_block {
        int64_t next = 0;
        int64_t end = 0;
    };
    std::deque<id_block> id_blocks_;
};

} // namespace runnel::broker
