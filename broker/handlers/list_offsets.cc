// ListOffsets (v0-v10): the earliest, latest or max-timestamp offset of each
// partition, or the first offset at or after a timestamp, with the leader
// epoch of that offset (v4+), answered on the partition's shard.
#include <algorithm>

#include "broker/fan_out.h"
#include "broker/handlers/handlers.h"
#include "protocol/errors.h"

namespace runnel::broker {

namespace {

using proto::error_code;
using partition_answer = proto::list_offsets_response::list_offsets_partition_response;

// Kafka's special timestamps.
constexpr int64_t latest = -1;
constexpr int64_t earliest = -2;
constexpr int64_t max_timestamp = -3;
constexpr int64_t earliest_local = -4;          // KIP-405: the local log start (no tiering here)
constexpr int64_t latest_tiered = -5;           // KIP-1005: nothing is tiered
constexpr int64_t earliest_pending_upload = -6; // KIP-1023
constexpr int8_t read_committed = 1;

struct offsets_item {
    std::string topic;
    int32_t index = 0;
    proto::list_offsets_request::list_offsets_partition request;
    partition_answer answer;
};

// The epoch of the leader that wrote `offset`: the last epoch that starts at
// or before it.
int32_t epoch_of(storage::partition_log& log, int64_t offset) {
    int32_t epoch = -1;
    for (const auto& e : log.epochs().entries()) {
        if (e.start_offset <= offset) {
            epoch = e.epoch;
        }
    }
    return epoch;
}

void answer_one(offsets_item& item, partition* p, bool committed, bool from_replica, int16_t version) {
    partition_answer& a = item.answer;
    a.partition_index = item.index;
    if (p == nullptr) {
        a.error_code = proto::code(error_code::unknown_topic_or_partition);
        return;
    }
    const int32_t epoch = p->leader_epoch().value();
    const int32_t wanted_epoch = item.request.current_leader_epoch;
    if (wanted_epoch >= 0 && wanted_epoch != epoch) {
        a.error_code = proto::code(wanted_epoch < epoch ? error_code::fenced_leader_epoch
                                                        : error_code::unknown_leader_epoch);
        return;
    }
    storage::partition_log& log = p->log();
    // Consumers see up to the high watermark (the LSO for read_committed, the
    // same while there are no transactions); replicas up to the log end.
    const int64_t visible_end = from_replica ? log.log_end_offset() : p->high_watermark().value();
    (void)committed; // the last stable offset is the high watermark without transactions
    const int64_t ts = item.request.timestamp;
    int64_t found_offset = -1;
    int64_t found_timestamp = -1;
    if (ts == latest) {
        found_offset = visible_end;
    } else if (ts == earliest || ts == earliest_local) {
        found_offset = log.log_start_offset();
    } else if (ts == latest_tiered || ts == earliest_pending_upload) {
        // Nothing is in remote storage: no offset.
    } else {
        auto r = log.offset_for_timestamp(ts == max_timestamp ? max_timestamp : ts);
        if (!r.ok()) {
            a.error_code = proto::code(error_code::kafka_storage_error);
            return;
        }
        if (r->has_value() && ((*r)->offset < visible_end || ts == max_timestamp)) {
            found_offset = (*r)->offset;
            found_timestamp = (*r)->timestamp;
        }
    }
    if (version == 0) {
        // v0 answers a list of offsets (at most max_num_offsets).
        if (found_offset >= 0 && item.request.max_num_offsets > 0) {
            a.old_style_offsets.push_back(found_offset);
        }
        return;
    }
    a.offset = found_offset;
    a.timestamp = found_timestamp;
    if (found_offset >= 0) {
        // Kafka answers the latest offset with the current leader epoch,
        // and any other with the epoch of the batch at that offset.
        a.leader_epoch = ts == latest ? epoch : epoch_of(log, found_offset);
    }
}

} // namespace

asio::awaitable<proto::list_offsets_response> handle_list_offsets(request_context& ctx,
                                                                  proto::list_offsets_request& request) {
    const bool committed = request.isolation_level == read_committed;
    const bool from_replica = request.replica_id >= 0;
    const int16_t version = ctx.api_version;
    std::vector<offsets_item> items;
    for (const auto& t : request.topics) {
        for (const auto& p : t.partitions) {
            offsets_item item;
            item.topic = t.name;
            item.index = p.partition_index;
            item.request = p;
            items.push_back(std::move(item));
        }
    }
    co_await for_each_partition(ctx, items, [committed, from_replica, version](offsets_item& item, partition* p) {
        answer_one(item, p, committed, from_replica, version);
    });
    proto::list_offsets_response response;
    size_t next = 0;
    for (const auto& t : request.topics) {
        proto::list_offsets_response::list_offsets_topic_response tr;
        tr.name = t.name;
        for (size_t i = 0; i < t.partitions.size(); ++i) {
            tr.partitions.push_back(std::move(items[next++].answer));
        }
        response.topics.push_back(std::move(tr));
    }
    co_return response;
}

} // namespace runnel::broker
