// Per-follower replication pacing (see progress.h).
#include "raft/progress.h"

#include <algorithm>

#include <fmt/format.h>

#include "raft/assert.h"

namespace runnel::raft {

std::string_view to_string(progress_state s) {
    switch (s) {
    case progress_state::probe:
        return "probe";
    case progress_state::replicate:
        return "replicate";
    case progress_state::snapshot:
        return "snapshot";
    }
    return "unknown";
}

void progress::become_probe() {
    // After a snapshot, the follower holds at least the snapshot if it
    // arrived; probing from there is the optimistic guess.
    if (state == progress_state::snapshot) {
        next = std::max(match + 1, pending_snapshot + 1);
    } else {
        next = match + 1;
    }
    state = progress_state::probe;
    probe_sent = false;
    pending_snapshot = log_index(0);
    inflight.clear();
}

void progress::become_replicate() {
    state = progress_state::replicate;
    next = match + 1;
    probe_sent = false;
    pending_snapshot = log_index(0);
    inflight.clear();
}

void progress::become_snapshot(log_index snapshot_index) {
    state = progress_state::snapshot;
    pending_snapshot = snapshot_index;
    snapshot_ticks = 0;
    probe_sent = false;
    inflight.clear();
}

bool progress::maybe_update(log_index n) {
    bool updated = false;
    if (match < n) {
        match = n;
        updated = true;
        probe_sent = false;
    }
    next = std::max(next, n + 1);
    return updated;
}

bool progress::maybe_decrease(log_index rejected, log_index hint) {
    if (state == progress_state::replicate) {
        // Appends are pipelined: a rejection at or below match is a reply to
        // an old request that a later one has already overtaken.
        if (rejected <= match) {
            return false;
        }
        next = match + 1;
        return true;
    }
    // Probing has one request outstanding; a rejection of any other is stale.
    if (next - 1 != rejected) {
        return false;
    }
    next = std::max(std::min(rejected, hint + 1), match + 1);
    raft_assert(next >= log_index(1), "next {} after rejection of {}", next.value(), rejected.value());
    probe_sent = false;
    return true;
}

void progress::free_inflight_to(log_index index) {
    while (!inflight.empty() && inflight.front() <= index) {
        inflight.pop_front();
    }
}

bool progress::is_paused(size_t inflight_max) const {
    switch (state) {
    case progress_state::probe:
        return probe_sent;
    case progress_state::replicate:
        return inflight.size() >= inflight_max;
    case progress_state::snapshot:
        return true;
    }
    return true;
}

std::string progress::describe() const {
    std::string out = fmt::format("{} match={} next={}", to_string(state), match.value(), next.value());
    if (state == progress_state::snapshot) {
        out += fmt::format(" pending-snapshot={}", pending_snapshot.value());
    }
    if (!inflight.empty()) {
        out += fmt::format(" inflight={}", inflight.size());
    }
    if (probe_sent) {
        out += " paused";
    }
    return out;
}

} // namespace runnel::raft
