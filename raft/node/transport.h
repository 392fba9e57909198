// Raft messages between nodes over TCP. Each node dials every peer it sends
// to and keeps that connection; it accepts connections from any peer and
// reads messages from them. A frame is a 4-byte big-endian length and the
// message encoded by codec.h. Raft tolerates lost messages, so a full send
// queue or a broken connection drops messages instead of blocking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>

#include <asio.hpp>

#include "raft/message.h"
#include "raft/node/asio_util.h"
#include "raft/result.h"

namespace runnel::raft::node {

struct transport_limits {
    size_t frame_bytes_max = 64u << 20;      // one message on the wire
    size_t queue_bytes_max = 64u << 20;      // waiting to be sent to one peer
    size_t write_bytes_max = 1u << 20;       // frames gathered into one write
    int64_t reconnect_delay_ms_min = 20;
    int64_t reconnect_delay_ms_max = 1000;
};

struct transport_stats {
    uint64_t messages_sent = 0;
    uint64_t messages_received = 0;
    uint64_t messages_dropped = 0; // queue full, unknown peer or broken connection
    uint64_t frames_rejected = 0;  // too large or undecodable: the connection is closed
};

class transport {
public:
    using handler = std::function<void(message)>;

    // Runs on `executor` (one thread); every call must come from it.
    transport(asio::any_io_executor executor, node_id self, std::map<node_id, asio::ip::tcp::endpoint> peers,
              handler on_message, transport_limits limits = {});
    ~transport();

    // Binds and listens; the endpoint's port may be 0 (see local_endpoint).
    result<void> listen(const asio::ip::tcp::endpoint& endpoint);
    asio::ip::tcp::endpoint local_endpoint() const;
    void send(const message& m);
    // Closes every socket; the coroutines then finish on their own.
    void stop();
    const transport_stats& stats() const { return stats_; }

private:
    struct peer {
        node_id id;
        asio::ip::tcp::endpoint endpoint;
        std::deque<proto::bytes> queue;
        size_t queued_bytes = 0;
        std::unique_ptr<asio::ip::tcp::socket> socket;
        std::unique_ptr<asio::steady_timer> wake;
        bool writer_running = false;
    };

    asio::awaitable<void> accept_loop();
    asio::awaitable<void> read_loop(std::shared_ptr<asio::ip::tcp::socket> socket);
    asio::awaitable<void> write_loop(std::shared_ptr<peer> p);

    asio::any_io_executor executor_;
    node_id self_;
    handler on_message_;
    transport_limits limits_;
    asio::ip::tcp::acceptor acceptor_;
    std::map<node_id, std::shared_ptr<peer>> peers_;
    std::vector<std::weak_ptr<asio::ip::tcp::socket>> inbound_;
    std::shared_ptr<bool> stopped_ = std::make_shared<bool>(false);
    transport_stats stats_;
};

} // namespace runnel::raft::node
