// Tests of a partition's data-path state on a real log and flusher: the
// high watermark waits for the flush that flush.messages asks for (group
// commit), and a waiting fetch is woken once enough bytes become readable.
#include "broker/partition_data.h"

#include <chrono>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <gtest/gtest.h>

#include "storage/tests/test_util.h"

namespace runnel::broker {
namespace {

class partition_data_test : public ::testing::Test {
protected:
    void open(int64_t flush_messages) {
        storage::log_config config = storage::testing::small_config();
        config.flush_messages = flush_messages;
        auto log = storage::partition_log::open(fs_, dir_.sub("t-0"), storage::topic_partition{"t", 0}, config, {});
        ASSERT_TRUE(log.ok());
        partition_ = std::make_unique<partition>("t", proto::uuid{}, model::partition_id(0), model::leader_epoch(3),
                                                 partition_settings{}, std::shared_ptr<storage::partition_log>(
                                                                           std::move(*log)),
                                                 0);
        auto data = std::make_unique<partition_data>(*partition_, io_.get_executor(), flusher_, fs_,
                                                     partition_data_limits{});
        data_ = data.get();
        partition_->set_extension(std::move(data));
    }

    // Appends a batch as the produce path does; returns the end offset.
    int64_t append(int records) {
        auto batch = storage::testing::make_value_batch(records, 1000);
        storage::append_options options;
        options.defer_flush = true;
        options.leader_epoch = 3;
        auto info = partition_->log().append(batch, options);
        EXPECT_TRUE(info.ok());
        data_->appended(info->last_offset, batch.size(), info->flush_needed);
        last_batch_bytes_ = batch.size();
        return info->last_offset + 1;
    }

    // Runs the shard's loop until done() or a bounded number of rounds.
    template <typename Done>
    void run_until(Done done) {
        for (int round = 0; round < 2000 && !done(); ++round) {
            io_.run_for(std::chrono::milliseconds(5));
            io_.restart();
        }
    }

    ~partition_data_test() override {
        flusher_.stop();
        partition_.reset();
    }

    std::shared_ptr<storage::file_system> fs_ = storage::make_posix_file_system();
    storage::testing::temp_dir dir_;
    asio::io_context io_{1};
    storage::flusher flusher_;
    std::unique_ptr<partition> partition_;
    partition_data* data_ = nullptr;
    size_t last_batch_bytes_ = 0;
};

TEST_F(partition_data_test, without_a_flush_the_high_watermark_moves_at_once) {
    open(storage::never);
    EXPECT_EQ(append(3), 3);
    EXPECT_EQ(partition_->high_watermark().value(), 3);
    EXPECT_EQ(partition_->log().recovery_point(), 0); // nothing was fsynced
}

TEST_F(partition_data_test, flush_messages_1_holds_the_high_watermark_until_the_fsync) {
    open(1);
    const int64_t end = append(4);
    EXPECT_EQ(partition_->high_watermark().value(), 0);
    bool durable = false;
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
        auto s = co_await data_->wait_durable(end);
        EXPECT_TRUE(s.ok());
        durable = true;
    }, asio::detached);
    run_until([&] { return durable; });
    ASSERT_TRUE(durable);
    EXPECT_EQ(partition_->high_watermark().value(), end);
    EXPECT_GE(partition_->log().recovery_point(), end);
}

TEST_F(partition_data_test, appends_during_a_flush_join_the_next_one) {
    open(1);
    std::vector<int64_t> ends;
    int done = 0;
    for (int i = 0; i < 20; ++i) {
        ends.push_back(append(2));
        asio::co_spawn(io_, [&, end = ends.back()]() -> asio::awaitable<void> {
            auto s = co_await data_->wait_durable(end);
            EXPECT_TRUE(s.ok());
            ++done;
        }, asio::detached);
    }
    run_until([&] { return done == 20; });
    EXPECT_EQ(done, 20);
    EXPECT_EQ(partition_->high_watermark().value(), 40);
    // One flush was in flight while the other nineteen appends arrived: they
    // shared at most a few fsync passes, not one each.
    EXPECT_LT(flusher_.passes(), 20u);
}

TEST_F(partition_data_test, a_waiting_fetch_is_woken_when_enough_bytes_are_readable) {
    open(storage::never);
    append(1);
    const uint64_t one_batch = last_batch_bytes_;
    auto wait = std::make_shared<fetch_wait>(io_.get_executor(), static_cast<int64_t>(one_batch * 2 + 1));
    ASSERT_TRUE(data_->add_fetch_waiter(wait));
    append(1);
    EXPECT_FALSE(wait->woken());
    append(1);
    EXPECT_FALSE(wait->woken());
    append(1);
    EXPECT_TRUE(wait->woken());
    // The waiter's own wait then returns at once.
    bool returned = false;
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
        co_await wait->wait_until(std::chrono::steady_clock::now() + std::chrono::hours(1));
        returned = true;
    }, asio::detached);
    run_until([&] { return returned; });
    EXPECT_TRUE(returned);
}

TEST_F(partition_data_test, a_wake_cancels_a_wait_in_progress) {
    open(storage::never);
    auto wait = std::make_shared<fetch_wait>(io_.get_executor(), 1);
    ASSERT_TRUE(data_->add_fetch_waiter(wait));
    bool returned = false;
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
        co_await wait->wait_until(std::chrono::steady_clock::now() + std::chrono::hours(1));
        returned = true;
    }, asio::detached);
    io_.poll(); // the coroutine is now waiting on its timer
    io_.restart();
    EXPECT_FALSE(returned);
    append(1);
    run_until([&] { return returned; });
    EXPECT_TRUE(returned);
}

TEST_F(partition_data_test, closing_wakes_waiting_fetches) {
    open(storage::never);
    auto wait = std::make_shared<fetch_wait>(io_.get_executor(), 1 << 30);
    ASSERT_TRUE(data_->add_fetch_waiter(wait));
    data_->close();
    EXPECT_TRUE(wait->woken());
    EXPECT_FALSE(data_->add_fetch_waiter(std::make_shared<fetch_wait>(io_.get_executor(), 1)));
}

} // namespace
} // namespace runnel::broker
