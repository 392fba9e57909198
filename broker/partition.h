// One partition this broker hosts (on a single node it leads all of them):
// its identity, leader epoch, per-topic settings, storage log and high
// watermark. A partition belongs to one shard and is touched only there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "protocol/types.h"
#include "protocol/wire.h"
#include "storage/log_config.h"
#include "storage/partition_log.h"

namespace runnel::broker {

// The per-topic settings the data path reads on every append, resolved from
// the topic's overrides, the dynamic broker defaults and the static config
// (see topic_config.h). Storage's own settings are in the log's log_config.
struct partition_settings {
    int32_t max_message_bytes = 1048588;                     // max.message.bytes
    storage::message_timestamp_type timestamp_type = storage::message_timestamp_type::create_time;
    int64_t timestamp_before_max_ms = INT64_MAX;             // message.timestamp.before.max.ms
    int64_t timestamp_after_max_ms = 3600000;                // message.timestamp.after.max.ms
    int32_t min_insync_replicas = 1;                         // min.insync.replicas
    std::string compression_type = "producer";               // compression.type
    bool operator==(const partition_settings&) const = default;
};

// State that another part of the broker keeps per partition and that must
// live and die with it: the data-path engineer's producer state and fetch
// waiters (broker/partition_data.{h,cc}) derive from this and are attached
// with set_extension(), typically from partition_observer::on_open.
class partition_extension {
public:
    virtual ~partition_extension() = default;
};

class partition {
public:
    partition(std::string topic, proto::uuid topic_id, model::partition_id index, model::leader_epoch leader_epoch,
              partition_settings settings, std::shared_ptr<storage::partition_log> log, size_t shard);
    ~partition();
    partition(const partition&) = delete;
    partition& operator=(const partition&) = delete;

    const std::string& topic() const { return topic_; }
    const proto::uuid& topic_id() const { return topic_id_; }
    model::partition_id index() const { return index_; }
    model::leader_epoch leader_epoch() const { return leader_epoch_; }
    size_t shard() const { return shard_; }
    const partition_settings& settings() const { return settings_; }

    // The storage log. Valid until the partition is removed (removed() is
    // then true and the log is closed or being deleted): a coroutine that
    // holds a partition across a co_await must check removed() after it.
    storage::partition_log& log() { return *log_; }
    const storage::partition_log& log() const { return *log_; }
    const std::shared_ptr<storage::partition_log>& shared_log() const { return log_; }

    model::offset log_start_offset() const { return model::offset(log_->log_start_offset()); }
    model::offset log_end_offset() const { return model::offset(log_->log_end_offset()); }
    // Single node: the log end offset once an append is acknowledged under
    // the flush policy (the data path advances it). Never moves backwards.
    model::offset high_watermark() const { return model::offset(log_->high_watermark()); }
    void advance_high_watermark(model::offset offset);

    bool removed() const { return removed_; }

    // The data path's per-partition state (see partition_extension).
    partition_extension* extension() const { return extension_.get(); }
    void set_extension(std::unique_ptr<partition_extension> extension) { extension_ = std::move(extension); }

private:
    friend class partition_manager;
    // Metadata changes, applied by the partition manager on this shard.
    void set_leader_epoch(model::leader_epoch epoch) { leader_epoch_ = epoch; }
    void set_settings(partition_settings settings) { settings_ = std::move(settings); }
    void mark_removed() { removed_ = true; }

    std::string topic_;
    proto::uuid topic_id_;
    model::partition_id index_;
    model::leader_epoch leader_epoch_;
    partition_settings settings_;
    std::shared_ptr<storage::partition_log> log_;
    size_t shard_;
    bool removed_ = false;
    // Destroyed before the log (declared after it).
    std::unique_ptr<partition_extension> extension_;
};

} // namespace runnel::broker
