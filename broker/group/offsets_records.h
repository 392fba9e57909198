// The records of the internal topic __consumer_offsets: committed offsets and
// group metadata, keyed and encoded with Kafka's own on-disk schemas so that
// Kafka's tools read our segments, and the hash that places a group on one of
// the topic's partitions. docs/FORMAT.md describes the bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/wire.h"

namespace runnel::broker::group_records {

inline constexpr std::string_view offsets_topic = "__consumer_offsets";

// The version that starts every key says what the record is.
inline constexpr int16_t offset_key_v0 = 0;       // committed offset (Kafka's legacy ZooKeeper-era version)
inline constexpr int16_t offset_key_v1 = 1;       // committed offset (what Kafka writes)
inline constexpr int16_t group_metadata_key = 2;  // a group's membership and generation
// Value versions written (all of 0..4 are read).
inline constexpr int16_t offset_value_with_expiry = 1; // the one version with expire_timestamp
inline constexpr int16_t offset_value_current = 3;
inline constexpr int16_t offset_value_max = 4;
inline constexpr int16_t group_value_current = 3;
inline constexpr int16_t group_value_max = 4;

inline constexpr int64_t no_timestamp = -1;
inline constexpr int32_t no_leader_epoch = -1;

// The partition of __consumer_offsets that holds a group (and so the
// group's coordinator): XXH3-64 (seed 0) of the group id's bytes, modulo the
// partition count. Precondition: partitions > 0.
int32_t partition_for(std::string_view group_id, int32_t partitions);

struct offset_key {
    std::string group;
    std::string topic;
    int32_t partition = 0;
    bool operator==(const offset_key&) const = default;
};

struct group_key {
    std::string group;
    bool operator==(const group_key&) const = default;
};

struct offset_value {
    int64_t offset = 0;
    int32_t leader_epoch = no_leader_epoch; // v3+
    std::string metadata;
    int64_t commit_timestamp = no_timestamp;
    int64_t expire_timestamp = no_timestamp; // v1 only: an explicit retention from OffsetCommit v2-v4
    bool operator==(const offset_value&) const = default;
};

struct member_value {
    std::string member_id;
    std::optional<std::string> group_instance_id; // v3+
    std::string client_id;
    std::string client_host;
    int32_t rebalance_timeout_ms = 0; // v1+ (v0: the session timeout)
    int32_t session_timeout_ms = 0;
    proto::bytes subscription; // the member's metadata for the group's protocol
    proto::bytes assignment;
    bool operator==(const member_value&) const = default;
};

struct group_value {
    std::string protocol_type;
    int32_t generation = 0;
    std::optional<std::string> protocol;
    std::optional<std::string> leader;
    int64_t current_state_timestamp = no_timestamp; // v2+
    std::vector<member_value> members;
    bool operator==(const group_value&) const = default;
};

using record_key = std::variant<offset_key, group_key>;

proto::bytes encode_key(const offset_key& key);
proto::bytes encode_key(const group_key& key);
// Version 1 when expire_timestamp is set (the only version that has it), else version 3.
proto::bytes encode_value(const offset_value& value);
proto::bytes encode_value(const group_value& value);

// Decoding never trusts its input: an unknown version, a short or overlong
// buffer is an error message, never a crash.
struct decode_failure {
    std::string message;
};
std::variant<record_key, decode_failure> decode_key(proto::bytes_view key);
std::variant<offset_value, decode_failure> decode_offset_value(proto::bytes_view value);
std::variant<group_value, decode_failure> decode_group_value(proto::bytes_view value);

// The topics a "consumer" protocol member subscribes to, from its
// subscription (ConsumerProtocolSubscription, any version: an int16 version
// then an array of topic names); nullopt when the bytes are not one.
std::optional<std::vector<std::string>> consumer_subscription_topics(proto::bytes_view subscription);

} // namespace runnel::broker::group_records
