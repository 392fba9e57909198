// The connection limits' bookkeeping: max.connections and
// max.connections.per.ip counting, and the request memory pool
// (queued.max.request.bytes) with its waiters.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include "broker/connection_quotas.h"
#include "broker/request_memory.h"

namespace runnel::broker {
namespace {

using refusal = connection_quotas::refusal;

TEST(connection_quotas, max_connections_counts_every_address) {
    auto quotas = connection_quotas::create(2, 100);
    connection_quotas::slot a, b, c;
    EXPECT_EQ(quotas->try_admit("10.0.0.1", a), refusal::none);
    EXPECT_EQ(quotas->try_admit("10.0.0.2", b), refusal::none);
    EXPECT_EQ(quotas->try_admit("10.0.0.3", c), refusal::max_connections);
    EXPECT_EQ(quotas->count(), 2);
    a = connection_quotas::slot(); // the connection ends
    EXPECT_EQ(quotas->count(), 1);
    EXPECT_EQ(quotas->try_admit("10.0.0.3", c), refusal::none);
    EXPECT_EQ(quotas->count("10.0.0.3"), 1);
}

TEST(connection_quotas, max_connections_per_ip_counts_one_address) {
    auto quotas = connection_quotas::create(100, 2);
    connection_quotas::slot a1, a2, a3, b1;
    EXPECT_EQ(quotas->try_admit("10.0.0.1", a1), refusal::none);
    EXPECT_EQ(quotas->try_admit("10.0.0.1", a2), refusal::none);
    EXPECT_EQ(quotas->try_admit("10.0.0.1", a3), refusal::max_connections_per_ip);
    EXPECT_EQ(quotas->try_admit("10.0.0.2", b1), refusal::none);
    EXPECT_EQ(quotas->count("10.0.0.1"), 2);
    {
        connection_quotas::slot moved = std::move(a1); // a moved slot is counted once
        EXPECT_EQ(quotas->count("10.0.0.1"), 2);
    }
    EXPECT_EQ(quotas->count("10.0.0.1"), 1);
    EXPECT_EQ(quotas->try_admit("10.0.0.1", a3), refusal::none);
    EXPECT_EQ(quotas->count(), 3);
}

TEST(connection_quotas, zero_admits_nothing) {
    auto quotas = connection_quotas::create(0, 10);
    connection_quotas::slot s;
    EXPECT_EQ(quotas->try_admit("10.0.0.1", s), refusal::max_connections);
    auto per_ip = connection_quotas::create(10, 0);
    EXPECT_EQ(per_ip->try_admit("10.0.0.1", s), refusal::max_connections_per_ip);
    EXPECT_EQ(per_ip->count(), 0);
}

TEST(connection_quotas, slots_keep_the_quotas_alive) {
    connection_quotas::slot s;
    {
        auto quotas = connection_quotas::create(1, 1);
        ASSERT_EQ(quotas->try_admit("10.0.0.1", s), refusal::none);
    }
    s = connection_quotas::slot(); // releases into quotas that only the slot still holds (ASan checks)
}

TEST(request_memory_pool, grants_while_any_memory_is_free) {
    auto pool = request_memory_pool::create(100);
    request_memory_pool::reservation a, b, c;
    EXPECT_TRUE(pool->try_reserve(60, a));
    // Kafka's rule: 40 bytes are free, so a bigger request still gets its
    // memory (a request larger than the whole pool is never starved).
    EXPECT_TRUE(pool->try_reserve(150, b));
    EXPECT_EQ(pool->used(), 210);
    EXPECT_FALSE(pool->try_reserve(1, c));
    EXPECT_EQ(c.size(), 0u);
    b.release();
    EXPECT_EQ(pool->used(), 60);
    EXPECT_TRUE(pool->try_reserve(10, a)); // adds to a reservation
    EXPECT_EQ(a.size(), 70u);
    a = request_memory_pool::reservation();
    EXPECT_EQ(pool->used(), 0);
}

TEST(request_memory_pool, unbounded_pool_always_grants) {
    auto pool = request_memory_pool::create(-1);
    request_memory_pool::reservation r;
    EXPECT_TRUE(pool->try_reserve(size_t{1} << 40, r));
    EXPECT_TRUE(pool->try_reserve(1, r));
    EXPECT_FALSE(pool->bounded());
}

TEST(request_memory_pool, a_waiter_tries_again_once_memory_comes_back) {
    asio::io_context io;
    auto pool = request_memory_pool::create(10);
    auto held = std::make_unique<request_memory_pool::reservation>();
    ASSERT_TRUE(pool->try_reserve(10, *held));
    auto timer = std::make_shared<asio::steady_timer>(io);
    request_memory_pool::reservation got;
    int waits = 0;
    bool done = false;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        // Bounded: the holder gives its memory back after the first wait.
        while (!pool->try_reserve(4, got)) {
            ++waits;
            co_await pool->wait(timer);
            held.reset();
        }
        done = true;
    }, asio::detached);
    io.run();
    EXPECT_TRUE(done);
    EXPECT_GE(waits, 1);
    EXPECT_EQ(got.size(), 4u);
    EXPECT_EQ(pool->used(), 4);
}

TEST(request_memory_pool, giving_back_wakes_the_waiters) {
    // The holder gives back while the waiter waits: the pool posts a cancel
    // of the waiter's timer to the waiter's executor, and the wait ends.
    asio::io_context io;
    auto pool = request_memory_pool::create(10);
    request_memory_pool::reservation held;
    ASSERT_TRUE(pool->try_reserve(10, held));
    auto timer = std::make_shared<asio::steady_timer>(io);
    bool woke = false;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        co_await pool->wait(timer);
        woke = true;
    }, asio::detached);
    asio::post(io, [&] { held.release(); });
    io.run();
    EXPECT_TRUE(woke);
    EXPECT_EQ(pool->used(), 0);
}

TEST(request_memory_pool, unit_slots_never_exceed_the_capacity_across_threads) {
    // queued.max.requests: every shard takes and gives back one unit per request.
    constexpr int64_t capacity = 3;
    auto pool = request_memory_pool::create(capacity);
    std::atomic<int64_t> held{0};
    std::atomic<int64_t> most{0};
    std::atomic<int64_t> granted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            request_memory_pool::reservation slot;
            for (int i = 0; i < 20000; ++i) {
                if (!pool->try_reserve(1, slot)) {
                    continue;
                }
                const int64_t now = held.fetch_add(1) + 1;
                int64_t seen = most.load();
                while (now > seen && !most.compare_exchange_weak(seen, now)) {
                }
                granted.fetch_add(1);
                held.fetch_sub(1);
                slot.release();
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_LE(most.load(), capacity);
    EXPECT_GT(granted.load(), 0);
    EXPECT_EQ(pool->used(), 0);
}

} // namespace
} // namespace runnel::broker
