// JoinGroup (v0-v9): a member joins (or rejoins) a group and waits until the
// rebalance completes; the leader's answer lists every member's metadata.
// From v4 a new member first gets MEMBER_ID_REQUIRED and its id (KIP-394);
// v5 brings static members (KIP-345), v9 skip_assignment (KIP-814).
#include "broker/group/coordinator.h"
#include "broker/group/request_support.h"
#include "broker/handlers/handlers.h"

namespace runnel::broker {

asio::awaitable<proto::join_group_response> handle_join_group(request_context& ctx,
                                                              proto::join_group_request& request) {
    proto::join_group_response response;
    join_result result;
    result.member_id = request.member_id;
    if (request.group_id.empty()) {
        result.error = proto::error_code::invalid_group_id;
    } else if (ctx.broker->groups == nullptr) {
        result.error = proto::error_code::coordinator_not_available;
    } else {
        join_request join;
        join.member_id = request.member_id;
        join.group_instance_id = request.group_instance_id;
        join.client_id = ctx.client_id.value_or("");
        join.client_host = client_host(ctx);
        join.session_timeout_ms = request.session_timeout_ms;
        // v0 has no rebalance timeout: the session timeout stands in.
        join.rebalance_timeout_ms = ctx.api_version >= 1 ? request.rebalance_timeout_ms : request.session_timeout_ms;
        join.protocol_type = request.protocol_type;
        for (auto& p : request.protocols) {
            join.protocols.push_back(join_protocol{std::move(p.name), std::move(p.metadata)});
        }
        join.require_known_member_id = ctx.api_version >= 4;
        join.supports_skip_assignment = ctx.api_version >= 9;
        ctx.park(); // answered when the rebalance gets there
        result = co_await ctx.broker->groups->join_group(request.group_id, std::move(join));
    }
    response.error_code = proto::code(result.error);
    response.generation_id = result.error == proto::error_code::none ? result.generation : -1;
    response.protocol_type = result.protocol_type;
    // Before v7 the protocol name cannot be null.
    response.protocol_name =
        ctx.api_version >= 7 ? result.protocol_name : std::optional<std::string>(result.protocol_name.value_or(""));
    response.leader = result.leader;
    response.skip_assignment = result.skip_assignment;
    response.member_id = result.member_id;
    for (auto& m : result.members) {
        proto::join_group_response::join_group_response_member out;
        out.member_id = std::move(m.member_id);
        out.group_instance_id = std::move(m.group_instance_id);
        out.metadata = std::move(m.metadata);
        response.members.push_back(std::move(out));
    }
    co_return response;
}

} // namespace runnel::broker
