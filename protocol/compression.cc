// Kafka's four compression codecs over zlib, snappy, liblz4 (frame format) and
// libzstd. Every decoder appends through one bounded helper, so no codec can
// produce more than the caller's max_output_bytes.
#include "protocol/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <memory>

namespace runnel::proto {

namespace {

// A record batch is at most INT32_MAX bytes, so no payload is ever larger;
// this also keeps every length inside the 32-bit counters of zlib.
constexpr size_t compress_input_bytes_max = INT32_MAX;
// Decoders produce output through a scratch buffer of this size.
constexpr size_t scratch_bytes = 64 * 1024;

// xerial (snappy-java) framing: magic, then int32 version and int32 oldest
// compatible version, then blocks of int32 length + raw snappy data.
constexpr std::array<uint8_t, 8> xerial_magic = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00};
constexpr size_t xerial_header_bytes = xerial_magic.size() + 4 + 4;
constexpr int32_t xerial_version = 1;
constexpr int32_t xerial_compatible_version = 1;
// snappy-java's default block size, which Kafka's Java producer uses.
constexpr size_t xerial_block_bytes = 32 * 1024;

// A snappy element takes at least two input bytes and yields at most 64
// output bytes, so a raw stream never expands by a factor of 32, let alone
// this; a length header claiming more is a lie, refused before allocating.
constexpr size_t snappy_expansion_max = 64;

// Kafka's Java reader only accepts independent blocks; 64 KiB is its default.
constexpr LZ4F_blockSizeID_t lz4_block_size = LZ4F_max64KB;

// The window a zstd frame may ask for: the decoder allocates it from the
// frame header alone, before producing a byte. zstd's own ceiling is 128 MiB
// (2^27), far more than a bounded decompression can use: history further back
// than the whole output allowed is never referenced by a frame we accept. So
// the window is capped at the output limit rounded up to a power of two, but
// never below 8 MiB (the window of every compression level up to 19 on an
// unknown input size, so that streams of ordinary producers pass a small
// limit) nor above zstd's 128 MiB.
constexpr unsigned zstd_window_log_floor = 23;
constexpr unsigned zstd_window_log_ceiling = 27;

// gzip wrapper (not raw deflate, not zlib) for zlib's windowBits argument.
constexpr int gzip_window_bits = 15 + 16;
constexpr int gzip_mem_level = 8;

// Appends n bytes unless out would grow past max; out.size() <= max holds
// before and after.
bool append_bounded(bytes& out, const uint8_t* p, size_t n, size_t max) {
    assert(out.size() <= max);
    if (n > max - out.size()) {
        return false;
    }
    out.insert(out.end(), p, p + n);
    return true;
}

void put_int32_be(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

uint32_t get_uint32_be(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// ---- gzip ----

compression_result gzip_compress(bytes_view data) {
    z_stream zs{};
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, gzip_window_bits, gzip_mem_level, Z_DEFAULT_STRATEGY) != Z_OK) {
        return compression_error::codec_failure;
    }
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, deflateEnd);
    bytes out(deflateBound(&zs, static_cast<uLong>(data.size())));
    zs.next_in = const_cast<Bytef*>(data.data()); // zlib does not write through next_in
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    // deflateBound covers the whole output, so one Z_FINISH call completes.
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
        return compression_error::codec_failure;
    }
    out.resize(zs.total_out);
    return out;
}

compression_result gzip_decompress(bytes_view data, size_t max) {
    z_stream zs{};
    if (inflateInit2(&zs, gzip_window_bits) != Z_OK) {
        return compression_error::codec_failure;
    }
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
    zs.next_in = const_cast<Bytef*>(data.data());
    zs.avail_in = static_cast<uInt>(data.size());
    bytes out;
    bytes scratch(scratch_bytes);
    // Each pass consumes input or produces bounded output, or stops.
    for (;;) {
        zs.next_out = scratch.data();
        zs.avail_out = static_cast<uInt>(scratch.size());
        int rc = inflate(&zs, Z_NO_FLUSH);
        if (!append_bounded(out, scratch.data(), scratch.size() - zs.avail_out, max)) {
            return compression_error::output_too_large;
        }
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0) {
                return out;
            }
            // Another gzip member follows, as Java's GZIPInputStream allows.
            if (inflateReset(&zs) != Z_OK) {
                return compression_error::codec_failure;
            }
            continue;
        }
        if (rc == Z_OK) {
            continue;
        }
        if (rc == Z_MEM_ERROR) {
            return compression_error::codec_failure;
        }
        // Z_BUF_ERROR here means no progress: the input ended mid-stream.
        return compression_error::corrupt_input;
    }
}

// ---- snappy ----

compression_result snappy_compress_xerial(bytes_view data) {
    size_t blocks = (data.size() + xerial_block_bytes - 1) / xerial_block_bytes;
    bytes out(xerial_header_bytes + blocks * (4 + snappy::MaxCompressedLength(xerial_block_bytes)));
    std::memcpy(out.data(), xerial_magic.data(), xerial_magic.size());
    put_int32_be(out.data() + xerial_magic.size(), xerial_version);
    put_int32_be(out.data() + xerial_magic.size() + 4, xerial_compatible_version);
    size_t at = xerial_header_bytes;
    for (size_t pos = 0; pos < data.size(); pos += xerial_block_bytes) {
        size_t n = std::min(xerial_block_bytes, data.size() - pos);
        size_t written = 0;
        snappy::RawCompress(reinterpret_cast<const char*>(data.data() + pos), n, reinterpret_cast<char*>(out.data() + at + 4),
                            &written);
        put_int32_be(out.data() + at, static_cast<uint32_t>(written));
        at += 4 + written;
    }
    out.resize(at);
    return out;
}

// Decodes one raw snappy buffer, appending to out within max.
compression_error snappy_raw_append(bytes_view block, bytes& out, size_t max) {
    const char* src = reinterpret_cast<const char*>(block.data());
    size_t length = 0;
    if (!snappy::GetUncompressedLength(src, block.size(), &length)) {
        return compression_error::corrupt_input;
    }
    if (length / snappy_expansion_max > block.size()) {
        return compression_error::corrupt_input;
    }
    if (length > max - out.size()) {
        return compression_error::output_too_large;
    }
    size_t at = out.size();
    out.resize(at + length);
    if (!snappy::RawUncompress(src, block.size(), reinterpret_cast<char*>(out.data() + at))) {
        return compression_error::corrupt_input;
    }
    return compression_error::none;
}

compression_result snappy_decompress_xerial(bytes_view data, size_t max) {
    bytes out;
    size_t pos = xerial_header_bytes;
    // Each pass consumes at least the four length bytes.
    while (pos < data.size()) {
        if (data.size() - pos < 4) {
            return compression_error::corrupt_input;
        }
        uint32_t length = get_uint32_be(data.data() + pos);
        pos += 4;
        if (length > data.size() - pos) {
            return compression_error::corrupt_input;
        }
        if (auto e = snappy_raw_append(data.subspan(pos, length), out, max); e != compression_error::none) {
            return e;
        }
        pos += length;
    }
    return out;
}

bool has_xerial_header(bytes_view data) {
    return data.size() >= xerial_header_bytes && std::memcmp(data.data(), xerial_magic.data(), xerial_magic.size()) == 0;
}

compression_result snappy_decompress(bytes_view data, size_t max) {
    // librdkafka sends raw snappy, the Java client xerial framing; the magic
    // tells them apart the same way both clients' readers do.
    if (has_xerial_header(data)) {
        return snappy_decompress_xerial(data, max);
    }
    bytes out;
    if (auto e = snappy_raw_append(data, out, max); e != compression_error::none) {
        return e;
    }
    return out;
}

// ---- lz4 ----

compression_result lz4_compress(bytes_view data) {
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.blockSizeID = lz4_block_size;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    bytes out(LZ4F_compressFrameBound(data.size(), &prefs));
    size_t n = LZ4F_compressFrame(out.data(), out.size(), data.data(), data.size(), &prefs);
    if (LZ4F_isError(n)) {
        return compression_error::codec_failure;
    }
    out.resize(n);
    return out;
}

compression_result lz4_decompress(bytes_view data, size_t max) {
    LZ4F_dctx* raw_ctx = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&raw_ctx, LZ4F_VERSION))) {
        return compression_error::codec_failure;
    }
    std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> ctx(raw_ctx, LZ4F_freeDecompressionContext);
    bytes out;
    bytes scratch(scratch_bytes);
    size_t pos = 0;
    // Each pass consumes input or produces bounded output, or stops.
    for (;;) {
        size_t src = data.size() - pos;
        size_t dst = scratch.size();
        size_t hint = LZ4F_decompress(ctx.get(), scratch.data(), &dst, data.data() + pos, &src, nullptr);
        if (LZ4F_isError(hint)) {
            return compression_error::corrupt_input;
        }
        pos += src;
        if (!append_bounded(out, scratch.data(), dst, max)) {
            return compression_error::output_too_large;
        }
        if (hint == 0) {
            // A frame ended; the decoder is ready for a concatenated next one.
            if (pos == data.size()) {
                return out;
            }
            continue;
        }
        if (src == 0 && dst == 0) {
            return compression_error::corrupt_input; // the input ends inside a frame
        }
    }
}

// ---- zstd ----

compression_result zstd_compress(bytes_view data) {
    bytes out(ZSTD_compressBound(data.size()));
    size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), ZSTD_CLEVEL_DEFAULT);
    if (ZSTD_isError(n)) {
        return compression_error::codec_failure;
    }
    out.resize(n);
    return out;
}

} // namespace

unsigned zstd_window_log_max(size_t max_output_bytes) {
    unsigned log = zstd_window_log_floor;
    while (log < zstd_window_log_ceiling && (size_t{1} << log) < max_output_bytes) {
        ++log;
    }
    return log;
}

namespace {

compression_result zstd_decompress(bytes_view data, size_t max) {
    std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
    const int window_log = static_cast<int>(zstd_window_log_max(max));
    if (!ctx || ZSTD_isError(ZSTD_DCtx_setParameter(ctx.get(), ZSTD_d_windowLogMax, window_log))) {
        return compression_error::codec_failure;
    }
    bytes out;
    bytes scratch(scratch_bytes);
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    // Each pass consumes input or produces bounded output, or stops.
    for (;;) {
        ZSTD_outBuffer o{scratch.data(), scratch.size(), 0};
        size_t rc = ZSTD_decompressStream(ctx.get(), &o, &in);
        if (ZSTD_isError(rc)) {
            switch (ZSTD_getErrorCode(rc)) {
            case ZSTD_error_memory_allocation: return compression_error::codec_failure;
            // The frame asks for more history than the output limit can use.
            case ZSTD_error_frameParameter_windowTooLarge: return compression_error::output_too_large;
            default: return compression_error::corrupt_input;
            }
        }
        if (!append_bounded(out, scratch.data(), o.pos, max)) {
            return compression_error::output_too_large;
        }
        if (rc == 0 && in.pos == in.size) {
            return out; // the last frame is complete and flushed
        }
        if (rc != 0 && in.pos == in.size && o.pos == 0) {
            return compression_error::corrupt_input; // the input ends inside a frame
        }
    }
}

} // namespace

std::string_view to_string(compression_type c) {
    switch (c) {
    case compression_type::none: return "none";
    case compression_type::gzip: return "gzip";
    case compression_type::snappy: return "snappy";
    case compression_type::lz4: return "lz4";
    case compression_type::zstd: return "zstd";
    }
    return "unknown";
}

bool is_known_compression(int value) {
    return value >= static_cast<int>(compression_type::none) && value <= static_cast<int>(compression_type::zstd);
}

std::string_view to_string(compression_error e) {
    switch (e) {
    case compression_error::none: return "none";
    case compression_error::unsupported_codec: return "unsupported compression codec";
    case compression_error::corrupt_input: return "corrupt compressed data";
    case compression_error::output_too_large: return "decompressed data over the size limit";
    case compression_error::input_too_large: return "input too large to compress";
    case compression_error::codec_failure: return "compression library failure";
    }
    return "unknown";
}

compression_result compress(compression_type codec, bytes_view data) {
    if (data.size() > compress_input_bytes_max) {
        return compression_error::input_too_large;
    }
    switch (codec) {
    case compression_type::none: return bytes(data.begin(), data.end());
    case compression_type::gzip: return gzip_compress(data);
    case compression_type::snappy: return snappy_compress_xerial(data);
    case compression_type::lz4: return lz4_compress(data);
    case compression_type::zstd: return zstd_compress(data);
    }
    return compression_error::unsupported_codec;
}

compression_result decompress(compression_type codec, bytes_view data, size_t max_output_bytes) {
    if (data.size() > compress_input_bytes_max) {
        return compression_error::input_too_large;
    }
    switch (codec) {
    case compression_type::none: {
        bytes out;
        if (!append_bounded(out, data.data(), data.size(), max_output_bytes)) {
            return compression_error::output_too_large;
        }
        return out;
    }
    case compression_type::gzip: return gzip_decompress(data, max_output_bytes);
    case compression_type::snappy: return snappy_decompress(data, max_output_bytes);
    case compression_type::lz4: return lz4_decompress(data, max_output_bytes);
    case compression_type::zstd: return zstd_decompress(data, max_output_bytes);
    }
    return compression_error::unsupported_codec;
}

} // namespace runnel::proto
