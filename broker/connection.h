// One client connection: reads size-prefixed request frames, dispatches each
// to its handler and writes the responses back in request order. Clients may
// pipeline; requests on one connection are handled one at a time, as Kafka
// does, so that a client's writes to a partition keep their order.
//
// Limits (docs/ARCHITECTURE.md, "Bad input and limits"): a frame larger
// than socket.request.max.bytes or negative closes the connection before any
// of its body is read; a frame's size is reserved from the broker's request
// memory pool (queued.max.request.bytes) before its body is read; a request
// may decode into at most request_decoded_bytes_max of memory; a connection
// with no traffic for connections.max.idle.ms is closed; a frame waits for
// one of queued.max.requests request slots before it is handled.
//
// Shutdown (drain_gate): once the broker drains, a connection reads no new
// request; an idle one is closed at once, a busy one after its answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "broker/connection_quotas.h"
#include "broker/dispatch.h"
#include "broker/drain_gate.h"
#include "broker/request_context.h"
#include "broker/request_memory.h"
#include "protocol/wire.h"

namespace runnel::broker {

struct connection_limits {
    int32_t request_bytes_max = 104857600; // socket.request.max.bytes
    int64_t idle_ms = 600000;              // connections.max.idle.ms; negative: never closed for idleness
    // The memory one request may decode into (array elements and unknown
    // tagged fields, by their in-memory size; proto::decode_budget). Byte
    // fields are copies of the frame and bounded by it already.
    size_t request_decoded_bytes_max = 64 * 1024 * 1024;
};

class connection : public std::enable_shared_from_this<connection> {
public:
    // `slot` is the connection's place in the broker's connection counts;
    // `memory` the request memory pool and `request_slots` the pool of
    // queued.max.requests (a unit per request; neither null); `gate` counts
    // its requests and closes it on shutdown; `shard` is the shard whose
    // executor the socket uses.
    connection(asio::ip::tcp::socket socket, broker_state& broker, connection_limits limits,
               std::shared_ptr<request_memory_pool> memory, std::shared_ptr<request_memory_pool> request_slots,
               connection_quotas::slot slot, drain_gate& gate, size_t shard);
    // Runs the request loop until the peer goes, a request is refused, or
    // close(). The connection must be owned by a shared_ptr.
    asio::awaitable<void> run();
    void close();
    // Handling a request (from its slot until its answer is written).
    bool in_request() const { return in_request_; }

private:
    using clock = std::chrono::steady_clock;

    // Makes at least n bytes available in the receive buffer; false when the
    // peer closed or the socket failed.
    asio::awaitable<bool> fill(size_t n);
    // Room to read more of a frame of n bytes starting at begin_: the
    // receive buffer, compacted, or for a frame larger than it a buffer of
    // exactly n bytes (reserved from the pool first). Buffers are allocated
    // without zeroing, so memory is touched only as bytes arrive. False when
    // the connection closed while waiting for memory.
    asio::awaitable<bool> make_room(size_t n);
    // Once a large frame is handled: its buffer and memory go.
    void drop_large_buffer();
    // Reserves n units from `pool` into `out` (memory_held_ or slot_held_),
    // waiting while it is spent; false when the connection closed meanwhile.
    asio::awaitable<bool> reserve(request_memory_pool& pool, size_t n, request_memory_pool::reservation& out,
                                  std::string_view what);
    // Closes the connection once it has had no traffic for idle_ms.
    asio::awaitable<void> watch_idle();
    // Handles one frame; false means the connection must close (the reason is
    // already logged).
    asio::awaitable<bool> handle_frame(proto::bytes_view frame);
    asio::awaitable<bool> send(int32_t correlation_id, int16_t header_version, const response_body& body);
    // Writes bytes then, for each splice, the bytes before it and the file
    // range itself (sendfile); the socket is corked meanwhile so that the
    // pieces leave in full segments.
    asio::awaitable<bool> send_spliced(proto::bytes_view head, const response_body& body);
    asio::awaitable<bool> write_bytes(proto::bytes_view bytes);
    asio::awaitable<bool> send_file_range(const storage::slice& slice);
    asio::awaitable<bool> answer_unsupported_api_versions(int32_t correlation_id);
    bool reject(std::string_view reason);

    asio::ip::tcp::socket socket_;
    broker_state& broker_;
    connection_limits limits_;
    std::shared_ptr<request_memory_pool> memory_;
    std::shared_ptr<request_memory_pool> request_slots_;
    connection_quotas::slot slot_;
    drain_gate& gate_;
    size_t shard_;
    std::string peer_;

    // The receive buffer (receive_chunk_bytes; null until the first read),
    // or while a larger frame is read, a buffer of exactly its size.
    std::unique_ptr<uint8_t[]> buffer_;
    size_t capacity_ = 0;
    request_memory_pool::reservation memory_held_; // for a buffer larger than receive_chunk_bytes
    request_memory_pool::reservation slot_held_;   // the request slot of the request being handled
    size_t begin_ = 0; // first unread byte
    size_t end_ = 0;   // one past the last received byte

    bool closed_ = false;
    bool in_request_ = false;
    bool native_non_blocking_ = false; // set for sendfile, once
    bool busy_ = false; // handling a request or waiting for request memory: not idle
    clock::time_point last_activity_;
    asio::steady_timer idle_timer_;
    std::shared_ptr<asio::steady_timer> memory_timer_; // the pool wakes it when memory comes back
};

} // namespace runnel::broker
