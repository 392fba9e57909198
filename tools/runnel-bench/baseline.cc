// `runnel-bench baseline`: the machine's own limits, measured with plain
// system calls so that the broker's figures can be given as ratios of them.
//   tcp         one loopback TCP stream, a writer thread to a reader thread
//   rtt         round trips of 64 bytes between two threads over loopback
//   write       sequential write() of --block-bytes blocks to a new file
//   write-sync  the same with fdatasync() after every block
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

#include "tools/runnel-bench/client.h"
#include "tools/runnel-bench/commands.h"
#include "tools/runnel-bench/histogram.h"
#include "tools/runnel-bench/monitor.h"
#include "tools/runnel-bench/payload.h"
#include "tools/runnel-bench/proc_stats.h"
#include "tools/runnel-bench/report.h"

namespace runnel::bench {
namespace {

constexpr size_t rtt_message_bytes = 64;
constexpr int64_t rtt_trips_max = 1'000'000;
constexpr size_t read_buffer_bytes = 1 << 20;

struct result {
    int64_t bytes = 0;
    int64_t ops = 0; // writes, or round trips
    double seconds = 0;
    histogram latency; // per op, where meaningful
    std::string error;
};

class fd_guard {
public:
    explicit fd_guard(int fd = -1) : fd_(fd) {}
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard() { reset(); }
    void reset(int fd = -1) {
        if (fd_ >= 0) {
            close(fd_);
        }
        fd_ = fd;
    }
    int get() const { return fd_; }

private:
    int fd_;
};

std::string system_error(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// A connected pair of loopback TCP sockets (client, server side).
bool loopback_pair(fd_guard& client, fd_guard& server, std::string* error) {
    fd_guard listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener.get() < 0 || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener.get(), 1) != 0 || ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        *error = system_error("listen");
        return false;
    }
    client.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (client.get() < 0 || ::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        *error = system_error("connect");
        return false;
    }
    server.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (server.get() < 0) {
        *error = system_error("accept");
        return false;
    }
    const int one = 1;
    setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(server.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
}

result tcp_stream(const baseline_command& cmd) {
    result r;
    fd_guard writer, reader;
    if (!loopback_pair(writer, reader, &r.error)) {
        return r;
    }
    std::atomic<int64_t> received{0};
    std::atomic<uint64_t> reader_done_ns{0};
    std::thread drain([&] {
        std::vector<char> buffer(read_buffer_bytes);
        for (;;) {
            const ssize_t n = ::recv(reader.get(), buffer.data(), buffer.size(), 0);
            if (n <= 0) {
                break;
            }
            received.fetch_add(n, std::memory_order_relaxed);
        }
        reader_done_ns.store(steady_now_ns());
    });
    payload_source source(payload_kind::random, cmd.block_bytes);
    const auto block = source.value(0, 0);
    const deadline until(cmd.time_limit_s);
    const uint64_t start = steady_now_ns();
    while (r.bytes < cmd.bytes && !until.passed()) {
        const ssize_t n = ::send(writer.get(), block.data(), block.size(), MSG_NOSIGNAL);
        if (n <= 0) {
            r.error = system_error("send");
            break;
        }
        r.bytes += n;
        ++r.ops;
    }
    ::shutdown(writer.get(), SHUT_WR);
    drain.join();
    r.seconds = static_cast<double>(reader_done_ns.load() - start) / 1e9;
    if (received.load() != r.bytes && r.error.empty()) {
        r.error = "the reader got " + std::to_string(received.load()) + " of " + std::to_string(r.bytes) + " bytes";
    }
    return r;
}

bool send_all(int fd, const char* data, size_t size) {
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

bool recv_all(int fd, char* data, size_t size) {
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

result tcp_round_trips(const baseline_command& cmd) {
    result r;
    fd_guard client, server;
    if (!loopback_pair(client, server, &r.error)) {
        return r;
    }
    std::thread echo([&] {
        char buffer[rtt_message_bytes];
        while (recv_all(server.get(), buffer, sizeof buffer) && send_all(server.get(), buffer, sizeof buffer)) {
        }
    });
    char message[rtt_message_bytes] = {};
    const deadline until(cmd.time_limit_s);
    const uint64_t start = steady_now_ns();
    while (r.ops < rtt_trips_max && !until.passed()) {
        const uint64_t sent = steady_now_ns();
        if (!send_all(client.get(), message, sizeof message) || !recv_all(client.get(), message, sizeof message)) {
            r.error = system_error("round trip");
            break;
        }
        r.latency.record(steady_now_ns() - sent);
        ++r.ops;
        r.bytes += static_cast<int64_t>(2 * sizeof message);
    }
    r.seconds = static_cast<double>(steady_now_ns() - start) / 1e9;
    ::shutdown(client.get(), SHUT_RDWR);
    echo.join();
    return r;
}

result sequential_write(const baseline_command& cmd, bool sync_each) {
    result r;
    const std::string path = cmd.dir + "/runnel-bench-baseline-" + std::to_string(getpid());
    fd_guard fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
        r.error = system_error(path.c_str());
        return r;
    }
    payload_source source(payload_kind::random, cmd.block_bytes);
    const deadline until(cmd.time_limit_s);
    const uint64_t start = steady_now_ns();
    while (r.bytes < cmd.bytes && !until.passed()) {
        const auto block = source.value(static_cast<uint64_t>(r.ops), 0);
        const uint64_t before = steady_now_ns();
        const ssize_t n = ::write(fd.get(), block.data(), block.size());
        if (n != static_cast<ssize_t>(block.size())) {
            r.error = system_error("write");
            break;
        }
        if (sync_each && ::fdatasync(fd.get()) != 0) {
            r.error = system_error("fdatasync");
            break;
        }
        r.latency.record(steady_now_ns() - before);
        r.bytes += n;
        ++r.ops;
    }
    r.seconds = static_cast<double>(steady_now_ns() - start) / 1e9;
    fd.reset();
    if (!cmd.keep) {
        ::unlink(path.c_str());
    }
    return r;
}

} // namespace

int run_baseline(const baseline_command& cmd) {
    const double cpu_start = self_cpu_s();
    const double load_start = load_average_1m();
    result r;
    switch (cmd.kind) {
    case baseline_kind::tcp: r = tcp_stream(cmd); break;
    case baseline_kind::rtt: r = tcp_round_trips(cmd); break;
    case baseline_kind::write: r = sequential_write(cmd, false); break;
    case baseline_kind::write_sync: r = sequential_write(cmd, true); break;
    }
    const double cpu_s = self_cpu_s() - cpu_start;
    const double gb = static_cast<double>(r.bytes) / 1e9;
    const double mb_s = r.seconds > 0 ? static_cast<double>(r.bytes) / 1e6 / r.seconds : 0;
    const double ops_s = r.seconds > 0 ? static_cast<double>(r.ops) / r.seconds : 0;

    std::cout << "baseline " << to_string(cmd.kind) << ": " << with_commas(r.ops) << " ops, " << with_commas(r.bytes)
              << " bytes in " << fixed(r.seconds, 2) << " s: " << fixed(mb_s, 1) << " MB/s, " << fixed(ops_s, 0)
              << " ops/s; cpu " << fixed(cpu_s, 2) << " s";
    if (gb > 0) {
        std::cout << " (" << fixed(cpu_s / gb, 2) << " s per GB)";
    }
    std::cout << "\n";
    if (r.latency.count() > 0) {
        std::cout << "  per op: " << latency_line(r.latency) << "\n";
    }
    if (!r.error.empty()) {
        std::cout << "  error: " << r.error << "\n";
    }
    json_object o;
    o.add("tool", "runnel-bench");
    o.add("command", "baseline");
    o.add("kind", to_string(cmd.kind));
    o.add("label", cmd.label);
    o.add("block_bytes", cmd.kind == baseline_kind::rtt ? static_cast<int64_t>(rtt_message_bytes) : cmd.block_bytes);
    o.add("bytes", r.bytes);
    o.add("ops", r.ops);
    o.add("seconds", r.seconds);
    o.add("mb_per_s", mb_s);
    o.add("ops_per_s", ops_s);
    o.add("cpu_s", cpu_s);
    o.add("cpu_s_per_gb", gb > 0 ? cpu_s / gb : 0.0);
    o.add("latency", latency_json(r.latency));
    o.add("first_error", r.error);
    o.add("complete", r.error.empty());
    o.add("load_avg_start", load_start);
    o.add("load_avg_end", load_average_1m());
    std::cout << o.str() << std::endl;
    return r.error.empty() ? exit_ok : exit_failure;
}

} // namespace runnel::bench
