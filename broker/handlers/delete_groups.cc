// DeleteGroups (v0-v2): removes groups without members, with their offsets
// (tombstones in __consumer_offsets). NON_EMPTY_GROUP while members remain.
#include "broker/group/coordinator.h"
#include "broker/handlers/handlers.h"

namespace runnel::broker {

asio::awaitable<proto::delete_groups_response> handle_delete_groups(request_context& ctx,
                                                                    proto::delete_groups_request& request) {
    proto::delete_groups_response response;
    for (const std::string& id : request.groups_names) {
        proto::delete_groups_response::deletable_group_result r;
        r.group_id = id;
        if (ctx.broker->groups == nullptr) {
            r.error_code = proto::code(proto::error_code::coordinator_not_available);
        } else {
            r.error_code = proto::code(co_await ctx.broker->groups->delete_group(id));
        }
        response.results.push_back(std::move(r));
    }
    co_return response;
}

} // namespace runnel::broker
