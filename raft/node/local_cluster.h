// Several raft_nodes in one process on 127.0.0.1, each with its own data
// directory, thread and TCP port: the real shell, network and disk, for the
// loopback tests and the throughput benchmark.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "raft/node/node.h"

namespace runnel::raft::node {

// Keeps the payloads of the normal entries it applies; its snapshot is the
// list itself (fine for tests: compaction is set far away) or, with
// count_only, just how many there were (for the benchmark).
class recording_state_machine final : public state_machine {
public:
    explicit recording_state_machine(bool count_only = false) : count_only_(count_only) {}

    void apply(const entry& e) override;
    proto::bytes take_snapshot() override;
    void restore(const snapshot& snap) override;

    std::vector<std::string> payloads() const;
    uint64_t count() const;

private:
    mutable std::mutex mutex_; // the node's thread writes, the test's thread reads
    bool count_only_;
    std::vector<std::string> payloads_;
    uint64_t count_ = 0;
};

class local_cluster {
public:
    // Picks free loopback ports; `tweak` may adjust each node's config.
    local_cluster(size_t nodes, std::string base_dir, void (*tweak)(node_config&) = nullptr, bool count_only = false);
    ~local_cluster();

    result<void> start(node_id id);
    void stop(node_id id);
    bool running(node_id id) const { return nodes_.at(id) != nullptr; }
    raft_node& node(node_id id) { return *nodes_.at(id); }
    recording_state_machine& app(node_id id) { return *apps_.at(id); }
    std::vector<node_id> ids() const;

    // The leader that a running node reports, once every running node that
    // knows a leader agrees on it; polls until `wait_max` has passed.
    std::optional<node_id> wait_for_leader(std::chrono::milliseconds wait_max, node_id not_this = no_node);
    // Proposes through `id` from the calling thread and waits for the outcome.
    propose_outcome propose(node_id id, std::string_view payload);

private:
    std::map<node_id, node_config> configs_;
    std::map<node_id, std::unique_ptr<raft_node>> nodes_;
    std::map<node_id, std::shared_ptr<recording_state_machine>> apps_;
    bool count_only_;
};

// A free TCP port on 127.0.0.1 (bound and released, so it may be taken
// again in between; good enough for tests).
uint16_t free_loopback_port();

} // namespace runnel::raft::node
