// runnel-bench's command line: what each run was asked to do, as plain
// structs, and the parser that turns argv into them (or into a usage error).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace runnel::bench {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1; // the run failed or did not complete
inline constexpr int exit_usage = 2;   // the command line was wrong

inline constexpr std::string_view default_bootstrap = "127.0.0.1:9092";
inline constexpr std::string_view default_topic = "runnel-bench";

// Every run is bounded: no more records and no longer than these, whatever it is told.
inline constexpr int64_t records_max = 1'000'000'000;
inline constexpr double time_limit_s_max = 3600;
inline constexpr int32_t record_size_max = 1 << 20;
inline constexpr int32_t partitions_max = 100'000;
inline constexpr int32_t connections_max = 60'000;
// Fields written at the start of every record big enough: sequence number and
// send time (see payload.h). e2e needs both.
inline constexpr int32_t record_stamp_bytes = 16;

struct key_value {
    std::string key;
    std::string value;
    bool operator==(const key_value&) const = default;
};
std::optional<key_value> parse_key_value(std::string_view text);

enum class payload_kind { random, text };

// Where the records go and what bounds the run; shared by every command.
struct common_options {
    std::string bootstrap{default_bootstrap};
    // Run against librdkafka's in-process mock cluster instead of a broker.
    bool mock = false;
    std::string topic{default_topic};
    // Used when the topic has to be created (it is used as it is otherwise).
    int32_t partitions = 6;
    std::vector<key_value> topic_configs;
    std::vector<key_value> client_properties; // -X, applied last
    double time_limit_s = 60;
    // Setup (metadata, topic creation, connecting) is bounded separately.
    double setup_timeout_s = 30;
    int32_t broker_pid = 0; // 0: no broker statistics
    bool progress = true;
    std::string label; // echoed into the JSON line, for the suite's bookkeeping
};

struct producer_options {
    int64_t records = 1'000'000;
    int32_t record_size = 100;
    std::string acks = "1"; // all, -1, 1 or 0
    std::string compression = "none";
    std::optional<int32_t> linger_ms;  // librdkafka's default when unset
    std::optional<int32_t> batch_bytes; // batch.size
    bool idempotence = false;
    double rate = 0; // records/s; 0 = as fast as possible
    payload_kind payload = payload_kind::random;
    // Stamp each record with its send time (e2e reads it back). A throughput
    // run leaves it out: a clock read per record is the client's cost, not
    // the peer's.
    bool stamp_send_time = false;
};

struct produce_command {
    common_options common;
    producer_options producer;
};

struct consume_command {
    common_options common;
    // 0: everything below the high watermarks found at the start.
    int64_t records = 0;
    std::optional<std::string> group; // subscribe with this group instead of assigning
    // With --mock the topic is first filled (untimed) with these records.
    int32_t record_size = 100;
    payload_kind payload = payload_kind::random;
};

struct e2e_command {
    common_options common;
    producer_options producer; // rate is required
    // Records sent in the first warmup_s seconds are not counted in the latencies.
    double warmup_s = 1;
};

struct idle_command {
    common_options common; // topic, partitions
    int32_t connections = 1000;
    double hold_s = 2; // how long the connections stay open and idle before RSS is read
};

enum class baseline_kind { tcp, rtt, write, write_sync };
struct baseline_command {
    baseline_kind kind = baseline_kind::tcp;
    std::string dir = "/tmp"; // write, write_sync
    int64_t bytes = int64_t{1} << 30;
    int32_t block_bytes = 16 * 1024;
    bool keep = false; // write: leave the file (named with the pid) in --dir
    double time_limit_s = 10;
    std::string label;
};

using command = std::variant<produce_command, consume_command, e2e_command, idle_command, baseline_command>;

struct parse_result {
    std::optional<command> run;
    std::string help;  // --help: print this and exit 0
    std::string error; // usage error, with a hint
};

parse_result parse_command_line(std::span<const std::string> args);

std::string_view to_string(payload_kind k);
std::string_view to_string(baseline_kind k);

} // namespace runnel::bench
