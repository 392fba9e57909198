// The configuration registry: registration with its checks, the shared
// validators, and topic defaults derived from broker values.
#include "broker/config_registry.h"

#include <algorithm>
#include <cassert>
#include <set>

#include <fmt/format.h>

#include "protocol/wire.h"

namespace runnel::broker {
namespace {

const string_list& as_list(const config_value& value) {
    assert(std::holds_alternative<string_list>(value));
    return std::get<string_list>(value);
}

std::optional<std::string> duplicate_in(const string_list& items) {
    std::set<std::string_view> seen;
    for (const std::string& item : items) {
        if (!seen.insert(item).second) {
            return fmt::format("'{}' appears twice", item);
        }
    }
    return std::nullopt;
}

// Levenshtein distance, for "did you mean" hints on unknown keys, or any
// value above `limit` once the distance is known to exceed it: a row whose
// smallest cell passes the limit ends the table early (a file of many long
// unknown keys cost seconds before; found by properties_fuzz).
size_t edit_distance(std::string_view a, std::string_view b, size_t limit) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        size_t row_min = row[0];
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
            row_min = std::min(row_min, row[j]);
        }
        if (row_min > limit) {
            return row_min;
        }
    }
    return row[b.size()];
}

config_value convert(const config_value& value, unit_conversion conversion) {
    if (conversion == unit_conversion::none || std::holds_alternative<std::monostate>(value)) {
        return value;
    }
    assert(std::holds_alternative<int64_t>(value));
    // Hours and minutes keys are int32, so the products fit in int64.
    int64_t n = std::get<int64_t>(value);
    return config_value{conversion == unit_conversion::hours_to_ms ? n * 3'600'000 : n * 60'000};
}

config_value parse_default(std::string_view name, config_type type, std::optional<std::string_view> text,
                           const validator& check) {
    if (!text) {
        return config_value{};
    }
    parsed<config_value> value = parse_value(type, *text);
    if (!value.ok()) {
        fmt::print(stderr, "config registry: default '{}' of {} does not parse: {}\n", *text, name, value.error);
        assert(false && "a config default does not parse");
    }
    if (check) {
        std::optional<std::string> why = check(*value.value);
        if (why) {
            fmt::print(stderr, "config registry: default '{}' of {} is invalid: {}\n", *text, name, *why);
            assert(false && "a config default fails its own validator");
        }
    }
    return std::move(*value.value);
}

} // namespace

std::string_view to_string(importance level) {
    switch (level) {
    case importance::high: return "high";
    case importance::medium: return "medium";
    case importance::low: return "low";
    }
    return "unknown";
}

std::string_view to_string(update_mode mode) {
    switch (mode) {
    case update_mode::read_only: return "read-only";
    case update_mode::per_broker: return "per-broker";
    case update_mode::cluster_wide: return "cluster-wide";
    }
    return "unknown";
}

namespace validate {

validator at_least(int64_t min) {
    return [min](const config_value& v) -> std::optional<std::string> {
        if (std::get<int64_t>(v) < min) {
            return fmt::format("must be at least {}", min);
        }
        return std::nullopt;
    };
}

validator between(int64_t min, int64_t max) {
    return [min, max](const config_value& v) -> std::optional<std::string> {
        int64_t n = std::get<int64_t>(v);
        if (n < min || n > max) {
            return fmt::format("must be between {} and {}", min, max);
        }
        return std::nullopt;
    };
}

validator between_double(double min, double max) {
    return [min, max](const config_value& v) -> std::optional<std::string> {
        double d = std::get<double>(v);
        if (d < min || d > max) {
            return fmt::format("must be between {} and {}", min, max);
        }
        return std::nullopt;
    };
}

validator one_of(std::vector<std::string_view> allowed) {
    return [allowed](const config_value& v) -> std::optional<std::string> {
        const std::string& s = std::get<std::string>(v);
        if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
            return fmt::format("must be one of {}", fmt::join(allowed, ", "));
        }
        return std::nullopt;
    };
}

validator non_empty_list() {
    return [](const config_value& v) -> std::optional<std::string> {
        const string_list& items = as_list(v);
        if (items.empty()) {
            return "must not be empty";
        }
        return duplicate_in(items);
    };
}

validator each_one_of(std::vector<std::string_view> allowed) {
    return [allowed](const config_value& v) -> std::optional<std::string> {
        const string_list& items = as_list(v);
        if (items.empty()) {
            return fmt::format("must list at least one of {}", fmt::join(allowed, ", "));
        }
        for (const std::string& item : items) {
            if (std::find(allowed.begin(), allowed.end(), item) == allowed.end()) {
                return fmt::format("'{}' is not one of {}", item, fmt::join(allowed, ", "));
            }
        }
        return duplicate_in(items);
    };
}

validator listener_list() {
    return [](const config_value& v) -> std::optional<std::string> {
        parsed<std::vector<listener>> listeners = parse_listeners(as_list(v));
        if (!listeners.ok()) {
            return listeners.error;
        }
        return std::nullopt;
    };
}

validator quorum_voter_list() {
    return [](const config_value& v) -> std::optional<std::string> {
        std::set<int32_t> ids;
        for (const std::string& item : as_list(v)) {
            parsed<quorum_voter> voter = parse_quorum_voter(item);
            if (!voter.ok()) {
                return voter.error;
            }
            if (!ids.insert(voter.value->id).second) {
                return fmt::format("voter id {} appears twice", voter.value->id);
            }
        }
        return std::nullopt;
    };
}

validator protocol_map() {
    return [](const config_value& v) -> std::optional<std::string> {
        std::set<std::string> names;
        for (const std::string& item : as_list(v)) {
            parsed<listener_protocol> entry = parse_listener_protocol(item);
            if (!entry.ok()) {
                return entry.error;
            }
            if (!names.insert(entry.value->listener_name).second) {
                return fmt::format("listener name {} is mapped twice", entry.value->listener_name);
            }
        }
        return std::nullopt;
    };
}

validator host_port_or_empty() {
    return [](const config_value& v) -> std::optional<std::string> {
        const std::string& text = std::get<std::string>(v);
        if (text.empty()) {
            return std::nullopt;
        }
        parsed<host_port> address = parse_host_port(text);
        if (!address.ok()) {
            return address.error;
        }
        return std::nullopt;
    };
}

validator uuid_text() {
    return [](const config_value& v) -> std::optional<std::string> {
        std::optional<proto::uuid> id = proto::uuid::from_string(std::get<std::string>(v));
        if (!id || id->is_zero()) {
            return "must be a non-zero Kafka UUID: 22 characters of URL-safe base64, as kafka-storage random-uuid prints";
        }
        return std::nullopt;
    };
}

validator gzip_level() {
    return [](const config_value& v) -> std::optional<std::string> {
        int64_t level = std::get<int64_t>(v);
        if (level == -1 || (level >= 1 && level <= 9)) {
            return std::nullopt;
        }
        return "must be -1 (the default) or between 1 and 9";
    };
}

validator both(validator first, validator second) {
    return [first, second](const config_value& v) -> std::optional<std::string> {
        std::optional<std::string> why = first(v);
        return why ? why : second(v);
    };
}

} // namespace validate

void config_registry::add(config_definition definition) {
    assert(!definition.name.empty());
    bool is_new = by_name_.emplace(std::string(definition.name), definitions_.size()).second;
    if (!is_new) {
        fmt::print(stderr, "config registry: {} is defined twice\n", definition.name);
    }
    assert(is_new && "a config key is defined twice");
    definition.default_value =
        parse_default(definition.name, definition.type, definition.default_text, definition.check);
    definitions_.push_back(std::move(definition));
}

void config_registry::add_topic(topic_config_definition definition) {
    assert(!definition.name.empty());
    bool is_new = topic_by_name_.emplace(std::string(definition.name), topic_definitions_.size()).second;
    if (!is_new) {
        fmt::print(stderr, "config registry: topic key {} is defined twice\n", definition.name);
    }
    assert(is_new && "a topic config key is defined twice");
    assert(definition.synonyms.empty() != !definition.default_text.has_value() &&
           "a topic key has either broker synonyms or a fixed default");
    for (const topic_synonym& synonym : definition.synonyms) {
        auto it = by_name_.find(synonym.broker_name);
        if (it == by_name_.end()) {
            fmt::print(stderr, "config registry: {} names unknown broker key {}\n", definition.name, synonym.broker_name);
        }
        assert(it != by_name_.end() && "a topic synonym names an unknown broker key");
        config_definition& broker = definitions_[it->second];
        assert(broker.topic_name.empty() && "a broker key is the synonym of two topic keys");
        assert(synonym.conversion == unit_conversion::none ||
               broker.type == config_type::int32 || broker.type == config_type::int64);
        broker.topic_name = definition.name;
    }
    definition.default_value =
        parse_default(definition.name, definition.type, definition.default_text, definition.check);
    topic_definitions_.push_back(std::move(definition));
}

void config_registry::define(std::string_view name, config_type type, std::optional<std::string_view> default_text,
                             validator check, importance level, update_mode mode, std::string_view doc) {
    add(config_definition{name, type, default_text, std::move(check), level, mode, doc, false, {}, {}});
}

void config_registry::define_runnel(std::string_view name, config_type type, std::string_view default_text,
                                    validator check, update_mode mode, std::string_view doc) {
    add(config_definition{name, type, default_text, std::move(check), importance::high, mode, doc, true, {}, {}});
}

void config_registry::define_topic(std::string_view name, config_type type, std::vector<topic_synonym> synonyms,
                                   validator check, std::string_view doc) {
    assert(!synonyms.empty());
    add_topic(topic_config_definition{name, type, std::move(synonyms), std::nullopt, std::move(check), doc, false, {}});
}

void config_registry::define_topic_fixed(std::string_view name, config_type type, std::string_view default_text,
                                         validator check, std::string_view doc) {
    add_topic(topic_config_definition{name, type, {}, default_text, std::move(check), doc, false, {}});
}

const config_definition* config_registry::find(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &definitions_[it->second];
}

std::optional<size_t> config_registry::index_of(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? std::nullopt : std::optional<size_t>(it->second);
}

const topic_config_definition* config_registry::find_topic(std::string_view name) const {
    auto it = topic_by_name_.find(name);
    return it == topic_by_name_.end() ? nullptr : &topic_definitions_[it->second];
}

std::vector<std::string_view> config_registry::broker_synonyms(std::string_view name) const {
    const config_definition* definition = find(name);
    assert(definition != nullptr && "no such config key");
    const topic_config_definition* topic = definition->topic_name.empty() ? nullptr : find_topic(definition->topic_name);
    if (topic == nullptr || topic->synonyms.size() < 2) {
        return {definition->name};
    }
    // Kafka groups a key with the others only when it is the preferred one or
    // a unit variant of it; a plain fallback (the flush scheduler's interval)
    // stands alone.
    bool grouped = topic->synonyms.front().broker_name == name ||
                   std::any_of(topic->synonyms.begin(), topic->synonyms.end(), [&](const topic_synonym& s) {
                       return s.broker_name == name && s.conversion != unit_conversion::none;
                   });
    if (!grouped) {
        return {definition->name};
    }
    std::vector<std::string_view> out;
    for (const topic_synonym& s : topic->synonyms) {
        out.push_back(s.broker_name);
    }
    return out;
}

std::optional<std::string_view> config_registry::nearest(std::string_view name) const {
    // Allow about one edit in four characters, and never more than three.
    size_t budget = std::min<size_t>(3, std::max<size_t>(1, name.size() / 4));
    std::optional<std::string_view> best;
    size_t best_distance = budget + 1;
    for (const config_definition& definition : definitions_) {
        // The lengths alone bound the distance from below.
        const size_t length_gap = name.size() > definition.name.size() ? name.size() - definition.name.size()
                                                                       : definition.name.size() - name.size();
        if (length_gap >= best_distance) {
            continue;
        }
        size_t d = edit_distance(name, definition.name, best_distance - 1);
        if (d < best_distance) {
            best_distance = d;
            best = definition.name;
        }
    }
    return best;
}

resolved_topic_value resolve_topic_value(const config_registry& registry, const topic_config_definition& topic,
                                         const broker_value_lookup& value_of) {
    if (topic.synonyms.empty()) {
        return {topic.default_value, std::nullopt};
    }
    for (const topic_synonym& synonym : topic.synonyms) {
        std::optional<size_t> index = registry.index_of(synonym.broker_name);
        assert(index.has_value());
        const config_value& value = value_of(*index);
        if (std::holds_alternative<std::monostate>(value)) {
            continue; // not set: the next synonym decides
        }
        config_value converted = convert(value, synonym.conversion);
        if (topic.negative_means_unlimited && std::get<int64_t>(converted) < 0) {
            converted = config_value{int64_t{-1}};
        }
        return {std::move(converted), index};
    }
    assert(false && "the last synonym of a topic key has a non-null default");
    return {};
}

const config_registry& broker_config_registry() {
    static const config_registry registry = [] {
        config_registry r;
        define_server_configs(r);
        define_log_configs(r);
        define_topic_configs(r);
        // Every topic default derived from the broker defaults must pass the topic validator.
        for (const topic_config_definition& topic : r.all_topic()) {
            resolved_topic_value resolved =
                resolve_topic_value(r, topic, [&](size_t i) -> const config_value& { return r.all()[i].default_value; });
            if (topic.check && topic.check(resolved.value)) {
                fmt::print(stderr, "config registry: derived default of {} is invalid\n", topic.name);
                assert(false && "a derived topic default fails the topic validator");
            }
        }
        return r;
    }();
    return registry;
}

} // namespace runnel::broker
