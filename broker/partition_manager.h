// The partitions this broker hosts, spread over the shards: where each one
// lives, the look-up on its shard, and keeping the set in step with the
// metadata image (creating and deleting storage logs, applying per-topic
// config changes to running logs without a restart).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asio/awaitable.hpp>

#include "broker/metadata_image.h"
#include "broker/partition.h"
#include "broker/shards.h"
#include "protocol/types.h"
#include "storage/flusher.h"
#include "storage/log_manager.h"

namespace runnel::broker {

class broker_config;

// Hooks for parts of the broker that keep state per partition (the data
// path: producer state, fetch waiters). Called on the partition's shard.
class partition_observer {
public:
    virtual ~partition_observer() = default;
    // The partition exists (created, or opened at startup) and is in the
    // manager's table; no request has reached it yet.
    virtual void on_open(partition& p) = 0;
    // The partition is about to leave the table: `deleted` when its topic
    // was deleted (its log is deleted next), else the broker is shutting
    // down (its log is closed next). removed() is already true.
    virtual void on_close(partition& p, bool deleted) = 0;
};

class partition_manager {
public:
    // `fs` is the file system `logs` uses (for the partition.metadata files).
    partition_manager(shard_set& shards, std::shared_ptr<storage::file_system> fs, storage::log_manager& logs,
                      storage::flusher& flusher, const broker_config& config);
    ~partition_manager();
    partition_manager(const partition_manager&) = delete;
    partition_manager& operator=(const partition_manager&) = delete;

    // Registers an observer; only before the first apply().
    void add_observer(partition_observer* observer);

    // ---- Finding a partition (from any shard).
    // The shard that owns (topic, index), whether or not the partition
    // exists: fixed for the life of the process.
    size_t shard_of(std::string_view topic, model::partition_id index) const;
    // The same for a topic id, through the image (nullopt: unknown id).
    std::optional<size_t> shard_of(const metadata_image& image, const proto::uuid& topic_id,
                                   model::partition_id index) const;

    // ---- On the owning shard only (asserted).
    // The partition, or null when this broker does not host it. Holders
    // that co_await must check removed() afterwards.
    std::shared_ptr<partition> get(std::string_view topic, model::partition_id index) const;
    std::shared_ptr<partition> get(const proto::uuid& topic_id, model::partition_id index) const;
    // Every partition on the calling shard.
    std::vector<std::shared_ptr<partition>> local_partitions() const;

    // Runs fn(std::shared_ptr<partition>) (null if not hosted) on the
    // partition's shard and resumes the caller on its own executor with
    // fn's result. fn returns asio::awaitable<T>.
    template <typename F>
    auto with_partition(std::string topic, model::partition_id index, F fn) {
        const size_t shard = shard_of(topic, index);
        return run_on(shards_.executor(shard),
                      [this, topic = std::move(topic), index, fn = std::move(fn)]() mutable {
                          return fn(get(topic, index));
                      });
    }

    // ---- Shared services for the partitions' owners.
    storage::flusher& flusher() { return flusher_; }
    storage::log_manager& logs() { return logs_; }
    shard_set& shards() { return shards_; }
    // The clock for appends, segment rolls and retention.
    static int64_t now_ms();

    // ---- Driven by the controller (serialised: one call at a time).
    // Makes the hosted partitions match the image on every shard: creates
    // (or opens) logs of new partitions, deletes those whose topic is gone
    // (or was recreated under a new id), updates leader epochs, and applies
    // each topic's effective config (overrides, dynamic broker defaults,
    // static config) to its logs and settings. A log that cannot be created
    // is logged and skipped, so one bad partition never blocks the rest.
    asio::awaitable<void> apply(std::shared_ptr<const metadata_image> image);

    // Starts the per-shard housekeeping: retention checks and, on shard 0,
    // the checkpoint files. Call once, after the first apply().
    void start_housekeeping();

    // Shutdown, after the shards have stopped (single-threaded): on_close
    // for every partition, then forget them; the log manager closes the logs.
    void close_all();

    // Partitions currently hosted (any shard; for logs and tests).
    size_t partition_count() const;

private:
    struct shard_table;
    void apply_on_shard(size_t shard, const metadata_image& image);
    void remove_gone(size_t shard, const metadata_image& image);
    void remove(shard_table& table, const std::shared_ptr<partition>& p, bool deleted);
    // Hosts a partition whose log is open (and whose files are durable).
    std::shared_ptr<partition> host_partition(size_t shard, const topic_image& topic, const partition_image& image,
                                              std::shared_ptr<storage::partition_log> log, partition_settings settings);
    // The partition's log, created if missing. What must become durable
    // (the new directory's name, partition.metadata) goes into `batch`,
    // which the caller commits before the partition is hosted.
    storage::result<std::shared_ptr<storage::partition_log>> open_log(const topic_image& topic, int32_t index,
                                                                      const storage::log_config& log_config,
                                                                      storage::atomic_write_batch& batch);
    asio::awaitable<void> housekeeping_loop(size_t shard);
    void assert_on_shard(size_t shard) const;

    shard_set& shards_;
    std::shared_ptr<storage::file_system> fs_;
    storage::log_manager& logs_;
    storage::flusher& flusher_;
    const broker_config& config_;
    std::vector<partition_observer*> observers_;
    std::vector<std::unique_ptr<shard_table>> tables_; // one per shard, touched only there
};

} // namespace runnel::broker
