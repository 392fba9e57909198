// LeaveGroup (v0-v5): one member leaves (v0-v2), or a batch of members by
// member id or, for static members, by instance id (v3+, KIP-345).
#include "broker/group/coordinator.h"
#include "broker/handlers/handlers.h"

namespace runnel::broker {

asio::awaitable<proto::leave_group_response> handle_leave_group(request_context& ctx,
                                                                proto::leave_group_request& request) {
    std::vector<member_identity> members;
    if (ctx.api_version < 3) {
        members.push_back(member_identity{request.member_id, std::nullopt});
    } else {
        for (const auto& m : request.members) {
            members.push_back(member_identity{m.member_id, m.group_instance_id});
        }
    }
    leave_outcome outcome;
    if (request.group_id.empty()) {
        outcome.error = proto::error_code::invalid_group_id;
    } else if (ctx.broker->groups == nullptr) {
        outcome.error = proto::error_code::coordinator_not_available;
    } else {
        outcome = co_await ctx.broker->groups->leave_group(request.group_id, members);
    }
    proto::leave_group_response response;
    response.error_code = proto::code(outcome.error);
    if (ctx.api_version < 3) {
        if (outcome.error == proto::error_code::none && !outcome.members.empty()) {
            response.error_code = proto::code(outcome.members.front());
        }
        co_return response;
    }
    for (size_t i = 0; i < outcome.members.size() && i < members.size(); ++i) {
        proto::leave_group_response::member_response r;
        r.member_id = members[i].member_id;
        r.group_instance_id = members[i].group_instance_id;
        r.error_code = proto::code(outcome.members[i]);
        response.members.push_back(std::move(r));
    }
    co_return response;
}

} // namespace runnel::broker
