// Strong types for the Kafka vocabulary (offsets, epochs, ids), so that an
// offset cannot be passed where an epoch is expected. Shared by every layer.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>

namespace runnel {

template <typename T, typename Tag>
class strong_type {
public:
    using value_type = T;
    constexpr strong_type() = default;
    constexpr explicit strong_type(T v) : value_(v) {}
    constexpr T value() const { return value_; }
    constexpr T operator()() const { return value_; }
    constexpr auto operator<=>(const strong_type&) const = default;
    constexpr strong_type& operator++() {
        ++value_;
        return *this;
    }
    constexpr strong_type operator+(T d) const { return strong_type(value_ + d); }
    constexpr strong_type operator-(T d) const { return strong_type(value_ - d); }
    friend std::ostream& operator<<(std::ostream& os, const strong_type& v) { return os << v.value_; }

private:
    T value_{};
};

namespace model {
using offset = strong_type<int64_t, struct offset_tag>;
using leader_epoch = strong_type<int32_t, struct leader_epoch_tag>;
using node_id = strong_type<int32_t, struct node_id_tag>;
using partition_id = strong_type<int32_t, struct partition_id_tag>;
using producer_id = strong_type<int64_t, struct producer_id_tag>;
using producer_epoch = strong_type<int16_t, struct producer_epoch_tag>;
using timestamp_ms = strong_type<int64_t, struct timestamp_ms_tag>;

// Special values Kafka gives meaning to on the wire.
inline constexpr int64_t latest_timestamp = -1;
inline constexpr int64_t earliest_timestamp = -2;
inline constexpr int64_t max_timestamp = -3;
inline constexpr int32_t no_leader_epoch = -1;
inline constexpr int32_t no_node = -1;
inline constexpr int64_t no_producer_id = -1;
} // namespace model

} // namespace runnel

template <typename T, typename Tag>
struct std::hash<runnel::strong_type<T, Tag>> {
    size_t operator()(const runnel::strong_type<T, Tag>& v) const noexcept { return std::hash<T>{}(v.value()); }
};
