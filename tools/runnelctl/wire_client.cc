// Blocking Kafka protocol requests over a POSIX socket, every wait bounded by
// poll() against the command's deadline.
#include "tools/runnelctl/wire_client.h"

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol/errors.h"
#include "protocol/messages/api_versions.h"
#include "protocol/messages/request_header.h"
#include "protocol/messages/response_header.h"

namespace runnel::ctl {
namespace {

// No answer runnelctl asks for is anywhere near this large.
constexpr int32_t response_bytes_max = 64 << 20;
constexpr std::string_view client_id = "runnelctl";

std::string errno_text(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

// Waits until fd is ready for events; false and *error on timeout or failure.
bool wait_ready(int fd, short events, const deadline& until, std::string* error) {
    for (;;) {
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, until.remaining_ms());
        if (n > 0) {
            return true;
        }
        if (n == 0) {
            *error = describe_error(RD_KAFKA_RESP_ERR__TIMED_OUT, "no answer from the broker within --timeout-ms");
            return false;
        }
        if (errno != EINTR) {
            *error = errno_text("poll");
            return false;
        }
    }
}

// Connects one address without blocking past the deadline; -1 on failure.
int connect_address(const addrinfo& a, const deadline& until, std::string* error) {
    int fd = ::socket(a.ai_family, a.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a.ai_protocol);
    if (fd < 0) {
        *error = errno_text("socket");
        return -1;
    }
    if (::connect(fd, a.ai_addr, a.ai_addrlen) != 0 && errno != EINPROGRESS) {
        *error = errno_text("connect");
        ::close(fd);
        return -1;
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (!wait_ready(fd, POLLOUT, until, error) || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) {
        ::close(fd);
        return -1;
    }
    if (so_error != 0) {
        *error = std::string("connect: ") + std::strerror(so_error);
        ::close(fd);
        return -1;
    }
    return fd;
}

int connect_server(const host_port& server, const deadline& until, std::string* error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(server.port);
    if (int rc = ::getaddrinfo(server.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        *error = "cannot resolve " + server.host + ": " + ::gai_strerror(rc);
        return -1;
    }
    int fd = -1;
    for (const addrinfo* a = found; a != nullptr && fd < 0 && !until.passed(); a = a->ai_next) {
        fd = connect_address(*a, until, error);
    }
    ::freeaddrinfo(found);
    return fd;
}

} // namespace

std::optional<std::vector<host_port>> parse_bootstrap_servers(const std::string& text, std::string* error) {
    std::vector<host_port> out;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) {
            comma = text.size();
        }
        const std::string_view entry = std::string_view(text).substr(start, comma - start);
        const size_t colon = entry.rfind(':');
        const std::string_view port_text = colon == std::string_view::npos ? std::string_view{} : entry.substr(colon + 1);
        uint16_t port = 0;
        const char* port_end = port_text.data() + port_text.size();
        if (colon == std::string_view::npos || colon == 0 || port_text.empty() ||
            std::from_chars(port_text.data(), port_end, port).ptr != port_end || port == 0) {
            *error = "bootstrap server '" + std::string(entry) + "' is not HOST:PORT";
            return std::nullopt;
        }
        std::string_view host = entry.substr(0, colon);
        if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
            host = host.substr(1, host.size() - 2); // [::1]:9092
        }
        out.push_back({std::string(host), port});
        start = comma + 1;
    }
    return out;
}

std::optional<wire_connection> wire_connection::open(const std::vector<host_port>& servers, const deadline& until,
                                                     std::string* error) {
    for (const auto& server : servers) {
        const int fd = connect_server(server, until, error);
        if (fd < 0) {
            continue;
        }
        wire_connection c(fd);
        auto body = c.round_trip(proto::api_versions_request::api_key, 0, false, {}, until, error);
        if (!body) {
            continue;
        }
        proto::reader r(*body);
        proto::api_versions_response response;
        response.decode(r, 0);
        if (!r.ok()) {
            *error = "cannot decode the ApiVersions answer: " + std::string(proto::to_string(r.error()));
            continue;
        }
        if (response.error_code != 0) {
            *error = "ApiVersions: " + std::string(proto::error_name(response.error_code));
            continue;
        }
        for (const auto& v : response.api_keys) {
            c.api_versions_.push_back({v.api_key, {v.min_version, v.max_version}});
        }
        return c;
    }
    if (error->empty()) {
        *error = "no bootstrap server given";
    }
    return std::nullopt;
}

wire_connection::wire_connection(wire_connection&& other) noexcept
    : fd_(other.fd_), next_correlation_id_(other.next_correlation_id_), api_versions_(std::move(other.api_versions_)) {
    other.fd_ = -1;
}

wire_connection::~wire_connection() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

std::optional<int16_t> wire_connection::pick_version(int16_t api_key, int16_t our_min, int16_t our_max) const {
    for (const auto& [key, range] : api_versions_) {
        if (key != api_key) {
            continue;
        }
        const int16_t best = std::min(range.max, our_max);
        if (best < std::max(range.min, our_min)) {
            return std::nullopt;
        }
        return best;
    }
    return std::nullopt;
}

bool wire_connection::send_all(const proto::bytes& frame, const deadline& until, std::string* error) {
    size_t sent = 0;
    while (sent < frame.size()) {
        if (!wait_ready(fd_, POLLOUT, until, error)) {
            return false;
        }
        const ssize_t n = ::send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            *error = errno_text("send");
            return false;
        }
        sent += n > 0 ? static_cast<size_t>(n) : 0;
    }
    return true;
}

bool wire_connection::receive_exactly(uint8_t* out, size_t n, const deadline& until, std::string* error) {
    size_t got = 0;
    while (got < n) {
        if (!wait_ready(fd_, POLLIN, until, error)) {
            return false;
        }
        const ssize_t r = ::recv(fd_, out + got, n - got, 0);
        if (r == 0) {
            *error = "the broker closed the connection";
            return false;
        }
        if (r < 0 && errno != EAGAIN && errno != EINTR) {
            *error = errno_text("recv");
            return false;
        }
        got += r > 0 ? static_cast<size_t>(r) : 0;
    }
    return true;
}

std::optional<proto::bytes> wire_connection::round_trip(int16_t api_key, int16_t version, bool flexible,
                                                        const proto::bytes& body, const deadline& until,
                                                        std::string* error) {
    const int32_t correlation_id = next_correlation_id_++;
    proto::writer w;
    const size_t size_at = w.reserve_int32();
    proto::request_header header{api_key, version, correlation_id, std::string(client_id), {}};
    header.encode(w, flexible ? 2 : 1);
    w.write_raw(body);
    w.patch_int32(size_at, static_cast<int32_t>(w.size() - 4));
    if (!send_all(w.buffer(), until, error)) {
        return std::nullopt;
    }
    uint8_t size_bytes[4];
    if (!receive_exactly(size_bytes, 4, until, error)) {
        return std::nullopt;
    }
    const int32_t size = static_cast<int32_t>((uint32_t(size_bytes[0]) << 24) | (uint32_t(size_bytes[1]) << 16) |
                                              (uint32_t(size_bytes[2]) << 8) | size_bytes[3]);
    if (size < 4 || size > response_bytes_max) {
        *error = "the broker sent a response frame of " + std::to_string(size) + " bytes";
        return std::nullopt;
    }
    proto::bytes frame(static_cast<size_t>(size));
    if (!receive_exactly(frame.data(), frame.size(), until, error)) {
        return std::nullopt;
    }
    proto::reader r(frame);
    proto::response_header response_header;
    // ApiVersions answers with header v0 even when the request is flexible.
    response_header.decode(r, flexible && api_key != proto::api_versions_request::api_key ? 1 : 0);
    if (!r.ok() || response_header.correlation_id != correlation_id) {
        *error = "the broker answered correlation id " + std::to_string(response_header.correlation_id) + ", expected " +
                 std::to_string(correlation_id);
        return std::nullopt;
    }
    return proto::bytes(frame.begin() + static_cast<ptrdiff_t>(r.position()), frame.end());
}

} // namespace runnel::ctl
