// The shard count the broker starts with, from num.io.threads and the cores.
#include <gtest/gtest.h>

#include "broker/shards.h"

namespace runnel::broker {
namespace {

TEST(shard_count, unset_leaves_a_core_to_the_rest_of_the_machine) {
    EXPECT_EQ(shard_count(std::nullopt, 0), 1u); // hardware_concurrency() may not know
    EXPECT_EQ(shard_count(std::nullopt, 1), 1u);
    EXPECT_EQ(shard_count(std::nullopt, 2), 1u);
    EXPECT_EQ(shard_count(std::nullopt, 4), 3u);
    EXPECT_EQ(shard_count(std::nullopt, 9), 8u);
    EXPECT_EQ(shard_count(std::nullopt, 64), 8u);
}

TEST(shard_count, a_configured_count_is_capped_at_the_cores) {
    EXPECT_EQ(shard_count(2, 2), 2u);
    EXPECT_EQ(shard_count(8, 2), 2u);
    EXPECT_EQ(shard_count(1, 16), 1u);
    EXPECT_EQ(shard_count(12, 16), 12u);
    EXPECT_EQ(shard_count(4, 0), 1u);
}

} // namespace
} // namespace runnel::broker
