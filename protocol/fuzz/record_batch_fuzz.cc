// libFuzzer target for record batches: arbitrary bytes go through the
// splitter, validate_batch with record walking and decompression (1 MiB
// limit), record iteration and the LogAppendTime mutator. Besides "no crash"
// it checks that the pieces agree with each other.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "protocol/crc32c.h"
#include "protocol/record_batch.h"

namespace {

using namespace runnel::proto;

constexpr size_t decompressed_bytes_max = 1024 * 1024;
constexpr int64_t log_append_timestamp = 1'700'000'000'000;

void require(bool condition) {
    if (!condition) {
        std::abort();
    }
}

// Reads every byte a record points at, so that ASan sees any bad view.
uint64_t touch(const record_view& r) {
    uint64_t sum = static_cast<uint64_t>(r.attributes) + static_cast<uint64_t>(r.offset_delta);
    auto add = [&sum](bytes_view b) {
        for (uint8_t c : b) {
            sum += c;
        }
    };
    if (r.key) {
        add(*r.key);
    }
    if (r.value) {
        add(*r.value);
    }
    for (const header_view& h : r.headers) {
        sum += h.key.size();
        if (h.value) {
            add(*h.value);
        }
    }
    return sum;
}

// Walks the records; returns the reader's verdict.
batch_error iterate(bytes_view batch, int32_t* records_read) {
    auto opened = record_reader::open(batch, decompressed_bytes_max);
    if (!opened.ok()) {
        return opened.error();
    }
    record_reader& reader = opened.value();
    uint64_t sum = 0;
    // Bounded: every record consumes bytes of a finite section.
    while (auto r = reader.next()) {
        sum += touch(*r);
    }
    *records_read = reader.records_read();
    require(sum != UINT64_MAX || reader.records_read() >= 0); // keeps the reads alive
    return reader.error();
}

void check_batch(bytes_view input) {
    const validate_options stored{.from_client = false, .walk_records = true,
                                  .decompressed_bytes_max = decompressed_bytes_max};
    const validate_options client{.from_client = true, .walk_records = true,
                                  .decompressed_bytes_max = decompressed_bytes_max};
    batch_error as_is = validate_batch(input, stored);
    (void)validate_batch(input, client);

    // Most inputs fail the CRC; re-sign a copy so the rest gets exercised.
    bytes copy(input.begin(), input.end());
    if (copy.size() >= batch_header_size) {
        uint32_t crc = compute_batch_crc(copy);
        for (size_t i = 0; i < 4; ++i) {
            copy[batch_field::crc + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
        }
    }
    batch_error signed_stored = validate_batch(copy, stored);
    batch_error signed_client = validate_batch(copy, client);
    require(as_is == batch_error::none ? signed_stored == batch_error::none : true);
    // Client rules are stricter, never looser.
    require(signed_client == batch_error::none ? signed_stored == batch_error::none : true);

    int32_t records_read = -1;
    batch_error walked = iterate(copy, &records_read);
    if (signed_stored == batch_error::none) {
        require(walked == batch_error::none);
        require(records_read == decode_batch_header(copy).record_count);
    }

    // The broker's append path: a valid batch stays valid after the edits.
    if (signed_stored == batch_error::none) {
        set_base_offset(copy, 42);
        set_partition_leader_epoch(copy, 7);
        set_log_append_time(copy, log_append_timestamp);
        require(validate_batch(copy, stored) == batch_error::none);
        require(decode_batch_header(copy).max_timestamp == log_append_timestamp);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    bytes_view input(data, size);
    // The whole input as one batch, which exercises the length checks, and
    // each batch the splitter finds in it.
    check_batch(input);
    batch_splitter splitter(input);
    size_t consumed = 0;
    while (auto batch = splitter.next()) {
        consumed += batch->size();
        check_batch(*batch);
    }
    require(consumed == splitter.position());
    require(splitter.error() != batch_error::none || consumed == size);
    return 0;
}
