// Log compaction: the latest value per key survives with its offset, every
// offset stays readable in order, tombstones expire, compressed batches are
// rewritten, stale outputs are refused, and an interrupted swap completes.
#include <future>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "storage/format.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

using namespace runnel::storage::testing;

constexpr int64_t now_ms = 1'000'000;

class compaction_test : public ::testing::Test {
protected:
    void SetUp() override {
        config_ = small_config();
        config_.cleanup = cleanup_policy::compact;
        config_.delete_retention_ms = 1000;
        log_ = open_log(false);
    }

    std::unique_ptr<partition_log> open_log(bool clean) {
        log_open_options options;
        options.clean_shutdown = clean;
        auto log = partition_log::open(fs_, dir_.sub("c-0"), topic_partition{"c", 0}, config_, options);
        EXPECT_TRUE(log.ok());
        return log.ok() ? std::move(log).value() : nullptr;
    }

    // Appends `batches` batches of keyed records and remembers them all.
    void fill(int batches, uint64_t seed) {
        std::mt19937_64 rng(seed);
        const proto::compression_type codecs[] = {proto::compression_type::none, proto::compression_type::gzip,
                                                  proto::compression_type::snappy, proto::compression_type::lz4,
                                                  proto::compression_type::zstd};
        for (int b = 0; b < batches; ++b) {
            std::vector<test_record> records;
            int count = 1 + static_cast<int>(rng() % 4);
            for (int i = 0; i < count; ++i) {
                std::string key = "key" + std::to_string(rng() % 12);
                std::string value = "value-" + std::to_string(rng() % 100000);
                records.push_back(test_record{key, value, now_ms - 10});
            }
            auto batch = make_batch(records, codecs[rng() % 5]);
            append_options options;
            options.now_ms = now_ms;
            auto r = log_->append(batch, options);
            ASSERT_TRUE(r.ok());
            for (int i = 0; i < count; ++i) {
                appended_.push_back(read_record{r->base_offset + i, records[i]});
            }
        }
    }

    // What compaction of everything below `end` must leave.
    std::vector<read_record> expected_after(int64_t end) const {
        std::map<std::string, int64_t> latest;
        for (const auto& r : appended_) {
            if (r.offset < end && r.record.key) {
                latest[*r.record.key] = r.offset;
            }
        }
        std::vector<read_record> out;
        for (const auto& r : appended_) {
            bool tombstone_expired = !r.record.value && r.record.timestamp < now_ms - config_.delete_retention_ms;
            bool keep = r.offset >= end || !r.record.key || (latest[*r.record.key] == r.offset && !tombstone_expired);
            if (keep) {
                out.push_back(r);
            }
        }
        return out;
    }

    result<compaction_stats> compact() {
        auto job = log_->prepare_compaction(now_ms, 1 << 16);
        EXPECT_TRUE(job.has_value());
        end_ = job->sources.back().next_offset;
        return log_->install_compaction(run_compaction(*job));
    }

    temp_dir dir_;
    std::shared_ptr<file_system> fs_ = make_posix_file_system();
    log_config config_;
    std::unique_ptr<partition_log> log_;
    std::vector<read_record> appended_;
    int64_t end_ = 0;
};

TEST_F(compaction_test, keeps_exactly_the_latest_value_per_key) {
    fill(80, 1);
    ASSERT_GT(log_->segment_count(), 3u);
    uint64_t before = log_->size_bytes();
    auto stats = compact();
    ASSERT_TRUE(stats.ok()) << stats.err().message;
    EXPECT_GT(stats->records_removed, 0u);
    EXPECT_LT(log_->size_bytes(), before);
    auto expected = expected_after(end_);
    EXPECT_EQ(read_all(*log_, 0), expected);
    // Every key's latest value in the cleaned range appears exactly once there.
    std::map<std::string, int> seen;
    for (const auto& r : read_all(*log_, 0)) {
        if (r.offset < end_) {
            ++seen[*r.record.key];
        }
    }
    for (const auto& [key, n] : seen) {
        EXPECT_EQ(n, 1) << key;
    }
    // A reopened log has forgotten what was cleaned (cleaned_until() is kept
    // in memory only): compacting it all again changes nothing.
    ASSERT_TRUE(log_->close().ok());
    log_ = open_log(true);
    auto again = compact();
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->records_removed, 0u);
    EXPECT_EQ(read_all(*log_, 0), expected);
}

TEST_F(compaction_test, every_offset_stays_readable_in_order) {
    fill(60, 2);
    ASSERT_TRUE(compact().ok());
    auto expected = expected_after(end_);
    int64_t leo = log_->log_end_offset();
    for (int64_t offset = 0; offset < leo; ++offset) {
        auto r = log_->read(offset, {});
        ASSERT_TRUE(r.ok()) << offset;
        auto records = records_of(*partition_log::copy_slices(*r));
        // The first record at or after `offset` is the expected one.
        auto want = std::find_if(expected.begin(), expected.end(), [&](auto& e) { return e.offset >= offset; });
        auto got = std::find_if(records.begin(), records.end(), [&](auto& e) { return e.offset >= offset; });
        if (want == expected.end()) {
            continue;
        }
        if (got == records.end()) {
            // Only an emptied batch came back: the read moves past it.
            EXPECT_GT(r->next_offset, offset);
            continue;
        }
        EXPECT_EQ(*got, *want) << offset;
        EXPECT_TRUE(std::is_sorted(records.begin(), records.end(),
                                   [](auto& a, auto& b) { return a.offset < b.offset; }));
    }
    // The log end offset and the offsets themselves did not move.
    EXPECT_EQ(log_->log_end_offset(), static_cast<int64_t>(appended_.size()));
    // It reopens to the same content, cleanly or after a full scan.
    ASSERT_TRUE(log_->close().ok());
    log_ = open_log(true);
    EXPECT_EQ(read_all(*log_, 0), expected);
    log_.reset();
    log_ = open_log(false);
    EXPECT_EQ(log_->recovery().bytes_truncated, 0u);
    EXPECT_EQ(read_all(*log_, 0), expected);
}

TEST_F(compaction_test, tombstones_expire_after_delete_retention) {
    auto put = [&](std::optional<std::string> value, int64_t ts) {
        auto batch = make_batch({{"k", value, ts}});
        append_options options;
        options.now_ms = now_ms;
        auto r = log_->append(batch, options);
        ASSERT_TRUE(r.ok());
        appended_.push_back(read_record{r->base_offset, {"k", value, ts}});
    };
    put("a", now_ms - 5000);
    put(std::nullopt, now_ms - 5000); // old tombstone: goes
    put("b", now_ms - 10);
    put(std::nullopt, now_ms - 10);   // recent tombstone: stays
    fill(40, 3);                      // other keys, so segments roll
    ASSERT_TRUE(compact().ok());
    auto all = read_all(*log_, 0);
    EXPECT_EQ(all, expected_after(end_));
    bool recent_tombstone = false;
    for (const auto& r : all) {
        EXPECT_NE(r.offset, 0);
        EXPECT_NE(r.offset, 1);
        EXPECT_NE(r.offset, 2);
        recent_tombstone = recent_tombstone || (r.offset == 3 && !r.record.value);
    }
    EXPECT_TRUE(recent_tombstone);
}

TEST_F(compaction_test, stale_output_is_refused_and_removed) {
    fill(60, 4);
    auto job = log_->prepare_compaction(now_ms, 1 << 16);
    ASSERT_TRUE(job);
    EXPECT_FALSE(log_->prepare_compaction(now_ms, 1 << 16)) << "one job at a time";
    auto output = run_compaction(*job);
    ASSERT_TRUE(output.ok());
    ASSERT_GT(job->sources.size(), 2u);
    ASSERT_TRUE(log_->truncate_to(job->sources.back().base_offset + 1).ok());
    auto installed = log_->install_compaction(std::move(output));
    EXPECT_EQ(installed.code(), errc::stale);
    for (const auto& e : std::filesystem::directory_iterator(dir_.sub("c-0"))) {
        EXPECT_FALSE(e.path().string().ends_with(".cleaned")) << e.path();
    }
    EXPECT_TRUE(log_->prepare_compaction(now_ms, 1 << 16).has_value());
}

TEST_F(compaction_test, small_offset_map_cleans_a_prefix) {
    fill(60, 5);
    auto job = log_->prepare_compaction(now_ms, 4); // 12 keys do not fit
    ASSERT_TRUE(job);
    auto output = run_compaction(*job);
    ASSERT_TRUE(output.ok());
    EXPECT_LT(output->stats.segments_in, job->sources.size());
    auto all_before = read_all(*log_, 0);
    ASSERT_TRUE(log_->install_compaction(std::move(output)).ok());
    // Whatever was cleaned, no key lost its latest value.
    std::map<std::string, read_record> latest_before;
    for (const auto& r : all_before) {
        latest_before[*r.record.key] = r;
    }
    std::map<std::string, read_record> latest_after;
    for (const auto& r : read_all(*log_, 0)) {
        latest_after[*r.record.key] = r;
    }
    EXPECT_EQ(latest_before, latest_after);
}

TEST_F(compaction_test, cleaner_thread_runs_beside_appends) {
    fill(60, 6);
    log_cleaner cleaner;
    auto job = log_->prepare_compaction(now_ms, 1 << 16);
    ASSERT_TRUE(job);
    end_ = job->sources.back().next_offset;
    std::promise<result<compaction_output>> done;
    auto future = done.get_future();
    ASSERT_TRUE(cleaner.submit(*job, [&](result<compaction_output> out) { done.set_value(std::move(out)); }));
    // The owner keeps appending while the cleaner works.
    fill(20, 7);
    auto installed = log_->install_compaction(future.get());
    ASSERT_TRUE(installed.ok()) << installed.err().message;
    EXPECT_EQ(read_all(*log_, 0), expected_after(end_));
    cleaner.stop();
}

TEST_F(compaction_test, interrupted_swap_completes_on_restart) {
    fill(60, 8);
    auto job = log_->prepare_compaction(now_ms, 1 << 16);
    ASSERT_TRUE(job);
    end_ = job->sources.back().next_offset;
    auto output = run_compaction(*job);
    ASSERT_TRUE(output.ok());
    // The crash comes after the ".cleaned" files became ".swap" files.
    for (const auto& group : output->groups) {
        for (auto suffix : {format::log_suffix, format::index_suffix, format::time_index_suffix}) {
            std::string base = segment_file_path(dir_.sub("c-0"), group.base_offset, suffix);
            std::filesystem::rename(base + ".cleaned", base + ".swap");
        }
    }
    ASSERT_TRUE(log_->flush().ok());
    log_.reset();
    log_ = open_log(false);
    EXPECT_EQ(read_all(*log_, 0), expected_after(end_));
    for (const auto& e : std::filesystem::directory_iterator(dir_.sub("c-0"))) {
        EXPECT_FALSE(e.path().string().ends_with(".swap")) << e.path();
    }
}

TEST_F(compaction_test, unfinished_cleaning_is_discarded_on_restart) {
    fill(60, 9);
    auto all = read_all(*log_, 0);
    auto job = log_->prepare_compaction(now_ms, 1 << 16);
    ASSERT_TRUE(job);
    ASSERT_TRUE(run_compaction(*job).ok()); // ".cleaned" files left behind
    log_.reset();
    log_ = open_log(false);
    EXPECT_EQ(read_all(*log_, 0), all);
    for (const auto& e : std::filesystem::directory_iterator(dir_.sub("c-0"))) {
        EXPECT_FALSE(e.path().string().ends_with(".cleaned")) << e.path();
    }
}

TEST_F(compaction_test, delete_policy_does_not_compact) {
    config_.cleanup = cleanup_policy::delete_segments;
    log_->set_config(config_);
    fill(60, 10);
    EXPECT_FALSE(log_->prepare_compaction(now_ms, 1 << 16));
}

} // namespace
} // namespace runnel::storage

namespace runnel::storage {
namespace {

TEST_F(compaction_test, a_clean_log_waits_for_the_dirty_ratio) {
    fill(60, 11);
    ASSERT_TRUE(compact().ok());
    EXPECT_EQ(log_->cleaned_until(), end_);
    // Everything closed is clean now: nothing to offer until enough new
    // closed segments make up min.cleanable.dirty.ratio of the bytes.
    EXPECT_FALSE(log_->prepare_compaction(now_ms, 1 << 16)) << "a freshly cleaned log was offered again";
    config_.min_cleanable_ratio = 0.99;
    log_->set_config(config_);
    fill(20, 12);
    EXPECT_FALSE(log_->prepare_compaction(now_ms, 1 << 16)) << "offered below the dirty ratio";
    config_.min_cleanable_ratio = 0.01;
    log_->set_config(config_);
    auto job = log_->prepare_compaction(now_ms, 1 << 16);
    ASSERT_TRUE(job) << "not offered above the dirty ratio";
    ASSERT_TRUE(log_->install_compaction(run_compaction(*job)).ok());
    EXPECT_EQ(read_all(*log_, 0), expected_after(job->sources.back().next_offset));
}

TEST_F(compaction_test, max_compaction_lag_forces_a_job_below_the_ratio) {
    fill(60, 13);
    ASSERT_TRUE(compact().ok());
    config_.min_cleanable_ratio = 0.99;
    config_.max_compaction_lag_ms = 5; // fill() stamps records 10 ms before now
    log_->set_config(config_);
    fill(20, 14);
    EXPECT_TRUE(log_->prepare_compaction(now_ms, 1 << 16)) << "a dirty segment past max.compaction.lag.ms waits";
}

} // namespace
} // namespace runnel::storage
