// `runnelctl topic alter-config`: one IncrementalAlterConfigs request (KIP-339),
// sent with the project's own codecs because librdkafka 2.0 has no API for it.
// Topic configs may be altered through any broker (Kafka forwards them to the
// controller), so the first bootstrap server that answers gets the request.
#include <iostream>

#include "protocol/errors.h"
#include "protocol/messages/incremental_alter_configs.h"
#include "tools/runnelctl/commands.h"
#include "tools/runnelctl/wire_client.h"

namespace runnel::ctl {
namespace {

constexpr int8_t topic_resource_type = 2; // Kafka's ConfigResource.Type.TOPIC

proto::incremental_alter_configs_request make_request(const topic_alter_config_command& cmd) {
    proto::incremental_alter_configs_request request;
    request.validate_only = cmd.validate_only;
    auto& resource = request.resources.emplace_back();
    resource.resource_type = topic_resource_type;
    resource.resource_name = cmd.topic;
    for (const auto& change : cmd.changes) {
        auto& config = resource.configs.emplace_back();
        config.name = change.name;
        config.config_operation = static_cast<int8_t>(change.operation);
        if (change.operation == config_operation::remove) {
            config.value.reset();
        } else {
            config.value = change.value;
        }
    }
    return request;
}

std::string describe_changes(const topic_alter_config_command& cmd) {
    std::string out;
    for (const auto& c : cmd.changes) {
        out += "\t";
        switch (c.operation) {
        case config_operation::set: out += "set " + c.name + "=" + c.value; break;
        case config_operation::remove: out += "deleted " + c.name; break;
        case config_operation::append: out += "appended " + c.value + " to " + c.name; break;
        case config_operation::subtract: out += "subtracted " + c.value + " from " + c.name; break;
        }
        out += "\n";
    }
    return out;
}

// Sends the request and decodes the answer; nullopt and *error on failure.
std::optional<proto::incremental_alter_configs_response> alter(const global_options& global,
                                                               const topic_alter_config_command& cmd,
                                                               std::string* error) {
    using request_t = proto::incremental_alter_configs_request;
    deadline until(global.timeout_ms);
    auto servers = parse_bootstrap_servers(global.bootstrap_server, error);
    if (!servers) {
        return std::nullopt;
    }
    auto connection = wire_connection::open(*servers, until, error);
    if (!connection) {
        *error = "cannot reach a bootstrap server: " + *error;
        return std::nullopt;
    }
    auto version = connection->pick_version(request_t::api_key, request_t::min_version, request_t::max_version);
    if (!version) {
        *error = "UNSUPPORTED_VERSION: the broker does not support IncrementalAlterConfigs";
        return std::nullopt;
    }
    proto::writer body;
    make_request(cmd).encode(body, *version);
    const bool flexible = *version >= request_t::first_flexible_version;
    auto answer = connection->round_trip(request_t::api_key, *version, flexible, body.buffer(), until, error);
    if (!answer) {
        return std::nullopt;
    }
    proto::reader r(*answer);
    proto::incremental_alter_configs_response response;
    response.decode(r, *version);
    if (!r.ok()) {
        *error = "cannot decode the IncrementalAlterConfigs answer: " + std::string(proto::to_string(r.error()));
        return std::nullopt;
    }
    return response;
}

} // namespace

int run_topic_alter_config(const global_options& global, const topic_alter_config_command& cmd) {
    std::string error;
    auto response = alter(global, cmd, &error);
    if (!response) {
        print_error("topic alter-config " + cmd.topic + ": " + error);
        return exit_failure;
    }
    if (response->responses.size() != 1 || response->responses[0].resource_name != cmd.topic) {
        print_error("topic alter-config " + cmd.topic + ": the broker answered for other resources");
        return exit_failure;
    }
    const auto& result = response->responses[0];
    if (result.error_code != 0) {
        std::string text(proto::error_name(result.error_code));
        if (result.error_message && !result.error_message->empty()) {
            text += ": " + *result.error_message;
        }
        print_error("topic alter-config " + cmd.topic + ": " + text);
        return exit_failure;
    }
    std::cout << (cmd.validate_only ? "Validated" : "Altered") << " configs of topic " << cmd.topic << ":\n"
              << describe_changes(cmd);
    return exit_ok;
}

} // namespace runnel::ctl
