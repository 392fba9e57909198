// The latency histogram: exact small values, bounded relative error above,
// percentiles by rank, merging.
#include <gtest/gtest.h>

#include <random>
#include <vector>
#include <algorithm>

#include "tools/runnel-bench/histogram.h"

namespace runnel::bench {
namespace {

TEST(histogram, empty_reports_zeros) {
    histogram h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.percentile(0.5), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_EQ(h.min(), 0u);
}

TEST(histogram, values_below_128_are_exact) {
    for (uint64_t v = 0; v < histogram::sub_buckets; ++v) {
        EXPECT_EQ(histogram::highest_in_bucket(histogram::bucket_of(v)), v);
    }
}

TEST(histogram, every_value_lies_in_its_bucket_within_one_128th) {
    std::mt19937_64 random(7);
    for (int i = 0; i < 100000; ++i) {
        const uint64_t v = random() >> (random() % 64);
        const size_t b = histogram::bucket_of(v);
        ASSERT_LT(b, histogram::bucket_count);
        const uint64_t high = histogram::highest_in_bucket(b);
        ASSERT_GE(high, v) << v;
        ASSERT_LE(static_cast<double>(high - v), static_cast<double>(v) / 128.0) << v;
    }
    EXPECT_LT(histogram::bucket_of(UINT64_MAX), histogram::bucket_count);
    EXPECT_EQ(histogram::highest_in_bucket(histogram::bucket_of(UINT64_MAX)), UINT64_MAX);
}

TEST(histogram, bucket_index_grows_with_the_value) {
    size_t last = 0;
    for (uint64_t v = 1; v < (uint64_t{1} << 20); v += 7) {
        const size_t b = histogram::bucket_of(v);
        ASSERT_GE(b, last) << v;
        last = b;
    }
}

TEST(histogram, percentiles_follow_ranks) {
    histogram h;
    for (uint64_t v = 1; v <= 1000; ++v) {
        h.record(v * 1000); // 1 µs .. 1 ms
    }
    EXPECT_EQ(h.count(), 1000u);
    EXPECT_EQ(h.min(), 1000u);
    EXPECT_EQ(h.max(), 1'000'000u);
    const auto near = [](uint64_t got, uint64_t want) {
        return got >= want && static_cast<double>(got - want) <= static_cast<double>(want) / 128.0;
    };
    EXPECT_TRUE(near(h.percentile(0.5), 500'000)) << h.percentile(0.5);
    EXPECT_TRUE(near(h.percentile(0.99), 990'000)) << h.percentile(0.99);
    EXPECT_TRUE(near(h.percentile(0.999), 999'000)) << h.percentile(0.999);
    EXPECT_EQ(h.percentile(1.0), 1'000'000u);
    EXPECT_EQ(h.percentile(0.0), h.percentile(0.0001));
    EXPECT_DOUBLE_EQ(h.mean(), 500'500.0);
}

TEST(histogram, one_outlier_shows_in_max_and_p999_only) {
    histogram h;
    for (int i = 0; i < 9999; ++i) {
        h.record(100);
    }
    h.record(50'000'000);
    EXPECT_EQ(h.percentile(0.99), 100u);
    EXPECT_EQ(h.percentile(0.999), 100u);
    EXPECT_EQ(h.max(), 50'000'000u);
}

TEST(histogram, merge_adds_counts) {
    histogram a, b;
    a.record(10);
    a.record(20);
    b.record(5);
    b.record(1'000'000);
    a.merge(b);
    EXPECT_EQ(a.count(), 4u);
    EXPECT_EQ(a.min(), 5u);
    EXPECT_EQ(a.max(), 1'000'000u);
    EXPECT_EQ(a.percentile(0.5), 10u);
}

} // namespace
} // namespace runnel::bench
