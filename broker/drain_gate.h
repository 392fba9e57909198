// What a stopping broker needs in order to finish what it has started
// (server::stop, docs/ARCHITECTURE.md "Shutdown"): the number of requests
// being handled, over every shard, and each shard's open connections, so
// that idle ones close at once while busy ones first answer the request in
// hand. Once draining, a connection reads no new request.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <unordered_set>
#include <vector>

namespace runnel::broker {

class connection;

class drain_gate {
public:
    explicit drain_gate(size_t shards) : connections_(shards) {}
    drain_gate(const drain_gate&) = delete;
    drain_gate& operator=(const drain_gate&) = delete;

    // Any thread.
    bool draining() const { return draining_.load(std::memory_order_acquire); }
    void start_draining() { draining_.store(true, std::memory_order_release); }
    int64_t in_flight() const { return in_flight_.load(std::memory_order_acquire); }

    // A request is being handled from enter() until leave() (its answer
    // written or the connection given up). Any thread.
    void enter() { in_flight_.fetch_add(1, std::memory_order_acq_rel); }
    void leave() { in_flight_.fetch_sub(1, std::memory_order_acq_rel); }

    // On the connection's shard only.
    void add(size_t shard, connection* c) { connections_.at(shard).insert(c); }
    void remove(size_t shard, connection* c) { connections_.at(shard).erase(c); }
    // On `shard`: closes each connection there that is not handling a
    // request (reading, waiting for memory, or idle); the others close once
    // their answer is written. Returns how many were closed.
    size_t close_idle(size_t shard);

private:
    std::atomic<bool> draining_{false};
    std::atomic<int64_t> in_flight_{0};
    std::vector<std::unordered_set<connection*>> connections_; // per shard, touched only there
};

} // namespace runnel::broker
