// Layering dynamic configs over the static ones, and mapping topic keys onto
// the storage and data-path settings.
#include "broker/topic_config.h"

#include <algorithm>
#include <cassert>

#include "broker/logging.h"

namespace runnel::broker {

namespace {

// A dynamic value as its key's type, or nullopt (logged) if it no longer parses.
std::optional<config_value> parse_dynamic(const config_definition& definition, const std::string& text) {
    parsed<config_value> typed = parse_value(definition.type, text);
    if (!typed.ok()) {
        get_logger("config")->warn("ignoring dynamic value '{}' of {}: {}", text, definition.name, typed.error);
        return std::nullopt;
    }
    return std::move(*typed.value);
}

const std::string* find_in(const config_map* map, std::string_view key) {
    if (map == nullptr) {
        return nullptr;
    }
    auto it = map->find(key);
    return it == map->end() ? nullptr : &it->second;
}

int64_t as_int(const config_value& v) {
    assert(std::holds_alternative<int64_t>(v));
    return std::get<int64_t>(v);
}

storage::cleanup_policy to_cleanup_policy(const config_value& v) {
    const auto& items = std::get<string_list>(v);
    const bool compact = std::find(items.begin(), items.end(), "compact") != items.end();
    const bool remove = std::find(items.begin(), items.end(), "delete") != items.end();
    if (compact && remove) {
        return storage::cleanup_policy::compact_delete;
    }
    return compact ? storage::cleanup_policy::compact : storage::cleanup_policy::delete_segments;
}

storage::message_timestamp_type to_timestamp_type(const config_value& v) {
    return std::get<std::string>(v) == "LogAppendTime" ? storage::message_timestamp_type::log_append_time
                                                        : storage::message_timestamp_type::create_time;
}

} // namespace

std::optional<std::string> config_text(const config_value& value) { return format_value(value); }

config_view::config_view(const broker_config& config, const metadata_image& image, int32_t node_id)
    : config_(config), per_broker_(image.dynamic_broker_configs(node_id)), cluster_(&image.cluster_broker_configs) {
    const auto entries = config.all_entries();
    values_.reserve(entries.size());
    for (const config_entry& e : entries) {
        config_value value = e.value;
        const std::string_view name = e.definition->name;
        if (const std::string* text = find_in(cluster_, name)) {
            if (auto typed = parse_dynamic(*e.definition, *text)) {
                value = std::move(*typed);
            }
        }
        if (const std::string* text = find_in(per_broker_, name)) {
            if (auto typed = parse_dynamic(*e.definition, *text)) {
                value = std::move(*typed);
            }
        }
        values_.push_back(std::move(value));
    }
}

const config_value& config_view::broker_value(std::string_view name) const {
    std::optional<size_t> index = broker_config_registry().index_of(name);
    assert(index.has_value() && "no such broker config key");
    return values_[*index];
}

std::vector<config_synonym> config_view::broker_synonyms(std::string_view name) const {
    const config_registry& registry = broker_config_registry();
    const std::vector<std::string_view> names = registry.broker_synonyms(name);
    std::vector<config_synonym> out;
    auto shown = [](const config_definition& d, std::optional<std::string> text) {
        return d.type == config_type::password ? std::nullopt : std::move(text);
    };
    for (std::string_view n : names) {
        if (const std::string* text = find_in(per_broker_, n)) {
            out.push_back({std::string(n), shown(*registry.find(n), *text), kafka_config_source::dynamic_broker_config});
        }
    }
    for (std::string_view n : names) {
        if (const std::string* text = find_in(cluster_, n)) {
            out.push_back(
                {std::string(n), shown(*registry.find(n), *text), kafka_config_source::dynamic_default_broker_config});
        }
    }
    for (std::string_view n : names) {
        const config_entry& e = config_.entry(n);
        if (e.source != value_source::default_value) {
            out.push_back({std::string(n), shown(*e.definition, format_value(e.value)),
                           kafka_config_source::static_broker_config});
        }
    }
    for (std::string_view n : names) {
        const config_definition& d = *registry.find(n);
        if (!std::holds_alternative<std::monostate>(d.default_value)) {
            out.push_back({std::string(n), shown(d, format_value(d.default_value)), kafka_config_source::default_config});
        }
    }
    // As Kafka does, the list starts at the first entry for the key itself.
    auto first = std::find_if(out.begin(), out.end(), [&](const config_synonym& s) { return s.name == name; });
    out.erase(out.begin(), first);
    return out;
}

config_value config_view::topic_value(const topic_config_definition& key, const config_map& overrides) const {
    if (auto it = overrides.find(key.name); it != overrides.end()) {
        parsed<config_value> typed = parse_value(key.type, it->second);
        if (typed.ok()) {
            return std::move(*typed.value);
        }
        get_logger("config")->warn("ignoring topic override '{}' of {}: {}", it->second, key.name, typed.error);
    }
    resolved_topic_value resolved = resolve_topic_value(
        broker_config_registry(), key, [this](size_t i) -> const config_value& { return values_[i]; });
    return std::move(resolved.value);
}

config_value config_view::topic_value(std::string_view key, const config_map& overrides) const {
    const topic_config_definition* definition = broker_config_registry().find_topic(key);
    assert(definition != nullptr && "no such topic config key");
    return topic_value(*definition, overrides);
}

std::vector<config_synonym> config_view::topic_synonyms(const topic_config_definition& key,
                                                        const config_map& overrides) const {
    std::vector<config_synonym> out;
    if (auto it = overrides.find(key.name); it != overrides.end()) {
        out.push_back({std::string(key.name), config_text(topic_value(key, overrides)),
                       kafka_config_source::dynamic_topic_config});
    }
    if (!key.synonyms.empty()) {
        std::vector<config_synonym> broker = broker_synonyms(key.synonyms.front().broker_name);
        out.insert(out.end(), std::make_move_iterator(broker.begin()), std::make_move_iterator(broker.end()));
    }
    return out;
}

storage::log_config config_view::log_config(const config_map& overrides) const {
    auto value = [&](std::string_view key) { return topic_value(key, overrides); };
    storage::log_config out;
    out.segment_bytes = static_cast<uint64_t>(as_int(value("segment.bytes")));
    out.segment_ms = as_int(value("segment.ms"));
    out.index_interval_bytes = static_cast<uint64_t>(as_int(value("index.interval.bytes")));
    out.segment_index_bytes = static_cast<uint64_t>(as_int(value("segment.index.bytes")));
    out.retention_ms = as_int(value("retention.ms"));
    out.retention_bytes = as_int(value("retention.bytes"));
    out.flush_messages = as_int(value("flush.messages"));
    out.flush_ms = as_int(value("flush.ms"));
    out.cleanup = to_cleanup_policy(value("cleanup.policy"));
    out.delete_retention_ms = as_int(value("delete.retention.ms"));
    out.min_compaction_lag_ms = as_int(value("min.compaction.lag.ms"));
    out.max_compaction_lag_ms = as_int(value("max.compaction.lag.ms"));
    out.min_cleanable_ratio = std::get<double>(value("min.cleanable.dirty.ratio"));
    out.timestamp_type = to_timestamp_type(value("message.timestamp.type"));
    out.retention_check_interval_ms = as_int(broker_value("log.retention.check.interval.ms"));
    // Recovery must accept any batch the broker may have accepted.
    const auto max_message = static_cast<uint64_t>(as_int(value("max.message.bytes")));
    out.batch_bytes_max = std::max(out.batch_bytes_max, max_message + 4096);
    return out;
}

partition_settings config_view::settings(const config_map& overrides) const {
    auto value = [&](std::string_view key) { return topic_value(key, overrides); };
    partition_settings out;
    out.max_message_bytes = static_cast<int32_t>(as_int(value("max.message.bytes")));
    out.timestamp_type = to_timestamp_type(value("message.timestamp.type"));
    out.timestamp_before_max_ms = as_int(value("message.timestamp.before.max.ms"));
    out.timestamp_after_max_ms = as_int(value("message.timestamp.after.max.ms"));
    out.min_insync_replicas = static_cast<int32_t>(as_int(value("min.insync.replicas")));
    out.compression_type = std::get<std::string>(value("compression.type"));
    return out;
}

std::vector<described_config> describe_topic_configs(const config_view& view, const config_map& overrides) {
    std::vector<described_config> out;
    for (const topic_config_definition& key : broker_config_registry().all_topic()) {
        described_config d;
        d.name = std::string(key.name);
        d.type = key.type;
        d.sensitive = key.type == config_type::password;
        d.value = d.sensitive ? std::nullopt : config_text(view.topic_value(key, overrides));
        d.documentation = key.doc;
        d.synonyms = view.topic_synonyms(key, overrides);
        d.source = d.synonyms.empty() ? kafka_config_source::default_config : d.synonyms.front().source;
        out.push_back(std::move(d));
    }
    return out;
}

std::vector<described_config> describe_broker_configs(const config_view& view, const metadata_image& image,
                                                      bool per_broker) {
    std::vector<described_config> out;
    const auto& definitions = broker_config_registry().all();
    for (size_t i = 0; i < definitions.size(); ++i) {
        const config_definition& key = definitions[i];
        if (!per_broker && !image.cluster_broker_configs.contains(key.name)) {
            continue;
        }
        described_config d;
        d.name = std::string(key.name);
        d.type = key.type;
        d.sensitive = key.type == config_type::password;
        d.read_only = key.mode == update_mode::read_only;
        d.documentation = key.doc;
        d.synonyms = view.broker_synonyms(key.name);
        if (!per_broker) {
            std::erase_if(d.synonyms, [](const config_synonym& s) {
                return s.source != kafka_config_source::dynamic_default_broker_config;
            });
            auto it = image.cluster_broker_configs.find(key.name);
            d.value = it->second;
        } else {
            d.value = config_text(view.broker_value(i));
        }
        if (d.sensitive) {
            d.value = std::nullopt;
        }
        d.source = d.synonyms.empty() ? kafka_config_source::default_config : d.synonyms.front().source;
        out.push_back(std::move(d));
    }
    return out;
}

} // namespace runnel::broker
