// The Raft state machine's roles, timers, proposals and the ready/advance
// hand-off. Message handling is in consensus_step.cc, the leader's
// replication work in consensus_leader.cc.
#include "raft/consensus.h"

#include <algorithm>
#include <limits>

#include "raft/assert.h"

namespace runnel::raft {

std::string_view to_string(role r) {
    switch (r) {
    case role::follower:
        return "follower";
    case role::pre_candidate:
        return "pre-candidate";
    case role::candidate:
        return "candidate";
    case role::leader:
        return "leader";
    }
    return "unknown";
}

std::string_view to_string(errc e) {
    switch (e) {
    case errc::ok:
        return "ok";
    case errc::not_leader:
        return "not leader";
    case errc::no_leader:
        return "no leader";
    case errc::busy:
        return "busy";
    case errc::entry_too_large:
        return "entry too large";
    case errc::configuration_change_pending:
        return "configuration change pending";
    case errc::configuration_change_invalid:
        return "configuration change invalid";
    case errc::leadership_transfer_pending:
        return "leadership transfer pending";
    case errc::unknown_node:
        return "unknown node";
    }
    return "unknown";
}

namespace {

void check_options(const options& o) {
    raft_assert(o.id.value() >= 0, "node id {}", o.id.value());
    raft_assert(o.heartbeat_ticks >= 1 && o.election_ticks > o.heartbeat_ticks, "election {} heartbeat {} ticks",
                o.election_ticks, o.heartbeat_ticks);
    raft_assert(o.append_entries_max >= 1 && o.inflight_appends_max >= 1 && o.apply_entries_max >= 1 &&
                    o.uncommitted_entries_max >= 1 && o.pending_reads_max >= 1,
                "limits must be positive");
}

} // namespace

consensus::consensus(options opts, recovered_state recovered)
    : opts_(std::move(opts)), random_(opts_.random_seed ^ (static_cast<uint64_t>(opts_.id.value()) << 32)) {
    check_options(opts_);
    const bool blank = recovered.hard_state == raft::hard_state{} && !recovered.snapshot && recovered.entries.empty();
    if (blank && !opts_.initial_configuration.voters.empty()) {
        // Bootstrap: every founding member writes the same configuration
        // entry at index 1, so their logs agree from the start and a node
        // that joins later learns the founding members from the log. It is
        // in force at once (configurations are used when appended) and is
        // committed, like any entry, by the first leader.
        raft_assert(opts_.initial_configuration.valid(), "initial {}", describe(opts_.initial_configuration));
        hard_ = raft::hard_state{raft_term(1), no_node};
        log_.append(entry{raft_term(1), log_index(1), entry_type::configuration, encode(opts_.initial_configuration)});
    } else {
        if (recovered.snapshot) {
            log_ = raft_log(recovered.snapshot->metadata, std::move(recovered.entries));
            snapshot_ = std::move(recovered.snapshot);
        } else {
            log_ = raft_log({}, std::move(recovered.entries));
        }
        hard_ = persisted_hard_ = recovered.hard_state;
    }
    raft_assert(hard_.term >= log_.last_term(), "term {} below last log term {}", hard_.term.value(),
                log_.last_term().value());
    config_ = log_.latest_configuration();
    reset(hard_.term);
}

void consensus::transition(raft::role to) {
    bool legal = false;
    switch (role_) {
    case role::follower:
        legal = to != role::leader;
        break;
    case role::pre_candidate:
        legal = to != role::leader;
        break;
    case role::candidate:
        legal = true;
        break;
    case role::leader:
        legal = to == role::follower;
        break;
    }
    raft_assert(legal, "node {} cannot go from {} to {}", opts_.id.value(), to_string(role_), to_string(to));
    role_ = to;
}

void consensus::reset(raft_term term) {
    if (hard_.term != term) {
        raft_assert(term > hard_.term, "term {} moving back to {}", hard_.term.value(), term.value());
        hard_.term = term;
        hard_.voted_for = no_node;
    }
    leader_ = no_node;
    election_elapsed_ = 0;
    heartbeat_elapsed_ = 0;
    reset_randomized_election_timeout();
    votes_.clear();
    progress_.clear();
    pending_reads_.clear();
    broadcast_pending_ = false;
    heartbeat_pending_ = false;
    abort_leadership_transfer();
}

void consensus::become_follower(raft_term term, node_id leader) {
    transition(role::follower);
    reset(term);
    leader_ = leader;
}

void consensus::become_pre_candidate() {
    // The term and the vote stay as they are: a pre-vote changes nothing
    // durable, which is the point of it (dissertation §9.6).
    transition(role::pre_candidate);
    votes_.clear();
    leader_ = no_node;
    reset_randomized_election_timeout();
}

void consensus::become_candidate() {
    transition(role::candidate);
    reset(hard_.term + 1);
    hard_.voted_for = opts_.id;
}

void consensus::become_leader() {
    transition(role::leader);
    reset(hard_.term);
    leader_ = opts_.id;
    const log_index next = log_.last_index() + 1;
    for (const auto* ids : {&config_.voters, &config_.learners}) {
        for (node_id id : *ids) {
            progress& pr = progress_[id];
            pr.next = next;
            pr.recent_active = false;
        }
    }
    progress& self = progress_[opts_.id];
    self.match = log_.persisted_last();
    self.next = next;
    self.recent_active = true;
    // Whatever configuration entry is in the uncommitted tail counts as
    // pending, so no second change can overtake it.
    pending_configuration_index_ = log_.last_index();
    // A leader cannot count replicas of entries from earlier terms (Raft
    // §5.4.2), so it appends one of its own to commit them along with it.
    (void)append_as_leader(entry_type::no_op, {});
}

void consensus::reset_randomized_election_timeout() {
    randomized_election_timeout_ =
        opts_.election_ticks + static_cast<int32_t>(random_.below(static_cast<uint64_t>(opts_.election_ticks)));
}

// A voter may campaign. So may a node that the newest configuration entry
// in its log removes while that entry is not known to be committed: it may
// hold the only copy of that entry, and the remaining voters cannot elect
// anyone without it (found by the simulator, seed 402). It then counts votes
// by the new configuration, never its own, commits the change and steps down.
bool consensus::promotable() const {
    if (config_.is_voter(opts_.id)) {
        return true;
    }
    const log_index latest = log_.latest_configuration_index();
    return latest > log_.committed() && latest > log_.base().index &&
           log_.configuration_at(latest - 1).is_voter(opts_.id);
}

std::pair<size_t, size_t> consensus::tally() const {
    size_t granted = 0;
    size_t rejected = 0;
    for (const auto& [id, yes] : votes_) {
        if (config_.is_voter(id)) {
            (yes ? granted : rejected) += 1;
        }
    }
    return {granted, rejected};
}

void consensus::start_election(bool pre_vote, bool forced) {
    raft_term vote_term;
    if (pre_vote) {
        become_pre_candidate();
        vote_term = hard_.term + 1;
    } else {
        become_candidate();
        vote_term = hard_.term;
    }
    votes_[opts_.id] = true; // counted only if this node is a voter
    if (tally().first >= config_.quorum()) {
        if (pre_vote) {
            start_election(false, forced);
        } else {
            become_leader();
        }
        return;
    }
    for (node_id voter : config_.voters) {
        if (voter != opts_.id) {
            send(voter, vote_term,
                 vote_request{.pre_vote = pre_vote,
                              .leadership_transfer = forced,
                              .last_log_index = log_.last_index(),
                              .last_log_term = log_.last_term()});
        }
    }
}

void consensus::campaign() {
    raft_assert(!ready_outstanding_, "campaign with a ready outstanding");
    if (role_ == role::leader || !promotable()) {
        return;
    }
    start_election(opts_.pre_vote, false);
}

void consensus::tick() {
    raft_assert(!ready_outstanding_, "tick with a ready outstanding");
    if (role_ == role::leader) {
        tick_leader();
    } else {
        tick_election();
    }
}

void consensus::tick_election() {
    ++election_elapsed_;
    if (promotable() && election_elapsed_ >= randomized_election_timeout_) {
        election_elapsed_ = 0;
        start_election(opts_.pre_vote, false);
    }
}

void consensus::tick_leader() {
    ++heartbeat_elapsed_;
    ++election_elapsed_;
    if (election_elapsed_ >= opts_.election_ticks) {
        election_elapsed_ = 0;
        // Dissertation §6.2: a leader that has not heard from a majority
        // within an election timeout may have been replaced; it steps down
        // so that clients look for the real leader.
        if (opts_.check_quorum) {
            if (!quorum_active()) {
                become_follower(hard_.term, no_node);
                return;
            }
            for (auto& [id, pr] : progress_) {
                pr.recent_active = id == opts_.id;
            }
        }
    }
    if (transfer_target_ != no_node && ++transfer_elapsed_ >= opts_.election_ticks) {
        abort_leadership_transfer();
    }
    for (auto& [id, pr] : progress_) {
        // A snapshot that got no answer was probably lost: probe again,
        // which sends a new one if the follower still needs it.
        if (pr.state == progress_state::snapshot && ++pr.snapshot_ticks >= opts_.election_ticks) {
            pr.pending_snapshot = log_index(0);
            pr.become_probe();
        }
    }
    if (heartbeat_elapsed_ >= opts_.heartbeat_ticks) {
        heartbeat_elapsed_ = 0;
        broadcast_heartbeat();
    }
}

propose_result consensus::propose(proto::bytes data) {
    raft_assert(!ready_outstanding_, "propose with a ready outstanding");
    if (role_ != role::leader) {
        return {.error = errc::not_leader, .leader_hint = leader_};
    }
    if (transfer_target_ != no_node) {
        return {.error = errc::leadership_transfer_pending, .leader_hint = leader_};
    }
    if (data.size() > opts_.entry_bytes_max) {
        return {.error = errc::entry_too_large, .leader_hint = leader_};
    }
    if (static_cast<size_t>((log_.last_index() - log_.committed().value()).value()) >= opts_.uncommitted_entries_max) {
        return {.error = errc::busy, .leader_hint = leader_};
    }
    return append_as_leader(entry_type::normal, std::move(data));
}

propose_result consensus::propose_change(const configuration_change& change) {
    raft_assert(!ready_outstanding_, "propose_change with a ready outstanding");
    if (role_ != role::leader) {
        return {.error = errc::not_leader, .leader_hint = leader_};
    }
    if (transfer_target_ != no_node) {
        return {.error = errc::leadership_transfer_pending, .leader_hint = leader_};
    }
    // One change at a time, and only once this leader has committed in its
    // own term: otherwise a change from a previous leader may still be
    // uncommitted and two single-step changes could add up to a two-step
    // one (the single-server change bug Ongaro reported on raft-dev in 2015).
    if (!committed_in_current_term() || pending_configuration_index_ > log_.committed()) {
        return {.error = errc::configuration_change_pending, .leader_hint = leader_};
    }
    auto next = apply_change(config_, change);
    if (!next) {
        return {.error = errc::configuration_change_invalid, .leader_hint = leader_};
    }
    propose_result r = append_as_leader(entry_type::configuration, encode(*next));
    pending_configuration_index_ = r.index;
    sync_configuration();
    return r;
}

errc consensus::read_index(uint64_t request_id) {
    raft_assert(!ready_outstanding_, "read_index with a ready outstanding");
    if (role_ == role::leader) {
        if (pending_reads_.size() >= opts_.pending_reads_max) {
            return errc::busy;
        }
        queue_read(request_id, opts_.id);
        return errc::ok;
    }
    if (leader_ == no_node) {
        return errc::no_leader;
    }
    send(leader_, read_index_request{request_id});
    return errc::ok;
}

errc consensus::transfer_leadership(node_id to) {
    raft_assert(!ready_outstanding_, "transfer_leadership with a ready outstanding");
    if (role_ != role::leader) {
        return errc::not_leader;
    }
    if (to == opts_.id) {
        return errc::ok;
    }
    if (!config_.is_voter(to)) {
        return errc::unknown_node;
    }
    transfer_target_ = to;
    transfer_elapsed_ = 0;
    if (progress_[to].match == log_.last_index()) {
        send(to, timeout_now{});
    } else {
        (void)send_append(to, true);
    }
    return errc::ok;
}

void consensus::abort_leadership_transfer() {
    transfer_target_ = no_node;
    transfer_elapsed_ = 0;
}

void consensus::compact(log_index index, proto::bytes data) {
    raft_assert(!ready_outstanding_, "compact with a ready outstanding");
    raft_assert(index <= log_.applied() && index > log_.base().index, "compact to {}: applied {} base {}",
                index.value(), log_.applied().value(), log_.base().index.value());
    snapshot_metadata point{index, *log_.term_at(index), log_.configuration_at(index)};
    log_.compact(point);
    snapshot_ = raft::snapshot{std::move(point), std::move(data)};
    snapshot_unpersisted_ = true;
}

void consensus::sync_configuration() {
    const configuration& latest = log_.latest_configuration();
    if (latest == config_) {
        return;
    }
    config_ = latest;
    if (role_ != role::leader) {
        return;
    }
    // The leader tracks every member of the new configuration from the
    // moment the entry is in its log (dissertation §4.1).
    const log_index next = log_.last_index() + 1;
    for (const auto* ids : {&config_.voters, &config_.learners}) {
        for (node_id id : *ids) {
            if (!progress_.contains(id)) {
                progress& pr = progress_[id];
                pr.next = next;
            }
        }
    }
    std::erase_if(progress_, [this](const auto& kv) { return kv.first != opts_.id && !config_.contains(kv.first); });
    if (transfer_target_ != no_node && !config_.is_voter(transfer_target_)) {
        abort_leadership_transfer();
    }
    if (maybe_commit()) {
        on_commit_advanced();
    }
    release_reads();
}

bool consensus::has_ready() const {
    return hard_ != persisted_hard_ || snapshot_unpersisted_ || snapshot_unapplied_ || log_.has_unstable() ||
           !messages_.empty() || broadcast_pending_ || heartbeat_pending_ || log_.committed() > log_.applied() ||
           !read_states_.empty();
}

raft::ready consensus::ready() {
    raft_assert(!ready_outstanding_, "ready() called twice without advance()");
    if (role_ == role::leader) {
        if (broadcast_pending_) {
            broadcast_append();
        }
        if (heartbeat_pending_) {
            broadcast_heartbeat();
        }
    }
    raft::ready rd;
    if (hard_ != persisted_hard_) {
        rd.hard_state = hard_;
    }
    if (snapshot_unpersisted_) {
        rd.snapshot = *snapshot_;
    }
    rd.truncate_from = log_.store_truncate_from();
    rd.entries = log_.unstable_entries();
    ready_outstanding_ = true;
    return rd;
}

output consensus::advance(raft::ready&& persisted) {
    raft_assert(ready_outstanding_, "advance() without ready()");
    raft_assert(persisted.entries.empty() || persisted.entries.back().index == log_.last_index(),
                "advance() with a ready that ends at {}, log ends at {}", persisted.entries.back().index.value(),
                log_.last_index().value());
    ready_outstanding_ = false;
    if (persisted.hard_state) {
        persisted_hard_ = *persisted.hard_state;
    }
    if (persisted.snapshot) {
        snapshot_unpersisted_ = false;
    }
    log_.mark_persisted();
    if (role_ == role::leader) {
        // The leader counts itself towards a majority only for what it has
        // on disk.
        progress_[opts_.id].maybe_update(log_.persisted_last());
        if (maybe_commit()) {
            on_commit_advanced();
        }
    }
    output out;
    out.messages.swap(messages_);
    if (snapshot_unapplied_) {
        out.snapshot = *snapshot_;
        log_.applied_to(snapshot_->metadata.index);
        snapshot_unapplied_ = false;
    }
    out.committed_entries = log_.slice(log_.applied() + 1, log_.committed(), opts_.apply_entries_max,
                                       std::numeric_limits<size_t>::max());
    if (!out.committed_entries.empty()) {
        log_.applied_to(out.committed_entries.back().index);
    }
    out.read_states.swap(read_states_);
    raft_assert(hard_ == persisted_hard_ && !log_.has_unstable() && !snapshot_unpersisted_,
                "advance() left state unpersisted");
    return out;
}

raft::status consensus::status() const {
    return raft::status{
        .id = opts_.id,
        .role = role_,
        .term = hard_.term,
        .voted_for = hard_.voted_for,
        .leader = leader_,
        .first_index = log_.first_index(),
        .last_index = log_.last_index(),
        .commit_index = log_.committed(),
        .applied_index = log_.applied(),
        .config = config_,
    };
}

} // namespace runnel::raft
