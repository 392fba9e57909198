// The broker's configuration: Kafka's server.properties keys read from a file
// and `--override key=value` flags, checked against config_registry, with
// typed getters for what the broker uses and the full key list (values and
// where each came from) for DescribeConfigs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/config_registry.h"
#include "broker/config_value.h"
#include "protocol/types.h"

namespace runnel::broker {

// A rejected setting. `key` is the config key (or "--config" / "--override"
// for a problem with the flag itself) and `value` the text given.
struct config_error {
    std::string key;
    std::string value;
    std::string message;
};
std::string to_string(const config_error& error); // "invalid value 'x' for num.partitions: not a number ..."

// Where a value came from. DescribeConfigs reports the last two as
// STATIC_BROKER_CONFIG; keeping them apart helps people find a setting.
enum class value_source : uint8_t { default_value, config_file, override_flag };
std::string_view to_string(value_source source);

// Kafka's ConfigSource numbers (DescribeConfigs v1+).
enum class kafka_config_source : int8_t {
    unknown = 0,
    dynamic_topic_config = 1,
    dynamic_broker_config = 2,
    dynamic_default_broker_config = 3,
    static_broker_config = 4,
    default_config = 5,
    dynamic_broker_logger_config = 6,
};
kafka_config_source to_kafka_source(value_source source);

struct config_entry {
    const config_definition* definition = nullptr;
    config_value value; // after synonym resolution (broker.id follows node.id)
    value_source source = value_source::default_value;
};

// A topic key's default on this broker and the broker entry it came from
// (null for topic keys without a broker synonym).
struct topic_config_default {
    const topic_config_definition* definition = nullptr;
    config_value value;
    const config_entry* from = nullptr;
};

struct process_roles {
    bool broker = false;
    bool controller = false;
};

struct config_load_result;

class broker_config {
public:
    // Reads `file` (none: defaults only), then applies `overrides` ("key=value") in order.
    static config_load_result load(const std::optional<std::filesystem::path>& file,
                                   std::span<const std::string> overrides);
    // As load(), with the file's text given; `file_name` is used in messages.
    static config_load_result parse(std::string_view file_text, std::string_view file_name,
                                    std::span<const std::string> overrides);
    // Defaults only: what a broker with no config file and no overrides runs with.
    static broker_config defaults();

    // ---- Generic access. The key must be registered with a matching type
    // (asserted: a wrong name is a bug) and, except for get_optional_*, not null.
    const config_entry& entry(std::string_view key) const;
    bool is_null(std::string_view key) const;
    bool get_bool(std::string_view key) const;
    int32_t get_int32(std::string_view key) const; // int16 and int32 keys
    int64_t get_int64(std::string_view key) const; // any integer key
    double get_double(std::string_view key) const;
    const std::string& get_string(std::string_view key) const; // string and password keys
    const string_list& get_list(std::string_view key) const;
    std::optional<int64_t> get_optional_int64(std::string_view key) const;
    std::optional<std::string> get_optional_string(std::string_view key) const;
    // The value as Kafka shows it: null when unset, and for passwords.
    std::optional<std::string> display_value(std::string_view key) const;

    // Every key in registry order, for DescribeConfigs and `--print-config`.
    std::span<const config_entry> all_entries() const { return entries_; }
    // Every per-topic key with the default this broker gives it.
    std::vector<topic_config_default> topic_defaults() const;
    topic_config_default topic_default(std::string_view topic_key) const;
    // Checks one per-topic setting (CreateTopics, AlterConfigs).
    std::optional<config_error> validate_topic_config(std::string_view key, std::string_view value) const;

    // ---- Identity and roles.
    model::node_id node_id() const { return model::node_id(get_int32("node.id")); }
    const process_roles& roles() const { return roles_; }
    const std::vector<quorum_voter>& controller_quorum_voters() const { return voters_; }
    const string_list& controller_listener_names() const { return controller_listener_names_; }
    std::optional<std::string> broker_rack() const { return get_optional_string("broker.rack"); }
    // The configured cluster id, if any; without one the storage layer generates one.
    std::optional<std::string> cluster_id() const;

    // ---- Network.
    const std::vector<listener>& listeners() const { return listeners_; }
    // advertised.listeners, or the non-controller listeners when it is not set.
    // An entry may have an empty host (listen on every interface); what to
    // advertise then is the server's choice (Kafka uses the machine's name).
    const std::vector<listener>& advertised_listeners() const { return advertised_listeners_; }
    const std::string& inter_broker_listener_name() const { return inter_broker_listener_name_; }
    // The security protocol of a listener name (PLAINTEXT for an unmapped controller listener).
    std::optional<std::string> security_protocol(std::string_view listener_name) const;
    std::optional<host_port> admin_listener() const;
    int32_t socket_request_max_bytes() const { return get_int32("socket.request.max.bytes"); }
    int32_t socket_send_buffer_bytes() const { return get_int32("socket.send.buffer.bytes"); }
    int32_t socket_receive_buffer_bytes() const { return get_int32("socket.receive.buffer.bytes"); }
    int32_t max_connections() const { return get_int32("max.connections"); }
    int32_t max_connections_per_ip() const { return get_int32("max.connections.per.ip"); }
    int64_t connections_max_idle_ms() const { return get_int64("connections.max.idle.ms"); }
    int32_t queued_max_requests() const { return get_int32("queued.max.requests"); }
    int64_t queued_max_request_bytes() const { return get_int64("queued.max.request.bytes"); }
    int32_t num_network_threads() const { return get_int32("num.network.threads"); }
    int32_t num_io_threads() const { return get_int32("num.io.threads"); }
    int32_t fetch_max_bytes() const { return get_int32("fetch.max.bytes"); }

    // ---- Topics and logs (the topic-unit values: retention in ms whatever key set it).
    const string_list& log_dirs() const { return log_dirs_; }
    std::filesystem::path metadata_log_dir() const;
    int32_t num_partitions() const { return get_int32("num.partitions"); }
    int32_t default_replication_factor() const { return get_int32("default.replication.factor"); }
    bool auto_create_topics_enable() const { return get_bool("auto.create.topics.enable"); }
    bool delete_topic_enable() const { return get_bool("delete.topic.enable"); }
    int32_t message_max_bytes() const { return get_int32("message.max.bytes"); }
    int32_t log_segment_bytes() const { return get_int32("log.segment.bytes"); }
    int64_t log_roll_ms() const;       // log.roll.ms, else log.roll.hours
    int64_t log_roll_jitter_ms() const;
    int64_t log_retention_ms() const;  // log.retention.ms, else .minutes, else .hours; -1 = no limit
    int64_t log_retention_bytes() const { return get_int64("log.retention.bytes"); }
    int64_t log_retention_check_interval_ms() const { return get_int64("log.retention.check.interval.ms"); }
    int64_t log_flush_interval_messages() const { return get_int64("log.flush.interval.messages"); }
    int64_t log_flush_interval_ms() const; // log.flush.interval.ms, else log.flush.scheduler.interval.ms
    int32_t log_index_interval_bytes() const { return get_int32("log.index.interval.bytes"); }
    int32_t log_index_size_max_bytes() const { return get_int32("log.index.size.max.bytes"); }
    const string_list& log_cleanup_policy() const { return get_list("log.cleanup.policy"); }
    bool log_cleaner_enable() const { return get_bool("log.cleaner.enable"); }
    const std::string& log_message_timestamp_type() const { return get_string("log.message.timestamp.type"); }
    const std::string& compression_type() const { return get_string("compression.type"); }
    int32_t min_insync_replicas() const { return get_int32("min.insync.replicas"); }
    bool unclean_leader_election_enable() const { return get_bool("unclean.leader.election.enable"); }
    int64_t replica_lag_time_max_ms() const { return get_int64("replica.lag.time.max.ms"); }

    // ---- Coordinators.
    int32_t offsets_topic_num_partitions() const { return get_int32("offsets.topic.num.partitions"); }
    int32_t offsets_topic_replication_factor() const { return get_int32("offsets.topic.replication.factor"); }
    int64_t offsets_retention_ms() const { return int64_t{get_int32("offsets.retention.minutes")} * 60'000; }
    int32_t group_initial_rebalance_delay_ms() const { return get_int32("group.initial.rebalance.delay.ms"); }
    int32_t group_min_session_timeout_ms() const { return get_int32("group.min.session.timeout.ms"); }
    int32_t group_max_session_timeout_ms() const { return get_int32("group.max.session.timeout.ms"); }
    int32_t group_max_size() const { return get_int32("group.max.size"); }
    int32_t transaction_state_log_num_partitions() const { return get_int32("transaction.state.log.num.partitions"); }
    int32_t transaction_max_timeout_ms() const { return get_int32("transaction.max.timeout.ms"); }

    // ---- Runnel's own.
    const std::string& logger_level() const { return get_string("logger.level"); }

private:
    broker_config();
    const config_entry& checked_entry(std::string_view key, std::initializer_list<config_type> types) const;

    friend class config_loader;
    std::vector<config_entry> entries_; // one per registry definition, same order
    process_roles roles_;
    std::vector<quorum_voter> voters_;
    string_list controller_listener_names_;
    std::vector<listener> listeners_;
    std::vector<listener> advertised_listeners_;
    std::vector<listener_protocol> protocol_map_;
    std::string inter_broker_listener_name_;
    string_list log_dirs_;
};

// What loading produced: a config when there are no errors, and warnings
// (unknown keys, keys set twice) for the caller to log either way.
struct config_load_result {
    std::optional<broker_config> config;
    std::vector<config_error> errors;
    std::vector<std::string> warnings;
};

// Every key as `key=value  # source` lines, passwords hidden (for --print-config).
std::string format_all_entries(const broker_config& config);

// The command line: `runnel [--config FILE] [--override key=value]... [--help]`.
struct command_line {
    std::optional<std::filesystem::path> config_file;
    std::vector<std::string> overrides;
    bool help = false;
    bool print_config = false; // print every key with its value and source, then exit
    std::string usage;         // the option summary, for --help
};
// Parses argv with Boost.Program_options; a bad flag is an error message.
parsed<command_line> parse_command_line(int argc, const char* const argv[]);

} // namespace runnel::broker
