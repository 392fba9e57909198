// OffsetFetch (v0-v9): a group's committed offsets, for the partitions asked
// or (v2+, topics null) for all; v8+ asks for many groups at once. Offsets
// never committed answer -1. There are no transactions, so require_stable
// (v7+) never finds an unstable offset.
#include <map>

#include "broker/group/coordinator.h"
#include "broker/handlers/handlers.h"

namespace runnel::broker {

namespace {

using topic_list = std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>;

template <typename Topics>
topic_list to_topic_list(const std::optional<std::vector<Topics>>& topics) {
    if (!topics) {
        return std::nullopt;
    }
    std::vector<std::pair<std::string, std::vector<int32_t>>> out;
    for (const auto& t : *topics) {
        out.emplace_back(t.name, t.partition_indexes);
    }
    return out;
}

asio::awaitable<offset_fetch_outcome> fetch(request_context& ctx, const std::string& group_id, topic_list topics) {
    if (ctx.broker->groups == nullptr) {
        offset_fetch_outcome out;
        out.error = proto::error_code::coordinator_not_available;
        co_return out;
    }
    co_return co_await ctx.broker->groups->fetch_offsets(group_id, std::move(topics));
}

// The offsets grouped by topic, topics in the order they first appear.
template <typename TopicOut>
std::vector<TopicOut> by_topic(const std::vector<fetched_offset>& offsets, int16_t partition_error) {
    std::vector<TopicOut> out;
    std::map<std::string, size_t> where;
    for (const auto& f : offsets) {
        auto [it, inserted] = where.try_emplace(f.topic, out.size());
        if (inserted) {
            out.emplace_back();
            out.back().name = f.topic;
        }
        typename decltype(TopicOut::partitions)::value_type p;
        p.partition_index = f.partition;
        p.committed_offset = f.offset;
        p.committed_leader_epoch = f.leader_epoch;
        p.metadata = f.metadata;
        p.error_code = partition_error;
        out[it->second].partitions.push_back(std::move(p));
    }
    return out;
}

} // namespace

asio::awaitable<proto::offset_fetch_response> handle_offset_fetch(request_context& ctx,
                                                                  proto::offset_fetch_request& request) {
    proto::offset_fetch_response response;
    if (ctx.api_version >= 8) {
        for (const auto& g : request.groups) {
            offset_fetch_outcome outcome = co_await fetch(ctx, g.group_id, to_topic_list(g.topics));
            proto::offset_fetch_response::offset_fetch_response_group rg;
            rg.group_id = g.group_id;
            rg.error_code = proto::code(outcome.error);
            if (outcome.error == proto::error_code::none) {
                rg.topics = by_topic<proto::offset_fetch_response::offset_fetch_response_topics>(outcome.offsets, 0);
            }
            response.groups.push_back(std::move(rg));
        }
        co_return response;
    }
    topic_list topics = to_topic_list(request.topics);
    if (ctx.api_version < 2 && !topics) {
        topics.emplace(); // null only means "all" from v2
    }
    offset_fetch_outcome outcome = co_await fetch(ctx, request.group_id, topics);
    if (outcome.error == proto::error_code::none) {
        response.topics = by_topic<proto::offset_fetch_response::offset_fetch_response_topic>(outcome.offsets, 0);
        co_return response;
    }
    if (ctx.api_version >= 2) {
        response.error_code = proto::code(outcome.error); // and no partitions
        co_return response;
    }
    // v0-v1 have no top-level error: every partition asked carries it.
    std::vector<fetched_offset> failed;
    for (const auto& [topic, indexes] : topics.value_or(std::vector<std::pair<std::string, std::vector<int32_t>>>{})) {
        for (int32_t index : indexes) {
            failed.push_back(fetched_offset{topic, index, -1, -1, ""});
        }
    }
    response.topics =
        by_topic<proto::offset_fetch_response::offset_fetch_response_topic>(failed, proto::code(outcome.error));
    co_return response;
}

} // namespace runnel::broker
