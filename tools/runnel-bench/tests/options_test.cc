// runnel-bench's command line: defaults, each command's options, and usage errors.
#include <gtest/gtest.h>

#include "tools/runnel-bench/options.h"

namespace runnel::bench {
namespace {

parse_result parse(std::vector<std::string> args) { return parse_command_line(args); }

template <typename T>
T parse_ok(std::vector<std::string> args) {
    const auto r = parse(std::move(args));
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_TRUE(r.run.has_value());
    EXPECT_TRUE(std::holds_alternative<T>(*r.run));
    return std::get<T>(*r.run);
}

void expect_usage_error(std::vector<std::string> args, const std::string& fragment) {
    const auto r = parse(args);
    EXPECT_FALSE(r.run.has_value());
    EXPECT_NE(r.error.find(fragment), std::string::npos) << r.error;
}

TEST(options, produce_defaults) {
    const auto p = parse_ok<produce_command>({"produce"});
    EXPECT_EQ(p.common.bootstrap, "127.0.0.1:9092");
    EXPECT_EQ(p.common.topic, "runnel-bench");
    EXPECT_EQ(p.common.partitions, 6);
    EXPECT_FALSE(p.common.mock);
    EXPECT_EQ(p.common.broker_pid, 0);
    EXPECT_EQ(p.producer.records, 1'000'000);
    EXPECT_EQ(p.producer.record_size, 100);
    EXPECT_EQ(p.producer.acks, "1");
    EXPECT_EQ(p.producer.compression, "none");
    EXPECT_FALSE(p.producer.linger_ms.has_value());
    EXPECT_EQ(p.producer.rate, 0);
    EXPECT_EQ(p.producer.payload, payload_kind::random);
}

TEST(options, produce_everything) {
    const auto p = parse_ok<produce_command>(
        {"produce", "-b", "h:1", "--topic", "t", "--partitions", "3", "--topic-config", "flush.messages=1", "-X",
         "socket.nagle.disable=true", "--records", "20", "--record-size", "1024", "--acks", "-1", "--compression", "lz4",
         "--linger-ms", "0", "--batch-bytes", "65536", "--idempotence", "--rate", "1000", "--payload", "text",
         "--time-limit-s", "5", "--broker-pid", "42", "--no-progress", "--label", "suite 1"});
    EXPECT_EQ(p.common.bootstrap, "h:1");
    EXPECT_EQ(p.common.topic, "t");
    EXPECT_EQ(p.common.partitions, 3);
    ASSERT_EQ(p.common.topic_configs.size(), 1u);
    EXPECT_EQ(p.common.topic_configs[0], (key_value{"flush.messages", "1"}));
    EXPECT_EQ(p.common.client_properties[0], (key_value{"socket.nagle.disable", "true"}));
    EXPECT_EQ(p.producer.records, 20);
    EXPECT_EQ(p.producer.record_size, 1024);
    EXPECT_EQ(p.producer.acks, "all");
    EXPECT_EQ(p.producer.compression, "lz4");
    EXPECT_EQ(p.producer.linger_ms, 0);
    EXPECT_EQ(p.producer.batch_bytes, 65536);
    EXPECT_TRUE(p.producer.idempotence);
    EXPECT_EQ(p.producer.rate, 1000);
    EXPECT_EQ(p.producer.payload, payload_kind::text);
    EXPECT_EQ(p.common.time_limit_s, 5);
    EXPECT_EQ(p.common.broker_pid, 42);
    EXPECT_FALSE(p.common.progress);
    EXPECT_EQ(p.common.label, "suite 1");
}

TEST(options, consume_group_and_mock) {
    const auto c = parse_ok<consume_command>({"consume", "--group", "g1"});
    EXPECT_EQ(c.group, "g1");
    EXPECT_EQ(c.records, 0);
    const auto m = parse_ok<consume_command>({"consume", "--mock", "--records", "10", "--record-size", "16"});
    EXPECT_TRUE(m.common.mock);
    EXPECT_FALSE(m.group.has_value());
    EXPECT_EQ(m.records, 10);
    EXPECT_EQ(m.record_size, 16);
}

TEST(options, e2e_and_idle_and_baseline) {
    const auto e = parse_ok<e2e_command>({"e2e", "--rate", "10000", "--linger-ms", "0", "--warmup-s", "0.5"});
    EXPECT_EQ(e.producer.rate, 10000);
    EXPECT_EQ(e.warmup_s, 0.5);
    const auto i = parse_ok<idle_command>({"idle", "--partitions", "1000", "--connections", "1000"});
    EXPECT_EQ(i.common.partitions, 1000);
    EXPECT_EQ(i.connections, 1000);
    const auto b = parse_ok<baseline_command>({"baseline", "write-sync", "--dir", "/var/tmp", "--time-limit-s", "3"});
    EXPECT_EQ(b.kind, baseline_kind::write_sync);
    EXPECT_EQ(b.dir, "/var/tmp");
    EXPECT_EQ(b.block_bytes, 16384);
    EXPECT_EQ(b.time_limit_s, 3);
    EXPECT_FALSE(b.keep);
    EXPECT_TRUE(parse_ok<baseline_command>({"baseline", "write", "--keep"}).keep);
}

TEST(options, usage_errors) {
    expect_usage_error({}, "usage:");
    expect_usage_error({"fly"}, "unknown command 'fly'");
    expect_usage_error({"produce", "--acks", "2"}, "--acks must be");
    expect_usage_error({"produce", "--compression", "brotli"}, "--compression must be");
    expect_usage_error({"produce", "--idempotence"}, "--idempotence needs --acks all");
    expect_usage_error({"produce", "--records", "0"}, "--records must be between");
    expect_usage_error({"produce", "--time-limit-s", "nan"}, "--time-limit-s must be between");
    expect_usage_error({"produce", "--topic-config", "novalue"}, "wants key=value");
    expect_usage_error({"produce", "--payload", "zeros"}, "--payload must be");
    expect_usage_error({"produce", "extra"}, "unexpected argument 'extra'");
    expect_usage_error({"produce", "--rate"}, "rate");
    expect_usage_error({"e2e"}, "e2e needs --rate");
    expect_usage_error({"e2e", "--rate", "10", "--record-size", "8"}, "at least 16");
    expect_usage_error({"consume", "--mock"}, "needs --records");
    expect_usage_error({"idle", "--mock"}, "no --mock");
    expect_usage_error({"baseline"}, "needs a kind");
    expect_usage_error({"baseline", "disk"}, "baseline kind must be");
}

TEST(options, help) {
    const auto r = parse({"produce", "--help"});
    EXPECT_FALSE(r.run.has_value());
    EXPECT_NE(r.help.find("--linger-ms"), std::string::npos);
    EXPECT_NE(parse({"--help"}).help.find("baseline"), std::string::npos);
}

} // namespace
} // namespace runnel::bench
