// Produce-side batch validation, in the order Kafka's broker checks: the
// request-level rules (one v2 batch, codec allowed at this version), then the
// log's (base offset 0, size, CRC, counts, producer fields), then each record.
#include "broker/produce_validation.h"

#include <algorithm>

#include <fmt/format.h>

namespace runnel::broker {

using proto::batch_error;
using proto::error_code;

namespace {

// Produce v7 is the first that may carry zstd (KIP-110).
constexpr int16_t produce_zstd_version_min = 7;

produce_validation reject(error_code code, std::string message) {
    produce_validation out;
    out.error = code;
    out.error_message = std::move(message);
    return out;
}

int64_t saturate(__int128 v) {
    return static_cast<int64_t>(std::clamp<__int128>(v, INT64_MIN, INT64_MAX));
}

// The CreateTime window Kafka accepts: [now - before.max, now + after.max].
int64_t timestamp_low(const produce_validation_options& o) {
    return saturate(__int128{o.now_ms} - o.timestamp_before_max_ms);
}
int64_t timestamp_high(const produce_validation_options& o) {
    return saturate(__int128{o.now_ms} + o.timestamp_after_max_ms);
}

void add_record_error(produce_validation& out, int32_t index, std::string message) {
    if (out.record_errors.size() < record_errors_max) {
        out.record_errors.push_back(record_error{index, std::move(message)});
    }
}

// Walks the records of a batch whose header and CRC are valid: their framing
// (under the decompression bound), timestamps and keys; and when `rebuild`
// is given, adds each record to it, so that a batch rewritten into the
// topic's codec is decompressed once. Returns the largest record timestamp
// seen, for fixing the header.
int64_t check_records(std::span<uint8_t> batch, const proto::batch_header& header,
                      const produce_validation_options& options, produce_validation& out,
                      proto::batch_builder* rebuild) {
    auto opened = proto::record_reader::open(batch, options.decompressed_bytes_max);
    if (!opened.ok()) {
        out.error = to_produce_error(opened.error());
        out.error_message = fmt::format("record batch: {}", proto::to_string(opened.error()));
        return proto::no_timestamp;
    }
    proto::record_reader& reader = opened.value();
    const bool create_time = options.timestamp_type == storage::message_timestamp_type::create_time;
    const int64_t low = timestamp_low(options);
    const int64_t high = timestamp_high(options);
    int64_t max_timestamp = proto::no_timestamp;
    bool bad_timestamp = false;
    int32_t index = 0;
    // Bounded: the reader stops after record_count records or at the end of the section.
    while (auto record = reader.next()) {
        const int64_t ts = proto::record_timestamp(header, *record);
        max_timestamp = std::max(max_timestamp, ts);
        if (create_time && (ts < low || ts > high)) {
            bad_timestamp = true;
            add_record_error(out, index,
                             fmt::format("Timestamp {} of message with offset {} is out of range. The timestamp "
                                         "should be within [{}, {}]",
                                         ts, record->offset_delta, low, high));
        }
        if (options.compacted && !record->key) {
            add_record_error(out, index, "Compacted topic cannot accept message without key.");
        }
        if (rebuild != nullptr) {
            if (auto e = rebuild->add(ts, record->key, record->value, record->headers); e != batch_error::none) {
                out.record_errors.clear();
                out.error = to_produce_error(e);
                out.error_message = fmt::format("recompressing the record batch: {}", proto::to_string(e));
                return proto::no_timestamp;
            }
        }
        ++index;
    }
    if (reader.error() != batch_error::none) {
        out.record_errors.clear();
        out.error = to_produce_error(reader.error());
        out.error_message = fmt::format("record {} of the batch: {}", index, proto::to_string(reader.error()));
        return proto::no_timestamp;
    }
    if (!out.record_errors.empty()) {
        // Kafka's summary: INVALID_TIMESTAMP if any timestamp was wrong, else INVALID_RECORD.
        if (bad_timestamp) {
            out.error = error_code::invalid_timestamp;
            out.error_message = "One or more records have been rejected due to invalid timestamp";
        } else {
            out.error = error_code::invalid_record;
            out.error_message = fmt::format("One or more records have been rejected due to {} record errors in total",
                                            out.record_errors.size());
        }
    }
    return max_timestamp;
}

// Rewrites max_timestamp (and the CRC) when the producer's header disagrees
// with its records.
void fix_max_timestamp(std::span<uint8_t> batch, proto::batch_header& header, int64_t max_timestamp) {
    if (max_timestamp == header.max_timestamp) {
        return;
    }
    header.max_timestamp = max_timestamp;
    proto::write_batch_header(batch, header);
    header.crc = proto::compute_batch_crc(batch);
    proto::write_batch_header(batch, header);
}

// A batch like `header`'s but in `codec`, for the records of the batch to
// be added to (offset deltas renumbered from 0, as a client writes them).
proto::batch_options rewritten_batch_options(const proto::batch_header& header, proto::compression_type codec) {
    proto::batch_options bo;
    bo.partition_leader_epoch = header.partition_leader_epoch;
    bo.producer_id = header.producer_id;
    bo.producer_epoch = header.producer_epoch;
    bo.base_sequence = header.base_sequence;
    bo.transactional = header.is_transactional();
    bo.control = header.is_control();
    bo.compression = codec;
    return bo;
}

// The checks on one batch, in Kafka's order.
produce_validation check_batch(std::span<uint8_t> batch, const produce_validation_options& options) {
    if (batch.size() < proto::batch_header_size) {
        return reject(error_code::corrupt_message, fmt::format("record batch of {} bytes is too short", batch.size()));
    }
    proto::batch_header header = proto::decode_batch_header(batch);
    if (header.magic != proto::batch_magic_v2) {
        return reject(error_code::invalid_record,
                      fmt::format("Produce requests with version {} are only allowed to contain record batches with "
                                  "magic version 2",
                                  options.api_version));
    }
    if (header.compression_bits() == static_cast<int>(proto::compression_type::zstd) &&
        options.api_version < produce_zstd_version_min) {
        return reject(error_code::unsupported_compression_type,
                      fmt::format("Produce requests with version {} are not allowed to use ZStandard compression",
                                  options.api_version));
    }
    if (header.base_offset != 0) {
        return reject(error_code::invalid_record,
                      fmt::format("The baseOffset of the record batch should be 0, but it is {}", header.base_offset));
    }
    if (batch.size() > static_cast<size_t>(std::max(options.max_message_bytes, 0))) {
        return reject(error_code::message_too_large,
                      fmt::format("The record batch is {} bytes, larger than max.message.bytes ({})", batch.size(),
                                  options.max_message_bytes));
    }
    proto::validate_options vo;
    vo.from_client = true;
    if (auto e = proto::validate_batch(batch, vo); e != batch_error::none) {
        return reject(to_produce_error(e), fmt::format("record batch: {}", proto::to_string(e)));
    }
    produce_validation out;
    std::optional<proto::batch_builder> rebuild;
    if (options.recompress_to && header.compression() != *options.recompress_to) {
        rebuild.emplace(rewritten_batch_options(header, *options.recompress_to));
    }
    const int64_t max_timestamp = check_records(batch, header, options, out, rebuild ? &*rebuild : nullptr);
    if (!out.ok()) {
        return out;
    }
    if (options.timestamp_type == storage::message_timestamp_type::create_time &&
        header.timestamp_type() == proto::timestamp_type::create_time) {
        fix_max_timestamp(batch, header, max_timestamp);
    }
    if (rebuild) {
        auto rebuilt = rebuild->build();
        if (!rebuilt.ok()) {
            return reject(to_produce_error(rebuilt.error()),
                          fmt::format("recompressing the record batch: {}", proto::to_string(rebuilt.error())));
        }
        proto::bytes rewritten = std::move(rebuilt).value();
        if (rewritten.size() > static_cast<size_t>(std::max(options.max_message_bytes, 0))) {
            return reject(error_code::message_too_large,
                          fmt::format("The record batch is {} bytes once recompressed, larger than max.message.bytes "
                                      "({})", rewritten.size(), options.max_message_bytes));
        }
        validated_batch vb;
        vb.header = proto::decode_batch_header(rewritten);
        vb.rewritten = std::move(rewritten);
        vb.bytes = std::span<uint8_t>(vb.rewritten);
        out.batches.push_back(std::move(vb));
        return out;
    }
    out.batches.push_back(validated_batch{batch, header, {}});
    return out;
}

} // namespace

std::optional<proto::compression_type> topic_compression(std::string_view name) {
    using codec_t = proto::compression_type;
    if (name == "uncompressed") {
        return codec_t::none;
    }
    // The other names are the codecs' own.
    for (auto codec : {codec_t::gzip, codec_t::snappy, codec_t::lz4, codec_t::zstd}) {
        if (proto::to_string(codec) == name) {
            return codec;
        }
    }
    return std::nullopt; // "producer"
}

error_code to_produce_error(batch_error e) {
    switch (e) {
    case batch_error::none: return error_code::none;
    case batch_error::too_short:
    case batch_error::truncated:
    case batch_error::bad_length:
    case batch_error::bad_crc:
    case batch_error::bad_compression:
    case batch_error::unsupported_compression: return error_code::corrupt_message;
    case batch_error::bad_magic:
    case batch_error::bad_record_count:
    case batch_error::bad_records:
    case batch_error::control_batch_from_client:
    case batch_error::bad_sequence:
    case batch_error::too_large_when_decompressed:
    case batch_error::too_large: return error_code::invalid_record;
    }
    return error_code::corrupt_message;
}

produce_validation validate_produce_records(std::span<uint8_t> records, const produce_validation_options& options) {
    // Kafka (Produce v3+): exactly one v2 batch per partition.
    proto::batch_splitter splitter(records);
    auto first = splitter.next();
    if (!first) {
        if (splitter.error() != batch_error::none) {
            return reject(error_code::corrupt_message,
                          fmt::format("records of {} bytes: {}", records.size(), proto::to_string(splitter.error())));
        }
        return reject(error_code::invalid_record,
                      fmt::format("Produce requests with version {} must have at least one record batch per partition",
                                  options.api_version));
    }
    if (splitter.next() || splitter.error() != batch_error::none) {
        if (splitter.error() != batch_error::none) {
            return reject(error_code::corrupt_message,
                          fmt::format("bytes after the record batch: {}", proto::to_string(splitter.error())));
        }
        return reject(error_code::invalid_record,
                      fmt::format("Produce requests with version {} are only allowed to contain exactly one record "
                                  "batch per partition",
                                  options.api_version));
    }
    // The splitter hands out const views of the mutable buffer it was given.
    std::span<uint8_t> batch(records.data() + (first->data() - records.data()), first->size());
    return check_batch(batch, options);
}

} // namespace runnel::broker
