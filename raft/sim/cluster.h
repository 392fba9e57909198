// A deterministic simulation of a Raft cluster in one process: simulated
// time, a network that drops, delays, duplicates and reorders messages and
// can be partitioned (both ways or one way), disks that lose unsynced writes
// on a crash and can fail writes, and nodes that crash and restart. One seed
// decides everything, so any run can be replayed exactly. The checker runs
// after every event; after the fault phase everything heals and the cluster
// must elect a leader and commit within a bound (liveness).
#pragma once

#include <cstdint>
#include <string>

namespace runnel::raft::sim {

struct sim_options {
    uint64_t seed = 1;
    int32_t nodes = 3;           // 3 or 5
    int64_t steps = 300;         // fault-phase length, in ticks of tick_ms
    int64_t heal_ticks_max = 600; // liveness bound after healing, in ticks
    bool verbose = false;        // print every event
};

inline constexpr int64_t tick_ms = 10;

struct sim_stats {
    int64_t simulated_ms = 0;
    uint64_t events = 0;
    uint64_t messages_sent = 0;
    uint64_t messages_dropped = 0;
    uint64_t messages_duplicated = 0;
    uint64_t proposals_accepted = 0;
    uint64_t entries_committed = 0; // highest committed index at the end
    uint64_t crashes = 0;
    uint64_t disk_failures = 0;
    uint64_t partitions = 0;
    uint64_t leaders = 0; // distinct terms with a leader
    uint64_t snapshots_installed = 0;
    uint64_t compactions = 0;
    uint64_t configuration_changes = 0;
    uint64_t leadership_transfers = 0;
    uint64_t reads_checked = 0;
    int64_t liveness_ms = 0; // from healing to the final entry applied everywhere
};

struct sim_result {
    bool ok = true;
    std::string failure;
    sim_stats stats;
};

sim_result run_simulation(const sim_options& options);
// The command line that replays a run.
std::string replay_command(const sim_options& options);

} // namespace runnel::raft::sim
