// OffsetCommit (v0-v9): a group member (its generation checked) or a simple
// consumer (generation -1, allowed while the group has no members) stores
// offsets; they are records of __consumer_offsets before the answer.
#include "broker/group/coordinator.h"
#include "broker/handlers/handlers.h"

namespace runnel::broker {

namespace {

bool partition_exists(const metadata_image& image, const std::string& topic, int32_t index) {
    const topic_image* t = image.find_topic(topic);
    return t != nullptr && index >= 0 && static_cast<size_t>(index) < t->partitions.size();
}

} // namespace

asio::awaitable<proto::offset_commit_response> handle_offset_commit(request_context& ctx,
                                                                    proto::offset_commit_request& request) {
    const int16_t version = ctx.api_version;
    auto image = ctx.broker->metadata->current();
    offset_commit_request commit;
    if (version >= 1) {
        commit.member_id = request.member_id;
        commit.generation = request.generation_id_or_member_epoch;
    }
    commit.group_instance_id = request.group_instance_id;
    commit.retention_ms = version >= 2 && version <= 4 ? request.retention_time_ms : -1;
    commit.group_id_not_found_when_unknown = version >= 9;
    // Answers in request order; unknown partitions are answered without
    // asking the coordinator, as Kafka does.
    std::vector<std::vector<proto::error_code>> errors(request.topics.size());
    std::vector<std::pair<size_t, size_t>> asked; // (topic, partition) of each commit
    for (size_t t = 0; t < request.topics.size(); ++t) {
        const auto& topic = request.topics[t];
        errors[t].assign(topic.partitions.size(), proto::error_code::none);
        for (size_t p = 0; p < topic.partitions.size(); ++p) {
            const auto& part = topic.partitions[p];
            if (!partition_exists(*image, topic.name, part.partition_index)) {
                errors[t][p] = proto::error_code::unknown_topic_or_partition;
                continue;
            }
            offset_to_commit c;
            c.topic = topic.name;
            c.partition = part.partition_index;
            c.offset = part.committed_offset;
            c.leader_epoch = version >= 6 ? part.committed_leader_epoch : -1;
            c.metadata = part.committed_metadata;
            c.commit_timestamp = version == 1 ? part.commit_timestamp : -1;
            commit.offsets.push_back(std::move(c));
            asked.emplace_back(t, p);
        }
    }
    if (!commit.offsets.empty()) {
        std::vector<proto::error_code> results;
        if (ctx.broker->groups == nullptr) {
            results.assign(commit.offsets.size(), proto::error_code::coordinator_not_available);
        } else {
            results = co_await ctx.broker->groups->commit_offsets(request.group_id, std::move(commit));
        }
        for (size_t i = 0; i < asked.size() && i < results.size(); ++i) {
            errors[asked[i].first][asked[i].second] = results[i];
        }
    }
    proto::offset_commit_response response;
    for (size_t t = 0; t < request.topics.size(); ++t) {
        proto::offset_commit_response::offset_commit_response_topic rt;
        rt.name = request.topics[t].name;
        for (size_t p = 0; p < request.topics[t].partitions.size(); ++p) {
            rt.partitions.push_back({request.topics[t].partitions[p].partition_index, proto::code(errors[t][p]), {}});
        }
        response.topics.push_back(std::move(rt));
    }
    co_return response;
}

} // namespace runnel::broker
