// The network server: a fixed set of shards (one io_context and one thread
// each), listeners that accept on shard 0 and hand each connection to the next
// shard in turn, and orderly shutdown on SIGINT/SIGTERM: stop accepting, close
// idle connections, let the requests in hand finish (bounded by
// options.drain_ms), then stop the shards.
#pragma once

#include <chrono>
#include <functional>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/ip/v6_only.hpp>

#include "broker/connection.h"
#include "broker/request_context.h"
#include "broker/shards.h"

namespace runnel::broker {

struct listener_address {
    std::string name; // PLAINTEXT, ...
    std::string host; // empty: every interface
    uint16_t port = 0;
};

struct server_options {
    std::vector<listener_address> listeners;
    connection_limits limits;
    int32_t max_connections = 2147483647;        // max.connections
    int32_t max_connections_per_ip = 2147483647; // max.connections.per.ip
    int64_t request_memory_bytes = -1;           // queued.max.request.bytes; <= 0: no limit
    int32_t max_queued_requests = 500;           // queued.max.requests
    // How long stop() lets requests in hand finish before the shards stop.
    int64_t drain_ms = 30000;
    // Run on shard 0 when draining starts: wakes what waits for an event
    // (long-polling Fetches, JoinGroups), so that it answers now.
    std::vector<std::function<void()>> on_drain;
};

class server {
public:
    server(server_options options, broker_state& broker, shard_set& shards);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds every listener; throws std::runtime_error naming the listener
    // that could not be bound.
    void bind();
    // The port a listener is bound to (useful with port 0).
    uint16_t bound_port(size_t listener_index) const;
    // Starts accepting and runs the shards until SIGINT/SIGTERM or stop();
    // returns when all have stopped.
    void run();
    // Drains, then stops the shards (see the top of this file); from any thread.
    void stop();

    // The broker's connection counts (for tests and metrics).
    const connection_quotas& quotas() const { return *quotas_; }

private:
    asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor);
    // On shard 0: waits until no request is in hand or drain_ms passed.
    asio::awaitable<void> drain();
    // Logs a refused connection, at most refusals_logged_per_second_max
    // lines a second: a client opening connections in a loop must not fill
    // the log (the suppressed ones are counted in the next line).
    void log_refusal(const std::string& what);

    server_options options_;
    broker_state& broker_;
    shard_set& shards_;
    std::vector<asio::ip::tcp::acceptor> acceptors_;
    asio::signal_set signals_;
    size_t next_shard_ = 0;
    std::shared_ptr<connection_quotas> quotas_;
    std::shared_ptr<request_memory_pool> request_memory_;
    std::shared_ptr<request_memory_pool> request_slots_; // queued.max.requests, a unit per request
    bool stopping_ = false; // on shard 0
    // log_refusal's window (touched only by the accept loops, on shard 0).
    std::chrono::steady_clock::time_point refusal_window_start_;
    int64_t refusals_in_window_ = 0;
    int64_t refusals_suppressed_ = 0;
};

} // namespace runnel::broker
