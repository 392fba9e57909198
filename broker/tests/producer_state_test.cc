// Tests of the idempotent-producer rules (one test per rule), producer
// expiry, and snapshots with log replay on a real partition log.
#include "broker/producer_state.h"

#include <limits>

#include <gtest/gtest.h>

#include "storage/tests/test_util.h"

namespace runnel::broker {
namespace {

using proto::error_code;
constexpr int32_t int32_max = std::numeric_limits<int32_t>::max();

batch_identity batch(int64_t pid, int16_t epoch, int32_t seq, int32_t records = 1) {
    batch_identity b;
    b.producer_id = model::producer_id(pid);
    b.epoch = model::producer_epoch(epoch);
    b.base_sequence = seq;
    b.last_offset_delta = records - 1;
    return b;
}

sequence_check check1(const producer_state& s, const batch_identity& b) {
    return s.check(std::span<const batch_identity>(&b, 1));
}

// Records b as appended at the given first offset.
void append(producer_state& s, const batch_identity& b, int64_t first_offset, int64_t timestamp = 1000) {
    ASSERT_EQ(check1(s, b).error, error_code::none);
    ASSERT_FALSE(check1(s, b).duplicate);
    s.record(b, first_offset, first_offset + b.last_offset_delta, timestamp);
}

TEST(increment_sequence, wraps_past_int32_max_to_zero) {
    EXPECT_EQ(increment_sequence(5, 3), 8);
    EXPECT_EQ(increment_sequence(int32_max, 0), int32_max);
    EXPECT_EQ(increment_sequence(int32_max, 1), 0);
    EXPECT_EQ(increment_sequence(int32_max - 1, 3), 1);
    EXPECT_EQ(batch(1, 0, int32_max - 1, 4).last_sequence(), 1); // MAX-1, MAX, 0, 1
}

TEST(producer_state, unknown_producer_is_accepted_at_any_sequence) {
    producer_state s;
    EXPECT_EQ(check1(s, batch(7, 0, 0)).error, error_code::none);
    // Its earlier batches may have been removed by retention (KIP-360): no UNKNOWN_PRODUCER_ID.
    EXPECT_EQ(check1(s, batch(7, 0, 42)).error, error_code::none);
    EXPECT_EQ(check1(s, batch(7, 3, 42)).error, error_code::none);
}

TEST(producer_state, consecutive_sequences_are_accepted) {
    producer_state s;
    append(s, batch(7, 0, 0, 3), 0);
    append(s, batch(7, 0, 3, 2), 3);
    append(s, batch(7, 0, 5, 1), 5);
    const producer_entry* e = s.find(model::producer_id(7));
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->epoch, model::producer_epoch(0));
    EXPECT_EQ(e->last_sequence(), 5);
    EXPECT_EQ(e->last_offset(), 5);
    EXPECT_EQ(s.applied_offset(), 6);
}

TEST(producer_state, a_gap_is_out_of_order) {
    producer_state s;
    append(s, batch(7, 0, 0, 3), 0);
    auto c = check1(s, batch(7, 0, 4));
    EXPECT_EQ(c.error, error_code::out_of_order_sequence_number);
    EXPECT_FALSE(c.message.empty());
}

TEST(producer_state, an_earlier_sequence_that_is_not_a_recent_batch_is_out_of_order) {
    producer_state s;
    append(s, batch(7, 0, 0, 3), 0);
    append(s, batch(7, 0, 3, 3), 3);
    // Overlaps a batch but does not match its first and last sequence.
    EXPECT_EQ(check1(s, batch(7, 0, 1, 2)).error, error_code::out_of_order_sequence_number);
    EXPECT_EQ(check1(s, batch(7, 0, 3, 2)).error, error_code::out_of_order_sequence_number);
}

TEST(producer_state, retries_of_the_last_five_batches_are_duplicates_with_their_offsets) {
    producer_state s;
    for (int i = 0; i < 6; ++i) {
        append(s, batch(7, 0, i * 2, 2), 100 + i * 2, 5000 + i);
    }
    // Batches 1..5 are remembered; batch 0 (sequences 0..1) has been dropped.
    for (int i = 1; i < 6; ++i) {
        auto c = check1(s, batch(7, 0, i * 2, 2));
        EXPECT_EQ(c.error, error_code::none);
        ASSERT_TRUE(c.duplicate) << i;
        EXPECT_EQ(c.duplicate->first_offset, 100 + i * 2);
        EXPECT_EQ(c.duplicate->last_offset, 101 + i * 2);
        EXPECT_EQ(c.duplicate->timestamp, 5000 + i);
    }
    auto oldest = check1(s, batch(7, 0, 0, 2));
    EXPECT_FALSE(oldest.duplicate);
    EXPECT_EQ(oldest.error, error_code::out_of_order_sequence_number);
    EXPECT_EQ(s.find(model::producer_id(7))->batches.size(), producer_batches_max);
}

TEST(producer_state, an_older_epoch_is_fenced) {
    producer_state s;
    append(s, batch(7, 3, 0), 0);
    EXPECT_EQ(check1(s, batch(7, 2, 1)).error, error_code::invalid_producer_epoch);
    EXPECT_EQ(check1(s, batch(7, 2, 0)).error, error_code::invalid_producer_epoch);
}

TEST(producer_state, a_new_epoch_must_start_at_sequence_zero) {
    producer_state s;
    append(s, batch(7, 0, 0, 10), 0);
    EXPECT_EQ(check1(s, batch(7, 1, 10)).error, error_code::out_of_order_sequence_number);
    EXPECT_EQ(check1(s, batch(7, 1, 5)).error, error_code::out_of_order_sequence_number);
    append(s, batch(7, 1, 0, 2), 10);
    const producer_entry* e = s.find(model::producer_id(7));
    EXPECT_EQ(e->epoch, model::producer_epoch(1));
    // The old epoch's batches are forgotten: a retry of one is fenced, not a duplicate.
    EXPECT_EQ(e->batches.size(), 1u);
    EXPECT_EQ(check1(s, batch(7, 0, 0, 10)).error, error_code::invalid_producer_epoch);
    EXPECT_EQ(check1(s, batch(7, 1, 2)).error, error_code::none);
}

TEST(producer_state, sequences_wrap_from_int32_max_to_zero) {
    producer_state s;
    // An unknown producer may start anywhere; this one ends exactly at INT32_MAX.
    append(s, batch(7, 0, int32_max - 1, 2), 0);
    EXPECT_EQ(s.find(model::producer_id(7))->last_sequence(), int32_max);
    EXPECT_EQ(check1(s, batch(7, 0, 1)).error, error_code::out_of_order_sequence_number);
    append(s, batch(7, 0, 0, 3), 2);
    // A batch can also wrap inside itself.
    producer_state t;
    append(t, batch(8, 0, int32_max - 1, 4), 0);
    EXPECT_EQ(t.find(model::producer_id(8))->last_sequence(), 1); // MAX-1, MAX, 0, 1
    EXPECT_EQ(check1(t, batch(8, 0, 3)).error, error_code::out_of_order_sequence_number);
    EXPECT_EQ(check1(t, batch(8, 0, 2)).error, error_code::none);
}

TEST(producer_state, batches_of_one_request_are_checked_in_order) {
    producer_state s;
    append(s, batch(7, 0, 0, 2), 0);
    std::vector<batch_identity> ok{batch(7, 0, 2, 2), batch(7, 0, 4, 1), batch(9, 0, 0), batch(9, 0, 1)};
    EXPECT_EQ(s.check(ok).error, error_code::none);
    std::vector<batch_identity> gap{batch(7, 0, 2, 2), batch(7, 0, 5, 1)};
    EXPECT_EQ(s.check(gap).error, error_code::out_of_order_sequence_number);
    // An epoch bump inside the request: the second batch follows the first.
    std::vector<batch_identity> bump{batch(7, 1, 0, 2), batch(7, 1, 2, 1)};
    EXPECT_EQ(s.check(bump).error, error_code::none);
    std::vector<batch_identity> fenced{batch(7, 1, 0, 2), batch(7, 0, 2, 1)};
    EXPECT_EQ(s.check(fenced).error, error_code::invalid_producer_epoch);
    // check() changes nothing.
    EXPECT_EQ(s.find(model::producer_id(7))->last_sequence(), 1);
    EXPECT_EQ(s.find(model::producer_id(9)), nullptr);
}

TEST(producer_state, batches_without_a_producer_id_are_not_tracked) {
    producer_state s;
    batch_identity plain = batch(proto::no_producer_id, proto::no_producer_epoch, proto::no_sequence, 5);
    EXPECT_EQ(check1(s, plain).error, error_code::none);
    s.record(plain, 0, 4, 1000);
    EXPECT_EQ(s.size(), 0u);
}

TEST(producer_state, idle_producers_expire) {
    producer_state_limits limits;
    limits.expiration_ms = 1000;
    producer_state s(limits);
    append(s, batch(1, 0, 0), 0, 10'000);
    append(s, batch(2, 0, 0), 1, 10'500);
    EXPECT_EQ(s.remove_expired(10'999), 0u);
    EXPECT_EQ(s.remove_expired(11'000), 1u);
    EXPECT_EQ(s.find(model::producer_id(1)), nullptr);
    ASSERT_NE(s.find(model::producer_id(2)), nullptr);
    // An expired producer is unknown again: any sequence is accepted.
    EXPECT_EQ(check1(s, batch(1, 0, 77)).error, error_code::none);
}

TEST(producer_state, producers_below_the_log_start_offset_are_forgotten) {
    producer_state s;
    append(s, batch(1, 0, 0, 5), 0);
    append(s, batch(2, 0, 0, 5), 5);
    EXPECT_EQ(s.remove_below(5), 1u);
    EXPECT_EQ(s.find(model::producer_id(1)), nullptr);
    EXPECT_EQ(s.remove_below(9), 0u);
    EXPECT_EQ(s.remove_below(10), 1u);
    EXPECT_EQ(s.size(), 0u);
}

TEST(producer_state, at_the_limit_the_producer_idle_longest_is_dropped) {
    producer_state_limits limits;
    limits.producers_max = 3;
    producer_state s(limits);
    append(s, batch(1, 0, 0), 0, 300);
    append(s, batch(2, 0, 0), 1, 100); // idle longest
    append(s, batch(3, 0, 0), 2, 200);
    append(s, batch(4, 0, 0), 3, 400);
    EXPECT_EQ(s.size(), 3u);
    EXPECT_EQ(s.find(model::producer_id(2)), nullptr);
    EXPECT_NE(s.find(model::producer_id(4)), nullptr);
}

// ---- Snapshots -------------------------------------------------------------

producer_state sample_state() {
    producer_state s;
    for (int p = 1; p <= 4; ++p) {
        for (int i = 0; i < p + 3; ++i) {
            append(s, batch(p * 1000, static_cast<int16_t>(p), i * 3, 3), (p * 100) + i * 3, 7000 + i);
        }
    }
    return s;
}

TEST(producer_snapshot, encodes_and_decodes_the_same_state) {
    producer_state s = sample_state();
    auto bytes = producer_snapshot::encode(s, 4242);
    producer_state back;
    ASSERT_TRUE(producer_snapshot::decode(bytes, back).ok());
    EXPECT_EQ(back.producers(), s.producers());
    EXPECT_EQ(back.applied_offset(), 4242);
    EXPECT_EQ(producer_snapshot::file_name(4242), "00000000000000004242.snapshot");
}

TEST(producer_snapshot, any_flipped_bit_or_truncation_is_corrupt) {
    producer_state s = sample_state();
    auto bytes = producer_snapshot::encode(s, 10);
    for (size_t i = 0; i < bytes.size(); ++i) {
        auto bad = bytes;
        bad[i] ^= 0x10;
        producer_state out;
        auto r = producer_snapshot::decode(bad, out);
        ASSERT_FALSE(r.ok()) << "flipped byte " << i;
        EXPECT_EQ(r.code(), storage::errc::corrupt);
        EXPECT_EQ(out.size(), 0u); // untouched on failure
    }
    for (size_t n = 0; n < bytes.size(); ++n) {
        producer_state out;
        ASSERT_FALSE(producer_snapshot::decode(std::span(bytes).first(n), out).ok()) << n;
    }
}

class producer_snapshot_log : public ::testing::Test {
protected:
    std::unique_ptr<storage::partition_log> open_log() {
        storage::log_open_options options;
        auto log = storage::partition_log::open(fs_, dir(), storage::topic_partition{"t", 0},
                                                storage::testing::small_config(), options);
        EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.err().message);
        return std::move(log).value();
    }
    std::string dir() const { return dir_.sub("t-0"); }

    // Appends a batch of `records` records for the producer, and records
    // it in state as the produce path does.
    void produce(storage::partition_log& log, producer_state& state, int64_t pid, int16_t epoch, int32_t seq,
                 int records) {
        proto::batch_options options;
        options.producer_id = pid;
        options.producer_epoch = epoch;
        options.base_sequence = seq;
        proto::batch_builder builder(options);
        for (int i = 0; i < records; ++i) {
            std::string value = "value-" + std::to_string(i);
            ASSERT_EQ(builder.add(1'000 + i, std::nullopt, storage::testing::as_bytes(value)), proto::batch_error::none);
        }
        auto built = builder.build();
        ASSERT_TRUE(built.ok());
        auto bytes = std::move(built).value();
        auto b = batch_identity::of(proto::decode_batch_header(bytes));
        ASSERT_EQ(check1(state, b).error, error_code::none);
        storage::append_options append;
        append.now_ms = 5'000;
        auto info = log.append(bytes, append);
        ASSERT_TRUE(info.ok());
        state.record(b, info->base_offset, info->last_offset, info->max_timestamp);
    }

    std::shared_ptr<storage::file_system> fs_ = storage::make_posix_file_system();
    storage::testing::temp_dir dir_;
};

TEST_F(producer_snapshot_log, snapshot_plus_replay_equals_full_replay) {
    producer_state live;
    {
        auto log = open_log();
        for (int i = 0; i < 20; ++i) {
            produce(*log, live, 1 + i % 3, 0, (i / 3) * 4, 4);
        }
        ASSERT_TRUE(producer_snapshot::write(*fs_, dir(), live).ok());
        for (int i = 20; i < 40; ++i) {
            produce(*log, live, 1 + i % 3, 0, (i / 3) * 4, 4);
        }
        produce(*log, live, 2, 1, 0, 2); // an epoch bump after the snapshot
        ASSERT_TRUE(log->close().ok());
    }
    auto log = open_log();
    producer_state loaded;
    auto report = load_producer_state(*fs_, *log, loaded);
    ASSERT_TRUE(report.ok()) << report.err().message;
    EXPECT_EQ(report->snapshot_offset, 80);
    EXPECT_EQ(report->batches_replayed, 21u);
    EXPECT_EQ(loaded.producers(), live.producers());
    EXPECT_EQ(loaded.applied_offset(), log->log_end_offset());

    producer_state from_scratch;
    auto full = replay_log(*log, 0, from_scratch);
    ASSERT_TRUE(full.ok());
    EXPECT_EQ(full->batches_replayed, 41u);
    EXPECT_EQ(from_scratch.producers(), live.producers());
    // A retry of the producer's last batch is recognised after the restart.
    auto dup = check1(loaded, batch(2, 1, 0, 2));
    ASSERT_TRUE(dup.duplicate);
    EXPECT_EQ(dup.duplicate->first_offset, live.find(model::producer_id(2))->batches.back().first_offset);
}

TEST_F(producer_snapshot_log, only_the_newest_snapshots_are_kept) {
    auto log = open_log();
    producer_state live;
    for (int i = 0; i < 4; ++i) {
        produce(*log, live, 1, 0, i, 1);
        ASSERT_TRUE(producer_snapshot::write(*fs_, dir(), live).ok());
    }
    auto offsets = producer_snapshot::list(*fs_, dir());
    ASSERT_TRUE(offsets.ok());
    EXPECT_EQ(*offsets, (std::vector<int64_t>{3, 4}));
}

TEST_F(producer_snapshot_log, a_corrupt_snapshot_falls_back_to_an_older_one) {
    auto log = open_log();
    producer_state live;
    produce(*log, live, 1, 0, 0, 3);
    ASSERT_TRUE(producer_snapshot::write(*fs_, dir(), live).ok());
    produce(*log, live, 1, 0, 3, 3);
    ASSERT_TRUE(producer_snapshot::write(*fs_, dir(), live).ok());
    produce(*log, live, 1, 0, 6, 3);
    // Damage the newest snapshot (offset 6).
    auto f = fs_->open(storage::join_path(dir(), producer_snapshot::file_name(6)), storage::open_mode::read_write);
    ASSERT_TRUE(f.ok());
    const uint8_t junk[4] = {1, 2, 3, 4};
    ASSERT_TRUE((*f)->write_at(20, junk).ok());

    producer_state loaded;
    auto report = load_producer_state(*fs_, *log, loaded);
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->snapshot_offset, 3);
    EXPECT_EQ(report->snapshots_rejected, 1u);
    EXPECT_EQ(report->batches_replayed, 2u);
    EXPECT_EQ(loaded.producers(), live.producers());
}

TEST_F(producer_snapshot_log, snapshots_past_the_log_end_are_deleted) {
    producer_state live;
    {
        auto log = open_log();
        produce(*log, live, 1, 0, 0, 3);
        produce(*log, live, 1, 0, 3, 3);
        ASSERT_TRUE(producer_snapshot::write(*fs_, dir(), live).ok()); // at offset 6
        // The log loses its tail (as an unclean shutdown can make it).
        ASSERT_TRUE(log->truncate_to(3).ok());
        ASSERT_TRUE(log->close().ok());
    }
    auto log = open_log();
    producer_state loaded;
    auto report = load_producer_state(*fs_, *log, loaded);
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->snapshot_offset, -1);
    EXPECT_EQ(loaded.find(model::producer_id(1))->last_sequence(), 2);
    auto offsets = producer_snapshot::list(*fs_, dir());
    ASSERT_TRUE(offsets.ok());
    EXPECT_TRUE(offsets->empty());
}

} // namespace
} // namespace runnel::broker
