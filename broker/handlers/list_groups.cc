// ListGroups (v0-v5): every group this broker coordinates, filtered by state
// (v4+, case-insensitive as Kafka) and type (v5+; all groups here are
// "classic").
#include <algorithm>
#include <cctype>

#include "broker/group/coordinator.h"
#include "broker/handlers/handlers.h"

namespace runnel::broker {

namespace {

constexpr std::string_view classic_group_type = "classic";

bool same_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool matches(const std::vector<std::string>& filter, std::string_view value) {
    return filter.empty() ||
           std::any_of(filter.begin(), filter.end(), [&](const std::string& f) { return same_ignoring_case(f, value); });
}

} // namespace

asio::awaitable<proto::list_groups_response> handle_list_groups(request_context& ctx,
                                                                proto::list_groups_request& request) {
    proto::list_groups_response response;
    if (ctx.broker->groups == nullptr) {
        co_return response;
    }
    list_groups_outcome outcome = co_await ctx.broker->groups->list_groups();
    response.error_code = proto::code(outcome.error);
    const std::vector<std::string> no_filter;
    const auto& states = ctx.api_version >= 4 ? request.states_filter : no_filter;
    const auto& types = ctx.api_version >= 5 ? request.types_filter : no_filter;
    for (const auto& g : outcome.groups) {
        if (!matches(states, to_string(g.state)) || !matches(types, classic_group_type)) {
            continue;
        }
        proto::list_groups_response::listed_group out;
        out.group_id = g.group_id;
        out.protocol_type = g.protocol_type;
        out.group_state = std::string(to_string(g.state));
        out.group_type = std::string(classic_group_type);
        response.groups.push_back(std::move(out));
    }
    co_return response;
}

} // namespace runnel::broker
