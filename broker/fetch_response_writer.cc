// Fetch response layout per version (Kafka's FetchResponse.json, v4-v17):
// the fields in order, compact encodings from v12 (flexible), topic ids from
// v13, and every record set left as a splice.
#include "broker/fetch_response_writer.h"

#include <cassert>
#include <limits>

namespace runnel::broker {

namespace {

constexpr int16_t first_flexible_version = 12;
constexpr int16_t first_topic_id_version = 13;
constexpr int16_t first_session_version = 7;
constexpr int16_t first_log_start_version = 5;
constexpr int16_t first_read_replica_version = 11;

class fetch_writer {
public:
    explicit fetch_writer(int16_t version) : version_(version), flexible_(version >= first_flexible_version) {}

    void array_length(size_t n) {
        assert(n <= static_cast<size_t>(std::numeric_limits<int32_t>::max()));
        if (flexible_) {
            w_.write_compact_array_length(static_cast<int32_t>(n));
        } else {
            w_.write_array_length(static_cast<int32_t>(n));
        }
    }
    // An empty tagged-field section: we set no tagged field.
    void no_tags() {
        if (flexible_) {
            w_.write_unsigned_varint(0);
        }
    }

    void partition(const fetch_partition_answer& p) {
        w_.write_int32(p.partition);
        w_.write_int16(p.error_code);
        w_.write_int64(p.high_watermark);
        w_.write_int64(p.last_stable_offset); // v4+
        if (version_ >= first_log_start_version) {
            w_.write_int64(p.log_start_offset);
        }
        if (p.aborted_transactions_null) {
            if (flexible_) {
                w_.write_compact_array_length(-1);
            } else {
                w_.write_array_length(-1);
            }
        } else {
            array_length(0);
        }
        if (version_ >= first_read_replica_version) {
            w_.write_int32(p.preferred_read_replica);
        }
        records(p);
        no_tags();
    }

    void records(const fetch_partition_answer& p) {
        assert(p.records_bytes <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max() - 1));
        const auto length = static_cast<int32_t>(p.records_bytes);
        if (flexible_) {
            w_.write_unsigned_varint(static_cast<uint32_t>(length) + 1);
        } else {
            w_.write_int32(length);
        }
        uint64_t sum = 0;
        for (const auto& slice : p.records) {
            if (slice.length == 0) {
                continue;
            }
            body_.splices.push_back(response_splice{w_.size(), slice});
            sum += slice.length;
        }
        assert(sum == p.records_bytes && "slices add up to the record set length");
    }

    void topic(const fetch_topic_answer& t) {
        if (version_ >= first_topic_id_version) {
            w_.write_uuid(t.id);
        } else if (flexible_) {
            w_.write_compact_string(t.name);
        } else {
            w_.write_string(t.name);
        }
        array_length(t.partitions.size());
        for (const auto& p : t.partitions) {
            partition(p);
        }
        no_tags();
    }

    response_body finish(const fetch_answer& a) {
        w_.write_int32(a.throttle_time_ms); // v1+
        if (version_ >= first_session_version) {
            w_.write_int16(a.error_code);
            w_.write_int32(a.session_id);
        }
        array_length(a.topics.size());
        for (const auto& t : a.topics) {
            topic(t);
        }
        // node_endpoints (v16+) is a tagged field, sent only with NOT_LEADER
        // answers, which a single node never gives.
        no_tags();
        body_.bytes = w_.release();
        return std::move(body_);
    }

private:
    int16_t version_;
    bool flexible_;
    proto::writer w_;
    response_body body_;
};

} // namespace

response_body encode_fetch_response(const fetch_answer& answer, int16_t version) {
    assert(version >= fetch_version_min && version <= fetch_version_max);
    return fetch_writer(version).finish(answer);
}

proto::bytes materialize(const response_body& body) {
    proto::bytes out;
    std::string problem;
    const bool ok = body.append_to(out, &problem);
    assert(ok && "every slice is readable");
    (void)ok;
    return out;
}

} // namespace runnel::broker
