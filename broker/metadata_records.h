// The typed records of the metadata log (schemas in protocol/schema/metadata)
// and how each is framed as the value of a record in a record batch: frame
// version, record type and record version as unsigned varints, then the body
// (docs/FORMAT.md, "Metadata log").
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>

#include "protocol/messages/config_record.h"
#include "protocol/messages/feature_level_record.h"
#include "protocol/messages/partition_record.h"
#include "protocol/messages/producer_ids_record.h"
#include "protocol/messages/register_broker_record.h"
#include "protocol/messages/remove_topic_record.h"
#include "protocol/messages/topic_record.h"
#include "protocol/wire.h"
#include "storage/result.h"

namespace runnel::broker {

using metadata_record = std::variant<proto::register_broker_record, proto::topic_record, proto::partition_record,
                                     proto::config_record, proto::remove_topic_record, proto::feature_level_record,
                                     proto::producer_ids_record>;

// The type numbers written in each frame. They follow the numbers Kafka's
// KRaft log gives the same kinds of record; the bodies are Runnel's own.
enum class metadata_record_type : uint16_t {
    register_broker = 0,
    topic = 2,
    partition = 3,
    config = 4,
    remove_topic = 9,
    feature_level = 12,
    producer_ids = 15,
};

// The frame layout this build writes and the only one it reads.
inline constexpr uint32_t metadata_frame_version = 0;
// One record's frame is never larger than this (a partition record of a
// topic with thousands of replicas stays far below it).
inline constexpr size_t metadata_record_bytes_max = 1024 * 1024;

metadata_record_type type_of(const metadata_record& record);
std::string_view to_string(metadata_record_type type);

// The frame of one record: header varints and body.
proto::bytes encode_metadata_record(const metadata_record& record);
// Reads one frame; a frame version, type or record version this build does
// not know, or a body that does not decode exactly, is corrupt.
storage::result<metadata_record> decode_metadata_record(proto::bytes_view frame);

// Config resource types as the records carry them (Kafka's numbers).
inline constexpr int8_t config_resource_topic = 2;
inline constexpr int8_t config_resource_broker = 4;

} // namespace runnel::broker
