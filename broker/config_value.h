// Typed broker configuration values and the text syntax Kafka gives them:
// booleans, numbers, comma lists, listeners (NAME://host:port) and quorum
// voters (id@host:port). Parsing only; what a key accepts is config_registry's job.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace runnel::broker {

// The numbers are DescribeConfigs' ConfigType codes, so a response can send them unchanged.
enum class config_type : int8_t {
    boolean = 1,
    string = 2,
    int32 = 3,
    int16 = 4,
    int64 = 5,
    float64 = 6,
    list = 7,
    password = 9,
};
std::string_view to_string(config_type type);

using string_list = std::vector<std::string>;

// One value of any type. std::monostate is null: a key whose default is "not
// set" so that a synonym decides (log.retention.ms falls back to log.retention.hours).
// Every integer type is held as int64_t; the key's type bounds the range.
using config_value = std::variant<std::monostate, bool, int64_t, double, std::string, string_list>;

// A parse outcome: a value, or why the text is not one.
template <typename T>
struct [[nodiscard]] parsed {
    std::optional<T> value;
    std::string error;

    bool ok() const { return value.has_value(); }
    // Builds the value in place (a variant moved into an optional trips g++'s
    // -Wmaybe-uninitialized under the sanitizers).
    template <typename... Args>
    static parsed success(Args&&... args) {
        parsed out;
        out.value.emplace(std::forward<Args>(args)...);
        return out;
    }
    static parsed failure(std::string why) { return parsed{std::nullopt, std::move(why)}; }
};

// Reads text as Kafka's ConfigDef would for `type`: surrounding whitespace is
// ignored, booleans are true/false in any case, numbers
// are plain decimal integers (no size suffixes), lists are comma separated
// with an empty text meaning the empty list.
parsed<config_value> parse_value(config_type type, std::string_view text);

// The text Kafka shows for a value (DescribeConfigs, logs): lists joined by
// commas, null as nullopt.
std::optional<std::string> format_value(const config_value& value);

// Strips spaces, tabs, CR, LF and form feeds at both ends.
std::string_view trim(std::string_view text);

// host:port, where an IPv6 host is written in brackets ([::1]:9093) and an
// empty host means every local interface.
struct host_port {
    std::string host;
    uint16_t port = 0;
    bool operator==(const host_port&) const = default;
};
parsed<host_port> parse_host_port(std::string_view text);

// One entry of `listeners`/`advertised.listeners`: NAME://host:port. The name
// is upper-cased, as Kafka normalises listener names.
struct listener {
    std::string name;
    std::string host;
    uint16_t port = 0;
    bool operator==(const listener&) const = default;
};
parsed<listener> parse_listener(std::string_view text);
parsed<std::vector<listener>> parse_listeners(const string_list& items);

// One entry of `controller.quorum.voters`: id@host:port.
struct quorum_voter {
    int32_t id = 0;
    std::string host;
    uint16_t port = 0;
    bool operator==(const quorum_voter&) const = default;
};
parsed<quorum_voter> parse_quorum_voter(std::string_view text);

// The security protocols Kafka defines, in the spelling configs use.
inline constexpr std::string_view security_protocols[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};

// One entry of `listener.security.protocol.map`: LISTENER_NAME:PROTOCOL.
struct listener_protocol {
    std::string listener_name;
    std::string protocol;
};
parsed<listener_protocol> parse_listener_protocol(std::string_view text);

} // namespace runnel::broker
