// DeleteRecords (v0-v2): moves each partition's log start offset up to the
// offset asked for (-1: the high watermark); whole segments below it are
// deleted and the records below it are gone for readers at once.
#include "broker/fan_out.h"
#include "broker/handlers/handlers.h"
#include "broker/logging.h"
#include "broker/partition_data.h"
#include "protocol/errors.h"

namespace runnel::broker {

namespace {

using proto::error_code;
using partition_answer = proto::delete_records_response::delete_records_partition_result;

// DeleteRecords' "up to the high watermark".
constexpr int64_t to_high_watermark = -1;

struct delete_item {
    std::string topic;
    int32_t index = 0;
    int64_t offset = 0;
    partition_answer answer;
};

void answer_one(delete_item& item, partition* p) {
    partition_answer& a = item.answer;
    a.partition_index = item.index;
    a.low_watermark = -1;
    if (p == nullptr) {
        a.error_code = proto::code(error_code::unknown_topic_or_partition);
        return;
    }
    storage::partition_log& log = p->log();
    if (!log.config().deletes()) {
        a.error_code = proto::code(error_code::policy_violation); // cleanup.policy=compact only
        return;
    }
    const int64_t high_watermark = p->high_watermark().value();
    const int64_t offset = item.offset == to_high_watermark ? high_watermark : item.offset;
    if (offset < 0 || offset > high_watermark) {
        a.error_code = proto::code(error_code::offset_out_of_range);
        return;
    }
    if (offset > log.log_start_offset()) {
        if (auto s = log.advance_log_start_offset(offset); !s.ok()) {
            get_logger("data")->warn("DeleteRecords on {}-{}: {}", p->topic(), item.index, s.err().message);
            a.error_code = proto::code(error_code::kafka_storage_error);
            return;
        }
        // Producers whose every batch is gone are forgotten, as Kafka does.
        partition_data::of(*p).producers().remove_below(log.log_start_offset());
    }
    a.low_watermark = log.log_start_offset();
}

} // namespace

asio::awaitable<proto::delete_records_response> handle_delete_records(request_context& ctx,
                                                                      proto::delete_records_request& request) {
    std::vector<delete_item> items;
    for (const auto& t : request.topics) {
        for (const auto& p : t.partitions) {
            items.push_back(delete_item{t.name, p.partition_index, p.offset, {}});
        }
    }
    co_await for_each_partition(ctx, items, [](delete_item& item, partition* p) { answer_one(item, p); });
    proto::delete_records_response response;
    size_t next = 0;
    for (const auto& t : request.topics) {
        proto::delete_records_response::delete_records_topic_result tr;
        tr.name = t.name;
        for (size_t i = 0; i < t.partitions.size(); ++i) {
            tr.partitions.push_back(std::move(items[next++].answer));
        }
        response.topics.push_back(std::move(tr));
    }
    co_return response;
}

} // namespace runnel::broker
