// The node shell for real: three raft_nodes on loopback TCP ports with data
// on disk. The leader is killed; a new one must be elected and keep every
// committed entry, and the old leader must come back from its disk and
// catch up. Waits are bounded (liveness limits), never timed assertions.
#include <filesystem>

#include <gtest/gtest.h>

#include "raft/node/local_cluster.h"

namespace runnel::raft::node {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto election_wait_max = 20s;

std::string make_temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "raft_loopback_XXXXXX").string();
    return ::mkdtemp(pattern.data());
}

// Proposes through whoever leads until it commits (leaders may change under
// load); returns whether it did within a bounded number of attempts.
bool commit(local_cluster& c, std::string_view payload) {
    for (int attempt = 0; attempt < 20; ++attempt) {
        auto leader = c.wait_for_leader(election_wait_max);
        if (!leader) {
            return false;
        }
        const propose_outcome out = c.propose(*leader, payload);
        if (out.status == propose_status::committed) {
            return true;
        }
    }
    return false;
}

// Waits (bounded) until `id` has applied `n` entries.
bool wait_applied(local_cluster& c, node_id id, size_t n) {
    for (int i = 0; i < 2000; ++i) {
        if (c.app(id).count() >= n) {
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

bool is_prefix(const std::vector<std::string>& prefix, const std::vector<std::string>& of) {
    return prefix.size() <= of.size() && std::equal(prefix.begin(), prefix.end(), of.begin());
}

TEST(raft_node, killing_the_leader_elects_another_and_loses_nothing_committed) {
    const std::string dir = make_temp_dir();
    {
        local_cluster c(3, dir);
        for (node_id id : c.ids()) {
            auto started = c.start(id);
            ASSERT_TRUE(started.ok()) << started.err().message;
        }
        auto first = c.wait_for_leader(election_wait_max);
        ASSERT_TRUE(first.has_value());
        std::vector<std::string> committed;
        for (int i = 0; i < 30; ++i) {
            const std::string p = "before-" + std::to_string(i);
            ASSERT_TRUE(commit(c, p)) << p;
            committed.push_back(p);
        }
        const node_id old_leader = *c.wait_for_leader(election_wait_max);
        const uint64_t old_last_index = static_cast<uint64_t>(c.node(old_leader).status().raft.last_index.value());

        c.stop(old_leader); // killed: no hand-over, no flush beyond what Raft synced

        auto next = c.wait_for_leader(election_wait_max, old_leader);
        ASSERT_TRUE(next.has_value());
        EXPECT_NE(*next, old_leader);
        for (int i = 0; i < 20; ++i) {
            const std::string p = "after-" + std::to_string(i);
            ASSERT_TRUE(commit(c, p)) << p;
            committed.push_back(p);
        }
        // Every entry acknowledged before the kill is in the new leader's
        // state machine, in order, followed by the new ones.
        for (node_id id : c.ids()) {
            if (c.running(id)) {
                ASSERT_TRUE(wait_applied(c, id, committed.size())) << "node " << id;
                EXPECT_TRUE(is_prefix(committed, c.app(id).payloads())) << "node " << id;
            }
        }

        // The old leader restarts from its disk: its log is there before it
        // hears from anyone, and it catches up with what it missed.
        ASSERT_TRUE(c.start(old_leader).ok());
        const node_status restarted = c.node(old_leader).status();
        EXPECT_GE(static_cast<uint64_t>(restarted.raft.last_index.value()), old_last_index);
        EXPECT_GE(restarted.raft.term.value(), 2);
        ASSERT_TRUE(wait_applied(c, old_leader, committed.size()));
        EXPECT_TRUE(is_prefix(committed, c.app(old_leader).payloads()));
    }
    fs::remove_all(dir);
}

TEST(raft_node, read_index_on_the_leader_covers_committed_entries) {
    const std::string dir = make_temp_dir();
    {
        local_cluster c(3, dir);
        for (node_id id : c.ids()) {
            ASSERT_TRUE(c.start(id).ok());
        }
        ASSERT_TRUE(commit(c, "x"));
        auto leader = c.wait_for_leader(election_wait_max);
        ASSERT_TRUE(leader.has_value());
        raft_node& n = c.node(*leader);
        auto index = asio::co_spawn(n.executor(), n.read_index(), asio::use_future).get();
        ASSERT_TRUE(index.ok()) << index.err().message;
        EXPECT_GE(index.value(), log_index(3)); // founding config, no-op, "x"
    }
    fs::remove_all(dir);
}

} // namespace
} // namespace runnel::raft::node
