// OffsetForLeaderEpoch (v0-v4): the end offset of the largest leader epoch
// at or below the one asked for, from the partition's leader-epoch cache;
// how consumers (KIP-320) and followers detect a diverged log.
#include "broker/fan_out.h"
#include "broker/handlers/handlers.h"
#include "protocol/errors.h"

namespace runnel::broker {

namespace {

using proto::error_code;
using partition_answer = proto::offset_for_leader_epoch_response::epoch_end_offset;

struct epoch_item {
    std::string topic;
    int32_t index = 0;
    int32_t current_leader_epoch = -1;
    int32_t leader_epoch = -1;
    partition_answer answer;
};

void answer_one(epoch_item& item, partition* p) {
    partition_answer& a = item.answer;
    a.partition = item.index;
    if (p == nullptr) {
        a.error_code = proto::code(error_code::unknown_topic_or_partition);
        return;
    }
    const int32_t epoch = p->leader_epoch().value();
    if (item.current_leader_epoch >= 0 && item.current_leader_epoch != epoch) {
        a.error_code = proto::code(item.current_leader_epoch < epoch ? error_code::fenced_leader_epoch
                                                                     : error_code::unknown_leader_epoch);
        return;
    }
    const storage::epoch_end_offset r = p->log().epochs().end_offset_for(item.leader_epoch, p->log().log_end_offset());
    a.leader_epoch = r.epoch;
    a.end_offset = r.end_offset;
}

} // namespace

asio::awaitable<proto::offset_for_leader_epoch_response> handle_offset_for_leader_epoch(
    request_context& ctx, proto::offset_for_leader_epoch_request& request) {
    std::vector<epoch_item> items;
    for (const auto& t : request.topics) {
        for (const auto& p : t.partitions) {
            items.push_back(epoch_item{t.topic, p.partition, p.current_leader_epoch, p.leader_epoch, {}});
        }
    }
    co_await for_each_partition(ctx, items, [](epoch_item& item, partition* p) { answer_one(item, p); });
    proto::offset_for_leader_epoch_response response;
    size_t next = 0;
    for (const auto& t : request.topics) {
        proto::offset_for_leader_epoch_response::offset_for_leader_topic_result tr;
        tr.topic = t.topic;
        for (size_t i = 0; i < t.partitions.size(); ++i) {
            tr.partitions.push_back(std::move(items[next++].answer));
        }
        response.topics.push_back(std::move(tr));
    }
    co_return response;
}

} // namespace runnel::broker
