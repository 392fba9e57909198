// raft_sim: runs seeded Raft cluster simulations from the command line.
//   raft_sim --seed N | --seeds A..B  [--nodes 3|5] [--steps N] [--verbose]
//            [--seconds S]  (with --seeds: stop after S wall-clock seconds)
// A failure prints the seed, what broke, and the command that replays it.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "raft/assert.h"
#include "raft/sim/cluster.h"

namespace {

using runnel::raft::sim::sim_options;

sim_options current; // for the assert hook: which run was going on

void print_replay_on_assert() {
    std::fprintf(stderr, "raft_sim: seed %llu aborted on an assertion\nreplay: %s --verbose\n",
                 static_cast<unsigned long long>(current.seed), runnel::raft::sim::replay_command(current).c_str());
}

int usage() {
    std::fprintf(stderr, "usage: raft_sim (--seed N | --seeds A..B) [--nodes 3|5] [--steps N] [--seconds S] "
                         "[--verbose]\n");
    return 2;
}

bool parse_u64(const char* text, uint64_t& out) {
    char* end = nullptr;
    out = std::strtoull(text, &end, 10);
    return end != text && *end == '\0';
}

} // namespace

int main(int argc, char** argv) {
    sim_options base;
    uint64_t first = 1;
    uint64_t last = 1;
    uint64_t seconds = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
        uint64_t n = 0;
        if (arg == "--verbose") {
            base.verbose = true;
        } else if (value == nullptr) {
            return usage();
        } else if (arg == "--seed" && parse_u64(value, n)) {
            first = last = n;
            ++i;
        } else if (arg == "--seeds") {
            const std::string_view range = value;
            const size_t dots = range.find("..");
            if (dots == std::string_view::npos || !parse_u64(std::string(range.substr(0, dots)).c_str(), first) ||
                !parse_u64(std::string(range.substr(dots + 2)).c_str(), last) || first > last) {
                return usage();
            }
            ++i;
        } else if (arg == "--nodes" && parse_u64(value, n) && (n == 3 || n == 5)) {
            base.nodes = static_cast<int32_t>(n);
            ++i;
        } else if (arg == "--steps" && parse_u64(value, n) && n >= 1 && n <= 10'000'000) {
            base.steps = static_cast<int64_t>(n);
            ++i;
        } else if (arg == "--seconds" && parse_u64(value, n)) {
            seconds = n;
            ++i;
        } else {
            return usage();
        }
    }
    runnel::raft::set_assert_hook(print_replay_on_assert);
    const auto started = std::chrono::steady_clock::now();
    uint64_t runs = 0;
    int64_t simulated_ms = 0;
    uint64_t events = 0;
    uint64_t crashes = 0;
    uint64_t committed = 0;
    uint64_t partitions = 0;
    uint64_t snapshots = 0;
    uint64_t changes = 0;
    uint64_t reads = 0;
    int64_t liveness_max_ms = 0;
    for (uint64_t seed = first;; ++seed) {
        current = base;
        current.seed = seed;
        const auto result = runnel::raft::sim::run_simulation(current);
        ++runs;
        simulated_ms += result.stats.simulated_ms;
        events += result.stats.events;
        crashes += result.stats.crashes;
        committed += result.stats.entries_committed;
        partitions += result.stats.partitions;
        snapshots += result.stats.snapshots_installed;
        changes += result.stats.configuration_changes;
        reads += result.stats.reads_checked;
        liveness_max_ms = std::max(liveness_max_ms, result.stats.liveness_ms);
        if (!result.ok) {
            std::printf("raft_sim: seed %llu FAILED: %s\nreplay: %s --verbose\n", static_cast<unsigned long long>(seed),
                        result.failure.c_str(), runnel::raft::sim::replay_command(current).c_str());
            return 1;
        }
        if (base.verbose || first == last) {
            std::printf("seed %llu ok: %lld ms simulated, %llu events, %llu committed, %llu crashes (%llu disk), "
                        "%llu partitions, %llu leaders, %llu snapshots installed, %llu membership changes, "
                        "%llu reads checked, liveness in %lld ms\n",
                        static_cast<unsigned long long>(seed), static_cast<long long>(result.stats.simulated_ms),
                        static_cast<unsigned long long>(result.stats.events),
                        static_cast<unsigned long long>(result.stats.entries_committed),
                        static_cast<unsigned long long>(result.stats.crashes),
                        static_cast<unsigned long long>(result.stats.disk_failures),
                        static_cast<unsigned long long>(result.stats.partitions),
                        static_cast<unsigned long long>(result.stats.leaders),
                        static_cast<unsigned long long>(result.stats.snapshots_installed),
                        static_cast<unsigned long long>(result.stats.configuration_changes),
                        static_cast<unsigned long long>(result.stats.reads_checked),
                        static_cast<long long>(result.stats.liveness_ms));
        }
        if (seed == last ||
            (seconds > 0 && std::chrono::steady_clock::now() - started > std::chrono::seconds(seconds))) {
            break;
        }
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("raft_sim: %llu seeds (%llu..%llu) with %d nodes passed in %.1f s: %.1f simulated seconds, %llu "
                "events, %llu entries committed, %llu crashes, %llu partitions, %llu snapshots installed, %llu "
                "membership changes, %llu reads checked, slowest recovery %lld ms\n",
                static_cast<unsigned long long>(runs), static_cast<unsigned long long>(first),
                static_cast<unsigned long long>(first + runs - 1), base.nodes, wall, simulated_ms / 1000.0,
                static_cast<unsigned long long>(events), static_cast<unsigned long long>(committed),
                static_cast<unsigned long long>(crashes), static_cast<unsigned long long>(partitions),
                static_cast<unsigned long long>(snapshots), static_cast<unsigned long long>(changes),
                static_cast<unsigned long long>(reads), static_cast<long long>(liveness_max_ms));
    return 0;
}
