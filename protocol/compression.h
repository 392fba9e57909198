// The record-batch compression codecs Kafka defines (gzip, snappy, lz4, zstd),
// with decompression that stops at a caller-given output limit so that a small
// hostile payload cannot expand into unbounded memory.
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "protocol/wire.h"

namespace runnel::proto {

// A value or an error code. E{} (the zero enumerator) means "no error", so an
// outcome holding an error never holds a value and vice versa.
template <typename T, typename E>
class [[nodiscard]] outcome {
public:
    outcome(T value) : value_(std::move(value)) {}
    outcome(E error) : error_(error) { assert(error != E{}); }

    bool ok() const { return error_ == E{}; }
    E error() const { return error_; }
    T& value() & {
        assert(ok());
        return *value_;
    }
    const T& value() const& {
        assert(ok());
        return *value_;
    }
    T&& value() && {
        assert(ok());
        return std::move(*value_);
    }

private:
    std::optional<T> value_;
    E error_{};
};

// The codec in bits 0..2 of a batch's attributes; the numbers are Kafka's.
enum class compression_type : int8_t {
    none = 0,
    gzip = 1,
    snappy = 2,
    lz4 = 3,
    zstd = 4,
};
std::string_view to_string(compression_type c);
// True for the five codecs above; the wire carries three bits, so 5..7 exist.
bool is_known_compression(int value);

enum class compression_error : uint8_t {
    none = 0,
    unsupported_codec, // not one of Kafka's codecs
    corrupt_input,     // the payload does not decode (bad header, checksum, truncation, trailing bytes)
    output_too_large,  // decoding would produce more than max_output_bytes
    input_too_large,   // the codec cannot take an input this big
    codec_failure,     // the library failed for a reason of its own (out of memory)
};
std::string_view to_string(compression_error e);

using compression_result = outcome<bytes, compression_error>;

// Compresses data the way Kafka's Java client does, so every client can read
// it: gzip with a gzip header, snappy in xerial (snappy-java) framing with
// 32 KiB blocks, lz4 frames of independent 64 KiB blocks, zstd frames at the
// default level. compression_type::none returns a copy.
compression_result compress(compression_type codec, bytes_view data);

// Decompresses a payload in any form clients send: gzip (several members
// allowed), snappy both raw and xerial-framed, lz4 frames, zstd frames. Fails
// with output_too_large as soon as the output would pass max_output_bytes.
// A zstd frame whose window (the history the decoder must allocate up front)
// is larger than 2^zstd_window_log_max(max_output_bytes) fails with
// output_too_large too, before anything is allocated.
compression_result decompress(compression_type codec, bytes_view data, size_t max_output_bytes);

// The largest zstd window (as a power of two) decompress() accepts for this
// output limit: the limit rounded up to a power of two, within 2^23..2^27.
unsigned zstd_window_log_max(size_t max_output_bytes);

} // namespace runnel::proto
