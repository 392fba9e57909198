// DescribeConfigs: a topic's configs (its overrides, then the broker values
// they default to) or a broker's (every key for this broker; the keys set
// cluster-wide for the empty name), with sources, synonyms, types and
// documentation as the request version and flags ask.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "broker/config.h"
#include "broker/controller.h"
#include "broker/handlers/handlers.h"
#include "broker/topic_config.h"
#include "broker/topic_name.h"
#include "protocol/errors.h"

namespace runnel::broker {

namespace {

using result_type = proto::describe_configs_response::describe_configs_result;
using entry_type = proto::describe_configs_response::describe_configs_resource_result;

entry_type to_entry(const described_config& d, const proto::describe_configs_request& request, int16_t version) {
    entry_type out;
    out.name = d.name;
    out.value = d.value;
    out.read_only = d.read_only;
    out.is_default = d.source == kafka_config_source::default_config;
    out.config_source = static_cast<int8_t>(d.source);
    out.is_sensitive = d.sensitive;
    if (version >= 1 && request.include_synonyms) {
        for (const config_synonym& s : d.synonyms) {
            out.synonyms.push_back({s.name, s.value, static_cast<int8_t>(s.source), {}});
        }
    }
    out.config_type = static_cast<int8_t>(d.type);
    out.documentation = std::nullopt;
    if (version >= 3 && request.include_documentation) {
        out.documentation = std::string(d.documentation);
    }
    return out;
}

result_type error_result(const proto::describe_configs_request::describe_configs_resource& resource,
                         proto::error_code code, std::string message) {
    result_type out;
    out.error_code = proto::code(code);
    out.error_message = std::move(message);
    out.resource_type = resource.resource_type;
    out.resource_name = resource.resource_name;
    return out;
}

} // namespace

asio::awaitable<proto::describe_configs_response> handle_describe_configs(request_context& ctx,
                                                                        proto::describe_configs_request& request) {
    auto image = ctx.broker->metadata->current();
    const config_view view(*ctx.broker->config, *image, ctx.broker->node_id);
    const std::string own_id = std::to_string(ctx.broker->node_id);
    proto::describe_configs_response response;
    for (const auto& resource : request.resources) {
        std::vector<described_config> configs;
        const auto type = static_cast<config_resource_type>(resource.resource_type);
        if (type == config_resource_type::topic) {
            if (!is_valid_topic_name(resource.resource_name)) {
                response.results.push_back(error_result(resource, proto::error_code::invalid_topic_exception,
                                                        fmt::format("'{}' is not a valid topic name",
                                                                    resource.resource_name)));
                continue;
            }
            const topic_image* topic = image->find_topic(resource.resource_name);
            if (topic == nullptr) {
                response.results.push_back(error_result(resource, proto::error_code::unknown_topic_or_partition,
                                                        fmt::format("The topic '{}' does not exist.",
                                                                    resource.resource_name)));
                continue;
            }
            configs = describe_topic_configs(view, topic->configs);
        } else if (type == config_resource_type::broker) {
            if (!resource.resource_name.empty() && resource.resource_name != own_id) {
                response.results.push_back(
                    error_result(resource, proto::error_code::invalid_request,
                                 fmt::format("Unexpected broker id, expected {} or empty string, but received {}",
                                             own_id, resource.resource_name)));
                continue;
            }
            configs = describe_broker_configs(view, *image, !resource.resource_name.empty());
        } else {
            response.results.push_back(
                error_result(resource, proto::error_code::invalid_request,
                             fmt::format("Configs of resource type {} cannot be described; topics (2) and brokers "
                                         "(4) can.",
                                         resource.resource_type)));
            continue;
        }
        result_type out;
        out.error_message = std::nullopt;
        out.resource_type = resource.resource_type;
        out.resource_name = resource.resource_name;
        std::optional<std::set<std::string>> wanted;
        if (resource.configuration_keys) {
            wanted.emplace(resource.configuration_keys->begin(), resource.configuration_keys->end());
        }
        for (const described_config& d : configs) {
            if (!wanted || wanted->contains(d.name)) {
                out.configs.push_back(to_entry(d, request, ctx.api_version));
            }
        }
        response.results.push_back(std::move(out));
    }
    co_return response;
}

} // namespace runnel::broker
