// TCP transport for Raft messages (see transport.h).
#include "raft/node/transport.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "raft/codec.h"

namespace runnel::raft::node {

namespace {

constexpr size_t frame_header_bytes = 4;

proto::bytes frame(const message& m) {
    proto::writer w;
    const size_t at = w.reserve_int32();
    encode(w, m);
    w.patch_int32(at, static_cast<int32_t>(w.size() - frame_header_bytes));
    return w.release();
}

} // namespace

transport::transport(asio::any_io_executor executor, node_id self, std::map<node_id, asio::ip::tcp::endpoint> peers,
                     handler on_message, transport_limits limits)
    : executor_(executor), self_(self), on_message_(std::move(on_message)), limits_(limits), acceptor_(executor) {
    for (const auto& [id, endpoint] : peers) {
        if (id == self_) {
            continue;
        }
        auto p = std::make_shared<peer>();
        p->id = id;
        p->endpoint = endpoint;
        p->wake = std::make_unique<asio::steady_timer>(executor_);
        peers_.emplace(id, std::move(p));
    }
}

transport::~transport() { stop(); }

result<void> transport::listen(const asio::ip::tcp::endpoint& endpoint) {
    asio::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) {
        acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        acceptor_.bind(endpoint, ec);
    }
    if (!ec) {
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        return error{fmt::format("listen on {}:{}: {}", endpoint.address().to_string(), endpoint.port(), ec.message())};
    }
    asio::co_spawn(executor_, accept_loop(), asio::detached);
    return {};
}

asio::ip::tcp::endpoint transport::local_endpoint() const {
    asio::error_code ec;
    return acceptor_.local_endpoint(ec);
}

void transport::send(const message& m) {
    auto it = peers_.find(m.to);
    if (*stopped_ || it == peers_.end()) {
        ++stats_.messages_dropped;
        return;
    }
    peer& p = *it->second;
    proto::bytes f = frame(m);
    if (f.size() > limits_.frame_bytes_max || p.queued_bytes + f.size() > limits_.queue_bytes_max) {
        ++stats_.messages_dropped;
        return;
    }
    p.queued_bytes += f.size();
    p.queue.push_back(std::move(f));
    if (!p.writer_running) {
        p.writer_running = true;
        asio::co_spawn(executor_, write_loop(it->second), asio::detached);
    } else {
        p.wake->cancel();
    }
}

void transport::stop() {
    if (*stopped_) {
        return;
    }
    *stopped_ = true;
    asio::error_code ignored;
    acceptor_.close(ignored);
    for (auto& [id, p] : peers_) {
        p->wake->cancel();
        if (p->socket) {
            p->socket->close(ignored);
        }
    }
    for (auto& weak : inbound_) {
        if (auto s = weak.lock()) {
            s->close(ignored);
        }
    }
}

asio::awaitable<void> transport::accept_loop() {
    auto stopped = stopped_;
    while (!*stopped) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
        if (ec || *stopped) {
            co_return;
        }
        auto shared = std::make_shared<asio::ip::tcp::socket>(std::move(socket));
        std::erase_if(inbound_, [](const auto& w) { return w.expired(); });
        inbound_.push_back(shared);
        asio::co_spawn(executor_, read_loop(shared), asio::detached);
    }
}

asio::awaitable<void> transport::read_loop(std::shared_ptr<asio::ip::tcp::socket> socket) {
    auto stopped = stopped_;
    std::array<uint8_t, frame_header_bytes> header{};
    proto::bytes body;
    while (!*stopped) {
        auto [ec, n] = co_await asio::async_read(*socket, asio::buffer(header), use_tuple);
        if (ec || *stopped) {
            break;
        }
        proto::reader r(header);
        const int32_t length = r.read_int32();
        if (length <= 0 || static_cast<size_t>(length) > limits_.frame_bytes_max) {
            ++stats_.frames_rejected;
            break;
        }
        body.resize(static_cast<size_t>(length));
        auto [ec2, n2] = co_await asio::async_read(*socket, asio::buffer(body), use_tuple);
        if (ec2 || *stopped) {
            break;
        }
        auto m = decode_message(body);
        if (!m || m->to != self_) {
            ++stats_.frames_rejected;
            break; // a peer that sends garbage is cut off; it will reconnect
        }
        ++stats_.messages_received;
        on_message_(std::move(*m));
    }
    asio::error_code ignored;
    socket->close(ignored);
}

asio::awaitable<void> transport::write_loop(std::shared_ptr<peer> p) {
    auto stopped = stopped_;
    int64_t delay_ms = limits_.reconnect_delay_ms_min;
    std::vector<uint8_t> batch;
    while (!*stopped) {
        if (p->queue.empty()) {
            p->wake->expires_at(asio::steady_timer::time_point::max());
            co_await p->wake->async_wait(use_tuple);
            continue;
        }
        if (!p->socket) {
            auto socket = std::make_unique<asio::ip::tcp::socket>(executor_);
            auto [ec] = co_await socket->async_connect(p->endpoint, use_tuple);
            if (*stopped) {
                break;
            }
            if (ec) {
                // The peer is down: what was queued for it is stale by the
                // time it is back, and Raft resends what matters.
                stats_.messages_dropped += p->queue.size();
                p->queue.clear();
                p->queued_bytes = 0;
                p->wake->expires_after(std::chrono::milliseconds(delay_ms));
                co_await p->wake->async_wait(use_tuple);
                delay_ms = std::min(delay_ms * 2, limits_.reconnect_delay_ms_max);
                continue;
            }
            socket->set_option(asio::ip::tcp::no_delay(true));
            p->socket = std::move(socket);
            delay_ms = limits_.reconnect_delay_ms_min;
        }
        batch.clear();
        size_t frames = 0;
        while (!p->queue.empty() && (batch.empty() || batch.size() + p->queue.front().size() <= limits_.write_bytes_max)) {
            proto::bytes& f = p->queue.front();
            batch.insert(batch.end(), f.begin(), f.end());
            p->queued_bytes -= f.size();
            p->queue.pop_front();
            ++frames;
        }
        auto [ec, n] = co_await asio::async_write(*p->socket, asio::buffer(batch), use_tuple);
        if (ec) {
            stats_.messages_dropped += frames;
            asio::error_code ignored;
            p->socket->close(ignored);
            p->socket.reset();
            continue;
        }
        stats_.messages_sent += frames;
    }
    p->writer_running = false;
}

} // namespace runnel::raft::node
