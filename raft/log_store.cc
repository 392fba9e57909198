// The order in which a ready reaches a store, and the recovery rule for a
// snapshot written beside a log.
#include "raft/log_store.h"

namespace runnel::raft {

result<void> write(log_store& store, const ready& rd) {
    // The hard state goes first: an entry of a new term must never be on
    // disk while the term it belongs to is not.
    if (rd.hard_state) {
        RAFT_TRY(store.save_hard_state(*rd.hard_state));
    }
    // Truncating before saving a received snapshot means that no crash can
    // leave a snapshot next to a divergent tail of the old log.
    if (rd.truncate_from) {
        RAFT_TRY(store.truncate_suffix(*rd.truncate_from));
    }
    if (rd.snapshot) {
        RAFT_TRY(store.save_snapshot(*rd.snapshot));
    }
    if (!rd.entries.empty()) {
        RAFT_TRY(store.append(rd.entries));
    }
    return {};
}

result<void> persist(log_store& store, const ready& rd) {
    RAFT_TRY(write(store, rd));
    if (!rd.empty()) {
        RAFT_TRY(store.sync());
    }
    return {};
}

std::vector<entry> recover_entries(const snapshot_metadata& point, std::vector<entry> entries) {
    if (entries.empty() || point.index == log_index(0)) {
        return entries;
    }
    const log_index first = entries.front().index;
    if (first <= point.index && point.index <= entries.back().index) {
        const auto at = static_cast<size_t>((point.index - first.value()).value());
        if (entries[at].term != point.term) {
            return {}; // the tail belongs to another history
        }
        entries.erase(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(at + 1));
        return entries;
    }
    if (first == point.index + 1) {
        return entries; // the usual case: the prefix was dropped with the snapshot
    }
    return {}; // entries wholly before the snapshot, or after a gap
}

} // namespace runnel::raft
