// Text to typed configuration values, following Kafka's ConfigDef rules, plus
// the address syntaxes that several keys share.
#include "broker/config_value.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace runnel::broker {
namespace {

parsed<config_value> parse_integer(std::string_view text, int64_t min, int64_t max, std::string_view type_name) {
    std::string_view digits = text;
    if (!digits.empty() && digits.front() == '+') {
        // Java's Integer.parseInt accepts an explicit plus sign; from_chars does not.
        digits.remove_prefix(1);
        if (!digits.empty() && digits.front() == '-') {
            return parsed<config_value>::failure("not a number");
        }
    }
    int64_t number = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (digits.empty() || end != digits.data() + digits.size()) {
        return parsed<config_value>::failure(fmt::format("not a number (expected {})", type_name));
    }
    if (ec == std::errc::result_out_of_range || number < min || number > max) {
        return parsed<config_value>::failure(fmt::format("out of range for {} ({}..{})", type_name, min, max));
    }
    return parsed<config_value>::success(number);
}

parsed<config_value> parse_double(std::string_view text) {
    std::string_view digits = text;
    if (!digits.empty() && digits.front() == '+') {
        digits.remove_prefix(1);
    }
    double number = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || !std::isfinite(number)) {
        return parsed<config_value>::failure("not a number (expected double)");
    }
    return parsed<config_value>::success(number);
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

parsed<config_value> parse_list(std::string_view text) {
    string_list items;
    if (text.empty()) {
        return parsed<config_value>::success(items);
    }
    size_t start = 0;
    while (true) {
        size_t comma = text.find(',', start);
        std::string_view item = trim(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
        if (item.empty()) {
            return parsed<config_value>::failure("empty item in list");
        }
        items.emplace_back(item);
        if (comma == std::string_view::npos) {
            break;
        }
        start = comma + 1;
    }
    return parsed<config_value>::success(std::move(items));
}

parsed<uint16_t> parse_port(std::string_view text) {
    int32_t port = -1;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || port < 0 || port > 65535) {
        return parsed<uint16_t>::failure(fmt::format("bad port '{}' (expected 0..65535)", text));
    }
    return parsed<uint16_t>::success(static_cast<uint16_t>(port));
}

bool is_host_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '%';
}

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string upper(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

} // namespace

std::string_view to_string(config_type type) {
    switch (type) {
    case config_type::boolean: return "boolean";
    case config_type::string: return "string";
    case config_type::int32: return "int";
    case config_type::int16: return "short";
    case config_type::int64: return "long";
    case config_type::float64: return "double";
    case config_type::list: return "list";
    case config_type::password: return "password";
    }
    return "unknown";
}

std::string_view trim(std::string_view text) {
    constexpr std::string_view space = " \t\r\n\f";
    size_t first = text.find_first_not_of(space);
    if (first == std::string_view::npos) {
        return {};
    }
    size_t last = text.find_last_not_of(space);
    return text.substr(first, last - first + 1);
}

parsed<config_value> parse_value(config_type type, std::string_view raw) {
    std::string_view text = trim(raw);
    switch (type) {
    case config_type::boolean:
        if (equals_ignoring_case(text, "true")) {
            return parsed<config_value>::success(true);
        }
        if (equals_ignoring_case(text, "false")) {
            return parsed<config_value>::success(false);
        }
        return parsed<config_value>::failure("expected true or false");
    case config_type::int16:
        return parse_integer(text, std::numeric_limits<int16_t>::min(), std::numeric_limits<int16_t>::max(), "short");
    case config_type::int32:
        return parse_integer(text, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), "int");
    case config_type::int64:
        return parse_integer(text, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), "long");
    case config_type::float64:
        return parse_double(text);
    case config_type::string:
    case config_type::password:
        return parsed<config_value>::success(std::string(text));
    case config_type::list:
        return parse_list(text);
    }
    return parsed<config_value>::failure("unknown type");
}

std::optional<std::string> format_value(const config_value& value) {
    struct visitor {
        std::optional<std::string> operator()(std::monostate) const { return std::nullopt; }
        std::optional<std::string> operator()(bool b) const { return b ? "true" : "false"; }
        std::optional<std::string> operator()(int64_t n) const { return std::to_string(n); }
        std::optional<std::string> operator()(double d) const { return fmt::format("{}", d); }
        std::optional<std::string> operator()(const std::string& s) const { return s; }
        std::optional<std::string> operator()(const string_list& items) const {
            return fmt::format("{}", fmt::join(items, ","));
        }
    };
    return std::visit(visitor{}, value);
}

parsed<host_port> parse_host_port(std::string_view text) {
    std::string_view host;
    std::string_view rest;
    if (!text.empty() && text.front() == '[') {
        size_t close = text.find(']');
        if (close == std::string_view::npos) {
            return parsed<host_port>::failure("missing ']' after an IPv6 address");
        }
        host = text.substr(1, close - 1);
        rest = text.substr(close + 1);
        // An IPv6 address, perhaps with a zone after '%' (fe80::1%eth0).
        std::string_view address = host.substr(0, host.find('%'));
        std::string_view zone = address.size() < host.size() ? host.substr(address.size() + 1) : std::string_view("-");
        if (address.empty() || address.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos ||
            zone.empty() || !std::all_of(zone.begin(), zone.end(), is_host_char)) {
            return parsed<host_port>::failure(fmt::format("bad IPv6 address '{}'", host));
        }
    } else {
        size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return parsed<host_port>::failure("expected host:port");
        }
        host = text.substr(0, colon);
        rest = text.substr(colon);
        if (host.find(':') != std::string_view::npos) {
            return parsed<host_port>::failure("an IPv6 address needs brackets: [::1]:9092");
        }
        if (!std::all_of(host.begin(), host.end(), is_host_char)) {
            return parsed<host_port>::failure(fmt::format("bad host name '{}'", host));
        }
    }
    if (rest.empty() || rest.front() != ':') {
        return parsed<host_port>::failure("expected ':' and a port after the host");
    }
    parsed<uint16_t> port = parse_port(rest.substr(1));
    if (!port.ok()) {
        return parsed<host_port>::failure(port.error);
    }
    return parsed<host_port>::success(host_port{std::string(host), *port.value});
}

parsed<listener> parse_listener(std::string_view text) {
    size_t scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos) {
        return parsed<listener>::failure(fmt::format("listener '{}' is not NAME://host:port", text));
    }
    std::string_view name = text.substr(0, scheme_end);
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_name_char)) {
        return parsed<listener>::failure(fmt::format("bad listener name '{}' (letters, digits, '_')", name));
    }
    parsed<host_port> address = parse_host_port(text.substr(scheme_end + 3));
    if (!address.ok()) {
        return parsed<listener>::failure(fmt::format("listener '{}': {}", text, address.error));
    }
    return parsed<listener>::success(listener{upper(name), std::move(address.value->host), address.value->port});
}

parsed<std::vector<listener>> parse_listeners(const string_list& items) {
    std::vector<listener> out;
    for (const std::string& item : items) {
        parsed<listener> one = parse_listener(item);
        if (!one.ok()) {
            return parsed<std::vector<listener>>::failure(one.error);
        }
        bool same_name = std::any_of(out.begin(), out.end(), [&](const listener& l) { return l.name == one.value->name; });
        if (same_name) {
            return parsed<std::vector<listener>>::failure(fmt::format("listener name {} appears twice", one.value->name));
        }
        // As in Kafka, two listeners may share a port only when one is IPv4 and the other IPv6.
        bool is_v6 = one.value->host.find(':') != std::string::npos;
        bool same_port = one.value->port != 0 && std::any_of(out.begin(), out.end(), [&](const listener& l) {
            return l.port == one.value->port && (l.host.find(':') != std::string::npos) == is_v6;
        });
        if (same_port) {
            return parsed<std::vector<listener>>::failure(fmt::format("two listeners use port {}", one.value->port));
        }
        out.push_back(std::move(*one.value));
    }
    return parsed<std::vector<listener>>::success(std::move(out));
}

parsed<quorum_voter> parse_quorum_voter(std::string_view text) {
    size_t at = text.find('@');
    if (at == std::string_view::npos) {
        return parsed<quorum_voter>::failure(fmt::format("voter '{}' is not id@host:port", text));
    }
    parsed<config_value> id = parse_integer(text.substr(0, at), 0, std::numeric_limits<int32_t>::max(), "node id");
    if (!id.ok()) {
        return parsed<quorum_voter>::failure(fmt::format("voter '{}': {}", text, id.error));
    }
    parsed<host_port> address = parse_host_port(text.substr(at + 1));
    if (!address.ok()) {
        return parsed<quorum_voter>::failure(fmt::format("voter '{}': {}", text, address.error));
    }
    if (address.value->host.empty() || address.value->port == 0) {
        return parsed<quorum_voter>::failure(fmt::format("voter '{}' needs a host and a non-zero port", text));
    }
    auto node = static_cast<int32_t>(std::get<int64_t>(*id.value));
    return parsed<quorum_voter>::success(quorum_voter{node, std::move(address.value->host), address.value->port});
}

parsed<listener_protocol> parse_listener_protocol(std::string_view text) {
    size_t colon = text.find(':');
    if (colon == std::string_view::npos) {
        return parsed<listener_protocol>::failure(fmt::format("'{}' is not LISTENER_NAME:PROTOCOL", text));
    }
    std::string name = upper(trim(text.substr(0, colon)));
    std::string protocol = upper(trim(text.substr(colon + 1)));
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_name_char)) {
        return parsed<listener_protocol>::failure(fmt::format("bad listener name in '{}'", text));
    }
    if (std::find(std::begin(security_protocols), std::end(security_protocols), protocol) == std::end(security_protocols)) {
        return parsed<listener_protocol>::failure(fmt::format(
            "unknown security protocol '{}' (expected one of {})", protocol, fmt::join(security_protocols, ", ")));
    }
    return parsed<listener_protocol>::success(listener_protocol{std::move(name), std::move(protocol)});
}

} // namespace runnel::broker
