// Applying metadata records to an image. Each apply_one() checks everything
// before it changes anything, so a rejected record leaves the image intact.
#include "broker/image_builder.h"

#include <algorithm>
#include <cassert>
#include <charconv>

#include <fmt/format.h>

namespace runnel::broker {

namespace {

storage::error corrupt(std::string message) { return storage::make_error(storage::errc::corrupt, std::move(message)); }

std::optional<int32_t> parse_broker_id(std::string_view text) {
    int32_t id = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size() || id < 0) {
        return std::nullopt;
    }
    return id;
}

} // namespace

image_builder::image_builder(const metadata_image& base) : next_(std::make_shared<metadata_image>(base)) {}

std::shared_ptr<const metadata_image> image_builder::build() {
    assert(next_ != nullptr && "image_builder::build called twice");
    return std::move(next_);
}

storage::status image_builder::apply(const metadata_record& record, int64_t offset) {
    assert(next_ != nullptr);
    if (offset <= next_->metadata_offset) {
        return corrupt(fmt::format("metadata record at offset {} after offset {}", offset, next_->metadata_offset));
    }
    storage::status applied = std::visit([this](const auto& r) { return apply_one(r); }, record);
    if (!applied.ok()) {
        return corrupt(fmt::format("{} record at offset {}: {}", to_string(type_of(record)), offset,
                                   applied.err().message));
    }
    next_->metadata_offset = offset;
    return {};
}

topic_image* image_builder::topic_by_id(const proto::uuid& id) {
    auto it = next_->topic_names_by_id.find(id);
    if (it == next_->topic_names_by_id.end()) {
        return nullptr;
    }
    auto topic = next_->topics.find(it->second);
    assert(topic != next_->topics.end() && "topic id index names a missing topic");
    return &topic->second;
}

storage::status image_builder::apply_one(const proto::register_broker_record& r) {
    if (r.broker_id < 0) {
        return corrupt(fmt::format("broker id {}", r.broker_id));
    }
    if (r.endpoints.empty()) {
        return corrupt(fmt::format("broker {} registered without an endpoint", r.broker_id));
    }
    broker_endpoint endpoint{r.broker_id, r.endpoints.front().host, r.endpoints.front().port, r.rack,
                             r.broker_epoch};
    auto& brokers = next_->brokers;
    auto it = std::find_if(brokers.begin(), brokers.end(), [&](const auto& b) { return b.node_id == r.broker_id; });
    if (it != brokers.end()) {
        if (r.broker_epoch <= it->broker_epoch) {
            return corrupt(fmt::format("broker {} epoch {} after epoch {}", r.broker_id, r.broker_epoch,
                                       it->broker_epoch));
        }
        *it = std::move(endpoint);
    } else {
        brokers.push_back(std::move(endpoint));
        std::sort(brokers.begin(), brokers.end(), [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
    }
    return {};
}

storage::status image_builder::apply_one(const proto::topic_record& r) {
    if (r.topic_id.is_zero() || r.name.empty()) {
        return corrupt("a topic without a name or id");
    }
    if (next_->topics.contains(r.name)) {
        return corrupt(fmt::format("topic {} exists already", r.name));
    }
    if (next_->topic_names_by_id.contains(r.topic_id)) {
        return corrupt(fmt::format("topic id {} is in use", r.topic_id.to_string()));
    }
    topic_image topic;
    topic.name = r.name;
    topic.id = r.topic_id;
    topic.internal = is_internal_topic_name(r.name);
    next_->topics.emplace(r.name, std::move(topic));
    next_->topic_names_by_id.emplace(r.topic_id, r.name);
    return {};
}

storage::status image_builder::apply_one(const proto::partition_record& r) {
    topic_image* topic = topic_by_id(r.topic_id);
    if (topic == nullptr) {
        return corrupt(fmt::format("partition {} of unknown topic id {}", r.partition_id, r.topic_id.to_string()));
    }
    const auto count = static_cast<int32_t>(topic->partitions.size());
    if (r.partition_id < 0 || r.partition_id > count) {
        return corrupt(fmt::format("partition {} of {}, which has {}", r.partition_id, topic->name, count));
    }
    if (r.replicas.empty()) {
        return corrupt(fmt::format("partition {}-{} without replicas", topic->name, r.partition_id));
    }
    partition_image p;
    p.partition = r.partition_id;
    p.replicas = r.replicas;
    p.isr = r.isr;
    p.leader = r.leader;
    p.leader_epoch = r.leader_epoch;
    p.partition_epoch = r.partition_epoch;
    if (r.partition_id == count) {
        topic->partitions.push_back(std::move(p));
    } else {
        topic->partitions[static_cast<size_t>(r.partition_id)] = std::move(p);
    }
    return {};
}

storage::status image_builder::apply_one(const proto::config_record& r) {
    if (r.name.empty()) {
        return corrupt("a config without a key");
    }
    config_map* target = nullptr;
    if (r.resource_type == config_resource_topic) {
        auto it = next_->topics.find(r.resource_name);
        if (it == next_->topics.end()) {
            return corrupt(fmt::format("config {} of unknown topic {}", r.name, r.resource_name));
        }
        target = &it->second.configs;
    } else if (r.resource_type == config_resource_broker) {
        if (r.resource_name.empty()) {
            target = &next_->cluster_broker_configs;
        } else if (auto id = parse_broker_id(r.resource_name)) {
            target = &next_->broker_configs[*id];
        } else {
            return corrupt(fmt::format("config {} of broker '{}'", r.name, r.resource_name));
        }
    } else {
        return corrupt(fmt::format("config resource type {}", r.resource_type));
    }
    if (r.value) {
        (*target)[r.name] = *r.value;
    } else {
        target->erase(r.name);
    }
    return {};
}

storage::status image_builder::apply_one(const proto::remove_topic_record& r) {
    topic_image* topic = topic_by_id(r.topic_id);
    if (topic == nullptr) {
        return corrupt(fmt::format("removing unknown topic id {}", r.topic_id.to_string()));
    }
    const std::string name = topic->name;
    next_->topics.erase(name);
    next_->topic_names_by_id.erase(r.topic_id);
    return {};
}

storage::status image_builder::apply_one(const proto::feature_level_record& r) {
    if (r.name.empty()) {
        return corrupt("a feature without a name");
    }
    next_->features[r.name] = r.feature_level;
    return {};
}

storage::status image_builder::apply_one(const proto::producer_ids_record& r) {
    if (r.next_producer_id <= next_->next_producer_id) {
        return corrupt(fmt::format("next producer id {} does not pass {}", r.next_producer_id,
                                   next_->next_producer_id));
    }
    next_->next_producer_id = r.next_producer_id;
    return {};
}

storage::result<std::shared_ptr<const metadata_image>> apply_records(const metadata_image& base,
                                                                     const std::vector<metadata_record>& records,
                                                                     int64_t first_offset) {
    image_builder builder(base);
    int64_t offset = first_offset;
    for (const auto& record : records) {
        RUNNEL_TRY(builder.apply(record, offset++));
    }
    return builder.build();
}

} // namespace runnel::broker
