// runnelctl's command line: what each command was asked to do, as plain
// structs, and the parser that turns argv into them (or into a usage error).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace runnel::ctl {

// Exit codes, the same for every command.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1; // the broker or the client reported an error
inline constexpr int exit_usage = 2;   // the command line was wrong

inline constexpr std::string_view default_bootstrap_server = "127.0.0.1:9092";
inline constexpr int32_t default_timeout_ms = 30'000;
// No command waits longer than a day, whatever it is told.
inline constexpr int32_t timeout_ms_max = 86'400'000;

// A `key=value` pair from the command line (configs, headers, client properties).
struct key_value {
    std::string key;
    std::string value;
    bool operator==(const key_value&) const = default;
};

struct global_options {
    std::string bootstrap_server{default_bootstrap_server};
    int32_t timeout_ms = default_timeout_ms;
    // librdkafka properties given with -X/--property, applied last.
    std::vector<key_value> client_properties;
};

struct topic_create_command {
    std::string topic;
    int32_t partitions = -1;         // -1: the broker's num.partitions
    int16_t replication_factor = -1; // -1: the broker's default.replication.factor
    std::vector<key_value> configs;
    bool validate_only = false;
};

struct topic_list_command {};

struct topic_describe_command {
    std::string topic;
};

struct topic_delete_command {
    std::string topic;
};

// IncrementalAlterConfigs operations, with Kafka's numbers.
enum class config_operation : int8_t { set = 0, remove = 1, append = 2, subtract = 3 };

struct config_change {
    config_operation operation = config_operation::set;
    std::string name;
    std::string value; // empty for remove
    bool operator==(const config_change&) const = default;
};

struct topic_alter_config_command {
    std::string topic;
    std::vector<config_change> changes; // in command-line order
    bool validate_only = false;
};

enum class compression_codec { none, gzip, snappy, lz4, zstd };
std::string_view to_string(compression_codec c);

inline constexpr int16_t acks_all = -1;
inline constexpr size_t default_line_bytes_max = 1 << 20;
inline constexpr size_t line_bytes_max_limit = 64 << 20;

struct produce_command {
    std::string topic;
    std::optional<std::string> key_separator; // unset: lines are values, keys are null
    std::vector<key_value> headers;           // added to every record
    std::optional<int32_t> partition;         // unset: the partitioner chooses
    compression_codec compression = compression_codec::none;
    int16_t acks = acks_all;
    bool idempotent = false;
    bool print_offsets = false; // prints "line<TAB>partition<TAB>offset" per delivered record
    size_t line_bytes_max = default_line_bytes_max;
};

// Where a consume starts in each partition.
enum class start_kind { end, beginning, offset, timestamp };

struct consume_command {
    std::string topic;
    std::optional<int32_t> partition; // unset: every partition of the topic
    start_kind start = start_kind::end;
    int64_t start_value = 0; // the offset or the timestamp (ms) for those kinds
    std::optional<int64_t> max_messages;
    bool exit_at_end = false; // stop once every partition has been read to its end
    bool json = false;
    std::string format = "%v\\n";
};

struct group_list_command {
    std::vector<std::string> states; // ListGroups state filter (Kafka's names, any case); empty: all
    bool json = false;
};

struct group_describe_command {
    std::string group;
    bool json = false;
};

struct group_delete_command {
    std::string group;
};

// Where reset-offsets moves each partition's committed offset.
enum class reset_target { earliest, latest, offset, shift_by, timestamp };

struct group_reset_offsets_command {
    std::string group;
    std::string topic;
    std::optional<int32_t> partition; // unset: every partition of the topic
    reset_target target = reset_target::earliest;
    int64_t value = 0;    // the offset, the shift, or the timestamp (ms)
    bool execute = false; // without it, only the plan is printed (as Kafka's tool)
};

using command = std::variant<topic_create_command, topic_list_command, topic_describe_command, topic_delete_command,
                             topic_alter_config_command, produce_command, consume_command, group_list_command,
                             group_describe_command, group_delete_command, group_reset_offsets_command>;

struct invocation {
    global_options global;
    command what;
};

// What parsing produced: a command to run, help to print (exit 0), or a usage
// error to print (exit 2).
struct parse_result {
    std::optional<invocation> run;
    std::string help;
    std::string error;
};

parse_result parse_command_line(std::span<const std::string> args);

// "k=v" -> {k, v}; the key must not be empty, the value may be.
std::optional<key_value> parse_key_value(std::string_view text);

} // namespace runnel::ctl
