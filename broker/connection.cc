// The per-connection request loop.
#include "broker/connection.h"

#include <cassert>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <spdlog/spdlog.h>

#include "broker/dispatch.h"
#include "broker/handlers/handlers.h"
#include "protocol/errors.h"
#include "protocol/messages/api_table.h"

namespace runnel::broker {

namespace {
constexpr size_t frame_prefix_bytes = 4;
constexpr size_t receive_chunk_bytes = 64 * 1024;
// api key (2) + api version (2) + correlation id (4): the part of every
// request header that all header versions share.
constexpr size_t header_fixed_bytes = 8;
// sendfile(2) moves at most this much per call; a fallback copy (a file
// system without descriptors, as in tests) reads this much at a time.
constexpr size_t sendfile_chunk_bytes = 1 << 30;
constexpr size_t copy_chunk_bytes = 256 * 1024;
// A Fetch answer up to this size is read into one buffer and written with
// one call: for a consumer at the log end (a record or two per answer) that
// is a pread and a write, where sendfile takes a cork, the bytes before the
// records, the sendfile, the bytes after and the uncork, each a system call.
// Larger answers go by sendfile, whose saving (no copy through user space)
// grows with their size.
constexpr uint64_t copied_answer_bytes_max = 64 * 1024;

int32_t read_be32(const uint8_t* p) {
    return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3]);
}
int16_t read_be16(const uint8_t* p) {
    return static_cast<int16_t>((uint16_t{p[0]} << 8) | p[1]);
}
} // namespace

connection::connection(asio::ip::tcp::socket socket, broker_state& broker, connection_limits limits,
                       std::shared_ptr<request_memory_pool> memory, std::shared_ptr<request_memory_pool> request_slots,
                       connection_quotas::slot slot, drain_gate& gate, size_t shard)
    : socket_(std::move(socket)), broker_(broker), limits_(limits), memory_(std::move(memory)),
      request_slots_(std::move(request_slots)), slot_(std::move(slot)), gate_(gate), shard_(shard),
      idle_timer_(socket_.get_executor()),
      memory_timer_(std::make_shared<asio::steady_timer>(socket_.get_executor())) {
    assert(memory_ != nullptr && request_slots_ != nullptr);
    std::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    peer_ = ec ? std::string("unknown") : ep.address().to_string() + ":" + std::to_string(ep.port());
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

void connection::close() {
    closed_ = true;
    idle_timer_.cancel();
    memory_timer_->cancel();
    std::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
}

bool connection::reject(std::string_view reason) {
    spdlog::warn("closing connection from {}: {}", peer_, reason);
    return false;
}

asio::awaitable<bool> connection::make_room(size_t n) {
    if (end_ < capacity_) {
        co_return true; // room to read into
    }
    const size_t unread = end_ - begin_;
    if (capacity_ >= n) {
        // The frame fits once the bytes before it are dropped.
        std::memmove(buffer_.get(), buffer_.get() + begin_, unread);
        begin_ = 0;
        end_ = unread;
        co_return true;
    }
    if (capacity_ == 0) {
        buffer_ = std::make_unique_for_overwrite<uint8_t[]>(receive_chunk_bytes);
        capacity_ = receive_chunk_bytes;
        co_return true;
    }
    // The frame outgrew the receive buffer, which holds nothing but its first
    // bytes: it gets a buffer of exactly its size, so no byte of the next
    // frame is ever read into it, and the buffer goes (with its memory) as
    // soon as the frame is handled.
    assert(capacity_ == receive_chunk_bytes && memory_held_.size() == 0 && n > capacity_);
    if (!co_await reserve(*memory_, n - receive_chunk_bytes, memory_held_, "request memory (queued.max.request.bytes)")) {
        co_return false;
    }
    auto bigger = std::make_unique_for_overwrite<uint8_t[]>(n);
    std::memcpy(bigger.get(), buffer_.get() + begin_, unread);
    buffer_ = std::move(bigger);
    capacity_ = n;
    begin_ = 0;
    end_ = unread;
    co_return true;
}

void connection::drop_large_buffer() {
    if (capacity_ > receive_chunk_bytes) {
        assert(begin_ == end_);
        buffer_.reset();
        capacity_ = 0;
        begin_ = end_ = 0;
    }
    memory_held_.release();
}

asio::awaitable<bool> connection::fill(size_t n) {
    while (end_ - begin_ < n) {
        if (!co_await make_room(n)) {
            co_return false;
        }
        auto [ec, got] = co_await socket_.async_read_some(asio::buffer(buffer_.get() + end_, capacity_ - end_),
                                                          asio::experimental::as_tuple(asio::use_awaitable));
        if (ec) {
            if (closed_) {
                co_return false; // closed here, and already logged
            }
            if (ec != asio::error::eof && ec != asio::error::operation_aborted) {
                spdlog::debug("connection from {}: read failed: {}", peer_, ec.message());
            }
            if (end_ != begin_) {
                reject(fmt::format("truncated frame: peer closed with {} of {} bytes received", end_ - begin_, n));
            }
            co_return false;
        }
        end_ += got;
        last_activity_ = clock::now();
    }
    co_return true;
}

asio::awaitable<bool> connection::reserve(request_memory_pool& pool, size_t n, request_memory_pool::reservation& out,
                                          std::string_view what) {
    // Waiting for the broker's resources is the broker's doing, not idleness.
    busy_ = true;
    bool logged = false;
    // Bounded by the connection's life: close() cancels the wait.
    while (!closed_ && !pool.try_reserve(n, out)) {
        if (!logged) {
            spdlog::debug("connection from {}: {} spent ({}): waiting for {}", peer_, what, pool.capacity(), n);
            logged = true;
        }
        co_await pool.wait(memory_timer_);
    }
    busy_ = false;
    last_activity_ = clock::now();
    co_return !closed_;
}

asio::awaitable<void> connection::watch_idle() {
    const auto idle = std::chrono::milliseconds(limits_.idle_ms);
    // Each pass sleeps until the current deadline; traffic moves the deadline.
    while (!closed_) {
        idle_timer_.expires_at(last_activity_ + idle);
        (void)co_await idle_timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        if (closed_) {
            break;
        }
        if (busy_) {
            last_activity_ = clock::now(); // a request in progress is traffic
            continue;
        }
        if (clock::now() - last_activity_ < idle) {
            continue;
        }
        if (end_ != begin_) {
            reject(fmt::format("idle for {} ms (connections.max.idle.ms) with a partial frame of {} bytes",
                               limits_.idle_ms, end_ - begin_));
        } else {
            spdlog::debug("closing connection from {}: idle for {} ms (connections.max.idle.ms)", peer_, limits_.idle_ms);
        }
        close();
    }
}

asio::awaitable<void> connection::run() {
    gate_.add(shard_, this);
    last_activity_ = clock::now();
    if (limits_.idle_ms >= 0) {
        asio::co_spawn(socket_.get_executor(), [self = shared_from_this()] { return self->watch_idle(); },
                       asio::detached);
    }
    while (!closed_ && !gate_.draining()) {
        if (!co_await fill(frame_prefix_bytes)) {
            break;
        }
        const int32_t size = read_be32(buffer_.get() + begin_);
        if (size < 0 || size > limits_.request_bytes_max) {
            reject(fmt::format("frame size {} outside 0..{} (socket.request.max.bytes)", size, limits_.request_bytes_max));
            break;
        }
        const size_t frame_bytes = frame_prefix_bytes + static_cast<size_t>(size);
        if (!co_await fill(frame_bytes)) {
            break;
        }
        if (!co_await reserve(*request_slots_, 1, slot_held_, "request slots (queued.max.requests)") ||
            gate_.draining()) {
            break; // closed meanwhile, or the broker stops: the request is not handled
        }
        proto::bytes_view frame(buffer_.get() + begin_ + frame_prefix_bytes, static_cast<size_t>(size));
        busy_ = true;
        in_request_ = true;
        gate_.enter();
        const bool keep = co_await handle_frame(frame);
        gate_.leave();
        in_request_ = false;
        busy_ = false;
        slot_held_.release();
        last_activity_ = clock::now();
        begin_ += frame_bytes;
        if (begin_ == end_) {
            begin_ = end_ = 0;
            drop_large_buffer();
        }
        if (!keep) {
            break;
        }
    }
    close();
    buffer_.reset();
    capacity_ = 0;
    memory_held_.release();
    slot_held_.release();
    gate_.remove(shard_, this);
}

asio::awaitable<bool> connection::handle_frame(proto::bytes_view frame) {
    if (frame.size() < header_fixed_bytes) {
        co_return reject(fmt::format("request header truncated: frame of {} bytes", frame.size()));
    }
    request_context ctx;
    ctx.api_key = read_be16(frame.data());
    ctx.api_version = read_be16(frame.data() + 2);
    ctx.correlation_id = read_be32(frame.data() + 4);
    ctx.broker = &broker_;
    ctx.client_address = peer_;
    ctx.queue_slot = &slot_held_;

    const dispatch_table& table = *broker_.dispatch;
    const auto api_versions_key = static_cast<int16_t>(proto::api_key::api_versions);
    if (ctx.api_key == api_versions_key && !table.supports(ctx.api_key, ctx.api_version)) {
        // KIP-511: a client newer than us learns our ranges from a v0 answer.
        co_return co_await answer_unsupported_api_versions(ctx.correlation_id);
    }
    const dispatch_table::entry* entry = table.find(ctx.api_key);
    if (entry == nullptr) {
        co_return reject(fmt::format("unknown api key {}", ctx.api_key));
    }
    if (!table.supports(ctx.api_key, ctx.api_version)) {
        co_return reject(fmt::format("{} v{} is not supported (versions {}..{})", proto::find_api(ctx.api_key)->name,
                                     ctx.api_version, entry->min_version, entry->max_version));
    }
    proto::decode_budget budget{limits_.request_decoded_bytes_max};
    proto::reader r(frame, &budget);
    proto::request_header header;
    const int16_t header_version = proto::request_header_version(ctx.api_key, ctx.api_version);
    header.decode(r, header_version);
    if (!r.ok()) {
        co_return reject(fmt::format("malformed request header v{}: {}", header_version, to_string(r.error())));
    }
    ctx.client_id = std::move(header.client_id);

    bool decode_failed = false;
    handler_result body = co_await entry->fn(ctx, r, decode_failed);
    if (decode_failed) {
        co_return reject(fmt::format("malformed {} v{} request: {} at byte {}", proto::find_api(ctx.api_key)->name,
                                     ctx.api_version, to_string(r.error()), r.position()));
    }
    if (!body) {
        if (ctx.close_connection) {
            co_return reject(fmt::format("{} v{} failed and gets no response: closing so that the client notices",
                                         proto::find_api(ctx.api_key)->name, ctx.api_version));
        }
        co_return true; // no response expected
    }
    const bool sent =
        co_await send(ctx.correlation_id, proto::response_header_version(ctx.api_key, ctx.api_version), *body);
    co_return sent && !ctx.close_connection;
}

asio::awaitable<bool> connection::answer_unsupported_api_versions(int32_t correlation_id) {
    proto::api_versions_response response = make_api_versions_response(*broker_.dispatch);
    response.error_code = proto::code(proto::error_code::unsupported_version);
    proto::writer w;
    response.encode(w, 0);
    co_return co_await send(correlation_id, 0, w.buffer());
}

asio::awaitable<bool> connection::send(int32_t correlation_id, int16_t header_version, const response_body& body) {
    proto::writer head;
    const size_t size_at = head.reserve_int32();
    proto::response_header header;
    header.correlation_id = correlation_id;
    header.encode(head, header_version);
    const uint64_t frame_bytes = head.size() - frame_prefix_bytes + body.size();
    if (frame_bytes > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
        co_return reject(fmt::format("response of {} bytes does not fit in a frame", frame_bytes));
    }
    head.patch_int32(size_at, static_cast<int32_t>(frame_bytes));
    if (!body.splices.empty() && body.size() > copied_answer_bytes_max) {
        co_return co_await send_spliced(head.buffer(), body);
    }
    if (!body.splices.empty()) {
        proto::bytes wire = head.release();
        std::string problem;
        if (!body.append_to(wire, &problem)) {
            co_return reject(problem);
        }
        co_return co_await write_bytes(wire);
    }
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head.buffer()), asio::buffer(body.bytes)};
    auto [ec, written] = co_await asio::async_write(socket_, buffers, asio::experimental::as_tuple(asio::use_awaitable));
    (void)written;
    if (ec) {
        spdlog::debug("connection from {}: write failed: {}", peer_, ec.message());
        co_return false;
    }
    co_return true;
}

asio::awaitable<bool> connection::write_bytes(proto::bytes_view bytes) {
    if (bytes.empty()) {
        co_return true;
    }
    auto [ec, written] =
        co_await asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()), asio::experimental::as_tuple(asio::use_awaitable));
    (void)written;
    if (ec) {
        spdlog::debug("connection from {}: write failed: {}", peer_, ec.message());
        co_return false;
    }
    co_return true;
}

asio::awaitable<bool> connection::send_spliced(proto::bytes_view head, const response_body& body) {
    const int fd = socket_.native_handle();
    const int on = 1;
    const int off = 0;
    ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
    bool ok = co_await write_bytes(head);
    size_t at = 0;
    for (size_t i = 0; i < body.splices.size(); ++i) {
        if (!ok) {
            break;
        }
        const response_splice& splice = body.splices[i];
        assert(splice.at >= at && splice.at <= body.bytes.size());
        ok = co_await write_bytes(proto::bytes_view(body.bytes).subspan(at, splice.at - at));
        if (ok) {
            ok = co_await send_file_range(splice.slice);
        }
        at = splice.at;
    }
    if (ok) {
        ok = co_await write_bytes(proto::bytes_view(body.bytes).subspan(at));
    }
    ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
    co_return ok;
}

asio::awaitable<bool> connection::send_file_range(const storage::slice& slice) {
    const int in = slice.source->native_handle();
    uint64_t left = slice.length;
    if (in < 0) {
        // No descriptor to hand to the kernel: copy through a buffer.
        proto::bytes chunk(std::min<uint64_t>(left, copy_chunk_bytes));
        uint64_t position = slice.position;
        while (left > 0) {
            const size_t n = std::min<uint64_t>(left, chunk.size());
            auto read = slice.source->read_at(position, std::span<uint8_t>(chunk.data(), n));
            if (!read.ok() || *read != n) {
                co_return reject(fmt::format("segment {} became shorter than a fetch answer", slice.source->path()));
            }
            if (!co_await write_bytes(proto::bytes_view(chunk.data(), n))) {
                co_return false;
            }
            position += n;
            left -= n;
        }
        co_return true;
    }
    // sendfile needs a non-blocking socket to hand back EAGAIN instead of
    // stalling the shard; asio keeps working with it set. Set once: each
    // call is an ioctl.
    if (!native_non_blocking_) {
        std::error_code ec;
        socket_.native_non_blocking(true, ec);
        if (ec) {
            co_return reject(fmt::format("cannot make the socket non-blocking: {}", ec.message()));
        }
        native_non_blocking_ = true;
    }
    auto offset = static_cast<off_t>(slice.position);
    while (left > 0) {
        const ssize_t n = ::sendfile(socket_.native_handle(), in, &offset, std::min<uint64_t>(left, sendfile_chunk_bytes));
        if (n > 0) {
            left -= static_cast<uint64_t>(n);
            continue;
        }
        if (n == 0) {
            co_return reject(fmt::format("segment {} became shorter than a fetch answer", slice.source->path()));
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            spdlog::debug("connection from {}: sendfile failed: {}", peer_, std::strerror(errno));
            co_return false;
        }
        auto [wait_ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_write,
                                                     asio::experimental::as_tuple(asio::use_awaitable));
        if (wait_ec) {
            co_return false;
        }
    }
    co_return true;
}

} // namespace runnel::broker
