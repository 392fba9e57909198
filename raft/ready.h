// The hand-off between the pure state machine and whoever drives it. A
// `ready` holds only what must be made durable; the things that may happen
// once it is durable (messages to send, entries to apply, reads to serve)
// are returned by consensus::advance, so a driver cannot send a vote or an
// acknowledgement before the state it promises is on disk.
#pragma once

#include <optional>
#include <vector>

#include "raft/message.h"
#include "raft/types.h"

namespace runnel::raft {

// Apply in this order (log_store.h has persist() doing exactly that):
// hard state, truncate the log from truncate_from, snapshot (dropping
// entries up to its index), append entries, then sync.
struct ready {
    std::optional<raft::hard_state> hard_state{};
    std::optional<raft::snapshot> snapshot{};
    std::optional<log_index> truncate_from{};
    std::vector<entry> entries{};

    bool empty() const { return !hard_state && !snapshot && !truncate_from && entries.empty(); }
};

// A read-index result (dissertation §6.4): the read may be served once the
// state machine has applied `index`.
struct read_state {
    uint64_t request_id = 0;
    log_index index{};
};

// What the driver does after persisting a ready, in this order: send the
// messages, restore the state machine from the snapshot if there is one,
// apply the committed entries, then serve the reads.
struct output {
    std::vector<message> messages{};
    std::optional<raft::snapshot> snapshot{};
    std::vector<entry> committed_entries{};
    std::vector<read_state> read_states{};
};

} // namespace runnel::raft
