// The replicated log as one node sees it: a snapshot point, the entries after
// it, the commit and apply positions, and which suffix has not reached the
// disk yet. Pure bookkeeping, no I/O; the whole uncompacted log is in memory,
// so the application bounds memory by taking snapshots (consensus::compact).
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "raft/types.h"

namespace runnel::raft {

class raft_log {
public:
    // A log recovered from disk: everything in it is already persisted.
    explicit raft_log(snapshot_metadata base = {}, std::vector<entry> entries = {});

    log_index first_index() const { return base_.index + 1; }
    log_index last_index() const { return base_.index + static_cast<int64_t>(entries_.size()); }
    raft_term last_term() const { return *term_at(last_index()); }
    // The term of the entry at i; the snapshot point counts; nothing for
    // indexes compacted away or past the end.
    std::optional<raft_term> term_at(log_index i) const;
    bool matches(log_index i, raft_term t) const;
    // An entry that is in the log (first_index() <= i <= last_index()).
    const entry& at(log_index i) const;
    const snapshot_metadata& base() const { return base_; }

    // Whether a candidate whose log ends at (last, term) is at least as
    // up to date as this log (Raft §5.4.1).
    bool is_up_to_date(log_index last, raft_term term) const;

    // The last entry at or before `index` whose term is at most `term` (or the
    // snapshot point): where a leader whose log has `term` at `index` can
    // resume probing without retrying every index of a conflicting term.
    std::pair<log_index, raft_term> conflict_hint(log_index index, raft_term term) const;

    // Leader side: appends one entry at last_index() + 1.
    void append(entry e);
    // Follower side (Raft §5.3): if the entry at prev matches prev_term,
    // replaces any conflicting suffix with `entries` and returns the index of
    // the last entry the request carried; otherwise nothing.
    std::optional<log_index> try_append(log_index prev, raft_term prev_term, std::vector<entry> entries);

    // Entries in [from, to], at most count_max of them and stopping before
    // bytes_max (but always at least one if the range is not empty).
    std::vector<entry> slice(log_index from, log_index to, size_t count_max, size_t bytes_max) const;

    log_index committed() const { return committed_; }
    void commit_to(log_index i);
    log_index applied() const { return applied_; }
    void applied_to(log_index i);

    // The latest configuration in the log (Raft dissertation §4.1: a server
    // uses the newest configuration it has, committed or not).
    const configuration& latest_configuration() const;
    log_index latest_configuration_index() const;
    configuration configuration_at(log_index i) const;

    // Drops entries up to the snapshot point, which must be applied.
    void compact(const snapshot_metadata& point);
    // Replaces the whole log with a snapshot received from the leader.
    void restore(const snapshot_metadata& point);

    // Persistence tracking: the suffix from unstable_from() on has to be
    // written, after truncating the store from there if it holds that far.
    bool has_unstable() const;
    log_index unstable_from() const { return unstable_from_; }
    std::optional<log_index> store_truncate_from() const;
    std::vector<entry> unstable_entries() const;
    // The last index that is on disk as it is in memory.
    log_index persisted_last() const { return unstable_from_ - 1; }
    void mark_persisted();

private:
    size_t offset_of(log_index i) const { return static_cast<size_t>((i - first_index().value()).value()); }
    void truncate_suffix(log_index from);
    void note_configuration(const entry& e);

    snapshot_metadata base_;
    std::deque<entry> entries_;
    // The configuration entries in the log, in index order.
    std::vector<std::pair<log_index, configuration>> configurations_;
    log_index committed_;
    log_index applied_;
    log_index unstable_from_;
    log_index store_last_; // the last index the store holds, maybe a stale tail
};

} // namespace runnel::raft
