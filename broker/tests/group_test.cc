// Tests of the group state machine: the classic protocol's rules one by one
// (joins, KIP-394, static members, syncs, heartbeats, leaving, sessions,
// deadlines, offsets checks and retention), driven with explicit times.
#include "broker/group/group.h"

#include <gtest/gtest.h>

namespace runnel::broker {
namespace {

using proto::error_code;

constexpr int32_t session_ms = 10000;
constexpr int32_t rebalance_ms = 30000;

proto::bytes text(std::string_view s) { return proto::bytes(s.begin(), s.end()); }

// A ConsumerProtocolSubscription (v0) naming these topics.
proto::bytes subscription(std::initializer_list<std::string> topics) {
    proto::writer w;
    w.write_int16(0);
    w.write_array_length(static_cast<int32_t>(topics.size()));
    for (const auto& t : topics) {
        w.write_string(t);
    }
    w.write_nullable_bytes(std::nullopt);
    return w.release();
}

join_request joining(std::string member_id, std::vector<std::string> protocols = {"range"},
                     std::optional<std::string> instance = std::nullopt) {
    join_request r;
    r.member_id = std::move(member_id);
    r.group_instance_id = std::move(instance);
    r.client_id = "client";
    r.client_host = "/127.0.0.1";
    r.session_timeout_ms = session_ms;
    r.rebalance_timeout_ms = rebalance_ms;
    r.protocol_type = "consumer";
    for (const auto& p : protocols) {
        r.protocols.push_back(join_protocol{p, text(p)});
    }
    return r;
}

template <typename T>
struct capture {
    std::optional<T> result;
    int calls = 0;
    std::function<void(T)> callback() {
        return [this](T r) {
            ++calls;
            result = std::move(r);
        };
    }
};

class group_test : public ::testing::Test {
protected:
    void make(group_config config) {
        config_ = config;
        g_.emplace("g", config_, [this] { return "id" + std::to_string(++ids_); }, 0);
    }
    void SetUp() override {
        group_config c;
        c.initial_rebalance_delay_ms = 0;
        c.offsets_retention_ms = 100000;
        make(c);
    }
    group& g() { return *g_; }

    // Writes every pending store request with this outcome.
    void store_all(error_code outcome = error_code::none, int64_t now = 0) {
        while (auto r = g().take_store_request()) {
            g().stored(r->id, outcome, now);
        }
    }

    // A new member that joins with JoinGroup v0 rules (no member-id round trip).
    capture<join_result>& join_new(std::vector<std::string> protocols = {"range"},
                                   std::optional<std::string> instance = std::nullopt, int64_t now = 0) {
        joins_.emplace_back();
        g().join(joining("", std::move(protocols), std::move(instance)), now, joins_.back().callback());
        return joins_.back();
    }
    capture<join_result>& rejoin(const std::string& id, std::vector<std::string> protocols = {"range"},
                                 std::optional<std::string> instance = std::nullopt, int64_t now = 0) {
        joins_.emplace_back();
        g().join(joining(id, std::move(protocols), std::move(instance)), now, joins_.back().callback());
        return joins_.back();
    }
    capture<sync_result>& sync(const std::string& id, int32_t generation,
                               std::vector<std::pair<std::string, proto::bytes>> assignments = {}, int64_t now = 0,
                               std::optional<std::string> instance = std::nullopt) {
        syncs_.emplace_back();
        sync_request r;
        r.member_id = id;
        r.group_instance_id = std::move(instance);
        r.generation = generation;
        r.assignments = std::move(assignments);
        g().sync(r, now, syncs_.back().callback());
        return syncs_.back();
    }

    // A Stable group of n members formed in one rebalance (through the
    // initial delay); returns the member ids, the leader first.
    std::vector<std::string> form(size_t n, std::vector<std::optional<std::string>> instances = {}) {
        group_config c = config_;
        c.initial_rebalance_delay_ms = 100;
        make(c);
        std::vector<capture<join_result>*> joined;
        for (size_t i = 0; i < n; ++i) {
            joined.push_back(&join_new({"range"}, i < instances.size() ? instances[i] : std::nullopt));
        }
        g().tick(100);
        g().tick(200);
        EXPECT_EQ(g().state(), group_state::completing_rebalance);
        std::vector<std::string> ids;
        for (auto* j : joined) {
            EXPECT_TRUE(j->result);
            ids.push_back(j->result->member_id);
        }
        const std::string leader = joined.front()->result->leader;
        std::stable_partition(ids.begin(), ids.end(), [&](const std::string& id) { return id == leader; });
        std::vector<std::pair<std::string, proto::bytes>> assignments;
        for (const auto& id : ids) {
            assignments.emplace_back(id, text("a-" + id));
        }
        sync(ids.front(), g().generation(), assignments, 200);
        store_all(error_code::none, 200);
        for (size_t i = 1; i < ids.size(); ++i) {
            sync(ids[i], g().generation(), {}, 200);
        }
        EXPECT_EQ(g().state(), group_state::stable);
        return ids;
    }

    group_config config_;
    std::optional<group> g_;
    int ids_ = 0;
    std::deque<capture<join_result>> joins_;
    std::deque<capture<sync_result>> syncs_;
};

TEST_F(group_test, a_new_member_first_gets_its_id_then_joins_kip_394) {
    join_request first = joining("");
    first.require_known_member_id = true;
    capture<join_result> c1;
    g().join(first, 0, c1.callback());
    ASSERT_TRUE(c1.result);
    EXPECT_EQ(c1.result->error, error_code::member_id_required);
    EXPECT_EQ(c1.result->member_id, "client-id1");
    EXPECT_EQ(g().member_count(), 0u);
    EXPECT_EQ(g().pending_member_count(), 1u);

    join_request second = joining("client-id1");
    second.require_known_member_id = true;
    capture<join_result> c2;
    g().join(second, 0, c2.callback());
    ASSERT_TRUE(c2.result);
    EXPECT_EQ(c2.result->error, error_code::none);
    EXPECT_EQ(c2.result->generation, 1);
    EXPECT_EQ(c2.result->leader, "client-id1");
    EXPECT_EQ(c2.result->protocol_name, "range");
    ASSERT_EQ(c2.result->members.size(), 1u);
    EXPECT_EQ(c2.result->members[0].metadata, text("range"));
    EXPECT_EQ(g().state(), group_state::completing_rebalance);
}

TEST_F(group_test, a_pending_member_id_that_never_comes_back_expires) {
    join_request first = joining("");
    first.require_known_member_id = true;
    capture<join_result> c1;
    g().join(first, 0, c1.callback());
    g().tick(session_ms);
    EXPECT_EQ(g().pending_member_count(), 0u);
    auto& late = rejoin(c1.result->member_id, {"range"}, std::nullopt, session_ms);
    EXPECT_EQ(late.result->error, error_code::unknown_member_id);
}

TEST_F(group_test, the_leaders_assignment_is_handed_out_once_stored) {
    auto& j = join_new();
    const std::string id = j.result->member_id;
    auto& s = sync(id, 1, {{id, text("mine")}, {"stranger", text("x")}});
    EXPECT_FALSE(s.result) << "answered before the group's record was stored";
    auto store = g().take_store_request();
    ASSERT_TRUE(store);
    ASSERT_EQ(store->value.members.size(), 1u);
    EXPECT_EQ(store->value.members[0].assignment, text("mine"));
    EXPECT_EQ(store->value.generation, 1);
    g().stored(store->id, error_code::none, 0);
    ASSERT_TRUE(s.result);
    EXPECT_EQ(s.result->error, error_code::none);
    EXPECT_EQ(s.result->assignment, text("mine"));
    EXPECT_EQ(g().state(), group_state::stable);
    // Later syncs of the same generation get the stored assignment at once.
    EXPECT_EQ(sync(id, 1).result->assignment, text("mine"));
    EXPECT_EQ(sync(id, 0).result->error, error_code::illegal_generation);
    EXPECT_EQ(sync("nobody", 1).result->error, error_code::unknown_member_id);
}

TEST_F(group_test, a_failed_store_fails_the_sync_and_rebalances) {
    auto& j = join_new();
    const std::string id = j.result->member_id;
    auto& s = sync(id, 1, {{id, text("mine")}});
    store_all(error_code::not_coordinator);
    ASSERT_TRUE(s.result);
    EXPECT_EQ(s.result->error, error_code::not_coordinator);
    EXPECT_EQ(g().state(), group_state::preparing_rebalance);
}

TEST_F(group_test, a_store_of_an_older_generation_does_not_block_the_next_one) {
    auto& j = join_new();
    const std::string id = j.result->member_id;
    auto& s1 = sync(id, 1, {{id, text("one")}});
    auto old_store = g().take_store_request();
    ASSERT_TRUE(old_store);
    auto& other = join_new(); // a rebalance begins while generation 1's assignment is being written
    EXPECT_EQ(s1.result->error, error_code::rebalance_in_progress);
    rejoin(id);
    ASSERT_TRUE(other.result);
    EXPECT_EQ(g().generation(), 2);
    auto& s2 = sync(id, 2, {{id, text("two")}});
    auto new_store = g().take_store_request();
    ASSERT_TRUE(new_store) << "generation 2's assignment is written although generation 1's is still in flight";
    g().stored(old_store->id, error_code::none, 0);
    EXPECT_FALSE(s2.result);
    g().stored(new_store->id, error_code::none, 0);
    ASSERT_TRUE(s2.result);
    EXPECT_EQ(s2.result->assignment, text("two"));
    EXPECT_EQ(g().state(), group_state::stable);
}

TEST_F(group_test, followers_wait_for_the_leaders_sync) {
    auto ids = form(2);
    EXPECT_EQ(g().generation(), 1);
    EXPECT_EQ(g().assignment_of(ids[0]), text("a-" + ids[0]));
    EXPECT_EQ(g().assignment_of(ids[1]), text("a-" + ids[1]));
    EXPECT_EQ(syncs_.back().result->assignment, text("a-" + ids[1]));
}

TEST_F(group_test, a_joining_member_rebalances_a_stable_group) {
    auto ids = form(1);
    auto& newcomer = join_new({"range"}, std::nullopt, 1000);
    EXPECT_FALSE(newcomer.result);
    EXPECT_EQ(g().state(), group_state::preparing_rebalance);
    EXPECT_EQ(g().heartbeat(ids[0], std::nullopt, 1, 1000), error_code::rebalance_in_progress);
    auto& old = rejoin(ids[0], {"range"}, std::nullopt, 1000);
    ASSERT_TRUE(old.result);
    ASSERT_TRUE(newcomer.result);
    EXPECT_EQ(old.result->generation, 2);
    EXPECT_EQ(newcomer.result->generation, 2);
    EXPECT_EQ(old.result->leader, ids[0]);
    EXPECT_EQ(old.result->members.size(), 2u) << "the leader learns every member";
    EXPECT_TRUE(newcomer.result->members.empty());
    EXPECT_EQ(g().state(), group_state::completing_rebalance);
    EXPECT_EQ(g().heartbeat(ids[0], std::nullopt, 2, 1000), error_code::none);
}

TEST_F(group_test, a_follower_rejoining_unchanged_keeps_the_group_stable) {
    auto ids = form(2);
    auto& again = rejoin(ids[1]);
    ASSERT_TRUE(again.result);
    EXPECT_EQ(again.result->generation, 1);
    EXPECT_EQ(g().state(), group_state::stable);
    // A changed subscription rebalances.
    auto& changed = rejoin(ids[1], {"roundrobin", "range"});
    EXPECT_FALSE(changed.result);
    EXPECT_EQ(g().state(), group_state::preparing_rebalance);
}

TEST_F(group_test, a_silent_member_is_removed_after_its_session_timeout) {
    auto ids = form(2);
    EXPECT_EQ(g().heartbeat(ids[0], std::nullopt, 1, 8000), error_code::none);
    g().tick(session_ms + 199);
    EXPECT_EQ(g().member_count(), 2u) << "the second member's session started at 200";
    g().tick(session_ms + 200);
    EXPECT_EQ(g().member_count(), 1u);
    EXPECT_FALSE(g().has_member(ids[1]));
    EXPECT_EQ(g().state(), group_state::preparing_rebalance);
    auto& j = rejoin(ids[0], {"range"}, std::nullopt, session_ms + 300);
    ASSERT_TRUE(j.result);
    EXPECT_EQ(j.result->generation, 2);
    EXPECT_EQ(j.result->members.size(), 1u);
    EXPECT_EQ(g().heartbeat(ids[1], std::nullopt, 2, session_ms + 300), error_code::unknown_member_id);
}

TEST_F(group_test, members_that_do_not_rejoin_by_the_rebalance_timeout_are_dropped) {
    auto ids = form(2);
    auto& j = rejoin(ids[0], {"range", "roundrobin"}, std::nullopt, 1000); // a change: rebalance
    EXPECT_FALSE(j.result);
    // The other member keeps its session alive but never rejoins.
    for (int64_t t = 2000; t < 1000 + rebalance_ms; t += 2000) {
        EXPECT_EQ(g().heartbeat(ids[1], std::nullopt, 1, t), error_code::rebalance_in_progress);
        g().tick(t);
    }
    EXPECT_FALSE(j.result);
    g().tick(1000 + rebalance_ms);
    ASSERT_TRUE(j.result);
    EXPECT_EQ(j.result->generation, 2);
    EXPECT_EQ(g().member_count(), 1u);
    EXPECT_EQ(g().protocol_name(), "range") << "the leader's first choice";
}

TEST_F(group_test, a_member_that_never_syncs_is_dropped_after_the_rebalance_timeout) {
    group_config c = config_;
    c.initial_rebalance_delay_ms = 100;
    make(c);
    auto& a = join_new();
    auto& b = join_new();
    g().tick(100);
    g().tick(200);
    ASSERT_TRUE(a.result && b.result);
    const std::string leader = a.result->leader;
    const std::string other = a.result->member_id == leader ? b.result->member_id : a.result->member_id;
    sync(leader, 1, {{leader, text("x")}}, 200);
    store_all(error_code::none, 200);
    EXPECT_EQ(g().state(), group_state::stable);
    // Both keep their sessions alive; only one ever asked for its assignment.
    for (int64_t t = 5000; t < 200 + rebalance_ms; t += 5000) {
        EXPECT_EQ(g().heartbeat(leader, std::nullopt, 1, t), error_code::none);
        EXPECT_EQ(g().heartbeat(other, std::nullopt, 1, t), error_code::none);
        g().tick(t);
    }
    g().tick(200 + rebalance_ms - 1);
    EXPECT_EQ(g().member_count(), 2u);
    g().tick(200 + rebalance_ms);
    EXPECT_FALSE(g().has_member(other));
    EXPECT_EQ(g().state(), group_state::preparing_rebalance);
}

TEST_F(group_test, the_initial_delay_waits_for_more_members_and_extends_while_they_come) {
    group_config c = config_;
    c.initial_rebalance_delay_ms = 3000;
    make(c);
    auto& a = join_new({"range"}, std::nullopt, 0);
    g().tick(2999);
    EXPECT_FALSE(a.result);
    auto& b = join_new({"range"}, std::nullopt, 2500);
    g().tick(3000);
    EXPECT_FALSE(a.result) << "a member arrived during the delay: it extends";
    g().tick(5999);
    EXPECT_FALSE(a.result);
    g().tick(6000);
    ASSERT_TRUE(a.result && b.result);
    EXPECT_EQ(a.result->generation, 1);
    EXPECT_EQ(g().member_count(), 2u);
}

TEST_F(group_test, join_checks_session_timeout_protocols_and_size) {
    join_request bad = joining("");
    bad.session_timeout_ms = 1000;
    capture<join_result> c;
    g().join(bad, 0, c.callback());
    EXPECT_EQ(c.result->error, error_code::invalid_session_timeout);

    join_request none = joining("", {});
    g().join(none, 0, c.callback());
    EXPECT_EQ(c.result->error, error_code::inconsistent_group_protocol);

    group_config small = config_;
    small.max_size = 2;
    make(small);
    config_ = small;
    auto ids = form(2);
    join_request other_type = joining("");
    other_type.protocol_type = "connect";
    g().join(other_type, 0, c.callback());
    EXPECT_EQ(c.result->error, error_code::group_max_size_reached) << "the size is checked first";
    EXPECT_EQ(g().member_count(), 2u);
    small.max_size = 10;
    make(small);
    config_ = small;
    ids = form(2);
    g().join(other_type, 0, c.callback());
    EXPECT_EQ(c.result->error, error_code::inconsistent_group_protocol);
    auto& no_common = join_new({"sticky"});
    EXPECT_EQ(no_common.result->error, error_code::inconsistent_group_protocol);
}

TEST_F(group_test, a_pending_member_refused_for_the_size_does_not_hold_up_the_rebalance) {
    config_.max_size = 2;
    auto ids = form(2);
    auto& rebalance = rejoin(ids[1], {"range", "roundrobin"}, std::nullopt, 1000);
    join_request r = joining("");
    r.require_known_member_id = true;
    capture<join_result> first;
    g().join(r, 1000, first.callback());
    ASSERT_EQ(first.result->error, error_code::member_id_required);
    r.member_id = first.result->member_id;
    capture<join_result> second;
    rejoin(ids[0], {"range"}, std::nullopt, 1000);
    g().join(r, 1000, second.callback());
    EXPECT_EQ(second.result->error, error_code::group_max_size_reached);
    EXPECT_EQ(g().pending_member_count(), 0u);
    ASSERT_TRUE(rebalance.result) << "the rebalance completed without waiting for the refused member";
    EXPECT_EQ(rebalance.result->generation, 2);
}

TEST_F(group_test, the_protocol_most_members_prefer_among_common_ones_wins) {
    group_config c = config_;
    c.initial_rebalance_delay_ms = 100;
    make(c);
    join_new({"range", "roundrobin"});
    join_new({"roundrobin", "range"});
    join_new({"roundrobin"});
    g().tick(100);
    g().tick(200);
    EXPECT_EQ(g().protocol_name(), "roundrobin");
}

TEST_F(group_test, leaving_rebalances_and_unknown_members_are_reported) {
    config_.max_size = 10;
    auto ids = form(3, {std::nullopt, std::nullopt, std::string("static-1")});
    const std::string static_id = *g().static_member_id("static-1");
    auto errors = g().leave({member_identity{ids[1] == static_id ? ids[2] : ids[1], std::nullopt},
                             member_identity{"ghost", std::nullopt},
                             member_identity{"", std::string("static-1")},
                             member_identity{"", std::string("no-such-instance")}},
                            1000);
    EXPECT_EQ(errors, (std::vector<error_code>{error_code::none, error_code::unknown_member_id, error_code::none,
                                               error_code::unknown_member_id}));
    EXPECT_EQ(g().member_count(), 1u);
    EXPECT_EQ(g().state(), group_state::preparing_rebalance);
    auto& j = rejoin(ids[0], {"range"}, std::nullopt, 1000);
    ASSERT_TRUE(j.result);
    EXPECT_EQ(j.result->members.size(), 1u);
    // The last member leaving empties the group, whose record is stored.
    sync(ids[0], 2, {}, 1000);
    store_all();
    g().leave({member_identity{ids[0], std::nullopt}}, 2000);
    EXPECT_EQ(g().state(), group_state::empty);
    auto store = g().take_store_request();
    ASSERT_TRUE(store);
    EXPECT_TRUE(store->value.members.empty());
    EXPECT_EQ(store->value.generation, 3);
}

TEST_F(group_test, a_static_member_rejoining_gets_a_new_id_without_a_rebalance_kip_345) {
    auto ids = form(2, {std::string("i-0"), std::string("i-1")});
    const int32_t generation = g().generation();
    const std::string old_id = *g().static_member_id("i-1");
    const std::string leader = *g().leader();
    ASSERT_NE(old_id, leader);
    auto& j = join_new({"range"}, std::string("i-1"), 5000);
    EXPECT_FALSE(j.result) << "answered once the new member id is stored";
    store_all(error_code::none, 5000);
    ASSERT_TRUE(j.result);
    EXPECT_EQ(j.result->error, error_code::none);
    EXPECT_EQ(j.result->generation, generation);
    EXPECT_NE(j.result->member_id, old_id);
    EXPECT_EQ(j.result->leader, leader);
    EXPECT_TRUE(j.result->members.empty());
    EXPECT_EQ(g().state(), group_state::stable);
    EXPECT_EQ(g().generation(), generation);
    // The old incarnation is fenced; the new one has the old assignment.
    EXPECT_EQ(g().heartbeat(old_id, std::string("i-1"), generation, 5000), error_code::fenced_instance_id);
    EXPECT_EQ(g().heartbeat(j.result->member_id, std::string("i-1"), generation, 5000), error_code::none);
    auto& s = sync(j.result->member_id, generation, {}, 5000, std::string("i-1"));
    EXPECT_EQ(s.result->assignment, text("a-" + old_id));
}

TEST_F(group_test, a_static_leader_rejoining_with_v9_learns_it_leads_but_skips_the_assignment) {
    auto ids = form(2, {std::string("i-0"), std::string("i-1")});
    const std::string leader = *g().leader();
    const std::string leader_instance = *g().static_member_id("i-0") == leader ? "i-0" : "i-1";
    join_request r = joining("", {"range"}, leader_instance);
    r.supports_skip_assignment = true;
    capture<join_result> c;
    g().join(r, 5000, c.callback());
    store_all(error_code::none, 5000);
    ASSERT_TRUE(c.result);
    EXPECT_EQ(c.result->leader, c.result->member_id);
    EXPECT_TRUE(c.result->skip_assignment);
    EXPECT_EQ(c.result->members.size(), 2u);
    EXPECT_EQ(g().state(), group_state::stable);
}

TEST_F(group_test, a_static_member_coming_back_to_a_full_group_takes_its_own_place) {
    config_.max_size = 2;
    auto ids = form(2, {std::string("i-0"), std::string("i-1")});
    auto& j = join_new({"range"}, std::string("i-1"), 5000);
    store_all(error_code::none, 5000);
    ASSERT_TRUE(j.result);
    EXPECT_EQ(j.result->error, error_code::none);
    EXPECT_EQ(join_new({"range"}, std::string("i-2"), 5000).result->error, error_code::group_max_size_reached);
}

TEST_F(group_test, a_static_member_id_from_another_incarnation_is_fenced) {
    auto ids = form(1, {std::string("i-0")});
    auto& j = rejoin("someone-else", {"range"}, std::string("i-0"));
    EXPECT_EQ(j.result->error, error_code::fenced_instance_id);
    EXPECT_EQ(g().leave({member_identity{"someone-else", std::string("i-0")}}, 0),
              (std::vector<error_code>{error_code::fenced_instance_id}));
    error_code e = g().validate_offset_commit("someone-else", std::string("i-0"), 1, 0);
    EXPECT_EQ(e, error_code::fenced_instance_id);
}

TEST_F(group_test, offset_commits_follow_the_generation_rules) {
    EXPECT_EQ(g().validate_offset_commit("", std::nullopt, -1, 0), error_code::none) << "simple consumer, Empty group";
    auto ids = form(1);
    EXPECT_EQ(g().validate_offset_commit("", std::nullopt, -1, 0), error_code::unknown_member_id);
    EXPECT_EQ(g().validate_offset_commit(ids[0], std::nullopt, 1, 0), error_code::none);
    EXPECT_EQ(g().validate_offset_commit(ids[0], std::nullopt, 0, 0), error_code::illegal_generation);
    join_new(); // PreparingRebalance: members of the current generation may still commit
    EXPECT_EQ(g().validate_offset_commit(ids[0], std::nullopt, 1, 0), error_code::none);
    rejoin(ids[0]); // CompletingRebalance
    EXPECT_EQ(g().validate_offset_commit(ids[0], std::nullopt, 2, 0), error_code::rebalance_in_progress);
}

TEST_F(group_test, offsets_keep_the_newest_record) {
    group_records::offset_value v;
    v.offset = 10;
    g().apply_offset({"t", 0}, v, 5);
    v.offset = 7;
    g().apply_offset({"t", 0}, v, 4); // an older record replayed or applied late
    EXPECT_EQ(g().offsets().at({"t", 0}).value.offset, 10);
    v.offset = 12;
    g().apply_offset({"t", 0}, v, 6);
    EXPECT_EQ(g().offsets().at({"t", 0}).value.offset, 12);
}

TEST_F(group_test, a_simple_groups_offsets_expire_one_by_one) {
    group_records::offset_value v;
    v.commit_timestamp = 0;
    g().apply_offset({"t", 0}, v, 1);
    v.commit_timestamp = 1000;
    g().apply_offset({"t", 1}, v, 2);
    v.commit_timestamp = 0;
    v.expire_timestamp = 50;
    g().apply_offset({"t", 2}, v, 3);
    EXPECT_EQ(g().expired_offsets(49), (std::vector<topic_partition_key>{}));
    EXPECT_EQ(g().expired_offsets(50), (std::vector<topic_partition_key>{{"t", 2}}));
    EXPECT_EQ(g().expired_offsets(100000), (std::vector<topic_partition_key>{{"t", 0}, {"t", 2}}));
    EXPECT_EQ(g().expired_offsets(101000).size(), 3u);
}

TEST_F(group_test, an_empty_consumer_groups_offsets_age_from_when_it_emptied) {
    auto ids = form(1);
    group_records::offset_value v;
    v.commit_timestamp = 0;
    g().apply_offset({"t", 0}, v, 1);
    EXPECT_TRUE(g().expired_offsets(500000).empty()) << "a Stable group subscribed to t keeps them";
    g().leave({member_identity{ids[0], std::nullopt}}, 50000);
    ASSERT_EQ(g().state(), group_state::empty);
    EXPECT_TRUE(g().expired_offsets(50000 + 99999).empty());
    EXPECT_EQ(g().expired_offsets(50000 + 100000).size(), 1u);
}

TEST_F(group_test, a_stable_consumer_group_expires_offsets_of_topics_nobody_subscribes_to) {
    join_request r = joining("");
    r.protocols = {join_protocol{"range", subscription({"a"})}};
    capture<join_result> c;
    g().join(r, 0, c.callback());
    sync(c.result->member_id, 1, {}, 0);
    store_all();
    ASSERT_EQ(g().state(), group_state::stable);
    group_records::offset_value v;
    v.commit_timestamp = 0;
    g().apply_offset({"a", 0}, v, 1);
    g().apply_offset({"b", 0}, v, 2);
    EXPECT_EQ(g().expired_offsets(100000), (std::vector<topic_partition_key>{{"b", 0}}));
    EXPECT_EQ(g().subscribed_topics(), (std::set<std::string>{"a"}));
}

TEST_F(group_test, a_loaded_group_is_stable_and_its_members_carry_on) {
    group_records::group_value v;
    v.protocol_type = "consumer";
    v.generation = 7;
    v.protocol = "range";
    v.leader = "m1";
    v.current_state_timestamp = 5;
    for (const char* id : {"m1", "m2"}) {
        group_records::member_value m;
        m.member_id = id;
        m.session_timeout_ms = session_ms;
        m.rebalance_timeout_ms = rebalance_ms;
        m.subscription = text("sub");
        m.assignment = text(std::string("as-") + id);
        v.members.push_back(m);
    }
    group loaded = group::loaded("g", v, config_, [] { return std::string("x"); }, 1000);
    EXPECT_EQ(loaded.state(), group_state::stable);
    EXPECT_EQ(loaded.generation(), 7);
    EXPECT_EQ(loaded.heartbeat("m1", std::nullopt, 7, 2000), error_code::none);
    EXPECT_EQ(loaded.assignment_of("m2"), text("as-m2"));
    EXPECT_EQ(loaded.to_record(), v);
    loaded.tick(1000 + session_ms);
    EXPECT_FALSE(loaded.has_member("m2")) << "m2 never came back";
    EXPECT_TRUE(loaded.has_member("m1"));
    EXPECT_EQ(loaded.state(), group_state::preparing_rebalance);
}

TEST_F(group_test, a_second_join_of_the_same_member_answers_the_first) {
    auto ids = form(2);
    auto& first = rejoin(ids[0], {"range"}, std::nullopt, 100);
    EXPECT_FALSE(first.result);
    auto& second = rejoin(ids[0], {"range"}, std::nullopt, 200);
    ASSERT_TRUE(first.result);
    EXPECT_EQ(first.result->error, error_code::rebalance_in_progress);
    EXPECT_FALSE(second.result);
    rejoin(ids[1], {"range"}, std::nullopt, 300);
    ASSERT_TRUE(second.result);
    EXPECT_EQ(second.result->generation, 2);
}

TEST_F(group_test, abandoning_answers_every_waiting_request) {
    auto ids = form(2);
    auto& j = rejoin(ids[0], {"range", "roundrobin"});
    EXPECT_FALSE(j.result);
    g().abandon(error_code::not_coordinator);
    ASSERT_TRUE(j.result);
    EXPECT_EQ(j.result->error, error_code::not_coordinator);
}

TEST_F(group_test, describes_members_fully_only_when_stable) {
    auto ids = form(2);
    group_summary s = g().summary();
    EXPECT_EQ(to_string(s.state), "Stable");
    EXPECT_EQ(s.protocol, "range");
    ASSERT_EQ(s.members.size(), 2u);
    EXPECT_FALSE(s.members[0].assignment.empty());
    rejoin(ids[1], {"roundrobin", "range"});
    s = g().summary();
    EXPECT_EQ(to_string(s.state), "PreparingRebalance");
    EXPECT_EQ(s.protocol, "");
    EXPECT_TRUE(s.members[0].assignment.empty());
    EXPECT_EQ(parse_group_state("preparingrebalance"), group_state::preparing_rebalance);
    EXPECT_EQ(parse_group_state("bogus"), std::nullopt);
}

} // namespace
} // namespace runnel::broker
