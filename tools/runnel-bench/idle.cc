// `runnel-bench idle`: what a broker pays for many partitions and many idle
// connections. Creates the topic (timing CreateTopics until every partition
// has a leader), then opens N TCP connections, asks ApiVersions on each so
// that the broker has set every one up, leaves them idle for --hold-s and
// reads the broker's RSS before, between and after.
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <optional>
#include <utility>
#include <thread>
#include <vector>

#include "tools/runnel-bench/commands.h"
#include "tools/runnel-bench/monitor.h"
#include "tools/runnel-bench/run_common.h"

namespace runnel::bench {
namespace {

constexpr int16_t api_versions_key = 18;
constexpr int32_t response_bytes_max = 1 << 20;

class fd_guard {
public:
    explicit fd_guard(int fd) : fd_(fd) {}
    fd_guard(fd_guard&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    fd_guard& operator=(fd_guard&&) = delete;
    ~fd_guard() {
        if (fd_ >= 0) {
            close(fd_);
        }
    }
    int get() const { return fd_; }

private:
    int fd_;
};

bool write_all(int fd, const char* data, size_t size) {
    while (size > 0) {
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        data += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

bool read_all(int fd, char* data, size_t size) {
    while (size > 0) {
        const ssize_t n = ::recv(fd, data, size, 0);
        if (n <= 0) {
            return false;
        }
        data += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

void put_be(std::string& out, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) {
        out += static_cast<char>((v >> (8 * i)) & 0xff);
    }
}

// ApiVersions v0 with request header v1: every broker answers it, before anything else.
std::string api_versions_request(int32_t correlation_id) {
    static constexpr std::string_view client_id = "runnel-bench";
    std::string body;
    put_be(body, static_cast<uint16_t>(api_versions_key), 2);
    put_be(body, 0, 2); // version
    put_be(body, static_cast<uint32_t>(correlation_id), 4);
    put_be(body, client_id.size(), 2);
    body += client_id;
    std::string frame;
    put_be(frame, body.size(), 4);
    return frame + body;
}

bool ask_api_versions(int fd, int32_t correlation_id) {
    const std::string request = api_versions_request(correlation_id);
    char size_bytes[4];
    if (!write_all(fd, request.data(), request.size()) || !read_all(fd, size_bytes, 4)) {
        return false;
    }
    int32_t size = 0;
    for (char b : size_bytes) {
        size = (size << 8) | static_cast<unsigned char>(b);
    }
    if (size < 4 || size > response_bytes_max) {
        return false;
    }
    std::vector<char> response(static_cast<size_t>(size));
    return read_all(fd, response.data(), response.size());
}

// The first HOST:PORT of the bootstrap list, resolved.
std::optional<addrinfo> resolve(const std::string& bootstrap, std::string* error, std::unique_ptr<addrinfo, decltype(&freeaddrinfo)>& hold) {
    const std::string first = bootstrap.substr(0, bootstrap.find(','));
    const auto colon = first.rfind(':');
    if (colon == std::string::npos) {
        *error = "bootstrap '" + first + "' has no port";
        return std::nullopt;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = getaddrinfo(first.substr(0, colon).c_str(), first.substr(colon + 1).c_str(), &hints, &found);
    if (rc != 0 || found == nullptr) {
        *error = "cannot resolve " + first + ": " + gai_strerror(rc);
        return std::nullopt;
    }
    hold.reset(found);
    return *found;
}

int64_t rss_kb(int32_t pid) {
    const auto s = pid != 0 ? sample_process(pid) : std::nullopt;
    return s ? s->rss_kb : -1;
}

} // namespace

int run_idle(const idle_command& cmd) {
    const auto& common = cmd.common;
    const int64_t rss_before = rss_kb(common.broker_pid);
    auto run = prepare(common, "idle");
    if (!run) {
        return exit_failure;
    }
    const int64_t rss_topic = rss_kb(common.broker_pid);
    std::string error;
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> hold(nullptr, freeaddrinfo);
    const auto address = resolve(common.bootstrap, &error, hold);
    if (!address) {
        print_error("idle: " + error);
        return exit_failure;
    }
    std::vector<fd_guard> connections;
    connections.reserve(static_cast<size_t>(cmd.connections));
    const deadline until(common.time_limit_s);
    const auto start = std::chrono::steady_clock::now();
    for (int32_t i = 0; i < cmd.connections && error.empty(); ++i) {
        if (until.passed()) {
            error = "time limit reached after " + std::to_string(i) + " connections";
            break;
        }
        fd_guard fd(::socket(address->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (fd.get() < 0 || ::connect(fd.get(), address->ai_addr, address->ai_addrlen) != 0) {
            error = "connection " + std::to_string(i) + ": " + std::strerror(errno);
        } else if (!ask_api_versions(fd.get(), i)) {
            error = "connection " + std::to_string(i) + ": no ApiVersions answer";
        } else {
            connections.push_back(std::move(fd));
        }
    }
    const double connect_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (error.empty()) {
        std::this_thread::sleep_for(std::chrono::duration<double>(cmd.hold_s));
    }
    const int64_t rss_connections = rss_kb(common.broker_pid);
    const auto opened = static_cast<int64_t>(connections.size());
    connections.clear();

    const bool complete = error.empty() && opened == cmd.connections;
    auto mib = [](int64_t kb) { return kb < 0 ? std::string("?") : fixed(static_cast<double>(kb) / 1024, 1); };
    std::cout << "idle on broker " << common.topic << ": " << run->topic.partitions << " partitions"
              << (run->topic.created ? " created in " + fixed(run->topic.create_ms, 1) + " ms" : std::string(" (existed)"))
              << "; " << opened << " connections opened in " << fixed(connect_ms, 1) << " ms\n"
              << "  broker rss: " << mib(rss_before) << " MiB before, " << mib(rss_topic) << " MiB with the topic, "
              << mib(rss_connections) << " MiB with the connections\n";
    if (!error.empty()) {
        std::cout << "  error: " << error << "\n";
    }
    json_object o = header_json("idle", common, *run);
    o.add("connections_wanted", cmd.connections);
    o.add("connections", opened);
    o.add("connect_ms", connect_ms);
    o.add("hold_s", cmd.hold_s);
    o.add("rss_before_kb", rss_before);
    o.add("rss_topic_kb", rss_topic);
    o.add("rss_connections_kb", rss_connections);
    o.add("first_error", error);
    o.add("complete", complete);
    o.add("load_avg", load_average_1m());
    print_json_line(o);
    return complete ? exit_ok : exit_failure;
}

} // namespace runnel::bench
