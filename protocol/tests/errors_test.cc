// Checks Kafka's error code numbers and names for a sample taken from the protocol guide.
#include <gtest/gtest.h>

#include "protocol/errors.h"

namespace runnel::proto {
namespace {

TEST(error_codes, numbers_and_names_match_kafka) {
    EXPECT_EQ(code(error_code::none), 0);
    EXPECT_EQ(code(error_code::unknown_server_error), -1);
    EXPECT_EQ(code(error_code::unknown_topic_or_partition), 3);
    EXPECT_EQ(code(error_code::unsupported_version), 35);
    EXPECT_EQ(code(error_code::kafka_storage_error), 56);
    EXPECT_EQ(code(error_code::member_id_required), 79);
    EXPECT_EQ(code(error_code::invalid_record), 87);
    EXPECT_EQ(code(error_code::unknown_topic_id), 100);
    EXPECT_EQ(error_name(error_code::unknown_topic_or_partition), "UNKNOWN_TOPIC_OR_PARTITION");
    EXPECT_EQ(error_name(int16_t{36}), "TOPIC_ALREADY_EXISTS");
    EXPECT_EQ(error_name(int16_t{9999}), "UNKNOWN_ERROR_CODE");
}

} // namespace
} // namespace runnel::proto
