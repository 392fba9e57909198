// Compression codecs: round trips, the exact output limit, decompression
// bombs, corrupt and truncated input, and the stream forms other clients
// send (raw and xerial snappy, several gzip members, lz4 frames with options).
#include "protocol/compression.h"

#include <gtest/gtest.h>
#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <array>
#include <cstring>
#include <random>
#include <string>

namespace runnel::proto {
namespace {

constexpr std::array<compression_type, 4> codecs = {compression_type::gzip, compression_type::snappy,
                                                    compression_type::lz4, compression_type::zstd};

bytes text_bytes(size_t size) {
    // Compressible but not trivial: words from a small vocabulary.
    static constexpr std::array<std::string_view, 6> words = {"kafka ", "record ", "batch ", "offset ", "leader ", "epoch "};
    bytes out;
    out.reserve(size);
    for (size_t i = 0; out.size() < size; ++i) {
        std::string_view w = words[(i * 7 + i / 3) % words.size()];
        out.insert(out.end(), w.begin(), w.end());
    }
    out.resize(size);
    return out;
}

bytes random_bytes(size_t size, uint32_t seed) {
    std::mt19937 rng(seed);
    bytes out(size);
    for (auto& b : out) {
        b = static_cast<uint8_t>(rng());
    }
    return out;
}

bytes concat(bytes a, const bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

class codec_test : public ::testing::TestWithParam<compression_type> {};

TEST_P(codec_test, round_trips) {
    const compression_type codec = GetParam();
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    // Empty, tiny, several codec blocks (lz4 64 KiB, xerial 32 KiB), incompressible.
    for (const bytes& input : {bytes{}, bytes{'x'}, text_bytes(200 * 1024), random_bytes(100 * 1024, seed)}) {
        compression_result packed = compress(codec, input);
        ASSERT_TRUE(packed.ok()) << to_string(packed.error());
        compression_result plain = decompress(codec, packed.value(), input.size());
        ASSERT_TRUE(plain.ok()) << to_string(plain.error()) << " for " << input.size() << " bytes";
        EXPECT_EQ(plain.value(), input);
    }
}

TEST_P(codec_test, compresses_compressible_data) {
    bytes input = text_bytes(100 * 1024);
    compression_result packed = compress(GetParam(), input);
    ASSERT_TRUE(packed.ok());
    EXPECT_LT(packed.value().size(), input.size() / 2);
}

TEST_P(codec_test, limit_is_exact) {
    bytes input = text_bytes(70 * 1024);
    compression_result packed = compress(GetParam(), input);
    ASSERT_TRUE(packed.ok());
    EXPECT_TRUE(decompress(GetParam(), packed.value(), input.size()).ok());
    compression_result over = decompress(GetParam(), packed.value(), input.size() - 1);
    EXPECT_EQ(over.error(), compression_error::output_too_large);
}

TEST_P(codec_test, bomb_stops_at_the_limit) {
    // 16 MiB of zeros packs into a few KiB (gzip, zstd) to under a MiB (snappy).
    bytes zeros(16 * 1024 * 1024, 0);
    compression_result packed = compress(GetParam(), zeros);
    ASSERT_TRUE(packed.ok());
    ASSERT_LT(packed.value().size(), size_t{1024 * 1024});
    compression_result plain = decompress(GetParam(), packed.value(), 1024 * 1024);
    EXPECT_EQ(plain.error(), compression_error::output_too_large);
}

TEST_P(codec_test, garbage_is_corrupt) {
    bytes garbage(64, 0xFF);
    EXPECT_EQ(decompress(GetParam(), garbage, 1 << 20).error(), compression_error::corrupt_input);
    EXPECT_EQ(decompress(GetParam(), bytes{}, 1 << 20).error(), compression_error::corrupt_input);
}

TEST_P(codec_test, truncation_is_corrupt) {
    bytes input = text_bytes(50 * 1024);
    compression_result packed = compress(GetParam(), input);
    ASSERT_TRUE(packed.ok());
    const bytes& full = packed.value();
    // Every cut, from the header to the last byte, must fail and not crash.
    size_t step = std::max<size_t>(1, full.size() / 97);
    for (size_t cut = 1; cut < full.size(); cut += step) {
        bytes_view prefix(full.data(), full.size() - cut);
        compression_result r = decompress(GetParam(), prefix, 1 << 20);
        EXPECT_FALSE(r.ok()) << "cut " << cut << " of " << full.size();
    }
}

TEST_P(codec_test, trailing_garbage_is_corrupt) {
    compression_result packed = compress(GetParam(), text_bytes(1000));
    ASSERT_TRUE(packed.ok());
    bytes tail = concat(packed.value(), bytes(16, 0xFF));
    EXPECT_FALSE(decompress(GetParam(), tail, 1 << 20).ok());
}

INSTANTIATE_TEST_SUITE_P(codecs, codec_test, ::testing::ValuesIn(codecs),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(compression, none_copies_within_the_limit) {
    bytes input = text_bytes(100);
    compression_result packed = compress(compression_type::none, input);
    ASSERT_TRUE(packed.ok());
    EXPECT_EQ(packed.value(), input);
    EXPECT_EQ(decompress(compression_type::none, input, 100).value(), input);
    EXPECT_EQ(decompress(compression_type::none, input, 99).error(), compression_error::output_too_large);
}

TEST(compression, unknown_codec_is_unsupported) {
    bytes input = text_bytes(10);
    for (int value : {5, 6, 7}) {
        EXPECT_FALSE(is_known_compression(value));
        auto codec = static_cast<compression_type>(value);
        EXPECT_EQ(decompress(codec, input, 100).error(), compression_error::unsupported_codec);
        EXPECT_EQ(compress(codec, input).error(), compression_error::unsupported_codec);
    }
    for (int value = 0; value <= 4; ++value) {
        EXPECT_TRUE(is_known_compression(value));
    }
}

// ---- gzip ----

TEST(gzip, output_is_gzip_and_zlib_reads_it) {
    bytes input = text_bytes(5000);
    bytes packed = compress(compression_type::gzip, input).value();
    ASSERT_GE(packed.size(), 18u);
    EXPECT_EQ(packed[0], 0x1F); // gzip magic
    EXPECT_EQ(packed[1], 0x8B);
    // zlib's own gzip reader, independent of our decoder.
    z_stream zs{};
    ASSERT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
    bytes out(input.size() + 1);
    zs.next_in = packed.data();
    zs.avail_in = static_cast<uInt>(packed.size());
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
    out.resize(zs.total_out);
    inflateEnd(&zs);
    EXPECT_EQ(out, input);
}

TEST(gzip, several_members_concatenate) {
    bytes a = text_bytes(3000);
    bytes b = random_bytes(500, 7);
    bytes packed = concat(compress(compression_type::gzip, a).value(), compress(compression_type::gzip, b).value());
    compression_result plain = decompress(compression_type::gzip, packed, 1 << 20);
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain.value(), concat(a, b));
}

TEST(gzip, corrupt_crc_is_detected) {
    bytes packed = compress(compression_type::gzip, text_bytes(3000)).value();
    packed[packed.size() - 6] ^= 0x01; // inside the CRC-32 trailer
    EXPECT_EQ(decompress(compression_type::gzip, packed, 1 << 20).error(), compression_error::corrupt_input);
}

// ---- snappy ----

constexpr std::array<uint8_t, 8> xerial_magic = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00};

uint32_t be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

void append_be32(bytes& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<uint8_t>(v >> shift));
    }
}

bytes raw_snappy(bytes_view input) {
    std::string packed;
    snappy::Compress(reinterpret_cast<const char*>(input.data()), input.size(), &packed);
    return bytes(packed.begin(), packed.end());
}

// A xerial stream assembled by hand from blocks of the given size, as
// snappy-java writes it: magic, version 1, compatible version 1, blocks.
bytes xerial_stream(bytes_view input, size_t block_bytes) {
    bytes out(xerial_magic.begin(), xerial_magic.end());
    append_be32(out, 1);
    append_be32(out, 1);
    for (size_t pos = 0; pos < input.size(); pos += block_bytes) {
        bytes block = raw_snappy(input.subspan(pos, std::min(block_bytes, input.size() - pos)));
        append_be32(out, static_cast<uint32_t>(block.size()));
        out.insert(out.end(), block.begin(), block.end());
    }
    return out;
}

TEST(snappy, encodes_xerial_framing_with_32k_blocks) {
    bytes input = text_bytes(100 * 1024);
    bytes packed = compress(compression_type::snappy, input).value();
    ASSERT_GE(packed.size(), 16u);
    EXPECT_TRUE(std::equal(xerial_magic.begin(), xerial_magic.end(), packed.begin()));
    EXPECT_EQ(be32(packed.data() + 8), 1u);  // version
    EXPECT_EQ(be32(packed.data() + 12), 1u); // compatible version
    // Walk the blocks with the snappy library itself.
    bytes plain;
    size_t blocks = 0;
    for (size_t pos = 16; pos < packed.size(); ++blocks) {
        ASSERT_LE(pos + 4, packed.size());
        uint32_t n = be32(packed.data() + pos);
        pos += 4;
        ASSERT_LE(pos + n, packed.size());
        std::string block;
        ASSERT_TRUE(snappy::Uncompress(reinterpret_cast<const char*>(packed.data() + pos), n, &block));
        EXPECT_LE(block.size(), 32u * 1024);
        plain.insert(plain.end(), block.begin(), block.end());
        pos += n;
    }
    EXPECT_EQ(blocks, 4u); // 100 KiB in 32 KiB blocks
    EXPECT_EQ(plain, input);
}

TEST(snappy, decodes_raw_snappy) {
    bytes input = text_bytes(40 * 1024);
    compression_result plain = decompress(compression_type::snappy, raw_snappy(input), 1 << 20);
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain.value(), input);
}

TEST(snappy, decodes_hand_made_xerial_with_odd_block_sizes) {
    bytes input = text_bytes(50 * 1024 + 17);
    for (size_t block : {1000u, 8192u, 65536u}) {
        compression_result plain = decompress(compression_type::snappy, xerial_stream(input, block), 1 << 20);
        ASSERT_TRUE(plain.ok()) << "block " << block;
        EXPECT_EQ(plain.value(), input);
    }
}

TEST(snappy, xerial_limit_counts_all_blocks) {
    bytes input = text_bytes(10000);
    bytes stream = xerial_stream(input, 1000);
    EXPECT_TRUE(decompress(compression_type::snappy, stream, 10000).ok());
    EXPECT_EQ(decompress(compression_type::snappy, stream, 9999).error(), compression_error::output_too_large);
}

TEST(snappy, xerial_block_length_past_the_end_is_corrupt) {
    bytes stream = xerial_stream(text_bytes(5000), 1000);
    bytes lying = stream;
    lying[16] = 0x7F; // the first block claims about 2 GiB
    EXPECT_EQ(decompress(compression_type::snappy, lying, 1 << 20).error(), compression_error::corrupt_input);
    bytes short_length(stream.begin(), stream.begin() + 18); // two bytes of a length
    EXPECT_EQ(decompress(compression_type::snappy, short_length, 1 << 20).error(), compression_error::corrupt_input);
}

TEST(snappy, raw_length_header_lie_is_refused_before_allocating) {
    // A varint claiming 2^32 - 1 bytes followed by three bytes of data.
    bytes lie = {0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00, 0x01, 0x02};
    EXPECT_EQ(decompress(compression_type::snappy, lie, size_t{1} << 40).error(), compression_error::corrupt_input);
}

// ---- lz4 ----

TEST(lz4, frame_uses_independent_64k_blocks) {
    bytes packed = compress(compression_type::lz4, text_bytes(1000)).value();
    ASSERT_GE(packed.size(), 7u);
    EXPECT_EQ(packed[0], 0x04); // frame magic 0x184D2204, little-endian
    EXPECT_EQ(packed[1], 0x22);
    EXPECT_EQ(packed[2], 0x4D);
    EXPECT_EQ(packed[3], 0x18);
    uint8_t flg = packed[4];
    EXPECT_EQ(flg >> 6, 1);        // version 01
    EXPECT_NE(flg & 0x20, 0);      // block independence, which Kafka's Java reader requires
    EXPECT_EQ(packed[5], 0x40);    // block maximum size 64 KiB
}

TEST(lz4, decodes_frames_with_checksums_and_content_size) {
    bytes input = text_bytes(150 * 1024);
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.blockSizeID = LZ4F_max256KB;
    prefs.frameInfo.blockMode = LZ4F_blockLinked;
    prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
    prefs.frameInfo.contentSize = input.size();
    bytes packed(LZ4F_compressFrameBound(input.size(), &prefs));
    size_t n = LZ4F_compressFrame(packed.data(), packed.size(), input.data(), input.size(), &prefs);
    ASSERT_FALSE(LZ4F_isError(n));
    packed.resize(n);
    compression_result plain = decompress(compression_type::lz4, packed, 1 << 20);
    ASSERT_TRUE(plain.ok()) << to_string(plain.error());
    EXPECT_EQ(plain.value(), input);
    packed[packed.size() - 2] ^= 0x01; // inside the content checksum
    EXPECT_EQ(decompress(compression_type::lz4, packed, 1 << 20).error(), compression_error::corrupt_input);
}

TEST(lz4, concatenated_frames) {
    bytes a = text_bytes(2000);
    bytes b = text_bytes(3000);
    bytes packed = concat(compress(compression_type::lz4, a).value(), compress(compression_type::lz4, b).value());
    compression_result plain = decompress(compression_type::lz4, packed, 1 << 20);
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain.value(), concat(a, b));
}

// ---- zstd ----

TEST(zstd, library_reads_our_frames_and_we_read_concatenated_ones) {
    bytes a = text_bytes(4000);
    bytes b = random_bytes(300, 11);
    bytes pa = compress(compression_type::zstd, a).value();
    EXPECT_EQ(ZSTD_getFrameContentSize(pa.data(), pa.size()), a.size());
    bytes packed = concat(pa, compress(compression_type::zstd, b).value());
    compression_result plain = decompress(compression_type::zstd, packed, 1 << 20);
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain.value(), concat(a, b));
}

TEST(zstd, frame_without_content_size_is_bounded_too) {
    // A streamed frame does not declare its size, so only the limit stops it.
    bytes zeros(8 * 1024 * 1024, 0);
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ASSERT_FALSE(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
    bytes packed(ZSTD_compressBound(zeros.size()));
    ZSTD_inBuffer in{zeros.data(), zeros.size(), 0};
    ZSTD_outBuffer out{packed.data(), packed.size(), 0};
    ASSERT_EQ(ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end), 0u);
    ZSTD_freeCCtx(cctx);
    packed.resize(out.pos);
    ASSERT_EQ(ZSTD_getFrameContentSize(packed.data(), packed.size()), ZSTD_CONTENTSIZE_UNKNOWN);
    EXPECT_EQ(decompress(compression_type::zstd, packed, 1 << 20).error(), compression_error::output_too_large);
    compression_result all = decompress(compression_type::zstd, packed, zeros.size());
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all.value().size(), zeros.size());
}

// A streamed frame (no content size) of `data` whose header declares a window
// of 2^window_log bytes, as a producer at zstd's highest levels writes one.
bytes zstd_frame_with_window(const bytes& data, int window_log) {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    EXPECT_FALSE(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
    EXPECT_FALSE(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, window_log)));
    bytes packed(ZSTD_compressBound(data.size()) + 64);
    ZSTD_outBuffer out{packed.data(), packed.size(), 0};
    // Two calls, so that the encoder cannot learn the size and shrink the window.
    ZSTD_inBuffer first{data.data(), data.size() / 2, 0};
    EXPECT_FALSE(ZSTD_isError(ZSTD_compressStream2(cctx, &out, &first, ZSTD_e_continue)));
    ZSTD_inBuffer rest{data.data() + data.size() / 2, data.size() - data.size() / 2, 0};
    EXPECT_EQ(ZSTD_compressStream2(cctx, &out, &rest, ZSTD_e_end), 0u);
    ZSTD_freeCCtx(cctx);
    packed.resize(out.pos);
    // RFC 8878 3.1.1.1: after the 4-byte magic, the frame header descriptor
    // (bit 5: single segment, no window descriptor), then the window
    // descriptor: exponent (window log - 10) in the top five bits, mantissa 0.
    EXPECT_GT(packed.size(), 6u);
    EXPECT_EQ(packed[4] & 0x20, 0);
    EXPECT_EQ(packed[5], static_cast<uint8_t>((window_log - 10) << 3));
    return packed;
}

TEST(zstd, window_is_capped_by_the_output_limit) {
    EXPECT_EQ(zstd_window_log_max(0), 23u);
    EXPECT_EQ(zstd_window_log_max(1 << 20), 23u);
    EXPECT_EQ(zstd_window_log_max((1 << 23) + 1), 24u);
    EXPECT_EQ(zstd_window_log_max(64 * 1024 * 1024), 26u);
    EXPECT_EQ(zstd_window_log_max(size_t{1} << 40), 27u);
}

TEST(zstd, frame_asking_for_a_128_mib_window_is_refused_before_allocating) {
    // A few KiB of input whose header claims a 128 MiB window: zstd's default
    // decoder would allocate the window; ours refuses the frame at once.
    const bytes input = text_bytes(4000);
    const bytes huge_window = zstd_frame_with_window(input, 27);
    EXPECT_EQ(decompress(compression_type::zstd, huge_window, 64 * 1024 * 1024).error(),
              compression_error::output_too_large);
    EXPECT_EQ(decompress(compression_type::zstd, huge_window, 1 << 20).error(), compression_error::output_too_large);
    // The limit decides: a caller accepting 128 MiB of output accepts the window.
    compression_result plain = decompress(compression_type::zstd, huge_window, size_t{128} * 1024 * 1024);
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain.value(), input);
}

TEST(zstd, ordinary_windows_pass_a_small_limit) {
    // librdkafka and the Java client stream at level 3: a 2 MiB window (up to
    // 8 MiB at level 19), whatever the output limit.
    const bytes input = text_bytes(4000);
    for (int window_log : {21, 23}) {
        compression_result plain = decompress(compression_type::zstd, zstd_frame_with_window(input, window_log), 64 * 1024);
        ASSERT_TRUE(plain.ok()) << window_log;
        EXPECT_EQ(plain.value(), input);
    }
    EXPECT_EQ(decompress(compression_type::zstd, zstd_frame_with_window(input, 24), 64 * 1024).error(),
              compression_error::output_too_large);
}

} // namespace
} // namespace runnel::proto
