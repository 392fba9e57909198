// The log dir: recovery of every partition on start, the checkpoint files,
// the clean-shutdown marker. See log_manager.h and docs/FORMAT.md.
#include "storage/log_manager.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "storage/format.h"

namespace runnel::storage {

namespace {

// A checkpoint that cannot be read is treated as empty: the logs are then
// recovered from offset 0, which is slower but loses nothing.
offset_map_by_partition read_checkpoint_or_empty(file_system& fs, const std::string& path, bool& unreadable) {
    auto read = read_offset_checkpoint(fs, path);
    if (!read.ok()) {
        spdlog::warn("ignoring unreadable checkpoint {}: {}", path, read.err().message);
        unreadable = true;
        return {};
    }
    return std::move(read).value();
}

int64_t value_or(const offset_map_by_partition& m, const topic_partition& tp, int64_t fallback) {
    auto it = m.find(tp);
    return it == m.end() ? fallback : it->second;
}

} // namespace

result<std::unique_ptr<log_manager>> log_manager::open(std::shared_ptr<file_system> fs,
                                                        log_manager_options options) {
    int64_t now_ms = options.now_ms;
    std::unique_ptr<log_manager> manager(new log_manager(std::move(fs), std::move(options)));
    RUNNEL_TRY(manager->load(now_ms));
    return manager;
}

status log_manager::load(int64_t now_ms) {
    RUNNEL_TRY(fs_->create_dirs(options_.log_dir));
    RUNNEL_TRY(fs_->watch_writeback(options_.log_dir));
    auto marker = fs_->exists(path_of(format::clean_shutdown_file));
    if (!marker.ok()) {
        return marker.err();
    }
    clean_shutdown_ = *marker;
    bool unreadable = false;
    checkpoint_values on_disk;
    on_disk.recovery_points = read_checkpoint_or_empty(*fs_, path_of(format::recovery_point_checkpoint), unreadable);
    on_disk.start_offsets = read_checkpoint_or_empty(*fs_, path_of(format::log_start_offset_checkpoint), unreadable);
    on_disk.high_watermarks =
        read_checkpoint_or_empty(*fs_, path_of(format::replication_offset_checkpoint), unreadable);
    auto names = fs_->list_dir(options_.log_dir);
    if (!names.ok()) {
        return names.err();
    }
    for (const auto& name : *names) {
        std::string path = path_of(name);
        auto dir = fs_->is_dir(path);
        if (!dir.ok()) {
            return dir.err();
        }
        if (!*dir) {
            continue;
        }
        if (name.ends_with(format::delete_dir_suffix)) {
            RUNNEL_TRY(fs_->remove_all(path));
            continue;
        }
        auto tp = topic_partition::from_dir_name(name);
        if (!tp) {
            spdlog::warn("{}: ignoring directory {} that is not <topic>-<partition>", options_.log_dir, name);
            continue;
        }
        log_open_options open_options;
        open_options.recovery_point = value_or(on_disk.recovery_points, *tp, 0);
        open_options.log_start_offset = value_or(on_disk.start_offsets, *tp, 0);
        open_options.high_watermark = value_or(on_disk.high_watermarks, *tp, 0);
        open_options.clean_shutdown = clean_shutdown_;
        open_options.now_ms = now_ms;
        log_config config = options_.config_for ? options_.config_for(*tp) : options_.default_config;
        auto log = partition_log::open(fs_, path, *tp, config, open_options);
        if (!log.ok()) {
            return make_error(log.code(), fmt::format("opening {}: {}", path, log.err().message));
        }
        logs_.emplace(*tp, std::shared_ptr<partition_log>(std::move(*log)));
    }
    // From here on a crash must lead to a recovery scan.
    if (clean_shutdown_) {
        RUNNEL_TRY(fs_->remove_file(path_of(format::clean_shutdown_file)));
        RUNNEL_TRY(fs_->sync_dir(options_.log_dir));
    }
    // Without a marker and without logs (a fresh directory) there is nothing
    // an unclean shutdown could have left to recover.
    spdlog::info("{}: opened {} partition logs ({})", options_.log_dir, logs_.size(),
                 clean_shutdown_  ? "after a clean shutdown"
                 : logs_.empty() ? "nothing to recover"
                                 : "after an unclean shutdown");
    // The checkpoints are rewritten only when that changes what a restart
    // would read. After a clean shutdown the files hold their values durably
    // (close() synced them before writing the marker); in a log dir without
    // logs whose files were missing (a fresh one) or empty, there is nothing
    // to record either way. Each file rewritten costs two syncs.
    const checkpoint_values now = current_checkpoints();
    if (!unreadable && now == on_disk && (clean_shutdown_ || logs_.empty())) {
        return {};
    }
    return write_checkpoints(now);
}

result<std::shared_ptr<partition_log>> log_manager::create_log(const topic_partition& tp, const log_config& config,
                                                               int64_t now_ms, atomic_write_batch* batch) {
    std::lock_guard lock(mutex_);
    if (auto it = logs_.find(tp); it != logs_.end()) {
        return it->second;
    }
    if (tp.topic.empty() || tp.topic.find_first_of("/ \n") != std::string::npos || tp.partition < 0) {
        return make_error(errc::invalid_argument, fmt::format("bad partition name {}", tp.dir_name()));
    }
    log_open_options open_options;
    open_options.now_ms = now_ms;
    open_options.clean_shutdown = true; // a new directory has nothing to recover
    auto log = partition_log::open(fs_, path_of(tp.dir_name()), tp, config, open_options);
    if (!log.ok()) {
        return log.err();
    }
    if (batch != nullptr) {
        batch->sync_dir_after(options_.log_dir);
    } else {
        RUNNEL_TRY(fs_->sync_dir(options_.log_dir));
    }
    auto shared = std::shared_ptr<partition_log>(std::move(*log));
    logs_.emplace(tp, shared);
    return shared;
}

std::shared_ptr<partition_log> log_manager::get(const topic_partition& tp) const {
    std::lock_guard lock(mutex_);
    auto it = logs_.find(tp);
    return it == logs_.end() ? nullptr : it->second;
}

std::vector<topic_partition> log_manager::partitions() const {
    std::lock_guard lock(mutex_);
    std::vector<topic_partition> out;
    for (const auto& [tp, log] : logs_) {
        out.push_back(tp);
    }
    return out;
}

status log_manager::delete_log(const topic_partition& tp) {
    std::string doomed;
    {
        std::lock_guard lock(mutex_);
        auto it = logs_.find(tp);
        if (it == logs_.end()) {
            return make_error(errc::not_found, fmt::format("no log for {}", tp.dir_name()));
        }
        logs_.erase(it);
        doomed = path_of(fmt::format("{}.{}{}", tp.dir_name(), delete_counter_++, format::delete_dir_suffix));
    }
    RUNNEL_TRY(fs_->rename(path_of(tp.dir_name()), doomed));
    RUNNEL_TRY(fs_->sync_dir(options_.log_dir));
    RUNNEL_TRY(fs_->remove_all(doomed));
    return write_checkpoints();
}

log_manager::checkpoint_values log_manager::current_checkpoints() const {
    checkpoint_values out;
    std::lock_guard lock(mutex_);
    for (const auto& [tp, log] : logs_) {
        out.recovery_points[tp] = log->recovery_point_snapshot();
        out.start_offsets[tp] = log->log_start_offset_snapshot();
        out.high_watermarks[tp] = log->high_watermark_snapshot();
    }
    return out;
}

status log_manager::write_checkpoints() { return write_checkpoints(current_checkpoints()); }

status log_manager::write_checkpoints(const checkpoint_values& values) {
    RUNNEL_TRY(write_offset_checkpoint(*fs_, path_of(format::recovery_point_checkpoint), values.recovery_points));
    RUNNEL_TRY(write_offset_checkpoint(*fs_, path_of(format::log_start_offset_checkpoint), values.start_offsets));
    return write_offset_checkpoint(*fs_, path_of(format::replication_offset_checkpoint), values.high_watermarks);
}

status log_manager::close() {
    // Each log's files are synced by one syncfs at the end instead of one
    // by one (about ten fsyncs per partition); the marker comes after it.
    fs_->defer_syncs();
    {
        std::lock_guard lock(mutex_);
        for (auto& [tp, log] : logs_) {
            RUNNEL_TRY(log->close());
        }
    }
    RUNNEL_TRY(write_checkpoints());
    RUNNEL_TRY(fs_->sync_all());
    std::string marker = fmt::format("{{\"version\":0,\"brokerEpoch\":{}}}", options_.broker_epoch);
    return write_file_atomically(*fs_, path_of(format::clean_shutdown_file), marker);
}

} // namespace runnel::storage
