// The log-linear latency histogram (see histogram.h).
#include "tools/runnel-bench/histogram.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>

namespace runnel::bench {

size_t histogram::bucket_of(uint64_t value) {
    if (value < sub_buckets) {
        return static_cast<size_t>(value);
    }
    // shift > 0 brings the value into [sub_buckets, 2 * sub_buckets).
    const int shift = std::bit_width(value) - 1 - sub_bucket_bits;
    const uint64_t top = value >> shift;
    assert(top >= sub_buckets && top < 2 * sub_buckets);
    return static_cast<size_t>((static_cast<uint64_t>(shift) + 1) * sub_buckets + (top - sub_buckets));
}

uint64_t histogram::highest_in_bucket(size_t bucket) {
    if (bucket < sub_buckets) {
        return bucket;
    }
    const uint64_t shift = bucket / sub_buckets - 1;
    const uint64_t top = sub_buckets + bucket % sub_buckets;
    const uint64_t lowest = top << shift;
    return lowest + ((uint64_t{1} << shift) - 1);
}

void histogram::record(uint64_t value) {
    ++counts_[bucket_of(value)];
    ++count_;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
    sum_ = sum_ + value < sum_ ? UINT64_MAX : sum_ + value;
}

void histogram::merge(const histogram& other) {
    for (size_t i = 0; i < bucket_count; ++i) {
        counts_[i] += other.counts_[i];
    }
    count_ += other.count_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    sum_ = sum_ + other.sum_ < sum_ ? UINT64_MAX : sum_ + other.sum_;
}

uint64_t histogram::percentile(double fraction) const {
    if (count_ == 0) {
        return 0;
    }
    fraction = std::clamp(fraction, 0.0, 1.0);
    // The rank of the value asked for, 1-based: at least the first value.
    const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(count_))));
    uint64_t seen = 0;
    for (size_t i = 0; i < bucket_count; ++i) {
        seen += counts_[i];
        if (seen >= rank) {
            return std::min(highest_in_bucket(i), max_);
        }
    }
    return max_;
}

} // namespace runnel::bench
