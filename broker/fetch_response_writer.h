// The Fetch response encoder, written by hand rather than generated: the
// record sets stay in the segment files and are spliced in by the connection
// with sendfile, so the encoder leaves a hole of the right size for each and
// records where it goes (docs/ARCHITECTURE.md, "Fetch path").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/dispatch.h"
#include "protocol/wire.h"
#include "storage/partition_log.h"

namespace runnel::broker {

// Fetch versions this encoder writes (v4 is the first with record batch v2).
inline constexpr int16_t fetch_version_min = 4;
inline constexpr int16_t fetch_version_max = 17;

struct fetch_partition_answer {
    int32_t partition = 0;
    int16_t error_code = 0;
    int64_t high_watermark = -1;
    int64_t last_stable_offset = -1;
    int64_t log_start_offset = -1;
    // read_committed answers an empty list (no aborted transactions exist
    // yet); read_uncommitted a null one, as Kafka does.
    bool aborted_transactions_null = true;
    int32_t preferred_read_replica = -1;
    std::vector<storage::slice> records; // in order; their lengths add up to records_bytes
    uint64_t records_bytes = 0;
};

struct fetch_topic_answer {
    std::string name; // v12 and below
    proto::uuid id;   // v13 and above
    std::vector<fetch_partition_answer> partitions;
};

struct fetch_answer {
    int32_t throttle_time_ms = 0;
    int16_t error_code = 0;
    int32_t session_id = 0;
    std::vector<fetch_topic_answer> topics;
};

// Encodes the answer at `version` (fetch_version_min..fetch_version_max,
// asserted) with a splice for each record slice.
response_body encode_fetch_response(const fetch_answer& answer, int16_t version);

// The body with every splice copied in (tests, and any path that cannot
// use sendfile).
proto::bytes materialize(const response_body& body);

} // namespace runnel::broker
