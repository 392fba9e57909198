// Shards, listeners and shutdown.
#include "broker/server.h"

#include <stdexcept>
#include <utility>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace runnel::broker {

namespace {
constexpr int64_t refusals_logged_per_second_max = 10;
// After accept fails for lack of descriptors (EMFILE, ENFILE) or memory, the
// listener pauses this long instead of spinning on the same error.
constexpr auto accept_backoff = std::chrono::milliseconds(100);
// How often a draining server looks whether requests are still in hand.
constexpr auto drain_poll = std::chrono::milliseconds(2);

bool out_of_resources(const std::error_code& ec) {
    return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space || ec == asio::error::no_memory ||
           ec == std::errc::too_many_files_open_in_system;
}
} // namespace

server::server(server_options options, broker_state& broker, shard_set& shards)
    : options_(std::move(options)), broker_(broker), shards_(shards), signals_(shards.context(0)),
      quotas_(connection_quotas::create(options_.max_connections, options_.max_connections_per_ip)),
      request_memory_(request_memory_pool::create(options_.request_memory_bytes)),
      request_slots_(request_memory_pool::create(options_.max_queued_requests)) {
    if (broker_.drain == nullptr) {
        throw std::logic_error("server: broker_state.drain is not set");
    }
    // Registered now, before the listeners accept: a SIGTERM that arrives
    // during startup is queued and handled once run() waits for it, instead
    // of killing the process with the default action.
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
}

server::~server() = default;

void server::bind() {
    for (const auto& l : options_.listeners) {
        asio::ip::tcp::endpoint endpoint;
        std::error_code ec;
        if (l.host.empty()) {
            endpoint = asio::ip::tcp::endpoint(asio::ip::tcp::v6(), l.port);
        } else {
            auto address = asio::ip::make_address(l.host, ec);
            if (ec) {
                asio::ip::tcp::resolver resolver(shards_.context(0));
                auto results = resolver.resolve(l.host, std::to_string(l.port), ec);
                if (ec || results.empty()) {
                    throw std::runtime_error(fmt::format("listener {}: cannot resolve host \"{}\": {}", l.name, l.host,
                                                         ec ? ec.message() : "no address"));
                }
                endpoint = *results.begin();
            } else {
                endpoint = asio::ip::tcp::endpoint(address, l.port);
            }
        }
        asio::ip::tcp::acceptor acceptor(shards_.context(0));
        acceptor.open(endpoint.protocol(), ec);
        if (!ec) {
            acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
            if (endpoint.protocol() == asio::ip::tcp::v6() && l.host.empty()) {
                acceptor.set_option(asio::ip::v6_only(false), ec);
            }
            acceptor.bind(endpoint, ec);
        }
        if (!ec) {
            acceptor.listen(asio::socket_base::max_listen_connections, ec);
        }
        if (ec) {
            throw std::runtime_error(fmt::format("listener {}: cannot listen on {}:{}: {}", l.name,
                                                 l.host.empty() ? "*" : l.host, l.port, ec.message()));
        }
        acceptors_.push_back(std::move(acceptor));
    }
}

uint16_t server::bound_port(size_t listener_index) const {
    return acceptors_.at(listener_index).local_endpoint().port();
}

asio::awaitable<void> server::accept_loop(asio::ip::tcp::acceptor& acceptor) {
    asio::steady_timer backoff(shards_.context(0));
    for (;;) {
        const size_t shard = next_shard_;
        asio::io_context& target = shards_.context(shard);
        next_shard_ = (next_shard_ + 1) % shards_.size();
        auto [ec, socket] = co_await acceptor.async_accept(target, asio::experimental::as_tuple(asio::use_awaitable));
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
                co_return;
            }
            log_refusal(fmt::format("accept failed: {}", ec.message()));
            if (out_of_resources(ec)) {
                backoff.expires_after(accept_backoff);
                (void)co_await backoff.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
            }
            continue;
        }
        std::error_code peer_ec;
        const auto peer = socket.remote_endpoint(peer_ec);
        if (peer_ec) {
            continue; // gone already
        }
        const std::string address = peer.address().to_string();
        connection_quotas::slot slot;
        if (auto refused = quotas_->try_admit(address, slot); refused != connection_quotas::refusal::none) {
            // Kafka closes a connection over max.connections.per.ip at once;
            // over max.connections its acceptor stops accepting. Here both are
            // closed at once, so a client learns of it instead of hanging.
            const int32_t limit = refused == connection_quotas::refusal::max_connections ? quotas_->max_connections()
                                                                                          : quotas_->max_connections_per_ip();
            log_refusal(fmt::format("refusing connection from {}:{}: {} ({}) reached", address, peer.port(),
                                    to_string(refused), limit));
            std::error_code close_ec;
            socket.close(close_ec);
            continue;
        }
        auto conn = std::make_shared<connection>(std::move(socket), broker_, options_.limits, request_memory_,
                                                 request_slots_, std::move(slot), *broker_.drain, shard);
        asio::co_spawn(target, [conn]() -> asio::awaitable<void> { co_await conn->run(); }, asio::detached);
    }
}

void server::log_refusal(const std::string& what) {
    const auto now = std::chrono::steady_clock::now();
    if (now - refusal_window_start_ >= std::chrono::seconds(1)) {
        if (refusals_suppressed_ > 0) {
            spdlog::warn("{} more refused or failed connections were not logged", refusals_suppressed_);
        }
        refusal_window_start_ = now;
        refusals_in_window_ = 0;
        refusals_suppressed_ = 0;
    }
    if (refusals_in_window_++ < refusals_logged_per_second_max) {
        spdlog::warn("{}", what);
    } else {
        ++refusals_suppressed_;
    }
}

void server::run() {
    signals_.async_wait([this](const std::error_code& ec, int signal) {
        if (!ec) {
            spdlog::info("received signal {}, shutting down", signal);
            stop();
        }
    });
    for (auto& acceptor : acceptors_) {
        asio::co_spawn(shards_.context(0), accept_loop(acceptor), asio::detached);
    }
    shards_.run();
}

void server::stop() {
    asio::post(shards_.context(0), [this] {
        if (std::exchange(stopping_, true)) {
            return;
        }
        for (auto& a : acceptors_) {
            std::error_code ec;
            a.close(ec);
        }
        std::error_code ec;
        signals_.cancel(ec);
        asio::co_spawn(shards_.context(0), drain(), [this](std::exception_ptr) { shards_.stop(); });
    });
}

asio::awaitable<void> server::drain() {
    drain_gate& gate = *broker_.drain;
    const auto started = std::chrono::steady_clock::now();
    gate.start_draining();
    for (const auto& wake : options_.on_drain) {
        wake();
    }
    for (size_t shard = 0; shard < shards_.size(); ++shard) {
        asio::post(shards_.context(shard), [&gate, shard] { gate.close_idle(shard); });
    }
    const int64_t in_hand = gate.in_flight();
    asio::steady_timer timer(shards_.context(0));
    const auto deadline = started + std::chrono::milliseconds(options_.drain_ms);
    // Polled: requests end on every shard, and a few milliseconds of
    // latency here are nothing next to the flush that follows.
    while (gate.in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
        timer.expires_after(drain_poll);
        (void)co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    if (const int64_t left = gate.in_flight(); left > 0) {
        spdlog::warn("shutdown: {} request(s) still in hand after {:.0f} ms (drain bound {} ms); stopping without "
                     "their answers", left, ms, options_.drain_ms);
    } else {
        spdlog::info("shutdown: listeners closed, {} request(s) in hand finished in {:.1f} ms", in_hand, ms);
    }
}

} // namespace runnel::broker
