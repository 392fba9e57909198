// Effective configuration as Kafka layers it: a topic's own overrides, then
// the dynamic per-broker and cluster-wide broker values (set with
// AlterConfigs, kept in the metadata image), then the static config (file
// and --override), then the defaults. Gives the values partitions run with
// (storage log_config, partition_settings) and what DescribeConfigs reports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/config.h"
#include "broker/metadata_image.h"
#include "broker/partition.h"
#include "storage/log_config.h"

namespace runnel::broker {

// One entry of a DescribeConfigs synonym list.
struct config_synonym {
    std::string name;
    std::optional<std::string> value; // null for passwords
    kafka_config_source source = kafka_config_source::default_config;
};

class config_view {
public:
    // The view of broker `node_id` at this image. Dynamic values that no
    // longer parse (a key whose type changed between versions) are ignored.
    config_view(const broker_config& config, const metadata_image& image, int32_t node_id);

    // ---- Broker keys (registry index or name).
    const config_value& broker_value(size_t index) const { return values_[index]; }
    const config_value& broker_value(std::string_view name) const;
    // Kafka's synonym list for a broker key, in precedence order (dynamic
    // per-broker, dynamic cluster default, static, default; within each, the
    // key's synonyms in order), starting at the first entry for `name`.
    std::vector<config_synonym> broker_synonyms(std::string_view name) const;

    // ---- Topic keys, for a topic with these overrides.
    config_value topic_value(const topic_config_definition& key, const config_map& overrides) const;
    config_value topic_value(std::string_view key, const config_map& overrides) const;
    // The synonyms DescribeConfigs lists for a topic key: the override, if
    // any, then the broker synonyms of the key's primary broker key.
    std::vector<config_synonym> topic_synonyms(const topic_config_definition& key, const config_map& overrides) const;

    storage::log_config log_config(const config_map& overrides) const;
    partition_settings settings(const config_map& overrides) const;

    const broker_config& static_config() const { return config_; }

private:
    const broker_config& config_;
    const config_map* per_broker_ = nullptr;
    const config_map* cluster_ = nullptr;
    std::vector<config_value> values_; // effective broker values, registry order
};

// The text of a config value as DescribeConfigs shows it (null stays null).
std::optional<std::string> config_text(const config_value& value);

// One config as DescribeConfigs (and CreateTopics v5+) report it.
struct described_config {
    std::string name;
    std::optional<std::string> value; // null when not set, and for passwords
    kafka_config_source source = kafka_config_source::default_config;
    bool read_only = false;
    bool sensitive = false;
    config_type type = config_type::string;
    std::string_view documentation;
    std::vector<config_synonym> synonyms; // Kafka's full list; the handler drops it unless asked
};

// Every topic key of a topic with these overrides, in registry order.
std::vector<described_config> describe_topic_configs(const config_view& view, const config_map& overrides);
// A broker's keys: every key for the broker itself (per_broker), or for the
// cluster-wide default resource only the keys set there, with only their
// cluster-default synonyms, as Kafka reports them.
std::vector<described_config> describe_broker_configs(const config_view& view, const metadata_image& image,
                                                      bool per_broker);

} // namespace runnel::broker
