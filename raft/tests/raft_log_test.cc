// Unit tests of the in-memory Raft log: matching, conflicts, hints,
// compaction and the unpersisted suffix.
#include <gtest/gtest.h>

#include "raft/raft_log.h"

namespace runnel::raft {
namespace {

entry make(int64_t term, int64_t index) { return entry{raft_term(term), log_index(index), entry_type::normal, {}}; }

raft_log log_with_terms(std::initializer_list<int64_t> terms) {
    std::vector<entry> entries;
    int64_t index = 1;
    for (int64_t t : terms) {
        entries.push_back(make(t, index++));
    }
    return raft_log({}, std::move(entries));
}

TEST(raft_log, empty_log_has_the_zero_sentinel) {
    raft_log log;
    EXPECT_EQ(log.last_index(), log_index(0));
    EXPECT_EQ(log.last_term(), raft_term(0));
    EXPECT_TRUE(log.matches(log_index(0), raft_term(0)));
    EXPECT_FALSE(log.term_at(log_index(1)).has_value());
}

// Raft §5.4.1: the later last term wins; with equal terms the longer log.
TEST(raft_log, up_to_date_compares_last_term_then_length) {
    raft_log log = log_with_terms({1, 1, 2});
    EXPECT_TRUE(log.is_up_to_date(log_index(1), raft_term(3)));
    EXPECT_TRUE(log.is_up_to_date(log_index(3), raft_term(2)));
    EXPECT_TRUE(log.is_up_to_date(log_index(4), raft_term(2)));
    EXPECT_FALSE(log.is_up_to_date(log_index(2), raft_term(2)));
    EXPECT_FALSE(log.is_up_to_date(log_index(9), raft_term(1)));
}

// Raft §5.3: an append whose prev does not match is refused.
TEST(raft_log, try_append_refuses_a_mismatched_prev) {
    raft_log log = log_with_terms({1, 1, 2});
    EXPECT_FALSE(log.try_append(log_index(3), raft_term(3), {make(3, 4)}).has_value());
    EXPECT_FALSE(log.try_append(log_index(5), raft_term(2), {}).has_value());
    EXPECT_EQ(log.last_index(), log_index(3));
}

// Raft §5.3: a conflicting entry and everything after it are replaced.
TEST(raft_log, try_append_replaces_the_conflicting_suffix) {
    raft_log log = log_with_terms({1, 1, 2, 2, 2});
    auto last = log.try_append(log_index(2), raft_term(1), {make(3, 3), make(3, 4)});
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(*last, log_index(4));
    EXPECT_EQ(log.last_index(), log_index(4));
    EXPECT_EQ(*log.term_at(log_index(3)), raft_term(3));
    EXPECT_EQ(log.unstable_from(), log_index(3));
    ASSERT_TRUE(log.store_truncate_from().has_value());
    EXPECT_EQ(*log.store_truncate_from(), log_index(3));
}

// An old, shorter request that agrees with the log must not cut it short.
TEST(raft_log, try_append_never_truncates_on_a_stale_prefix) {
    raft_log log = log_with_terms({1, 1, 2, 2});
    auto last = log.try_append(log_index(1), raft_term(1), {make(1, 2)});
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(*last, log_index(2));
    EXPECT_EQ(log.last_index(), log_index(4));
    EXPECT_FALSE(log.has_unstable());
}

TEST(raft_log, conflict_hint_skips_a_whole_term) {
    raft_log log = log_with_terms({1, 1, 1, 4, 4, 5, 5, 6, 6, 6});
    // Leader says prev=(10, term 3): every entry after index 3 has a higher term.
    auto [index, term] = log.conflict_hint(log_index(10), raft_term(3));
    EXPECT_EQ(index, log_index(3));
    EXPECT_EQ(term, raft_term(1));
    auto [index2, term2] = log.conflict_hint(log_index(7), raft_term(5));
    EXPECT_EQ(index2, log_index(7));
    EXPECT_EQ(term2, raft_term(5));
}

TEST(raft_log, unstable_suffix_is_tracked_until_persisted) {
    raft_log log;
    log.append(make(1, 1));
    log.append(make(1, 2));
    EXPECT_TRUE(log.has_unstable());
    EXPECT_EQ(log.unstable_entries().size(), 2u);
    EXPECT_FALSE(log.store_truncate_from().has_value());
    log.mark_persisted();
    EXPECT_FALSE(log.has_unstable());
    EXPECT_EQ(log.persisted_last(), log_index(2));
}

// Raft §7: compaction keeps the snapshot point's term for matching.
TEST(raft_log, compaction_keeps_the_snapshot_point) {
    raft_log log = log_with_terms({1, 2, 2, 3});
    log.commit_to(log_index(3));
    log.applied_to(log_index(3));
    log.compact(snapshot_metadata{log_index(3), raft_term(2), {}});
    EXPECT_EQ(log.first_index(), log_index(4));
    EXPECT_TRUE(log.matches(log_index(3), raft_term(2)));
    EXPECT_FALSE(log.term_at(log_index(2)).has_value());
    EXPECT_EQ(log.slice(log_index(4), log_index(4), 10, 100).size(), 1u);
}

TEST(raft_log, slice_respects_count_and_bytes) {
    raft_log log;
    for (int i = 1; i <= 5; ++i) {
        log.append(entry{raft_term(1), log_index(i), entry_type::normal, proto::bytes(10, 'x')});
    }
    EXPECT_EQ(log.slice(log_index(1), log_index(5), 3, 1000).size(), 3u);
    EXPECT_EQ(log.slice(log_index(1), log_index(5), 10, 25).size(), 2u);
    EXPECT_EQ(log.slice(log_index(1), log_index(5), 10, 1).size(), 1u); // always at least one
}

TEST(raft_log, configuration_follows_appends_and_truncations) {
    configuration a{.voters = {node_id(1)}};
    configuration b{.voters = {node_id(1), node_id(2)}};
    raft_log log({log_index(0), raft_term(0), a}, {});
    log.append(make(1, 1));
    log.append(entry{raft_term(1), log_index(2), entry_type::configuration, encode(b)});
    EXPECT_EQ(log.latest_configuration(), b);
    EXPECT_EQ(log.configuration_at(log_index(1)), a);
    auto last = log.try_append(log_index(1), raft_term(1), {make(2, 2)});
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(log.latest_configuration(), a); // the uncommitted change was rolled back with its entry
}

} // namespace
} // namespace runnel::raft
