// Storage benchmarks (Google Benchmark; not tests): append throughput of
// 16 KiB batches against a raw write() loop, reads through slices and
// sendfile against a raw sendfile, and recovery scan rate against a raw
// read. Each pair runs on the same disk in the same run; the ratios are
// printed at the end. RUNNEL_BENCH_DIR picks the directory (default: the
// system temp dir), RUNNEL_BENCH_RECOVERY_MB the recovery log size (1024).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include "protocol/record_batch.h"
#include "storage/partition_log.h"

namespace runnel::storage {
namespace {

constexpr size_t batch_bytes = 16 * 1024;
constexpr uint64_t read_log_bytes = 256ull * 1024 * 1024;
constexpr size_t fetch_bytes = 1024 * 1024;

std::string bench_root() {
    const char* env = std::getenv("RUNNEL_BENCH_DIR");
    std::string base = env != nullptr ? env : std::filesystem::temp_directory_path().string();
    std::string dir = base + "/runnel-storage-bench-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    return dir;
}

const std::string& root() {
    static const std::string dir = bench_root();
    return dir;
}

// One batch of 16 KiB (header included) with a few records.
std::vector<uint8_t> make_16k_batch() {
    proto::batch_builder builder(proto::batch_options{});
    std::vector<uint8_t> value(1000, 'x');
    size_t overhead = proto::batch_header_size;
    while (builder.records_bytes() + overhead + value.size() + 32 < batch_bytes) {
        (void)builder.add(1700000000000, std::nullopt, proto::bytes_view(value));
    }
    size_t left = batch_bytes - overhead - builder.records_bytes();
    // The last record fills the batch to exactly 16 KiB (its framing takes ~8 bytes).
    std::vector<uint8_t> tail(left - 8, 'y');
    (void)builder.add(1700000000000, std::nullopt, proto::bytes_view(tail));
    auto built = builder.build();
    return std::move(built).value();
}

log_config bench_config() {
    log_config c;
    c.retention_ms = unlimited;
    return c;
}

std::unique_ptr<partition_log> open_log(const std::string& dir, bool clean) {
    log_open_options options;
    options.clean_shutdown = clean;
    auto log = partition_log::open(make_posix_file_system(), dir, {"bench", 0}, bench_config(), options);
    if (!log.ok()) {
        std::fprintf(stderr, "open %s: %s\n", dir.c_str(), log.err().message.c_str());
        std::abort();
    }
    return std::move(log).value();
}

void BM_append_16k(benchmark::State& state) {
    std::string dir = root() + "/append-0";
    std::filesystem::remove_all(dir);
    auto log = open_log(dir, true);
    auto batch = make_16k_batch();
    for (auto _ : state) {
        auto r = log->append(batch, {});
        if (!r.ok()) {
            state.SkipWithError(r.err().message.c_str());
            break;
        }
        // Keep the disk use bounded as the raw loop does: when a segment
        // rolls, the one before the previous goes (inside the timing, like
        // the raw loop's unlink).
        if (log->segment_count() > 2) {
            (void)log->advance_log_start_offset(log->segment_base_offsets()[1]);
        }
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    log.reset();
    std::filesystem::remove_all(dir);
}

// write() into files of segment.bytes, the next one started and the old
// one deleted as a log rolls and retention deletes, so that both loops meet
// the same page-cache writeback.
void BM_raw_write_16k(benchmark::State& state) {
    uint64_t file_bytes = bench_config().segment_bytes;
    int file_number = 0;
    auto path_of = [&](int n) { return root() + "/raw-write-" + std::to_string(n); };
    int fd = ::open(path_of(file_number).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<uint8_t> buffer = make_16k_batch();
    uint64_t written = 0;
    for (auto _ : state) {
        if (written + buffer.size() > file_bytes) {
            ::close(fd);
            ++file_number;
            fd = ::open(path_of(file_number).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (file_number >= 2) {
                std::filesystem::remove(path_of(file_number - 2));
            }
            written = 0;
        }
        if (::write(fd, buffer.data(), buffer.size()) != static_cast<ssize_t>(buffer.size())) {
            state.SkipWithError("write failed");
            break;
        }
        written += buffer.size();
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buffer.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    ::close(fd);
    for (int n = std::max(0, file_number - 1); n <= file_number; ++n) {
        std::filesystem::remove(path_of(n));
    }
}

// A connected loopback TCP pair whose far end is drained by a thread.
class loopback_sink {
public:
    loopback_sink() {
        int listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::listen(listener, 1);
        socklen_t len = sizeof addr;
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
        sender_ = ::socket(AF_INET, SOCK_STREAM, 0);
        ::connect(sender_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        int receiver = ::accept(listener, nullptr, nullptr);
        ::close(listener);
        drain_ = std::thread([receiver] {
            std::vector<char> buffer(1 << 20);
            while (::read(receiver, buffer.data(), buffer.size()) > 0) {
            }
            ::close(receiver);
        });
    }
    ~loopback_sink() {
        ::shutdown(sender_, SHUT_WR);
        ::close(sender_);
        drain_.join();
    }
    int fd() const { return sender_; }

    // sendfile of [position, position + length) of in_fd, all of it.
    bool send(int in_fd, uint64_t position, uint64_t length) {
        off_t off = static_cast<off_t>(position);
        while (length > 0) {
            ssize_t n = ::sendfile(sender_, in_fd, &off, length);
            if (n <= 0) {
                return false;
            }
            length -= static_cast<uint64_t>(n);
        }
        return true;
    }

private:
    int sender_ = -1;
    std::thread drain_;
};

// A log of read_log_bytes, written once and shared by the read benchmarks.
partition_log& read_log() {
    static std::unique_ptr<partition_log> log = [] {
        std::string dir = root() + "/read-0";
        std::filesystem::remove_all(dir);
        auto l = open_log(dir, true);
        auto batch = make_16k_batch();
        while (l->size_bytes() < read_log_bytes) {
            (void)l->append(batch, {});
        }
        (void)l->flush();
        return l;
    }();
    return *log;
}

void BM_read_slices_sendfile(benchmark::State& state) {
    partition_log& log = read_log();
    loopback_sink sink;
    int64_t offset = 0;
    uint64_t bytes = 0;
    read_options options;
    options.bytes_max = fetch_bytes;
    for (auto _ : state) {
        auto r = log.read(offset, options);
        if (!r.ok()) {
            state.SkipWithError(r.err().message.c_str());
            break;
        }
        for (const auto& s : r->slices) {
            if (!sink.send(s.source->native_handle(), s.position, s.length)) {
                state.SkipWithError("sendfile failed");
                break;
            }
        }
        bytes += r->bytes;
        offset = r->next_offset >= log.log_end_offset() ? 0 : r->next_offset;
    }
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_raw_sendfile(benchmark::State& state) {
    partition_log& log = read_log();
    auto r = log.read(0, read_options{read_log_bytes * 2, true, -1});
    const slice& whole = r->slices.front();
    loopback_sink sink;
    uint64_t position = 0;
    uint64_t bytes = 0;
    for (auto _ : state) {
        uint64_t n = std::min<uint64_t>(fetch_bytes, whole.length - position);
        if (!sink.send(whole.source->native_handle(), position, n)) {
            state.SkipWithError("sendfile failed");
            break;
        }
        bytes += n;
        position = position + n >= whole.length ? 0 : position + n;
    }
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

uint64_t recovery_bytes() {
    const char* env = std::getenv("RUNNEL_BENCH_RECOVERY_MB");
    return (env != nullptr ? std::strtoull(env, nullptr, 10) : 1024) * 1024 * 1024;
}

const std::string& recovery_dir() {
    static const std::string dir = [] {
        std::string d = root() + "/recover-0";
        std::filesystem::remove_all(d);
        auto log = open_log(d, true);
        auto batch = make_16k_batch();
        while (log->size_bytes() < recovery_bytes()) {
            (void)log->append(batch, {});
        }
        return d; // abandoned unclosed: an unclean shutdown
    }();
    return dir;
}

void BM_recovery_scan(benchmark::State& state) {
    const std::string& dir = recovery_dir();
    uint64_t bytes = 0;
    for (auto _ : state) {
        auto log = open_log(dir, false);
        bytes += log->recovery().bytes_scanned;
        state.PauseTiming();
        log.reset(); // unclosed again, so the next open scans again
        state.ResumeTiming();
    }
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_raw_read(benchmark::State& state) {
    const std::string& dir = recovery_dir();
    std::vector<char> buffer(1 << 20);
    uint64_t bytes = 0;
    for (auto _ : state) {
        for (const auto& e : std::filesystem::directory_iterator(dir)) {
            if (e.path().extension() != ".log") {
                continue;
            }
            int fd = ::open(e.path().c_str(), O_RDONLY);
            ssize_t n = 0;
            while ((n = ::read(fd, buffer.data(), buffer.size())) > 0) {
                bytes += static_cast<uint64_t>(n);
            }
            ::close(fd);
        }
    }
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

// Wall-clock rates (the disk and the socket are the point), three runs each,
// each pair back to back so that both see the same machine.
BENCHMARK(BM_raw_write_16k)->MinTime(1.0)->UseRealTime()->Repetitions(3)->ReportAggregatesOnly(true);
BENCHMARK(BM_append_16k)->MinTime(1.0)->UseRealTime()->Repetitions(3)->ReportAggregatesOnly(true);
BENCHMARK(BM_raw_sendfile)->MinTime(1.0)->UseRealTime()->Repetitions(3)->ReportAggregatesOnly(true);
BENCHMARK(BM_read_slices_sendfile)->MinTime(1.0)->UseRealTime()->Repetitions(3)->ReportAggregatesOnly(true);
BENCHMARK(BM_raw_read)->Iterations(3)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_recovery_scan)->Iterations(3)->UseRealTime()->Unit(benchmark::kMillisecond);

// Prints each benchmark as usual and keeps its bytes per second.
class ratio_reporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const auto& run : runs) {
            auto it = run.counters.find("bytes_per_second");
            bool single = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
            bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
            if (it != run.counters.end() && (single || median)) {
                std::string name = run.run_name.function_name;
                rates[name] = it->second.value;
            }
        }
    }
    std::map<std::string, double> rates;
};

void print_ratio(const ratio_reporter& r, const char* what, const std::string& ours, const std::string& raw,
                 double goal) {
    auto a = r.rates.find(ours);
    auto b = r.rates.find(raw);
    if (a == r.rates.end() || b == r.rates.end() || b->second <= 0) {
        return;
    }
    std::printf("%-28s %9.1f MB/s vs raw %9.1f MB/s  ratio %.2f (goal >= %.2f)\n", what, a->second / 1e6,
                b->second / 1e6, a->second / b->second, goal);
}

} // namespace
} // namespace runnel::storage

int main(int argc, char** argv) {
    using namespace runnel::storage;
    spdlog::set_level(spdlog::level::warn);
    benchmark::Initialize(&argc, argv);
    ratio_reporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    std::printf("\n");
    print_ratio(reporter, "append 16 KiB batches", "BM_append_16k", "BM_raw_write_16k", 0.8);
    print_ratio(reporter, "read slices + sendfile", "BM_read_slices_sendfile", "BM_raw_sendfile", 0.9);
    print_ratio(reporter, "recovery scan (warm cache)", "BM_recovery_scan", "BM_raw_read", 0.0);
    std::filesystem::remove_all(root());
    benchmark::Shutdown();
    return 0;
}
