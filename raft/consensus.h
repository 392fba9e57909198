// The Raft state machine: step(message), tick(), propose(...), then ready()
// to learn what to persist and advance() to learn what to send and apply.
// It performs no I/O, reads no clock and draws randomness only from the seed
// in its options, so a simulator can drive whole clusters deterministically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "raft/message.h"
#include "raft/progress.h"
#include "raft/raft_log.h"
#include "raft/random.h"
#include "raft/ready.h"
#include "raft/types.h"

namespace runnel::raft {

// Roles and the legal transitions between them (checked in one place,
// consensus::transition):
//   follower      -> pre_candidate (election timeout, pre-vote on)
//   follower      -> candidate     (election timeout, pre-vote off; or timeout_now)
//   pre_candidate -> candidate     (a majority would vote for it)
//   pre_candidate -> pre_candidate (election timeout: try again)
//   candidate     -> candidate     (election timeout, pre-vote off: next term)
//   candidate     -> pre_candidate (election timeout, pre-vote on)
//   candidate     -> leader        (a majority voted for it)
//   any           -> follower      (higher term, a leader of this term, lost election,
//                                   or a leader that lost its quorum)
enum class role : uint8_t { follower, pre_candidate, candidate, leader };
std::string_view to_string(role r);

struct options {
    node_id id{};
    // The first configuration, used only when the node starts with nothing on
    // disk; every founding member must be given the same one. A node that
    // joins later starts with an empty one and learns the log from a leader.
    configuration initial_configuration{};
    int32_t election_ticks = 10;  // followers wait a random [election_ticks, 2*election_ticks)
    int32_t heartbeat_ticks = 1;  // a leader's heartbeat interval
    bool pre_vote = true;         // dissertation §9.6
    bool check_quorum = true;     // dissertation §6.2: a leader without a majority steps down
    uint64_t random_seed = 0;
    size_t append_entries_max = 256;       // entries per append_request
    size_t append_bytes_max = 1 << 20;     // payload bytes per append_request (soft)
    size_t inflight_appends_max = 64;      // pipelined appends per follower
    size_t uncommitted_entries_max = 8192; // proposals beyond this are refused
    size_t entry_bytes_max = 1 << 20;      // one proposal's payload
    size_t apply_entries_max = 4096;       // committed entries handed out per advance
    size_t pending_reads_max = 4096;       // read-index requests waiting on a leader
};

enum class errc : uint8_t {
    ok = 0,
    not_leader,                   // propose or transfer on a node that is not the leader
    no_leader,                    // a read with no known leader to ask
    busy,                         // too many uncommitted proposals or pending reads
    entry_too_large,              // beyond entry_bytes_max
    configuration_change_pending, // one change at a time, and not before the leader commits in its term
    configuration_change_invalid, // the change is not legal from the current configuration
    leadership_transfer_pending,  // proposals wait until a transfer finishes or times out
    unknown_node,                 // a transfer to a node that is not a voter
};
std::string_view to_string(errc e);

struct propose_result {
    errc error = errc::ok;
    log_index index{}; // where the entry went; it is committed once applied with this term
    raft_term term{};
    node_id leader_hint = no_node;
    bool ok() const { return error == errc::ok; }
};

struct status {
    node_id id{};
    raft::role role = raft::role::follower;
    raft_term term{};
    node_id voted_for = no_node;
    node_id leader = no_node;
    log_index first_index{};
    log_index last_index{};
    log_index commit_index{};
    log_index applied_index{};
    configuration config{};
};

class consensus {
public:
    consensus(options opts, recovered_state recovered);

    // Drivers call these between advance() and the next ready(), never while
    // a ready is outstanding.
    void tick();
    void step(message m);
    propose_result propose(proto::bytes data);
    propose_result propose_change(const configuration_change& change);
    // A linearizable read without a log write (dissertation §6.4). The answer
    // comes back as a read_state in a later output; a follower forwards the
    // request to the leader. Unanswered requests are the caller's to time out.
    errc read_index(uint64_t request_id);
    // Starts an election now, as if the election timer had fired.
    void campaign();
    // Hands leadership to a caught-up voter (dissertation §3.10).
    errc transfer_leadership(node_id to);
    // Replaces the log up to `index` (which must be applied) with a snapshot
    // of the application's state at that index (Raft §7).
    void compact(log_index index, proto::bytes data);

    bool has_ready() const;
    raft::ready ready();
    // The ready has been persisted (log_store.h persist()): returns what may
    // now be sent, applied and served.
    output advance(raft::ready&& persisted);

    node_id id() const { return opts_.id; }
    raft::role role() const { return role_; }
    raft_term term() const { return hard_.term; }
    node_id leader() const { return leader_; }
    bool is_leader() const { return role_ == raft::role::leader; }
    const raft_log& log() const { return log_; }
    const configuration& config() const { return log_.latest_configuration(); }
    const std::optional<raft::snapshot>& latest_snapshot() const { return snapshot_; }
    const std::map<node_id, progress>& progresses() const { return progress_; }
    raft::status status() const;
    int32_t randomized_election_timeout() const { return randomized_election_timeout_; }
    const options& opts() const { return opts_; }

private:
    struct pending_read {
        uint64_t request_id = 0;
        node_id from;
        std::optional<log_index> index; // assigned once the leader has committed in its term
        uint64_t round = 0;
    };

    // Roles (consensus.cc).
    void transition(raft::role to);
    void reset(raft_term term);
    void become_follower(raft_term term, node_id leader);
    void become_pre_candidate();
    void become_candidate();
    void become_leader();
    void start_election(bool pre_vote, bool forced);
    void reset_randomized_election_timeout();
    bool promotable() const;
    std::pair<size_t, size_t> tally() const; // granted and rejected votes among the voters
    void tick_election();
    void tick_leader();
    void sync_configuration();

    // Messages (consensus_step.cc).
    bool step_term(const message& m);
    void handle_vote_request(const message& m);
    void handle_vote_response(const message& m);
    void handle_append_request(message& m);
    void handle_heartbeat_request(const message& m);
    void handle_install_snapshot(message& m);
    void follow(const message& m);
    void handle_append_response(const message& m);
    void handle_heartbeat_response(const message& m);
    void handle_read_index_request(const message& m);
    void handle_read_index_response(const message& m);
    void handle_timeout_now(const message& m);
    void send(node_id to, message_body body);
    void send(node_id to, raft_term term, message_body body);

    // Leader work (consensus_leader.cc).
    bool send_append(node_id to, bool send_if_empty);
    void send_snapshot(node_id to);
    void broadcast_append();
    void broadcast_heartbeat();
    bool maybe_commit();
    void on_commit_advanced();
    bool quorum_active() const;
    bool committed_in_current_term() const;
    propose_result append_as_leader(entry_type type, proto::bytes data);
    void queue_read(uint64_t request_id, node_id from);
    void release_reads();
    void answer_read(const pending_read& read, log_index index);
    void check_transfer_target(node_id follower);
    void abort_leadership_transfer();

    options opts_;
    random_source random_;
    raft_log log_;
    raft::hard_state hard_{};
    raft::hard_state persisted_hard_{};
    raft::role role_ = raft::role::follower;
    node_id leader_ = no_node;
    std::optional<raft::snapshot> snapshot_{}; // the latest snapshot, to send to lagging followers
    bool snapshot_unpersisted_ = false;      // snapshot_ still has to reach the disk
    bool snapshot_unapplied_ = false;        // snapshot_ came from a leader: the application must load it
    configuration config_{};                   // mirrors log_.latest_configuration()

    int32_t election_elapsed_ = 0;  // ticks since we last heard from a leader (or, on a leader, since the last quorum check)
    int32_t heartbeat_elapsed_ = 0;
    int32_t randomized_election_timeout_ = 0;

    std::map<node_id, bool> votes_;          // candidates: the answers so far
    std::map<node_id, progress> progress_;   // leaders: every member, including itself
    log_index pending_configuration_index_{};  // leaders: the last configuration entry not known to be committed
    bool broadcast_pending_ = false;         // leaders: new entries or commit to send at the next ready()
    bool heartbeat_pending_ = false;         // leaders: reads are waiting for a heartbeat round
    uint64_t read_round_ = 0;                // leaders: the last heartbeat round sent
    std::deque<pending_read> pending_reads_;
    node_id transfer_target_ = no_node;      // leaders: a leadership transfer in progress
    int32_t transfer_elapsed_ = 0;

    std::vector<message> messages_{};
    std::vector<read_state> read_states_{};
    bool ready_outstanding_ = false;
};

} // namespace runnel::raft
