// Kafka record batches, format v2 (magic 2): the header layout, validation,
// the in-place edits a broker makes on append, record iteration and a builder.
// Storage keeps these bytes exactly as clients send them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/compression.h"
#include "protocol/wire.h"

namespace runnel::proto {

// Byte position of each header field in a v2 batch. Every reader and writer of
// batches uses these and nothing else.
namespace batch_field {
inline constexpr size_t base_offset = 0;             // int64
inline constexpr size_t batch_length = 8;            // int32: bytes that follow this field
inline constexpr size_t partition_leader_epoch = 12; // int32
inline constexpr size_t magic = 16;                  // int8, at the same place in legacy message sets
inline constexpr size_t crc = 17;                    // uint32: CRC-32C of attributes .. end of batch
inline constexpr size_t attributes = 21;             // int16
inline constexpr size_t last_offset_delta = 23;      // int32
inline constexpr size_t first_timestamp = 27;        // int64 (the delete horizon when that flag is set)
inline constexpr size_t max_timestamp = 35;          // int64
inline constexpr size_t producer_id = 43;            // int64
inline constexpr size_t producer_epoch = 51;         // int16
inline constexpr size_t base_sequence = 53;          // int32
inline constexpr size_t record_count = 57;           // int32
inline constexpr size_t records = 61;                // the records, compressed as a whole or not
} // namespace batch_field

constexpr size_t batch_header_size = 61;
static_assert(batch_field::records == batch_header_size);
// base_offset and batch_length come before the bytes batch_length counts.
constexpr size_t batch_log_overhead = 12;
static_assert(batch_field::partition_leader_epoch == batch_log_overhead);
// The CRC covers everything from the attributes on, so that base_offset and
// partition_leader_epoch can be assigned without recomputing it.
constexpr size_t batch_crc_start = batch_field::attributes;
constexpr int32_t batch_length_min = static_cast<int32_t>(batch_header_size - batch_log_overhead);
constexpr int8_t batch_magic_v2 = 2;

// Bits of the attributes field.
namespace batch_attribute {
inline constexpr int16_t compression_mask = 0x07;
inline constexpr int16_t log_append_time = 0x08;
inline constexpr int16_t transactional = 0x10;
inline constexpr int16_t control = 0x20;
inline constexpr int16_t delete_horizon = 0x40;
} // namespace batch_attribute

// Special values of header fields.
constexpr int64_t no_producer_id = -1;
constexpr int16_t no_producer_epoch = -1;
constexpr int32_t no_sequence = -1;
constexpr int32_t no_partition_leader_epoch = -1;
constexpr int64_t no_timestamp = -1;

// Decompressing one batch never takes more than this unless the caller says so.
constexpr size_t default_decompressed_bytes_max = 64 * 1024 * 1024;

enum class timestamp_type : int8_t {
    create_time = 0,     // the producer's clock, per record
    log_append_time = 1, // the broker's clock at append: max_timestamp, for every record
};

// The fixed 61-byte header of a v2 batch, decoded as is (nothing checked).
struct batch_header {
    int64_t base_offset = 0;
    int32_t batch_length = 0;
    int32_t partition_leader_epoch = 0;
    int8_t magic = 0;
    uint32_t crc = 0;
    int16_t attributes = 0;
    int32_t last_offset_delta = 0;
    int64_t first_timestamp = 0;
    int64_t max_timestamp = 0;
    int64_t producer_id = 0;
    int16_t producer_epoch = 0;
    int32_t base_sequence = 0;
    int32_t record_count = 0;

    // The codec bits. Values 5..7 fit in them too: check with
    // is_known_compression(compression_bits()) before trusting compression().
    int compression_bits() const { return attributes & batch_attribute::compression_mask; }
    compression_type compression() const { return static_cast<compression_type>(compression_bits()); }
    // Qualified: the member's name hides the type inside the class.
    proto::timestamp_type timestamp_type() const;
    bool is_transactional() const { return (attributes & batch_attribute::transactional) != 0; }
    bool is_control() const { return (attributes & batch_attribute::control) != 0; }
    bool has_delete_horizon() const { return (attributes & batch_attribute::delete_horizon) != 0; }
    bool has_producer_id() const { return producer_id > no_producer_id; }
    int64_t last_offset() const;
    // The whole batch: batch_length + 12. A negative batch_length counts as 0.
    size_t size_bytes() const;

    bool operator==(const batch_header&) const = default;
};

// Precondition: batch.size() >= batch_header_size (asserted).
batch_header decode_batch_header(bytes_view batch);
// Writes all 61 header bytes as given (the CRC too: see compute_batch_crc).
// Precondition: out.size() >= batch_header_size (asserted).
void write_batch_header(std::span<uint8_t> out, const batch_header& header);
// The CRC-32C a complete batch should carry (over attributes .. end).
// Precondition: batch.size() >= batch_header_size (asserted).
uint32_t compute_batch_crc(bytes_view batch);

enum class batch_error : uint8_t {
    none = 0,
    too_short,                   // fewer bytes than a batch header
    truncated,                   // a batch in a buffer runs past its end
    bad_length,                  // batch_length below the minimum or disagreeing with the bytes
    bad_magic,                   // not format v2
    bad_crc,                     // the CRC-32C does not match
    bad_record_count,            // negative, inconsistent with last_offset_delta, or not the records found
    bad_records,                 // a record's framing, or its offset delta, is wrong
    unsupported_compression,     // codec bits 5..7
    bad_compression,             // the compressed records do not decompress
    too_large_when_decompressed, // the records decompress past the caller's limit
    control_batch_from_client,   // producers may not write control batches
    bad_sequence,                // a producer id without a base sequence
    too_large,                   // a builder input that cannot fit in one batch
};
std::string_view to_string(batch_error e);

struct validate_options {
    // Also apply the rules Kafka applies to batches from producers (not to
    // replicated or stored ones, which compaction may have thinned): at least
    // one record, record_count == last_offset_delta + 1, offset deltas
    // 0, 1, 2, ..., no control batch, a base sequence with a producer id.
    bool from_client = false;
    // Also walk every record, decompressing if needed, checking each record's
    // framing, that offset deltas increase, and that record_count is right.
    bool walk_records = false;
    size_t decompressed_bytes_max = default_decompressed_bytes_max;
};

// Checks one complete batch: its length agrees with batch.size(), magic 2, the
// CRC, the record count against last_offset_delta, the codec; then what
// options ask for. Never reads outside batch, whatever it holds.
batch_error validate_batch(bytes_view batch, const validate_options& options);

// Splits a buffer of concatenated batches (a Produce request's records, a
// segment's bytes) by their length fields alone; validate_batch checks the
// rest. A legacy (magic 0/1) message set shares the framing but has a smaller
// minimum size: it fails here as bad_length, or in validate_batch as bad_magic.
class batch_splitter {
public:
    explicit batch_splitter(bytes_view buffer) : buffer_(buffer) {}

    // The next batch, or nullopt when the buffer is used up (error() is none)
    // or its tail is not a whole batch (error() says why).
    std::optional<bytes_view> next();
    batch_error error() const { return error_; }
    // Bytes of whole batches returned so far.
    size_t position() const { return position_; }

private:
    bytes_view buffer_;
    size_t position_ = 0;
    batch_error error_ = batch_error::none;
};

struct header_view {
    std::string_view key; // Kafka never sends a null header key
    std::optional<bytes_view> value;
    bool operator==(const header_view& o) const;
};

// One record of a batch. The views point into the batch, or into the
// decompressed copy its record_reader owns.
struct record_view {
    int8_t attributes = 0;
    int64_t timestamp_delta = 0;
    int32_t offset_delta = 0;
    std::optional<bytes_view> key;
    std::optional<bytes_view> value;
    std::vector<header_view> headers;
};

// The absolute offset and timestamp Kafka gives a record of this batch.
int64_t record_offset(const batch_header& header, const record_view& record);
int64_t record_timestamp(const batch_header& header, const record_view& record);

// Walks the records of one batch. open() checks the framing (size, length,
// magic, record count sign, codec) but not the CRC (validate_batch does), and
// decompresses into a buffer it owns, refusing to grow it past
// decompressed_bytes_max. The batch's bytes must outlive the reader.
class record_reader {
public:
    static outcome<record_reader, batch_error> open(bytes_view batch, size_t decompressed_bytes_max);

    // Move-only: a copy's views would point into the original's buffer.
    record_reader(record_reader&&) = default;
    record_reader& operator=(record_reader&&) = default;
    record_reader(const record_reader&) = delete;
    record_reader& operator=(const record_reader&) = delete;

    const batch_header& header() const { return header_; }
    // The next record; nullopt after the last one (error() is none) or at
    // the first malformed byte (error() says what). Offset deltas must rise
    // and stay within last_offset_delta; exactly record_count records must
    // fill the records section.
    std::optional<record_view> next();
    batch_error error() const { return error_; }
    int32_t records_read() const { return records_read_; }

private:
    record_reader(const batch_header& header, bytes owned, bytes_view records)
        : header_(header), owned_(std::move(owned)), records_(records) {}

    batch_error read_one(record_view& out);

    batch_header header_;
    bytes owned_;         // the decompressed records, when the batch is compressed
    bytes_view records_;  // the records section: in the batch, or owned_
    size_t position_ = 0; // within records_
    int32_t records_read_ = 0;
    int64_t previous_offset_delta_ = -1;
    bool finished_ = false;
    batch_error error_ = batch_error::none;
};

// Everything about a batch that is not its records.
struct batch_options {
    int64_t base_offset = 0;
    int32_t partition_leader_epoch = no_partition_leader_epoch;
    int64_t producer_id = no_producer_id;
    int16_t producer_epoch = no_producer_epoch;
    int32_t base_sequence = no_sequence;
    bool transactional = false;
    bool control = false;
    compression_type compression = compression_type::none;
};

// Builds one complete v2 batch with create-time timestamps: offset deltas
// 0, 1, 2, ..., first_timestamp from the first record, max_timestamp the
// largest, then the records compressed as a whole and the CRC.
class batch_builder {
public:
    explicit batch_builder(const batch_options& options) : options_(options) {}

    // Encodes one record now: the views need only live during the call.
    // Fails with too_large when the batch could no longer be represented.
    [[nodiscard]] batch_error add(int64_t timestamp, std::optional<bytes_view> key, std::optional<bytes_view> value,
                                  std::span<const header_view> headers = {});
    int32_t record_count() const { return record_count_; }
    // The uncompressed size of the records added so far.
    size_t records_bytes() const { return records_.size(); }
    // The finished batch. Precondition: at least one record was added.
    outcome<bytes, batch_error> build() const;

private:
    batch_options options_;
    writer records_;
    int32_t record_count_ = 0;
    int64_t first_timestamp_ = no_timestamp;
    int64_t max_timestamp_ = no_timestamp;
};

// In-place edits a broker makes on append. None of them checks the batch:
// validate it first. Precondition: batch.size() >= batch_header_size.
void set_base_offset(std::span<uint8_t> batch, int64_t base_offset);
void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t partition_leader_epoch);
// Marks the batch LogAppendTime with this timestamp in max_timestamp and
// recomputes the CRC, as Kafka's broker does in place. Like Kafka, it leaves
// first_timestamp alone: readers report max_timestamp for every record of a
// LogAppendTime batch, and first_timestamp may hold the delete horizon.
// Precondition: batch is exactly one whole batch (its length field agrees).
void set_log_append_time(std::span<uint8_t> batch, int64_t timestamp);

} // namespace runnel::proto
