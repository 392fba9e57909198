// Removing old data from a partition log: retention by time and size, the
// log start offset (DeleteRecords), and swapping in compacted segments.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "storage/format.h"
#include "storage/partition_log.h"

namespace runnel::storage {

template <typename Pred>
result<retention_report> partition_log::delete_oldest_while(Pred pred) {
    retention_report report;
    // The active segment is never deleted.
    while (segments_.size() > 1) {
        auto it = segments_.begin();
        auto next = std::next(it);
        if (!pred(*it->second, next->first)) {
            break;
        }
        report.bytes_deleted += it->second->size_bytes();
        ++report.segments_deleted;
        RUNNEL_TRY(delete_segment(it->first));
    }
    return report;
}

status partition_log::after_log_start_moved() {
    log_start_offset_ = std::max(log_start_offset_, segments_.begin()->first);
    high_watermark_ = std::max(high_watermark_, log_start_offset_);
    RUNNEL_TRY(epochs_.truncate_from_start(log_start_offset_));
    publish();
    return {};
}

status partition_log::advance_log_start_offset(int64_t offset) {
    if (offset <= log_start_offset_) {
        return {};
    }
    if (offset > log_end_offset_) {
        return make_error(errc::offset_out_of_range,
                          fmt::format("log start offset {} is past the log end offset {}", offset, log_end_offset_));
    }
    log_start_offset_ = offset;
    auto deleted = delete_oldest_while([&](segment&, int64_t next_base) { return next_base <= log_start_offset_; });
    if (!deleted.ok()) {
        return deleted.err();
    }
    return after_log_start_moved();
}

result<retention_report> partition_log::enforce_retention(int64_t now_ms) {
    retention_report total;
    auto add = [&](const result<retention_report>& r) -> status {
        if (!r.ok()) {
            return r.err();
        }
        total.segments_deleted += r->segments_deleted;
        total.bytes_deleted += r->bytes_deleted;
        return {};
    };
    if (config_.deletes() && config_.retention_ms >= 0) {
        // A segment goes when even its newest batch is older than retention.ms.
        RUNNEL_TRY(add(delete_oldest_while([&](segment& seg, int64_t) {
            return now_ms - seg.max_timestamp() > config_.retention_ms;
        })));
    }
    if (config_.deletes() && config_.retention_bytes >= 0) {
        uint64_t size = size_bytes();
        uint64_t limit = static_cast<uint64_t>(config_.retention_bytes);
        uint64_t excess = size > limit ? size - limit : 0;
        RUNNEL_TRY(add(delete_oldest_while([&](segment& seg, int64_t) {
            if (seg.size_bytes() > excess) {
                return false;
            }
            excess -= seg.size_bytes();
            return true;
        })));
    }
    RUNNEL_TRY(add(delete_oldest_while([&](segment&, int64_t next_base) { return next_base <= log_start_offset_; })));
    last_retention_check_ms_ = now_ms;
    RUNNEL_TRY(after_log_start_moved());
    if (total.segments_deleted > 0) {
        spdlog::info("{}: retention deleted {} segments ({} bytes); log start offset {}", dir_,
                     total.segments_deleted, total.bytes_deleted, log_start_offset_);
    }
    return total;
}

result<retention_report> partition_log::maybe_enforce_retention(int64_t now_ms) {
    if (now_ms - last_retention_check_ms_ < config_.retention_check_interval_ms) {
        return retention_report{};
    }
    return enforce_retention(now_ms);
}

std::optional<compaction_job> partition_log::prepare_compaction(int64_t now_ms, size_t offset_map_entries_max) {
    if (!config_.compacts() || compaction_in_flight_ || segments_.size() < 2) {
        return std::nullopt;
    }
    compaction_job job;
    job.fs = fs_;
    job.dir = dir_;
    job.seg_options = seg_options();
    job.segment_bytes = config_.segment_bytes;
    job.now_ms = now_ms;
    job.delete_retention_ms = config_.delete_retention_ms;
    job.offset_map_entries_max = offset_map_entries_max;
    // Closed segments, oldest first, until one is younger than
    // min.compaction.lag.ms (its records may not be compacted yet).
    for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
        segment& seg = *it->second;
        if (seg.max_timestamp() >= 0 && now_ms - seg.max_timestamp() < config_.min_compaction_lag_ms) {
            break;
        }
        job.sources.push_back(compaction_source{seg.base_offset(), seg.next_offset(), seg.size_bytes(),
                                                seg.log_file()});
    }
    if (job.sources.empty()) {
        return std::nullopt;
    }
    uint64_t total = 0;
    uint64_t dirty = 0;
    int64_t oldest_dirty_ms = -1;
    for (const auto& source : job.sources) {
        total += source.size;
        if (source.next_offset > cleaned_until_) {
            dirty += source.size;
            const int64_t ts = segments_.at(source.base_offset)->max_timestamp();
            if (oldest_dirty_ms < 0 && ts >= 0) {
                oldest_dirty_ms = ts;
            }
        }
    }
    const bool ratio_reached = dirty > 0 && static_cast<double>(dirty) >= config_.min_cleanable_ratio * static_cast<double>(total);
    const bool lag_reached = oldest_dirty_ms >= 0 && config_.max_compaction_lag_ms != never &&
                             now_ms - oldest_dirty_ms >= config_.max_compaction_lag_ms;
    if (!ratio_reached && !lag_reached) {
        return std::nullopt;
    }
    compaction_in_flight_ = true;
    return job;
}

namespace {

std::string swap_path(const std::string& dir, int64_t base, std::string_view suffix, std::string_view extra) {
    return segment_file_path(dir, base, std::string(suffix).append(extra));
}

constexpr std::string_view segment_suffixes[] = {format::log_suffix, format::index_suffix, format::time_index_suffix};

} // namespace

result<compaction_stats> partition_log::install_compaction(result<compaction_output> output) {
    compaction_in_flight_ = false;
    if (!output.ok()) {
        return output.err();
    }
    // Every replaced segment must still be here as the job saw it:
    // truncation, retention or a roll back into it make the output stale.
    for (const auto& group : output->groups) {
        for (const auto& source : group.replaced) {
            auto it = segments_.find(source.base_offset);
            bool same = it != segments_.end() && std::next(it) != segments_.end() &&
                        it->second->log_file() == source.log && it->second->size_bytes() == source.size &&
                        it->second->next_offset() == source.next_offset;
            if (!same) {
                discard_compaction(*fs_, *output);
                return make_error(errc::stale, fmt::format("{}: segment {} changed during compaction", dir_,
                                                           source.base_offset));
            }
        }
    }
    for (const auto& group : output->groups) {
        // 1. The cleaned files become ".swap": from here on, recovery
        //    completes this group instead of discarding it.
        for (auto suffix : segment_suffixes) {
            RUNNEL_TRY(fs_->rename(swap_path(dir_, group.base_offset, suffix, format::cleaned_suffix),
                                   swap_path(dir_, group.base_offset, suffix, format::swap_suffix)));
        }
        RUNNEL_TRY(fs_->sync_dir(dir_));
        // 2. The replaced segments go.
        for (const auto& source : group.replaced) {
            RUNNEL_TRY(delete_segment(source.base_offset));
        }
        // 3. The swap files take the segment names.
        for (auto suffix : segment_suffixes) {
            RUNNEL_TRY(fs_->rename(swap_path(dir_, group.base_offset, suffix, format::swap_suffix),
                                   segment_file_path(dir_, group.base_offset, suffix)));
        }
        RUNNEL_TRY(fs_->sync_dir(dir_));
        auto seg = segment::open(*fs_, dir_, group.base_offset, seg_options(), false, nullptr);
        if (!seg.ok()) {
            return seg.err();
        }
        segments_.emplace(group.base_offset, std::move(*seg));
    }
    log_start_offset_ = std::max(log_start_offset_, segments_.begin()->first);
    if (!output->groups.empty()) {
        // The map held the groups' sources; later ones wait for the next job.
        cleaned_until_ = std::max(cleaned_until_, output->groups.back().next_offset);
    }
    publish();
    spdlog::info("{}: compaction rewrote {} segments into {}: {} -> {} bytes, {} records removed", dir_,
                 output->stats.segments_in, output->stats.segments_out, output->stats.bytes_before,
                 output->stats.bytes_after, output->stats.records_removed);
    return output->stats;
}

} // namespace runnel::storage
