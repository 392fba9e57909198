// The partition log: appends, reads, flushes, truncation and time lookups.
// Opening and recovery are in partition_log_open.cc, retention and
// compaction hand-over in partition_log_cleanup.cc.
#include "storage/partition_log.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "protocol/types.h"

namespace runnel::storage {

segment_options partition_log::seg_options() const {
    segment_options o;
    o.index_interval_bytes = config_.index_interval_bytes;
    o.index_bytes_max = config_.segment_index_bytes;
    o.batch_bytes_max = std::max<uint64_t>(config_.batch_bytes_max, config_.segment_bytes);
    return o;
}

void partition_log::publish() {
    snapshot_log_start_.store(log_start_offset_, std::memory_order_relaxed);
    snapshot_recovery_point_.store(recovery_point_, std::memory_order_relaxed);
    snapshot_high_watermark_.store(high_watermark_, std::memory_order_relaxed);
}

void partition_log::set_high_watermark(int64_t offset) {
    assert(offset >= 0 && offset <= log_end_offset_);
    high_watermark_ = offset;
    publish();
}

uint64_t partition_log::size_bytes() const {
    uint64_t total = 0;
    for (const auto& [base, seg] : segments_) {
        total += seg->size_bytes();
    }
    return total;
}

std::vector<int64_t> partition_log::segment_base_offsets() const {
    std::vector<int64_t> out;
    for (const auto& [base, seg] : segments_) {
        out.push_back(base);
    }
    return out;
}

bool partition_log::should_roll(const proto::batch_header& h, int64_t now_ms) {
    segment& seg = active();
    if (seg.empty()) {
        return false;
    }
    bool too_big = seg.size_bytes() + h.size_bytes() > config_.segment_bytes;
    // Kafka's LogSegment.timeWaitedForRoll: once the segment holds a timestamped
    // batch, the time waited is the incoming batch's max timestamp minus the
    // first batch's, not the clock's distance from it -- else records with old
    // CreateTime timestamps (a backfill, a mirror) roll a segment per append
    // and the open files run out. Before that, the clock since creation.
    const int64_t waited = seg.rolling_timestamp_from_batch() ? h.max_timestamp - seg.rolling_timestamp()
                                                              : now_ms - seg.rolling_timestamp();
    bool too_old = seg.rolling_timestamp() >= 0 && waited > config_.segment_ms;
    bool offsets_overflow = h.last_offset() - seg.base_offset() > std::numeric_limits<int32_t>::max();
    return too_big || too_old || seg.index_full() || offsets_overflow;
}

status partition_log::roll(int64_t base_offset, int64_t now_ms) {
    // The closed segment is made durable before the next one exists: after a
    // crash no segment may outlive unsynced data before it, which would leave
    // a hole below the log end offset that recovery cannot tell from a gap
    // the leader's compaction made.
    segment& old = active();
    auto closed = old.roll();
    if (closed.ok()) {
        closed = old.sync();
    }
    if (!closed.ok()) {
        (void)old.make_active();
        return closed;
    }
    old.mark_clean();
    auto fresh = segment::create(*fs_, dir_, base_offset, seg_options(), now_ms);
    if (!fresh.ok()) {
        (void)old.make_active();
        return fresh.err();
    }
    segments_.emplace(base_offset, std::move(*fresh));
    dir_dirty_ = true;
    bool older_durable = std::all_of(segments_.begin(), std::prev(segments_.end()),
                                     [](const auto& kv) { return !kv.second->dirty(); });
    if (older_durable) {
        recovery_point_ = std::max(recovery_point_, old.next_offset());
        publish();
    }
    return {};
}

result<append_info> partition_log::append(std::span<uint8_t> batch, const append_options& options) {
    assert(!closed_);
    if (batch.size() < proto::batch_header_size) {
        return make_error(errc::corrupt, "batch shorter than its header");
    }
    auto h = proto::decode_batch_header(batch);
    if (h.size_bytes() != batch.size() || h.magic != proto::batch_magic_v2 || h.last_offset_delta < 0) {
        return make_error(errc::corrupt, "batch framing does not match its bytes");
    }
    if (batch.size() > config_.segment_bytes || batch.size() > config_.batch_bytes_max) {
        return make_error(errc::too_large, fmt::format("batch of {} bytes is too large", batch.size()));
    }
    if (options.assign_offsets) {
        proto::set_base_offset(batch, log_end_offset_);
    } else if (h.base_offset < log_end_offset_) {
        return make_error(errc::invalid_argument, fmt::format("batch offset {} is below the log end offset {}",
                                                              h.base_offset, log_end_offset_));
    }
    if (options.leader_epoch >= 0) {
        proto::set_partition_leader_epoch(batch, options.leader_epoch);
    }
    append_info info;
    if (config_.timestamp_type == message_timestamp_type::log_append_time && !h.is_control()) {
        proto::set_log_append_time(batch, options.now_ms);
        info.log_append_time = options.now_ms;
    }
    h = proto::decode_batch_header(batch);
    if (should_roll(h, options.now_ms)) {
        RUNNEL_TRY(roll(h.base_offset, options.now_ms));
    }
    // The epoch is recorded first: if the append then fails, an epoch that
    // starts at the log end offset is still true.
    RUNNEL_TRY(epochs_.assign(h.partition_leader_epoch, h.base_offset));
    RUNNEL_TRY(active().append(h, batch));
    log_end_offset_ = h.last_offset() + 1;
    unflushed_messages_ += std::max<int32_t>(h.record_count, 1);
    info.base_offset = h.base_offset;
    info.last_offset = h.last_offset();
    info.max_timestamp = h.max_timestamp;
    info.record_count = h.record_count;
    if (unflushed_messages_ >= config_.flush_messages) {
        if (options.defer_flush) {
            info.flush_needed = true;
        } else {
            RUNNEL_TRY(flush(options.now_ms));
            info.flushed = true;
        }
    }
    return info;
}

result<read_result> partition_log::read(int64_t offset, const read_options& options) {
    if (offset < log_start_offset_ || offset > log_end_offset_) {
        return make_error(errc::offset_out_of_range, fmt::format("offset {} is outside [{}, {}] of {}", offset,
                                                                 log_start_offset_, log_end_offset_, dir_));
    }
    read_result out;
    out.next_offset = offset;
    auto it = segments_.upper_bound(offset);
    if (it != segments_.begin()) {
        --it;
    }
    bool first = true;
    for (; it != segments_.end(); ++it) {
        segment& seg = *it->second;
        auto loc = seg.find_batch(first ? offset : seg.base_offset());
        if (!loc.ok()) {
            return loc.err();
        }
        if (!*loc) {
            continue;
        }
        first = false;
        if (options.max_offset >= 0 && (*loc)->header.last_offset() >= options.max_offset) {
            break;
        }
        uint64_t start = (*loc)->position;
        uint64_t bound = seg.size_bytes();
        if (options.max_offset >= 0 && options.max_offset < seg.next_offset()) {
            auto stop = seg.find_batch(options.max_offset);
            if (!stop.ok()) {
                return stop.err();
            }
            if (*stop) {
                bound = (*stop)->position;
            }
        }
        uint64_t room = options.bytes_max > out.bytes ? options.bytes_max - out.bytes : 0;
        auto end = seg.whole_batches_end(start, std::min(bound, start + room));
        if (!end.ok()) {
            return end.err();
        }
        uint64_t stop_at = *end;
        if (stop_at == start && out.slices.empty() && options.min_one_batch) {
            stop_at = start + (*loc)->header.size_bytes();
        }
        if (stop_at == start) {
            break;
        }
        // Never hand out bytes whose CRCs were not checked since the
        // segment was opened (a closed segment is not scanned at start-up):
        // damage on disk becomes an error here, not garbage for a client.
        uint64_t good_end = stop_at;
        if (auto checked = seg.verify(start, stop_at, &good_end); !checked.ok()) {
            if (out.slices.empty() && good_end <= start) {
                return checked.err();
            }
            // What comes before the damage is good and is handed out; the
            // next read, starting at the damaged batch, fails.
            if (good_end > start) {
                if (out.slices.empty()) {
                    out.first_offset = (*loc)->header.base_offset;
                }
                out.slices.push_back(slice{seg.log_file(), start, good_end - start});
                out.bytes += good_end - start;
                auto h = seg.read_header(good_end);
                if (!h.ok()) {
                    return h.err();
                }
                out.next_offset = h->base_offset;
            }
            break;
        }
        if (out.slices.empty()) {
            out.first_offset = (*loc)->header.base_offset;
        }
        out.slices.push_back(slice{seg.log_file(), start, stop_at - start});
        out.bytes += stop_at - start;
        // The offset after the last batch in the slice.
        if (stop_at == seg.size_bytes()) {
            out.next_offset = seg.next_offset();
        } else {
            auto after = seg.read_header(stop_at);
            if (!after.ok()) {
                return after.err();
            }
            out.next_offset = after->base_offset;
        }
        if (stop_at < seg.size_bytes()) {
            break;
        }
    }
    return out;
}

result<std::vector<uint8_t>> partition_log::copy_slices(const read_result& r) {
    std::vector<uint8_t> out(r.bytes);
    size_t at = 0;
    for (const auto& s : r.slices) {
        RUNNEL_TRY(read_exact(*s.source, s.position, std::span(out).subspan(at, s.length)));
        at += s.length;
    }
    return out;
}

status flush_ticket::run() const {
    for (const auto& f : files) {
        RUNNEL_TRY(f->sync());
    }
    if (!dir_to_sync.empty()) {
        RUNNEL_TRY(fs->sync_dir(dir_to_sync));
    }
    return {};
}

result<flush_ticket> partition_log::prepare_flush() {
    flush_ticket ticket;
    ticket.fs = fs_;
    // Index entries are written first; only when all made it are the
    // segments marked clean, so a failure leaves them all to the next flush.
    for (auto& [base, seg] : segments_) {
        if (seg->dirty()) {
            RUNNEL_TRY(seg->flush_indexes());
        }
    }
    for (auto& [base, seg] : segments_) {
        if (!seg->dirty()) {
            continue;
        }
        for (auto& f : seg->files_to_sync()) {
            ticket.files.push_back(std::move(f));
        }
        seg->mark_clean();
    }
    if (dir_dirty_) {
        ticket.dir_to_sync = dir_;
        dir_dirty_ = false;
    }
    ticket.offset = log_end_offset_;
    ticket.messages = unflushed_messages_;
    unflushed_messages_ = 0;
    return ticket;
}

void partition_log::complete_flush(const flush_ticket& ticket, const status& outcome, int64_t now_ms) {
    if (!outcome.ok()) {
        // Nothing is known to be durable: flush everything again next time.
        for (auto& [base, seg] : segments_) {
            seg->mark_dirty();
        }
        dir_dirty_ = dir_dirty_ || !ticket.dir_to_sync.empty();
        unflushed_messages_ += ticket.messages;
        return;
    }
    recovery_point_ = std::min(std::max(recovery_point_, ticket.offset), log_end_offset_);
    last_flush_ms_ = now_ms;
    publish();
}

status partition_log::flush(int64_t now_ms) {
    auto ticket = prepare_flush();
    if (!ticket.ok()) {
        return ticket.err();
    }
    auto outcome = ticket->run();
    complete_flush(*ticket, outcome, now_ms >= 0 ? now_ms : last_flush_ms_);
    return outcome;
}

bool partition_log::flush_due(int64_t now_ms) const {
    if (unflushed_messages_ == 0) {
        return false;
    }
    return unflushed_messages_ >= config_.flush_messages || now_ms - last_flush_ms_ >= config_.flush_ms;
}

result<std::optional<timestamp_and_offset>> partition_log::record_at_or_after(segment& seg,
                                                                              const batch_location& loc,
                                                                              int64_t timestamp, bool exact) {
    std::vector<uint8_t> bytes(loc.header.size_bytes());
    RUNNEL_TRY(read_exact(*seg.log_file(), loc.position, bytes));
    auto reader = proto::record_reader::open(bytes, proto::default_decompressed_bytes_max);
    if (!reader.ok()) {
        return make_error(errc::corrupt, fmt::format("batch at {} of {}: {}", loc.position, seg.log_path(),
                                                     proto::to_string(reader.error())));
    }
    auto& records = reader.value();
    while (auto record = records.next()) {
        int64_t ts = proto::record_timestamp(loc.header, *record);
        int64_t off = proto::record_offset(loc.header, *record);
        bool match = exact ? ts == timestamp : ts >= timestamp;
        if (match && off >= log_start_offset_) {
            return std::optional<timestamp_and_offset>(timestamp_and_offset{ts, off});
        }
    }
    if (records.error() != proto::batch_error::none) {
        return make_error(errc::corrupt, fmt::format("batch at {} of {}: {}", loc.position, seg.log_path(),
                                                     proto::to_string(records.error())));
    }
    return std::optional<timestamp_and_offset>{};
}

result<std::optional<timestamp_and_offset>> partition_log::max_timestamp_offset() {
    segment* best = nullptr;
    for (auto& [base, seg] : segments_) {
        if (!seg->empty() && (best == nullptr || seg->max_timestamp() > best->max_timestamp())) {
            best = seg.get();
        }
    }
    if (best == nullptr || best->max_timestamp() < 0) {
        return std::optional<timestamp_and_offset>{};
    }
    auto loc = best->find_batch(best->offset_of_max_timestamp());
    if (!loc.ok()) {
        return loc.err();
    }
    if (!*loc) {
        return std::optional<timestamp_and_offset>{};
    }
    auto found = record_at_or_after(*best, **loc, best->max_timestamp(), true);
    if (!found.ok() || *found) {
        return found;
    }
    // Compaction can remove the record; the batch still carries the stamp.
    return std::optional<timestamp_and_offset>(
        timestamp_and_offset{best->max_timestamp(), std::max((*loc)->header.last_offset(), log_start_offset_)});
}

result<std::optional<timestamp_and_offset>> partition_log::offset_for_timestamp(int64_t timestamp) {
    using std::optional;
    if (timestamp == model::latest_timestamp) {
        return optional<timestamp_and_offset>(timestamp_and_offset{-1, log_end_offset_});
    }
    if (timestamp == model::earliest_timestamp) {
        return optional<timestamp_and_offset>(timestamp_and_offset{-1, log_start_offset_});
    }
    if (timestamp == model::max_timestamp) {
        return max_timestamp_offset();
    }
    if (timestamp < 0) {
        return make_error(errc::invalid_argument, fmt::format("timestamp {} has no meaning", timestamp));
    }
    for (auto& [base, seg] : segments_) {
        if (seg->empty() || seg->max_timestamp() < timestamp || seg->next_offset() <= log_start_offset_) {
            continue;
        }
        auto loc = seg->find_batch_by_timestamp(timestamp);
        if (!loc.ok()) {
            return loc.err();
        }
        // Batches from the found one on, until a record qualifies.
        while (*loc) {
            auto found = record_at_or_after(*seg, **loc, timestamp, false);
            if (!found.ok() || *found) {
                return found;
            }
            uint64_t next_position = (*loc)->position + (*loc)->header.size_bytes();
            if (next_position >= seg->size_bytes()) {
                break;
            }
            auto h = seg->read_header(next_position);
            if (!h.ok()) {
                return h.err();
            }
            *loc = batch_location{*h, next_position};
        }
    }
    return optional<timestamp_and_offset>{};
}

status partition_log::truncate_to(int64_t offset) {
    assert(!closed_);
    if (offset >= log_end_offset_) {
        return {};
    }
    if (offset <= segments_.begin()->first || offset < log_start_offset_) {
        return truncate_fully_and_start_at(offset);
    }
    while (segments_.rbegin()->first >= offset) {
        RUNNEL_TRY(delete_segment(segments_.rbegin()->first));
    }
    segment& last = active();
    auto cut = last.truncate_to(offset);
    if (!cut.ok()) {
        return cut.err();
    }
    RUNNEL_TRY(last.make_active());
    // Truncation is made durable at once: replication relies on truncated
    // records never coming back after a crash.
    RUNNEL_TRY(last.sync());
    if (dir_dirty_) {
        RUNNEL_TRY(fs_->sync_dir(dir_));
    }
    log_end_offset_ = last.next_offset();
    // Whole batches go, so the end can fall below a log start offset that
    // was inside the cut batch.
    log_start_offset_ = std::min(log_start_offset_, log_end_offset_);
    recovery_point_ = std::min(recovery_point_, log_end_offset_);
    high_watermark_ = std::min(high_watermark_, log_end_offset_);
    RUNNEL_TRY(epochs_.truncate_from_end(log_end_offset_));
    publish();
    return {};
}

status partition_log::truncate_fully_and_start_at(int64_t offset) {
    assert(offset >= 0);
    while (!segments_.empty()) {
        RUNNEL_TRY(delete_segment(segments_.rbegin()->first));
    }
    auto fresh = segment::create(*fs_, dir_, offset, seg_options(), 0);
    if (!fresh.ok()) {
        return fresh.err();
    }
    segments_.emplace(offset, std::move(*fresh));
    RUNNEL_TRY(fs_->sync_dir(dir_));
    log_start_offset_ = offset;
    log_end_offset_ = offset;
    recovery_point_ = offset;
    high_watermark_ = offset;
    unflushed_messages_ = 0;
    RUNNEL_TRY(epochs_.clear());
    publish();
    return {};
}

status partition_log::delete_segment(int64_t base_offset) {
    auto it = segments_.find(base_offset);
    assert(it != segments_.end());
    auto seg = std::move(it->second);
    segments_.erase(it);
    dir_dirty_ = true;
    return seg->remove(*fs_);
}

status partition_log::close() {
    if (closed_) {
        return {};
    }
    RUNNEL_TRY(flush());
    for (auto& [base, seg] : segments_) {
        RUNNEL_TRY(seg->close());
    }
    // Trimming changed the index files; make that durable too.
    for (auto& [base, seg] : segments_) {
        RUNNEL_TRY(seg->sync());
    }
    closed_ = true;
    return {};
}

} // namespace runnel::storage
