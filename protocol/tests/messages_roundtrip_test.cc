// Round-trips every generated message at every version it has, with random
// field values, and checks that truncated encodings are always rejected.
#include <gtest/gtest.h>

#include <tuple>

#include "protocol/messages/api_table.h"
#include "protocol/messages/testing/fill_random.h"

namespace runnel::proto {
namespace {

constexpr int seeds_per_version = 12;

template <typename Message>
void check_round_trip(int16_t version, uint64_t seed) {
    testing::random_source rng(seed);
    Message original;
    testing::fill_random(rng, original, version);

    writer w;
    original.encode(w, version);
    const bytes encoded = w.release();

    Message decoded;
    reader r(encoded);
    decoded.decode(r, version);
    r.expect_end();
    ASSERT_TRUE(r.ok()) << Message::message_name << " v" << version << " seed " << seed << ": "
                        << to_string(r.error()) << " at byte " << r.position() << " of " << encoded.size();
    ASSERT_TRUE(decoded == original) << Message::message_name << " v" << version << " seed " << seed;

    writer again;
    decoded.encode(again, version);
    ASSERT_EQ(again.buffer(), encoded) << Message::message_name << " v" << version << " seed " << seed;

    // Every strict prefix of a valid encoding is missing bytes the decoder
    // needs, so it must fail, and must not read past what it was given.
    for (size_t cut = 0; cut < encoded.size(); cut += 1 + encoded.size() / 16) {
        Message partial;
        reader pr(bytes_view(encoded.data(), cut));
        partial.decode(pr, version);
        pr.expect_end();
        ASSERT_FALSE(pr.ok()) << Message::message_name << " v" << version << " seed " << seed << " cut " << cut;
    }
}

template <typename Message>
void check_all_versions(int16_t min_version, int16_t max_version) {
    for (int16_t v = min_version; v <= max_version; ++v) {
        for (uint64_t seed = 0; seed < seeds_per_version; ++seed) {
            check_round_trip<Message>(v, seed * 7919 + static_cast<uint64_t>(v));
            if (::testing::Test::HasFatalFailure()) {
                return;
            }
        }
    }
}

template <typename Api>
struct api_round_trip : ::testing::Test {};

// One typed test instance per API key.
template <typename Tuple>
struct as_gtest_types;
template <typename... Ts>
struct as_gtest_types<std::tuple<Ts...>> {
    using type = ::testing::Types<Ts...>;
};
using all_api_types = as_gtest_types<all_apis>::type;

class api_name_generator {
public:
    template <typename Api>
    static std::string GetName(int) {
        return std::string(Api::request_type::message_name.substr(0, Api::request_type::message_name.size() - 7));
    }
};

TYPED_TEST_SUITE(api_round_trip, all_api_types, api_name_generator);

TYPED_TEST(api_round_trip, requests_every_version) {
    check_all_versions<typename TypeParam::request_type>(TypeParam::min_version, TypeParam::max_version);
}

TYPED_TEST(api_round_trip, responses_every_version) {
    check_all_versions<typename TypeParam::response_type>(TypeParam::min_version, TypeParam::max_version);
}

TEST(header_round_trip, request_and_response_headers) {
    check_all_versions<request_header>(request_header::min_version, request_header::max_version);
    check_all_versions<response_header>(response_header::min_version, response_header::max_version);
}

TEST(data_round_trip, non_api_messages) {
    check_all_versions<consumer_protocol_assignment>(0, consumer_protocol_assignment::max_version);
    check_all_versions<consumer_protocol_subscription>(0, consumer_protocol_subscription::max_version);
    check_all_versions<leader_change_message>(0, leader_change_message::max_version);
    check_all_versions<snapshot_header_record>(0, snapshot_header_record::max_version);
    check_all_versions<snapshot_footer_record>(0, snapshot_footer_record::max_version);
    check_all_versions<voters_record>(0, voters_record::max_version);
    check_all_versions<k_raft_version_record>(0, k_raft_version_record::max_version);
    check_all_versions<default_principal_data>(0, default_principal_data::max_version);
}

TEST(api_table, keys_unique_and_header_versions) {
    for (size_t i = 0; i < api_infos.size(); ++i) {
        for (size_t j = i + 1; j < api_infos.size(); ++j) {
            ASSERT_NE(api_infos[i].key, api_infos[j].key) << api_infos[i].name;
        }
    }
    EXPECT_EQ(request_header_version(static_cast<int16_t>(api_key::metadata), 8), 1);
    EXPECT_EQ(request_header_version(static_cast<int16_t>(api_key::metadata), 9), 2);
    EXPECT_EQ(response_header_version(static_cast<int16_t>(api_key::metadata), 9), 1);
    EXPECT_EQ(response_header_version(static_cast<int16_t>(api_key::api_versions), 3), 0);
    EXPECT_EQ(request_header_version(static_cast<int16_t>(api_key::controlled_shutdown), 0), 0);
    ASSERT_NE(find_api(0), nullptr);
    EXPECT_EQ(find_api(0)->name, "Produce");
    EXPECT_EQ(find_api(9999), nullptr);
}

} // namespace
} // namespace runnel::proto
