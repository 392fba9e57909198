// Kafka wire primitives: a bounds-checked reader with a sticky error and an
// appending writer. Generated message codecs are written in terms of these.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::proto {

using bytes = std::vector<uint8_t>;
using bytes_view = std::span<const uint8_t>;

// A Kafka UUID (topic ids, directory ids): 16 bytes, all zero meaning "none".
struct uuid {
    std::array<uint8_t, 16> data{};

    bool is_zero() const;
    // Kafka prints UUIDs as URL-safe base64 without padding (22 characters).
    std::string to_string() const;
    static std::optional<uuid> from_string(std::string_view text);
    auto operator<=>(const uuid&) const = default;
};

// A tagged field this build does not know, kept verbatim so that it can be
// written back unchanged.
struct tagged_field {
    uint32_t tag = 0;
    bytes data;
    bool operator==(const tagged_field&) const = default;
};
using tagged_fields = std::vector<tagged_field>;

enum class decode_error : uint8_t {
    none = 0,
    short_read,     // a field runs past the end of the input
    bad_length,     // a negative or oversized length prefix
    bad_varint,     // a varint longer than its type allows
    null_not_allowed,
    trailing_bytes, // input left over where the caller expected the end
    over_budget,    // the decoded message would take more memory than its decode_budget
};
std::string_view to_string(decode_error e);

// A bound on the memory a decoder builds from one input. A length prefix is
// already bounded by the bytes left, but an element that is small on the wire
// can be large in memory (an empty string takes 2 bytes there and 32 here; a
// struct holding one, 80 or more), so without it a request of 100 MiB could
// decode into gigabytes. Decoders charge every array element and unknown
// tagged field its in-memory size (reader::charge); the owner of the input
// (the broker's connection) decides how much one request may build.
struct decode_budget {
    size_t bytes_left = 0;
};

// Reads big-endian Kafka primitives from a span it does not own. The first
// error sticks: later reads return zero values and never touch the input, so a
// decoder reads everything and checks ok() once at the end.
class reader {
public:
    // Without a budget, decoding is bounded by the input alone.
    explicit reader(bytes_view input, decode_budget* budget = nullptr) : input_(input), budget_(budget) {}
    // A reader over part of the input (a tagged field's bytes) that charges
    // the same budget.
    reader nested(bytes_view part) const { return reader(part, budget_); }
    // Charges n bytes of decoded memory; fails with over_budget once the
    // budget is spent.
    void charge(size_t n) {
        if (budget_ == nullptr || !ok()) {
            return;
        }
        if (n > budget_->bytes_left) {
            budget_->bytes_left = 0;
            fail(decode_error::over_budget);
            return;
        }
        budget_->bytes_left -= n;
    }

    bool ok() const { return error_ == decode_error::none; }
    decode_error error() const { return error_; }
    void fail(decode_error e) {
        if (ok()) {
            error_ = e;
        }
    }
    size_t remaining() const { return ok() ? input_.size() - pos_ : 0; }
    size_t position() const { return pos_; }

    int8_t read_int8() { return static_cast<int8_t>(read_be<uint8_t>()); }
    int16_t read_int16() { return static_cast<int16_t>(read_be<uint16_t>()); }
    int32_t read_int32() { return static_cast<int32_t>(read_be<uint32_t>()); }
    int64_t read_int64() { return static_cast<int64_t>(read_be<uint64_t>()); }
    uint16_t read_uint16() { return read_be<uint16_t>(); }
    uint32_t read_uint32() { return read_be<uint32_t>(); }
    bool read_bool() { return read_be<uint8_t>() != 0; }
    double read_float64();
    uint32_t read_unsigned_varint();
    uint64_t read_unsigned_varlong();
    int32_t read_varint();  // zigzag
    int64_t read_varlong(); // zigzag
    uuid read_uuid();

    std::string read_string();
    std::optional<std::string> read_nullable_string();
    std::string read_compact_string();
    std::optional<std::string> read_compact_nullable_string();
    bytes read_bytes();
    std::optional<bytes> read_nullable_bytes();
    bytes read_compact_bytes();
    std::optional<bytes> read_compact_nullable_bytes();

    // Array lengths: -1 means null. A length that cannot fit in the bytes
    // left (each element takes at least one byte) fails with bad_length.
    int32_t read_array_length();
    int32_t read_compact_array_length();

    // Returns the next n bytes, or an empty span and a short_read error.
    bytes_view read_span(size_t n);
    void skip(size_t n) { (void)read_span(n); }
    // Fails with trailing_bytes unless the input has been consumed.
    void expect_end();

private:
    template <typename T>
    T read_be() {
        if (!ok() || input_.size() - pos_ < sizeof(T)) {
            fail(decode_error::short_read);
            return 0;
        }
        T v = 0;
        for (size_t i = 0; i < sizeof(T); ++i) {
            v = static_cast<T>((v << 8) | input_[pos_ + i]);
        }
        pos_ += sizeof(T);
        return v;
    }
    // Length prefix n >= 0 (or -1 if nullable): checked against the bytes left.
    std::optional<size_t> checked_length(int64_t n, bool nullable);

    bytes_view input_;
    size_t pos_ = 0;
    decode_error error_ = decode_error::none;
    decode_budget* budget_ = nullptr; // not owned; null: no budget
};

// Appends big-endian Kafka primitives to a growing buffer.
class writer {
public:
    writer() = default;
    explicit writer(bytes initial) : buf_(std::move(initial)) {}

    void write_int8(int8_t v) { write_be(static_cast<uint8_t>(v)); }
    void write_int16(int16_t v) { write_be(static_cast<uint16_t>(v)); }
    void write_int32(int32_t v) { write_be(static_cast<uint32_t>(v)); }
    void write_int64(int64_t v) { write_be(static_cast<uint64_t>(v)); }
    void write_uint16(uint16_t v) { write_be(v); }
    void write_uint32(uint32_t v) { write_be(v); }
    void write_bool(bool v) { write_be(static_cast<uint8_t>(v ? 1 : 0)); }
    void write_float64(double v);
    void write_unsigned_varint(uint32_t v);
    void write_unsigned_varlong(uint64_t v);
    void write_varint(int32_t v);
    void write_varlong(int64_t v);
    void write_uuid(const uuid& v) { write_raw(v.data); }

    void write_string(std::string_view v);
    void write_nullable_string(const std::optional<std::string>& v);
    void write_compact_string(std::string_view v);
    void write_compact_nullable_string(const std::optional<std::string>& v);
    void write_bytes(bytes_view v);
    void write_nullable_bytes(const std::optional<bytes>& v);
    void write_compact_bytes(bytes_view v);
    void write_compact_nullable_bytes(const std::optional<bytes>& v);
    void write_array_length(int32_t n) { write_int32(n); }
    void write_compact_array_length(int32_t n) { write_unsigned_varint(static_cast<uint32_t>(n + 1)); }

    void write_raw(bytes_view v) { buf_.insert(buf_.end(), v.begin(), v.end()); }
    void write_raw(std::string_view v) { buf_.insert(buf_.end(), v.begin(), v.end()); }

    // Reserves four bytes to be filled in later with patch_int32.
    size_t reserve_int32() {
        size_t at = buf_.size();
        buf_.resize(at + 4);
        return at;
    }
    void patch_int32(size_t at, int32_t v);

    size_t size() const { return buf_.size(); }
    const bytes& buffer() const { return buf_; }
    bytes release() { return std::move(buf_); }

private:
    template <typename T>
    void write_be(T v) {
        for (size_t i = sizeof(T); i-- > 0;) {
            buf_.push_back(static_cast<uint8_t>(v >> (8 * i)));
        }
    }
    bytes buf_;
};

// Size in bytes of an unsigned varint, for callers that lay out frames.
size_t unsigned_varint_size(uint64_t v);

} // namespace runnel::proto
