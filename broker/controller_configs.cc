// Controller operations on configs: AlterConfigs (replace a resource's
// dynamic values) and IncrementalAlterConfigs (SET, DELETE, APPEND,
// SUBTRACT), for topics and brokers, persisted as config records.
#include <algorithm>
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "broker/config.h"
#include "broker/controller.h"
#include "broker/logging.h"
#include "broker/shards.h"
#include "broker/topic_config.h"

namespace runnel::broker {

namespace {

using proto::error_code;

admin_error fail(error_code code, std::string message) { return admin_error{code, std::move(message)}; }

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        size_t comma = text.find(',');
        std::string_view item = trim(text.substr(0, comma));
        if (!item.empty()) {
            out.emplace_back(item);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        text.remove_prefix(comma + 1);
    }
    return out;
}

std::string join_list(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        out += out.empty() ? "" : ",";
        out += item;
    }
    return out;
}

// What a key of the resource is: its type, and whether it may be set here.
struct key_info {
    config_type type = config_type::string;
    std::optional<std::string> refusal; // why this key cannot be set on this resource
    error_code refusal_code = error_code::invalid_config;
};

std::optional<key_info> topic_key(std::string_view name) {
    const topic_config_definition* d = broker_config_registry().find_topic(name);
    if (d == nullptr) {
        return std::nullopt;
    }
    return key_info{d->type, std::nullopt};
}

std::optional<key_info> broker_key(std::string_view name, bool per_broker) {
    const config_definition* d = broker_config_registry().find(name);
    if (d == nullptr) {
        return std::nullopt;
    }
    key_info info{d->type, std::nullopt, error_code::invalid_request};
    if (d->mode == update_mode::read_only) {
        info.refusal = fmt::format("{} cannot be changed without a restart (it is read-only)", name);
    } else if (d->mode == update_mode::per_broker && !per_broker) {
        info.refusal = fmt::format("{} can be set only for one broker, not as a cluster-wide default", name);
    }
    return info;
}

// Checks a value as the key's type and validator.
std::optional<std::string> check_value(std::string_view name, bool topic, std::string_view value,
                                       const broker_config& config) {
    if (topic) {
        if (auto e = config.validate_topic_config(name, value)) {
            return to_string(*e);
        }
        return std::nullopt;
    }
    const config_definition* d = broker_config_registry().find(name);
    parsed<config_value> typed = parse_value(d->type, value);
    if (!typed.ok()) {
        return fmt::format("invalid value '{}' for {}: {}", value, name, typed.error);
    }
    if (d->check) {
        if (auto why = d->check(*typed.value)) {
            return fmt::format("invalid value '{}' for {}: {}", value, name, *why);
        }
    }
    return std::nullopt;
}

std::optional<int32_t> parse_broker_id(std::string_view text) {
    int32_t id = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size() || id < 0) {
        return std::nullopt;
    }
    return id;
}

} // namespace

admin_error controller::plan_alteration(const config_alteration& alteration, const metadata_image& image,
                                        std::vector<metadata_record>& records) {
    const bool topic = alteration.type == config_resource_type::topic;
    const config_map* current = nullptr;
    static const config_map none;
    int8_t record_type = config_resource_topic;
    bool per_broker = false;
    if (topic) {
        const topic_image* t = image.find_topic(alteration.name);
        if (t == nullptr) {
            return fail(error_code::unknown_topic_or_partition,
                        fmt::format("The topic '{}' does not exist.", alteration.name));
        }
        current = &t->configs;
    } else if (alteration.type == config_resource_type::broker) {
        record_type = config_resource_broker;
        if (alteration.name.empty()) {
            current = &image.cluster_broker_configs;
        } else if (auto id = parse_broker_id(alteration.name)) {
            per_broker = true;
            const config_map* c = image.dynamic_broker_configs(*id);
            current = c == nullptr ? &none : c;
        } else {
            return fail(error_code::invalid_request,
                        fmt::format("A broker id must be an integer, not '{}'.", alteration.name));
        }
    } else {
        return fail(error_code::invalid_request,
                    fmt::format("Configs of resource type {} cannot be altered; topics (2) and brokers (4) can.",
                                static_cast<int>(alteration.type)));
    }

    // The resource's dynamic values after the changes.
    config_map next = alteration.replace_all ? config_map{} : *current;
    const config_view view(config_, image, options_.node_id);
    std::set<std::string> seen;
    for (const config_change& change : alteration.changes) {
        if (!seen.insert(change.name).second) {
            return fail(error_code::invalid_request, fmt::format("Config {} is listed twice.", change.name));
        }
        std::optional<key_info> info = topic ? topic_key(change.name) : broker_key(change.name, per_broker);
        if (!info) {
            return fail(error_code::invalid_config,
                        fmt::format("Unknown {} config {}.", topic ? "topic" : "broker", change.name));
        }
        if (info->refusal) {
            return fail(info->refusal_code, *info->refusal);
        }
        const bool list_type = info->type == config_type::list;
        switch (change.operation) {
        case config_operation::set:
            if (!change.value) {
                return fail(error_code::invalid_request, fmt::format("Null value not supported for {}.", change.name));
            }
            next[change.name] = *change.value;
            break;
        case config_operation::remove:
            next.erase(change.name);
            break;
        case config_operation::append:
        case config_operation::subtract: {
            if (!list_type) {
                return fail(error_code::invalid_request,
                            fmt::format("{} is not a list: values cannot be appended or subtracted.", change.name));
            }
            if (!change.value) {
                return fail(error_code::invalid_request, fmt::format("Null value not supported for {}.", change.name));
            }
            // The list starts from the resource's value, else the default.
            std::vector<std::string> items;
            if (auto it = next.find(change.name); it != next.end()) {
                items = split_list(it->second);
            } else {
                const config_value base = topic ? view.topic_value(change.name, config_map{})
                                                 : view.broker_value(change.name);
                items = split_list(config_text(base).value_or(""));
            }
            for (const std::string& item : split_list(*change.value)) {
                auto at = std::find(items.begin(), items.end(), item);
                if (change.operation == config_operation::append && at == items.end()) {
                    items.push_back(item);
                } else if (change.operation == config_operation::subtract && at != items.end()) {
                    items.erase(at);
                }
            }
            next[change.name] = join_list(items);
            break;
        }
        default:
            return fail(error_code::invalid_request,
                        fmt::format("Unknown config operation {} for {}.", static_cast<int>(change.operation),
                                    change.name));
        }
        if (auto it = next.find(change.name); it != next.end()) {
            if (auto why = check_value(change.name, topic, it->second, config_)) {
                return fail(error_code::invalid_config, *why);
            }
        }
    }
    // One record per key whose value changes.
    auto record = [&](const std::string& key, std::optional<std::string> value) {
        proto::config_record r;
        r.resource_type = record_type;
        r.resource_name = alteration.name;
        r.name = key;
        r.value = std::move(value);
        records.emplace_back(std::move(r));
    };
    for (const auto& [key, value] : *current) {
        if (!next.contains(key)) {
            record(key, std::nullopt);
        }
    }
    for (const auto& [key, value] : next) {
        auto it = current->find(key);
        if (it == current->end() || it->second != value) {
            record(key, value);
        }
    }
    return {};
}

asio::awaitable<std::vector<admin_error>> controller::alter_configs(std::vector<config_alteration> alterations,
                                                                    bool validate_only) {
    // Built outside the co_await expression: g++ 12 destroys a lambda temporary
    // of a co_await operand twice (GCC PR 100611), releasing its captures twice.
    auto work = run_on(shards_.executor(controller_shard),
                       [this, alterations = std::move(alterations), validate_only]() mutable {
                           return do_alter_configs(std::move(alterations), validate_only);
                       });
    co_return co_await std::move(work);
}

asio::awaitable<std::vector<admin_error>> controller::do_alter_configs(std::vector<config_alteration> alterations,
                                                                       bool validate_only) {
    auto guard = co_await lock();
    auto image = cache_.current();
    std::vector<admin_error> results;
    std::vector<metadata_record> records;
    for (const config_alteration& alteration : alterations) {
        std::vector<metadata_record> planned;
        admin_error e = plan_alteration(alteration, *image, planned);
        if (e.ok() && !validate_only) {
            records.insert(records.end(), std::make_move_iterator(planned.begin()),
                           std::make_move_iterator(planned.end()));
        }
        results.push_back(std::move(e));
    }
    if (!records.empty()) {
        admin_error committed = co_await commit(std::move(records));
        for (auto& r : results) {
            if (r.ok() && !committed.ok()) {
                r = committed;
            }
        }
        if (committed.ok()) {
            apply_logger_level();
        }
    }
    co_return results;
}

// logger.level is the one dynamic broker key outside the partitions that
// takes effect at once.
void controller::apply_logger_level() {
    auto image = cache_.current();
    const config_view view(config_, *image, options_.node_id);
    const auto& level = std::get<std::string>(view.broker_value("logger.level"));
    if (!set_log_level(level)) {
        get_logger("controller")->warn("logger.level '{}' is not a level", level);
    }
}

} // namespace runnel::broker
