// CreateTopics: turns the request into the controller's terms (defaults as
// -1, explicit assignments, overrides), rejects names listed twice, and
// reports each topic's outcome; v5+ also its partition count, replication
// factor and every config it now has.
#include <map>
#include <variant>

#include <fmt/format.h>

#include "broker/controller.h"
#include "broker/handlers/handlers.h"
#include "broker/topic_config.h"
#include "protocol/errors.h"

namespace runnel::broker {

namespace {

using response_topic = proto::create_topics_response::creatable_topic_result;

// The topic as the controller takes it, or the error that stops it here.
std::variant<new_topic, admin_error> to_new_topic(const proto::create_topics_request::creatable_topic& t) {
    new_topic out;
    out.name = t.name;
    out.num_partitions = t.num_partitions;
    out.replication_factor = t.replication_factor;
    for (const auto& a : t.assignments) {
        if (!out.assignments.emplace(a.partition_index, a.broker_ids).second) {
            return admin_error{proto::error_code::invalid_replica_assignment,
                               fmt::format("Partition {} is assigned twice.", a.partition_index)};
        }
    }
    for (const auto& c : t.configs) {
        out.configs.emplace_back(c.name, c.value);
    }
    return out;
}

void add_configs(response_topic& out, const config_view& view, const config_map& overrides) {
    out.configs.emplace();
    for (const described_config& d : describe_topic_configs(view, overrides)) {
        proto::create_topics_response::creatable_topic_configs c;
        c.name = d.name;
        c.value = d.value;
        c.read_only = d.read_only;
        c.config_source = static_cast<int8_t>(d.source);
        c.is_sensitive = d.sensitive;
        out.configs->push_back(std::move(c));
    }
}

response_topic failed(std::string name, const admin_error& error) {
    response_topic out;
    out.name = std::move(name);
    out.error_code = proto::code(error.code);
    out.error_message = error.message;
    out.num_partitions = -1;
    out.replication_factor = -1;
    return out;
}

} // namespace

asio::awaitable<proto::create_topics_response> handle_create_topics(request_context& ctx,
                                                                    proto::create_topics_request& request) {
    std::map<std::string, int> listed;
    for (const auto& t : request.topics) {
        ++listed[t.name];
    }
    proto::create_topics_response response;
    std::vector<new_topic> topics;
    for (const auto& t : request.topics) {
        int& count = listed[t.name];
        if (count == -1) {
            continue; // answered already
        }
        if (count > 1) {
            response.topics.push_back(failed(t.name, {proto::error_code::invalid_request,
                                                      fmt::format("The request lists topic '{}' more than once.",
                                                                  t.name)}));
            count = -1;
            continue;
        }
        auto converted = to_new_topic(t);
        if (auto* error = std::get_if<admin_error>(&converted)) {
            response.topics.push_back(failed(t.name, *error));
            continue;
        }
        topics.push_back(std::move(std::get<new_topic>(converted)));
    }
    if (topics.empty()) {
        co_return response;
    }
    std::map<std::string, config_map> overrides;
    for (const auto& t : topics) {
        for (const auto& [key, value] : t.configs) {
            if (value) {
                overrides[t.name][key] = *value;
            }
        }
    }
    auto results = co_await ctx.broker->controller->create_topics(std::move(topics), request.validate_only);
    auto image = ctx.broker->metadata->current();
    const config_view view(*ctx.broker->config, *image, ctx.broker->node_id);
    for (auto& r : results) {
        if (!r.error.ok()) {
            response.topics.push_back(failed(r.name, r.error));
            continue;
        }
        response_topic out;
        out.name = r.name;
        out.topic_id = r.topic_id;
        out.error_message = std::nullopt;
        out.num_partitions = r.num_partitions;
        out.replication_factor = r.replication_factor;
        if (ctx.api_version >= 5) {
            add_configs(out, view, overrides[r.name]);
        }
        response.topics.push_back(std::move(out));
    }
    co_return response;
}

} // namespace runnel::broker
