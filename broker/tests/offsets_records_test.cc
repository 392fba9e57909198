// Tests of the __consumer_offsets record formats (Kafka's key and value
// schemas, every version read, the versions written) and of the hash that
// places a group on a partition.
#include "broker/group/offsets_records.h"

#include <gtest/gtest.h>

namespace runnel::broker::group_records {
namespace {

proto::bytes hex_bytes(std::initializer_list<int> values) {
    proto::bytes out;
    for (int v : values) {
        out.push_back(static_cast<uint8_t>(v));
    }
    return out;
}

TEST(offsets_partition, is_xxh3_of_the_group_id_modulo_the_partition_count) {
    // Fixed vectors: a change here moves every group to another partition,
    // so that a restart would no longer find their records.
    EXPECT_EQ(partition_for("my-group", 50), 38);
    EXPECT_EQ(partition_for("", 50), 38);
    EXPECT_EQ(partition_for("console-consumer-1", 50), 23);
    EXPECT_EQ(partition_for("my-group", 1), 0);
}

TEST(offsets_records, offset_key_is_version_1_group_topic_partition) {
    const proto::bytes key = encode_key(offset_key{"g", "t", 7});
    EXPECT_EQ(key, hex_bytes({0, 1, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 7}));
    auto decoded = decode_key(key);
    ASSERT_TRUE(std::holds_alternative<record_key>(decoded));
    EXPECT_EQ(std::get<offset_key>(std::get<record_key>(decoded)), (offset_key{"g", "t", 7}));
}

TEST(offsets_records, version_0_offset_keys_are_read) {
    auto decoded = decode_key(hex_bytes({0, 0, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 2}));
    ASSERT_TRUE(std::holds_alternative<record_key>(decoded));
    EXPECT_EQ(std::get<offset_key>(std::get<record_key>(decoded)), (offset_key{"g", "t", 2}));
}

TEST(offsets_records, group_key_is_version_2_group) {
    const proto::bytes key = encode_key(group_key{"grp"});
    EXPECT_EQ(key, hex_bytes({0, 2, 0, 3, 'g', 'r', 'p'}));
    auto decoded = decode_key(key);
    ASSERT_TRUE(std::holds_alternative<record_key>(decoded));
    EXPECT_EQ(std::get<group_key>(std::get<record_key>(decoded)).group, "grp");
}

TEST(offsets_records, bad_keys_are_errors_not_crashes) {
    EXPECT_TRUE(std::holds_alternative<decode_failure>(decode_key(hex_bytes({}))));
    EXPECT_TRUE(std::holds_alternative<decode_failure>(decode_key(hex_bytes({0}))));
    EXPECT_TRUE(std::holds_alternative<decode_failure>(decode_key(hex_bytes({0, 3, 0, 0}))));     // unknown version
    EXPECT_TRUE(std::holds_alternative<decode_failure>(decode_key(hex_bytes({0, 2, 0, 9, 'a'})))); // short string
    EXPECT_TRUE(std::holds_alternative<decode_failure>(decode_key(hex_bytes({0, 2, 0, 1, 'a', 'b'})))); // trailing
    EXPECT_TRUE(std::holds_alternative<decode_failure>(decode_key(hex_bytes({0, 1, 0, 1, 'g', 0, 1, 't', 0}))));
}

TEST(offsets_records, offset_value_is_version_3_without_expiry) {
    offset_value v;
    v.offset = 42;
    v.leader_epoch = 5;
    v.metadata = "m";
    v.commit_timestamp = 1000;
    const proto::bytes bytes = encode_value(v);
    EXPECT_EQ(bytes, hex_bytes({0, 3, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 5, 0, 1, 'm', 0, 0, 0, 0, 0, 0, 3, 0xe8}));
    auto decoded = decode_offset_value(bytes);
    ASSERT_TRUE(std::holds_alternative<offset_value>(decoded));
    EXPECT_EQ(std::get<offset_value>(decoded), v);
}

TEST(offsets_records, offset_value_with_an_expiry_is_version_1) {
    offset_value v;
    v.offset = 1;
    v.metadata = "";
    v.commit_timestamp = 10;
    v.expire_timestamp = 20;
    const proto::bytes bytes = encode_value(v);
    EXPECT_EQ(bytes[1], 1);
    auto decoded = decode_offset_value(bytes);
    ASSERT_TRUE(std::holds_alternative<offset_value>(decoded));
    EXPECT_EQ(std::get<offset_value>(decoded), v); // v1 has no leader epoch: -1 comes back
}

TEST(offsets_records, offset_values_of_versions_0_and_4_are_read) {
    // v0: offset, metadata, commit timestamp.
    auto v0 = decode_offset_value(hex_bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}));
    ASSERT_TRUE(std::holds_alternative<offset_value>(v0));
    EXPECT_EQ(std::get<offset_value>(v0).offset, 9);
    EXPECT_EQ(std::get<offset_value>(v0).commit_timestamp, 7);
    EXPECT_EQ(std::get<offset_value>(v0).leader_epoch, -1);
    // v4 (flexible): compact metadata string and a tagged-field section with one unknown tag.
    auto v4 = decode_offset_value(hex_bytes({0, 4, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 2, 2, 'x', 0, 0, 0, 0, 0, 0, 0, 7,
                                             1, 5, 2, 0xaa, 0xbb}));
    ASSERT_TRUE(std::holds_alternative<offset_value>(v4));
    EXPECT_EQ(std::get<offset_value>(v4).leader_epoch, 2);
    EXPECT_EQ(std::get<offset_value>(v4).metadata, "x");
    EXPECT_TRUE(std::holds_alternative<decode_failure>(decode_offset_value(hex_bytes({0, 5}))));
    EXPECT_TRUE(std::holds_alternative<decode_failure>(decode_offset_value(hex_bytes({0, 3, 0, 0}))));
}

TEST(offsets_records, group_value_round_trips_at_version_3) {
    group_value v;
    v.protocol_type = "consumer";
    v.generation = 4;
    v.protocol = "range";
    v.leader = "m1";
    v.current_state_timestamp = 123;
    member_value m;
    m.member_id = "m1";
    m.group_instance_id = "i1";
    m.client_id = "c";
    m.client_host = "/127.0.0.1";
    m.rebalance_timeout_ms = 300000;
    m.session_timeout_ms = 10000;
    m.subscription = hex_bytes({1, 2});
    m.assignment = hex_bytes({3});
    v.members.push_back(m);
    m.member_id = "m2";
    m.group_instance_id.reset();
    v.members.push_back(m);
    const proto::bytes bytes = encode_value(v);
    EXPECT_EQ(bytes[1], 3);
    auto decoded = decode_group_value(bytes);
    ASSERT_TRUE(std::holds_alternative<group_value>(decoded));
    EXPECT_EQ(std::get<group_value>(decoded), v);
}

TEST(offsets_records, group_value_version_0_has_no_rebalance_timeout_or_timestamp) {
    proto::writer w;
    w.write_int16(0);
    w.write_string("consumer");
    w.write_int32(1);
    w.write_nullable_string(std::string("range"));
    w.write_nullable_string(std::string("m"));
    w.write_array_length(1);
    w.write_string("m");
    w.write_string("client");
    w.write_string("/h");
    w.write_int32(6000);
    w.write_bytes(hex_bytes({1}));
    w.write_bytes(hex_bytes({2}));
    auto decoded = decode_group_value(w.buffer());
    ASSERT_TRUE(std::holds_alternative<group_value>(decoded));
    const group_value& v = std::get<group_value>(decoded);
    ASSERT_EQ(v.members.size(), 1u);
    EXPECT_EQ(v.members[0].session_timeout_ms, 6000);
    EXPECT_EQ(v.members[0].rebalance_timeout_ms, 6000);
    EXPECT_EQ(v.current_state_timestamp, -1);
    // Every truncation of it is an error.
    const proto::bytes& all = w.buffer();
    for (size_t n = 0; n < all.size(); ++n) {
        EXPECT_TRUE(std::holds_alternative<decode_failure>(
            decode_group_value(proto::bytes_view(all.data(), n))))
            << n;
    }
}

TEST(offsets_records, consumer_subscription_topics_are_read_from_any_version) {
    proto::writer w;
    w.write_int16(3);
    w.write_array_length(2);
    w.write_string("a");
    w.write_string("b");
    w.write_nullable_bytes(std::nullopt); // user data; later fields follow and are ignored
    auto topics = consumer_subscription_topics(w.buffer());
    ASSERT_TRUE(topics);
    EXPECT_EQ(*topics, (std::vector<std::string>{"a", "b"}));
    EXPECT_FALSE(consumer_subscription_topics(hex_bytes({0, 0, 0, 0, 0, 5})));
    EXPECT_FALSE(consumer_subscription_topics(hex_bytes({})));
}

} // namespace
} // namespace runnel::broker::group_records
