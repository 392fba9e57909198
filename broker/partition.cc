// A hosted partition: the high watermark rule and teardown order.
#include "broker/partition.h"

#include <cassert>

#include <fmt/format.h>

namespace runnel::broker {

partition::partition(std::string topic, proto::uuid topic_id, model::partition_id index,
                     model::leader_epoch leader_epoch, partition_settings settings,
                     std::shared_ptr<storage::partition_log> log, size_t shard)
    : topic_(std::move(topic)), topic_id_(topic_id), index_(index), leader_epoch_(leader_epoch),
      settings_(std::move(settings)), log_(std::move(log)), shard_(shard) {
    assert(log_ != nullptr);
}

// The extension may refer to the log (a producer state snapshot, waiters on
// appends), so it goes first.
partition::~partition() { extension_.reset(); }

void partition::advance_high_watermark(model::offset offset) {
    if (offset.value() > log_->log_end_offset() || offset.value() < log_->high_watermark()) {
        fmt::print(stderr, "partition {}-{}: high watermark {} outside [{}, {}]\n", topic_, index_.value(),
                   offset.value(), log_->high_watermark(), log_->log_end_offset());
    }
    assert(offset.value() <= log_->log_end_offset() && "the high watermark passes the log end offset");
    assert(offset.value() >= log_->high_watermark() && "the high watermark moves backwards");
    log_->set_high_watermark(offset.value());
}

} // namespace runnel::broker
