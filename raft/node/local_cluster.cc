// The in-process loopback cluster (see local_cluster.h).
#include "raft/node/local_cluster.h"

#include <thread>

#include "raft/assert.h"

namespace runnel::raft::node {

void recording_state_machine::apply(const entry& e) {
    if (e.type != entry_type::normal) {
        return;
    }
    std::lock_guard lock(mutex_);
    ++count_;
    if (!count_only_) {
        payloads_.emplace_back(e.data.begin(), e.data.end());
    }
}

proto::bytes recording_state_machine::take_snapshot() {
    std::lock_guard lock(mutex_);
    proto::writer w;
    w.write_int64(static_cast<int64_t>(count_));
    w.write_array_length(static_cast<int32_t>(payloads_.size()));
    for (const auto& p : payloads_) {
        w.write_string(p);
    }
    return w.release();
}

void recording_state_machine::restore(const snapshot& snap) {
    std::lock_guard lock(mutex_);
    proto::reader r(snap.data);
    count_ = static_cast<uint64_t>(r.read_int64());
    const int32_t n = r.read_array_length();
    payloads_.clear();
    for (int32_t i = 0; i < n && r.ok(); ++i) {
        payloads_.push_back(r.read_string());
    }
    raft_assert(r.ok(), "recording state machine snapshot does not decode");
}

std::vector<std::string> recording_state_machine::payloads() const {
    std::lock_guard lock(mutex_);
    return payloads_;
}

uint64_t recording_state_machine::count() const {
    std::lock_guard lock(mutex_);
    return count_;
}

uint16_t free_loopback_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

local_cluster::local_cluster(size_t nodes, std::string base_dir, void (*tweak)(node_config&), bool count_only)
    : count_only_(count_only) {
    std::map<node_id, asio::ip::tcp::endpoint> peers;
    configuration initial;
    for (size_t i = 1; i <= nodes; ++i) {
        const node_id id(static_cast<int32_t>(i));
        peers[id] = asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), free_loopback_port());
        initial.voters.push_back(id);
    }
    for (const auto& [id, endpoint] : peers) {
        node_config c;
        c.id = id;
        c.peers = peers;
        c.data_dir = base_dir + "/node-" + std::to_string(id.value());
        c.initial_configuration = initial;
        if (tweak != nullptr) {
            tweak(c);
        }
        configs_[id] = c;
        nodes_[id] = nullptr;
    }
}

local_cluster::~local_cluster() {
    for (auto& [id, n] : nodes_) {
        if (n) {
            n->stop();
        }
    }
}

std::vector<node_id> local_cluster::ids() const {
    std::vector<node_id> out;
    for (const auto& [id, c] : configs_) {
        out.push_back(id);
    }
    return out;
}

result<void> local_cluster::start(node_id id) {
    raft_assert(!nodes_.at(id), "node {} is running", id.value());
    auto app = std::make_shared<recording_state_machine>(count_only_);
    auto n = std::make_unique<raft_node>(configs_.at(id), app);
    RAFT_TRY(n->start());
    apps_[id] = std::move(app);
    nodes_[id] = std::move(n);
    return {};
}

void local_cluster::stop(node_id id) {
    if (nodes_.at(id)) {
        nodes_.at(id)->stop();
        nodes_.at(id).reset();
    }
}

std::optional<node_id> local_cluster::wait_for_leader(std::chrono::milliseconds wait_max, node_id not_this) {
    const auto deadline = std::chrono::steady_clock::now() + wait_max;
    while (std::chrono::steady_clock::now() < deadline) {
        std::optional<node_id> leader;
        raft_term best;
        for (auto& [id, n] : nodes_) {
            if (!n) {
                continue;
            }
            const node_status s = n->status();
            if (s.raft.role == role::leader && id != not_this && (!leader || s.raft.term > best)) {
                leader = id;
                best = s.raft.term;
            }
        }
        if (leader) {
            return leader;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
}

propose_outcome local_cluster::propose(node_id id, std::string_view payload) {
    raft_node& n = node(id);
    auto future = asio::co_spawn(n.executor(), n.propose(proto::bytes(payload.begin(), payload.end())),
                                 asio::use_future);
    return future.get();
}

} // namespace runnel::raft::node
