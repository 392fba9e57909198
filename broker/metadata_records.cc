// Framing of metadata records: header varints, then the generated body codec.
#include "broker/metadata_records.h"

#include <fmt/format.h>

namespace runnel::broker {

namespace {

// The record version each type is written with (every schema has one version so far).
template <typename Record>
constexpr int16_t current_version = Record::max_version;

template <typename Record>
storage::result<metadata_record> decode_body(proto::reader& r, uint32_t version) {
    if (version < static_cast<uint32_t>(Record::min_version) || version > static_cast<uint32_t>(Record::max_version)) {
        return storage::make_error(storage::errc::corrupt,
                                   fmt::format("{} version {} is not one this build reads", Record::message_name,
                                               version));
    }
    Record record;
    record.decode(r, static_cast<int16_t>(version));
    r.expect_end();
    if (!r.ok()) {
        return storage::make_error(storage::errc::corrupt,
                                   fmt::format("{} v{} does not decode: {}", Record::message_name, version,
                                               proto::to_string(r.error())));
    }
    return metadata_record{std::move(record)};
}

} // namespace

metadata_record_type type_of(const metadata_record& record) {
    struct visitor {
        metadata_record_type operator()(const proto::register_broker_record&) const {
            return metadata_record_type::register_broker;
        }
        metadata_record_type operator()(const proto::topic_record&) const { return metadata_record_type::topic; }
        metadata_record_type operator()(const proto::partition_record&) const {
            return metadata_record_type::partition;
        }
        metadata_record_type operator()(const proto::config_record&) const { return metadata_record_type::config; }
        metadata_record_type operator()(const proto::remove_topic_record&) const {
            return metadata_record_type::remove_topic;
        }
        metadata_record_type operator()(const proto::feature_level_record&) const {
            return metadata_record_type::feature_level;
        }
        metadata_record_type operator()(const proto::producer_ids_record&) const {
            return metadata_record_type::producer_ids;
        }
    };
    return std::visit(visitor{}, record);
}

std::string_view to_string(metadata_record_type type) {
    switch (type) {
    case metadata_record_type::register_broker: return "register_broker";
    case metadata_record_type::topic: return "topic";
    case metadata_record_type::partition: return "partition";
    case metadata_record_type::config: return "config";
    case metadata_record_type::remove_topic: return "remove_topic";
    case metadata_record_type::feature_level: return "feature_level";
    case metadata_record_type::producer_ids: return "producer_ids";
    }
    return "unknown";
}

proto::bytes encode_metadata_record(const metadata_record& record) {
    proto::writer w;
    w.write_unsigned_varint(metadata_frame_version);
    w.write_unsigned_varint(static_cast<uint32_t>(type_of(record)));
    std::visit(
        [&w](const auto& r) {
            using record_type = std::decay_t<decltype(r)>;
            constexpr int16_t version = current_version<record_type>;
            w.write_unsigned_varint(static_cast<uint32_t>(version));
            r.encode(w, version);
        },
        record);
    return w.release();
}

storage::result<metadata_record> decode_metadata_record(proto::bytes_view frame) {
    if (frame.size() > metadata_record_bytes_max) {
        return storage::make_error(storage::errc::corrupt,
                                   fmt::format("metadata record of {} bytes is over the limit", frame.size()));
    }
    proto::reader r(frame);
    const uint32_t frame_version = r.read_unsigned_varint();
    const uint32_t type = r.read_unsigned_varint();
    const uint32_t version = r.read_unsigned_varint();
    if (!r.ok()) {
        return storage::make_error(storage::errc::corrupt, "metadata record frame header does not decode");
    }
    if (frame_version != metadata_frame_version) {
        return storage::make_error(storage::errc::corrupt,
                                   fmt::format("metadata record frame version {} is not {}", frame_version,
                                               metadata_frame_version));
    }
    switch (static_cast<metadata_record_type>(type)) {
    case metadata_record_type::register_broker: return decode_body<proto::register_broker_record>(r, version);
    case metadata_record_type::topic: return decode_body<proto::topic_record>(r, version);
    case metadata_record_type::partition: return decode_body<proto::partition_record>(r, version);
    case metadata_record_type::config: return decode_body<proto::config_record>(r, version);
    case metadata_record_type::remove_topic: return decode_body<proto::remove_topic_record>(r, version);
    case metadata_record_type::feature_level: return decode_body<proto::feature_level_record>(r, version);
    case metadata_record_type::producer_ids: return decode_body<proto::producer_ids_record>(r, version);
    }
    return storage::make_error(storage::errc::corrupt, fmt::format("unknown metadata record type {}", type));
}

} // namespace runnel::broker
