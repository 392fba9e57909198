// The in-memory Raft log: matching, conflict resolution, commit and apply
// positions, compaction and the unpersisted suffix.
#include "raft/raft_log.h"

#include <algorithm>

#include "raft/assert.h"

namespace runnel::raft {

raft_log::raft_log(snapshot_metadata base, std::vector<entry> entries)
    : base_(std::move(base)), committed_(base_.index), applied_(base_.index) {
    for (auto& e : entries) {
        raft_assert(e.index == last_index() + 1, "recovered entry {} follows {}", e.index.value(), last_index().value());
        raft_assert(e.term >= last_term(), "recovered entry {} has term {} below {}", e.index.value(), e.term.value(),
                    last_term().value());
        note_configuration(e);
        entries_.push_back(std::move(e));
    }
    unstable_from_ = last_index() + 1;
    store_last_ = last_index();
}

std::optional<raft_term> raft_log::term_at(log_index i) const {
    if (i == base_.index) {
        return base_.term;
    }
    if (i < first_index() || i > last_index()) {
        return std::nullopt;
    }
    return entries_[offset_of(i)].term;
}

bool raft_log::matches(log_index i, raft_term t) const {
    auto term = term_at(i);
    return term && *term == t;
}

const entry& raft_log::at(log_index i) const {
    raft_assert(i >= first_index() && i <= last_index(), "index {} outside [{}, {}]", i.value(), first_index().value(),
                last_index().value());
    return entries_[offset_of(i)];
}

bool raft_log::is_up_to_date(log_index last, raft_term term) const {
    return term > last_term() || (term == last_term() && last >= last_index());
}

std::pair<log_index, raft_term> raft_log::conflict_hint(log_index index, raft_term term) const {
    for (log_index i = std::min(index, last_index()); i > base_.index; i = i - 1) {
        const raft_term t = entries_[offset_of(i)].term;
        if (t <= term) {
            return {i, t};
        }
    }
    return {base_.index, base_.term};
}

void raft_log::append(entry e) {
    raft_assert(e.index == last_index() + 1, "append at {} after {}", e.index.value(), last_index().value());
    raft_assert(e.term >= last_term(), "append term {} below last term {}", e.term.value(), last_term().value());
    note_configuration(e);
    entries_.push_back(std::move(e));
}

std::optional<log_index> raft_log::try_append(log_index prev, raft_term prev_term, std::vector<entry> entries) {
    if (!matches(prev, prev_term)) {
        return std::nullopt;
    }
    const log_index last_new = prev + static_cast<int64_t>(entries.size());
    size_t first_new = entries.size();
    for (size_t k = 0; k < entries.size(); ++k) {
        const entry& e = entries[k];
        raft_assert(e.index == prev + static_cast<int64_t>(k) + 1, "entry {} at position {} after prev {}",
                    e.index.value(), k, prev.value());
        if (!matches(e.index, e.term)) {
            first_new = k;
            break;
        }
    }
    if (first_new == entries.size()) {
        return last_new; // everything is already here; never truncate on a stale request
    }
    const log_index conflict = entries[first_new].index;
    // A leader's log contains every committed entry (Raft §5.4), so what it
    // replaces can never have been committed.
    raft_assert(conflict > committed_, "conflict at {} within committed prefix {}", conflict.value(),
                committed_.value());
    if (conflict <= last_index()) {
        truncate_suffix(conflict);
    }
    for (size_t k = first_new; k < entries.size(); ++k) {
        append(std::move(entries[k]));
    }
    return last_new;
}

std::vector<entry> raft_log::slice(log_index from, log_index to, size_t count_max, size_t bytes_max) const {
    std::vector<entry> out;
    if (from > to) {
        return out;
    }
    raft_assert(from >= first_index() && to <= last_index(), "slice [{}, {}] outside [{}, {}]", from.value(),
                to.value(), first_index().value(), last_index().value());
    size_t bytes = 0;
    for (log_index i = from; i <= to && out.size() < count_max; ++i) {
        const entry& e = entries_[offset_of(i)];
        bytes += e.data.size();
        if (!out.empty() && bytes > bytes_max) {
            break;
        }
        out.push_back(e);
    }
    return out;
}

void raft_log::commit_to(log_index i) {
    if (i <= committed_) {
        return; // commit never moves backwards
    }
    raft_assert(i <= last_index(), "commit {} beyond last index {}", i.value(), last_index().value());
    committed_ = i;
}

void raft_log::applied_to(log_index i) {
    raft_assert(i >= applied_ && i <= committed_, "applied {} outside [{}, {}]", i.value(), applied_.value(),
                committed_.value());
    applied_ = i;
}

const configuration& raft_log::latest_configuration() const {
    return configurations_.empty() ? base_.config : configurations_.back().second;
}

log_index raft_log::latest_configuration_index() const {
    return configurations_.empty() ? base_.index : configurations_.back().first;
}

configuration raft_log::configuration_at(log_index i) const {
    auto it = std::upper_bound(configurations_.begin(), configurations_.end(), i,
                               [](log_index x, const auto& c) { return x < c.first; });
    return it == configurations_.begin() ? base_.config : std::prev(it)->second;
}

void raft_log::compact(const snapshot_metadata& point) {
    raft_assert(point.index > base_.index && point.index <= applied_, "compact to {} outside ({}, {}]",
                point.index.value(), base_.index.value(), applied_.value());
    raft_assert(matches(point.index, point.term), "compaction point {}/{} not in the log", point.term.value(),
                point.index.value());
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(offset_of(point.index) + 1));
    configurations_.erase(configurations_.begin(),
                          std::upper_bound(configurations_.begin(), configurations_.end(), point.index,
                                           [](log_index x, const auto& c) { return x < c.first; }));
    base_ = point;
}

void raft_log::restore(const snapshot_metadata& point) {
    raft_assert(point.index > committed_, "snapshot {} does not advance commit {}", point.index.value(),
                committed_.value());
    entries_.clear();
    configurations_.clear();
    base_ = point;
    committed_ = point.index;
    unstable_from_ = point.index + 1;
}

bool raft_log::has_unstable() const { return unstable_from_ <= last_index() || unstable_from_ <= store_last_; }

std::optional<log_index> raft_log::store_truncate_from() const {
    if (unstable_from_ <= store_last_) {
        return unstable_from_;
    }
    return std::nullopt;
}

std::vector<entry> raft_log::unstable_entries() const {
    std::vector<entry> out;
    for (log_index i = std::max(unstable_from_, first_index()); i <= last_index(); ++i) {
        out.push_back(entries_[offset_of(i)]);
    }
    return out;
}

void raft_log::mark_persisted() {
    store_last_ = last_index();
    unstable_from_ = last_index() + 1;
}

void raft_log::truncate_suffix(log_index from) {
    raft_assert(from > committed_ && from >= first_index() && from <= last_index(), "truncate from {} (commit {})",
                from.value(), committed_.value());
    entries_.resize(offset_of(from));
    while (!configurations_.empty() && configurations_.back().first >= from) {
        configurations_.pop_back();
    }
    unstable_from_ = std::min(unstable_from_, from);
}

void raft_log::note_configuration(const entry& e) {
    if (e.type != entry_type::configuration) {
        return;
    }
    auto c = decode_configuration(e.data);
    raft_assert(c.has_value(), "configuration entry {}/{} does not decode", e.term.value(), e.index.value());
    configurations_.emplace_back(e.index, std::move(*c));
}

} // namespace runnel::raft
