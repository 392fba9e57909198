// The network server: a fixed set of shards (one io_context and one thread
// each), listeners that accept on shard 0 and hand each connection to the next
// shard in turn, and orderly shutdown on SIGINT/SIGTERM.
#pragma once

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
    void stop();

private:
    asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor);

    server_options options_;
    broker_state& broker_;
    shard_set& shards_;
    std::vector<asio::ip::tcp::acceptor> acceptors_;
    asio::signal_set signals_;
    size_t next_shard_ = 0;
};

} // namespace runnel::broker
