// The table of every broker configuration key Runnel knows (Kafka's names and
// defaults) and of every per-topic key, built once and checked: a key defined
// twice, a default its own validator rejects, or a topic synonym naming an
// unknown broker key stops the process at startup.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/config_value.h"

namespace runnel::broker {

enum class importance : uint8_t { high, medium, low };
std::string_view to_string(importance level);

// Whether a key may change without a restart, as Kafka's documentation tables
// say: not at all, for one broker, or as a cluster-wide default.
enum class update_mode : uint8_t { read_only, per_broker, cluster_wide };
std::string_view to_string(update_mode mode);

// Checks a parsed, non-null value and says why it is not acceptable.
using validator = std::function<std::optional<std::string>(const config_value&)>;

// Validator factories for the rules configs share.
namespace validate {
validator at_least(int64_t min);
validator between(int64_t min, int64_t max);
validator between_double(double min, double max);
validator one_of(std::vector<std::string_view> allowed);      // a string key
validator each_one_of(std::vector<std::string_view> allowed); // a non-empty list without duplicates
validator non_empty_list();                                   // and without duplicates
validator listener_list();                                    // NAME://host:port,...
validator quorum_voter_list();                                // id@host:port,...
validator protocol_map();                                     // NAME:PROTOCOL,...
validator host_port_or_empty();                               // host:port, or empty to disable
validator uuid_text();                                        // a Kafka UUID, as cluster ids are
validator gzip_level();                                       // -1 (zlib's default) or 1..9
validator both(validator first, validator second);
} // namespace validate

struct config_definition {
    std::string_view name;
    config_type type = config_type::string;
    std::optional<std::string_view> default_text; // nullopt: null ("not set")
    validator check;                              // empty: any value of the type
    importance level = importance::medium;
    update_mode mode = update_mode::read_only;
    std::string_view doc;
    bool runnel_only = false; // a key of ours, not of Kafka's

    // Filled in by the registry.
    config_value default_value;
    std::string_view topic_name; // the per-topic key this key is the default of, if any
};

// How a broker key's value becomes its topic key's value.
enum class unit_conversion : uint8_t { none, hours_to_ms, minutes_to_ms };

struct topic_synonym {
    std::string_view broker_name;
    unit_conversion conversion = unit_conversion::none;
};

// A per-topic key (CreateTopics, AlterConfigs). Its default is the value of the
// first of its broker synonyms that is not null, in the order listed; a topic
// key without synonyms has a fixed default.
struct topic_config_definition {
    std::string_view name;
    config_type type = config_type::string;
    std::vector<topic_synonym> synonyms;
    std::optional<std::string_view> default_text; // used only when there are no synonyms
    validator check;
    std::string_view doc;
    // Kafka turns any negative broker retention time into -1 ("no limit").
    bool negative_means_unlimited = false;

    config_value default_value; // filled in by the registry when there are no synonyms
};

class config_registry {
public:
    // Both assert that the name is new, that the default parses and passes its
    // validator, and (for topic keys) that every synonym is a broker key already added.
    void add(config_definition definition);
    void add_topic(topic_config_definition definition);

    // Short forms for the definition tables.
    void define(std::string_view name, config_type type, std::optional<std::string_view> default_text, validator check,
                importance level, update_mode mode, std::string_view doc);
    void define_runnel(std::string_view name, config_type type, std::string_view default_text, validator check,
                       update_mode mode, std::string_view doc);
    void define_topic(std::string_view name, config_type type, std::vector<topic_synonym> synonyms, validator check,
                      std::string_view doc);
    void define_topic_fixed(std::string_view name, config_type type, std::string_view default_text, validator check,
                            std::string_view doc);

    const config_definition* find(std::string_view name) const;
    std::optional<size_t> index_of(std::string_view name) const;
    const topic_config_definition* find_topic(std::string_view name) const;

    std::span<const config_definition> all() const { return definitions_; }
    std::span<const topic_config_definition> all_topic() const { return topic_definitions_; }

    // The broker keys that set the same thing as `name`, highest precedence
    // first, as DescribeConfigs lists synonyms: log.retention.hours gives
    // [log.retention.ms, log.retention.minutes, log.retention.hours];
    // log.flush.interval.ms gives [it, log.flush.scheduler.interval.ms]; a key
    // without such alternatives gives [itself].
    std::vector<std::string_view> broker_synonyms(std::string_view name) const;

    // The registered key nearest to a misspelt one, for "did you mean" hints.
    std::optional<std::string_view> nearest(std::string_view name) const;

private:
    std::vector<config_definition> definitions_;
    std::map<std::string, size_t, std::less<>> by_name_;
    std::vector<topic_config_definition> topic_definitions_;
    std::map<std::string, size_t, std::less<>> topic_by_name_;
};

// A topic key's value as the broker values make it, and which broker key
// (an index into all()) supplied it; none for a key without synonyms.
struct resolved_topic_value {
    config_value value;
    std::optional<size_t> broker_index;
};
using broker_value_lookup = std::function<const config_value&(size_t broker_index)>;
resolved_topic_value resolve_topic_value(const config_registry& registry, const topic_config_definition& topic,
                                         const broker_value_lookup& value_of);

// The broker's registry: built on first use from the tables in config_defs_*.cc.
const config_registry& broker_config_registry();

// The table builders, one per file.
void define_server_configs(config_registry& registry);
void define_log_configs(config_registry& registry);
void define_topic_configs(config_registry& registry);

} // namespace runnel::broker
