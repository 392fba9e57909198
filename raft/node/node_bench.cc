// raft_node_bench: committed proposals per second on a 3-node cluster on
// loopback (real TCP, real fsyncs), with many proposals in flight so that
// the node batches them into shared appends and fsyncs.
//   raft_node_bench [--seconds S] [--concurrency C] [--payload BYTES] [--dir PATH]
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "raft/node/local_cluster.h"

namespace {

using namespace runnel::raft;
using namespace runnel::raft::node;

asio::awaitable<void> proposer(raft_node& n, std::chrono::steady_clock::time_point deadline, size_t payload_bytes,
                               std::atomic<uint64_t>& committed, std::atomic<uint64_t>& failed) {
    runnel::proto::bytes payload(payload_bytes, 'p');
    while (std::chrono::steady_clock::now() < deadline) {
        const propose_outcome out = co_await n.propose(payload);
        if (out.status == propose_status::committed) {
            committed.fetch_add(1, std::memory_order_relaxed);
        } else {
            failed.fetch_add(1, std::memory_order_relaxed);
            if (out.status != propose_status::timed_out) {
                co_return; // leadership moved: this proposer stops
            }
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    int64_t seconds = 5;
    size_t concurrency = 256;
    size_t payload = 100;
    std::string dir = (std::filesystem::temp_directory_path() / "raft_node_bench").string();
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view arg = argv[i];
        if (arg == "--seconds") {
            seconds = std::atoll(argv[i + 1]);
        } else if (arg == "--concurrency") {
            concurrency = static_cast<size_t>(std::atoll(argv[i + 1]));
        } else if (arg == "--payload") {
            payload = static_cast<size_t>(std::atoll(argv[i + 1]));
        } else if (arg == "--dir") {
            dir = argv[i + 1];
        } else {
            std::fprintf(stderr, "usage: raft_node_bench [--seconds S] [--concurrency C] [--payload BYTES] [--dir PATH]\n");
            return 2;
        }
    }
    spdlog::set_level(std::getenv("RAFT_BENCH_VERBOSE") ? spdlog::level::info : spdlog::level::warn);
    std::filesystem::remove_all(dir);
    uint64_t total = 0;
    uint64_t lost = 0;
    double elapsed = 0;
    uint64_t fsyncs = 0;
    {
        local_cluster c(3, dir, [](node_config& cfg) { cfg.snapshot_entries = 200'000; }, true);
        for (node_id id : c.ids()) {
            if (auto r = c.start(id); !r.ok()) {
                std::fprintf(stderr, "start node %d: %s\n", id.value(), r.err().message.c_str());
                return 1;
            }
        }
        auto leader = c.wait_for_leader(std::chrono::seconds(30));
        if (!leader) {
            std::fprintf(stderr, "no leader\n");
            return 1;
        }
        raft_node& n = c.node(*leader);
        const uint64_t fsyncs_before = n.status().fsyncs;
        std::atomic<uint64_t> committed{0};
        std::atomic<uint64_t> failed{0};
        const auto start = std::chrono::steady_clock::now();
        const auto deadline = start + std::chrono::seconds(seconds);
        std::vector<std::future<void>> workers;
        for (size_t i = 0; i < concurrency; ++i) {
            workers.push_back(asio::co_spawn(n.executor(), proposer(n, deadline, payload, committed, failed),
                                             asio::use_future));
        }
        for (auto& w : workers) {
            w.get();
        }
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        total = committed.load();
        lost = failed.load();
        fsyncs = n.status().fsyncs - fsyncs_before;
    }
    std::filesystem::remove_all(dir);
    std::printf("raft_node_bench: 3 nodes on loopback, %zu in flight, %zu-byte payloads: %llu committed in %.2f s = "
                "%.0f proposals/s (%llu failed), leader fsync rounds %llu (%.1f proposals each)\n",
                concurrency, payload, static_cast<unsigned long long>(total), elapsed, total / elapsed,
                static_cast<unsigned long long>(lost), static_cast<unsigned long long>(fsyncs),
                fsyncs ? static_cast<double>(total) / static_cast<double>(fsyncs) : 0.0);
    return 0;
}
