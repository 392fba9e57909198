// What a leader knows about each follower's log, and how it paces sending to
// it: probing one append at a time until it finds where the logs agree, then
// pipelining up to a bounded number of appends, or waiting on a snapshot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "raft/types.h"

namespace runnel::raft {

enum class progress_state : uint8_t {
    probe,     // the match point is unknown: one append in flight at a time
    replicate, // the follower is in step: appends are pipelined
    snapshot,  // a snapshot is on its way: nothing else is sent
};
std::string_view to_string(progress_state s);

struct progress {
    log_index match{}; // the highest index known to be replicated on the follower
    log_index next{};  // the next index to send
    progress_state state = progress_state::probe;
    bool probe_sent = false;    // probe: an append is out; wait for a reply or a heartbeat
    bool recent_active = true;  // heard from since the last check-quorum round
    log_index pending_snapshot{}; // snapshot: the index of the snapshot sent
    int32_t snapshot_ticks = 0; // snapshot: ticks spent waiting for the reply
    std::deque<log_index> inflight{}; // replicate: last index of each append not yet acknowledged
    uint64_t read_round_acked = 0;  // the highest heartbeat round the follower has answered

    void become_probe();
    void become_replicate();
    void become_snapshot(log_index snapshot_index);
    // Records an acknowledgement of everything up to n; true if match moved.
    bool maybe_update(log_index n);
    // Handles a rejection of the append whose prev index was `rejected`,
    // moving next back to the hinted point; false if the rejection is stale.
    bool maybe_decrease(log_index rejected, log_index hint);
    // Acknowledges the in-flight appends that end at or before `index`.
    void free_inflight_to(log_index index);
    bool is_paused(size_t inflight_max) const;
    std::string describe() const;
};

} // namespace runnel::raft
