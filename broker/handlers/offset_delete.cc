// OffsetDelete (v0): removes committed offsets of a group, except those of
// topics its members still subscribe to (GROUP_SUBSCRIBED_TO_TOPIC).
#include "broker/group/coordinator.h"
#include "broker/handlers/handlers.h"

namespace runnel::broker {

asio::awaitable<proto::offset_delete_response> handle_offset_delete(request_context& ctx,
                                                                    proto::offset_delete_request& request) {
    proto::offset_delete_response response;
    auto image = ctx.broker->metadata->current();
    std::vector<topic_partition_key> asked;
    std::vector<std::vector<proto::error_code>> errors(request.topics.size());
    for (size_t t = 0; t < request.topics.size(); ++t) {
        const auto& topic = request.topics[t];
        const topic_image* known = image->find_topic(topic.name);
        for (const auto& p : topic.partitions) {
            const bool exists =
                known != nullptr && p.partition_index >= 0 && static_cast<size_t>(p.partition_index) < known->partitions.size();
            errors[t].push_back(exists ? proto::error_code::none : proto::error_code::unknown_topic_or_partition);
            if (exists) {
                asked.push_back(topic_partition_key{topic.name, p.partition_index});
            }
        }
    }
    offset_delete_outcome outcome;
    if (request.group_id.empty()) {
        outcome.error = proto::error_code::invalid_group_id;
    } else if (ctx.broker->groups == nullptr) {
        outcome.error = proto::error_code::coordinator_not_available;
    } else {
        outcome = co_await ctx.broker->groups->delete_offsets(request.group_id, asked);
    }
    response.error_code = proto::code(outcome.error);
    if (outcome.error != proto::error_code::none) {
        co_return response;
    }
    size_t next = 0;
    for (size_t t = 0; t < request.topics.size(); ++t) {
        proto::offset_delete_response::offset_delete_response_topic rt;
        rt.name = request.topics[t].name;
        for (size_t p = 0; p < request.topics[t].partitions.size(); ++p) {
            proto::error_code e = errors[t][p];
            if (e == proto::error_code::none && next < outcome.partitions.size()) {
                e = outcome.partitions[next++];
            }
            rt.partitions.push_back({request.topics[t].partitions[p].partition_index, proto::code(e), {}});
        }
        response.topics.push_back(std::move(rt));
    }
    co_return response;
}

} // namespace runnel::broker
