// The messages Raft nodes exchange. They follow the paper's RPCs
// (RequestVote, AppendEntries, InstallSnapshot) rather than KRaft's pull-based
// Fetch; docs/ARCHITECTURE.md ("Raft") explains why. Every message carries the
// sender's term, which is how stale leaders and candidates find out (Raft §5.1).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "raft/types.h"

namespace runnel::raft {

// RequestVote (Raft §5.2), also used for pre-vote (dissertation §9.6): a
// pre-vote asks "would you vote for me in term+1?" without anyone changing term.
struct vote_request {
    bool pre_vote = false;
    // Sent because the leader handed over (timeout_now): voters that still
    // hear from that leader vote anyway instead of ignoring the request.
    bool leadership_transfer = false;
    log_index last_log_index{};
    raft_term last_log_term{};
};

struct vote_response {
    bool pre_vote = false;
    bool granted = false;
};

// AppendEntries (Raft §5.3). Entries are contiguous from prev_log_index + 1.
struct append_request {
    log_index prev_log_index{};
    raft_term prev_log_term{};
    log_index commit_index{};
    std::vector<entry> entries{};
};

// On success `index` is the last index the follower now holds in agreement
// with the leader. On rejection `index` is the prev_log_index that did not
// match, and the hint is the follower's last entry at or before it whose term
// is at most prev_log_term, so the leader can skip a whole term at once
// (the back-off optimisation at the end of Raft §5.3).
struct append_response {
    bool rejected = false;
    log_index index{};
    log_index hint_index{};
    raft_term hint_term{};
};

// A leader's periodic "I am still here" (Raft §5.2). It also carries a round
// number for read-index (dissertation §6.4): an acknowledgement of round r
// confirms the leader was still leader after every read queued before r.
struct heartbeat_request {
    log_index commit_index{};
    uint64_t read_round = 0;
};

struct heartbeat_response {
    uint64_t read_round = 0;
};

// InstallSnapshot (Raft §7), sent whole in one message; the transport bounds
// its size. The reply is an append_response.
struct install_snapshot_request {
    raft::snapshot snapshot{};
};

// A follower asks the leader for a read index on behalf of its client.
struct read_index_request {
    uint64_t request_id = 0;
};

struct read_index_response {
    uint64_t request_id = 0;
    bool rejected = false;
    log_index index{};
};

// The leader tells a caught-up follower to start an election at once, to hand
// over leadership (dissertation §3.10); KRaft's EndQuorumEpoch plays this role.
struct timeout_now {};

enum class message_type : uint8_t {
    vote_request = 0,
    vote_response,
    append_request,
    append_response,
    heartbeat_request,
    heartbeat_response,
    install_snapshot_request,
    read_index_request,
    read_index_response,
    timeout_now,
};
inline constexpr uint8_t message_type_max = static_cast<uint8_t>(message_type::timeout_now);

using message_body = std::variant<vote_request, vote_response, append_request, append_response, heartbeat_request,
                                  heartbeat_response, install_snapshot_request, read_index_request, read_index_response,
                                  timeout_now>;

struct message {
    node_id from{};
    node_id to{};
    raft_term term{};
    message_body body{};

    message_type type() const { return static_cast<message_type>(body.index()); }
    template <typename T>
    bool is() const {
        return std::holds_alternative<T>(body);
    }
    template <typename T>
    const T& as() const {
        return std::get<T>(body);
    }
};

std::string_view to_string(message_type t);
// One line, e.g. "1->2 append_request term=3 prev=(2,7) commit=6 entries=[3/8 no-op]".
std::string describe(const message& m);

} // namespace runnel::raft
