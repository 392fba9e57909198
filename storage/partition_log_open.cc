// Opening a partition log: finishing interrupted compaction swaps, loading
// segments, and the recovery scan of everything after the recovery point.
#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "storage/format.h"
#include "storage/partition_log.h"

namespace runnel::storage {

namespace {

// "<20 digits><suffix>" -> base offset.
std::optional<int64_t> parse_segment_name(std::string_view name, std::string_view suffix) {
    if (name.size() != format::file_name_digits + suffix.size() || !name.ends_with(suffix)) {
        return std::nullopt;
    }
    int64_t base = 0;
    auto digits = name.substr(0, format::file_name_digits);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), base);
    if (ec != std::errc{} || end != digits.data() + digits.size() || base < 0) {
        return std::nullopt;
    }
    return base;
}

std::string with_suffix(std::string_view suffix, std::string_view extra) {
    return std::string(suffix).append(extra);
}

constexpr std::string_view segment_suffixes[] = {format::log_suffix, format::index_suffix, format::time_index_suffix};

} // namespace

result<bool> partition_log::finish_interrupted_swaps(const std::vector<std::string>& names) {
    bool changed = false;
    // Leftovers of a compaction that never reached its swap, and of deletes.
    for (const auto& name : names) {
        if (name.ends_with(format::cleaned_suffix) || name.ends_with(format::deleted_suffix) ||
            name.ends_with(format::temp_suffix)) {
            RUNNEL_TRY(fs_->remove_file(join_path(dir_, name)));
            changed = true;
        }
    }
    // A ".log.swap" is a complete cleaned segment: the segments it replaces
    // (base offsets in [its base, its next offset)) go, and it takes its name.
    for (const auto& name : names) {
        auto base = parse_segment_name(name, with_suffix(format::log_suffix, format::swap_suffix));
        if (!base) {
            continue;
        }
        changed = true;
        // Open the swap segment under its own name to learn its next offset.
        std::string log_swap = segment_file_path(dir_, *base, with_suffix(format::log_suffix, format::swap_suffix));
        auto f = fs_->open(log_swap, open_mode::read_write);
        if (!f.ok()) {
            return f.err();
        }
        auto size = (*f)->size();
        if (!size.ok()) {
            return size.err();
        }
        int64_t next_offset = *base;
        uint64_t position = 0;
        while (position + proto::batch_header_size <= *size) {
            uint8_t raw[proto::batch_header_size];
            RUNNEL_TRY(read_exact(**f, position, raw));
            auto h = proto::decode_batch_header(raw);
            if (h.batch_length < proto::batch_length_min) {
                break;
            }
            next_offset = h.last_offset() + 1;
            position += h.size_bytes();
        }
        for (const auto& other : names) {
            auto other_base = parse_segment_name(other, format::log_suffix);
            if (other_base && *other_base >= *base && *other_base < next_offset) {
                for (auto suffix : segment_suffixes) {
                    auto r = fs_->remove_file(segment_file_path(dir_, *other_base, suffix));
                    if (!r.ok() && r.code() != errc::not_found) {
                        return r.err();
                    }
                }
            }
        }
        for (auto suffix : segment_suffixes) {
            std::string from = segment_file_path(dir_, *base, with_suffix(suffix, format::swap_suffix));
            auto present = fs_->exists(from);
            if (!present.ok()) {
                return present.err();
            }
            if (*present) {
                RUNNEL_TRY(fs_->rename(from, segment_file_path(dir_, *base, suffix)));
            }
        }
        spdlog::info("{}: finished an interrupted compaction swap at offset {}", dir_, *base);
    }
    return changed;
}

status partition_log::load_segments(const log_open_options& options) {
    auto names = fs_->list_dir(dir_);
    if (!names.ok()) {
        return names.err();
    }
    auto swapped = finish_interrupted_swaps(*names);
    if (!swapped.ok()) {
        return swapped.err();
    }
    // The directory is synced when its entries may not be durable: after
    // the removes and renames above, and after an unclean shutdown (segments
    // created just before it may have reached the disk without their names;
    // the scan below syncs their data, this their names). A clean shutdown
    // synced the directory, and a directory created just now holds nothing
    // yet: its first flush syncs the segment it is about to get.
    if (*swapped || !options.clean_shutdown) {
        RUNNEL_TRY(fs_->sync_dir(dir_));
    }
    auto after = fs_->list_dir(dir_);
    if (!after.ok()) {
        return after.err();
    }
    std::vector<int64_t> bases;
    for (const auto& name : *after) {
        if (auto base = parse_segment_name(name, format::log_suffix)) {
            bases.push_back(*base);
        }
    }
    // Index files whose .log is gone are stale.
    for (const auto& name : *after) {
        for (auto suffix : {format::index_suffix, format::time_index_suffix}) {
            auto base = parse_segment_name(name, suffix);
            if (base && std::find(bases.begin(), bases.end(), *base) == bases.end()) {
                RUNNEL_TRY(fs_->remove_file(join_path(dir_, name)));
            }
        }
    }
    std::sort(bases.begin(), bases.end());
    // Everything from the segment holding the recovery point on is scanned
    // unless the last shutdown was clean.
    int64_t scan_from = std::numeric_limits<int64_t>::max();
    if (!options.clean_shutdown) {
        scan_from = bases.empty() ? 0 : bases.front();
        for (int64_t base : bases) {
            if (base <= options.recovery_point) {
                scan_from = base;
            }
        }
    }
    for (size_t i = 0; i < bases.size(); ++i) {
        int64_t base = bases[i];
        bool scan = base >= scan_from;
        recovery_report report;
        auto seg = segment::open(*fs_, dir_, base, seg_options(), scan, &report);
        if (!seg.ok()) {
            return seg.err();
        }
        if (scan) {
            ++recovery_.segments_scanned;
            recovery_.bytes_scanned += report.bytes_scanned;
            RUNNEL_TRY((*seg)->sync());
        }
        bool overlaps = !segments_.empty() && segments_.rbegin()->second->next_offset() > base;
        if (!overlaps) {
            segments_.emplace(base, std::move(*seg));
        }
        if (report.bytes_truncated == 0 && !overlaps) {
            continue;
        }
        // Nothing after a damaged segment can be trusted to follow it: a
        // damaged segment keeps its good prefix, an overlapping one goes.
        recovery_.bytes_truncated += report.bytes_truncated;
        if (report.bytes_truncated > 0) {
            spdlog::warn("{}: recovery dropped {} bytes at the end of segment {}: {}", dir_,
                         report.bytes_truncated, base, report.reason);
        }
        size_t first_dropped = i + 1;
        if (overlaps) {
            spdlog::warn("{}: segment {} overlaps the one before it", dir_, base);
            RUNNEL_TRY((*seg)->remove(*fs_));
            ++recovery_.segments_deleted;
        }
        for (size_t j = first_dropped; j < bases.size(); ++j) {
            for (auto suffix : segment_suffixes) {
                auto r = fs_->remove_file(segment_file_path(dir_, bases[j], suffix));
                if (!r.ok() && r.code() != errc::not_found) {
                    return r;
                }
            }
            ++recovery_.segments_deleted;
            spdlog::warn("{}: recovery deleted segment {} that followed the damage", dir_, bases[j]);
        }
        break;
    }
    return {};
}

result<std::unique_ptr<partition_log>> partition_log::open(std::shared_ptr<file_system> fs, std::string dir,
                                                            topic_partition tp, log_config config,
                                                            const log_open_options& options) {
    RUNNEL_TRY(fs->create_dirs(dir));
    auto epochs = leader_epoch_cache::open(*fs, dir);
    if (!epochs.ok()) {
        return epochs.err();
    }
    std::unique_ptr<partition_log> log(
        new partition_log(std::move(fs), std::move(dir), std::move(tp), config, std::move(*epochs)));
    RUNNEL_TRY(log->load_segments(options));
    if (log->segments_.empty()) {
        int64_t base = std::max<int64_t>(options.log_start_offset, 0);
        auto fresh = segment::create(*log->fs_, log->dir_, base, log->seg_options(), options.now_ms);
        if (!fresh.ok()) {
            return fresh.err();
        }
        log->segments_.emplace(base, std::move(*fresh));
        log->dir_dirty_ = true;
    }
    RUNNEL_TRY(log->active().make_active());
    log->log_end_offset_ = log->active().next_offset();
    log->log_start_offset_ =
        std::clamp(options.log_start_offset, log->segments_.begin()->first, log->log_end_offset_);
    // A clean shutdown flushed everything; a recovery scan checked and
    // synced everything it kept.
    log->recovery_point_ = log->log_end_offset_;
    log->high_watermark_ = std::clamp<int64_t>(options.high_watermark, 0, log->log_end_offset_);
    log->last_flush_ms_ = options.now_ms;
    log->last_retention_check_ms_ = options.now_ms;
    RUNNEL_TRY(log->epochs_.truncate_from_end(log->log_end_offset_));
    RUNNEL_TRY(log->epochs_.truncate_from_start(log->log_start_offset_));
    if (log->recovery_.segments_scanned > 0) {
        spdlog::info("{}: recovered {} segments ({} bytes scanned, {} bytes dropped), log end offset {}", log->dir_,
                     log->recovery_.segments_scanned, log->recovery_.bytes_scanned, log->recovery_.bytes_truncated,
                     log->log_end_offset_);
    }
    log->publish();
    return log;
}

} // namespace runnel::storage
