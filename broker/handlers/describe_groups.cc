// DescribeGroups (v0-v5): state, protocol and members of each group; member
// metadata and assignments only while the group is Stable. A group that does
// not exist is described as Dead, as Kafka does.
#include "broker/group/coordinator.h"
#include "broker/group/request_support.h"
#include "broker/handlers/handlers.h"

namespace runnel::broker {

asio::awaitable<proto::describe_groups_response> handle_describe_groups(request_context& ctx,
                                                                        proto::describe_groups_request& request) {
    proto::describe_groups_response response;
    const bool operations = ctx.api_version >= 3 && request.include_authorized_operations;
    for (const std::string& id : request.groups) {
        describe_outcome outcome;
        if (ctx.broker->groups == nullptr) {
            outcome.error = proto::error_code::coordinator_not_available;
        } else {
            outcome = co_await ctx.broker->groups->describe_group(id);
        }
        proto::describe_groups_response::described_group g;
        g.group_id = id;
        g.error_code = proto::code(outcome.error);
        g.authorized_operations = operations ? group_operations_all : authorized_operations_omitted;
        if (outcome.error == proto::error_code::none) {
            g.group_state = std::string(to_string(outcome.summary.state));
            g.protocol_type = outcome.summary.protocol_type;
            g.protocol_data = outcome.summary.protocol;
            for (auto& m : outcome.summary.members) {
                proto::describe_groups_response::described_group_member dm;
                dm.member_id = std::move(m.member_id);
                dm.group_instance_id = std::move(m.group_instance_id);
                dm.client_id = std::move(m.client_id);
                dm.client_host = std::move(m.client_host);
                dm.member_metadata = std::move(m.metadata);
                dm.member_assignment = std::move(m.assignment);
                g.members.push_back(std::move(dm));
            }
        }
        response.groups.push_back(std::move(g));
    }
    co_return response;
}

} // namespace runnel::broker
