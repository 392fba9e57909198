// Tests of runnelctl's command-line parsing: every command, defaults, and the
// usage errors a user can make.
#include "tools/runnelctl/options.h"

#include <gtest/gtest.h>

namespace runnel::ctl {
namespace {

parse_result parse(std::vector<std::string> args) { return parse_command_line(args); }

template <typename T>
T parse_ok(std::vector<std::string> args, global_options* global = nullptr) {
    auto r = parse(args);
    EXPECT_TRUE(r.run.has_value()) << r.error;
    if (!r.run) {
        return T{};
    }
    if (global) {
        *global = r.run->global;
    }
    const T* cmd = std::get_if<T>(&r.run->what);
    EXPECT_NE(cmd, nullptr);
    return cmd ? *cmd : T{};
}

void expect_usage_error(std::vector<std::string> args, std::string_view needle) {
    auto r = parse(args);
    EXPECT_FALSE(r.run.has_value());
    EXPECT_TRUE(r.help.empty());
    EXPECT_NE(r.error.find(needle), std::string::npos) << "error was: " << r.error;
}

TEST(options, global_defaults) {
    global_options g;
    parse_ok<topic_list_command>({"topic", "list"}, &g);
    EXPECT_EQ(g.bootstrap_server, "127.0.0.1:9092");
    EXPECT_EQ(g.timeout_ms, default_timeout_ms);
    EXPECT_TRUE(g.client_properties.empty());
}

TEST(options, global_options_before_and_after_the_command) {
    global_options g;
    auto c = parse_ok<topic_describe_command>(
        {"--bootstrap-server", "h:1", "topic", "-X", "a=b", "describe", "orders", "--timeout-ms", "500", "-Xc=d=e"}, &g);
    EXPECT_EQ(c.topic, "orders");
    EXPECT_EQ(g.bootstrap_server, "h:1");
    EXPECT_EQ(g.timeout_ms, 500);
    EXPECT_EQ(g.client_properties, (std::vector<key_value>{{"a", "b"}, {"c", "d=e"}}));
}

TEST(options, topic_create_with_everything) {
    auto c = parse_ok<topic_create_command>({"topic", "create", "t1", "--partitions", "6", "--replication-factor", "3",
                                             "--config", "retention.ms=1000", "--config=cleanup.policy=compact",
                                             "--validate-only"});
    EXPECT_EQ(c.topic, "t1");
    EXPECT_EQ(c.partitions, 6);
    EXPECT_EQ(c.replication_factor, 3);
    EXPECT_EQ(c.configs, (std::vector<key_value>{{"retention.ms", "1000"}, {"cleanup.policy", "compact"}}));
    EXPECT_TRUE(c.validate_only);
}

TEST(options, topic_create_defaults_leave_choices_to_the_broker) {
    auto c = parse_ok<topic_create_command>({"topic", "create", "t1"});
    EXPECT_EQ(c.partitions, -1);
    EXPECT_EQ(c.replication_factor, -1);
    EXPECT_FALSE(c.validate_only);
}

TEST(options, topic_create_rejects_bad_values) {
    expect_usage_error({"topic", "create", "t", "--partitions", "0"}, "--partitions must be");
    expect_usage_error({"topic", "create", "t", "--partitions", "six"}, "partitions");
    expect_usage_error({"topic", "create", "t", "--replication-factor", "0"}, "--replication-factor must be");
    expect_usage_error({"topic", "create", "t", "--config", "novalue"}, "key=value");
    expect_usage_error({"topic", "create", "t", "--config", "=v"}, "key=value");
    expect_usage_error({"topic", "create"}, "needs a topic name");
    expect_usage_error({"topic", "create", "a", "b"}, "");
}

TEST(options, topic_alter_config_keeps_the_order_of_changes) {
    auto c = parse_ok<topic_alter_config_command>({"topic", "alter-config", "t", "--set", "retention.ms=5", "--delete",
                                                   "cleanup.policy", "--append", "x=1", "--set", "a=", "--subtract",
                                                   "y=2"});
    EXPECT_EQ(c.topic, "t");
    EXPECT_EQ(c.changes, (std::vector<config_change>{{config_operation::set, "retention.ms", "5"},
                                                     {config_operation::remove, "cleanup.policy", ""},
                                                     {config_operation::append, "x", "1"},
                                                     {config_operation::set, "a", ""},
                                                     {config_operation::subtract, "y", "2"}}));
}

TEST(options, topic_alter_config_needs_a_change) {
    expect_usage_error({"topic", "alter-config", "t"}, "at least one");
    expect_usage_error({"topic", "alter-config", "t", "--delete", "a=b"}, "--delete wants a config name");
    expect_usage_error({"topic", "alter-config", "t", "--set", "a"}, "--set wants key=value");
}

TEST(options, produce_defaults) {
    auto c = parse_ok<produce_command>({"produce", "t"});
    EXPECT_EQ(c.topic, "t");
    EXPECT_FALSE(c.key_separator.has_value());
    EXPECT_FALSE(c.partition.has_value());
    EXPECT_EQ(c.compression, compression_codec::none);
    EXPECT_EQ(c.acks, acks_all);
    EXPECT_FALSE(c.idempotent);
    EXPECT_EQ(c.line_bytes_max, default_line_bytes_max);
}

TEST(options, produce_with_everything) {
    auto c = parse_ok<produce_command>({"produce", "t", "--key-separator", ":", "--header", "a=1", "--header", "b=",
                                        "--partition", "2", "--compression", "zstd", "--acks", "1", "--print-offsets",
                                        "--line-bytes-max", "100"});
    EXPECT_EQ(c.key_separator, ":");
    EXPECT_EQ(c.headers, (std::vector<key_value>{{"a", "1"}, {"b", ""}}));
    EXPECT_EQ(c.partition, 2);
    EXPECT_EQ(c.compression, compression_codec::zstd);
    EXPECT_EQ(c.acks, 1);
    EXPECT_TRUE(c.print_offsets);
    EXPECT_EQ(c.line_bytes_max, 100u);
}

TEST(options, produce_acks_spellings) {
    EXPECT_EQ(parse_ok<produce_command>({"produce", "t", "--acks", "all"}).acks, acks_all);
    EXPECT_EQ(parse_ok<produce_command>({"produce", "t", "--acks=-1"}).acks, acks_all);
    EXPECT_EQ(parse_ok<produce_command>({"produce", "t", "--acks", "0"}).acks, 0);
    expect_usage_error({"produce", "t", "--acks", "2"}, "--acks must be");
}

TEST(options, produce_rejects_bad_values) {
    expect_usage_error({"produce", "t", "--compression", "brotli"}, "--compression must be");
    expect_usage_error({"produce", "t", "--idempotent", "--acks", "1"}, "--idempotent needs --acks all");
    expect_usage_error({"produce", "t", "--key-separator", ""}, "--key-separator is empty");
    expect_usage_error({"produce", "t", "--line-bytes-max", "0"}, "--line-bytes-max");
    expect_usage_error({"produce", "t", "--header", "nokey"}, "--header wants key=value");
    expect_usage_error({"produce"}, "needs a topic name");
}

TEST(options, consume_start_positions) {
    EXPECT_EQ(parse_ok<consume_command>({"consume", "t"}).start, start_kind::end);
    EXPECT_EQ(parse_ok<consume_command>({"consume", "t", "--from-beginning"}).start, start_kind::beginning);
    auto o = parse_ok<consume_command>({"consume", "t", "--offset", "42"});
    EXPECT_EQ(o.start, start_kind::offset);
    EXPECT_EQ(o.start_value, 42);
    auto ts = parse_ok<consume_command>({"consume", "t", "--timestamp", "1700000000000"});
    EXPECT_EQ(ts.start, start_kind::timestamp);
    EXPECT_EQ(ts.start_value, 1700000000000);
    expect_usage_error({"consume", "t", "--from-beginning", "--offset", "1"}, "at most one");
    expect_usage_error({"consume", "t", "--offset=-1"}, "--offset must be >= 0");
}

TEST(options, consume_output_and_limits) {
    auto c = parse_ok<consume_command>({"consume", "t", "--partition", "3", "--max-messages", "10", "--exit-at-end",
                                        "--format", "%k\\t%v\\n"});
    EXPECT_EQ(c.partition, 3);
    EXPECT_EQ(c.max_messages, 10);
    EXPECT_TRUE(c.exit_at_end);
    EXPECT_EQ(c.format, "%k\\t%v\\n");
    EXPECT_FALSE(c.json);
    EXPECT_TRUE(parse_ok<consume_command>({"consume", "t", "--json"}).json);
    expect_usage_error({"consume", "t", "--json", "--format", "%v"}, "not both");
    expect_usage_error({"consume", "t", "--max-messages", "0"}, "--max-messages must be >= 1");
    expect_usage_error({"consume", "t", "--partition=-2"}, "--partition must be >= 0");
}

TEST(options, group_commands) {
    auto list = parse_ok<group_list_command>({"group", "list", "--state", "Stable", "--state", "empty", "--json"});
    EXPECT_EQ(list.states, (std::vector<std::string>{"Stable", "empty"}));
    EXPECT_TRUE(list.json);
    auto describe = parse_ok<group_describe_command>({"group", "describe", "g1"});
    EXPECT_EQ(describe.group, "g1");
    EXPECT_FALSE(describe.json);
    EXPECT_EQ(parse_ok<group_delete_command>({"group", "delete", "g2"}).group, "g2");
    expect_usage_error({"group", "describe"}, "needs a group id");
    expect_usage_error({"group", "rename", "g"}, "unknown command");
}

TEST(options, group_reset_offsets) {
    auto r = parse_ok<group_reset_offsets_command>({"group", "reset-offsets", "g", "--topic", "t", "--to-earliest"});
    EXPECT_EQ(r.group, "g");
    EXPECT_EQ(r.topic, "t");
    EXPECT_EQ(r.target, reset_target::earliest);
    EXPECT_FALSE(r.partition);
    EXPECT_FALSE(r.execute) << "a dry run unless --execute";
    r = parse_ok<group_reset_offsets_command>(
        {"group", "reset-offsets", "g", "--topic", "t", "--partition", "3", "--shift-by", "-5", "--execute"});
    EXPECT_EQ(r.target, reset_target::shift_by);
    EXPECT_EQ(r.value, -5);
    EXPECT_EQ(r.partition, 3);
    EXPECT_TRUE(r.execute);
    EXPECT_EQ(parse_ok<group_reset_offsets_command>({"group", "reset-offsets", "g", "--topic", "t", "--to-offset", "9"})
                  .value,
              9);
    EXPECT_EQ(parse_ok<group_reset_offsets_command>({"group", "reset-offsets", "g", "--topic", "t", "--to-latest"}).target,
              reset_target::latest);
    EXPECT_EQ(
        parse_ok<group_reset_offsets_command>({"group", "reset-offsets", "g", "--topic", "t", "--to-timestamp", "1"})
            .target,
        reset_target::timestamp);
    expect_usage_error({"group", "reset-offsets", "g", "--to-earliest"}, "needs --topic");
    expect_usage_error({"group", "reset-offsets", "g", "--topic", "t"}, "exactly one of");
    expect_usage_error({"group", "reset-offsets", "g", "--topic", "t", "--to-earliest", "--to-latest"}, "exactly one of");
    expect_usage_error({"group", "reset-offsets", "g", "--topic", "t", "--to-offset", "-1"}, "--to-offset");
}

TEST(options, unknown_commands_and_options) {
    expect_usage_error({}, "no command");
    expect_usage_error({"topik", "list"}, "unknown command 'topik'");
    expect_usage_error({"topic", "rename", "t"}, "unknown command 'topic rename'");
    expect_usage_error({"topic", "list", "--partitions", "3"}, "partitions");
    expect_usage_error({"consume", "t", "--bogus"}, "bogus");
    expect_usage_error({"--timeout-ms", "0", "topic", "list"}, "--timeout-ms must be");
    expect_usage_error({"--bootstrap-server", "", "topic", "list"}, "--bootstrap-server is empty");
}

TEST(options, help) {
    auto general = parse({"--help"});
    EXPECT_FALSE(general.run.has_value());
    EXPECT_NE(general.help.find("topic alter-config"), std::string::npos);
    auto produce = parse({"produce", "-h"});
    EXPECT_NE(produce.help.find("--key-separator"), std::string::npos);
    EXPECT_EQ(produce.help.find("--from-beginning"), std::string::npos);
}

TEST(options, parse_key_value) {
    EXPECT_EQ(parse_key_value("a=b"), (key_value{"a", "b"}));
    EXPECT_EQ(parse_key_value("a="), (key_value{"a", ""}));
    EXPECT_EQ(parse_key_value("a=b=c"), (key_value{"a", "b=c"}));
    EXPECT_FALSE(parse_key_value("=b").has_value());
    EXPECT_FALSE(parse_key_value("ab").has_value());
}

} // namespace
} // namespace runnel::ctl
