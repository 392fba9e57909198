// Record batch v2: header codec, validation, splitting, in-place edits, record
// iteration and building. Nothing here trusts a length it has not checked
// against the bytes it holds.
#include "protocol/record_batch.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>

#include "protocol/crc32c.h"

namespace runnel::proto {

namespace {

template <typename T>
T load_be(const uint8_t* p) {
    using unsigned_type = std::make_unsigned_t<T>;
    unsigned_type v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
        v = static_cast<unsigned_type>((v << 8) | p[i]);
    }
    return static_cast<T>(v);
}

template <typename T>
void store_be(uint8_t* p, T value) {
    auto v = static_cast<std::make_unsigned_t<T>>(value);
    for (size_t i = sizeof(T); i-- > 0;) {
        p[i] = static_cast<uint8_t>(v);
        v = static_cast<decltype(v)>(v >> 8);
    }
}

// Every record takes at least this many bytes: a length varint and six
// one-byte fields (attributes, timestamp delta, offset delta, key length,
// value length, header count).
constexpr size_t record_bytes_min = 7;
// The largest records section a batch can carry.
constexpr size_t records_bytes_max = static_cast<size_t>(std::numeric_limits<int32_t>::max()) - batch_length_min;

// A varint-length-prefixed byte string; length -1 is null. Errors stick in r.
std::optional<bytes_view> read_varint_bytes(reader& r) {
    int32_t n = r.read_varint();
    if (n == -1) {
        return std::nullopt;
    }
    if (n < -1) {
        r.fail(decode_error::bad_length);
        return std::nullopt;
    }
    return r.read_span(static_cast<size_t>(n));
}

bool read_header(reader& r, header_view& out) {
    int32_t key_length = r.read_varint();
    if (key_length < 0) {
        r.fail(decode_error::bad_length); // Kafka rejects null header keys too
        return false;
    }
    bytes_view key = r.read_span(static_cast<size_t>(key_length));
    out.key = std::string_view(reinterpret_cast<const char*>(key.data()), key.size());
    out.value = read_varint_bytes(r);
    return r.ok();
}

// Parses the body of one record (everything after its length varint).
bool read_record_body(bytes_view body, record_view& out) {
    reader r(body);
    out.attributes = r.read_int8();
    out.timestamp_delta = r.read_varlong();
    out.offset_delta = r.read_varint();
    out.key = read_varint_bytes(r);
    out.value = read_varint_bytes(r);
    int32_t header_count = r.read_varint();
    // Each header takes at least two bytes, which bounds the reservation.
    if (!r.ok() || header_count < 0 || static_cast<size_t>(header_count) > r.remaining() / 2) {
        return false;
    }
    out.headers.clear();
    out.headers.reserve(static_cast<size_t>(header_count));
    for (int32_t i = 0; i < header_count; ++i) {
        header_view h;
        if (!read_header(r, h)) {
            return false;
        }
        out.headers.push_back(h);
    }
    r.expect_end();
    return r.ok();
}

batch_error from_compression_error(compression_error e) {
    switch (e) {
    case compression_error::none: return batch_error::none;
    case compression_error::unsupported_codec: return batch_error::unsupported_compression;
    case compression_error::output_too_large: return batch_error::too_large_when_decompressed;
    case compression_error::corrupt_input:
    case compression_error::input_too_large:
    case compression_error::codec_failure: return batch_error::bad_compression;
    }
    return batch_error::bad_compression;
}

// The checks every complete batch must pass before its records are read.
batch_error check_framing(bytes_view batch, const batch_header& h) {
    if (h.batch_length < batch_length_min || h.size_bytes() != batch.size()) {
        return batch_error::bad_length;
    }
    if (h.magic != batch_magic_v2) {
        return batch_error::bad_magic;
    }
    return batch_error::none;
}

// Offset deltas are distinct and within [0, last_offset_delta], so a batch can
// hold at most last_offset_delta + 1 records; producers fill every slot.
batch_error check_record_count(const batch_header& h, bool from_client) {
    if (h.record_count < 0 || h.last_offset_delta < 0) {
        return batch_error::bad_record_count;
    }
    int64_t slots = int64_t{h.last_offset_delta} + 1;
    if (h.record_count > slots) {
        return batch_error::bad_record_count;
    }
    if (from_client && (h.record_count == 0 || h.record_count != slots)) {
        return batch_error::bad_record_count;
    }
    return batch_error::none;
}

batch_error check_client_rules(const batch_header& h) {
    if (h.is_control()) {
        return batch_error::control_batch_from_client;
    }
    if (h.has_producer_id() && h.base_sequence < 0) {
        return batch_error::bad_sequence;
    }
    return batch_error::none;
}

batch_error walk_records(bytes_view batch, size_t decompressed_bytes_max) {
    auto opened = record_reader::open(batch, decompressed_bytes_max);
    if (!opened.ok()) {
        return opened.error();
    }
    record_reader& records = opened.value();
    // The reader checks that exactly record_count records fill the section
    // with rising offset deltas within [0, last_offset_delta]. For client
    // batches record_count == last_offset_delta + 1, so those deltas can only
    // be 0, 1, 2, ...: no further check is needed here.
    // Bounded: each record consumes at least one byte of a finite section.
    while (records.next()) {
    }
    return records.error();
}

// Record fields that a builder writes as int32 varints.
bool fits_int32(size_t n) {
    return n <= static_cast<size_t>(std::numeric_limits<int32_t>::max());
}

void write_varint_bytes(writer& w, const std::optional<bytes_view>& v) {
    if (!v) {
        w.write_varint(-1);
        return;
    }
    w.write_varint(static_cast<int32_t>(v->size()));
    w.write_raw(*v);
}

} // namespace

proto::timestamp_type batch_header::timestamp_type() const {
    return (attributes & batch_attribute::log_append_time) != 0 ? proto::timestamp_type::log_append_time
                                                                 : proto::timestamp_type::create_time;
}

int64_t batch_header::last_offset() const {
    // Wraps rather than overflows on a garbage header; validation rejects those.
    return static_cast<int64_t>(static_cast<uint64_t>(base_offset) + static_cast<uint64_t>(int64_t{last_offset_delta}));
}

size_t batch_header::size_bytes() const {
    return static_cast<size_t>(batch_length < 0 ? 0 : batch_length) + batch_log_overhead;
}

batch_header decode_batch_header(bytes_view batch) {
    assert(batch.size() >= batch_header_size);
    const uint8_t* p = batch.data();
    batch_header h;
    h.base_offset = load_be<int64_t>(p + batch_field::base_offset);
    h.batch_length = load_be<int32_t>(p + batch_field::batch_length);
    h.partition_leader_epoch = load_be<int32_t>(p + batch_field::partition_leader_epoch);
    h.magic = load_be<int8_t>(p + batch_field::magic);
    h.crc = load_be<uint32_t>(p + batch_field::crc);
    h.attributes = load_be<int16_t>(p + batch_field::attributes);
    h.last_offset_delta = load_be<int32_t>(p + batch_field::last_offset_delta);
    h.first_timestamp = load_be<int64_t>(p + batch_field::first_timestamp);
    h.max_timestamp = load_be<int64_t>(p + batch_field::max_timestamp);
    h.producer_id = load_be<int64_t>(p + batch_field::producer_id);
    h.producer_epoch = load_be<int16_t>(p + batch_field::producer_epoch);
    h.base_sequence = load_be<int32_t>(p + batch_field::base_sequence);
    h.record_count = load_be<int32_t>(p + batch_field::record_count);
    return h;
}

void write_batch_header(std::span<uint8_t> out, const batch_header& h) {
    assert(out.size() >= batch_header_size);
    uint8_t* p = out.data();
    store_be(p + batch_field::base_offset, h.base_offset);
    store_be(p + batch_field::batch_length, h.batch_length);
    store_be(p + batch_field::partition_leader_epoch, h.partition_leader_epoch);
    store_be(p + batch_field::magic, h.magic);
    store_be(p + batch_field::crc, h.crc);
    store_be(p + batch_field::attributes, h.attributes);
    store_be(p + batch_field::last_offset_delta, h.last_offset_delta);
    store_be(p + batch_field::first_timestamp, h.first_timestamp);
    store_be(p + batch_field::max_timestamp, h.max_timestamp);
    store_be(p + batch_field::producer_id, h.producer_id);
    store_be(p + batch_field::producer_epoch, h.producer_epoch);
    store_be(p + batch_field::base_sequence, h.base_sequence);
    store_be(p + batch_field::record_count, h.record_count);
}

uint32_t compute_batch_crc(bytes_view batch) {
    assert(batch.size() >= batch_header_size);
    return crc32c(batch.subspan(batch_crc_start));
}

std::string_view to_string(batch_error e) {
    switch (e) {
    case batch_error::none: return "none";
    case batch_error::too_short: return "shorter than a batch header";
    case batch_error::truncated: return "batch runs past the end of the buffer";
    case batch_error::bad_length: return "batch length disagrees with the batch";
    case batch_error::bad_magic: return "not a v2 record batch";
    case batch_error::bad_crc: return "CRC-32C mismatch";
    case batch_error::bad_record_count: return "bad record count";
    case batch_error::bad_records: return "malformed record";
    case batch_error::unsupported_compression: return "unsupported compression codec";
    case batch_error::bad_compression: return "compressed records do not decompress";
    case batch_error::too_large_when_decompressed: return "records decompress past the size limit";
    case batch_error::control_batch_from_client: return "clients may not write control batches";
    case batch_error::bad_sequence: return "producer id without a base sequence";
    case batch_error::too_large: return "too large for one batch";
    }
    return "unknown";
}

batch_error validate_batch(bytes_view batch, const validate_options& options) {
    if (batch.size() < batch_header_size) {
        return batch_error::too_short;
    }
    batch_header h = decode_batch_header(batch);
    if (auto e = check_framing(batch, h); e != batch_error::none) {
        return e;
    }
    if (h.crc != compute_batch_crc(batch)) {
        return batch_error::bad_crc;
    }
    if (auto e = check_record_count(h, options.from_client); e != batch_error::none) {
        return e;
    }
    if (!is_known_compression(h.compression_bits())) {
        return batch_error::unsupported_compression;
    }
    if (options.from_client) {
        if (auto e = check_client_rules(h); e != batch_error::none) {
            return e;
        }
    }
    return options.walk_records ? walk_records(batch, options.decompressed_bytes_max) : batch_error::none;
}

std::optional<bytes_view> batch_splitter::next() {
    if (error_ != batch_error::none) {
        return std::nullopt;
    }
    size_t left = buffer_.size() - position_;
    if (left == 0) {
        return std::nullopt;
    }
    if (left < batch_log_overhead) {
        error_ = batch_error::truncated;
        return std::nullopt;
    }
    const uint8_t* p = buffer_.data() + position_;
    int32_t length = load_be<int32_t>(p + batch_field::batch_length);
    if (length < batch_length_min) {
        error_ = batch_error::bad_length;
        return std::nullopt;
    }
    size_t size = static_cast<size_t>(length) + batch_log_overhead;
    if (size > left) {
        error_ = batch_error::truncated;
        return std::nullopt;
    }
    bytes_view batch = buffer_.subspan(position_, size);
    position_ += size;
    return batch;
}

bool header_view::operator==(const header_view& o) const {
    auto same = [](const std::optional<bytes_view>& a, const std::optional<bytes_view>& b) {
        if (a.has_value() != b.has_value()) {
            return false;
        }
        return !a || (a->size() == b->size() && std::equal(a->begin(), a->end(), b->begin()));
    };
    return key == o.key && same(value, o.value);
}

int64_t record_offset(const batch_header& header, const record_view& record) {
    return static_cast<int64_t>(static_cast<uint64_t>(header.base_offset) +
                                static_cast<uint64_t>(int64_t{record.offset_delta}));
}

int64_t record_timestamp(const batch_header& header, const record_view& record) {
    if (header.timestamp_type() == timestamp_type::log_append_time) {
        return header.max_timestamp;
    }
    return static_cast<int64_t>(static_cast<uint64_t>(header.first_timestamp) +
                                static_cast<uint64_t>(record.timestamp_delta));
}

outcome<record_reader, batch_error> record_reader::open(bytes_view batch, size_t decompressed_bytes_max) {
    if (batch.size() < batch_header_size) {
        return batch_error::too_short;
    }
    batch_header h = decode_batch_header(batch);
    if (auto e = check_framing(batch, h); e != batch_error::none) {
        return e;
    }
    if (h.record_count < 0) {
        return batch_error::bad_record_count;
    }
    if (!is_known_compression(h.compression_bits())) {
        return batch_error::unsupported_compression;
    }
    bytes_view section = batch.subspan(batch_header_size);
    bytes owned;
    if (h.compression() != compression_type::none) {
        compression_result plain = decompress(h.compression(), section, decompressed_bytes_max);
        if (!plain.ok()) {
            return from_compression_error(plain.error());
        }
        owned = std::move(plain).value();
        // A vector's heap buffer survives moves, so this view stays valid in
        // every record_reader the outcome is moved into.
        section = bytes_view(owned.data(), owned.size());
    }
    if (static_cast<size_t>(h.record_count) > section.size() / record_bytes_min) {
        return batch_error::bad_record_count; // cannot fit: refuse before walking
    }
    return record_reader(h, std::move(owned), section);
}

std::optional<record_view> record_reader::next() {
    if (finished_ || error_ != batch_error::none) {
        return std::nullopt;
    }
    if (records_read_ == header_.record_count) {
        finished_ = true;
        if (position_ != records_.size()) {
            error_ = batch_error::bad_record_count; // more records than counted
        }
        return std::nullopt;
    }
    if (position_ == records_.size()) {
        error_ = batch_error::bad_record_count; // fewer records than counted
        return std::nullopt;
    }
    record_view r;
    error_ = read_one(r);
    if (error_ != batch_error::none) {
        return std::nullopt;
    }
    ++records_read_;
    return r;
}

batch_error record_reader::read_one(record_view& out) {
    reader r(records_.subspan(position_));
    int32_t length = r.read_varint();
    if (!r.ok() || length < 0 || static_cast<size_t>(length) > r.remaining()) {
        return batch_error::bad_records;
    }
    bytes_view body = r.read_span(static_cast<size_t>(length));
    if (!read_record_body(body, out)) {
        return batch_error::bad_records;
    }
    if (out.offset_delta <= previous_offset_delta_ || out.offset_delta > header_.last_offset_delta) {
        return batch_error::bad_records;
    }
    previous_offset_delta_ = out.offset_delta;
    position_ += r.position();
    return batch_error::none;
}

batch_error batch_builder::add(int64_t timestamp, std::optional<bytes_view> key, std::optional<bytes_view> value,
                               std::span<const header_view> headers) {
    if (record_count_ == std::numeric_limits<int32_t>::max()) {
        return batch_error::too_large;
    }
    bool sizes_fit = (!key || fits_int32(key->size())) && (!value || fits_int32(value->size())) &&
                     fits_int32(headers.size());
    for (const header_view& h : headers) {
        sizes_fit = sizes_fit && fits_int32(h.key.size()) && (!h.value || fits_int32(h.value->size()));
    }
    if (!sizes_fit) {
        return batch_error::too_large;
    }
    if (record_count_ == 0) {
        first_timestamp_ = timestamp;
        max_timestamp_ = timestamp;
    }
    writer body;
    body.write_int8(0); // record attributes: unused by every Kafka version so far
    body.write_varlong(static_cast<int64_t>(static_cast<uint64_t>(timestamp) - static_cast<uint64_t>(first_timestamp_)));
    body.write_varint(record_count_);
    write_varint_bytes(body, key);
    write_varint_bytes(body, value);
    body.write_varint(static_cast<int32_t>(headers.size()));
    for (const header_view& h : headers) {
        body.write_varint(static_cast<int32_t>(h.key.size()));
        body.write_raw(h.key);
        write_varint_bytes(body, h.value);
    }
    size_t record_size = unsigned_varint_size(body.size() * 2) + body.size(); // zigzag doubles the length
    if (!fits_int32(body.size()) || record_size > records_bytes_max - records_.size()) {
        return batch_error::too_large;
    }
    records_.write_varint(static_cast<int32_t>(body.size()));
    records_.write_raw(body.buffer());
    max_timestamp_ = std::max(max_timestamp_, timestamp);
    ++record_count_;
    return batch_error::none;
}

outcome<bytes, batch_error> batch_builder::build() const {
    assert(record_count_ > 0);
    bytes_view plain(records_.buffer());
    bytes section_storage;
    if (options_.compression != compression_type::none) {
        compression_result packed = compress(options_.compression, plain);
        if (!packed.ok()) {
            return batch_error::bad_compression;
        }
        section_storage = std::move(packed).value();
        plain = bytes_view(section_storage);
    }
    if (plain.size() > records_bytes_max) {
        return batch_error::too_large; // compression made it bigger, past the limit
    }
    batch_header h;
    h.base_offset = options_.base_offset;
    h.batch_length = static_cast<int32_t>(batch_length_min + plain.size());
    h.partition_leader_epoch = options_.partition_leader_epoch;
    h.magic = batch_magic_v2;
    h.attributes = static_cast<int16_t>(static_cast<int16_t>(options_.compression) |
                                        (options_.transactional ? batch_attribute::transactional : 0) |
                                        (options_.control ? batch_attribute::control : 0));
    h.last_offset_delta = record_count_ - 1;
    h.first_timestamp = first_timestamp_;
    h.max_timestamp = max_timestamp_;
    h.producer_id = options_.producer_id;
    h.producer_epoch = options_.producer_epoch;
    h.base_sequence = options_.base_sequence;
    h.record_count = record_count_;
    bytes out(batch_header_size + plain.size());
    std::memcpy(out.data() + batch_header_size, plain.data(), plain.size());
    write_batch_header(out, h);
    store_be(out.data() + batch_field::crc, compute_batch_crc(out));
    return out;
}

void set_base_offset(std::span<uint8_t> batch, int64_t base_offset) {
    assert(batch.size() >= batch_header_size);
    store_be(batch.data() + batch_field::base_offset, base_offset);
}

void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t partition_leader_epoch) {
    assert(batch.size() >= batch_header_size);
    store_be(batch.data() + batch_field::partition_leader_epoch, partition_leader_epoch);
}

void set_log_append_time(std::span<uint8_t> batch, int64_t timestamp) {
    assert(batch.size() >= batch_header_size);
    batch_header h = decode_batch_header(batch);
    assert(h.size_bytes() == batch.size() && "the CRC must cover exactly one whole batch");
    if (h.timestamp_type() == timestamp_type::log_append_time && h.max_timestamp == timestamp) {
        return; // nothing changes, so the CRC stays right
    }
    auto attributes = static_cast<int16_t>(h.attributes | batch_attribute::log_append_time);
    store_be(batch.data() + batch_field::attributes, attributes);
    store_be(batch.data() + batch_field::max_timestamp, timestamp);
    store_be(batch.data() + batch_field::crc, compute_batch_crc(batch));
}

} // namespace runnel::proto
