// AlterConfigs: replaces all dynamic values of each topic or broker
// resource with the ones given (the legacy, non-incremental form).
#include <set>

#include "broker/controller.h"
#include "broker/handlers/handlers.h"
#include "protocol/errors.h"

namespace runnel::broker {

asio::awaitable<proto::alter_configs_response> handle_alter_configs(request_context& ctx,
                                                                    proto::alter_configs_request& request) {
    proto::alter_configs_response response;
    std::vector<config_alteration> alterations;
    std::vector<size_t> positions;
    std::set<std::pair<int8_t, std::string>> seen;
    for (const auto& resource : request.resources) {
        proto::alter_configs_response::alter_configs_resource_response out;
        out.resource_type = resource.resource_type;
        out.resource_name = resource.resource_name;
        out.error_message = std::nullopt;
        if (!seen.insert({resource.resource_type, resource.resource_name}).second) {
            out.error_code = proto::code(proto::error_code::invalid_request);
            out.error_message = "The request lists this resource more than once.";
            response.responses.push_back(std::move(out));
            continue;
        }
        config_alteration a;
        a.type = static_cast<config_resource_type>(resource.resource_type);
        a.name = resource.resource_name;
        a.replace_all = true;
        for (const auto& c : resource.configs) {
            a.changes.push_back({c.name, config_operation::set, c.value});
        }
        positions.push_back(response.responses.size());
        response.responses.push_back(std::move(out));
        alterations.push_back(std::move(a));
    }
    if (alterations.empty()) {
        co_return response;
    }
    auto results = co_await ctx.broker->controller->alter_configs(std::move(alterations), request.validate_only);
    for (size_t i = 0; i < results.size(); ++i) {
        auto& out = response.responses[positions[i]];
        out.error_code = proto::code(results[i].code);
        out.error_message = results[i].message;
    }
    co_return response;
}

} // namespace runnel::broker
