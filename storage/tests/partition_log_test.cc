// Partition log behaviour: appends, reads through slices, rolls, time
// lookups, truncation, log start offset, retention, flushing, and the
// recovery edge cases (torn tails, corrupt CRCs, bad indexes, empty files).
#include <fstream>

#include <gtest/gtest.h>

#include "storage/faulty_file_system.h"
#include "storage/format.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

using namespace runnel::storage::testing;

class partition_log_test : public ::testing::Test {
protected:
    std::unique_ptr<partition_log> open_log(const log_config& config, bool clean = false, int64_t recovery_point = 0) {
        log_open_options options;
        options.clean_shutdown = clean;
        options.recovery_point = recovery_point;
        options.now_ms = 1000;
        auto log = partition_log::open(fs_, dir_.sub("t-0"), topic_partition{"t", 0}, config, options);
        EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.err().message);
        return log.ok() ? std::move(log).value() : nullptr;
    }

    append_info append(partition_log& log, std::vector<uint8_t> batch, int64_t now_ms = 1000) {
        append_options options;
        options.now_ms = now_ms;
        auto r = log.append(batch, options);
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().message);
        return r.ok() ? *r : append_info{};
    }

    std::string log_dir() const { return dir_.sub("t-0"); }

    temp_dir dir_;
    std::shared_ptr<file_system> fs_ = make_posix_file_system();
};

TEST_F(partition_log_test, empty_log) {
    auto log = open_log(small_config());
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_start_offset(), 0);
    EXPECT_EQ(log->log_end_offset(), 0);
    auto r = log->read(0, {});
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->slices.empty());
    EXPECT_EQ(log->read(1, {}).code(), errc::offset_out_of_range);
    EXPECT_EQ(log->read(-1, {}).code(), errc::offset_out_of_range);
    auto ts = log->offset_for_timestamp(0);
    ASSERT_TRUE(ts.ok());
    EXPECT_FALSE(*ts);
    auto latest = log->offset_for_timestamp(model::latest_timestamp);
    ASSERT_TRUE(latest.ok());
    EXPECT_EQ(**latest, (timestamp_and_offset{-1, 0}));
    auto max = log->offset_for_timestamp(model::max_timestamp);
    ASSERT_TRUE(max.ok());
    EXPECT_FALSE(*max);
    EXPECT_TRUE(*fs_->exists(segment_file_path(log_dir(), 0, format::log_suffix)));
    ASSERT_TRUE(log->close().ok());
}

TEST_F(partition_log_test, append_assigns_offsets_and_reads_back) {
    auto log = open_log(small_config());
    auto first = append(*log, make_value_batch(3, 100));
    auto second = append(*log, make_value_batch(2, 200));
    EXPECT_EQ(first.base_offset, 0);
    EXPECT_EQ(first.last_offset, 2);
    EXPECT_EQ(second.base_offset, 3);
    EXPECT_EQ(second.last_offset, 4);
    EXPECT_EQ(log->log_end_offset(), 5);
    auto all = read_all(*log, 0);
    ASSERT_EQ(all.size(), 5u);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(all[i].offset, i);
    }
    EXPECT_EQ(all[3].record.timestamp, 200);
    // Reading from the middle of a batch returns the whole batch.
    auto mid = log->read(1, {});
    ASSERT_TRUE(mid.ok());
    EXPECT_EQ(mid->first_offset, 0);
    EXPECT_EQ(mid->next_offset, 5);
    // At the end: nothing; past the end: out of range.
    auto end = log->read(5, {});
    ASSERT_TRUE(end.ok());
    EXPECT_TRUE(end->slices.empty());
    EXPECT_EQ(log->read(6, {}).code(), errc::offset_out_of_range);
}

TEST_F(partition_log_test, read_respects_byte_limit_and_max_offset) {
    auto log = open_log(small_config());
    std::vector<uint64_t> sizes;
    for (int i = 0; i < 6; ++i) {
        auto b = make_value_batch(2, 100 * i);
        sizes.push_back(b.size());
        append(*log, b);
    }
    read_options options;
    options.bytes_max = sizes[0] + sizes[1] + 1;
    auto r = log->read(0, options);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->bytes, sizes[0] + sizes[1]);
    EXPECT_EQ(r->next_offset, 4);
    // A limit smaller than one batch still returns that batch (KIP-74)...
    options.bytes_max = 1;
    r = log->read(2, options);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->bytes, sizes[1]);
    // ...unless told not to.
    options.min_one_batch = false;
    r = log->read(2, options);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->bytes, 0u);
    // max_offset (the high watermark) stops before the batch holding it.
    read_options bounded;
    bounded.max_offset = 6;
    r = log->read(0, bounded);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->next_offset, 6);
    auto records = records_of(*partition_log::copy_slices(*r));
    EXPECT_EQ(records.back().offset, 5);
    r = log->read(6, bounded);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->slices.empty());
}

TEST_F(partition_log_test, rolls_exactly_at_segment_bytes) {
    auto batch = make_value_batch(1, 0, 50);
    log_config config = small_config();
    config.segment_bytes = batch.size() * 3;
    auto log = open_log(config);
    for (int i = 0; i < 3; ++i) {
        append(*log, make_value_batch(1, i, 50));
    }
    // Three batches fill the segment exactly: no roll yet.
    EXPECT_EQ(log->segment_count(), 1u);
    EXPECT_EQ(log->size_bytes(), config.segment_bytes);
    append(*log, make_value_batch(1, 3, 50));
    EXPECT_EQ(log->segment_count(), 2u);
    EXPECT_EQ(log->segment_base_offsets(), (std::vector<int64_t>{0, 3}));
    EXPECT_TRUE(*fs_->exists(segment_file_path(log_dir(), 3, format::log_suffix)));
    // The rolled segment's indexes were trimmed to their entries.
    auto index_size = std::filesystem::file_size(segment_file_path(log_dir(), 0, format::index_suffix));
    EXPECT_EQ(index_size % format::offset_index_entry_bytes, 0u);
    EXPECT_LT(index_size, config.segment_index_bytes);
    EXPECT_EQ(read_all(*log, 0).size(), 4u);
    // A batch larger than a segment is refused.
    auto huge = make_value_batch(1, 0, config.segment_bytes);
    EXPECT_EQ(log->append(huge, {}).code(), errc::too_large);
}

TEST_F(partition_log_test, rolls_on_segment_ms_and_full_index) {
    log_config config = small_config();
    config.segment_ms = 1000;
    auto log = open_log(config);
    append(*log, make_value_batch(1, 5000), 5000);
    append(*log, make_value_batch(1, 5500), 5500);
    EXPECT_EQ(log->segment_count(), 1u);
    append(*log, make_value_batch(1, 6001), 6001);
    EXPECT_EQ(log->segment_count(), 2u);

    log_config tiny_index = small_config();
    tiny_index.segment_index_bytes = 3 * format::offset_index_entry_bytes;
    tiny_index.index_interval_bytes = 1;
    temp_dir other;
    log_open_options options;
    auto small = partition_log::open(fs_, other.sub("u-0"), topic_partition{"u", 0}, tiny_index, options);
    ASSERT_TRUE(small.ok());
    for (int i = 0; i < 8; ++i) {
        append(**small, make_value_batch(1, i));
    }
    EXPECT_GT((*small)->segment_count(), 2u);
    EXPECT_EQ(read_all(**small, 0).size(), 8u);
}

TEST_F(partition_log_test, segment_ms_counts_from_batch_timestamps_not_the_clock) {
    // As Kafka: records stamped long before now (CreateTime) roll a segment only
    // when their own timestamps spread over segment.ms, not on every append.
    log_config config = small_config();
    config.segment_ms = 1000;
    auto log = open_log(config);
    const int64_t now = 50'000'000;
    for (int i = 0; i < 10; ++i) {
        append(*log, make_value_batch(1, 100 + i * 100), now + i);
    }
    EXPECT_EQ(log->segment_count(), 1u);
    append(*log, make_value_batch(1, 1101), now + 20);
    EXPECT_EQ(log->segment_count(), 2u);
    // The same after a restart: the first batch's timestamp is read back from the segment.
    log.reset();
    log = open_log(config);
    append(*log, make_value_batch(1, 1200), now + 30);
    append(*log, make_value_batch(1, 2000), now + 40);
    EXPECT_EQ(log->segment_count(), 2u);
    append(*log, make_value_batch(1, 2102), now + 50);
    EXPECT_EQ(log->segment_count(), 3u);
}

TEST_F(partition_log_test, follower_appends_keep_offsets) {
    auto log = open_log(small_config());
    auto batch = make_value_batch(2, 10);
    proto::set_base_offset(batch, 100);
    append_options options;
    options.assign_offsets = false;
    auto r = log->append(batch, options);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->base_offset, 100);
    EXPECT_EQ(log->log_end_offset(), 102);
    auto stale = make_value_batch(1, 10);
    proto::set_base_offset(stale, 101);
    EXPECT_EQ(log->append(stale, options).code(), errc::invalid_argument);
}

TEST_F(partition_log_test, log_append_time_is_stamped) {
    log_config config = small_config();
    config.timestamp_type = message_timestamp_type::log_append_time;
    auto log = open_log(config);
    auto r = append(*log, make_value_batch(3, 5), 777777);
    EXPECT_EQ(r.log_append_time, 777777);
    auto all = read_all(*log, 0);
    ASSERT_EQ(all.size(), 3u);
    for (const auto& rec : all) {
        EXPECT_EQ(rec.record.timestamp, 777777);
    }
}

TEST_F(partition_log_test, offset_for_timestamp_finds_first_record) {
    auto log = open_log(small_config());
    // Timestamps 100..149 in batches of 5, spread over several segments.
    for (int b = 0; b < 10; ++b) {
        append(*log, make_value_batch(5, 100 + 5 * b, 40));
    }
    ASSERT_GT(log->segment_count(), 1u);
    for (int64_t ts : {0, 100, 101, 123, 149}) {
        auto r = log->offset_for_timestamp(ts);
        ASSERT_TRUE(r.ok());
        ASSERT_TRUE(*r) << ts;
        int64_t expected = std::max<int64_t>(ts - 100, 0);
        EXPECT_EQ((*r)->offset, expected) << ts;
        EXPECT_EQ((*r)->timestamp, 100 + expected) << ts;
    }
    auto after = log->offset_for_timestamp(150);
    ASSERT_TRUE(after.ok());
    EXPECT_FALSE(*after);
    auto max = log->offset_for_timestamp(model::max_timestamp);
    ASSERT_TRUE(max.ok());
    EXPECT_EQ(**max, (timestamp_and_offset{149, 49}));
    auto earliest = log->offset_for_timestamp(model::earliest_timestamp);
    EXPECT_EQ((*earliest)->offset, 0);
}

TEST_F(partition_log_test, max_timestamp_points_at_the_record) {
    auto log = open_log(small_config());
    append(*log, make_batch({{std::nullopt, "a", 10}, {std::nullopt, "b", 500}, {std::nullopt, "c", 20}}));
    append(*log, make_value_batch(2, 30));
    auto max = log->offset_for_timestamp(model::max_timestamp);
    ASSERT_TRUE(max.ok());
    EXPECT_EQ(**max, (timestamp_and_offset{500, 1}));
}

TEST_F(partition_log_test, truncate_to_removes_suffix_across_segments) {
    auto log = open_log(small_config());
    for (int b = 0; b < 20; ++b) {
        append(*log, make_value_batch(2, b, 40));
    }
    size_t segments = log->segment_count();
    ASSERT_GT(segments, 2u);
    ASSERT_TRUE(log->truncate_to(13).ok());
    // The batch holding 13 (12..13) goes whole.
    EXPECT_EQ(log->log_end_offset(), 12);
    EXPECT_LT(log->segment_count(), segments);
    auto all = read_all(*log, 0);
    ASSERT_EQ(all.size(), 12u);
    EXPECT_EQ(all.back().offset, 11);
    // Appends continue from there, and the log reopens the same.
    append(*log, make_value_batch(1, 99));
    EXPECT_EQ(log->log_end_offset(), 13);
    ASSERT_TRUE(log->close().ok());
    log.reset();
    auto reopened = open_log(small_config());
    EXPECT_EQ(reopened->log_end_offset(), 13);
    EXPECT_EQ(read_all(*reopened, 0).size(), 13u);
    // Truncating below the first segment empties the log.
    ASSERT_TRUE(reopened->truncate_to(0).ok());
    EXPECT_EQ(reopened->log_end_offset(), 0);
    EXPECT_EQ(reopened->segment_count(), 1u);
}

TEST_F(partition_log_test, reads_at_the_tail_agree_with_reads_from_the_file) {
    // The active segment remembers its last appended batches so that a
    // consumer at the end finds its batch without reading the file; every
    // offset must get the same answer as a log reopened from disk, which
    // has no such memory, also after a truncation cut into them.
    log_config config = small_config();
    config.segment_bytes = 1 << 20; // one segment
    auto log = open_log(config);
    for (int b = 0; b < 30; ++b) {
        append(*log, make_value_batch(1 + b % 3, b, 40));
    }
    ASSERT_TRUE(log->truncate_to(50).ok());
    for (int b = 0; b < 5; ++b) {
        append(*log, make_value_batch(2, 100 + b, 40));
    }
    const int64_t end = log->log_end_offset();
    std::vector<std::pair<int64_t, uint64_t>> live;
    for (int64_t offset = 0; offset <= end; ++offset) {
        auto r = log->read(offset, {});
        ASSERT_TRUE(r.ok()) << offset;
        live.emplace_back(r->first_offset, r->bytes);
    }
    ASSERT_TRUE(log->close().ok());
    log.reset();
    auto reopened = open_log(config, true);
    ASSERT_EQ(reopened->log_end_offset(), end);
    for (int64_t offset = 0; offset <= end; ++offset) {
        auto r = reopened->read(offset, {});
        ASSERT_TRUE(r.ok()) << offset;
        EXPECT_EQ(std::make_pair(r->first_offset, r->bytes), live[static_cast<size_t>(offset)]) << offset;
    }
    EXPECT_EQ(static_cast<int64_t>(read_all(*reopened, 0).size()), end);
}

TEST_F(partition_log_test, truncate_updates_leader_epochs) {
    auto log = open_log(small_config());
    append_options options;
    options.leader_epoch = 1;
    auto b1 = make_value_batch(5, 0);
    ASSERT_TRUE(log->append(b1, options).ok());
    options.leader_epoch = 2;
    auto b2 = make_value_batch(5, 0);
    ASSERT_TRUE(log->append(b2, options).ok());
    EXPECT_EQ(log->epochs().entries(), (std::vector<epoch_entry>{{1, 0}, {2, 5}}));
    EXPECT_EQ(log->epochs().end_offset_for(1, log->log_end_offset()), (epoch_end_offset{1, 5}));
    ASSERT_TRUE(log->truncate_to(5).ok());
    EXPECT_EQ(log->epochs().entries(), (std::vector<epoch_entry>{{1, 0}}));
    auto stored = read_epoch_checkpoint(*fs_, join_path(log_dir(), format::leader_epoch_checkpoint));
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(*stored, (std::vector<epoch_entry>{{1, 0}}));
}

TEST_F(partition_log_test, log_start_offset_and_delete_records) {
    auto log = open_log(small_config());
    for (int b = 0; b < 20; ++b) {
        append(*log, make_value_batch(2, b, 40));
    }
    size_t segments = log->segment_count();
    ASSERT_TRUE(log->advance_log_start_offset(15).ok());
    EXPECT_EQ(log->log_start_offset(), 15);
    EXPECT_LT(log->segment_count(), segments);
    EXPECT_EQ(log->read(14, {}).code(), errc::offset_out_of_range);
    auto from = read_all(*log, 15);
    ASSERT_FALSE(from.empty());
    EXPECT_EQ(from.front().offset, 15);
    EXPECT_EQ(log->offset_for_timestamp(model::earliest_timestamp)->value().offset, 15);
    EXPECT_EQ(log->advance_log_start_offset(41).code(), errc::offset_out_of_range);
    // Moving to the end deletes every segment but the active one.
    ASSERT_TRUE(log->advance_log_start_offset(40).ok());
    EXPECT_EQ(log->segment_count(), 1u);
}

TEST_F(partition_log_test, retention_by_time_and_size_keeps_active_segment) {
    log_config config = small_config();
    config.retention_ms = 1000;
    auto log = open_log(config);
    for (int b = 0; b < 20; ++b) {
        append(*log, make_value_batch(2, 10000 + b * 100, 40));
    }
    size_t segments = log->segment_count();
    ASSERT_GT(segments, 3u);
    // Nothing is older than a second at t=10500+... only early segments go.
    auto none = log->enforce_retention(10000);
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(none->segments_deleted, 0u);
    auto some = log->enforce_retention(12500);
    ASSERT_TRUE(some.ok());
    EXPECT_GT(some->segments_deleted, 0u);
    EXPECT_LT(log->segment_count(), segments);
    EXPECT_GT(log->log_start_offset(), 0);
    // Far in the future everything but the active segment goes.
    auto all = log->enforce_retention(1000000);
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(log->segment_count(), 1u);
    EXPECT_EQ(log->log_end_offset(), 40);

    config.retention_ms = unlimited;
    config.retention_bytes = 2000;
    temp_dir other;
    auto sized = partition_log::open(fs_, other.sub("s-0"), topic_partition{"s", 0}, config, {});
    ASSERT_TRUE(sized.ok());
    for (int b = 0; b < 30; ++b) {
        append(**sized, make_value_batch(2, b, 40));
    }
    ASSERT_TRUE((*sized)->enforce_retention(0).ok());
    EXPECT_LE((*sized)->size_bytes(), 2000u + config.segment_bytes);
    EXPECT_GT((*sized)->size_bytes(), 2000u - config.segment_bytes);
    // The scheduled form waits for the interval.
    config.retention_check_interval_ms = 100;
    (*sized)->set_config(config);
    auto early = (*sized)->maybe_enforce_retention(50);
    ASSERT_TRUE(early.ok());
    EXPECT_EQ(early->segments_deleted, 0u);
}

TEST_F(partition_log_test, flush_messages_one_makes_each_append_durable) {
    log_config config = small_config();
    config.flush_messages = 1;
    auto faulty = std::make_shared<faulty_file_system>(make_posix_file_system(), 11);
    fs_ = faulty;
    {
        auto log = open_log(config);
        for (int i = 0; i < 10; ++i) {
            auto r = append(*log, make_value_batch(1, i));
            EXPECT_TRUE(r.flushed);
            EXPECT_EQ(log->recovery_point(), i + 1);
        }
    }
    ASSERT_TRUE(faulty->crash().ok());
    auto log = open_log(config);
    EXPECT_EQ(log->log_end_offset(), 10);
    EXPECT_EQ(read_all(*log, 0).size(), 10u);
}

TEST_F(partition_log_test, deferred_flush_is_a_group_commit) {
    log_config config = small_config();
    config.flush_messages = 1;
    auto log = open_log(config);
    append_options options;
    options.defer_flush = true;
    for (int i = 0; i < 5; ++i) {
        auto b = make_value_batch(1, i);
        auto r = log->append(b, options);
        ASSERT_TRUE(r.ok());
        EXPECT_TRUE(r->flush_needed);
        EXPECT_FALSE(r->flushed);
    }
    EXPECT_TRUE(log->flush_due(0));
    EXPECT_EQ(log->recovery_point(), 0);
    auto ticket = log->prepare_flush();
    ASSERT_TRUE(ticket.ok());
    EXPECT_EQ(ticket->offset, 5);
    EXPECT_EQ(ticket->messages, 5);
    auto outcome = ticket->run();
    ASSERT_TRUE(outcome.ok());
    log->complete_flush(*ticket, outcome, 10);
    EXPECT_EQ(log->recovery_point(), 5);
    EXPECT_FALSE(log->flush_due(10));
}

TEST_F(partition_log_test, flush_ms_schedules_flushes) {
    log_config config = small_config();
    config.flush_ms = 100;
    auto log = open_log(config);
    append(*log, make_value_batch(1, 0));
    EXPECT_FALSE(log->flush_due(1050));
    EXPECT_TRUE(log->flush_due(1100));
}

TEST_F(partition_log_test, failed_sync_does_not_advance_recovery_point) {
    auto faulty = std::make_shared<faulty_file_system>(make_posix_file_system(), 5);
    fs_ = faulty;
    auto log = open_log(small_config());
    append(*log, make_value_batch(2, 0));
    faulty->fail_syncs(true);
    EXPECT_EQ(log->flush().code(), errc::io_error);
    EXPECT_EQ(log->recovery_point(), 0);
    faulty->fail_syncs(false);
    ASSERT_TRUE(log->flush().ok());
    EXPECT_EQ(log->recovery_point(), 2);
}

TEST_F(partition_log_test, failed_flush_leaves_everything_for_the_next_one) {
    auto faulty = std::make_shared<faulty_file_system>(make_posix_file_system(), 21);
    fs_ = faulty;
    auto log = open_log(small_config());
    // Enough batches that the active segment has index entries to write.
    for (int i = 0; i < 22; ++i) {
        append(*log, make_value_batch(2, i, 44));
    }
    ASSERT_GT(log->segment_count(), 2u);
    // Rolls made the closed segments durable; the active one is not yet.
    int64_t rolled = log->recovery_point();
    EXPECT_EQ(rolled, log->segment_base_offsets().back());
    faulty->fail_writes_after(0); // the index entries cannot be written
    EXPECT_FALSE(log->flush().ok());
    EXPECT_EQ(log->recovery_point(), rolled);
    faulty->clear_faults();
    ASSERT_TRUE(log->flush().ok());
    EXPECT_EQ(log->recovery_point(), 44);
    log.reset();
    ASSERT_TRUE(faulty->crash().ok());
    // Only the last segment is scanned: the others must be durable as they are.
    auto reopened = open_log(small_config(), false, 44);
    EXPECT_EQ(reopened->recovery().segments_scanned, 1u);
    EXPECT_EQ(reopened->log_end_offset(), 44);
    EXPECT_EQ(read_all(*reopened, 0).size(), 44u);
}

TEST_F(partition_log_test, full_disk_fails_the_append_and_corrupts_nothing) {
    auto faulty = std::make_shared<faulty_file_system>(make_posix_file_system(), 9);
    fs_ = faulty;
    auto log = open_log(small_config());
    for (int i = 0; i < 3; ++i) {
        append(*log, make_value_batch(2, i, 40));
    }
    auto before = read_all(*log, 0);
    faulty->set_space_left(30);
    auto big = make_value_batch(2, 9, 40);
    auto r = log->append(big, {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), errc::disk_full);
    EXPECT_EQ(log->log_end_offset(), 6);
    EXPECT_EQ(read_all(*log, 0), before);
    // Space comes back: appends continue where they were.
    faulty->clear_faults();
    append(*log, make_value_batch(1, 10));
    EXPECT_EQ(log->log_end_offset(), 7);
    ASSERT_TRUE(log->close().ok());
    log.reset();
    auto reopened = open_log(small_config());
    EXPECT_EQ(read_all(*reopened, 0).size(), 7u);
    EXPECT_EQ(reopened->recovery().bytes_truncated, 0u);
}

// ---- recovery edge cases ----

class recovery_test : public partition_log_test {
protected:
    // Appends `batches` two-record batches and abandons the log unclosed.
    std::vector<uint64_t> write_and_abandon(const log_config& config, int batches) {
        auto log = open_log(config);
        std::vector<uint64_t> sizes;
        for (int i = 0; i < batches; ++i) {
            auto b = make_value_batch(2, i * 10, 40);
            sizes.push_back(b.size());
            append(*log, b);
        }
        return sizes;
    }

    void append_bytes(const std::string& path, std::string_view bytes) {
        std::ofstream out(path, std::ios::binary | std::ios::app);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }

    void flip_byte(const std::string& path, uint64_t position) {
        std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
        f.seekg(static_cast<std::streamoff>(position));
        char c = 0;
        f.read(&c, 1);
        c = static_cast<char>(c ^ 0x5a);
        f.seekp(static_cast<std::streamoff>(position));
        f.write(&c, 1);
    }

    log_config big_segments() const {
        log_config c = small_config();
        c.segment_bytes = 1 << 20;
        return c;
    }
};

TEST_F(recovery_test, one_byte_torn_tail_is_cut) {
    write_and_abandon(big_segments(), 5);
    append_bytes(segment_file_path(log_dir(), 0, format::log_suffix), "\x01");
    auto log = open_log(big_segments());
    EXPECT_EQ(log->recovery().bytes_truncated, 1u);
    EXPECT_EQ(log->log_end_offset(), 10);
    EXPECT_EQ(read_all(*log, 0).size(), 10u);
}

TEST_F(recovery_test, torn_last_batch_is_dropped) {
    auto sizes = write_and_abandon(big_segments(), 5);
    std::string path = segment_file_path(log_dir(), 0, format::log_suffix);
    auto full = std::filesystem::file_size(path);
    std::filesystem::resize_file(path, full - sizes.back() / 2);
    auto log = open_log(big_segments());
    EXPECT_EQ(log->recovery().bytes_truncated, sizes.back() - sizes.back() / 2);
    EXPECT_EQ(log->log_end_offset(), 8);
    EXPECT_EQ(std::filesystem::file_size(path), full - sizes.back());
}

TEST_F(recovery_test, corrupt_crc_in_the_middle_of_the_last_segment) {
    auto sizes = write_and_abandon(small_config(), 30);
    auto log_bases = [&] {
        std::vector<int64_t> bases;
        for (const auto& e : std::filesystem::directory_iterator(log_dir())) {
            if (e.path().extension() == ".log") {
                bases.push_back(std::stoll(e.path().stem().string()));
            }
        }
        std::sort(bases.begin(), bases.end());
        return bases;
    }();
    ASSERT_GT(log_bases.size(), 1u);
    int64_t last_base = log_bases.back();
    std::string path = segment_file_path(log_dir(), last_base, format::log_suffix);
    auto size = std::filesystem::file_size(path);
    ASSERT_GE(size, 3 * sizes[0]);
    // Damage a value byte of the second batch of the last segment.
    flip_byte(path, sizes[0] + sizes[0] - 3);
    auto log = open_log(small_config());
    EXPECT_EQ(log->log_end_offset(), last_base + 2);
    EXPECT_EQ(log->recovery().bytes_truncated, size - sizes[0]);
    auto all = read_all(*log, 0);
    ASSERT_EQ(all.size(), static_cast<size_t>(last_base + 2));
    // New appends go where the damage was.
    append(*log, make_value_batch(1, 0));
    EXPECT_EQ(log->log_end_offset(), last_base + 3);
}

TEST_F(recovery_test, corrupt_earlier_segment_drops_what_follows) {
    write_and_abandon(small_config(), 30);
    flip_byte(segment_file_path(log_dir(), 0, format::log_suffix), 70);
    auto log = open_log(small_config());
    EXPECT_EQ(log->log_end_offset(), 0);
    EXPECT_EQ(log->segment_count(), 1u);
    EXPECT_GT(log->recovery().segments_deleted, 0u);
}

TEST_F(recovery_test, clean_shutdown_skips_the_scan) {
    {
        auto log = open_log(big_segments());
        for (int i = 0; i < 5; ++i) {
            append(*log, make_value_batch(2, i));
        }
        ASSERT_TRUE(log->close().ok());
    }
    auto log = open_log(big_segments(), /*clean=*/true, /*recovery_point=*/10);
    EXPECT_EQ(log->recovery().segments_scanned, 0u);
    EXPECT_EQ(log->log_end_offset(), 10);
    auto unclean = [&] {
        log.reset();
        return open_log(big_segments(), false, 0);
    }();
    EXPECT_EQ(unclean->recovery().segments_scanned, 1u);
    EXPECT_EQ(unclean->log_end_offset(), 10);
}

TEST_F(recovery_test, index_pointing_past_the_end_is_rebuilt) {
    {
        auto log = open_log(small_config());
        for (int i = 0; i < 30; ++i) {
            append(*log, make_value_batch(2, i, 40));
        }
        ASSERT_TRUE(log->close().ok());
    }
    // An entry (relative offset 1, position 1 MiB) in the first segment's index.
    std::string index = segment_file_path(log_dir(), 0, format::index_suffix);
    append_bytes(index, std::string("\x00\x00\x00\x01\x00\x10\x00\x00", 8));
    std::string time_index = segment_file_path(log_dir(), 0, format::time_index_suffix);
    append_bytes(time_index, std::string("\x7f\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff", 12));
    auto log = open_log(small_config(), /*clean=*/true, /*recovery_point=*/60);
    EXPECT_EQ(log->log_end_offset(), 60);
    auto all = read_all(*log, 0);
    ASSERT_EQ(all.size(), 60u);
    for (int i = 0; i < 60; ++i) {
        ASSERT_EQ(all[i].offset, i);
    }
    // Batch i holds timestamps i and i + 1: offset 9 is the first at 5.
    EXPECT_EQ(log->offset_for_timestamp(5)->value().offset, 9);
    EXPECT_EQ(std::filesystem::file_size(index) % 8, 0u);
}

TEST_F(recovery_test, missing_indexes_are_rebuilt) {
    {
        auto log = open_log(small_config());
        for (int i = 0; i < 30; ++i) {
            append(*log, make_value_batch(2, i, 40));
        }
        ASSERT_TRUE(log->close().ok());
    }
    std::string index = segment_file_path(log_dir(), 0, format::index_suffix);
    auto before = std::filesystem::file_size(index);
    ASSERT_GT(before, 0u);
    std::filesystem::remove(index);
    std::filesystem::remove(segment_file_path(log_dir(), 0, format::time_index_suffix));
    auto log = open_log(small_config(), true, 60);
    EXPECT_EQ(std::filesystem::file_size(index), before);
    EXPECT_EQ(read_all(*log, 0).size(), 60u);
}

TEST_F(recovery_test, zero_length_segments) {
    write_and_abandon(big_segments(), 3);
    // An empty segment file at the end (a crash right after a roll).
    {
        std::ofstream(segment_file_path(log_dir(), 6, format::log_suffix));
    }
    auto log = open_log(big_segments());
    EXPECT_EQ(log->segment_count(), 2u);
    EXPECT_EQ(log->log_end_offset(), 6);
    append(*log, make_value_batch(1, 0));
    EXPECT_EQ(log->log_end_offset(), 7);
    EXPECT_EQ(read_all(*log, 0).size(), 7u);
    log.reset();
    // A log dir holding only an empty segment.
    std::filesystem::remove_all(log_dir());
    std::filesystem::create_directories(log_dir());
    {
        std::ofstream(segment_file_path(log_dir(), 0, format::log_suffix));
    }
    auto empty = open_log(big_segments());
    EXPECT_EQ(empty->log_end_offset(), 0);
    append(*empty, make_value_batch(1, 0));
    EXPECT_EQ(read_all(*empty, 0).size(), 1u);
}

TEST_F(recovery_test, preallocated_index_after_a_crash) {
    // Abandoned without close: the active segment's index is still
    // preallocated with zeros and must not be believed.
    write_and_abandon(big_segments(), 40);
    std::string index = segment_file_path(log_dir(), 0, format::index_suffix);
    EXPECT_EQ(std::filesystem::file_size(index), big_segments().segment_index_bytes);
    auto log = open_log(big_segments());
    EXPECT_EQ(log->log_end_offset(), 80);
    auto r = log->read(77, {});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->first_offset, 76);
}

} // namespace
} // namespace runnel::storage
