// How the Raft state machine reacts to each message: the term rules that
// apply to every message first (Raft §5.1), then one handler per message.
#include "raft/consensus.h"

#include <algorithm>

#include "raft/assert.h"

namespace runnel::raft {

void consensus::step(message m) {
    raft_assert(!ready_outstanding_, "step with a ready outstanding");
    raft_assert(m.to == opts_.id && m.from != opts_.id, "node {} got a message {}->{}", opts_.id.value(),
                m.from.value(), m.to.value());
    if (!step_term(m)) {
        return;
    }
    switch (m.type()) {
    case message_type::vote_request:
        handle_vote_request(m);
        return;
    case message_type::vote_response:
        handle_vote_response(m);
        return;
    case message_type::append_request:
        handle_append_request(m);
        return;
    case message_type::heartbeat_request:
        handle_heartbeat_request(m);
        return;
    case message_type::install_snapshot_request:
        handle_install_snapshot(m);
        return;
    case message_type::append_response:
        if (role_ == role::leader) {
            handle_append_response(m);
        }
        return;
    case message_type::heartbeat_response:
        if (role_ == role::leader) {
            handle_heartbeat_response(m);
        }
        return;
    case message_type::read_index_request:
        handle_read_index_request(m);
        return;
    case message_type::read_index_response:
        handle_read_index_response(m);
        return;
    case message_type::timeout_now:
        handle_timeout_now(m);
        return;
    }
}

// Returns false when the message is to be dropped because of its term.
bool consensus::step_term(const message& m) {
    if (m.term > hard_.term) {
        if (m.is<vote_request>()) {
            const auto& request = m.as<vote_request>();
            // Dissertation §4.2.3: a node that has heard from a leader within
            // the minimum election timeout ignores requests to elect someone
            // else, so a removed or partitioned node cannot depose a healthy
            // leader. A leader's own hand-over is the exception.
            const bool in_lease =
                opts_.check_quorum && leader_ != no_node && election_elapsed_ < opts_.election_ticks;
            if (in_lease && !request.leadership_transfer) {
                return false;
            }
            if (request.pre_vote) {
                return true; // a pre-vote changes nobody's term
            }
            become_follower(m.term, no_node);
            return true;
        }
        if (m.is<vote_response>() && m.as<vote_response>().pre_vote && m.as<vote_response>().granted) {
            return true; // a granted pre-vote carries the term we would move to, not the voter's
        }
        const bool from_leader = m.is<append_request>() || m.is<heartbeat_request>() ||
                                 m.is<install_snapshot_request>() || m.is<timeout_now>();
        become_follower(m.term, from_leader ? m.from : no_node);
        return true;
    }
    if (m.term < hard_.term) {
        if (m.is<append_request>() || m.is<heartbeat_request>() || m.is<install_snapshot_request>()) {
            // Tell a deposed leader about the newer term so that it steps
            // down; otherwise, with pre-vote and check-quorum, a node that
            // rejoins with a higher term could wait forever on a leader that
            // never learns it was replaced.
            send(m.from, heartbeat_response{});
        } else if (m.is<vote_request>()) {
            // Raft §5.1: answer with the current term, so that a candidate
            // behind on terms catches up. A candidate may be the only node
            // that has our term to learn from: with membership changes, the
            // nodes with higher terms need not be in its configuration, nor
            // it in theirs (found by the simulator, seed 35180: two nodes
            // raising terms forever without ever hearing each other's).
            send(m.from, vote_response{.pre_vote = m.as<vote_request>().pre_vote, .granted = false});
        }
        return false;
    }
    return true;
}

void consensus::handle_vote_request(const message& m) {
    const auto& request = m.as<vote_request>();
    // Raft §5.2: one vote per term, first come first served. A pre-vote for
    // a later term is not a vote and can be given to anyone.
    const bool can_vote = hard_.voted_for == m.from || (hard_.voted_for == no_node && leader_ == no_node) ||
                          (request.pre_vote && m.term > hard_.term);
    // Raft §5.4.1: only for a candidate whose log is at least as up to date.
    if (can_vote && log_.is_up_to_date(request.last_log_index, request.last_log_term)) {
        send(m.from, m.term, vote_response{.pre_vote = request.pre_vote, .granted = true});
        if (!request.pre_vote) {
            election_elapsed_ = 0;
            hard_.voted_for = m.from;
        }
        return;
    }
    send(m.from, vote_response{.pre_vote = request.pre_vote, .granted = false});
}

void consensus::handle_vote_response(const message& m) {
    const auto& response = m.as<vote_response>();
    if (response.pre_vote) {
        if (role_ != role::pre_candidate || (response.granted && m.term != hard_.term + 1)) {
            return;
        }
    } else if (role_ != role::candidate) {
        return;
    }
    if (!config_.is_voter(m.from)) {
        return;
    }
    votes_.emplace(m.from, response.granted);
    const auto [granted, rejected] = tally();
    if (granted >= config_.quorum()) {
        if (response.pre_vote) {
            start_election(false, false);
        } else {
            become_leader();
        }
    } else if (config_.voters.size() - rejected < config_.quorum()) {
        become_follower(hard_.term, no_node); // this election is lost
    }
}

// A message from the leader of our term: candidates stand down (Raft §5.2).
void consensus::follow(const message& m) {
    raft_assert(role_ != role::leader, "node {} is leader of term {} and got {} from {}", opts_.id.value(),
                hard_.term.value(), to_string(m.type()), m.from.value());
    if (role_ != role::follower) {
        become_follower(hard_.term, m.from);
    }
    leader_ = m.from;
    election_elapsed_ = 0;
}

void consensus::handle_append_request(message& m) {
    follow(m);
    auto& request = std::get<append_request>(m.body);
    if (request.prev_log_index < log_.committed()) {
        // Everything up to commit is settled; say so and let the leader
        // resume from there.
        send(m.from, append_response{.index = log_.committed()});
        return;
    }
    const log_index commit = request.commit_index;
    auto last_new = log_.try_append(request.prev_log_index, request.prev_log_term, std::move(request.entries));
    if (last_new) {
        log_.commit_to(std::min(commit, *last_new));
        sync_configuration();
        send(m.from, append_response{.index = *last_new});
        return;
    }
    // Raft §5.3: the logs disagree at prev; hint where they may agree.
    auto [hint_index, hint_term] =
        log_.conflict_hint(std::min(request.prev_log_index, log_.last_index()), request.prev_log_term);
    send(m.from, append_response{
                     .rejected = true, .index = request.prev_log_index, .hint_index = hint_index, .hint_term = hint_term});
}

void consensus::handle_heartbeat_request(const message& m) {
    follow(m);
    const auto& request = m.as<heartbeat_request>();
    // The leader sends min(commit, what it knows we hold), so this never
    // reaches past entries that agree with its log.
    raft_assert(request.commit_index <= log_.last_index(), "heartbeat commit {} beyond last index {}",
                request.commit_index.value(), log_.last_index().value());
    log_.commit_to(request.commit_index);
    send(m.from, heartbeat_response{request.read_round});
}

void consensus::handle_install_snapshot(message& m) {
    follow(m);
    auto& request = std::get<install_snapshot_request>(m.body);
    const snapshot_metadata& point = request.snapshot.metadata;
    if (point.index <= log_.committed()) {
        send(m.from, append_response{.index = log_.committed()});
        return;
    }
    if (log_.matches(point.index, point.term)) {
        // Raft §7: the log already has the snapshot's last entry; keep what
        // follows it and just learn that the prefix is committed.
        log_.commit_to(point.index);
        send(m.from, append_response{.index = point.index});
        return;
    }
    const log_index index = point.index;
    log_.restore(point);
    snapshot_ = std::move(request.snapshot);
    snapshot_unpersisted_ = true;
    snapshot_unapplied_ = true;
    sync_configuration();
    send(m.from, append_response{.index = index});
}

void consensus::handle_append_response(const message& m) {
    auto it = progress_.find(m.from);
    if (it == progress_.end()) {
        return; // no longer a member
    }
    progress& pr = it->second;
    pr.recent_active = true;
    const auto& response = m.as<append_response>();
    if (response.rejected) {
        log_index hint = response.hint_index;
        if (response.hint_term > raft_term(0)) {
            hint = log_.conflict_hint(response.hint_index, response.hint_term).first;
        }
        if (pr.maybe_decrease(response.index, hint)) {
            if (pr.state == progress_state::replicate) {
                pr.become_probe();
            }
            (void)send_append(m.from, true);
        }
        return;
    }
    const bool confirmed_probe = pr.state == progress_state::probe && pr.match == response.index;
    if (!pr.maybe_update(response.index) && !confirmed_probe) {
        return; // an old acknowledgement
    }
    switch (pr.state) {
    case progress_state::probe:
        pr.become_replicate();
        break;
    case progress_state::snapshot:
        if (pr.match >= pr.pending_snapshot) {
            pr.become_replicate();
        }
        break;
    case progress_state::replicate:
        pr.free_inflight_to(response.index);
        break;
    }
    if (maybe_commit()) {
        on_commit_advanced();
    }
    // Fill the pipeline; each round either sends entries or pauses, and the
    // in-flight limit bounds the rounds.
    for (size_t round = 0; round <= opts_.inflight_appends_max && send_append(m.from, false); ++round) {
    }
    check_transfer_target(m.from);
}

void consensus::handle_heartbeat_response(const message& m) {
    auto it = progress_.find(m.from);
    if (it == progress_.end()) {
        return;
    }
    progress& pr = it->second;
    pr.recent_active = true;
    pr.probe_sent = false;
    if (pr.state == progress_state::replicate && pr.inflight.size() >= opts_.inflight_appends_max) {
        pr.inflight.pop_front(); // let one more append through in case the window's were lost
    }
    if (pr.match < log_.last_index()) {
        (void)send_append(m.from, true);
    }
    const uint64_t round = m.as<heartbeat_response>().read_round;
    if (round > pr.read_round_acked) {
        pr.read_round_acked = round;
        release_reads();
    }
}

void consensus::handle_read_index_request(const message& m) {
    const uint64_t request_id = m.as<read_index_request>().request_id;
    if (role_ != role::leader || pending_reads_.size() >= opts_.pending_reads_max) {
        send(m.from, read_index_response{.request_id = request_id, .rejected = true});
        return;
    }
    queue_read(request_id, m.from);
}

void consensus::handle_read_index_response(const message& m) {
    const auto& response = m.as<read_index_response>();
    if (!response.rejected) {
        read_states_.push_back(read_state{response.request_id, response.index});
    }
}

void consensus::handle_timeout_now(const message& m) {
    (void)m;
    if (role_ == role::leader || !promotable()) {
        return;
    }
    // The leader asked us to take over: skip pre-vote, it would only delay.
    start_election(false, true);
}

void consensus::send(node_id to, message_body body) { send(to, hard_.term, std::move(body)); }

void consensus::send(node_id to, raft_term term, message_body body) {
    raft_assert(to != opts_.id, "node {} sending to itself", to.value());
    messages_.push_back(message{opts_.id, to, term, std::move(body)});
}

} // namespace runnel::raft
