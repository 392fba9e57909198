// Record values for the benchmark. Each value is a slice of a 16 MiB pool of
// random bytes (incompressible) or of made-up words (compresses about 3:1),
// taken at a different place for every record, so that a batch of them
// compresses no better than the pool does. Records of 16 bytes or more start
// with a stamp: the sequence number and the send time on the steady clock
// (both little-endian uint64), which e2e turns into end-to-end latency.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tools/runnel-bench/options.h"

namespace runnel::bench {

struct record_stamp {
    uint64_t sequence = 0;
    uint64_t sent_ns = 0; // steady_clock, nanoseconds since its epoch
};

class payload_source {
public:
    static constexpr size_t pool_bytes = 16 << 20;

    payload_source(payload_kind kind, int32_t record_size);

    // The value of record `sequence`, stamped when it is big enough; valid
    // until the next call.
    std::span<const char> value(uint64_t sequence, uint64_t sent_ns);

    int32_t record_size() const { return record_size_; }

private:
    std::vector<char> pool_;
    std::vector<char> buffer_;
    int32_t record_size_;
};

std::optional<record_stamp> read_stamp(std::span<const char> value);

uint64_t steady_now_ns();

} // namespace runnel::bench
