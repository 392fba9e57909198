// FindCoordinator (v0-v6): the broker that coordinates a group, one key per
// request before v4 and a batch of keys from v4 (KIP-699). The first lookup
// creates __consumer_offsets. There is no transaction coordinator yet.
#include "broker/group/coordinator.h"
#include "broker/handlers/handlers.h"

namespace runnel::broker {

namespace {

constexpr int8_t key_type_group = 0;
constexpr int8_t key_type_transaction = 1;

asio::awaitable<coordinator_lookup> look_up(request_context& ctx, int8_t key_type, const std::string& key) {
    coordinator_lookup out;
    if (key_type == key_type_group) {
        if (ctx.broker->groups == nullptr) {
            out.error = proto::error_code::coordinator_not_available;
            co_return out;
        }
        co_return co_await ctx.broker->groups->find_coordinator(key);
    }
    if (key_type == key_type_transaction) {
        out.error = proto::error_code::coordinator_not_available;
        out.message = "this broker has no transaction coordinator yet";
        co_return out;
    }
    out.error = proto::error_code::invalid_request;
    out.message = "unknown coordinator key type " + std::to_string(key_type);
    co_return out;
}

} // namespace

asio::awaitable<proto::find_coordinator_response> handle_find_coordinator(request_context& ctx,
                                                                          proto::find_coordinator_request& request) {
    proto::find_coordinator_response response;
    const int8_t key_type = ctx.api_version >= 1 ? request.key_type : key_type_group;
    if (ctx.api_version < 4) {
        coordinator_lookup found = co_await look_up(ctx, key_type, request.key);
        response.error_code = proto::code(found.error);
        response.error_message = found.error == proto::error_code::none ? std::nullopt : found.message;
        response.node_id = found.error == proto::error_code::none ? found.node_id : -1;
        response.host = found.error == proto::error_code::none ? found.host : "";
        response.port = found.error == proto::error_code::none ? found.port : -1;
        co_return response;
    }
    for (const std::string& key : request.coordinator_keys) {
        coordinator_lookup found = co_await look_up(ctx, key_type, key);
        proto::find_coordinator_response::coordinator c;
        c.key = key;
        c.error_code = proto::code(found.error);
        c.error_message = found.error == proto::error_code::none ? std::nullopt : found.message;
        c.node_id = found.error == proto::error_code::none ? found.node_id : -1;
        c.host = found.error == proto::error_code::none ? found.host : "";
        c.port = found.error == proto::error_code::none ? found.port : -1;
        response.coordinators.push_back(std::move(c));
    }
    co_return response;
}

} // namespace runnel::broker
