// Encoding and checked decoding of Raft messages (grammar in codec.h's
// companion section of docs/ARCHITECTURE.md).
#include "raft/codec.h"

namespace runnel::raft {

namespace {

constexpr uint8_t flag_pre_vote = 1;
constexpr uint8_t flag_transfer = 2;
constexpr uint8_t flag_granted = 2;

void encode_body(proto::writer& w, const vote_request& b) {
    w.write_int8(static_cast<int8_t>((b.pre_vote ? flag_pre_vote : 0) | (b.leadership_transfer ? flag_transfer : 0)));
    w.write_int64(b.last_log_index.value());
    w.write_int64(b.last_log_term.value());
}
void encode_body(proto::writer& w, const vote_response& b) {
    w.write_int8(static_cast<int8_t>((b.pre_vote ? flag_pre_vote : 0) | (b.granted ? flag_granted : 0)));
}
void encode_body(proto::writer& w, const append_request& b) {
    w.write_int64(b.prev_log_index.value());
    w.write_int64(b.prev_log_term.value());
    w.write_int64(b.commit_index.value());
    w.write_array_length(static_cast<int32_t>(b.entries.size()));
    for (const auto& e : b.entries) {
        w.write_int64(e.term.value());
        w.write_int8(static_cast<int8_t>(e.type));
        w.write_bytes(e.data);
    }
}
void encode_body(proto::writer& w, const append_response& b) {
    w.write_bool(b.rejected);
    w.write_int64(b.index.value());
    w.write_int64(b.hint_index.value());
    w.write_int64(b.hint_term.value());
}
void encode_body(proto::writer& w, const heartbeat_request& b) {
    w.write_int64(b.commit_index.value());
    w.write_int64(static_cast<int64_t>(b.read_round));
}
void encode_body(proto::writer& w, const heartbeat_response& b) { w.write_int64(static_cast<int64_t>(b.read_round)); }
void encode_body(proto::writer& w, const install_snapshot_request& b) {
    encode(w, b.snapshot.metadata);
    w.write_bytes(b.snapshot.data);
}
void encode_body(proto::writer& w, const read_index_request& b) { w.write_int64(static_cast<int64_t>(b.request_id)); }
void encode_body(proto::writer& w, const read_index_response& b) {
    w.write_int64(static_cast<int64_t>(b.request_id));
    w.write_bool(b.rejected);
    w.write_int64(b.index.value());
}
void encode_body(proto::writer&, const timeout_now&) {}

bool valid_term(int64_t t) { return t >= 0; }
bool valid_index(int64_t i) { return i >= 0; }

vote_request decode_vote_request(proto::reader& r) {
    const auto flags = static_cast<uint8_t>(r.read_int8());
    vote_request b{.pre_vote = (flags & flag_pre_vote) != 0,
                   .leadership_transfer = (flags & flag_transfer) != 0,
                   .last_log_index = log_index(r.read_int64()),
                   .last_log_term = raft_term(r.read_int64())};
    if (!valid_index(b.last_log_index.value()) || !valid_term(b.last_log_term.value())) {
        r.fail(proto::decode_error::bad_length);
    }
    return b;
}

vote_response decode_vote_response(proto::reader& r) {
    const auto flags = static_cast<uint8_t>(r.read_int8());
    return vote_response{.pre_vote = (flags & flag_pre_vote) != 0, .granted = (flags & flag_granted) != 0};
}

append_request decode_append_request(proto::reader& r, raft_term message_term) {
    append_request b;
    b.prev_log_index = log_index(r.read_int64());
    b.prev_log_term = raft_term(r.read_int64());
    b.commit_index = log_index(r.read_int64());
    const int32_t n = r.read_array_length();
    if (n < 0 || static_cast<size_t>(n) > message_entries_max || !valid_index(b.prev_log_index.value()) ||
        !valid_term(b.prev_log_term.value()) || !valid_index(b.commit_index.value())) {
        r.fail(proto::decode_error::bad_length);
        return b;
    }
    raft_term previous = b.prev_log_term;
    for (int32_t k = 0; k < n && r.ok(); ++k) {
        entry e;
        e.index = b.prev_log_index + (k + 1);
        e.term = raft_term(r.read_int64());
        const auto type = static_cast<uint8_t>(r.read_int8());
        e.data = r.read_bytes();
        // Terms in a log never decrease, and a leader never sends entries
        // from a term later than its own.
        if (type > entry_type_max || e.term < previous || e.term > message_term) {
            r.fail(proto::decode_error::bad_length);
            break;
        }
        e.type = static_cast<entry_type>(type);
        if (e.type == entry_type::configuration && !decode_configuration(e.data)) {
            r.fail(proto::decode_error::bad_length);
            break;
        }
        previous = e.term;
        b.entries.push_back(std::move(e));
    }
    return b;
}

append_response decode_append_response(proto::reader& r) {
    append_response b;
    b.rejected = r.read_bool();
    b.index = log_index(r.read_int64());
    b.hint_index = log_index(r.read_int64());
    b.hint_term = raft_term(r.read_int64());
    if (!valid_index(b.index.value()) || !valid_index(b.hint_index.value()) || !valid_term(b.hint_term.value())) {
        r.fail(proto::decode_error::bad_length);
    }
    return b;
}

message_body decode_body(proto::reader& r, message_type type, raft_term term) {
    switch (type) {
    case message_type::vote_request:
        return decode_vote_request(r);
    case message_type::vote_response:
        return decode_vote_response(r);
    case message_type::append_request:
        return decode_append_request(r, term);
    case message_type::append_response:
        return decode_append_response(r);
    case message_type::heartbeat_request: {
        heartbeat_request b{.commit_index = log_index(r.read_int64()),
                            .read_round = static_cast<uint64_t>(r.read_int64())};
        if (!valid_index(b.commit_index.value())) {
            r.fail(proto::decode_error::bad_length);
        }
        return b;
    }
    case message_type::heartbeat_response:
        return heartbeat_response{static_cast<uint64_t>(r.read_int64())};
    case message_type::install_snapshot_request: {
        install_snapshot_request b;
        b.snapshot.metadata = decode_snapshot_metadata(r);
        b.snapshot.data = r.read_bytes();
        if (b.snapshot.metadata.term > term) {
            r.fail(proto::decode_error::bad_length);
        }
        return b;
    }
    case message_type::read_index_request:
        return read_index_request{static_cast<uint64_t>(r.read_int64())};
    case message_type::read_index_response: {
        read_index_response b;
        b.request_id = static_cast<uint64_t>(r.read_int64());
        b.rejected = r.read_bool();
        b.index = log_index(r.read_int64());
        if (!valid_index(b.index.value())) {
            r.fail(proto::decode_error::bad_length);
        }
        return b;
    }
    case message_type::timeout_now:
        return timeout_now{};
    }
    r.fail(proto::decode_error::bad_length);
    return timeout_now{};
}

} // namespace

void encode(proto::writer& w, const message& m) {
    w.write_int8(static_cast<int8_t>(m.type()));
    w.write_int32(m.from.value());
    w.write_int32(m.to.value());
    w.write_int64(m.term.value());
    std::visit([&w](const auto& b) { encode_body(w, b); }, m.body);
}

proto::bytes encode(const message& m) {
    proto::writer w;
    encode(w, m);
    return w.release();
}

std::optional<message> decode_message(proto::bytes_view data) {
    proto::reader r(data);
    const auto type = static_cast<uint8_t>(r.read_int8());
    message m;
    m.from = node_id(r.read_int32());
    m.to = node_id(r.read_int32());
    m.term = raft_term(r.read_int64());
    if (!r.ok() || type > message_type_max || m.from.value() < 0 || m.to.value() < 0 || m.from == m.to ||
        !valid_term(m.term.value())) {
        return std::nullopt;
    }
    m.body = decode_body(r, static_cast<message_type>(type), m.term);
    r.expect_end();
    if (!r.ok()) {
        return std::nullopt;
    }
    return m;
}

void encode(proto::writer& w, const entry& e) {
    w.write_int64(e.index.value());
    w.write_int64(e.term.value());
    w.write_int8(static_cast<int8_t>(e.type));
    w.write_bytes(e.data);
}

entry decode_entry(proto::reader& r) {
    entry e;
    e.index = log_index(r.read_int64());
    e.term = raft_term(r.read_int64());
    const auto type = static_cast<uint8_t>(r.read_int8());
    e.data = r.read_bytes();
    if (type > entry_type_max || !valid_index(e.index.value()) || !valid_term(e.term.value())) {
        r.fail(proto::decode_error::bad_length);
        return e;
    }
    e.type = static_cast<entry_type>(type);
    return e;
}

void encode(proto::writer& w, const snapshot_metadata& s) {
    w.write_int64(s.index.value());
    w.write_int64(s.term.value());
    encode(w, s.config);
}

snapshot_metadata decode_snapshot_metadata(proto::reader& r) {
    snapshot_metadata s;
    s.index = log_index(r.read_int64());
    s.term = raft_term(r.read_int64());
    s.config = decode_configuration(r);
    if (!valid_index(s.index.value()) || !valid_term(s.term.value())) {
        r.fail(proto::decode_error::bad_length);
    }
    return s;
}

} // namespace runnel::raft
