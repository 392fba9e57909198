// Vocabulary of the Raft library: terms, log indexes, entries, the hard state
// that must survive a crash, and snapshots. Shared by the state machine, the
// simulator and the I/O shell.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>
#include <string>
#include <string_view>

#include "protocol/types.h"
#include "protocol/wire.h"
#include "raft/configuration.h"

namespace runnel::raft {

// A Raft term (KRaft calls it the epoch). Term 0 precedes every election.
using raft_term = strong_type<int64_t, struct raft_term_tag>;
// A position in the replicated log; index 0 is the empty prefix.
using log_index = strong_type<int64_t, struct log_index_tag>;

enum class entry_type : uint8_t {
    normal = 0,        // an application command
    configuration = 1, // a new cluster configuration (see configuration.h)
    no_op = 2,         // appended by every new leader so that it can commit (Raft §5.4.2)
};
std::string_view to_string(entry_type t);
inline constexpr uint8_t entry_type_max = 2;

struct entry {
    raft_term term{};
    log_index index{};
    entry_type type = entry_type::normal;
    proto::bytes data{};
    bool operator==(const entry&) const = default;
};

// What a node must have on disk before it says anything to anyone: the
// latest term it has seen and whom it voted for in that term (Raft §5.1,
// Figure 2 "persistent state"). The commit index is not part of it; like
// KRaft's quorum-state file, a restarted node learns it again from a leader.
struct hard_state {
    raft_term term{};
    node_id voted_for = no_node;
    bool operator==(const hard_state&) const = default;
};

// The point a snapshot replaces the log up to, with the configuration in
// force at that point (Raft §7).
struct snapshot_metadata {
    log_index index{};
    raft_term term{};
    configuration config{};
    bool operator==(const snapshot_metadata&) const = default;
};

struct snapshot {
    snapshot_metadata metadata{};
    proto::bytes data{}; // the application's state, opaque to Raft
    bool operator==(const snapshot&) const = default;
};

// What a node found on disk at start-up.
struct recovered_state {
    raft::hard_state hard_state{};
    std::optional<raft::snapshot> snapshot{};
    std::vector<entry> entries{}; // contiguous, after the snapshot if there is one
};

// Short human-readable forms for traces and logs.
std::string describe(const entry& e);

} // namespace runnel::raft
