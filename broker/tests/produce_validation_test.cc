// Tests of Produce batch validation: every rule and the Kafka error code it
// answers with, plus random corruption that must never crash or pass a bad CRC.
#include "broker/produce_validation.h"

#include <random>

#include <gtest/gtest.h>

namespace runnel::broker {
namespace {

using proto::error_code;

constexpr int64_t now = 1'700'000'000'000;

struct record_spec {
    int64_t timestamp = now;
    std::optional<std::string> key = "k";
    std::string value = "value";
};

proto::bytes_view view(const std::string& s) {
    return proto::bytes_view(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

proto::bytes build(const std::vector<record_spec>& records, proto::batch_options options = {}) {
    proto::batch_builder builder(options);
    for (const auto& r : records) {
        std::optional<proto::bytes_view> key;
        if (r.key) {
            key = view(*r.key);
        }
        EXPECT_EQ(builder.add(r.timestamp, key, view(r.value)), proto::batch_error::none);
    }
    auto built = builder.build();
    EXPECT_TRUE(built.ok());
    return std::move(built).value();
}

proto::bytes three_records(proto::compression_type codec = proto::compression_type::none) {
    proto::batch_options options;
    options.compression = codec;
    return build({{now, "a", "1"}, {now + 1, "b", "2"}, {now + 2, "c", "3"}}, options);
}

// Edits a header field and recomputes the CRC, so that only the edit is wrong.
template <typename F>
void edit_header(proto::bytes& batch, F edit) {
    auto h = proto::decode_batch_header(batch);
    edit(h);
    proto::write_batch_header(batch, h);
    h.crc = proto::compute_batch_crc(batch);
    proto::write_batch_header(batch, h);
}

produce_validation_options opts(int16_t version = 9) {
    produce_validation_options o;
    o.api_version = version;
    o.now_ms = now;
    return o;
}

produce_validation run(proto::bytes& records, const produce_validation_options& o = opts()) {
    return validate_produce_records(records, o);
}

TEST(produce_validation, a_valid_batch_passes_with_every_codec) {
    for (auto codec : {proto::compression_type::none, proto::compression_type::gzip, proto::compression_type::snappy,
                       proto::compression_type::lz4, proto::compression_type::zstd}) {
        auto batch = three_records(codec);
        auto v = run(batch);
        ASSERT_TRUE(v.ok()) << static_cast<int>(codec) << ": " << v.error_message;
        ASSERT_EQ(v.batches.size(), 1u);
        EXPECT_EQ(v.batches[0].bytes.size(), batch.size());
        EXPECT_EQ(v.batches[0].bytes.data(), batch.data()); // in place, not copied
        EXPECT_EQ(v.batches[0].header.record_count, 3);
    }
}

TEST(produce_validation, zstd_needs_produce_v7) {
    auto batch = three_records(proto::compression_type::zstd);
    EXPECT_EQ(run(batch, opts(6)).error, error_code::unsupported_compression_type);
    EXPECT_TRUE(run(batch, opts(7)).ok());
}

TEST(produce_validation, no_batch_is_an_invalid_record) {
    proto::bytes empty;
    EXPECT_EQ(run(empty).error, error_code::invalid_record);
}

TEST(produce_validation, more_than_one_batch_is_an_invalid_record) {
    auto two = three_records();
    auto second = three_records();
    two.insert(two.end(), second.begin(), second.end());
    auto v = run(two);
    EXPECT_EQ(v.error, error_code::invalid_record);
    EXPECT_TRUE(v.batches.empty());
}

TEST(produce_validation, truncated_or_trailing_bytes_are_corrupt) {
    auto batch = three_records();
    auto cut = batch;
    cut.pop_back();
    EXPECT_EQ(run(cut).error, error_code::corrupt_message);
    auto tail = batch;
    tail.insert(tail.end(), {0, 0, 0, 0, 0});
    EXPECT_EQ(run(tail).error, error_code::corrupt_message);
    proto::bytes tiny{1, 2, 3};
    EXPECT_EQ(run(tiny).error, error_code::corrupt_message);
}

TEST(produce_validation, a_crc_mismatch_is_corrupt) {
    auto batch = three_records();
    batch.back() ^= 0x01;
    auto v = run(batch);
    EXPECT_EQ(v.error, error_code::corrupt_message);
    EXPECT_NE(v.error_message.find("CRC"), std::string::npos) << v.error_message;
}

TEST(produce_validation, only_magic_2_is_accepted) {
    auto batch = three_records();
    batch[proto::batch_field::magic] = 1;
    EXPECT_EQ(run(batch).error, error_code::invalid_record);
}

TEST(produce_validation, the_base_offset_must_be_zero) {
    auto batch = three_records();
    edit_header(batch, [](auto& h) { h.base_offset = 5; });
    EXPECT_EQ(run(batch).error, error_code::invalid_record);
}

TEST(produce_validation, a_batch_over_max_message_bytes_is_too_large) {
    auto batch = three_records();
    auto o = opts();
    o.max_message_bytes = static_cast<int32_t>(batch.size());
    EXPECT_TRUE(run(batch, o).ok());
    o.max_message_bytes = static_cast<int32_t>(batch.size()) - 1;
    EXPECT_EQ(run(batch, o).error, error_code::message_too_large);
}

TEST(produce_validation, record_counts_must_match_the_offsets) {
    auto batch = three_records();
    edit_header(batch, [](auto& h) { h.record_count = 2; });
    EXPECT_EQ(run(batch).error, error_code::invalid_record);
    auto more = three_records();
    edit_header(more, [](auto& h) {
        h.record_count = 4;
        h.last_offset_delta = 3;
    });
    EXPECT_EQ(run(more).error, error_code::invalid_record); // the header claims a record that is not there
}

TEST(produce_validation, clients_may_not_write_control_batches) {
    auto batch = three_records();
    edit_header(batch, [](auto& h) { h.attributes |= proto::batch_attribute::control; });
    EXPECT_EQ(run(batch).error, error_code::invalid_record);
}

TEST(produce_validation, a_producer_id_needs_a_base_sequence) {
    proto::batch_options options;
    options.producer_id = 10;
    options.producer_epoch = 0;
    options.base_sequence = 0;
    auto batch = build({{}}, options);
    EXPECT_TRUE(run(batch).ok());
    edit_header(batch, [](auto& h) { h.base_sequence = -1; });
    EXPECT_EQ(run(batch).error, error_code::invalid_record);
}

TEST(produce_validation, create_time_outside_the_window_is_reported_per_record) {
    auto batch = build({{now}, {now + 7'200'000}, {now}, {now - 10'000}});
    auto o = opts();
    o.timestamp_after_max_ms = 3'600'000;
    o.timestamp_before_max_ms = 5'000;
    auto v = run(batch, o);
    EXPECT_EQ(v.error, error_code::invalid_timestamp);
    ASSERT_EQ(v.record_errors.size(), 2u);
    EXPECT_EQ(v.record_errors[0].batch_index, 1);
    EXPECT_EQ(v.record_errors[1].batch_index, 3);
    EXPECT_TRUE(v.batches.empty());
    // LogAppendTime topics do not look at the producer's clock.
    o.timestamp_type = storage::message_timestamp_type::log_append_time;
    EXPECT_TRUE(run(batch, o).ok());
}

TEST(produce_validation, compacted_topics_need_keys) {
    auto batch = build({{now, "k"}, {now, std::nullopt}});
    auto o = opts();
    o.compacted = true;
    auto v = run(batch, o);
    EXPECT_EQ(v.error, error_code::invalid_record);
    ASSERT_EQ(v.record_errors.size(), 1u);
    EXPECT_EQ(v.record_errors[0].batch_index, 1);
    o.compacted = false;
    EXPECT_TRUE(run(batch, o).ok());
}

TEST(produce_validation, an_understated_max_timestamp_is_corrected) {
    auto batch = build({{now}, {now + 50}, {now + 10}});
    edit_header(batch, [](auto& h) { h.max_timestamp = now; });
    auto v = run(batch);
    ASSERT_TRUE(v.ok()) << v.error_message;
    EXPECT_EQ(v.batches[0].header.max_timestamp, now + 50);
    EXPECT_EQ(proto::decode_batch_header(batch).max_timestamp, now + 50);
    EXPECT_EQ(proto::validate_batch(batch, {}), proto::batch_error::none); // the CRC was recomputed
}

TEST(produce_validation, decompression_is_bounded) {
    proto::batch_options options;
    options.compression = proto::compression_type::zstd;
    std::vector<record_spec> big(50, record_spec{now, "k", std::string(10'000, 'z')});
    auto batch = build(big, options);
    auto o = opts();
    o.decompressed_bytes_max = 100'000;
    EXPECT_EQ(run(batch, o).error, error_code::invalid_record);
    o.decompressed_bytes_max = 1'000'000;
    EXPECT_TRUE(run(batch, o).ok());
}

TEST(produce_validation, random_corruption_never_passes_unnoticed) {
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    std::mt19937 random(seed);
    const auto original = three_records(proto::compression_type::lz4);
    for (int round = 0; round < 2000; ++round) {
        auto batch = original;
        const int flips = 1 + static_cast<int>(random() % 4);
        for (int i = 0; i < flips; ++i) {
            batch[random() % batch.size()] ^= static_cast<uint8_t>(1 + random() % 255);
        }
        if (random() % 4 == 0) {
            batch.resize(random() % batch.size());
        }
        auto v = run(batch);
        if (v.ok()) {
            // Only edits the CRC does not cover can pass: base offset 0 stays, so the
            // leader epoch field (bytes 12..15) is the one place left.
            for (size_t k = 0; k < batch.size(); ++k) {
                if (k < 12 || k >= 16) {
                    ASSERT_EQ(batch[k], original[k]) << "byte " << k << " changed, round " << round;
                }
            }
        }
    }
}

TEST(produce_validation, batch_errors_map_to_kafka_codes) {
    EXPECT_EQ(to_produce_error(proto::batch_error::bad_crc), error_code::corrupt_message);
    EXPECT_EQ(to_produce_error(proto::batch_error::bad_magic), error_code::invalid_record);
    EXPECT_EQ(to_produce_error(proto::batch_error::bad_sequence), error_code::invalid_record);
    EXPECT_EQ(to_produce_error(proto::batch_error::none), error_code::none);
}

TEST(produce_validation, the_topic_codec_rewrites_other_codecs) {
    const proto::compression_type codecs[] = {proto::compression_type::none, proto::compression_type::gzip,
                                              proto::compression_type::snappy, proto::compression_type::lz4,
                                              proto::compression_type::zstd};
    for (auto from : codecs) {
        for (auto to : codecs) {
            proto::batch_options options;
            options.compression = from;
            options.producer_id = 7;
            options.producer_epoch = 2;
            options.base_sequence = 40;
            auto batch = build({{now, "a", "1"}, {now + 5, std::nullopt, "2"}, {now + 2, "c", "3"}}, options);
            auto o = opts();
            o.recompress_to = to;
            auto v = run(batch, o);
            ASSERT_TRUE(v.ok()) << v.error_message;
            ASSERT_EQ(v.batches.size(), 1u);
            const auto& vb = v.batches[0];
            EXPECT_EQ(vb.header.compression(), to);
            EXPECT_EQ(vb.bytes.data() == batch.data(), from == to) << "rewritten only when the codec differs";
            EXPECT_EQ(vb.header.producer_id, 7);
            EXPECT_EQ(vb.header.producer_epoch, 2);
            EXPECT_EQ(vb.header.base_sequence, 40);
            EXPECT_EQ(vb.header.max_timestamp, now + 5);
            EXPECT_EQ(proto::validate_batch(vb.bytes, {}), proto::batch_error::none);
            auto reader = proto::record_reader::open(vb.bytes, 1 << 20);
            ASSERT_TRUE(reader.ok());
            std::vector<std::string> values;
            while (auto r = reader.value().next()) {
                values.emplace_back(reinterpret_cast<const char*>(r->value->data()), r->value->size());
            }
            EXPECT_EQ(values, (std::vector<std::string>{"1", "2", "3"}));
        }
    }
}

TEST(produce_validation, a_batch_too_large_once_recompressed_is_refused) {
    // Incompressible values grow a little in gzip's framing.
    std::string noise;
    uint32_t x = 12345;
    for (int i = 0; i < 4000; ++i) {
        x = x * 1103515245u + 12345u;
        noise.push_back(static_cast<char>(x >> 24));
    }
    auto batch = build({{now, "k", noise}});
    auto o = opts();
    o.max_message_bytes = static_cast<int32_t>(batch.size());
    o.recompress_to = proto::compression_type::gzip;
    auto v = run(batch, o);
    EXPECT_EQ(v.error, error_code::message_too_large) << v.error_message;
}

} // namespace
} // namespace runnel::broker
