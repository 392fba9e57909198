// Where a node keeps its log and hard state. The simulator has an in-memory
// store that forgets unsynced writes on a crash (sim/sim_store.h); the node
// shell has a durable one on disk (node/file_log_store.h). persist() applies
// a ready in the one order that is safe.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "raft/ready.h"
#include "raft/result.h"
#include "raft/types.h"

namespace runnel::raft {

class log_store {
public:
    virtual ~log_store() = default;

    // What is on disk: the hard state, the latest snapshot and the entries
    // after it, reconciled as recover_entries() describes.
    virtual result<recovered_state> load() = 0;
    // Must be durable before any entry written after it is: stores either
    // write it synchronously or keep their writes in order.
    virtual result<void> save_hard_state(const hard_state& state) = 0;
    // Replaces the snapshot; entries at or below its index go away.
    virtual result<void> save_snapshot(const snapshot& snap) = 0;
    // Removes the entries at and after `from`.
    virtual result<void> truncate_suffix(log_index from) = 0;
    // Adds entries that continue the log without a gap.
    virtual result<void> append(std::span<const entry> entries) = 0;
    // Entries in [from, to], stopping before bytes_max (at least one entry).
    virtual result<std::vector<entry>> read(log_index from, log_index to, size_t bytes_max) = 0;
    // Makes everything written so far durable.
    virtual result<void> sync() = 0;
};

// Writes a ready: hard state, truncation, snapshot, entries, then sync.
// Only after it succeeds may the caller call consensus::advance.
result<void> persist(log_store& store, const ready& rd);
// The same writes without the sync, for a driver that syncs later (the
// simulator, to let a crash fall between the writes and the sync).
result<void> write(log_store& store, const ready& rd);

// Recovery rule shared by every store: entries up to the snapshot go; the
// entries after it stay only if they continue it (the log holds the
// snapshot's last entry with the same term, or starts right after it).
// persist() truncates before saving a received snapshot, so a crash cannot
// leave a snapshot beside a divergent tail; this is the check that it did not.
std::vector<entry> recover_entries(const snapshot_metadata& point, std::vector<entry> entries);

} // namespace runnel::raft
