// Leader epoch bookkeeping; see leader_epoch_cache.h.
#include "storage/leader_epoch_cache.h"

#include <fmt/format.h>

#include "storage/format.h"

namespace runnel::storage {

result<leader_epoch_cache> leader_epoch_cache::open(file_system& fs, const std::string& dir) {
    leader_epoch_cache cache(fs, join_path(dir, format::leader_epoch_checkpoint));
    auto entries = read_epoch_checkpoint(fs, cache.path_);
    if (!entries.ok()) {
        return entries.err();
    }
    for (size_t i = 1; i < entries->size(); ++i) {
        const auto& a = (*entries)[i - 1];
        const auto& b = (*entries)[i];
        if (b.epoch <= a.epoch || b.start_offset < a.start_offset) {
            return make_error(errc::corrupt, fmt::format("{}: epochs out of order", cache.path_));
        }
    }
    cache.entries_ = std::move(*entries);
    return cache;
}

status leader_epoch_cache::persist() { return write_epoch_checkpoint(*fs_, path_, entries_); }

status leader_epoch_cache::assign(int32_t epoch, int64_t start_offset) {
    if (epoch < 0) {
        return {};
    }
    if (!entries_.empty() && epoch <= entries_.back().epoch) {
        return {};
    }
    // An older epoch that starts at or after this one saw no records that
    // survive, so it goes.
    while (!entries_.empty() && entries_.back().start_offset >= start_offset) {
        entries_.pop_back();
    }
    entries_.push_back(epoch_entry{epoch, start_offset});
    return persist();
}

status leader_epoch_cache::truncate_from_end(int64_t end_offset) {
    size_t before = entries_.size();
    while (!entries_.empty() && entries_.back().start_offset >= end_offset) {
        entries_.pop_back();
    }
    return before == entries_.size() ? status{} : persist();
}

status leader_epoch_cache::truncate_from_start(int64_t start_offset) {
    size_t first_kept = 0;
    while (first_kept + 1 < entries_.size() && entries_[first_kept + 1].start_offset <= start_offset) {
        ++first_kept;
    }
    bool changed = first_kept > 0;
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(first_kept));
    if (!entries_.empty() && entries_.front().start_offset < start_offset) {
        entries_.front().start_offset = start_offset;
        changed = true;
    }
    return changed ? persist() : status{};
}

status leader_epoch_cache::clear() {
    entries_.clear();
    return persist();
}

std::optional<epoch_entry> leader_epoch_cache::latest() const {
    if (entries_.empty()) {
        return std::nullopt;
    }
    return entries_.back();
}

epoch_end_offset leader_epoch_cache::end_offset_for(int32_t epoch, int64_t log_end_offset) const {
    if (!entries_.empty() && epoch == entries_.back().epoch) {
        return {epoch, log_end_offset};
    }
    // As Kafka answers: the end is where the first newer epoch starts; the
    // epoch is the largest known one <= the request, or the request itself
    // when it predates them all. Past the latest epoch nothing is known.
    size_t next = 0;
    while (next < entries_.size() && entries_[next].epoch <= epoch) {
        ++next;
    }
    if (next == entries_.size()) {
        return {};
    }
    int32_t found = next == 0 ? epoch : entries_[next - 1].epoch;
    return {found, entries_[next].start_offset};
}

} // namespace runnel::storage
