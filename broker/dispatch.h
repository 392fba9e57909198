// The table of request handlers, keyed by API key. It is built once at startup
// and is the only source of the ApiVersions answer, so the broker advertises
// exactly the APIs and versions it can serve.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include <asio/awaitable.hpp>

#include "broker/request_context.h"
#include "protocol/messages/api_table.h"
#include "protocol/wire.h"
#include "storage/partition_log.h"

namespace runnel::broker {

// Record data of a Fetch answer is not copied into the encoded bytes: each
// splice names a byte range of a segment file that the connection sends
// with sendfile(2) when it reaches position `at` of the bytes.
struct response_splice {
    size_t at = 0;
    storage::slice slice;
};

// A request's answer, encoded (without the response header).
struct response_body {
    proto::bytes bytes;
    std::vector<response_splice> splices; // ascending `at`, each <= bytes.size()

    response_body() = default;
    // Most answers are plain bytes.
    response_body(proto::bytes encoded) : bytes(std::move(encoded)) {}
    // The size on the wire: the bytes plus every splice.
    uint64_t size() const;
    // Appends the wire form to `out`, each splice read in from its file;
    // false (with the reason) when a file is shorter than its slice.
    bool append_to(proto::bytes& out, std::string* problem) const;
};

// The answer, or nothing when the request gets no response (Produce with acks=0).
using handler_result = std::optional<response_body>;

class dispatch_table {
public:
    // Decodes the body (the reader is positioned after the header), runs the
    // handler and encodes its response. A body that fails to decode returns
    // a decode error through `decode_failed` and no response.
    using entry_fn = asio::awaitable<handler_result> (*)(request_context&, proto::reader&, bool& decode_failed);

    struct entry {
        int16_t min_version = -1;
        int16_t max_version = -1;
        entry_fn fn = nullptr;
    };

    static constexpr size_t api_key_max = 128;

    // Registers Handler (an `awaitable<Api::response_type>(request_context&,
    // Api::request_type&)` function) for Api at [min_version, max_version].
    // Registering a key twice, or outside the spec's versions, is a bug.
    template <typename Api, auto Handler>
    void add(int16_t min_version, int16_t max_version);
    // The same for a handler that encodes its own answer, or gives none: an
    // `awaitable<handler_result>(request_context&, Api::request_type&)`.
    template <typename Api, auto Handler>
    void add_raw(int16_t min_version, int16_t max_version);

    const entry* find(int16_t api_key) const;
    bool supports(int16_t api_key, int16_t version) const;
    template <typename F>
    void for_each(F&& f) const {
        for (size_t k = 0; k < entries_.size(); ++k) {
            if (entries_[k].fn != nullptr) {
                f(static_cast<int16_t>(k), entries_[k]);
            }
        }
    }

private:
    void add_entry(int16_t key, int16_t spec_min, int16_t spec_max, entry e);
    std::array<entry, api_key_max> entries_{};
};

namespace detail {
template <typename Api, auto Handler>
asio::awaitable<handler_result> decode_and_run(request_context& ctx, proto::reader& r, bool& decode_failed) {
    typename Api::request_type request;
    request.decode(r, ctx.api_version);
    // Bytes after the body are ignored, as Kafka's broker ignores them:
    // librdkafka before 2.1 (Debian 12's 2.0.2) sends ListGroups v3+ with a
    // second tagged-field section and OffsetFetch v6+ for all partitions
    // with the unfinished placeholder of an array after the body.
    if (!r.ok()) {
        decode_failed = true;
        co_return std::nullopt;
    }
    typename Api::response_type response = co_await Handler(ctx, request);
    proto::writer w;
    response.encode(w, ctx.api_version);
    co_return w.release();
}

template <typename Api, auto Handler>
asio::awaitable<handler_result> decode_and_run_raw(request_context& ctx, proto::reader& r, bool& decode_failed) {
    typename Api::request_type request;
    request.decode(r, ctx.api_version);
    // Bytes after the body are ignored, as Kafka's broker ignores them:
    // librdkafka before 2.1 (Debian 12's 2.0.2) sends ListGroups v3+ with a
    // second tagged-field section and OffsetFetch v6+ for all partitions
    // with the unfinished placeholder of an array after the body.
    if (!r.ok()) {
        decode_failed = true;
        co_return std::nullopt;
    }
    co_return co_await Handler(ctx, request);
}
} // namespace detail

template <typename Api, auto Handler>
void dispatch_table::add(int16_t min_version, int16_t max_version) {
    add_entry(Api::key, Api::min_version, Api::max_version,
              entry{min_version, max_version, &detail::decode_and_run<Api, Handler>});
}

template <typename Api, auto Handler>
void dispatch_table::add_raw(int16_t min_version, int16_t max_version) {
    add_entry(Api::key, Api::min_version, Api::max_version,
              entry{min_version, max_version, &detail::decode_and_run_raw<Api, Handler>});
}

// Builds the table with every handler this broker has.
dispatch_table make_dispatch_table();

} // namespace runnel::broker
