// Heartbeat (v0-v4): keeps a member's session alive and tells it when the
// group rebalances (REBALANCE_IN_PROGRESS).
#include "broker/group/coordinator.h"
#include "broker/handlers/handlers.h"

namespace runnel::broker {

asio::awaitable<proto::heartbeat_response> handle_heartbeat(request_context& ctx, proto::heartbeat_request& request) {
    proto::heartbeat_response response;
    if (request.group_id.empty()) {
        response.error_code = proto::code(proto::error_code::invalid_group_id);
    } else if (ctx.broker->groups == nullptr) {
        response.error_code = proto::code(proto::error_code::coordinator_not_available);
    } else {
        response.error_code = proto::code(co_await ctx.broker->groups->heartbeat(
            request.group_id, request.member_id, request.group_instance_id, request.generation_id));
    }
    co_return response;
}

} // namespace runnel::broker
