// Implementation of the Kafka wire primitives declared in wire.h.
#include "protocol/wire.h"

#include <bit>
#include <cstring>
#include <limits>

namespace runnel::proto {

namespace {
constexpr char base64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr size_t uuid_text_size = 22;
} // namespace

bool uuid::is_zero() const {
    for (auto b : data) {
        if (b != 0) {
            return false;
        }
    }
    return true;
}

std::string uuid::to_string() const {
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (uint8_t b : data) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(base64url_alphabet[(acc >> bits) & 0x3f]);
        }
    }
    if (bits > 0) {
        out.push_back(base64url_alphabet[(acc << (6 - bits)) & 0x3f]);
    }
    return out;
}

std::optional<uuid> uuid::from_string(std::string_view text) {
    if (text.size() != uuid_text_size) {
        return std::nullopt;
    }
    uuid out;
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (char c : text) {
        const char* p = std::strchr(base64url_alphabet, c);
        if (c == '\0' || p == nullptr) {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<uint32_t>(p - base64url_alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n < out.data.size()) {
                out.data[n++] = static_cast<uint8_t>(acc >> bits);
            }
        }
    }
    return out;
}

std::string_view to_string(decode_error e) {
    switch (e) {
    case decode_error::none: return "none";
    case decode_error::short_read: return "short read";
    case decode_error::bad_length: return "bad length";
    case decode_error::bad_varint: return "bad varint";
    case decode_error::null_not_allowed: return "null not allowed";
    case decode_error::trailing_bytes: return "trailing bytes";
    case decode_error::over_budget: return "decoded size over the request's budget";
    }
    return "unknown";
}

double reader::read_float64() {
    return std::bit_cast<double>(read_be<uint64_t>());
}

uint64_t reader::read_unsigned_varlong() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t b = read_be<uint8_t>();
        if (!ok()) {
            return 0;
        }
        v |= static_cast<uint64_t>(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            return v;
        }
    }
    fail(decode_error::bad_varint);
    return 0;
}

uint32_t reader::read_unsigned_varint() {
    uint32_t v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        uint8_t b = read_be<uint8_t>();
        if (!ok()) {
            return 0;
        }
        if (shift == 28 && (b & 0xf0) != 0) {
            fail(decode_error::bad_varint);
            return 0;
        }
        v |= static_cast<uint32_t>(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            return v;
        }
    }
    fail(decode_error::bad_varint);
    return 0;
}

int32_t reader::read_varint() {
    uint32_t u = read_unsigned_varint();
    return static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1));
}

int64_t reader::read_varlong() {
    uint64_t u = read_unsigned_varlong();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

uuid reader::read_uuid() {
    uuid out;
    auto s = read_span(out.data.size());
    if (ok()) {
        std::memcpy(out.data.data(), s.data(), s.size());
    }
    return out;
}

std::optional<size_t> reader::checked_length(int64_t n, bool nullable) {
    if (!ok()) {
        return std::nullopt;
    }
    if (n < 0) {
        if (n != -1 || !nullable) {
            fail(n == -1 ? decode_error::null_not_allowed : decode_error::bad_length);
        }
        return std::nullopt;
    }
    if (static_cast<uint64_t>(n) > remaining()) {
        fail(decode_error::short_read);
        return std::nullopt;
    }
    return static_cast<size_t>(n);
}

bytes_view reader::read_span(size_t n) {
    if (!ok() || input_.size() - pos_ < n) {
        fail(decode_error::short_read);
        return {};
    }
    auto s = input_.subspan(pos_, n);
    pos_ += n;
    return s;
}

void reader::expect_end() {
    if (ok() && pos_ != input_.size()) {
        fail(decode_error::trailing_bytes);
    }
}

namespace {
std::string to_std_string(bytes_view s) {
    return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}
} // namespace

std::string reader::read_string() {
    auto n = checked_length(read_int16(), false);
    return n ? to_std_string(read_span(*n)) : std::string();
}

std::optional<std::string> reader::read_nullable_string() {
    auto n = checked_length(read_int16(), true);
    if (!n) {
        return std::nullopt;
    }
    return to_std_string(read_span(*n));
}

std::string reader::read_compact_string() {
    auto n = checked_length(static_cast<int64_t>(read_unsigned_varint()) - 1, false);
    return n ? to_std_string(read_span(*n)) : std::string();
}

std::optional<std::string> reader::read_compact_nullable_string() {
    auto n = checked_length(static_cast<int64_t>(read_unsigned_varint()) - 1, true);
    if (!n) {
        return std::nullopt;
    }
    return to_std_string(read_span(*n));
}

bytes reader::read_bytes() {
    auto n = checked_length(read_int32(), false);
    if (!n) {
        return {};
    }
    auto s = read_span(*n);
    return bytes(s.begin(), s.end());
}

std::optional<bytes> reader::read_nullable_bytes() {
    auto n = checked_length(read_int32(), true);
    if (!n) {
        return std::nullopt;
    }
    auto s = read_span(*n);
    return bytes(s.begin(), s.end());
}

bytes reader::read_compact_bytes() {
    auto n = checked_length(static_cast<int64_t>(read_unsigned_varint()) - 1, false);
    if (!n) {
        return {};
    }
    auto s = read_span(*n);
    return bytes(s.begin(), s.end());
}

std::optional<bytes> reader::read_compact_nullable_bytes() {
    auto n = checked_length(static_cast<int64_t>(read_unsigned_varint()) - 1, true);
    if (!n) {
        return std::nullopt;
    }
    auto s = read_span(*n);
    return bytes(s.begin(), s.end());
}

int32_t reader::read_array_length() {
    int32_t n = read_int32();
    if (!ok()) {
        return 0;
    }
    if (n < -1 || (n > 0 && static_cast<size_t>(n) > remaining())) {
        fail(decode_error::bad_length);
        return 0;
    }
    return n;
}

int32_t reader::read_compact_array_length() {
    uint32_t u = read_unsigned_varint();
    if (!ok()) {
        return 0;
    }
    int64_t n = static_cast<int64_t>(u) - 1;
    if (n > 0 && static_cast<uint64_t>(n) > remaining()) {
        fail(decode_error::bad_length);
        return 0;
    }
    return static_cast<int32_t>(n);
}

void writer::write_float64(double v) {
    write_be(std::bit_cast<uint64_t>(v));
}

void writer::write_unsigned_varlong(uint64_t v) {
    while (v >= 0x80) {
        buf_.push_back(static_cast<uint8_t>(v | 0x80));
        v >>= 7;
    }
    buf_.push_back(static_cast<uint8_t>(v));
}

void writer::write_unsigned_varint(uint32_t v) {
    write_unsigned_varlong(v);
}

void writer::write_varint(int32_t v) {
    uint32_t u = v;
    write_unsigned_varint((u << 1) ^ static_cast<uint32_t>(v >> 31));
}

void writer::write_varlong(int64_t v) {
    uint64_t u = v;
    write_unsigned_varlong((u << 1) ^ static_cast<uint64_t>(v >> 63));
}

void writer::write_string(std::string_view v) {
    write_int16(static_cast<int16_t>(v.size()));
    write_raw(v);
}

void writer::write_nullable_string(const std::optional<std::string>& v) {
    if (!v) {
        write_int16(-1);
        return;
    }
    write_string(*v);
}

void writer::write_compact_string(std::string_view v) {
    write_unsigned_varint(static_cast<uint32_t>(v.size() + 1));
    write_raw(v);
}

void writer::write_compact_nullable_string(const std::optional<std::string>& v) {
    if (!v) {
        write_unsigned_varint(0);
        return;
    }
    write_compact_string(*v);
}

void writer::write_bytes(bytes_view v) {
    write_int32(static_cast<int32_t>(v.size()));
    write_raw(v);
}

void writer::write_nullable_bytes(const std::optional<bytes>& v) {
    if (!v) {
        write_int32(-1);
        return;
    }
    write_bytes(*v);
}

void writer::write_compact_bytes(bytes_view v) {
    write_unsigned_varint(static_cast<uint32_t>(v.size() + 1));
    write_raw(v);
}

void writer::write_compact_nullable_bytes(const std::optional<bytes>& v) {
    if (!v) {
        write_unsigned_varint(0);
        return;
    }
    write_compact_bytes(*v);
}

void writer::patch_int32(size_t at, int32_t v) {
    auto u = static_cast<uint32_t>(v);
    for (size_t i = 0; i < 4; ++i) {
        buf_[at + i] = static_cast<uint8_t>(u >> (8 * (3 - i)));
    }
}

size_t unsigned_varint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

} // namespace runnel::proto
