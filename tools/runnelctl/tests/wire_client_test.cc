// Tests of the bootstrap-server list parsing used by runnelctl's own protocol client.
#include "tools/runnelctl/wire_client.h"

#include <gtest/gtest.h>

namespace runnel::ctl {
namespace {

std::vector<std::pair<std::string, uint16_t>> parse_ok(const std::string& text) {
    std::string error;
    auto servers = parse_bootstrap_servers(text, &error);
    EXPECT_TRUE(servers.has_value()) << error;
    std::vector<std::pair<std::string, uint16_t>> out;
    for (const auto& s : servers.value_or(std::vector<host_port>{})) {
        out.emplace_back(s.host, s.port);
    }
    return out;
}

std::string parse_error(const std::string& text) {
    std::string error;
    EXPECT_FALSE(parse_bootstrap_servers(text, &error).has_value());
    return error;
}

TEST(parse_bootstrap_servers, one_or_many) {
    using list = std::vector<std::pair<std::string, uint16_t>>;
    EXPECT_EQ(parse_ok("127.0.0.1:9092"), (list{{"127.0.0.1", 9092}}));
    EXPECT_EQ(parse_ok("a:1,b.example:65535"), (list{{"a", 1}, {"b.example", 65535}}));
    EXPECT_EQ(parse_ok("[::1]:9092"), (list{{"::1", 9092}}));
}

TEST(parse_bootstrap_servers, malformed_entries_are_named) {
    EXPECT_NE(parse_error("localhost").find("'localhost' is not HOST:PORT"), std::string::npos);
    EXPECT_NE(parse_error("h:").find("'h:'"), std::string::npos);
    EXPECT_NE(parse_error(":9092").find("':9092'"), std::string::npos);
    EXPECT_NE(parse_error("h:0").find("'h:0'"), std::string::npos);
    EXPECT_NE(parse_error("h:65536").find("'h:65536'"), std::string::npos);
    EXPECT_NE(parse_error("h:12x").find("'h:12x'"), std::string::npos);
    EXPECT_NE(parse_error("a:1,,b:2").find("'' is not HOST:PORT"), std::string::npos);
    EXPECT_NE(parse_error("").find("'' is not HOST:PORT"), std::string::npos);
}

} // namespace
} // namespace runnel::ctl
