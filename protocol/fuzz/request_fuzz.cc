// libFuzzer target for request frames, as the broker's request loop sees them:
// the input is one frame body (what follows the int32 size). It decodes the
// request header at the version the API and version call for, then the body
// of that API for every API and version in the specs, and checks that a
// request which decodes re-encodes into bytes that decode to the same request.
//
// Run with `--write-seeds=DIR` to write a seed frame for every API's default
// request at its lowest and highest version (then it exits).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <tuple>

#include "protocol/fuzz/seed_files.h"
#include "protocol/messages/api_table.h"

namespace {

using namespace runnel::proto;

// Bytes every request header version starts with: api key, api version and
// correlation id.
constexpr size_t header_fixed_bytes = 8;
constexpr std::string_view seed_client_id = "runnel-seed";
// Small enough that inputs of a few KiB can spend it (an empty string in an
// array costs 32 bytes or more).
constexpr size_t decode_budget_bytes = 16 * 1024;

void require(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "request_fuzz: %s\n", what);
        std::abort();
    }
}

int16_t read_be16(const uint8_t* p) {
    return static_cast<int16_t>((uint16_t{p[0]} << 8) | p[1]);
}

template <typename Message>
bytes encode(const Message& m, int16_t version) {
    writer w;
    m.encode(w, version);
    return w.release();
}

// Struct equality, except where a message carries float64 values: a NaN
// never equals itself, so those are compared by their encodings.
template <typename Message>
bool same_message(const Message& a, const Message& b, int16_t) {
    return a == b;
}
bool same_message(const alter_client_quotas_request& a, const alter_client_quotas_request& b, int16_t version) {
    return encode(a, version) == encode(b, version);
}

// The differential check: `first` decoded from client bytes; its encoding
// must decode without error to an equal message, and encoding is then a
// fixed point (a second round gives the same bytes).
template <typename Message>
void check_reencode(const Message& first, int16_t version) {
    const bytes encoded = encode(first, version);
    Message second;
    reader r(encoded);
    second.decode(r, version);
    r.expect_end();
    require(r.ok(), "re-encoded message does not decode");
    require(same_message(first, second, version), "re-encoded message decodes to a different message");
    require(encode(second, version) == encoded, "encoding is not a fixed point");
}

// Decodes the body like the broker's dispatcher: the same reader continues
// after the header, and bytes after the body are ignored (as Kafka's broker
// ignores them: older librdkafka sends some). The
// broker's reader carries a decode budget; here a small one (so that it runs
// out on some inputs) is checked against decoding without one: the budget may
// only turn a success into over_budget, never change what is decoded.
template <typename Request>
void check_body(reader& r, int16_t version, bytes_view body) {
    Request request;
    request.decode(r, version);
    if (r.ok()) {
        check_reencode(request, version);
    }

    decode_budget budget{decode_budget_bytes};
    reader budgeted(body, &budget);
    Request limited;
    limited.decode(budgeted, version);
    if (budgeted.ok()) {
        require(r.ok() && same_message(limited, request, version), "a budget changed what was decoded");
    } else if (budgeted.error() != decode_error::over_budget) {
        require(budgeted.error() == r.error(), "a budget changed the decode error");
    }
}

template <typename Api>
bool try_api(int16_t key, int16_t version, reader& r, bytes_view body) {
    if (Api::key != key) {
        return false;
    }
    if (version >= Api::min_version && version <= Api::max_version) {
        check_body<typename Api::request_type>(r, version, body);
    }
    return true;
}

template <typename... Apis>
void dispatch(std::tuple<Apis...>*, int16_t key, int16_t version, reader& r, bytes_view body) {
    const bool known = (try_api<Apis>(key, version, r, body) || ...);
    require(known == (find_api(key) != nullptr), "all_apis and api_infos disagree about a key");
}

void check_frame(bytes_view frame) {
    if (frame.size() < header_fixed_bytes) {
        return; // the broker closes the connection before decoding anything
    }
    const int16_t key = read_be16(frame.data());
    const int16_t version = read_be16(frame.data() + 2);
    const api_info* api = find_api(key);
    if (api == nullptr || version < api->min_version || version > api->max_version) {
        return; // refused (or answered by a fixed ApiVersions v0) without decoding
    }
    reader r(frame);
    request_header header;
    const int16_t header_version = request_header_version(key, version);
    header.decode(r, header_version);
    if (!r.ok()) {
        return;
    }
    require(header.request_api_key == key && header.request_api_version == version,
            "header fields differ from the raw bytes");
    check_reencode(header, header_version);
    dispatch(static_cast<all_apis*>(nullptr), key, version, r, frame.subspan(r.position()));
}

// ---------------------------------------------------------------- seed writer

template <typename Api>
bool write_seed(const std::string& dir, int16_t version) {
    request_header header;
    header.request_api_key = Api::key;
    header.request_api_version = version;
    header.correlation_id = 1;
    header.client_id = std::string(seed_client_id);
    writer w;
    header.encode(w, request_header_version(Api::key, version));
    typename Api::request_type{}.encode(w, version);

    const std::string path =
        dir + "/default-" + std::string(find_api(Api::key)->name) + "-v" + std::to_string(version);
    return runnel::fuzz::write_file(path, w.buffer());
}

template <typename... Apis>
bool write_seeds(std::tuple<Apis...>*, const std::string& dir) {
    return ((write_seed<Apis>(dir, Apis::min_version) && write_seed<Apis>(dir, Apis::max_version)) && ...);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
    runnel::fuzz::write_seeds_if_asked(*argc, *argv,
                                       [](const std::string& dir) { return write_seeds(static_cast<all_apis*>(nullptr), dir); });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    check_frame(bytes_view(data, size));
    return 0;
}
