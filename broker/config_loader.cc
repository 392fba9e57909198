// Loading a broker configuration: file entries and overrides are typed and
// validated key by key, then the rules that tie keys together (node.id and
// broker.id, roles and voters, listeners and their protocols) are checked.
// Every problem is collected, so one run reports all of them.
#include <algorithm>
#include <cassert>
#include <cctype>
#include <map>

#include <fmt/format.h>

#include "broker/config.h"
#include "broker/properties_file.h"

namespace runnel::broker {

namespace {

// Security protocols the network server implements today; a listener mapped to
// another one is refused rather than served in plain text.
constexpr std::string_view supported_security_protocols[] = {"PLAINTEXT"};

std::string upper_case(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}
} // namespace

class config_loader {
public:
    config_loader() : registry_(broker_config_registry()) {}

    void apply_file(const std::vector<property>& entries, std::string_view file_name) {
        std::map<std::string, size_t, std::less<>> seen; // key -> line
        for (const property& entry : entries) {
            std::string where = fmt::format("{}:{}", file_name, entry.line);
            auto [it, is_new] = seen.emplace(entry.key, entry.line);
            if (!is_new) {
                warnings_.push_back(fmt::format("{} is set twice in {} (lines {} and {}); the later value is used",
                                                entry.key, file_name, it->second, entry.line));
                it->second = entry.line;
            }
            set(entry.key, entry.value, value_source::config_file, where);
        }
    }

    void apply_overrides(std::span<const std::string> overrides) {
        for (const std::string& text : overrides) {
            size_t equals = text.find('=');
            std::string_view key = equals == std::string::npos ? std::string_view{} : trim(std::string_view(text).substr(0, equals));
            if (key.empty()) {
                errors_.push_back(config_error{"--override", text, "expected key=value"});
                continue;
            }
            set(key, std::string_view(text).substr(equals + 1), value_source::override_flag, "--override");
        }
    }

    config_load_result finish() && {
        // Key-by-key errors are all reported together; the rules between keys
        // run only on valid values, and stop at the first step that fails so
        // that one mistake is not reported again by every rule that follows.
        using step = void (config_loader::*)();
        for (step s : {&config_loader::resolve_node_id, &config_loader::derive_roles_and_quorum,
                       &config_loader::derive_listeners, &config_loader::check_inter_broker_listener,
                       &config_loader::check_controller_setup, &config_loader::derive_log_dirs,
                       &config_loader::check_topic_defaults}) {
            if (!errors_.empty()) {
                break;
            }
            (this->*s)();
        }
        config_load_result result;
        result.warnings = std::move(warnings_);
        result.errors = std::move(errors_);
        if (result.errors.empty()) {
            result.config = std::move(config_);
        }
        return result;
    }

    void error(std::string_view key, std::string_view value, std::string message) {
        errors_.push_back(config_error{std::string(key), std::string(value), std::move(message)});
    }

private:
    config_entry& entry(std::string_view key) {
        std::optional<size_t> index = registry_.index_of(key);
        assert(index.has_value());
        return config_.entries_[*index];
    }

    std::string text_of(std::string_view key) { return format_value(entry(key).value).value_or(""); }

    void set(std::string_view key, std::string_view text, value_source source, std::string_view where) {
        std::optional<size_t> index = registry_.index_of(key);
        if (!index) {
            std::optional<std::string_view> hint = registry_.nearest(key);
            warnings_.push_back(fmt::format("unknown config key '{}' ({}) is ignored{}", key, where,
                                            hint ? fmt::format("; did you mean '{}'?", *hint) : ""));
            return;
        }
        const config_definition& definition = registry_.all()[*index];
        // A password is never echoed back, not even in an error.
        std::string shown = definition.type == config_type::password ? "[hidden]" : std::string(trim(text));
        parsed<config_value> value = parse_value(definition.type, text);
        if (!value.ok()) {
            error(key, shown, fmt::format("{} ({})", value.error, where));
            return;
        }
        if (definition.check) {
            if (std::optional<std::string> why = definition.check(*value.value)) {
                error(key, shown, fmt::format("{} ({})", *why, where));
                return;
            }
        }
        config_.entries_[*index] = config_entry{&definition, std::move(*value.value), source};
    }

    // node.id and its older name broker.id: either may be given; both must agree.
    void resolve_node_id() {
        config_entry& node = entry("node.id");
        config_entry& broker = entry("broker.id");
        bool broker_given = broker.source != value_source::default_value && std::get<int64_t>(broker.value) != -1;
        if (broker_given && node.source == value_source::default_value) {
            node.value = broker.value;
            node.source = broker.source;
        } else if (broker_given && broker.value != node.value) {
            error("broker.id", text_of("broker.id"), fmt::format("must equal node.id ({})", text_of("node.id")));
        }
        broker.value = node.value;
    }

    void derive_roles_and_quorum() {
        for (const std::string& role : std::get<string_list>(entry("process.roles").value)) {
            (role == "broker" ? config_.roles_.broker : config_.roles_.controller) = true;
        }
        for (const std::string& text : std::get<string_list>(entry("controller.quorum.voters").value)) {
            config_.voters_.push_back(*parse_quorum_voter(text).value); // validated in set()
        }
        const config_value& names = entry("controller.listener.names").value;
        if (const auto* list = std::get_if<string_list>(&names)) {
            for (const std::string& name : *list) {
                config_.controller_listener_names_.push_back(upper_case(name));
            }
        }
        for (const std::string& text : std::get<string_list>(entry("listener.security.protocol.map").value)) {
            config_.protocol_map_.push_back(*parse_listener_protocol(text).value);
        }
    }

    bool is_controller_listener(std::string_view name) const {
        const string_list& names = config_.controller_listener_names_;
        return std::find(names.begin(), names.end(), name) != names.end();
    }

    void derive_listeners() {
        config_.listeners_ = *parse_listeners(std::get<string_list>(entry("listeners").value)).value;
        for (const listener& l : config_.listeners_) {
            std::optional<std::string> protocol = config_.security_protocol(l.name);
            if (!protocol) {
                error("listeners", text_of("listeners"),
                      fmt::format("listener {} has no entry in listener.security.protocol.map", l.name));
            } else if (std::find(std::begin(supported_security_protocols), std::end(supported_security_protocols),
                                 *protocol) == std::end(supported_security_protocols)) {
                error("listeners", text_of("listeners"),
                      fmt::format("listener {} uses {}, which Runnel does not support yet", l.name, *protocol));
            }
        }
        const config_value& advertised = entry("advertised.listeners").value;
        if (std::holds_alternative<std::monostate>(advertised)) {
            for (const listener& l : config_.listeners_) {
                if (!is_controller_listener(l.name)) {
                    config_.advertised_listeners_.push_back(l);
                }
            }
            return;
        }
        config_.advertised_listeners_ = *parse_listeners(std::get<string_list>(advertised)).value;
        for (const listener& l : config_.advertised_listeners_) {
            bool listened = std::any_of(config_.listeners_.begin(), config_.listeners_.end(),
                                        [&](const listener& x) { return x.name == l.name; });
            if (!listened) {
                error("advertised.listeners", text_of("advertised.listeners"),
                      fmt::format("{} is not one of the names in listeners", l.name));
            }
            if (l.host == "0.0.0.0" || l.host == "::") {
                error("advertised.listeners", text_of("advertised.listeners"),
                      fmt::format("{} advertises {}, which clients cannot connect to", l.name, l.host));
            }
        }
    }

    void check_inter_broker_listener() {
        const config_entry& by_name = entry("inter.broker.listener.name");
        const config_entry& by_protocol = entry("security.inter.broker.protocol");
        if (!std::holds_alternative<std::monostate>(by_name.value) && by_protocol.source != value_source::default_value) {
            error("inter.broker.listener.name", text_of("inter.broker.listener.name"),
                  "set either this or security.inter.broker.protocol, not both");
            return;
        }
        // Listener names are compared upper-cased, as Kafka normalises them.
        std::string name = upper_case(std::holds_alternative<std::monostate>(by_name.value)
                                          ? std::get<std::string>(by_protocol.value)
                                          : std::get<std::string>(by_name.value));
        config_.inter_broker_listener_name_ = name;
        if (!config_.roles_.broker) {
            return;
        }
        const auto& advertised = config_.advertised_listeners_;
        bool found = std::any_of(advertised.begin(), advertised.end(), [&](const listener& l) { return l.name == name; });
        if (!found || is_controller_listener(name)) {
            std::string_view key = std::holds_alternative<std::monostate>(by_name.value) ? "security.inter.broker.protocol"
                                                                                          : "inter.broker.listener.name";
            error(key, name, "brokers talk to each other on this listener, but no advertised (non-controller) listener "
                             "has that name");
        }
    }

    // KRaft's rules, relaxed in one place: a combined node that is the only
    // voter (or has no voters set) needs no controller listener, as no other
    // node ever connects to its quorum.
    void check_controller_setup() {
        const auto& voters = config_.voters_;
        auto self = static_cast<int32_t>(std::get<int64_t>(entry("node.id").value)); // at least 0, validated
        bool self_voter = std::any_of(voters.begin(), voters.end(), [&](const quorum_voter& v) { return v.id == self; });
        std::string voters_text = text_of("controller.quorum.voters");
        if (config_.roles_.controller) {
            if (!voters.empty() && !self_voter) {
                error("controller.quorum.voters", voters_text, fmt::format("does not include this node (node.id {})", self));
            }
            bool alone = voters.size() <= 1;
            if (!alone && !has_listener_for_controller()) {
                error("controller.listener.names", text_of("controller.listener.names"),
                      "a controller in a multi-voter quorum needs one of these names in listeners");
            }
            return;
        }
        if (voters.empty()) {
            error("controller.quorum.voters", voters_text, "a broker-only node needs the controllers' addresses");
        } else if (self_voter) {
            error("controller.quorum.voters", voters_text,
                  fmt::format("includes this node (node.id {}), but process.roles has no controller", self));
        }
        if (config_.controller_listener_names_.empty()) {
            error("controller.listener.names", "", "a broker-only node needs the name of the controllers' listener");
        } else if (has_listener_for_controller()) {
            error("listeners", text_of("listeners"), "a broker-only node must not listen on a controller listener");
        }
    }

    bool has_listener_for_controller() const {
        return std::any_of(config_.listeners_.begin(), config_.listeners_.end(),
                           [&](const listener& l) { return is_controller_listener(l.name); });
    }

    void derive_log_dirs() {
        const config_value& dirs = entry("log.dirs").value;
        config_.log_dirs_ = std::holds_alternative<std::monostate>(dirs) ? std::get<string_list>(entry("log.dir").value)
                                                                          : std::get<string_list>(dirs);
    }

    // A broker value can be valid for its own key and still make an invalid
    // topic default (log.roll.ms=0 gives segment.ms=0); name the broker key.
    void check_topic_defaults() {
        for (const topic_config_definition& topic : registry_.all_topic()) {
            if (!topic.check) {
                continue;
            }
            topic_config_default derived = config_.topic_default(topic.name);
            if (std::optional<std::string> why = topic.check(derived.value)) {
                std::string_view key = derived.from ? derived.from->definition->name : topic.name;
                error(key, format_value(derived.from ? derived.from->value : derived.value).value_or(""),
                      fmt::format("makes the topic default {} = {}, which {}", topic.name,
                                  format_value(derived.value).value_or("null"), *why));
            }
        }
    }

    const config_registry& registry_;
    broker_config config_;
    std::vector<config_error> errors_;
    std::vector<std::string> warnings_;
};

config_load_result broker_config::parse(std::string_view file_text, std::string_view file_name,
                                        std::span<const std::string> overrides) {
    config_loader loader;
    parsed<std::vector<property>> entries = parse_properties(file_text);
    if (!entries.ok()) {
        loader.error("--config", file_name, entries.error);
    } else {
        loader.apply_file(*entries.value, file_name);
    }
    loader.apply_overrides(overrides);
    return std::move(loader).finish();
}

config_load_result broker_config::load(const std::optional<std::filesystem::path>& file,
                                       std::span<const std::string> overrides) {
    config_loader loader;
    if (file) {
        parsed<std::vector<property>> entries = read_properties_file(*file);
        if (!entries.ok()) {
            loader.error("--config", file->string(), entries.error);
        } else {
            loader.apply_file(*entries.value, file->string());
        }
    }
    loader.apply_overrides(overrides);
    return std::move(loader).finish();
}

} // namespace runnel::broker
