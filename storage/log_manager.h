// All partition logs of one log dir: opens (and recovers) them on start,
// creates and deletes them, writes the dir-level checkpoint files, and
// leaves the clean-shutdown marker on close.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/checkpoint_file.h"
#include "storage/log_config.h"
#include "storage/partition_log.h"

namespace runnel::storage {

struct log_manager_options {
    std::string log_dir;
    // The config of a partition found on disk (topic overrides); defaults
    // to default_config when empty.
    std::function<log_config(const topic_partition&)> config_for;
    log_config default_config;
    int64_t now_ms = 0;
    // Written into the clean-shutdown marker, as Kafka does.
    int64_t broker_epoch = -1;
};

class log_manager {
public:
    static result<std::unique_ptr<log_manager>> open(std::shared_ptr<file_system> fs, log_manager_options options);
    ~log_manager() = default;
    log_manager(const log_manager&) = delete;
    log_manager& operator=(const log_manager&) = delete;

    // Creates the partition's log, or returns the one already there. The
    // new directory's name is made durable by syncing the log dir, unless
    // the caller takes that on (`batch`: it syncs the log dir with the rest).
    result<std::shared_ptr<partition_log>> create_log(const topic_partition& tp, const log_config& config,
                                                      int64_t now_ms, atomic_write_batch* batch = nullptr);
    std::shared_ptr<partition_log> get(const topic_partition& tp) const;
    // Forgets the log and removes its directory (renamed "<dir>.<n>-delete"
    // first, so that a crash midway leaves nothing that looks like a log).
    // The owner must drop its reference; open slices stay readable.
    status delete_log(const topic_partition& tp);
    std::vector<topic_partition> partitions() const;

    // recovery-point-offset-checkpoint, log-start-offset-checkpoint and
    // replication-offset-checkpoint from the logs' published values.
    status write_checkpoints();
    // Closes every log (their owners must be done with them), writes the
    // checkpoints, makes all of it durable with one file_system::sync_all()
    // (syncs are deferred from the start of close(), or earlier if the
    // owner deferred them), then writes the clean-shutdown marker.
    status close();

    // Whether the previous run shut down cleanly (the recovery scan was skipped).
    bool opened_after_clean_shutdown() const { return clean_shutdown_; }
    const std::string& log_dir() const { return options_.log_dir; }

private:
    log_manager(std::shared_ptr<file_system> fs, log_manager_options options)
        : fs_(std::move(fs)), options_(std::move(options)) {}
    status load(int64_t now_ms);
    // The three checkpoint files' contents.
    struct checkpoint_values {
        offset_map_by_partition recovery_points;
        offset_map_by_partition start_offsets;
        offset_map_by_partition high_watermarks;
        bool operator==(const checkpoint_values&) const = default;
    };
    checkpoint_values current_checkpoints() const;
    status write_checkpoints(const checkpoint_values& values);
    std::string path_of(std::string_view name) const { return join_path(options_.log_dir, name); }

    std::shared_ptr<file_system> fs_;
    log_manager_options options_;
    bool clean_shutdown_ = false;
    uint64_t delete_counter_ = 0;
    mutable std::mutex mutex_; // guards logs_ (create/get/delete from many strands)
    std::map<topic_partition, std::shared_ptr<partition_log>> logs_;
};

} // namespace runnel::storage
