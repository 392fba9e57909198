// A small in-process cluster for the Raft unit and interaction tests: each
// node is a consensus driven through a simulated store, messages wait in
// per-node mailboxes until a test delivers them, and links can be cut. Time
// moves only when a test ticks a node, so every scenario is exact.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "raft/consensus.h"
#include "raft/random.h"
#include "raft/sim/sim_store.h"

namespace runnel::raft::testing {

struct harness_node {
    options opts;
    std::unique_ptr<consensus> raft; // null while crashed
    sim::sim_store store;
    std::vector<entry> applied;                 // entries applied since the last snapshot load
    std::optional<snapshot_metadata> loaded;    // the last snapshot the application loaded
    std::vector<read_state> reads;
};

class harness {
public:
    // Adds nodes with the given ids; all start from `base` with their own id
    // and seed. Founding members get base.initial_configuration.
    void add(const std::vector<node_id>& ids, const options& base);
    harness_node& node(node_id id);
    consensus& raft(node_id id);
    std::vector<node_id> ids() const;

    // Persists and advances one ready if the node has one; messages go to
    // the mailboxes of their destinations (dropped if the link is cut).
    // Returns the ready and output handled, for traces.
    std::optional<std::pair<ready, output>> process_ready(node_id id);
    // Steps every message waiting for `id`; returns them.
    std::vector<message> deliver(node_id id);
    // Runs ready and delivery on every node until nothing is left to do
    // (at most `rounds_max` rounds); returns whether it settled.
    bool stabilize(size_t rounds_max = 1000);
    // Ticks a node n times (processing nothing).
    void tick(node_id id, int n = 1);
    // Ticks until the node's election timer fires.
    void tick_election(node_id id);
    // Elects `id` by letting its timer fire and the cluster settle.
    void elect(node_id id);

    void cut(node_id from, node_id to) { cut_.insert({from, to}); }
    void isolate(node_id id);
    void heal() { cut_.clear(); }
    // Crash loses every unsynced write; restart reloads from the store.
    void crash(node_id id);
    void restart(node_id id);
    std::vector<message>& mailbox(node_id id) { return mailbox_[id]; }
    // The leader, if exactly one live node thinks it leads in the highest term.
    std::optional<node_id> leader() const;

private:
    void apply(harness_node& n, const output& out);

    std::map<node_id, harness_node> nodes_;
    std::map<node_id, std::vector<message>> mailbox_;
    std::set<std::pair<node_id, node_id>> cut_;
    random_source crash_random_{7};
};

// Options for a test cluster: election 10, heartbeat 1, founding voters ids.
options test_options(const std::vector<node_id>& voters, bool pre_vote = false, bool check_quorum = false);
std::vector<node_id> ids(std::initializer_list<int32_t> values);
proto::bytes payload(std::string_view text);

} // namespace runnel::raft::testing
