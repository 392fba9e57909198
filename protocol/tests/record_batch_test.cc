// Record batch v2: header decoding of a hand-built batch, builder round trips
// for every codec, each validation error, the splitter, the in-place
// mutators, and batches librdkafka produced (captured by
// tools/capture_batches.py).
#include "protocol/record_batch.h"

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "protocol/crc32c.h"

namespace runnel::proto {
namespace {

using namespace std::string_view_literals;

constexpr std::array<compression_type, 5> all_codecs = {compression_type::none, compression_type::gzip,
                                                        compression_type::snappy, compression_type::lz4,
                                                        compression_type::zstd};

bytes_view as_bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string as_string(bytes_view b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::optional<std::string> as_optional_string(const std::optional<bytes_view>& b) {
    return b ? std::optional<std::string>(as_string(*b)) : std::nullopt;
}

// Test-side big-endian patching, independent of the code under test.
void put_be(bytes& b, size_t at, uint64_t v, size_t width) {
    for (size_t i = 0; i < width; ++i) {
        b[at + i] = static_cast<uint8_t>(v >> (8 * (width - 1 - i)));
    }
}
void put_be32(bytes& b, size_t at, int64_t v) {
    put_be(b, at, static_cast<uint64_t>(v), 4);
}
void put_be16(bytes& b, size_t at, int64_t v) {
    put_be(b, at, static_cast<uint64_t>(v), 2);
}
// Recomputes the CRC the way the format defines it: CRC-32C from offset 21.
void fix_crc(bytes& b) {
    put_be32(b, 17, crc32c(bytes_view(b).subspan(21)));
}

const validate_options client_walk{.from_client = true, .walk_records = true};
const validate_options stored_walk{.from_client = false, .walk_records = true};
const validate_options header_only{};

// ---- a batch built byte by byte, without the code under test ----

bytes hand_built_batch() {
    writer record;
    record.write_int8(0);   // attributes
    record.write_varlong(5); // timestamp delta
    record.write_varint(0); // offset delta
    record.write_varint(1);
    record.write_raw("k"sv);
    record.write_varint(1);
    record.write_raw("v"sv);
    record.write_varint(1); // one header
    record.write_varint(2);
    record.write_raw("hk"sv);
    record.write_varint(-1); // null header value

    writer w;
    w.write_int64(1234);       // base offset
    size_t length_at = w.reserve_int32();
    w.write_int32(7);          // partition leader epoch
    w.write_int8(2);           // magic
    w.reserve_int32();         // crc, patched below
    w.write_int16(0x0010);     // transactional, create time, no compression
    w.write_int32(0);          // last offset delta
    w.write_int64(1'700'000'000'000); // first timestamp
    w.write_int64(1'700'000'000'005); // max timestamp
    w.write_int64(42);         // producer id
    w.write_int16(3);          // producer epoch
    w.write_int32(17);         // base sequence
    w.write_int32(1);          // record count
    w.write_varint(static_cast<int32_t>(record.size()));
    w.write_raw(record.buffer());
    w.patch_int32(length_at, static_cast<int32_t>(w.size() - 12));
    bytes out = w.release();
    fix_crc(out);
    return out;
}

TEST(batch_layout, offsets_are_kafkas) {
    EXPECT_EQ(batch_header_size, 61u);
    EXPECT_EQ(batch_field::batch_length, 8u);
    EXPECT_EQ(batch_field::partition_leader_epoch, 12u);
    EXPECT_EQ(batch_field::magic, 16u);
    EXPECT_EQ(batch_field::crc, 17u);
    EXPECT_EQ(batch_field::attributes, 21u);
    EXPECT_EQ(batch_field::last_offset_delta, 23u);
    EXPECT_EQ(batch_field::first_timestamp, 27u);
    EXPECT_EQ(batch_field::max_timestamp, 35u);
    EXPECT_EQ(batch_field::producer_id, 43u);
    EXPECT_EQ(batch_field::producer_epoch, 51u);
    EXPECT_EQ(batch_field::base_sequence, 53u);
    EXPECT_EQ(batch_field::record_count, 57u);
}

TEST(batch_header, decodes_hand_built_batch) {
    bytes b = hand_built_batch();
    batch_header h = decode_batch_header(b);
    EXPECT_EQ(h.base_offset, 1234);
    EXPECT_EQ(h.batch_length, static_cast<int32_t>(b.size() - 12));
    EXPECT_EQ(h.partition_leader_epoch, 7);
    EXPECT_EQ(h.magic, 2);
    EXPECT_EQ(h.crc, crc32c(bytes_view(b).subspan(21)));
    EXPECT_EQ(h.attributes, 0x0010);
    EXPECT_EQ(h.last_offset_delta, 0);
    EXPECT_EQ(h.first_timestamp, 1'700'000'000'000);
    EXPECT_EQ(h.max_timestamp, 1'700'000'000'005);
    EXPECT_EQ(h.producer_id, 42);
    EXPECT_EQ(h.producer_epoch, 3);
    EXPECT_EQ(h.base_sequence, 17);
    EXPECT_EQ(h.record_count, 1);
    EXPECT_EQ(h.compression(), compression_type::none);
    EXPECT_EQ(h.timestamp_type(), timestamp_type::create_time);
    EXPECT_TRUE(h.is_transactional());
    EXPECT_FALSE(h.is_control());
    EXPECT_FALSE(h.has_delete_horizon());
    EXPECT_EQ(h.last_offset(), 1234);
    EXPECT_EQ(h.size_bytes(), b.size());

    EXPECT_EQ(validate_batch(b, client_walk), batch_error::none);
    auto reader = record_reader::open(b, 1 << 20);
    ASSERT_TRUE(reader.ok());
    auto r = reader.value().next();
    ASSERT_TRUE(r);
    EXPECT_EQ(as_optional_string(r->key), "k");
    EXPECT_EQ(as_optional_string(r->value), "v");
    ASSERT_EQ(r->headers.size(), 1u);
    EXPECT_EQ(r->headers[0].key, "hk");
    EXPECT_FALSE(r->headers[0].value);
    EXPECT_EQ(record_offset(h, *r), 1234);
    EXPECT_EQ(record_timestamp(h, *r), 1'700'000'000'005);
    EXPECT_FALSE(reader.value().next());
    EXPECT_EQ(reader.value().error(), batch_error::none);
}

TEST(batch_header, attribute_bits) {
    bytes b = hand_built_batch();
    put_be16(b, 21, 0x007F);
    batch_header h = decode_batch_header(b);
    EXPECT_EQ(h.compression_bits(), 7);
    EXPECT_EQ(h.timestamp_type(), timestamp_type::log_append_time);
    EXPECT_TRUE(h.is_transactional());
    EXPECT_TRUE(h.is_control());
    EXPECT_TRUE(h.has_delete_horizon());
    put_be16(b, 21, 0x0004);
    h = decode_batch_header(b);
    EXPECT_EQ(h.compression(), compression_type::zstd);
    EXPECT_FALSE(h.is_transactional());
    EXPECT_FALSE(h.is_control());
    EXPECT_EQ(h.timestamp_type(), timestamp_type::create_time);
}

TEST(batch_header, write_then_decode_is_identity) {
    bytes b = hand_built_batch();
    batch_header h = decode_batch_header(b);
    bytes copy(batch_header_size);
    write_batch_header(copy, h);
    EXPECT_TRUE(std::equal(copy.begin(), copy.end(), b.begin()));
}

// ---- builder round trips ----

struct test_header {
    std::string key;
    std::optional<std::string> value;
};
struct test_record {
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::vector<test_header> headers;
    int64_t timestamp;
};

std::optional<bytes_view> view_of(const std::optional<std::string>& s) {
    return s ? std::optional<bytes_view>(as_bytes(*s)) : std::nullopt;
}

outcome<bytes, batch_error> build(const batch_options& options, const std::vector<test_record>& records) {
    batch_builder builder(options);
    for (const test_record& r : records) {
        std::vector<header_view> headers;
        for (const test_header& h : r.headers) {
            headers.push_back({h.key, view_of(h.value)});
        }
        batch_error e = builder.add(r.timestamp, view_of(r.key), view_of(r.value), headers);
        if (e != batch_error::none) {
            return e;
        }
    }
    return builder.build();
}

// Iterates a batch and compares every record with what was put in.
void expect_records(bytes_view batch, const std::vector<test_record>& expected) {
    auto opened = record_reader::open(batch, 16 << 20);
    ASSERT_TRUE(opened.ok()) << to_string(opened.error());
    record_reader& reader = opened.value();
    const batch_header& h = reader.header();
    for (size_t i = 0; i < expected.size(); ++i) {
        SCOPED_TRACE(::testing::Message() << "record " << i);
        std::optional<record_view> r = reader.next();
        ASSERT_TRUE(r) << to_string(reader.error());
        EXPECT_EQ(r->offset_delta, static_cast<int32_t>(i));
        EXPECT_EQ(record_offset(h, *r), h.base_offset + static_cast<int64_t>(i));
        EXPECT_EQ(record_timestamp(h, *r), expected[i].timestamp);
        EXPECT_EQ(as_optional_string(r->key), expected[i].key);
        EXPECT_EQ(as_optional_string(r->value), expected[i].value);
        ASSERT_EQ(r->headers.size(), expected[i].headers.size());
        for (size_t j = 0; j < r->headers.size(); ++j) {
            EXPECT_EQ(r->headers[j].key, expected[i].headers[j].key);
            EXPECT_EQ(as_optional_string(r->headers[j].value), expected[i].headers[j].value);
        }
    }
    EXPECT_FALSE(reader.next());
    EXPECT_EQ(reader.error(), batch_error::none);
    EXPECT_EQ(reader.records_read(), static_cast<int32_t>(expected.size()));
}

std::vector<test_record> sample_records() {
    return {
        {"alpha", "one", {{"h1", "x"}, {"h2", std::nullopt}}, 1000},
        {std::nullopt, "null key", {}, 1002},
        {"gamma", std::nullopt, {{"tombstone", ""}}, 999},
        {"", "", {}, 1001},
        {"big", std::string(100 * 1024, 'z') + "end", {}, 1003},
    };
}

class builder_test : public ::testing::TestWithParam<compression_type> {};

TEST_P(builder_test, build_validate_iterate) {
    const compression_type codec = GetParam();
    batch_options options{.base_offset = 100,
                          .partition_leader_epoch = 5,
                          .producer_id = 77,
                          .producer_epoch = 2,
                          .base_sequence = 10,
                          .transactional = true,
                          .compression = codec};
    std::vector<test_record> records = sample_records();
    auto built = build(options, records);
    ASSERT_TRUE(built.ok()) << to_string(built.error());
    const bytes& b = built.value();

    batch_header h = decode_batch_header(b);
    EXPECT_EQ(h.base_offset, 100);
    EXPECT_EQ(h.partition_leader_epoch, 5);
    EXPECT_EQ(h.magic, 2);
    EXPECT_EQ(h.compression(), codec);
    EXPECT_TRUE(h.is_transactional());
    EXPECT_FALSE(h.is_control());
    EXPECT_EQ(h.timestamp_type(), timestamp_type::create_time);
    EXPECT_EQ(h.record_count, 5);
    EXPECT_EQ(h.last_offset_delta, 4);
    EXPECT_EQ(h.last_offset(), 104);
    EXPECT_EQ(h.first_timestamp, 1000);
    EXPECT_EQ(h.max_timestamp, 1003);
    EXPECT_EQ(h.producer_id, 77);
    EXPECT_EQ(h.producer_epoch, 2);
    EXPECT_EQ(h.base_sequence, 10);
    EXPECT_EQ(h.size_bytes(), b.size());
    if (codec != compression_type::none) {
        EXPECT_LT(b.size(), size_t{50 * 1024}) << "the 100 KiB value should compress";
    }

    EXPECT_EQ(validate_batch(b, client_walk), batch_error::none);
    EXPECT_EQ(validate_batch(b, stored_walk), batch_error::none);
    expect_records(b, records);
}

TEST_P(builder_test, compressed_walk_respects_the_limit) {
    auto built = build({.compression = GetParam()}, sample_records());
    ASSERT_TRUE(built.ok());
    validate_options tight = client_walk;
    tight.decompressed_bytes_max = 50 * 1024; // the records are over 100 KiB
    batch_error expected = GetParam() == compression_type::none ? batch_error::none
                                                                 : batch_error::too_large_when_decompressed;
    EXPECT_EQ(validate_batch(built.value(), tight), expected);
}

TEST_P(builder_test, every_truncation_fails) {
    auto built = build({.compression = GetParam()}, {{"k", "v", {}, 1}, {"k2", "v2", {{"h", "v"}}, 2}});
    ASSERT_TRUE(built.ok());
    const bytes& b = built.value();
    for (size_t n = 0; n < b.size(); ++n) {
        EXPECT_NE(validate_batch(bytes_view(b).first(n), client_walk), batch_error::none) << "prefix " << n;
    }
}

INSTANTIATE_TEST_SUITE_P(codecs, builder_test, ::testing::ValuesIn(all_codecs),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(builder, control_batch_is_refused_from_clients_only) {
    auto built = build({.producer_id = 9, .producer_epoch = 0, .base_sequence = -1, .transactional = true, .control = true},
                       {{std::string("\0\0\0\1", 4), std::string(6, '\0'), {}, 5}});
    ASSERT_TRUE(built.ok());
    EXPECT_TRUE(decode_batch_header(built.value()).is_control());
    EXPECT_EQ(validate_batch(built.value(), stored_walk), batch_error::none);
    EXPECT_EQ(validate_batch(built.value(), client_walk), batch_error::control_batch_from_client);
}

TEST(builder, producer_id_without_sequence_is_refused_from_clients) {
    auto built = build({.producer_id = 9, .producer_epoch = 0, .base_sequence = -1}, {{"k", "v", {}, 5}});
    ASSERT_TRUE(built.ok());
    EXPECT_EQ(validate_batch(built.value(), stored_walk), batch_error::none);
    EXPECT_EQ(validate_batch(built.value(), client_walk), batch_error::bad_sequence);
}

TEST(builder, defaults_mean_no_producer) {
    auto built = build({}, {{"k", "v", {}, 5}});
    ASSERT_TRUE(built.ok());
    batch_header h = decode_batch_header(built.value());
    EXPECT_EQ(h.producer_id, no_producer_id);
    EXPECT_EQ(h.producer_epoch, no_producer_epoch);
    EXPECT_EQ(h.base_sequence, no_sequence);
    EXPECT_EQ(h.partition_leader_epoch, no_partition_leader_epoch);
    EXPECT_FALSE(h.has_producer_id());
}

// ---- validation errors ----

bytes valid_batch(compression_type codec = compression_type::none) {
    auto built = build({.compression = codec}, sample_records());
    EXPECT_TRUE(built.ok());
    return built.value();
}

TEST(validate, wrong_crc) {
    bytes b = valid_batch();
    b.back() ^= 0x01;
    EXPECT_EQ(validate_batch(b, header_only), batch_error::bad_crc);
    bytes c = valid_batch();
    c[17] ^= 0x80; // the CRC field itself
    EXPECT_EQ(validate_batch(c, header_only), batch_error::bad_crc);
    bytes d = valid_batch();
    d[21 + 1] ^= 0x08; // attributes are covered: flip the timestamp type
    EXPECT_EQ(validate_batch(d, header_only), batch_error::bad_crc);
}

TEST(validate, wrong_length) {
    bytes b = valid_batch();
    int32_t length = decode_batch_header(b).batch_length;
    put_be32(b, 8, length + 1);
    EXPECT_EQ(validate_batch(b, header_only), batch_error::bad_length);
    put_be32(b, 8, length - 1);
    EXPECT_EQ(validate_batch(b, header_only), batch_error::bad_length);
    put_be32(b, 8, 48); // below the 49-byte minimum
    EXPECT_EQ(validate_batch(b, header_only), batch_error::bad_length);
    put_be32(b, 8, -1);
    EXPECT_EQ(validate_batch(b, header_only), batch_error::bad_length);
    bytes longer = valid_batch();
    longer.push_back(0);
    EXPECT_EQ(validate_batch(longer, header_only), batch_error::bad_length);
}

TEST(validate, too_short) {
    bytes b = valid_batch();
    EXPECT_EQ(validate_batch(bytes_view(b).first(60), header_only), batch_error::too_short);
    EXPECT_EQ(validate_batch({}, header_only), batch_error::too_short);
    EXPECT_EQ(record_reader::open(bytes_view(b).first(60), 1 << 20).error(), batch_error::too_short);
}

TEST(validate, bad_magic) {
    for (uint8_t magic : {0, 1, 3, 0xFF}) {
        bytes b = valid_batch();
        b[16] = magic; // not under the CRC
        EXPECT_EQ(validate_batch(b, header_only), batch_error::bad_magic) << int{magic};
        EXPECT_EQ(record_reader::open(b, 1 << 20).error(), batch_error::bad_magic);
    }
}

// Sets record_count and last_offset_delta and re-signs the batch.
bytes with_counts(bytes b, int32_t record_count, int32_t last_offset_delta) {
    put_be32(b, 57, record_count);
    put_be32(b, 23, last_offset_delta);
    fix_crc(b);
    return b;
}

TEST(validate, record_count_above_offset_range) {
    bytes b = with_counts(valid_batch(), 6, 4);
    EXPECT_EQ(validate_batch(b, header_only), batch_error::bad_record_count);
}

TEST(validate, record_count_lies_high) {
    // Consistent header (6 records in deltas 0..5) but only five records.
    for (compression_type codec : all_codecs) {
        bytes b = with_counts(valid_batch(codec), 6, 5);
        EXPECT_EQ(validate_batch(b, {.from_client = true}), batch_error::none) << to_string(codec);
        EXPECT_EQ(validate_batch(b, client_walk), batch_error::bad_record_count) << to_string(codec);
    }
}

TEST(validate, record_count_lies_low) {
    for (compression_type codec : all_codecs) {
        bytes b = with_counts(valid_batch(codec), 4, 4);
        EXPECT_EQ(validate_batch(b, {.from_client = true}), batch_error::bad_record_count); // 4 != 4 + 1
        EXPECT_EQ(validate_batch(b, header_only), batch_error::none);                      // fine for stored data
        EXPECT_EQ(validate_batch(b, stored_walk), batch_error::bad_record_count) << to_string(codec);
    }
}

TEST(validate, negative_counts) {
    EXPECT_EQ(validate_batch(with_counts(valid_batch(), -1, 4), header_only), batch_error::bad_record_count);
    EXPECT_EQ(validate_batch(with_counts(valid_batch(), 0, -1), header_only), batch_error::bad_record_count);
    EXPECT_EQ(record_reader::open(with_counts(valid_batch(), -1, 4), 1 << 20).error(), batch_error::bad_record_count);
}

TEST(validate, unsupported_codec_bits) {
    for (int bits : {5, 6, 7}) {
        bytes b = valid_batch();
        put_be16(b, 21, bits);
        fix_crc(b);
        EXPECT_EQ(validate_batch(b, header_only), batch_error::unsupported_compression);
        EXPECT_EQ(record_reader::open(b, 1 << 20).error(), batch_error::unsupported_compression);
    }
}

// A batch around a records section given as raw bytes, correctly signed.
bytes batch_around(bytes_view section, int32_t record_count, int32_t last_offset_delta, int16_t attributes = 0) {
    bytes b(batch_header_size + section.size());
    batch_header h;
    h.batch_length = static_cast<int32_t>(b.size() - batch_log_overhead);
    h.partition_leader_epoch = -1;
    h.magic = 2;
    h.attributes = attributes;
    h.last_offset_delta = last_offset_delta;
    h.producer_id = -1;
    h.producer_epoch = -1;
    h.base_sequence = -1;
    h.record_count = record_count;
    write_batch_header(b, h);
    std::copy(section.begin(), section.end(), b.begin() + batch_header_size);
    fix_crc(b);
    return b;
}

TEST(validate, garbage_compressed_payload) {
    bytes garbage(64, 0xFF);
    for (compression_type codec : {compression_type::gzip, compression_type::snappy, compression_type::lz4,
                                   compression_type::zstd}) {
        bytes b = batch_around(garbage, 1, 0, static_cast<int16_t>(codec));
        EXPECT_EQ(validate_batch(b, header_only), batch_error::none) << "only the walk decompresses";
        EXPECT_EQ(validate_batch(b, client_walk), batch_error::bad_compression) << to_string(codec);
    }
}

TEST(validate, truncated_compressed_payload) {
    for (compression_type codec : {compression_type::gzip, compression_type::snappy, compression_type::lz4,
                                   compression_type::zstd}) {
        bytes b = valid_batch(codec);
        bytes_view section = bytes_view(b).subspan(batch_header_size);
        bytes cut = batch_around(section.first(section.size() - 5), 5, 4, static_cast<int16_t>(codec));
        EXPECT_EQ(validate_batch(cut, client_walk), batch_error::bad_compression) << to_string(codec);
    }
}

TEST(validate, decompression_bomb_hits_the_limit) {
    // 32 MiB of zeros as the records section of a one-record batch: the limit
    // (1 MiB) stops the walk long before the records would be looked at.
    bytes zeros(32 * 1024 * 1024, 0);
    for (compression_type codec : {compression_type::gzip, compression_type::snappy, compression_type::lz4,
                                   compression_type::zstd}) {
        compression_result packed = compress(codec, zeros);
        ASSERT_TRUE(packed.ok());
        bytes b = batch_around(packed.value(), 1, 0, static_cast<int16_t>(codec));
        validate_options options = client_walk;
        options.decompressed_bytes_max = 1024 * 1024;
        EXPECT_EQ(validate_batch(b, options), batch_error::too_large_when_decompressed) << to_string(codec);
    }
}

// ---- record framing, with records written by hand ----

struct raw_record {
    int32_t offset_delta = 0;
    int32_t key_length = 1; // -1 null, anything else writes that many 'k'
    int32_t value_length = 1;
    int32_t header_count = 0;
    int32_t header_key_length = 1;
    int32_t extra_body_bytes = 0; // bytes inside the record after its fields
    int32_t length_adjust = 0;    // added to the record's length prefix
};

void write_raw_record(writer& section, const raw_record& r) {
    writer body;
    body.write_int8(0);
    body.write_varlong(0);
    body.write_varint(r.offset_delta);
    body.write_varint(r.key_length);
    body.write_raw(std::string(static_cast<size_t>(std::max(r.key_length, 0)), 'k'));
    body.write_varint(r.value_length);
    body.write_raw(std::string(static_cast<size_t>(std::max(r.value_length, 0)), 'v'));
    body.write_varint(r.header_count);
    for (int32_t i = 0; i < std::min(r.header_count, 4); ++i) {
        body.write_varint(r.header_key_length);
        body.write_raw(std::string(static_cast<size_t>(std::max(r.header_key_length, 0)), 'h'));
        body.write_varint(-1);
    }
    body.write_raw(std::string(static_cast<size_t>(r.extra_body_bytes), 'x'));
    section.write_varint(static_cast<int32_t>(body.size()) + r.length_adjust);
    section.write_raw(body.buffer());
}

batch_error walk(const std::vector<raw_record>& records, int32_t record_count, int32_t last_offset_delta,
                 const validate_options& options = stored_walk) {
    writer section;
    for (const raw_record& r : records) {
        write_raw_record(section, r);
    }
    return validate_batch(batch_around(section.buffer(), record_count, last_offset_delta), options);
}

TEST(records, well_formed_hand_written_records_pass) {
    EXPECT_EQ(walk({{.offset_delta = 0}, {.offset_delta = 1, .header_count = 2}}, 2, 1, client_walk), batch_error::none);
}

TEST(records, framing_errors) {
    EXPECT_EQ(walk({{.length_adjust = 1}}, 1, 0), batch_error::bad_records);  // runs past the section
    EXPECT_EQ(walk({{.length_adjust = -1}}, 1, 0), batch_error::bad_records); // fields run past the record
    EXPECT_EQ(walk({{.extra_body_bytes = 1}}, 1, 0), batch_error::bad_records); // bytes left inside the record
    EXPECT_EQ(walk({{.key_length = -2}}, 1, 0), batch_error::bad_records);
    EXPECT_EQ(walk({{.value_length = -5}}, 1, 0), batch_error::bad_records);
    EXPECT_EQ(walk({{.header_count = -1}}, 1, 0), batch_error::bad_records);
    EXPECT_EQ(walk({{.header_count = 1'000'000}}, 1, 0), batch_error::bad_records);
    EXPECT_EQ(walk({{.header_count = 1, .header_key_length = -1}}, 1, 0), batch_error::bad_records); // null key
}

TEST(records, negative_or_overlong_length_prefix) {
    writer section;
    section.write_varint(-3);
    section.write_raw(std::string(10, 'x')); // room for a record, so only the prefix is wrong
    EXPECT_EQ(validate_batch(batch_around(bytes(section.buffer()), 1, 0), stored_walk), batch_error::bad_records);
    bytes overlong(10, 0xFF); // a varint that never ends
    EXPECT_EQ(validate_batch(batch_around(overlong, 1, 0), stored_walk), batch_error::bad_records);
}

TEST(records, offset_deltas_must_rise_within_range) {
    EXPECT_EQ(walk({{.offset_delta = 0}, {.offset_delta = 0}}, 2, 1), batch_error::bad_records);
    EXPECT_EQ(walk({{.offset_delta = 1}, {.offset_delta = 0}}, 2, 1), batch_error::bad_records);
    EXPECT_EQ(walk({{.offset_delta = 0}, {.offset_delta = 2}}, 2, 1), batch_error::bad_records);
    EXPECT_EQ(walk({{.offset_delta = -1}}, 1, 0), batch_error::bad_records);
}

TEST(records, compacted_batches_pass_only_as_stored_data) {
    // Compaction keeps last_offset_delta and drops records: gaps, even none left.
    EXPECT_EQ(walk({{.offset_delta = 0}, {.offset_delta = 3}}, 2, 3), batch_error::none);
    EXPECT_EQ(walk({{.offset_delta = 0}, {.offset_delta = 3}}, 2, 3, client_walk), batch_error::bad_record_count);
    EXPECT_EQ(walk({}, 0, 5), batch_error::none);
    EXPECT_EQ(walk({}, 0, 5, client_walk), batch_error::bad_record_count);
}

TEST(records, count_that_cannot_fit_is_refused_up_front) {
    EXPECT_EQ(walk({{.offset_delta = 0}}, 1000, 999), batch_error::bad_record_count);
}

TEST(records, random_corruption_never_crashes) {
    // Re-signed so that corruption reaches the record walk, not just the CRC.
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    std::mt19937 rng(seed);
    for (compression_type codec : all_codecs) {
        auto built = build({.compression = codec}, {{"k", "v", {{"h", "x"}}, 1}, {std::nullopt, "w", {}, 2}});
        ASSERT_TRUE(built.ok());
        for (int round = 0; round < 300; ++round) {
            bytes b = built.value();
            size_t at = batch_field::attributes + 2 + rng() % (b.size() - batch_field::attributes - 2);
            b[at] = static_cast<uint8_t>(rng());
            fix_crc(b);
            batch_error e = validate_batch(b, client_walk);
            auto reader = record_reader::open(b, 1 << 20);
            if (reader.ok()) {
                for (int i = 0; i < 10 && reader.value().next(); ++i) {
                }
            }
            // Whatever the verdict, a reader agrees with validate about success.
            if (e == batch_error::none) {
                ASSERT_TRUE(reader.ok());
                EXPECT_EQ(reader.value().error(), batch_error::none);
            }
        }
    }
}

// ---- splitter ----

TEST(splitter, splits_concatenated_batches) {
    bytes a = valid_batch();
    bytes b = valid_batch(compression_type::zstd);
    bytes c = hand_built_batch();
    bytes all;
    for (const bytes* x : {&a, &b, &c}) {
        all.insert(all.end(), x->begin(), x->end());
    }
    batch_splitter s(all);
    for (const bytes* x : {&a, &b, &c}) {
        std::optional<bytes_view> next = s.next();
        ASSERT_TRUE(next);
        EXPECT_TRUE(std::equal(next->begin(), next->end(), x->begin(), x->end()));
        EXPECT_EQ(validate_batch(*next, client_walk), batch_error::none);
    }
    EXPECT_FALSE(s.next());
    EXPECT_EQ(s.error(), batch_error::none);
    EXPECT_EQ(s.position(), all.size());
}

TEST(splitter, empty_buffer) {
    batch_splitter s({});
    EXPECT_FALSE(s.next());
    EXPECT_EQ(s.error(), batch_error::none);
}

TEST(splitter, truncated_and_garbage_tails) {
    bytes a = valid_batch();
    // A few stray bytes, too few for a length field.
    bytes stray = a;
    stray.insert(stray.end(), {1, 2, 3, 4, 5});
    batch_splitter s1(stray);
    EXPECT_TRUE(s1.next());
    EXPECT_FALSE(s1.next());
    EXPECT_EQ(s1.error(), batch_error::truncated);
    EXPECT_EQ(s1.position(), a.size());
    EXPECT_FALSE(s1.next()); // the error sticks
    // A second batch cut short.
    bytes cut = a;
    cut.insert(cut.end(), a.begin(), a.end() - 1);
    batch_splitter s2(cut);
    EXPECT_TRUE(s2.next());
    EXPECT_FALSE(s2.next());
    EXPECT_EQ(s2.error(), batch_error::truncated);
    // A length field below the minimum batch.
    bytes tiny = a;
    bytes header(12, 0);
    header[11] = 10;
    tiny.insert(tiny.end(), header.begin(), header.end());
    batch_splitter s3(tiny);
    EXPECT_TRUE(s3.next());
    EXPECT_FALSE(s3.next());
    EXPECT_EQ(s3.error(), batch_error::bad_length);
}

// ---- in-place mutators ----

TEST(mutators, base_offset_and_leader_epoch_leave_the_crc_valid) {
    for (compression_type codec : all_codecs) {
        bytes b = valid_batch(codec);
        uint32_t crc_before = decode_batch_header(b).crc;
        set_base_offset(b, 5'000'000'000);
        set_partition_leader_epoch(b, 12);
        batch_header h = decode_batch_header(b);
        EXPECT_EQ(h.base_offset, 5'000'000'000);
        EXPECT_EQ(h.partition_leader_epoch, 12);
        EXPECT_EQ(h.crc, crc_before);
        EXPECT_EQ(h.last_offset(), 5'000'000'004);
        EXPECT_EQ(validate_batch(b, client_walk), batch_error::none);
        auto reader = record_reader::open(b, 1 << 20);
        ASSERT_TRUE(reader.ok());
        auto first = reader.value().next();
        ASSERT_TRUE(first);
        EXPECT_EQ(record_offset(reader.value().header(), *first), 5'000'000'000);
    }
}

TEST(mutators, log_append_time_recomputes_the_crc) {
    for (compression_type codec : all_codecs) {
        SCOPED_TRACE(to_string(codec));
        bytes b = valid_batch(codec);
        batch_header before = decode_batch_header(b);
        set_log_append_time(b, 1'800'000'000'000);
        batch_header h = decode_batch_header(b);
        EXPECT_EQ(h.timestamp_type(), timestamp_type::log_append_time);
        EXPECT_EQ(h.max_timestamp, 1'800'000'000'000);
        EXPECT_EQ(h.first_timestamp, before.first_timestamp);
        EXPECT_EQ(h.compression(), codec);
        EXPECT_NE(h.crc, before.crc);
        EXPECT_EQ(h.crc, crc32c(bytes_view(b).subspan(21)));
        EXPECT_EQ(validate_batch(b, client_walk), batch_error::none);
        auto reader = record_reader::open(b, 1 << 20);
        ASSERT_TRUE(reader.ok());
        int records = 0;
        while (auto r = reader.value().next()) {
            EXPECT_EQ(record_timestamp(h, *r), 1'800'000'000'000);
            ++records;
        }
        EXPECT_EQ(records, 5);

        bytes again = b;
        set_log_append_time(again, 1'800'000'000'000);
        EXPECT_EQ(again, b);
        set_log_append_time(again, 1'900'000'000'000);
        EXPECT_EQ(decode_batch_header(again).max_timestamp, 1'900'000'000'000);
        EXPECT_EQ(validate_batch(again, client_walk), batch_error::none);
    }
}

TEST(mutators, to_string_names_every_error) {
    for (int e = 0; e <= static_cast<int>(batch_error::too_large); ++e) {
        EXPECT_NE(to_string(static_cast<batch_error>(e)), "unknown") << e;
    }
}

// ---- batches captured from librdkafka ----

// The records tools/capture_batches.py produced, in order.
std::vector<test_record> captured_records() {
    return {
        {"key-0", "value-0", {{"trace", "abc"}}, 1700000000000},
        {std::nullopt, "value with a null key", {}, 1700000000001},
        {"key-2", std::nullopt, {{"h-null", std::nullopt}}, 1700000000005},
        {"key-3", std::string(2000, 'x'), {{"a", "1"}, {"b", "2"}}, 1700000000003},
        {"", "", {}, 1700000000002},
    };
}

bytes read_testdata(const std::string& name) {
    std::string path = std::string(RUNNEL_PROTOCOL_TESTDATA) + "/" + name;
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot open " << path;
    return bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class captured_test : public ::testing::TestWithParam<compression_type> {};

TEST_P(captured_test, validates_and_iterates_to_the_known_records) {
    bytes b = read_testdata("librdkafka_" + std::string(to_string(GetParam())) + ".batch");
    ASSERT_GE(b.size(), batch_header_size);
    batch_splitter s(b);
    auto only = s.next();
    ASSERT_TRUE(only);
    EXPECT_EQ(only->size(), b.size());
    EXPECT_FALSE(s.next());
    EXPECT_EQ(s.error(), batch_error::none);

    EXPECT_EQ(validate_batch(b, client_walk), batch_error::none);
    batch_header h = decode_batch_header(b);
    EXPECT_EQ(h.magic, 2);
    EXPECT_EQ(h.compression(), GetParam());
    EXPECT_EQ(h.record_count, 5);
    EXPECT_EQ(h.last_offset_delta, 4);
    EXPECT_EQ(h.timestamp_type(), timestamp_type::create_time);
    EXPECT_EQ(h.first_timestamp, 1700000000000);
    EXPECT_EQ(h.max_timestamp, 1700000000005);
    EXPECT_EQ(h.producer_id, no_producer_id);
    EXPECT_EQ(h.base_sequence, no_sequence);
    EXPECT_FALSE(h.is_transactional());
    expect_records(b, captured_records());
}

INSTANTIATE_TEST_SUITE_P(librdkafka, captured_test, ::testing::ValuesIn(all_codecs),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(captured, librdkafka_sends_raw_snappy) {
    // librdkafka does not use the xerial framing, so this batch exercises the
    // raw path of the snappy decoder (the Java client's framing is tested in
    // compression_test.cc).
    bytes b = read_testdata("librdkafka_snappy.batch");
    ASSERT_GT(b.size(), batch_header_size + 8);
    EXPECT_NE(b[batch_header_size], 0x82);
}

TEST(captured, builder_reproduces_librdkafkas_uncompressed_bytes) {
    // Same records and header fields as librdkafka chose: the builder's
    // encoding must come out byte for byte the same.
    auto built = build({.partition_leader_epoch = 0}, captured_records());
    ASSERT_TRUE(built.ok());
    EXPECT_EQ(built.value(), read_testdata("librdkafka_none.batch"));
}

} // namespace
} // namespace runnel::proto
