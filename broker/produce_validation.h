// Checks the records of one partition of a Produce request before they are
// appended, with the rules and error codes of Kafka's broker: framing, magic,
// CRC, size against max.message.bytes, record count and offsets, producer
// fields, timestamps and keys, walking compressed records under a bound.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/errors.h"
#include "protocol/record_batch.h"
#include "storage/log_config.h"

namespace runnel::broker {

struct produce_validation_options {
    int16_t api_version = 3;
    int32_t max_message_bytes = 1048588;  // max.message.bytes: one batch, log overhead included
    storage::message_timestamp_type timestamp_type = storage::message_timestamp_type::create_time;
    int64_t timestamp_before_max_ms = INT64_MAX; // message.timestamp.before.max.ms
    int64_t timestamp_after_max_ms = INT64_MAX;  // message.timestamp.after.max.ms
    bool compacted = false;                      // cleanup.policy has compact: every record needs a key
    int64_t now_ms = 0;
    size_t decompressed_bytes_max = proto::default_decompressed_bytes_max;
    // The topic's compression.type when it is not "producer": a batch with
    // another codec is rewritten with this one, as Kafka's broker does.
    std::optional<proto::compression_type> recompress_to;
};

// compression.type's value as a codec; nullopt for "producer" (keep the
// producer's) or an unknown name.
std::optional<proto::compression_type> topic_compression(std::string_view name);

// A rejected record (Produce v8+ reports them): its index in the batch.
struct record_error {
    int32_t batch_index = 0;
    std::string message;
    bool operator==(const record_error&) const = default;
};

// Record errors reported per partition at most (the answer stays bounded).
inline constexpr size_t record_errors_max = 1000;

struct validated_batch {
    std::span<uint8_t> bytes; // inside the request's records (appended in place), or in `rewritten`
    proto::batch_header header;
    proto::bytes rewritten;   // the batch recompressed to the topic's compression.type
};

struct produce_validation {
    proto::error_code error = proto::error_code::none;
    std::string error_message;
    std::vector<record_error> record_errors;
    std::vector<validated_batch> batches; // empty unless error is none
    bool ok() const { return error == proto::error_code::none; }
};

// Validates a partition's records (null records count as none). On success
// the batches may have been edited in place: a CreateTime batch whose header
// understates its largest record timestamp gets the real one (and a new
// CRC), as Kafka's broker does, so that the time index stays right.
produce_validation validate_produce_records(std::span<uint8_t> records, const produce_validation_options& options);

// The Kafka error for a batch_error found in a client's batch.
proto::error_code to_produce_error(proto::batch_error e);

} // namespace runnel::broker
