// A leader's work: replicating the log to each follower at the pace its
// progress allows, committing by counting (Raft §5.3, §5.4.2), heartbeats,
// read-index (dissertation §6.4) and leadership transfer.
#include "raft/consensus.h"

#include <algorithm>
#include <functional>
#include <limits>

#include "raft/assert.h"

namespace runnel::raft {

propose_result consensus::append_as_leader(entry_type type, proto::bytes data) {
    const log_index index = log_.last_index() + 1;
    log_.append(entry{hard_.term, index, type, std::move(data)});
    broadcast_pending_ = true;
    return {.error = errc::ok, .index = index, .term = hard_.term, .leader_hint = opts_.id};
}

// Sends what the follower is missing, or a snapshot if the leader has
// compacted that part away. Returns whether a message went out.
bool consensus::send_append(node_id to, bool send_if_empty) {
    auto it = progress_.find(to);
    if (to == opts_.id || it == progress_.end()) {
        return false;
    }
    progress& pr = it->second;
    if (pr.is_paused(opts_.inflight_appends_max)) {
        return false;
    }
    const log_index prev = pr.next - 1;
    const auto prev_term = log_.term_at(prev);
    if (!prev_term) {
        send_snapshot(to);
        return true;
    }
    auto entries = log_.slice(pr.next, log_.last_index(), opts_.append_entries_max, opts_.append_bytes_max);
    if (entries.empty() && !send_if_empty) {
        return false;
    }
    if (pr.state == progress_state::replicate && !entries.empty()) {
        // Optimistic: assume it arrives and keep sending behind it.
        pr.next = entries.back().index + 1;
        pr.inflight.push_back(entries.back().index);
    } else if (pr.state == progress_state::probe) {
        pr.probe_sent = true;
    }
    send(to, append_request{.prev_log_index = prev,
                            .prev_log_term = *prev_term,
                            .commit_index = log_.committed(),
                            .entries = std::move(entries)});
    return true;
}

void consensus::send_snapshot(node_id to) {
    raft_assert(snapshot_.has_value(), "node {} needs a snapshot for {} but has none", opts_.id.value(), to.value());
    progress& pr = progress_.at(to);
    pr.become_snapshot(snapshot_->metadata.index);
    send(to, install_snapshot_request{*snapshot_});
}

void consensus::broadcast_append() {
    broadcast_pending_ = false;
    for (auto& [id, pr] : progress_) {
        if (id != opts_.id) {
            (void)send_append(id, true);
        }
    }
}

void consensus::broadcast_heartbeat() {
    heartbeat_pending_ = false;
    ++read_round_;
    for (auto& [id, pr] : progress_) {
        if (id == opts_.id) {
            continue;
        }
        // Never announce a commit index beyond what this follower is known
        // to hold: its log may still differ from ours past its match.
        send(id, heartbeat_request{.commit_index = std::min(pr.match, log_.committed()), .read_round = read_round_});
    }
}

bool consensus::maybe_commit() {
    if (config_.voters.empty()) {
        return false;
    }
    std::vector<log_index> matches;
    matches.reserve(config_.voters.size());
    for (node_id voter : config_.voters) {
        auto it = progress_.find(voter);
        matches.push_back(it == progress_.end() ? log_index(0) : it->second.match);
    }
    std::sort(matches.begin(), matches.end(), std::greater<>());
    const log_index candidate = matches[config_.quorum() - 1];
    // Raft §5.4.2: only an entry of the current term is committed by
    // counting replicas; earlier entries are committed along with it.
    if (candidate > log_.committed() && log_.term_at(candidate) == hard_.term) {
        log_.commit_to(candidate);
        return true;
    }
    return false;
}

void consensus::on_commit_advanced() {
    broadcast_pending_ = true; // followers learn the new commit index
    if (committed_in_current_term()) {
        for (auto& read : pending_reads_) {
            if (!read.index) {
                read.index = log_.committed();
            }
        }
    }
    release_reads();
    // Dissertation §4.2.2: a leader that is not in the configuration it just
    // committed steps down; until then it led without counting itself.
    if (!config_.is_voter(opts_.id) && log_.latest_configuration_index() <= log_.committed()) {
        become_follower(hard_.term, no_node);
    }
}

bool consensus::quorum_active() const {
    size_t active = 0;
    for (node_id voter : config_.voters) {
        auto it = progress_.find(voter);
        if (voter == opts_.id || (it != progress_.end() && it->second.recent_active)) {
            ++active;
        }
    }
    return active >= config_.quorum();
}

bool consensus::committed_in_current_term() const { return log_.term_at(log_.committed()) == hard_.term; }

void consensus::queue_read(uint64_t request_id, node_id from) {
    pending_read read{.request_id = request_id, .from = from, .index = std::nullopt, .round = read_round_ + 1};
    // Until the leader has committed an entry of its own term it does not
    // know the latest commit index (dissertation §6.4 step 1): the read
    // waits for the no-op to commit.
    if (committed_in_current_term()) {
        read.index = log_.committed();
    }
    pending_reads_.push_back(read);
    heartbeat_pending_ = true;
    release_reads();
}

// Serves the reads whose heartbeat round a majority has answered: the
// leader was still the leader after they arrived (dissertation §6.4 step 3).
void consensus::release_reads() {
    if (pending_reads_.empty() || config_.voters.empty()) {
        return;
    }
    std::vector<uint64_t> acked;
    for (node_id voter : config_.voters) {
        if (voter == opts_.id) {
            acked.push_back(std::numeric_limits<uint64_t>::max());
            continue;
        }
        auto it = progress_.find(voter);
        acked.push_back(it == progress_.end() ? 0 : it->second.read_round_acked);
    }
    std::sort(acked.begin(), acked.end(), std::greater<>());
    const uint64_t confirmed = acked[config_.quorum() - 1];
    while (!pending_reads_.empty()) {
        const pending_read& read = pending_reads_.front();
        if (!read.index || read.round > confirmed) {
            break;
        }
        answer_read(read, *read.index);
        pending_reads_.pop_front();
    }
    if (pending_reads_.empty()) {
        heartbeat_pending_ = false;
    }
}

void consensus::answer_read(const pending_read& read, log_index index) {
    if (read.from == opts_.id) {
        read_states_.push_back(read_state{read.request_id, index});
    } else {
        send(read.from, read_index_response{.request_id = read.request_id, .rejected = false, .index = index});
    }
}

void consensus::check_transfer_target(node_id follower) {
    if (follower != transfer_target_) {
        return;
    }
    // Dissertation §3.10: once the target has the whole log, tell it to
    // start an election; it will win because its log is up to date.
    if (progress_.at(follower).match == log_.last_index()) {
        send(follower, timeout_now{});
    }
}

} // namespace runnel::raft
