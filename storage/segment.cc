// Segment files: appends, lookups through the sparse indexes, and recovery
// by scanning batches. See segment.h and docs/FORMAT.md.
#include "storage/segment.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "storage/format.h"

namespace runnel::storage {

namespace {

// Scans read the file in chunks this big, so a scan costs one read per
// chunk rather than one per batch.
constexpr size_t scan_chunk_bytes = 1024 * 1024;
// Lookups scan at most an index interval or so: a smaller chunk will do.
constexpr size_t lookup_chunk_bytes = 16 * 1024;

// Walks the batches of a .log file from a position, reading in chunks.
// Stops at the end, or at the first batch that is not whole and well
// framed, leaving the reason in problem().
class batch_scanner {
public:
    batch_scanner(file& f, uint64_t position, uint64_t end, size_t chunk_bytes, size_t batch_bytes_max)
        : file_(f), position_(position), end_(end), chunk_bytes_(chunk_bytes), batch_bytes_max_(batch_bytes_max) {}

    // The next batch; nullopt at the end or at a bad batch (see problem()).
    // With body, the whole batch is buffered and its CRC checked.
    result<std::optional<batch_location>> next(bool body) {
        if (position_ >= end_) {
            return std::optional<batch_location>{};
        }
        uint64_t left = end_ - position_;
        if (left < proto::batch_header_size) {
            return stop(fmt::format("{} bytes at {} are too few for a batch header", left, position_));
        }
        auto header_bytes = fill(position_, proto::batch_header_size);
        if (!header_bytes.ok()) {
            return header_bytes.err();
        }
        auto h = proto::decode_batch_header(*header_bytes);
        if (h.batch_length < proto::batch_length_min || h.size_bytes() > batch_bytes_max_) {
            return stop(fmt::format("batch at {} has a bad length {}", position_, h.batch_length));
        }
        if (h.size_bytes() > left) {
            return stop(fmt::format("batch at {} of {} bytes runs past the end", position_, h.size_bytes()));
        }
        if (h.magic != proto::batch_magic_v2) {
            return stop(fmt::format("batch at {} has magic {}", position_, h.magic));
        }
        if (h.last_offset_delta < 0) {
            return stop(fmt::format("batch at {} has a negative last offset delta", position_));
        }
        if (body) {
            auto whole = fill(position_, h.size_bytes());
            if (!whole.ok()) {
                return whole.err();
            }
            if (proto::compute_batch_crc(*whole) != h.crc) {
                return stop(fmt::format("batch at {} (offset {}) fails its CRC", position_, h.base_offset));
            }
        }
        batch_location loc{h, position_};
        position_ += h.size_bytes();
        return std::optional<batch_location>(loc);
    }

    uint64_t position() const { return position_; }
    const std::string& problem() const { return problem_; }
    // Marks the current batch bad for a reason the caller found.
    void reject(uint64_t position, std::string reason) {
        position_ = position;
        problem_ = std::move(reason);
    }

private:
    result<std::optional<batch_location>> stop(std::string reason) {
        problem_ = std::move(reason);
        return std::optional<batch_location>{};
    }

    // Makes [pos, pos + n) available in the buffer and returns it.
    result<byte_span> fill(uint64_t pos, size_t n) {
        if (pos >= buffer_start_ && pos + n <= buffer_start_ + buffer_.size()) {
            return byte_span(buffer_).subspan(pos - buffer_start_, n);
        }
        size_t want = std::max(n, chunk_bytes_);
        want = static_cast<size_t>(std::min<uint64_t>(want, end_ - pos));
        buffer_.resize(want);
        auto got = file_.read_at(pos, buffer_);
        if (!got.ok()) {
            return got.err();
        }
        buffer_.resize(*got);
        buffer_start_ = pos;
        if (*got < n) {
            return make_error(errc::corrupt, fmt::format("{} ended early at {}", file_.path(), pos + *got));
        }
        return byte_span(buffer_).first(n);
    }

    file& file_;
    uint64_t position_;
    uint64_t end_;
    size_t chunk_bytes_;
    size_t batch_bytes_max_;
    std::vector<uint8_t> buffer_;
    uint64_t buffer_start_ = 0;
    std::string problem_;
};

status remove_if_present(file_system& fs, const std::string& path) {
    auto r = fs.remove_file(path);
    if (!r.ok() && r.code() != errc::not_found) {
        return r.err();
    }
    return {};
}

} // namespace

std::string segment_file_path(const std::string& dir, int64_t base_offset, std::string_view suffix) {
    return join_path(dir, fmt::format("{:020d}{}", base_offset, suffix));
}

result<std::unique_ptr<segment>> segment::create(file_system& fs, const std::string& dir, int64_t base_offset,
                                                 const segment_options& options, int64_t now_ms,
                                                 std::string_view name_suffix) {
    assert(base_offset >= 0);
    auto name = [&](std::string_view suffix) { return std::string(suffix).append(name_suffix); };
    auto log = fs.open(segment_file_path(dir, base_offset, name(format::log_suffix)), open_mode::create);
    if (!log.ok()) {
        return log.err();
    }
    auto size = (*log)->size();
    if (!size.ok()) {
        return size.err();
    }
    if (*size != 0) {
        return make_error(errc::already_exists, fmt::format("segment {} exists", (*log)->path()));
    }
    // Index files left behind by a removed segment would be wrong here.
    std::string index_path = segment_file_path(dir, base_offset, name(format::index_suffix));
    std::string time_index_path = segment_file_path(dir, base_offset, name(format::time_index_suffix));
    RUNNEL_TRY(remove_if_present(fs, index_path));
    RUNNEL_TRY(remove_if_present(fs, time_index_path));
    auto oi = offset_index::open(fs, index_path, base_offset, options.index_bytes_max);
    if (!oi.ok()) {
        return oi.err();
    }
    auto ti = time_index::open(fs, time_index_path, base_offset, options.index_bytes_max);
    if (!ti.ok()) {
        return ti.err();
    }
    std::unique_ptr<segment> s(new segment(std::move(*log), std::move(*oi), std::move(*ti), base_offset, options));
    s->reset_state();
    s->rolling_timestamp_ = now_ms;
    s->dirty_ = true;
    RUNNEL_TRY(s->make_active());
    return s;
}

result<std::unique_ptr<segment>> segment::open(file_system& fs, const std::string& dir, int64_t base_offset,
                                               const segment_options& options, bool scan, recovery_report* report) {
    auto log = fs.open(segment_file_path(dir, base_offset, format::log_suffix), open_mode::read_write);
    if (!log.ok()) {
        return log.err();
    }
    auto size = (*log)->size();
    if (!size.ok()) {
        return size.err();
    }
    // Open each index; one that is missing or malformed is rebuilt.
    bool rebuild = scan;
    auto open_index = [&]<typename Index>(std::string_view suffix) -> result<std::unique_ptr<Index>> {
        std::string path = segment_file_path(dir, base_offset, suffix);
        auto present = fs.exists(path);
        if (!present.ok()) {
            return present.err();
        }
        rebuild = rebuild || !*present;
        auto index = Index::open(fs, path, base_offset, options.index_bytes_max);
        if (index.ok() || index.code() != errc::corrupt) {
            return index;
        }
        rebuild = true;
        RUNNEL_TRY(fs.remove_file(path));
        return Index::open(fs, path, base_offset, options.index_bytes_max);
    };
    auto oi = open_index.template operator()<offset_index>(format::index_suffix);
    if (!oi.ok()) {
        return oi.err();
    }
    auto ti = open_index.template operator()<time_index>(format::time_index_suffix);
    if (!ti.ok()) {
        return ti.err();
    }
    std::unique_ptr<segment> s(new segment(std::move(*log), std::move(*oi), std::move(*ti), base_offset, options));
    s->size_ = *size;
    if (!rebuild) {
        auto checked = s->load_tail();
        if (checked.ok()) {
            checked = s->check_indexes();
        }
        if (!checked.ok() && checked.code() != errc::corrupt) {
            return checked.err();
        }
        rebuild = !checked.ok();
    }
    if (rebuild) {
        RUNNEL_TRY(s->recover(report));
        RUNNEL_TRY(s->offset_index_->trim());
        RUNNEL_TRY(s->time_index_->trim());
    }
    return s;
}

void segment::reset_state() {
    recent_count_ = 0;
    size_ = 0;
    next_offset_ = base_offset_;
    max_timestamp_ = -1;
    offset_of_max_timestamp_ = -1;
    rolling_timestamp_ = -1;
    rolling_from_batch_ = false;
    bytes_since_index_entry_ = 0;
    verified_ = 0;
}

status segment::recover(recovery_report* report) {
    auto file_size = log_->size();
    if (!file_size.ok()) {
        return file_size.err();
    }
    RUNNEL_TRY(offset_index_->truncate_entries(0));
    RUNNEL_TRY(time_index_->truncate_entries(0));
    RUNNEL_TRY(offset_index_->load());
    RUNNEL_TRY(time_index_->load());
    reset_state();
    batch_scanner scanner(*log_, 0, *file_size, scan_chunk_bytes, options_.batch_bytes_max);
    uint64_t batches = 0;
    for (;;) {
        uint64_t position = scanner.position();
        auto next = scanner.next(true);
        if (!next.ok()) {
            return next.err();
        }
        if (!*next) {
            break;
        }
        const auto& h = (*next)->header;
        if (h.base_offset < next_offset_ || h.last_offset() - base_offset_ > std::numeric_limits<int32_t>::max()) {
            scanner.reject(position, fmt::format("batch at {} has offset {} out of order", position, h.base_offset));
            break;
        }
        if (index_full()) {
            scanner.reject(position, fmt::format("batch at {} does not fit the index", position));
            break;
        }
        index_batch(h, position);
        ++batches;
    }
    size_ = scanner.position();
    verified_ = size_;
    if (report != nullptr) {
        report->bytes_scanned += *file_size;
        report->batches += batches;
    }
    if (size_ < *file_size) {
        RUNNEL_TRY(log_->truncate(size_));
        dirty_ = true;
        if (report != nullptr) {
            report->bytes_truncated += *file_size - size_;
            report->reason = scanner.problem();
        }
    }
    RUNNEL_TRY(offset_index_->flush());
    return time_index_->flush();
}

status segment::load_tail() {
    uint64_t from = 0;
    if (auto last = offset_index_->last()) {
        if (last->position >= size_) {
            return make_error(errc::corrupt, fmt::format("index of {} points past the end", log_path()));
        }
        from = last->position;
    }
    next_offset_ = base_offset_;
    max_timestamp_ = -1;
    offset_of_max_timestamp_ = -1;
    if (auto last = time_index_->last()) {
        max_timestamp_ = last->timestamp;
        offset_of_max_timestamp_ = last->offset;
    }
    batch_scanner scanner(*log_, from, size_, lookup_chunk_bytes, options_.batch_bytes_max);
    bool first = true;
    for (;;) {
        auto next = scanner.next(false);
        if (!next.ok()) {
            return next.err();
        }
        if (!*next) {
            break;
        }
        const auto& h = (*next)->header;
        if (first && offset_index_->last() && offset_index_->last()->offset != h.last_offset()) {
            return make_error(errc::corrupt, fmt::format("index of {} disagrees with the log", log_path()));
        }
        first = false;
        if (h.base_offset < next_offset_) {
            return make_error(errc::corrupt, fmt::format("{}: offsets out of order", log_path()));
        }
        next_offset_ = h.last_offset() + 1;
        if (h.max_timestamp > max_timestamp_) {
            max_timestamp_ = h.max_timestamp;
            offset_of_max_timestamp_ = h.last_offset();
        }
    }
    if (scanner.position() != size_) {
        return make_error(errc::corrupt, fmt::format("{}: {}", log_path(), scanner.problem()));
    }
    bytes_since_index_entry_ = size_ - from;
    rolling_timestamp_ = -1;
    rolling_from_batch_ = false;
    if (size_ > 0) {
        auto first_header = read_header(0);
        if (!first_header.ok()) {
            return first_header.err();
        }
        rolling_timestamp_ = first_header->max_timestamp;
        rolling_from_batch_ = rolling_timestamp_ >= 0;
    }
    return {};
}

status segment::check_indexes() {
    auto t = time_index_->last();
    if (t && (t->offset < base_offset_ || t->offset >= next_offset_)) {
        return make_error(errc::corrupt, fmt::format("time index of {} points past the log", log_path()));
    }
    return {};
}

bool segment::index_full() const {
    // The time index keeps a slot for the entry written when the segment rolls.
    return offset_index_->full() || time_index_->count() + 1 >= time_index_->capacity();
}

void segment::index_batch(const proto::batch_header& h, uint64_t position) {
    if (h.max_timestamp > max_timestamp_) {
        max_timestamp_ = h.max_timestamp;
        offset_of_max_timestamp_ = h.last_offset();
    }
    if (bytes_since_index_entry_ > options_.index_interval_bytes && !offset_index_->full()) {
        offset_index_->append(offset_entry{h.last_offset(), static_cast<uint32_t>(position)});
        auto last = time_index_->last();
        if (max_timestamp_ >= 0 && (!last || max_timestamp_ > last->timestamp) && !time_index_->full()) {
            time_index_->append(time_entry{max_timestamp_, offset_of_max_timestamp_});
        }
        bytes_since_index_entry_ = 0;
    }
    bytes_since_index_entry_ += h.size_bytes();
    if (size_ == 0 && h.max_timestamp >= 0) {
        rolling_timestamp_ = h.max_timestamp;
        rolling_from_batch_ = true;
    }
    size_ = position + h.size_bytes();
    next_offset_ = h.last_offset() + 1;
}

status segment::append(const proto::batch_header& h, byte_span batch) {
    assert(batch.size() == h.size_bytes());
    assert(h.base_offset >= next_offset_);
    assert(h.last_offset() - base_offset_ <= std::numeric_limits<int32_t>::max());
    assert(size_ + batch.size() <= std::numeric_limits<uint32_t>::max());
    assert(offset_index_->loaded());
    auto written = log_->write_at(size_, batch);
    if (!written.ok()) {
        // Cut off whatever part made it; if that fails too, the next append
        // overwrites it and recovery would cut it.
        (void)log_->truncate(size_);
        return written;
    }
    const uint64_t before = size_;
    index_batch(h, size_);
    const batch_location appended{h, before};
    if (recent_count_ < recent_batches_max) {
        recent_[(recent_first_ + recent_count_++) % recent_batches_max] = appended;
    } else {
        recent_[recent_first_] = appended;
        recent_first_ = (recent_first_ + 1) % recent_batches_max;
    }
    if (verified_ == before) {
        verified_ = size_; // its CRC was checked before the append
    }
    dirty_ = true;
    return {};
}

status segment::verify(uint64_t from, uint64_t to, uint64_t* good_end) {
    to = std::min(to, size_);
    if (good_end != nullptr) {
        *good_end = to;
    }
    if (to <= verified_) {
        return {};
    }
    const bool extends = from <= verified_;
    batch_scanner scanner(*log_, extends ? verified_ : from, to, scan_chunk_bytes, options_.batch_bytes_max);
    for (;;) {
        auto next = scanner.next(true);
        if (!next.ok()) {
            return next.err();
        }
        if (!*next) {
            break;
        }
    }
    if (!scanner.problem().empty()) {
        if (good_end != nullptr) {
            *good_end = scanner.position();
        }
        if (extends) {
            verified_ = std::max(verified_, scanner.position());
        }
        return make_error(errc::corrupt, fmt::format("{}: {}", log_path(), scanner.problem()));
    }
    if (extends) {
        verified_ = std::max(verified_, scanner.position());
    }
    return {};
}

result<proto::batch_header> segment::read_header(uint64_t position) {
    uint8_t raw[proto::batch_header_size];
    if (position + sizeof raw > size_) {
        return make_error(errc::corrupt, fmt::format("no batch header at {} in {}", position, log_path()));
    }
    RUNNEL_TRY(read_exact(*log_, position, raw));
    return proto::decode_batch_header(raw);
}

result<uint64_t> segment::index_position_for(int64_t offset) {
    auto entry = offset_index_->find_last([&](const offset_entry& e) { return e.offset <= offset; });
    if (!entry.ok()) {
        return entry.err();
    }
    // A bad entry costs a longer scan, never a wrong answer.
    if (!*entry || (*entry)->position >= size_) {
        return uint64_t{0};
    }
    return uint64_t{(*entry)->position};
}

result<std::optional<batch_location>> segment::find_batch(int64_t offset) {
    if (recent_count_ > 0 && recent_[recent_first_].header.base_offset <= offset) {
        // Every batch before the recent ones ends below `offset`.
        for (size_t i = 0; i < recent_count_; ++i) {
            const batch_location& loc = recent_[(recent_first_ + i) % recent_batches_max];
            if (loc.header.last_offset() >= offset) {
                return std::optional<batch_location>(loc);
            }
        }
        return std::optional<batch_location>{};
    }
    auto from = index_position_for(offset);
    if (!from.ok()) {
        return from.err();
    }
    batch_scanner scanner(*log_, *from, size_, lookup_chunk_bytes, options_.batch_bytes_max);
    for (;;) {
        auto next = scanner.next(false);
        if (!next.ok() || !*next) {
            if (next.ok() && !scanner.problem().empty()) {
                return make_error(errc::corrupt, fmt::format("{}: {}", log_path(), scanner.problem()));
            }
            return next;
        }
        if ((*next)->header.last_offset() >= offset) {
            return next;
        }
    }
}

result<std::optional<batch_location>> segment::find_batch_by_timestamp(int64_t timestamp) {
    auto entry = time_index_->find_last([&](const time_entry& e) { return e.timestamp < timestamp; });
    if (!entry.ok()) {
        return entry.err();
    }
    uint64_t from = 0;
    if (*entry) {
        auto pos = index_position_for((*entry)->offset);
        if (!pos.ok()) {
            return pos.err();
        }
        from = *pos;
    }
    batch_scanner scanner(*log_, from, size_, lookup_chunk_bytes, options_.batch_bytes_max);
    for (;;) {
        auto next = scanner.next(false);
        if (!next.ok() || !*next) {
            if (next.ok() && !scanner.problem().empty()) {
                return make_error(errc::corrupt, fmt::format("{}: {}", log_path(), scanner.problem()));
            }
            return next;
        }
        if ((*next)->header.max_timestamp >= timestamp) {
            return next;
        }
    }
}

result<uint64_t> segment::whole_batches_end(uint64_t from, uint64_t limit) {
    if (limit >= size_ && from <= size_) {
        // The file holds whole batches only: its end is the answer, without
        // reading (a consumer at the log end asks this on every fetch).
        return size_;
    }
    limit = std::min(limit, size_);
    auto entry = offset_index_->find_last([&](const offset_entry& e) { return e.position <= limit; });
    if (!entry.ok()) {
        return entry.err();
    }
    uint64_t start = from;
    if (*entry && (*entry)->position > from) {
        start = (*entry)->position;
    }
    batch_scanner scanner(*log_, start, size_, lookup_chunk_bytes, options_.batch_bytes_max);
    uint64_t end = start;
    for (;;) {
        auto next = scanner.next(false);
        if (!next.ok()) {
            return next.err();
        }
        if (!*next || (*next)->position + (*next)->header.size_bytes() > limit) {
            return end;
        }
        end = (*next)->position + (*next)->header.size_bytes();
    }
}

result<bool> segment::truncate_to(int64_t offset) {
    auto loc = find_batch(offset);
    if (!loc.ok()) {
        return loc.err();
    }
    if (!*loc) {
        return false;
    }
    uint64_t cut = (*loc)->position;
    int64_t first_removed = (*loc)->header.base_offset;
    auto keep_offsets = offset_index_->count_prefix([&](const offset_entry& e) { return e.position < cut; });
    if (!keep_offsets.ok()) {
        return keep_offsets.err();
    }
    auto keep_times = time_index_->count_prefix([&](const time_entry& e) { return e.offset < first_removed; });
    if (!keep_times.ok()) {
        return keep_times.err();
    }
    recent_count_ = 0; // from here the file may be cut
    RUNNEL_TRY(offset_index_->truncate_entries(*keep_offsets));
    RUNNEL_TRY(time_index_->truncate_entries(*keep_times));
    RUNNEL_TRY(log_->truncate(cut));
    size_ = cut;
    verified_ = std::min(verified_, cut);
    dirty_ = true;
    RUNNEL_TRY(load_tail());
    return true;
}

status segment::flush_indexes() {
    RUNNEL_TRY(offset_index_->flush());
    return time_index_->flush();
}

status segment::sync() {
    RUNNEL_TRY(flush_indexes());
    RUNNEL_TRY(log_->sync());
    RUNNEL_TRY(offset_index_->sync());
    return time_index_->sync();
}

std::vector<std::shared_ptr<file>> segment::files_to_sync() const {
    // The active segment's indexes (loaded in memory) need no fsync: after
    // a crash, recovery scans every segment from the one holding the
    // recovery point on, the active one included, and rebuilds their
    // indexes from the log. A segment stops being active at roll(), whose
    // caller syncs all three files before the recovery point may pass it.
    if (offset_index_->loaded()) {
        return {log_};
    }
    return {log_, offset_index_->raw_file(), time_index_->raw_file()};
}

status segment::roll() {
    // Trimming rewrites the index files: the next flush must sync them.
    dirty_ = true;
    if (time_index_->loaded()) {
        auto last = time_index_->last();
        if (max_timestamp_ >= 0 && (!last || max_timestamp_ > last->timestamp) && !time_index_->full()) {
            time_index_->append(time_entry{max_timestamp_, offset_of_max_timestamp_});
        }
    }
    RUNNEL_TRY(offset_index_->trim());
    return time_index_->trim();
}

status segment::make_active() {
    auto loaded = offset_index_->load();
    if (loaded.ok()) {
        loaded = time_index_->load();
    }
    if (!loaded.ok()) {
        if (loaded.code() != errc::corrupt) {
            return loaded;
        }
        RUNNEL_TRY(recover(nullptr));
    }
    RUNNEL_TRY(offset_index_->preallocate());
    return time_index_->preallocate();
}

status segment::close() { return roll(); }

status segment::remove(file_system& fs) {
    RUNNEL_TRY(fs.remove_file(log_->path()));
    RUNNEL_TRY(remove_if_present(fs, offset_index_->path()));
    return remove_if_present(fs, time_index_->path());
}

} // namespace runnel::storage
