// A latency histogram of fixed size: exact below 128 ns, then 128 buckets per
// power of two, so any percentile it reports is within 1/128 (0.8 %) above
// the true value. Recording is a few instructions and never allocates.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace runnel::bench {

class histogram {
public:
    static constexpr int sub_bucket_bits = 7;
    static constexpr uint64_t sub_buckets = uint64_t{1} << sub_bucket_bits;
    // Values are uint64_t: exponents 0..(64 - sub_bucket_bits), plus the exact range.
    static constexpr size_t bucket_count = (64 - sub_bucket_bits + 1) * sub_buckets;

    void record(uint64_t value);
    void merge(const histogram& other);

    uint64_t count() const { return count_; }
    uint64_t min() const { return count_ == 0 ? 0 : min_; }
    uint64_t max() const { return max_; }
    double mean() const { return count_ == 0 ? 0 : static_cast<double>(sum_) / static_cast<double>(count_); }
    // The smallest recorded bucket's highest value v such that at least
    // `fraction` of the values are <= v (capped at max()); 0 when empty.
    uint64_t percentile(double fraction) const;

    static size_t bucket_of(uint64_t value);
    static uint64_t highest_in_bucket(size_t bucket);

private:
    std::array<uint64_t, bucket_count> counts_{};
    uint64_t count_ = 0;
    uint64_t min_ = UINT64_MAX;
    uint64_t max_ = 0;
    // Saturates rather than wraps: 2^64 ns is 584 years of summed latency.
    uint64_t sum_ = 0;
};

} // namespace runnel::bench
