// Encoding and decoding of __consumer_offsets keys and values. Keys are never
// flexible; values are flexible (compact strings, tagged fields) from
// version 4 on. Writers use the newest non-flexible version, as Kafka does.
#include "broker/group/offsets_records.h"

#include <cassert>

#include <fmt/format.h>
#include <xxhash.h>

namespace runnel::broker::group_records {

namespace {

// Strings and byte fields of one value version: classic or compact.
class value_reader {
public:
    value_reader(proto::reader& r, bool flexible) : r_(r), flexible_(flexible) {}
    std::string string() { return flexible_ ? r_.read_compact_string() : r_.read_string(); }
    std::optional<std::string> nullable_string() {
        return flexible_ ? r_.read_compact_nullable_string() : r_.read_nullable_string();
    }
    proto::bytes bytes() { return flexible_ ? r_.read_compact_bytes() : r_.read_bytes(); }
    int32_t array_length() { return flexible_ ? r_.read_compact_array_length() : r_.read_array_length(); }
    // The tagged-field section that ends each struct of a flexible version:
    // none of the tags means anything to us, so they are skipped.
    void skip_tags() {
        if (!flexible_) {
            return;
        }
        const uint32_t count = r_.read_unsigned_varint();
        for (uint32_t i = 0; i < count && r_.ok(); ++i) {
            (void)r_.read_unsigned_varint(); // tag
            const uint32_t size = r_.read_unsigned_varint();
            r_.skip(size);
        }
    }

private:
    proto::reader& r_;
    bool flexible_;
};

decode_failure failed(std::string_view what, const proto::reader& r) {
    return decode_failure{fmt::format("{}: {}", what, proto::to_string(r.error()))};
}

} // namespace

int32_t partition_for(std::string_view group_id, int32_t partitions) {
    assert(partitions > 0);
    const uint64_t h = XXH3_64bits(group_id.data(), group_id.size());
    return static_cast<int32_t>(h % static_cast<uint64_t>(partitions));
}

proto::bytes encode_key(const offset_key& key) {
    proto::writer w;
    w.write_int16(offset_key_v1);
    w.write_string(key.group);
    w.write_string(key.topic);
    w.write_int32(key.partition);
    return w.release();
}

proto::bytes encode_key(const group_key& key) {
    proto::writer w;
    w.write_int16(group_metadata_key);
    w.write_string(key.group);
    return w.release();
}

proto::bytes encode_value(const offset_value& value) {
    const int16_t version = value.expire_timestamp >= 0 ? offset_value_with_expiry : offset_value_current;
    proto::writer w;
    w.write_int16(version);
    w.write_int64(value.offset);
    if (version >= 3) {
        w.write_int32(value.leader_epoch);
    }
    w.write_string(value.metadata);
    w.write_int64(value.commit_timestamp);
    if (version == offset_value_with_expiry) {
        w.write_int64(value.expire_timestamp);
    }
    return w.release();
}

proto::bytes encode_value(const group_value& value) {
    proto::writer w;
    w.write_int16(group_value_current);
    w.write_string(value.protocol_type);
    w.write_int32(value.generation);
    w.write_nullable_string(value.protocol);
    w.write_nullable_string(value.leader);
    w.write_int64(value.current_state_timestamp);
    w.write_array_length(static_cast<int32_t>(value.members.size()));
    for (const member_value& m : value.members) {
        w.write_string(m.member_id);
        w.write_nullable_string(m.group_instance_id);
        w.write_string(m.client_id);
        w.write_string(m.client_host);
        w.write_int32(m.rebalance_timeout_ms);
        w.write_int32(m.session_timeout_ms);
        w.write_bytes(m.subscription);
        w.write_bytes(m.assignment);
    }
    return w.release();
}

std::variant<record_key, decode_failure> decode_key(proto::bytes_view key) {
    proto::reader r(key);
    const int16_t version = r.read_int16();
    if (!r.ok()) {
        return failed("key", r);
    }
    if (version == offset_key_v0 || version == offset_key_v1) {
        offset_key out;
        out.group = r.read_string();
        out.topic = r.read_string();
        out.partition = r.read_int32();
        r.expect_end();
        if (!r.ok()) {
            return failed("offset commit key", r);
        }
        return record_key{std::move(out)};
    }
    if (version == group_metadata_key) {
        group_key out;
        out.group = r.read_string();
        r.expect_end();
        if (!r.ok()) {
            return failed("group metadata key", r);
        }
        return record_key{std::move(out)};
    }
    return decode_failure{fmt::format("unknown key version {}", version)};
}

std::variant<offset_value, decode_failure> decode_offset_value(proto::bytes_view value) {
    proto::reader r(value);
    const int16_t version = r.read_int16();
    if (!r.ok()) {
        return failed("offset commit value", r);
    }
    if (version < 0 || version > offset_value_max) {
        return decode_failure{fmt::format("unknown offset commit value version {}", version)};
    }
    value_reader v(r, version >= 4);
    offset_value out;
    out.offset = r.read_int64();
    if (version >= 3) {
        out.leader_epoch = r.read_int32();
    }
    out.metadata = v.string();
    out.commit_timestamp = r.read_int64();
    if (version == offset_value_with_expiry) {
        out.expire_timestamp = r.read_int64();
    }
    v.skip_tags();
    r.expect_end();
    if (!r.ok()) {
        return failed(fmt::format("offset commit value v{}", version), r);
    }
    return out;
}

std::variant<group_value, decode_failure> decode_group_value(proto::bytes_view value) {
    proto::reader r(value);
    const int16_t version = r.read_int16();
    if (!r.ok()) {
        return failed("group metadata value", r);
    }
    if (version < 0 || version > group_value_max) {
        return decode_failure{fmt::format("unknown group metadata value version {}", version)};
    }
    value_reader v(r, version >= 4);
    group_value out;
    out.protocol_type = v.string();
    out.generation = r.read_int32();
    out.protocol = v.nullable_string();
    out.leader = v.nullable_string();
    if (version >= 2) {
        out.current_state_timestamp = r.read_int64();
    }
    const int32_t count = v.array_length();
    for (int32_t i = 0; i < count && r.ok(); ++i) {
        member_value m;
        m.member_id = v.string();
        if (version >= 3) {
            m.group_instance_id = v.nullable_string();
        }
        m.client_id = v.string();
        m.client_host = v.string();
        m.rebalance_timeout_ms = version >= 1 ? r.read_int32() : 0;
        m.session_timeout_ms = r.read_int32();
        if (version == 0) {
            m.rebalance_timeout_ms = m.session_timeout_ms;
        }
        m.subscription = v.bytes();
        m.assignment = v.bytes();
        v.skip_tags();
        out.members.push_back(std::move(m));
    }
    v.skip_tags();
    r.expect_end();
    if (!r.ok()) {
        return failed(fmt::format("group metadata value v{}", version), r);
    }
    return out;
}

std::optional<std::vector<std::string>> consumer_subscription_topics(proto::bytes_view subscription) {
    proto::reader r(subscription);
    const int16_t version = r.read_int16();
    if (!r.ok() || version < 0) {
        return std::nullopt;
    }
    const int32_t count = r.read_array_length();
    std::vector<std::string> topics;
    for (int32_t i = 0; i < count && r.ok(); ++i) {
        topics.push_back(r.read_string());
    }
    // Later fields (user data, owned partitions, ...) do not matter here,
    // and newer versions may add more: the topics are all that is read.
    if (!r.ok() || count < 0) {
        return std::nullopt;
    }
    return topics;
}

} // namespace runnel::broker::group_records
