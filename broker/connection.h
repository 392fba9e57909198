// One client connection: reads size-prefixed request frames, dispatches each
// to its handler and writes the responses back in request order. Clients may
// pipeline; requests on one connection are handled one at a time, as Kafka
// does, so that a client's writes to a partition keep their order.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include "broker/dispatch.h"
#include "broker/request_context.h"
#include "protocol/wire.h"

namespace runnel::broker {

struct connection_limits {
    int32_t request_bytes_max = 104857600; // socket.request.max.bytes
};

class connection {
public:
    connection(asio::ip::tcp::socket socket, broker_state& broker, connection_limits limits);
    asio::awaitable<void> run();
    void close();

private:
    // Makes at least n bytes available in the receive buffer; false when the
    // peer closed or the socket failed.
    asio::awaitable<bool> fill(size_t n);
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
    std::string peer_;
    proto::bytes buffer_;
    size_t begin_ = 0; // first unread byte
    size_t end_ = 0;   // one past the last received byte
};

} // namespace runnel::broker
