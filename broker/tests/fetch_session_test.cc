// Tests of the KIP-227 fetch session cache: full and incremental requests,
// the two session errors, what an incremental answer includes, and eviction.
#include "broker/fetch_session.h"

#include <limits>

#include <gtest/gtest.h>

namespace runnel::broker {
namespace {

using kind = fetch_session_context::kind;
using proto::error_code;

fetch_session_partition part(std::string topic, int32_t partition, int64_t offset = 0) {
    fetch_session_partition p;
    p.key.topic = std::move(topic);
    p.key.partition = partition;
    p.fetch_offset = offset;
    p.partition_max_bytes = 1 << 20;
    return p;
}

std::vector<fetch_session_partition> parts(int n) {
    std::vector<fetch_session_partition> out;
    for (int i = 0; i < n; ++i) {
        out.push_back(part("t", i));
    }
    return out;
}

fetch_session_cache make_cache(size_t slots = 10, size_t shard = 0, size_t shards = 1) {
    fetch_session_limits limits;
    limits.slots = slots;
    limits.eviction_ms = 1000;
    return fetch_session_cache(limits, shard, shards, 42);
}

TEST(fetch_session, epochs_advance_and_wrap_to_one) {
    EXPECT_EQ(next_fetch_epoch(0), 1);
    EXPECT_EQ(next_fetch_epoch(5), 6);
    EXPECT_EQ(next_fetch_epoch(std::numeric_limits<int32_t>::max()), 1);
    EXPECT_EQ(next_fetch_epoch(-1), -1);
}

TEST(fetch_session, epoch_zero_is_full_and_minus_one_is_sessionless) {
    auto cache = make_cache();
    EXPECT_EQ(cache.open(0, 0, 0).type, kind::full);
    EXPECT_EQ(cache.open(0, -1, 0).type, kind::sessionless);
}

TEST(fetch_session, incremental_requests_need_the_next_epoch) {
    auto cache = make_cache();
    fetch_session* s = cache.create(false, parts(3), 0);
    ASSERT_NE(s, nullptr);
    const int32_t id = s->id();
    EXPECT_GT(id, 0);
    EXPECT_EQ(s->next_epoch(), 1);

    auto first = cache.open(id, 1, 10);
    ASSERT_EQ(first.type, kind::incremental);
    EXPECT_EQ(first.session, s);
    EXPECT_EQ(s->next_epoch(), 2);

    auto replay = cache.open(id, 1, 10); // a repeated epoch
    EXPECT_EQ(replay.type, kind::error);
    EXPECT_EQ(replay.error, error_code::invalid_fetch_session_epoch);
    auto skip = cache.open(id, 3, 10);
    EXPECT_EQ(skip.error, error_code::invalid_fetch_session_epoch);
    EXPECT_EQ(cache.open(id, 2, 10).type, kind::incremental); // the session survives bad epochs
    EXPECT_EQ(cache.open(id, -5, 10).error, error_code::invalid_fetch_session_epoch);
}

TEST(fetch_session, an_unknown_session_id_is_not_found) {
    auto cache = make_cache();
    auto ctx = cache.open(12345, 1, 0);
    EXPECT_EQ(ctx.type, kind::error);
    EXPECT_EQ(ctx.error, error_code::fetch_session_id_not_found);
}

TEST(fetch_session, a_full_request_closes_the_session_it_names) {
    auto cache = make_cache();
    const int32_t a = cache.create(false, parts(1), 0)->id();
    const int32_t b = cache.create(false, parts(1), 0)->id();
    EXPECT_EQ(cache.open(a, 0, 0).type, kind::full);
    EXPECT_EQ(cache.find(a), nullptr);
    EXPECT_EQ(cache.open(b, -1, 0).type, kind::sessionless);
    EXPECT_EQ(cache.find(b), nullptr);
    EXPECT_EQ(cache.size(), 0u);
}

TEST(fetch_session, requests_update_and_forget_partitions) {
    auto cache = make_cache();
    fetch_session* s = cache.create(false, parts(2), 0);
    s->upsert(part("t", 1, 77));
    s->upsert(part("u", 0, 5));
    s->forget(part("t", 0).key);
    ASSERT_EQ(s->size(), 2u);
    EXPECT_EQ(s->find(part("t", 1).key)->fetch_offset, 77);
    EXPECT_EQ(s->find(part("t", 0).key), nullptr);
    s->forget(part("nope", 9).key); // forgetting an unknown partition is harmless
    EXPECT_EQ(s->size(), 2u);
}

TEST(fetch_session, incremental_answers_include_only_changed_partitions) {
    auto cache = make_cache();
    fetch_session* s = cache.create(false, parts(1), 0);
    const auto key = part("t", 0).key;
    fetch_partition_outcome o;
    o.high_watermark = 10;
    o.last_stable_offset = 10;
    o.log_start_offset = 0;
    EXPECT_TRUE(s->note_answer(key, o, false)); // a full answer has everything
    EXPECT_FALSE(s->note_answer(key, o, true)); // nothing new
    o.records_bytes = 100;
    EXPECT_TRUE(s->note_answer(key, o, true)); // records
    o.records_bytes = 0;
    o.high_watermark = 11;
    o.last_stable_offset = 11;
    EXPECT_TRUE(s->note_answer(key, o, true)); // the high watermark moved
    EXPECT_FALSE(s->note_answer(key, o, true));
    o.log_start_offset = 3;
    EXPECT_TRUE(s->note_answer(key, o, true)); // the log start moved
    o.error_code = 1;
    EXPECT_TRUE(s->note_answer(key, o, true)); // errors always
    EXPECT_TRUE(s->note_answer(key, o, true));
}

TEST(fetch_session, partitions_with_data_move_to_the_back) {
    auto cache = make_cache();
    fetch_session* s = cache.create(false, parts(3), 0);
    fetch_partition_outcome o;
    o.records_bytes = 1;
    s->note_answer(part("t", 0).key, o, true);
    std::vector<int32_t> order;
    for (const auto& p : s->partitions()) {
        order.push_back(p.key.partition);
    }
    EXPECT_EQ(order, (std::vector<int32_t>{1, 2, 0}));
}

TEST(fetch_session, ids_belong_to_their_shard) {
    auto cache = make_cache(100, 2, 3);
    for (int i = 0; i < 50; ++i) {
        auto* s = cache.create(false, parts(1), 0);
        ASSERT_NE(s, nullptr);
        EXPECT_EQ(s->id() % 3, 2);
        EXPECT_GT(s->id(), 0);
    }
    EXPECT_EQ(cache.size(), 50u);
}

TEST(fetch_session, a_full_cache_evicts_a_stale_session_first) {
    auto cache = make_cache(2);
    const int32_t a = cache.create(false, parts(5), 0)->id();
    const int32_t b = cache.create(false, parts(5), 500)->id();
    // Nothing is stale at t=900 and a 1-partition session is worth less: no room.
    EXPECT_EQ(cache.create(false, parts(1), 900), nullptr);
    EXPECT_EQ(cache.size(), 2u);
    // At t=1001 a (last used at 0) has been idle past the eviction time.
    auto* c = cache.create(false, parts(1), 1001);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(cache.find(a), nullptr);
    EXPECT_NE(cache.find(b), nullptr);
    EXPECT_EQ(cache.evictions(), 1u);
}

TEST(fetch_session, touching_a_session_protects_it) {
    auto cache = make_cache(2);
    const int32_t a = cache.create(false, parts(5), 0)->id();
    const int32_t b = cache.create(false, parts(5), 0)->id();
    ASSERT_EQ(cache.open(a, 1, 900).type, kind::incremental);
    ASSERT_NE(cache.create(false, parts(1), 1500), nullptr);
    EXPECT_NE(cache.find(a), nullptr);
    EXPECT_EQ(cache.find(b), nullptr);
}

TEST(fetch_session, an_old_session_gives_way_only_to_a_bigger_one) {
    auto cache = make_cache(2);
    const int32_t small = cache.create(false, parts(2), 0)->id();
    const int32_t big = cache.create(false, parts(8), 0)->id();
    // Both used recently (so neither is stale), both older than the eviction time.
    ASSERT_EQ(cache.open(small, 1, 1500).type, kind::incremental);
    ASSERT_EQ(cache.open(big, 1, 1500).type, kind::incremental);
    EXPECT_EQ(cache.create(false, parts(2), 1600), nullptr); // equal value: no
    auto* mid = cache.create(false, parts(3), 1600);
    ASSERT_NE(mid, nullptr);
    EXPECT_EQ(cache.find(small), nullptr);
    EXPECT_NE(cache.find(big), nullptr);
}

TEST(fetch_session, a_follower_may_displace_a_young_consumer_session) {
    auto cache = make_cache(1);
    const int32_t consumer = cache.create(false, parts(4), 0)->id();
    EXPECT_EQ(cache.create(false, parts(9), 10), nullptr); // young: safe from other consumers
    ASSERT_NE(cache.create(true, parts(1), 10), nullptr);
    EXPECT_EQ(cache.find(consumer), nullptr);
}

TEST(fetch_session, zero_slots_means_no_sessions) {
    auto cache = make_cache(0);
    EXPECT_EQ(cache.create(false, parts(1), 0), nullptr);
}

} // namespace
} // namespace runnel::broker
