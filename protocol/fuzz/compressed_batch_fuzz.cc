// libFuzzer target for compressed record batches: corrupt compressed payloads
// and decompression bombs of every codec, alone and inside a signed batch.
// Besides "no crash" it checks that decompression never produces more than
// its limit, that the batch checks agree with the codec about the payload,
// and that a batch the builder made validates and reads back unchanged.
//
// Input, first byte: bits 0..2 the codec bits (5..7 are not codecs), bit 3
// picks the form of the rest:
//   0: record_count:uint8 payload...
//      The payload is the compressed records section of a hand-made header.
//   1: records:uint8 at:uint16 mask:uint8 cut:uint8 data...
//      `data` is split into that many record values (1..16), built into a
//      batch with the codec, then the records section is corrupted: byte `at`
//      (modulo its size) is xored with `mask` and `cut` bytes are cut from its
//      end; the length and CRC are fixed so that the damage reaches the codec.
//
// Run with `--write-seeds=DIR` to write the seeds: the compressed payloads of
// librdkafka's batches (protocol/tests/testdata), bombs of every codec, a zstd
// frame asking for a 128 MiB window, and built batches to corrupt.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <zstd.h>

#include "protocol/compression.h"
#include "protocol/crc32c.h"
#include "protocol/fuzz/seed_files.h"
#include "protocol/record_batch.h"

namespace {

using namespace runnel::proto;

// Small enough that a bomb of a few KiB passes it; big enough for real batches.
constexpr size_t decompressed_bytes_max = 1024 * 1024;
constexpr uint8_t codec_mask = 0x07;
constexpr uint8_t built_form = 0x08;
constexpr size_t built_prefix_bytes = 6; // form byte, records, at (2), mask, cut
constexpr size_t records_max = 16;
constexpr int64_t first_timestamp = 1'700'000'000'000;

void require(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "compressed_batch_fuzz: %s\n", what);
        std::abort();
    }
}

void put_be32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
    }
}

// Makes the header agree with the records section it now has: length, CRC.
void fix_length_and_crc(bytes& batch) {
    put_be32(batch.data() + batch_field::batch_length, static_cast<uint32_t>(batch.size() - batch_log_overhead));
    put_be32(batch.data() + batch_field::crc, compute_batch_crc(batch));
}

// A batch header for `payload` as the records section, signed.
bytes hand_made_batch(int codec_bits, int32_t record_count, bytes_view payload) {
    batch_header h;
    h.magic = 2;
    h.attributes = static_cast<int16_t>(codec_bits);
    h.last_offset_delta = record_count > 0 ? record_count - 1 : 0;
    h.first_timestamp = first_timestamp;
    h.max_timestamp = first_timestamp;
    h.producer_id = no_producer_id;
    h.producer_epoch = no_producer_epoch;
    h.base_sequence = no_sequence;
    h.record_count = record_count;
    bytes batch(batch_header_size);
    write_batch_header(batch, h);
    batch.insert(batch.end(), payload.begin(), payload.end());
    fix_length_and_crc(batch);
    return batch;
}

// Walks the records the way the broker's produce path does; returns the
// reader's verdict and the values it saw.
batch_error walk(bytes_view batch, std::vector<std::optional<bytes>>* values) {
    auto opened = record_reader::open(batch, decompressed_bytes_max);
    if (!opened.ok()) {
        return opened.error();
    }
    record_reader& reader = opened.value();
    // Bounded: every record consumes bytes of a finite section.
    while (auto r = reader.next()) {
        if (values != nullptr) {
            values->push_back(r->value ? std::optional<bytes>(bytes(r->value->begin(), r->value->end())) : std::nullopt);
        }
    }
    return reader.error();
}

// What the batch checks say about a codec verdict on the whole records section.
batch_error expected_from_codec(compression_error e) {
    switch (e) {
    case compression_error::none: return batch_error::none;
    case compression_error::output_too_large: return batch_error::too_large_when_decompressed;
    case compression_error::unsupported_codec: return batch_error::unsupported_compression;
    default: return batch_error::bad_compression;
    }
}

// The codec alone, then the same bytes as a batch: the batch's verdict on
// decompression must be the codec's.
void check_payload(int codec_bits, int32_t record_count, bytes_view payload) {
    const bool known = is_known_compression(codec_bits);
    const auto codec = static_cast<compression_type>(codec_bits);
    compression_error codec_verdict = compression_error::unsupported_codec;
    if (known) {
        compression_result plain = decompress(codec, payload, decompressed_bytes_max);
        codec_verdict = plain.error();
        if (plain.ok()) {
            require(plain.value().size() <= decompressed_bytes_max, "decompression passed its limit");
            // Our encoder's output of the same bytes reads back the same.
            compression_result again = compress(codec, plain.value());
            require(again.ok(), "compressing decompressed bytes failed");
            compression_result back = decompress(codec, again.value(), plain.value().size());
            require(back.ok() && back.value() == plain.value(), "compress/decompress round trip differs");
        }
    }

    const bytes batch = hand_made_batch(codec_bits, record_count, payload);
    const validate_options options{.from_client = false, .walk_records = true,
                                   .decompressed_bytes_max = decompressed_bytes_max};
    const batch_error verdict = validate_batch(batch, options);
    const batch_error walked = walk(batch, nullptr);
    if (codec_verdict != compression_error::none) {
        require(verdict == expected_from_codec(codec_verdict), "validate_batch disagrees with the codec");
        require(walked == verdict, "record_reader disagrees with validate_batch");
        return;
    }
    // The payload decompresses: whatever the records hold, both agree.
    require((verdict == batch_error::none) == (walked == batch_error::none),
            "record_reader and validate_batch disagree about a batch that decompresses");
}

// A batch the builder made from `values`, then corrupted as the input says.
void check_built(int codec_bits, bytes_view input) {
    if (!is_known_compression(codec_bits) || input.size() < built_prefix_bytes) {
        return;
    }
    const auto codec = static_cast<compression_type>(codec_bits);
    const size_t records = 1 + input[1] % records_max;
    const size_t at = (size_t{input[2]} << 8) | input[3];
    const uint8_t mask = input[4];
    const size_t cut = input[5];
    const bytes_view data = input.subspan(built_prefix_bytes);

    batch_builder builder(batch_options{.compression = codec});
    std::vector<std::optional<bytes>> values;
    for (size_t i = 0; i < records; ++i) {
        bytes_view value = data.subspan(data.size() * i / records, data.size() * (i + 1) / records - data.size() * i / records);
        values.emplace_back(bytes(value.begin(), value.end()));
        require(builder.add(first_timestamp + static_cast<int64_t>(i), std::nullopt, value) == batch_error::none,
                "the builder refused a record");
    }
    auto built = builder.build();
    require(built.ok(), "the builder failed");
    bytes batch = std::move(built).value();
    const validate_options client{.from_client = true, .walk_records = true,
                                  .decompressed_bytes_max = decompressed_bytes_max};
    require(validate_batch(batch, client) == batch_error::none, "a built batch does not validate");
    std::vector<std::optional<bytes>> read;
    require(walk(batch, &read) == batch_error::none && read == values, "a built batch reads back differently");

    // The damage: one byte and the tail of the records section.
    const size_t section = batch.size() - batch_header_size;
    if (section > 0) {
        batch[batch_header_size + at % section] ^= mask;
    }
    batch.resize(batch.size() - std::min(cut, section));
    fix_length_and_crc(batch);
    const batch_error verdict = validate_batch(batch, client);
    read.clear();
    const batch_error walked = walk(batch, &read);
    if (verdict == batch_error::none) {
        require(walked == batch_error::none, "record_reader refuses a batch validate_batch accepts");
        require(read.size() == records, "a damaged batch that validates has a different record count");
    }
}

// ---------------------------------------------------------------- seed writer

using runnel::fuzz::write_file;

bytes form_a(int codec_bits, uint8_t record_count, bytes_view payload) {
    bytes out{static_cast<uint8_t>(codec_bits), record_count};
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

bytes text(size_t size) {
    static constexpr std::string_view words = "kafka record batch offset leader epoch runnel ";
    bytes out(size);
    for (size_t i = 0; i < size; ++i) {
        out[i] = static_cast<uint8_t>(words[(i * 7 + i / 5) % words.size()]);
    }
    return out;
}

// A streamed zstd frame (no content size) whose header declares 2^27 bytes of window.
bytes zstd_huge_window_frame() {
    const bytes input = text(4000);
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 27);
    bytes packed(ZSTD_compressBound(input.size()) + 64);
    ZSTD_outBuffer out{packed.data(), packed.size(), 0};
    ZSTD_inBuffer first{input.data(), input.size() / 2, 0};
    ZSTD_compressStream2(cctx, &out, &first, ZSTD_e_continue);
    ZSTD_inBuffer rest{input.data() + input.size() / 2, input.size() - input.size() / 2, 0};
    ZSTD_compressStream2(cctx, &out, &rest, ZSTD_e_end);
    ZSTD_freeCCtx(cctx);
    packed.resize(out.pos);
    return packed;
}

bool write_seeds(const std::string& dir) {
    bool ok = true;
    const char* names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    for (int codec = 0; codec <= static_cast<int>(compression_type::zstd); ++codec) {
        // Real client traffic: librdkafka's batch of five records, as captured
        // by tools/capture_batches.py; its records section as form 0.
        const std::string source = std::string(RUNNEL_PROTOCOL_TESTDATA) + "/librdkafka_" + names[codec] + ".batch";
        std::ifstream in(source, std::ios::binary);
        const bytes batch((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (batch.size() <= batch_header_size) {
            std::fprintf(stderr, "cannot read %s\n", source.c_str());
            return false;
        }
        const int32_t count = decode_batch_header(batch).record_count;
        ok = ok && write_file(dir + "/librdkafka-" + names[codec],
                              form_a(codec, static_cast<uint8_t>(count), bytes_view(batch).subspan(batch_header_size)));
        // A batch to build and damage: five records of text, no damage yet.
        bytes built{static_cast<uint8_t>(built_form | codec), 4, 0, 30, 0, 0};
        const bytes values = text(3000);
        built.insert(built.end(), values.begin(), values.end());
        ok = ok && write_file(dir + "/built-" + names[codec], built);
        if (codec == 0) {
            continue;
        }
        // A bomb: zeros that expand past the 1 MiB limit from a small payload
        // (snappy expands at most ~21 times and lz4 ~255 times).
        const size_t zeros_bytes = codec == static_cast<int>(compression_type::snappy) ? 1536 * 1024
                                   : codec == static_cast<int>(compression_type::lz4) ? 8 << 20
                                                                                      : 64 << 20;
        const bytes zeros(zeros_bytes, 0);
        const bytes bomb = compress(static_cast<compression_type>(codec), zeros).value();
        ok = ok && write_file(dir + "/bomb-" + names[codec], form_a(codec, 1, bomb));
    }
    ok = ok && write_file(dir + "/zstd-128mib-window", form_a(static_cast<int>(compression_type::zstd), 1,
                                                             zstd_huge_window_frame()));
    return ok;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
    runnel::fuzz::write_seeds_if_asked(*argc, *argv, write_seeds);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) {
        return 0;
    }
    const bytes_view input(data, size);
    const int codec_bits = input[0] & codec_mask;
    if ((input[0] & built_form) != 0) {
        check_built(codec_bits, input);
    } else {
        check_payload(codec_bits, input[1], input.subspan(2));
    }
    return 0;
}
