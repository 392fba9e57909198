// Round trips and malformed input for the Raft message encoding.
#include <gtest/gtest.h>

#include "raft/codec.h"
#include "raft/random.h"

namespace runnel::raft {
namespace {

message sample_append() {
    append_request body{.prev_log_index = log_index(4), .prev_log_term = raft_term(2), .commit_index = log_index(3)};
    body.entries.push_back(entry{raft_term(2), log_index(5), entry_type::normal, {1, 2, 3}});
    body.entries.push_back(
        entry{raft_term(3), log_index(6), entry_type::configuration, encode(configuration{.voters = {node_id(1)}})});
    return message{node_id(1), node_id(2), raft_term(3), body};
}

TEST(codec, every_message_type_round_trips) {
    std::vector<message> messages = {
        message{node_id(1), node_id(2), raft_term(5),
                vote_request{.pre_vote = true, .leadership_transfer = true, .last_log_index = log_index(9),
                             .last_log_term = raft_term(4)}},
        message{node_id(2), node_id(1), raft_term(5), vote_response{.pre_vote = true, .granted = true}},
        sample_append(),
        message{node_id(2), node_id(1), raft_term(3),
                append_response{.rejected = true, .index = log_index(7), .hint_index = log_index(5),
                                .hint_term = raft_term(2)}},
        message{node_id(1), node_id(3), raft_term(3), heartbeat_request{log_index(6), 42}},
        message{node_id(3), node_id(1), raft_term(3), heartbeat_response{42}},
        message{node_id(1), node_id(3), raft_term(3),
                install_snapshot_request{snapshot{{log_index(10), raft_term(3), {.voters = {node_id(1), node_id(3)}}},
                                                  {9, 9}}}},
        message{node_id(3), node_id(1), raft_term(3), read_index_request{77}},
        message{node_id(1), node_id(3), raft_term(3), read_index_response{77, false, log_index(12)}},
        message{node_id(1), node_id(3), raft_term(3), timeout_now{}},
    };
    for (const message& m : messages) {
        auto decoded = decode_message(encode(m));
        ASSERT_TRUE(decoded.has_value()) << describe(m);
        EXPECT_EQ(describe(*decoded), describe(m));
        EXPECT_EQ(encode(*decoded), encode(m));
    }
}

TEST(codec, entries_get_their_indexes_from_prev) {
    auto decoded = decode_message(encode(sample_append()));
    ASSERT_TRUE(decoded.has_value());
    const auto& entries = decoded->as<append_request>().entries;
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].index, log_index(5));
    EXPECT_EQ(entries[1].index, log_index(6));
    EXPECT_EQ(entries[0].data, (proto::bytes{1, 2, 3}));
}

TEST(codec, every_truncation_is_rejected) {
    const proto::bytes full = encode(sample_append());
    for (size_t n = 0; n < full.size(); ++n) {
        EXPECT_FALSE(decode_message(proto::bytes_view(full.data(), n)).has_value()) << "prefix of " << n;
    }
    proto::bytes longer = full;
    longer.push_back(0);
    EXPECT_FALSE(decode_message(longer).has_value());
}

TEST(codec, entries_with_decreasing_or_future_terms_are_rejected) {
    message m = sample_append();
    std::get<append_request>(m.body).entries[1].term = raft_term(1); // below the previous entry
    EXPECT_FALSE(decode_message(encode(m)).has_value());
    m = sample_append();
    std::get<append_request>(m.body).entries[1].term = raft_term(9); // beyond the sender's term
    EXPECT_FALSE(decode_message(encode(m)).has_value());
}

TEST(codec, bad_type_and_self_addressed_messages_are_rejected) {
    proto::bytes b = encode(sample_append());
    b[0] = 0x7f;
    EXPECT_FALSE(decode_message(b).has_value());
    message m = sample_append();
    m.to = m.from;
    EXPECT_FALSE(decode_message(encode(m)).has_value());
}

TEST(codec, random_bytes_never_crash_the_decoder) {
    random_source random(1234);
    const proto::bytes valid = encode(sample_append());
    for (int round = 0; round < 20000; ++round) {
        proto::bytes b = valid;
        const int flips = 1 + static_cast<int>(random.below(4));
        for (int f = 0; f < flips; ++f) {
            b[random.below(b.size())] = static_cast<uint8_t>(random.next());
        }
        auto decoded = decode_message(b); // must not crash or read out of bounds (ASan)
        if (decoded) {
            EXPECT_NE(decoded->from, decoded->to);
        }
    }
}

} // namespace
} // namespace runnel::raft
