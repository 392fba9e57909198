// SyncGroup (v0-v5): the leader hands in the assignment it computed; every
// member waits for its own share. v5 checks the protocol type and name.
#include "broker/group/coordinator.h"
#include "broker/handlers/handlers.h"

namespace runnel::broker {

asio::awaitable<proto::sync_group_response> handle_sync_group(request_context& ctx,
                                                              proto::sync_group_request& request) {
    sync_result result;
    if (request.group_id.empty()) {
        result.error = proto::error_code::invalid_group_id;
    } else if (ctx.broker->groups == nullptr) {
        result.error = proto::error_code::coordinator_not_available;
    } else {
        sync_request sync;
        sync.member_id = request.member_id;
        sync.group_instance_id = request.group_instance_id;
        sync.generation = request.generation_id;
        sync.protocol_type = request.protocol_type;
        sync.protocol_name = request.protocol_name;
        for (auto& a : request.assignments) {
            sync.assignments.emplace_back(std::move(a.member_id), std::move(a.assignment));
        }
        ctx.park(); // answered when the rebalance gets there
        result = co_await ctx.broker->groups->sync_group(request.group_id, std::move(sync));
    }
    proto::sync_group_response response;
    response.error_code = proto::code(result.error);
    response.protocol_type = result.protocol_type;
    response.protocol_name = result.protocol_name;
    response.assignment = std::move(result.assignment);
    co_return response;
}

} // namespace runnel::broker
