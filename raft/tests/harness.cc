// The in-process test cluster (see harness.h).
#include "raft/tests/harness.h"

#include <algorithm>

#include "raft/assert.h"

namespace runnel::raft::testing {

options test_options(const std::vector<node_id>& voters, bool pre_vote, bool check_quorum) {
    options o;
    o.initial_configuration.voters = voters;
    std::sort(o.initial_configuration.voters.begin(), o.initial_configuration.voters.end());
    o.election_ticks = 10;
    o.heartbeat_ticks = 1;
    o.pre_vote = pre_vote;
    o.check_quorum = check_quorum;
    return o;
}

std::vector<node_id> ids(std::initializer_list<int32_t> values) {
    std::vector<node_id> out;
    for (int32_t v : values) {
        out.push_back(node_id(v));
    }
    return out;
}

proto::bytes payload(std::string_view text) { return proto::bytes(text.begin(), text.end()); }

void harness::add(const std::vector<node_id>& ids, const options& base) {
    for (node_id id : ids) {
        harness_node& n = nodes_[id];
        n.opts = base;
        n.opts.id = id;
        n.opts.random_seed = base.random_seed + static_cast<uint64_t>(id.value());
        n.raft = std::make_unique<consensus>(n.opts, recovered_state{});
    }
}

harness_node& harness::node(node_id id) {
    auto it = nodes_.find(id);
    raft_assert(it != nodes_.end(), "no node {}", id.value());
    return it->second;
}

consensus& harness::raft(node_id id) {
    harness_node& n = node(id);
    raft_assert(n.raft != nullptr, "node {} is down", id.value());
    return *n.raft;
}

std::vector<node_id> harness::ids() const {
    std::vector<node_id> out;
    for (const auto& [id, n] : nodes_) {
        out.push_back(id);
    }
    return out;
}

std::optional<std::pair<ready, output>> harness::process_ready(node_id id) {
    harness_node& n = node(id);
    if (!n.raft || !n.raft->has_ready()) {
        return std::nullopt;
    }
    ready rd = n.raft->ready();
    auto persisted = persist(n.store, rd);
    raft_assert(persisted.ok(), "harness store failed: {}", persisted.ok() ? "" : persisted.err().message);
    ready copy = rd;
    output out = n.raft->advance(std::move(rd));
    for (const message& m : out.messages) {
        if (!cut_.contains({m.from, m.to}) && nodes_.contains(m.to)) {
            mailbox_[m.to].push_back(m);
        }
    }
    apply(n, out);
    return std::make_pair(std::move(copy), std::move(out));
}

void harness::apply(harness_node& n, const output& out) {
    if (out.snapshot) {
        n.applied.clear();
        n.loaded = out.snapshot->metadata;
    }
    for (const entry& e : out.committed_entries) {
        n.applied.push_back(e);
    }
    for (const read_state& r : out.read_states) {
        n.reads.push_back(r);
    }
}

std::vector<message> harness::deliver(node_id id) {
    std::vector<message> batch;
    batch.swap(mailbox_[id]);
    harness_node& n = node(id);
    if (!n.raft) {
        return batch; // a crashed node loses what was sent to it
    }
    for (const message& m : batch) {
        n.raft->step(m);
    }
    return batch;
}

bool harness::stabilize(size_t rounds_max) {
    for (size_t round = 0; round < rounds_max; ++round) {
        bool busy = false;
        for (auto& [id, n] : nodes_) {
            while (process_ready(id)) {
                busy = true;
            }
        }
        for (auto& [id, n] : nodes_) {
            if (!mailbox_[id].empty()) {
                busy = true;
                deliver(id);
            }
        }
        if (!busy) {
            return true;
        }
    }
    return false;
}

void harness::tick(node_id id, int n) {
    for (int i = 0; i < n; ++i) {
        raft(id).tick();
    }
}

void harness::tick_election(node_id id) {
    consensus& r = raft(id);
    const raft_term before = r.term();
    const role role_before = r.role();
    for (int i = 0; i < 2 * r.opts().election_ticks && r.term() == before && r.role() == role_before; ++i) {
        r.tick();
    }
}

void harness::elect(node_id id) {
    raft(id).campaign();
    stabilize();
}

void harness::isolate(node_id id) {
    for (const auto& [other, n] : nodes_) {
        if (other != id) {
            cut(id, other);
            cut(other, id);
        }
    }
}

void harness::crash(node_id id) {
    harness_node& n = node(id);
    n.raft.reset();
    n.store.crash(crash_random_);
    n.applied.clear();
    n.loaded.reset();
    n.reads.clear();
    mailbox_[id].clear();
}

void harness::restart(node_id id) {
    harness_node& n = node(id);
    raft_assert(!n.raft, "node {} is running", id.value());
    auto recovered = n.store.load();
    raft_assert(recovered.ok(), "load failed");
    if (recovered.value().snapshot) {
        n.loaded = recovered.value().snapshot->metadata;
    }
    n.raft = std::make_unique<consensus>(n.opts, std::move(recovered).value());
}

std::optional<node_id> harness::leader() const {
    std::optional<node_id> found;
    raft_term best;
    for (const auto& [id, n] : nodes_) {
        if (!n.raft || !n.raft->is_leader()) {
            continue;
        }
        if (!found || n.raft->term() > best) {
            found = id;
            best = n.raft->term();
        }
    }
    return found;
}

} // namespace runnel::raft::testing
