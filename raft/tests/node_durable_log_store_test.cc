// The durable Raft log store on real files: round trips, truncation,
// snapshots (compaction and install), crashes that lose unsynced writes, and
// corrupted files that must be reported rather than skipped.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "raft/consensus.h"
#include "raft/node/durable_log_store.h"
#include "raft/node/state_files.h"
#include "storage/faulty_file_system.h"

namespace runnel::raft::node {
namespace {

namespace fs = std::filesystem;

class temp_dir {
public:
    temp_dir() {
        std::string pattern = (fs::temp_directory_path() / "raft_store_XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~temp_dir() { fs::remove_all(path_); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

proto::bytes encode_configuration_for_test() { return encode(configuration{.voters = {node_id(1), node_id(2)}}); }

entry make(int64_t term, int64_t index, std::string_view data = "", entry_type type = entry_type::normal) {
    return entry{raft_term(term), log_index(index), type, proto::bytes(data.begin(), data.end())};
}

std::unique_ptr<durable_log_store> open_store(const std::string& dir,
                                              std::shared_ptr<storage::file_system> fsys = storage::make_posix_file_system()) {
    auto s = durable_log_store::open(std::move(fsys), dir, 4096);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.err().message);
    return std::move(s).value();
}

recovered_state load(durable_log_store& store) {
    auto r = store.load();
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().message);
    return std::move(r).value();
}

TEST(durable_log_store, empty_directory_loads_nothing) {
    temp_dir dir;
    auto store = open_store(dir.path());
    recovered_state state = load(*store);
    EXPECT_EQ(state.hard_state, hard_state{});
    EXPECT_FALSE(state.snapshot.has_value());
    EXPECT_TRUE(state.entries.empty());
}

TEST(durable_log_store, hard_state_and_entries_survive_a_reopen) {
    temp_dir dir;
    std::vector<entry> written = {
        entry{raft_term(1), log_index(1), entry_type::configuration, encode_configuration_for_test()},
        make(2, 2, "", entry_type::no_op),
        make(2, 3, "alpha"),
        make(3, 4, std::string(3000, 'x')), // bigger than a tenth of a segment
    };
    {
        auto store = open_store(dir.path());
        ASSERT_TRUE(store->save_hard_state(hard_state{raft_term(3), node_id(2)}).ok());
        ASSERT_TRUE(store->append(written).ok());
        ASSERT_TRUE(store->sync().ok());
    }
    auto store = open_store(dir.path());
    recovered_state state = load(*store);
    EXPECT_EQ(state.hard_state, (hard_state{raft_term(3), node_id(2)}));
    EXPECT_EQ(state.entries, written);
    auto middle = store->read(log_index(2), log_index(3), 1 << 20);
    ASSERT_TRUE(middle.ok());
    EXPECT_EQ(middle.value(), (std::vector<entry>{written[1], written[2]}));
    // The entries really are Kafka record batches in a partition log.
    EXPECT_TRUE(fs::exists(fs::path(dir.path()) / "__raft_log-0" / "00000000000000000000.log"));
}

TEST(durable_log_store, truncation_then_new_entries) {
    temp_dir dir;
    {
        auto store = open_store(dir.path());
        ASSERT_TRUE(store->save_hard_state(hard_state{raft_term(3), no_node}).ok());
        ASSERT_TRUE(store->append(std::vector<entry>{make(1, 1), make(2, 2, "a"), make(2, 3, "b"), make(2, 4, "c")}).ok());
        ASSERT_TRUE(store->sync().ok());
        ASSERT_TRUE(store->truncate_suffix(log_index(3)).ok());
        ASSERT_TRUE(store->append(std::vector<entry>{make(3, 3, "B")}).ok());
        ASSERT_TRUE(store->sync().ok());
        EXPECT_EQ(store->last_index(), log_index(3));
    }
    auto store = open_store(dir.path());
    recovered_state state = load(*store);
    EXPECT_EQ(state.entries, (std::vector<entry>{make(1, 1), make(2, 2, "a"), make(3, 3, "B")}));
}

TEST(durable_log_store, append_must_continue_the_log) {
    temp_dir dir;
    auto store = open_store(dir.path());
    ASSERT_TRUE(store->append(std::vector<entry>{make(1, 1)}).ok());
    EXPECT_FALSE(store->append(std::vector<entry>{make(1, 3)}).ok());
}

// Raft §7: compaction keeps the entries after the snapshot point.
TEST(durable_log_store, compaction_drops_the_prefix_and_keeps_the_rest) {
    temp_dir dir;
    snapshot snap{{log_index(30), raft_term(2), {.voters = {node_id(1)}}}, proto::bytes{1, 2, 3}};
    {
        auto store = open_store(dir.path());
        ASSERT_TRUE(store->save_hard_state(hard_state{raft_term(2), no_node}).ok());
        std::vector<entry> entries;
        for (int i = 1; i <= 60; ++i) {
            entries.push_back(make(i <= 20 ? 1 : 2, i, std::string(200, static_cast<char>('a' + i % 26))));
        }
        ASSERT_TRUE(store->append(entries).ok());
        ASSERT_TRUE(store->sync().ok());
        ASSERT_TRUE(store->save_snapshot(snap).ok());
        EXPECT_GT(store->first_index(), log_index(1)); // whole segments went away
    }
    auto store = open_store(dir.path());
    recovered_state state = load(*store);
    ASSERT_TRUE(state.snapshot.has_value());
    EXPECT_EQ(*state.snapshot, snap);
    ASSERT_EQ(state.entries.size(), 30u);
    EXPECT_EQ(state.entries.front().index, log_index(31));
    EXPECT_EQ(state.entries.back().index, log_index(60));
}

// Raft §7: an installed snapshot whose point the log does not hold (or holds
// with another term) replaces the whole log.
TEST(durable_log_store, installed_snapshot_replaces_a_divergent_log) {
    temp_dir dir;
    snapshot snap{{log_index(10), raft_term(4), {.voters = {node_id(1), node_id(2)}}}, proto::bytes{9}};
    {
        auto store = open_store(dir.path());
        ASSERT_TRUE(store->save_hard_state(hard_state{raft_term(4), no_node}).ok());
        std::vector<entry> entries;
        for (int i = 1; i <= 12; ++i) {
            entries.push_back(make(1, i));
        }
        ASSERT_TRUE(store->append(entries).ok());
        ASSERT_TRUE(store->sync().ok());
        ASSERT_TRUE(store->truncate_suffix(log_index(11)).ok());
        ASSERT_TRUE(store->save_snapshot(snap).ok());
        ASSERT_TRUE(store->append(std::vector<entry>{make(4, 11, "next")}).ok());
        ASSERT_TRUE(store->sync().ok());
    }
    auto store = open_store(dir.path());
    recovered_state state = load(*store);
    ASSERT_TRUE(state.snapshot.has_value());
    EXPECT_EQ(state.snapshot->metadata.index, log_index(10));
    EXPECT_EQ(state.entries, (std::vector<entry>{make(4, 11, "next")}));
}

TEST(durable_log_store, corrupt_quorum_state_is_reported) {
    temp_dir dir;
    {
        auto store = open_store(dir.path());
        ASSERT_TRUE(store->save_hard_state(hard_state{raft_term(7), node_id(1)}).ok());
    }
    const auto path = fs::path(dir.path()) / hard_state_file_name;
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    f.put('\x55');
    f.close();
    auto store = open_store(dir.path());
    auto r = store->load();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.err().message.find("checksum"), std::string::npos) << r.err().message;
}

TEST(durable_log_store, corrupt_snapshot_is_reported) {
    temp_dir dir;
    {
        auto store = open_store(dir.path());
        ASSERT_TRUE(store->append(std::vector<entry>{make(1, 1), make(1, 2)}).ok());
        ASSERT_TRUE(store->save_snapshot(snapshot{{log_index(2), raft_term(1), {}}, proto::bytes(100, 7)}).ok());
    }
    fs::resize_file(fs::path(dir.path()) / snapshot_file_name, 50); // a torn file, as if rename were not atomic
    auto store = open_store(dir.path());
    EXPECT_FALSE(store->load().ok());
}

TEST(durable_log_store, state_files_reject_every_truncation) {
    const proto::bytes hs = encode_hard_state_file(hard_state{raft_term(5), node_id(3)});
    EXPECT_EQ(hs.size(), hard_state_file_bytes);
    for (size_t n = 0; n < hs.size(); ++n) {
        EXPECT_FALSE(decode_hard_state_file(proto::bytes_view(hs.data(), n)).ok()) << n;
    }
    const proto::bytes sn = encode_snapshot_file(snapshot{{log_index(4), raft_term(2), {}}, proto::bytes{1, 2}});
    for (size_t n = 0; n < sn.size(); ++n) {
        EXPECT_FALSE(decode_snapshot_file(proto::bytes_view(sn.data(), n)).ok()) << n;
    }
}

// A crash keeps what was synced and at most a torn prefix of the rest; the
// recovery scan cuts the torn tail, and the hard state (written atomically)
// is whole. Several seeds, because the faulty file system tears at random.
TEST(durable_log_store, a_crash_keeps_synced_entries_and_a_clean_prefix_of_the_rest) {
    for (uint64_t seed = 1; seed <= 8; ++seed) {
        temp_dir dir;
        auto faulty = std::make_shared<storage::faulty_file_system>(storage::make_posix_file_system(), seed);
        {
            auto store = open_store(dir.path(), faulty);
            ASSERT_TRUE(store->save_hard_state(hard_state{raft_term(2), node_id(1)}).ok());
            std::vector<entry> synced;
            for (int i = 1; i <= 5; ++i) {
                synced.push_back(make(2, i, "synced"));
            }
            ASSERT_TRUE(store->append(synced).ok());
            ASSERT_TRUE(store->sync().ok());
            std::vector<entry> unsynced;
            for (int i = 6; i <= 12; ++i) {
                unsynced.push_back(make(2, i, std::string(300, 'u')));
            }
            ASSERT_TRUE(store->append(unsynced).ok());
        }
        ASSERT_TRUE(faulty->crash().ok());
        auto store = open_store(dir.path(), faulty);
        recovered_state state = load(*store);
        EXPECT_EQ(state.hard_state, (hard_state{raft_term(2), node_id(1)})) << "seed " << seed;
        ASSERT_GE(state.entries.size(), 5u) << "seed " << seed;
        ASSERT_LE(state.entries.size(), 12u) << "seed " << seed;
        for (size_t i = 0; i < state.entries.size(); ++i) {
            EXPECT_EQ(state.entries[i].index, log_index(static_cast<int64_t>(i) + 1)) << "seed " << seed;
        }
        // The log continues cleanly after the cut.
        const log_index next = store->last_index() + 1;
        EXPECT_TRUE(store->append(std::vector<entry>{make(3, next.value(), "after")}).ok()) << "seed " << seed;
    }
}

// A single-voter Raft driven through the durable store, restarted from disk:
// the state machine comes back with the same log and term.
TEST(durable_log_store, consensus_restarts_from_the_durable_store) {
    temp_dir dir;
    options o;
    o.id = node_id(1);
    o.initial_configuration.voters = {node_id(1)};
    raft_term term_before;
    {
        auto store = open_store(dir.path());
        consensus r(o, load(*store));
        r.campaign();
        for (int i = 0; i < 3; ++i) {
            ASSERT_TRUE(r.propose(proto::bytes{static_cast<uint8_t>('a' + i)}).ok());
        }
        for (int round = 0; round < 10 && r.has_ready(); ++round) {
            ready rd = r.ready();
            ASSERT_TRUE(persist(*store, rd).ok());
            (void)r.advance(std::move(rd));
        }
        EXPECT_EQ(r.log().committed(), log_index(5));
        term_before = r.term();
    }
    auto store = open_store(dir.path());
    consensus r(o, load(*store));
    EXPECT_EQ(r.term(), term_before);
    EXPECT_EQ(r.status().voted_for, node_id(1));
    EXPECT_EQ(r.log().last_index(), log_index(5));
    EXPECT_EQ(r.log().at(log_index(5)).data, proto::bytes{'c'});
}

} // namespace
} // namespace runnel::raft::node
