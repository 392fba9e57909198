// Reading a loaded broker configuration: typed access, per-topic defaults,
// and the command line that says which file and overrides to load.
#include "broker/config.h"

#include <algorithm>
#include <cassert>
#include <sstream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

namespace runnel::broker {

std::string to_string(const config_error& error) {
    if (error.key.starts_with("--")) {
        return fmt::format("{} '{}': {}", error.key, error.value, error.message);
    }
    return fmt::format("invalid value '{}' for {}: {}", error.value, error.key, error.message);
}

std::string_view to_string(value_source source) {
    switch (source) {
    case value_source::default_value: return "default";
    case value_source::config_file: return "config file";
    case value_source::override_flag: return "--override";
    }
    return "unknown";
}

kafka_config_source to_kafka_source(value_source source) {
    return source == value_source::default_value ? kafka_config_source::default_config
                                                 : kafka_config_source::static_broker_config;
}

broker_config::broker_config() {
    const config_registry& registry = broker_config_registry();
    entries_.reserve(registry.all().size());
    for (const config_definition& definition : registry.all()) {
        entries_.push_back(config_entry{&definition, definition.default_value, value_source::default_value});
    }
}

broker_config broker_config::defaults() {
    config_load_result result = load(std::nullopt, {});
    // The defaults are checked when the registry is built, so they always load.
    assert(result.config.has_value() && result.errors.empty());
    return std::move(*result.config);
}

const config_entry& broker_config::entry(std::string_view key) const {
    std::optional<size_t> index = broker_config_registry().index_of(key);
    if (!index) {
        fmt::print(stderr, "broker_config: no config key named '{}'\n", key);
    }
    assert(index.has_value() && "no such config key");
    return entries_[*index];
}

const config_entry& broker_config::checked_entry(std::string_view key, std::initializer_list<config_type> types) const {
    const config_entry& e = entry(key);
    bool type_matches = std::find(types.begin(), types.end(), e.definition->type) != types.end();
    if (!type_matches) {
        fmt::print(stderr, "broker_config: {} is a {}, not read that way\n", key, to_string(e.definition->type));
    }
    assert(type_matches && "config key read with the wrong type");
    return e;
}

bool broker_config::is_null(std::string_view key) const {
    return std::holds_alternative<std::monostate>(entry(key).value);
}

bool broker_config::get_bool(std::string_view key) const {
    return std::get<bool>(checked_entry(key, {config_type::boolean}).value);
}

int32_t broker_config::get_int32(std::string_view key) const {
    // The type's range was checked when the value was parsed.
    return static_cast<int32_t>(std::get<int64_t>(checked_entry(key, {config_type::int32, config_type::int16}).value));
}

int64_t broker_config::get_int64(std::string_view key) const {
    return std::get<int64_t>(
        checked_entry(key, {config_type::int64, config_type::int32, config_type::int16}).value);
}

double broker_config::get_double(std::string_view key) const {
    return std::get<double>(checked_entry(key, {config_type::float64}).value);
}

const std::string& broker_config::get_string(std::string_view key) const {
    return std::get<std::string>(checked_entry(key, {config_type::string, config_type::password}).value);
}

const string_list& broker_config::get_list(std::string_view key) const {
    return std::get<string_list>(checked_entry(key, {config_type::list}).value);
}

std::optional<int64_t> broker_config::get_optional_int64(std::string_view key) const {
    const config_entry& e = checked_entry(key, {config_type::int64, config_type::int32, config_type::int16});
    if (std::holds_alternative<std::monostate>(e.value)) {
        return std::nullopt;
    }
    return std::get<int64_t>(e.value);
}

std::optional<std::string> broker_config::get_optional_string(std::string_view key) const {
    const config_entry& e = checked_entry(key, {config_type::string, config_type::password});
    if (std::holds_alternative<std::monostate>(e.value)) {
        return std::nullopt;
    }
    return std::get<std::string>(e.value);
}

std::optional<std::string> broker_config::display_value(std::string_view key) const {
    const config_entry& e = entry(key);
    if (e.definition->type == config_type::password) {
        return std::nullopt;
    }
    return format_value(e.value);
}

topic_config_default broker_config::topic_default(std::string_view topic_key) const {
    const config_registry& registry = broker_config_registry();
    const topic_config_definition* topic = registry.find_topic(topic_key);
    assert(topic != nullptr && "no such topic config key");
    resolved_topic_value resolved =
        resolve_topic_value(registry, *topic, [this](size_t i) -> const config_value& { return entries_[i].value; });
    const config_entry* from = resolved.broker_index ? &entries_[*resolved.broker_index] : nullptr;
    return topic_config_default{topic, std::move(resolved.value), from};
}

std::vector<topic_config_default> broker_config::topic_defaults() const {
    std::vector<topic_config_default> out;
    for (const topic_config_definition& topic : broker_config_registry().all_topic()) {
        out.push_back(topic_default(topic.name));
    }
    return out;
}

std::optional<config_error> broker_config::validate_topic_config(std::string_view key, std::string_view value) const {
    const topic_config_definition* topic = broker_config_registry().find_topic(key);
    if (topic == nullptr) {
        return config_error{std::string(key), std::string(value), "unknown topic config"};
    }
    parsed<config_value> typed = parse_value(topic->type, value);
    if (!typed.ok()) {
        return config_error{std::string(key), std::string(value), typed.error};
    }
    if (topic->check) {
        if (std::optional<std::string> why = topic->check(*typed.value)) {
            return config_error{std::string(key), std::string(value), *why};
        }
    }
    return std::nullopt;
}

std::optional<std::string> broker_config::cluster_id() const {
    const std::string& id = get_string("cluster.id");
    return id.empty() ? std::nullopt : std::optional<std::string>(id);
}

std::optional<std::string> broker_config::security_protocol(std::string_view listener_name) const {
    for (const listener_protocol& entry : protocol_map_) {
        if (entry.listener_name == listener_name) {
            return entry.protocol;
        }
    }
    bool is_controller = std::find(controller_listener_names_.begin(), controller_listener_names_.end(),
                                   listener_name) != controller_listener_names_.end();
    if (is_controller && entry("listener.security.protocol.map").source == value_source::default_value) {
        return std::string("PLAINTEXT"); // Kafka's leniency for an unmapped controller listener
    }
    return std::nullopt;
}

std::optional<host_port> broker_config::admin_listener() const {
    const std::string& text = get_string("admin.listener");
    if (text.empty()) {
        return std::nullopt;
    }
    parsed<host_port> address = parse_host_port(text);
    assert(address.ok()); // validated at load
    return std::move(*address.value);
}

std::filesystem::path broker_config::metadata_log_dir() const {
    std::optional<std::string> dir = get_optional_string("metadata.log.dir");
    assert(!log_dirs_.empty());
    return dir ? std::filesystem::path(*dir) : std::filesystem::path(log_dirs_.front());
}

int64_t broker_config::log_roll_ms() const { return std::get<int64_t>(topic_default("segment.ms").value); }
int64_t broker_config::log_roll_jitter_ms() const { return std::get<int64_t>(topic_default("segment.jitter.ms").value); }
int64_t broker_config::log_retention_ms() const { return std::get<int64_t>(topic_default("retention.ms").value); }
int64_t broker_config::log_flush_interval_ms() const { return std::get<int64_t>(topic_default("flush.ms").value); }

std::string format_all_entries(const broker_config& config) {
    std::string out;
    for (const config_entry& e : config.all_entries()) {
        std::string_view name = e.definition->name;
        std::string_view source = to_string(e.source);
        if (e.definition->type == config_type::password) {
            out += fmt::format("{}=[hidden]  # {}\n", name, source);
        } else if (std::optional<std::string> text = format_value(e.value)) {
            out += fmt::format("{}={}  # {}\n", name, *text, source);
        } else {
            out += fmt::format("{}=  # {}, not set\n", name, source);
        }
    }
    return out;
}

parsed<command_line> parse_command_line(int argc, const char* const argv[]) {
    namespace po = boost::program_options;
    po::options_description options("Usage: runnel [--config FILE] [--override key=value]...\nOptions");
    options.add_options()
        ("help,h", "print this help and exit")
        ("config,c", po::value<std::string>(), "a Kafka-style server.properties file (may also be given without the flag)")
        ("override,o", po::value<std::vector<std::string>>()->composing(),
         "key=value, applied after the file in the order given")
        ("print-config", "print every config key with its value and where it came from, then exit");
    po::positional_options_description positional;
    positional.add("config", 1);
    command_line out;
    std::ostringstream usage;
    usage << options;
    out.usage = usage.str();
    try {
        po::variables_map values;
        po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(), values);
        po::notify(values);
        out.help = values.count("help") > 0;
        out.print_config = values.count("print-config") > 0;
        if (values.count("config")) {
            out.config_file = values["config"].as<std::string>();
        }
        if (values.count("override")) {
            out.overrides = values["override"].as<std::vector<std::string>>();
        }
    } catch (const po::error& e) {
        return parsed<command_line>::failure(e.what());
    }
    return parsed<command_line>::success(std::move(out));
}

} // namespace runnel::broker
