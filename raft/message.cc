// Printable forms of Raft messages, for traces and the interaction tests.
#include "raft/message.h"

#include <fmt/format.h>

namespace runnel::raft {

static_assert(std::variant_size_v<message_body> == message_type_max + 1);
static_assert(std::is_same_v<std::variant_alternative_t<static_cast<size_t>(message_type::timeout_now), message_body>,
                             timeout_now>);
static_assert(std::is_same_v<std::variant_alternative_t<static_cast<size_t>(message_type::append_request), message_body>,
                             append_request>);

std::string_view to_string(message_type t) {
    constexpr std::string_view names[] = {
        "vote_request",      "vote_response",       "append_request",     "append_response",
        "heartbeat_request", "heartbeat_response",  "install_snapshot",   "read_index_request",
        "read_index_response", "timeout_now",
    };
    static_assert(std::size(names) == message_type_max + 1);
    return names[static_cast<size_t>(t)];
}

namespace {

std::string body_text(const vote_request& b) {
    return fmt::format(" last=({},{}){}{}", b.last_log_term.value(), b.last_log_index.value(),
                       b.pre_vote ? " pre-vote" : "", b.leadership_transfer ? " transfer" : "");
}
std::string body_text(const vote_response& b) {
    return fmt::format(" {}{}", b.granted ? "granted" : "rejected", b.pre_vote ? " pre-vote" : "");
}
std::string body_text(const append_request& b) {
    std::string entries;
    for (const auto& e : b.entries) {
        entries += entries.empty() ? "" : ", ";
        entries += describe(e);
    }
    return fmt::format(" prev=({},{}) commit={} entries=[{}]", b.prev_log_term.value(), b.prev_log_index.value(),
                       b.commit_index.value(), entries);
}
std::string body_text(const append_response& b) {
    if (b.rejected) {
        return fmt::format(" rejected index={} hint=({},{})", b.index.value(), b.hint_term.value(),
                           b.hint_index.value());
    }
    return fmt::format(" index={}", b.index.value());
}
std::string body_text(const heartbeat_request& b) {
    return fmt::format(" commit={} round={}", b.commit_index.value(), b.read_round);
}
std::string body_text(const heartbeat_response& b) { return fmt::format(" round={}", b.read_round); }
std::string body_text(const install_snapshot_request& b) {
    return fmt::format(" snapshot=({},{}) {} bytes={}", b.snapshot.metadata.term.value(),
                       b.snapshot.metadata.index.value(), describe(b.snapshot.metadata.config), b.snapshot.data.size());
}
std::string body_text(const read_index_request& b) { return fmt::format(" id={}", b.request_id); }
std::string body_text(const read_index_response& b) {
    if (b.rejected) {
        return fmt::format(" id={} rejected", b.request_id);
    }
    return fmt::format(" id={} index={}", b.request_id, b.index.value());
}
std::string body_text(const timeout_now&) { return {}; }

} // namespace

std::string describe(const message& m) {
    const std::string body = std::visit([](const auto& b) { return body_text(b); }, m.body);
    return fmt::format("{}->{} {} term={}{}", m.from.value(), m.to.value(), to_string(m.type()), m.term.value(), body);
}

} // namespace runnel::raft
