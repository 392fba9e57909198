// Metadata record framing (round trips, corrupt frames) and the image
// builder's rules (what each record does, what it refuses, and that a
// refused record leaves the image as it was).
#include <gtest/gtest.h>

#include "broker/image_builder.h"
#include "broker/metadata_records.h"

namespace runnel::broker {
namespace {

proto::uuid make_id(uint8_t seed) {
    proto::uuid id;
    for (size_t i = 0; i < id.data.size(); ++i) {
        id.data[i] = static_cast<uint8_t>(seed + i);
    }
    return id;
}

proto::topic_record topic(std::string name, const proto::uuid& id) {
    proto::topic_record r;
    r.name = std::move(name);
    r.topic_id = id;
    return r;
}

proto::partition_record partition(const proto::uuid& id, int32_t index, int32_t leader_epoch = 0) {
    proto::partition_record r;
    r.topic_id = id;
    r.partition_id = index;
    r.replicas = {1};
    r.isr = {1};
    r.leader = 1;
    r.leader_epoch = leader_epoch;
    r.partition_epoch = 0;
    return r;
}

proto::config_record config(int8_t type, std::string resource, std::string key, std::optional<std::string> value) {
    proto::config_record r;
    r.resource_type = type;
    r.resource_name = std::move(resource);
    r.name = std::move(key);
    r.value = std::move(value);
    return r;
}

std::vector<metadata_record> one_of_each() {
    proto::register_broker_record broker;
    broker.broker_id = 3;
    broker.incarnation_id = make_id(9);
    broker.broker_epoch = 7;
    broker.endpoints.push_back({"PLAINTEXT", "127.0.0.1", 9092, 0, {}});
    broker.rack = "rack-a";
    proto::feature_level_record feature;
    feature.name = "runnel.metadata.version";
    feature.feature_level = 1;
    proto::producer_ids_record ids;
    ids.broker_id = 3;
    ids.broker_epoch = 7;
    ids.next_producer_id = 1000;
    return {broker,
            topic("orders", make_id(1)),
            partition(make_id(1), 0),
            config(config_resource_topic, "orders", "retention.ms", "1000"),
            config(config_resource_broker, "", "log.retention.ms", std::nullopt),
            proto::remove_topic_record{make_id(1), {}},
            feature,
            ids};
}

TEST(metadata_records, every_type_round_trips) {
    for (const metadata_record& record : one_of_each()) {
        proto::bytes frame = encode_metadata_record(record);
        auto decoded = decode_metadata_record(frame);
        ASSERT_TRUE(decoded.ok()) << to_string(type_of(record)) << ": " << decoded.err().message;
        EXPECT_EQ(*decoded, record) << to_string(type_of(record));
    }
}

TEST(metadata_records, frame_header_is_version_type_version) {
    proto::bytes frame = encode_metadata_record(topic("t", make_id(1)));
    ASSERT_GE(frame.size(), 3u);
    EXPECT_EQ(frame[0], 0); // frame version
    EXPECT_EQ(frame[1], static_cast<uint8_t>(metadata_record_type::topic));
    EXPECT_EQ(frame[2], 0); // record version
}

TEST(metadata_records, corrupt_frames_are_refused) {
    const proto::bytes good = encode_metadata_record(partition(make_id(1), 0));
    auto refused = [](proto::bytes frame) {
        auto decoded = decode_metadata_record(frame);
        return !decoded.ok() && decoded.code() == storage::errc::corrupt;
    };
    proto::bytes other_frame_version = good;
    other_frame_version[0] = 1;
    EXPECT_TRUE(refused(other_frame_version));
    proto::bytes unknown_type = good;
    unknown_type[1] = 99;
    EXPECT_TRUE(refused(unknown_type));
    proto::bytes future_version = good;
    future_version[2] = 1;
    EXPECT_TRUE(refused(future_version));
    proto::bytes trailing = good;
    trailing.push_back(0);
    EXPECT_TRUE(refused(trailing));
    EXPECT_TRUE(refused({}));
    // Every strict prefix fails: no field may be read past the end.
    for (size_t n = 0; n < good.size(); ++n) {
        EXPECT_TRUE(refused(proto::bytes(good.begin(), good.begin() + static_cast<ptrdiff_t>(n)))) << n;
    }
}

TEST(image_builder, builds_topics_partitions_and_configs) {
    metadata_image base;
    base.cluster_id = "c";
    auto built = apply_records(base,
                               {topic("orders", make_id(1)), partition(make_id(1), 0), partition(make_id(1), 1),
                                config(config_resource_topic, "orders", "retention.ms", "1000"),
                                config(config_resource_broker, "", "log.retention.ms", "5000"),
                                config(config_resource_broker, "1", "log.retention.bytes", "10")},
                               10);
    ASSERT_TRUE(built.ok()) << built.err().message;
    const metadata_image& image = **built;
    EXPECT_EQ(image.cluster_id, "c");
    EXPECT_EQ(image.metadata_offset, 15);
    const topic_image* t = image.find_topic("orders");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(image.find_topic(make_id(1)), t);
    EXPECT_FALSE(t->internal);
    ASSERT_EQ(t->partitions.size(), 2u);
    EXPECT_EQ(t->partitions[1].partition, 1);
    EXPECT_EQ(t->configs.at("retention.ms"), "1000");
    EXPECT_EQ(image.cluster_broker_configs.at("log.retention.ms"), "5000");
    ASSERT_NE(image.dynamic_broker_configs(1), nullptr);
    EXPECT_EQ(image.dynamic_broker_configs(1)->at("log.retention.bytes"), "10");
    EXPECT_EQ(base.topics.size(), 0u) << "the base image is not changed";
}

TEST(image_builder, later_partition_record_replaces_and_config_null_deletes) {
    metadata_image base;
    auto first = apply_records(base,
                               {topic("t", make_id(1)), partition(make_id(1), 0),
                                config(config_resource_topic, "t", "segment.bytes", "2000000")},
                               0);
    ASSERT_TRUE(first.ok());
    auto second = apply_records(**first,
                                {partition(make_id(1), 0, 5), config(config_resource_topic, "t", "segment.bytes",
                                                                     std::nullopt)},
                                3);
    ASSERT_TRUE(second.ok()) << second.err().message;
    const topic_image* t = (*second)->find_topic("t");
    ASSERT_EQ(t->partitions.size(), 1u);
    EXPECT_EQ(t->partitions[0].leader_epoch, 5);
    EXPECT_TRUE(t->configs.empty());
}

TEST(image_builder, remove_topic_drops_topic_and_frees_name_and_id) {
    metadata_image base;
    auto built = apply_records(base,
                               {topic("t", make_id(1)), partition(make_id(1), 0),
                                config(config_resource_topic, "t", "retention.ms", "1"),
                                proto::remove_topic_record{make_id(1), {}}, topic("t", make_id(2)),
                                partition(make_id(2), 0)},
                               0);
    ASSERT_TRUE(built.ok()) << built.err().message;
    const topic_image* t = (*built)->find_topic("t");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->id, make_id(2));
    EXPECT_TRUE(t->configs.empty()) << "configs of the removed topic went with it";
    EXPECT_EQ((*built)->find_topic(make_id(1)), nullptr);
}

TEST(image_builder, internal_topics_are_flagged) {
    auto built = apply_records(metadata_image{}, {topic("__consumer_offsets", make_id(1))}, 0);
    ASSERT_TRUE(built.ok());
    EXPECT_TRUE((*built)->find_topic("__consumer_offsets")->internal);
}

TEST(image_builder, refuses_records_that_do_not_fit_and_keeps_the_image) {
    metadata_image base;
    auto with_topic = apply_records(base, {topic("t", make_id(1)), partition(make_id(1), 0)}, 0);
    ASSERT_TRUE(with_topic.ok());
    proto::producer_ids_record ids;
    ids.next_producer_id = 0;
    proto::register_broker_record no_endpoint;
    no_endpoint.broker_id = 1;
    const std::vector<std::pair<std::string, metadata_record>> bad = {
        {"duplicate name", topic("t", make_id(2))},
        {"duplicate id", topic("u", make_id(1))},
        {"zero id", topic("u", proto::uuid{})},
        {"partition gap", partition(make_id(1), 2)},
        {"negative partition", partition(make_id(1), -1)},
        {"partition of unknown topic", partition(make_id(7), 0)},
        {"config of unknown topic", config(config_resource_topic, "nope", "retention.ms", "1")},
        {"config of bad broker id", config(config_resource_broker, "x", "log.retention.ms", "1")},
        {"config of unknown resource type", config(8, "1", "root", "INFO")},
        {"remove unknown topic", proto::remove_topic_record{make_id(7), {}}},
        {"producer ids not growing", ids},
        {"broker without endpoint", no_endpoint},
    };
    for (const auto& [what, record] : bad) {
        image_builder builder(**with_topic);
        auto applied = builder.apply(record, 5);
        EXPECT_FALSE(applied.ok()) << what;
        EXPECT_EQ(applied.code(), storage::errc::corrupt) << what;
        auto image = builder.build();
        EXPECT_EQ(image->topics.size(), 1u) << what;
        EXPECT_EQ(image->find_topic("t")->partitions.size(), 1u) << what;
        EXPECT_EQ(image->metadata_offset, 1) << what;
    }
}

TEST(image_builder, offsets_must_increase) {
    image_builder builder(metadata_image{});
    ASSERT_TRUE(builder.apply(topic("a", make_id(1)), 4).ok());
    EXPECT_FALSE(builder.apply(topic("b", make_id(2)), 4).ok());
    EXPECT_FALSE(builder.apply(topic("b", make_id(2)), 3).ok());
    EXPECT_TRUE(builder.apply(topic("b", make_id(2)), 9).ok());
}

TEST(image_builder, broker_registration_replaces_with_higher_epoch_only) {
    proto::register_broker_record r;
    r.broker_id = 2;
    r.broker_epoch = 1;
    r.endpoints.push_back({"PLAINTEXT", "h1", 1000, 0, {}});
    auto first = apply_records(metadata_image{}, {r}, 0);
    ASSERT_TRUE(first.ok());
    r.endpoints.front().host = "h2";
    r.broker_epoch = 2;
    auto second = apply_records(**first, {r}, 1);
    ASSERT_TRUE(second.ok());
    ASSERT_EQ((*second)->brokers.size(), 1u);
    EXPECT_EQ((*second)->brokers.front().host, "h2");
    EXPECT_EQ((*second)->brokers.front().broker_epoch, 2);
    auto stale = apply_records(**second, {r}, 2);
    EXPECT_FALSE(stale.ok());
}

} // namespace
} // namespace runnel::broker
