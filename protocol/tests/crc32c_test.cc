// CRC-32C: published check values, piecewise computation, and agreement with
// a plain bit-at-a-time reference on random data.
#include "protocol/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string_view>

namespace runnel::proto {
namespace {

bytes_view as_bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// The textbook definition: reflected polynomial 0x82F63B78, initial value and
// final xor all ones. Slow and obviously right.
uint32_t reference_crc32c(bytes_view data) {
    uint32_t crc = 0xFFFFFFFF;
    for (uint8_t b : data) {
        crc ^= b;
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
        }
    }
    return ~crc;
}

TEST(crc32c, check_value) {
    EXPECT_EQ(crc32c(as_bytes("123456789")), 0xE3069283u);
}

TEST(crc32c, empty_input_is_zero) {
    EXPECT_EQ(crc32c({}), 0u);
}

// The iSCSI test vectors of RFC 3720, appendix B.4.
TEST(crc32c, rfc3720_vectors) {
    bytes zeros(32, 0x00);
    bytes ones(32, 0xFF);
    bytes ascending(32);
    bytes descending(32);
    for (size_t i = 0; i < 32; ++i) {
        ascending[i] = static_cast<uint8_t>(i);
        descending[i] = static_cast<uint8_t>(31 - i);
    }
    EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);
    EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
    EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
    EXPECT_EQ(crc32c(descending), 0x113FDB5Cu);
}

TEST(crc32c, extend_equals_whole_at_every_split) {
    bytes_view data = as_bytes("The quick brown fox jumps over the lazy dog");
    uint32_t whole = crc32c(data);
    for (size_t split = 0; split <= data.size(); ++split) {
        uint32_t first = crc32c(data.first(split));
        EXPECT_EQ(crc32c_extend(first, data.subspan(split)), whole) << "split at " << split;
    }
}

TEST(crc32c, matches_reference_on_random_data) {
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    std::mt19937 rng(seed);
    // Sizes around the vector widths ISA-L switches between, and a large one.
    for (size_t size : {1u, 3u, 7u, 8u, 15u, 16u, 31u, 63u, 64u, 255u, 256u, 1000u, 4096u, 65537u}) {
        bytes data(size);
        for (auto& b : data) {
            b = static_cast<uint8_t>(rng());
        }
        EXPECT_EQ(crc32c(data), reference_crc32c(data)) << "size " << size;
    }
}

} // namespace
} // namespace runnel::proto
