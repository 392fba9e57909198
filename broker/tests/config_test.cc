// Tests of the broker configuration: Kafka's defaults, properties-file syntax,
// overrides, warnings for unknown keys, every validator's error, listener and
// voter syntax, the retention/roll synonym precedence, cross-key rules, and
// that the example configs in config/ load cleanly.
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "broker/config.h"
#include "broker/logging.h"
#include "broker/properties_file.h"

namespace runnel::broker {
namespace {

using ::testing::HasSubstr;

// A real directory under $TMPDIR, removed with everything in it at the end.
class temp_dir {
public:
    temp_dir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "runnel-config-test-XXXXXX").string();
        char* made = ::mkdtemp(pattern.data());
        EXPECT_NE(made, nullptr);
        path_ = pattern;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::filesystem::path write(const std::string& name, const std::string& text) const {
        std::filesystem::path file = path_ / name;
        std::ofstream(file, std::ios::binary) << text;
        return file;
    }

private:
    std::filesystem::path path_;
};

config_load_result load_text(const std::string& text, std::vector<std::string> overrides = {}) {
    temp_dir dir;
    return broker_config::load(dir.write("server.properties", text), overrides);
}

broker_config load_ok(const std::string& text, std::vector<std::string> overrides = {}) {
    config_load_result result = load_text(text, std::move(overrides));
    for (const config_error& e : result.errors) {
        ADD_FAILURE() << to_string(e);
    }
    if (!result.config) {
        return broker_config::defaults();
    }
    return std::move(*result.config);
}

// The one error a bad setting must produce; it names the key and the value.
config_error single_error(const std::string& text, std::vector<std::string> overrides = {}) {
    config_load_result result = load_text(text, std::move(overrides));
    EXPECT_FALSE(result.config.has_value());
    EXPECT_EQ(result.errors.size(), 1u);
    if (result.errors.empty()) {
        return {};
    }
    for (size_t i = 1; i < result.errors.size(); ++i) {
        ADD_FAILURE() << "extra error: " << to_string(result.errors[i]);
    }
    return result.errors.front();
}

void expect_rejected(const std::string& key, const std::string& value, const std::string& why) {
    config_error e = single_error(key + "=" + value + "\n");
    EXPECT_EQ(e.key, key);
    EXPECT_EQ(e.value, value);
    EXPECT_THAT(e.message, HasSubstr(why)) << to_string(e);
    EXPECT_THAT(to_string(e), HasSubstr(key));
    EXPECT_THAT(to_string(e), HasSubstr(value));
}

std::filesystem::path repo_root() {
    // __FILE__ is absolute in a CMake build: <repo>/broker/tests/config_test.cc.
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

TEST(config_defaults, match_kafka_where_the_concept_exists) {
    broker_config c = broker_config::defaults();
    EXPECT_EQ(c.node_id(), model::node_id(1));
    EXPECT_EQ(c.get_int32("broker.id"), 1); // follows node.id
    EXPECT_TRUE(c.roles().broker);
    EXPECT_TRUE(c.roles().controller);
    EXPECT_TRUE(c.controller_quorum_voters().empty());
    ASSERT_EQ(c.listeners().size(), 1u);
    EXPECT_EQ(c.listeners()[0], (listener{"PLAINTEXT", "", 9092}));
    EXPECT_EQ(c.advertised_listeners(), c.listeners());
    EXPECT_EQ(c.inter_broker_listener_name(), "PLAINTEXT");
    EXPECT_EQ(c.num_partitions(), 1);
    EXPECT_EQ(c.default_replication_factor(), 1);
    EXPECT_TRUE(c.auto_create_topics_enable());
    EXPECT_TRUE(c.delete_topic_enable());
    EXPECT_EQ(c.socket_request_max_bytes(), 104857600);
    EXPECT_EQ(c.socket_send_buffer_bytes(), 102400);
    EXPECT_EQ(c.message_max_bytes(), 1048588);
    EXPECT_EQ(c.max_connections(), std::numeric_limits<int32_t>::max());
    EXPECT_EQ(c.connections_max_idle_ms(), 600000);
    EXPECT_EQ(c.queued_max_requests(), 500);
    EXPECT_EQ(c.queued_max_request_bytes(), 268435456); // Runnel bounds it; Kafka does not (-1)
    EXPECT_EQ(c.num_network_threads(), 3);
    EXPECT_EQ(c.num_io_threads(), 8);
    EXPECT_EQ(c.log_segment_bytes(), 1073741824);
    EXPECT_EQ(c.log_roll_ms(), 168LL * 3600 * 1000);
    EXPECT_EQ(c.log_retention_ms(), 168LL * 3600 * 1000);
    EXPECT_EQ(c.log_retention_bytes(), -1);
    EXPECT_EQ(c.log_retention_check_interval_ms(), 300000);
    EXPECT_EQ(c.log_flush_interval_messages(), std::numeric_limits<int64_t>::max());
    EXPECT_TRUE(c.is_null("log.flush.interval.ms"));
    EXPECT_EQ(c.log_flush_interval_ms(), std::numeric_limits<int64_t>::max()); // from the scheduler interval
    EXPECT_EQ(c.log_index_interval_bytes(), 4096);
    EXPECT_EQ(c.log_index_size_max_bytes(), 10485760);
    EXPECT_EQ(c.log_cleanup_policy(), string_list{"delete"});
    EXPECT_TRUE(c.log_cleaner_enable());
    EXPECT_EQ(c.get_int64("log.cleaner.delete.retention.ms"), 86400000);
    EXPECT_EQ(c.get_int64("log.cleaner.min.compaction.lag.ms"), 0);
    EXPECT_EQ(c.log_message_timestamp_type(), "CreateTime");
    EXPECT_EQ(c.compression_type(), "producer");
    EXPECT_EQ(c.min_insync_replicas(), 1);
    EXPECT_FALSE(c.unclean_leader_election_enable());
    EXPECT_EQ(c.replica_lag_time_max_ms(), 30000);
    EXPECT_EQ(c.offsets_topic_num_partitions(), 50);
    EXPECT_EQ(c.offsets_topic_replication_factor(), 3);
    EXPECT_EQ(c.offsets_retention_ms(), 10080LL * 60 * 1000);
    EXPECT_EQ(c.group_initial_rebalance_delay_ms(), 3000);
    EXPECT_EQ(c.group_min_session_timeout_ms(), 6000);
    EXPECT_EQ(c.group_max_session_timeout_ms(), 1800000);
    EXPECT_EQ(c.transaction_state_log_num_partitions(), 50);
    EXPECT_EQ(c.log_dirs(), string_list{"/tmp/runnel-logs"});
    EXPECT_EQ(c.metadata_log_dir(), std::filesystem::path("/tmp/runnel-logs"));
    EXPECT_FALSE(c.cluster_id().has_value());
    EXPECT_EQ(c.logger_level(), "info");
    EXPECT_EQ(c.admin_listener(), (host_port{"127.0.0.1", 9644}));
    for (const config_entry& e : c.all_entries()) {
        EXPECT_EQ(e.source, value_source::default_value) << e.definition->name;
    }
}

TEST(config_registry, lists_every_key_once_with_a_doc) {
    const config_registry& registry = broker_config_registry();
    std::set<std::string_view> names;
    for (const config_definition& d : registry.all()) {
        EXPECT_TRUE(names.insert(d.name).second) << d.name;
        EXPECT_FALSE(d.doc.empty()) << d.name;
        EXPECT_EQ(d.runnel_only, d.doc.starts_with("Runnel:")) << d.name;
    }
    for (std::string_view key :
         {"node.id", "broker.id", "process.roles", "controller.quorum.voters", "controller.listener.names", "listeners",
          "advertised.listeners", "listener.security.protocol.map", "inter.broker.listener.name", "log.dirs", "log.dir",
          "num.partitions", "default.replication.factor", "auto.create.topics.enable", "delete.topic.enable",
          "socket.request.max.bytes", "socket.send.buffer.bytes", "socket.receive.buffer.bytes", "message.max.bytes",
          "max.connections", "max.connections.per.ip", "connections.max.idle.ms", "queued.max.requests",
          "queued.max.request.bytes", "num.network.threads", "num.io.threads", "log.segment.bytes", "log.roll.ms",
          "log.roll.hours", "log.retention.ms", "log.retention.minutes", "log.retention.hours", "log.retention.bytes",
          "log.retention.check.interval.ms", "log.flush.interval.messages", "log.flush.interval.ms",
          "log.index.interval.bytes", "log.index.size.max.bytes", "log.cleanup.policy", "log.cleaner.enable",
          "log.cleaner.delete.retention.ms", "log.cleaner.min.compaction.lag.ms", "log.message.timestamp.type",
          "compression.type", "min.insync.replicas", "offsets.topic.num.partitions", "offsets.topic.replication.factor",
          "offsets.retention.minutes", "group.initial.rebalance.delay.ms", "group.min.session.timeout.ms",
          "group.max.session.timeout.ms", "group.max.size", "transaction.state.log.num.partitions",
          "transaction.state.log.replication.factor", "transaction.state.log.min.isr", "cluster.id",
          "replica.lag.time.max.ms", "unclean.leader.election.enable", "logger.level", "admin.listener"}) {
        EXPECT_NE(registry.find(key), nullptr) << key;
    }
    EXPECT_EQ(registry.find("zookeeper.connect"), nullptr);
}

TEST(config_registry, maps_broker_keys_to_their_topic_keys) {
    const config_registry& r = broker_config_registry();
    std::vector<std::pair<std::string_view, std::string_view>> pairs = {
        {"log.segment.bytes", "segment.bytes"},
        {"log.retention.ms", "retention.ms"},
        {"log.retention.minutes", "retention.ms"},
        {"log.retention.hours", "retention.ms"},
        {"log.cleanup.policy", "cleanup.policy"},
        {"message.max.bytes", "max.message.bytes"},
        {"log.message.timestamp.type", "message.timestamp.type"},
        {"min.insync.replicas", "min.insync.replicas"},
        {"compression.type", "compression.type"},
        {"log.flush.interval.messages", "flush.messages"},
        {"log.flush.interval.ms", "flush.ms"},
        {"log.flush.scheduler.interval.ms", "flush.ms"},
        {"log.index.interval.bytes", "index.interval.bytes"},
        {"log.index.size.max.bytes", "segment.index.bytes"},
        {"log.roll.ms", "segment.ms"},
        {"log.roll.hours", "segment.ms"},
        {"log.cleaner.delete.retention.ms", "delete.retention.ms"},
        {"log.cleaner.min.compaction.lag.ms", "min.compaction.lag.ms"},
        {"log.segment.delete.delay.ms", "file.delete.delay.ms"},
        {"unclean.leader.election.enable", "unclean.leader.election.enable"},
    };
    for (auto [broker_key, topic_key] : pairs) {
        ASSERT_NE(r.find(broker_key), nullptr) << broker_key;
        EXPECT_EQ(r.find(broker_key)->topic_name, topic_key) << broker_key;
        EXPECT_NE(r.find_topic(topic_key), nullptr) << topic_key;
    }
    EXPECT_TRUE(r.find("num.partitions")->topic_name.empty());
    EXPECT_EQ(r.find("listeners")->mode, update_mode::per_broker);
    EXPECT_EQ(r.find("log.retention.ms")->mode, update_mode::cluster_wide);
    EXPECT_EQ(r.find("log.dirs")->mode, update_mode::read_only);
}

TEST(config_registry, lists_broker_synonyms_as_kafka_does) {
    const config_registry& r = broker_config_registry();
    using names = std::vector<std::string_view>;
    names retention = {"log.retention.ms", "log.retention.minutes", "log.retention.hours"};
    EXPECT_EQ(r.broker_synonyms("log.retention.ms"), retention);
    EXPECT_EQ(r.broker_synonyms("log.retention.hours"), retention);
    EXPECT_EQ(r.broker_synonyms("log.roll.hours"), (names{"log.roll.ms", "log.roll.hours"}));
    EXPECT_EQ(r.broker_synonyms("log.roll.jitter.ms"), (names{"log.roll.jitter.ms", "log.roll.jitter.hours"}));
    EXPECT_EQ(r.broker_synonyms("log.flush.interval.ms"), (names{"log.flush.interval.ms", "log.flush.scheduler.interval.ms"}));
    EXPECT_EQ(r.broker_synonyms("log.flush.scheduler.interval.ms"), names{"log.flush.scheduler.interval.ms"});
    EXPECT_EQ(r.broker_synonyms("log.segment.bytes"), names{"log.segment.bytes"});
    EXPECT_EQ(r.broker_synonyms("num.partitions"), names{"num.partitions"});
}

TEST(config_registry_death, a_key_defined_twice_stops_the_process) {
    EXPECT_DEATH(
        {
            config_registry r;
            r.define("a.key", config_type::int32, "1", {}, importance::low, update_mode::read_only, "doc");
            r.define("a.key", config_type::int32, "2", {}, importance::low, update_mode::read_only, "doc");
        },
        "defined twice");
}

TEST(config_registry_death, a_default_its_validator_rejects_stops_the_process) {
    EXPECT_DEATH(
        {
            config_registry r;
            r.define("a.key", config_type::int32, "0", validate::at_least(1), importance::low, update_mode::read_only,
                     "doc");
        },
        "invalid");
}

TEST(config_file, reads_comments_blank_lines_and_whitespace) {
    broker_config c = load_ok("# a comment\n"
                              "! another comment\n"
                              "\n"
                              "   \t\n"
                              "num.partitions=3\n"
                              "  default.replication.factor   =   1   \n"
                              "log.retention.bytes : 1000\n"
                              "log.segment.bytes 2000000\n"
                              "node.id=7\r\n"
                              "log.dirs=/data/a,\\\n"
                              "         /data/b\n"
                              "logger.level=debug");
    EXPECT_EQ(c.num_partitions(), 3);
    EXPECT_EQ(c.default_replication_factor(), 1);
    EXPECT_EQ(c.log_retention_bytes(), 1000);
    EXPECT_EQ(c.log_segment_bytes(), 2000000);
    EXPECT_EQ(c.node_id(), model::node_id(7));
    EXPECT_EQ(c.log_dirs(), (string_list{"/data/a", "/data/b"}));
    EXPECT_EQ(c.logger_level(), "debug");
    EXPECT_EQ(c.entry("num.partitions").source, value_source::config_file);
    EXPECT_EQ(c.entry("num.io.threads").source, value_source::default_value);
}

TEST(properties_file, keeps_hash_inside_values_and_decodes_escapes) {
    parsed<std::vector<property>> entries = parse_properties("a=x#y\n"
                                                             "b\\=c=d\n"
                                                             "e=tab\\there\n"
                                                             "f=\\u00e9\n"
                                                             "g\n"
                                                             "# h=never\\\n"
                                                             "i=1\n");
    ASSERT_TRUE(entries.ok()) << entries.error;
    const std::vector<property>& p = *entries.value;
    ASSERT_EQ(p.size(), 6u);
    EXPECT_EQ(p[0].key, "a");
    EXPECT_EQ(p[0].value, "x#y");
    EXPECT_EQ(p[1].key, "b=c");
    EXPECT_EQ(p[1].value, "d");
    EXPECT_EQ(p[2].value, "tab\there");
    EXPECT_EQ(p[3].value, "\xc3\xa9");
    EXPECT_EQ(p[4].key, "g");
    EXPECT_EQ(p[4].value, "");
    EXPECT_EQ(p[5].key, "i"); // a comment ending in a backslash does not swallow the next line
    EXPECT_EQ(p[5].line, 7u);
    EXPECT_FALSE(parse_properties("a=\\u12\n").ok());
}

TEST(config_file, missing_file_is_an_error_naming_it) {
    config_load_result result = broker_config::load(std::filesystem::path("/nonexistent/runnel.properties"), {});
    EXPECT_FALSE(result.config.has_value());
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].key, "--config");
    EXPECT_THAT(to_string(result.errors[0]), HasSubstr("/nonexistent/runnel.properties"));
}

TEST(config_file, a_key_set_twice_warns_and_the_later_value_wins) {
    config_load_result result = load_text("num.partitions=2\nnum.partitions=4\n");
    ASSERT_TRUE(result.config.has_value());
    EXPECT_EQ(result.config->num_partitions(), 4);
    ASSERT_EQ(result.warnings.size(), 1u);
    EXPECT_THAT(result.warnings[0], HasSubstr("num.partitions"));
    EXPECT_THAT(result.warnings[0], HasSubstr("lines 1 and 2"));
}

TEST(config_overrides, win_over_the_file_in_the_order_given) {
    broker_config c = load_ok("num.partitions=2\nnum.io.threads=4\n",
                              {"num.partitions=5", "log.dirs = /x ", "num.partitions=6"});
    EXPECT_EQ(c.num_partitions(), 6);
    EXPECT_EQ(c.entry("num.partitions").source, value_source::override_flag);
    EXPECT_EQ(c.num_io_threads(), 4);
    EXPECT_EQ(c.entry("num.io.threads").source, value_source::config_file);
    EXPECT_EQ(c.log_dirs(), string_list{"/x"});
    EXPECT_EQ(to_kafka_source(value_source::override_flag), kafka_config_source::static_broker_config);
    EXPECT_EQ(to_kafka_source(value_source::default_value), kafka_config_source::default_config);
}

TEST(config_overrides, without_an_equals_sign_are_an_error) {
    config_error e = single_error("", {"num.partitions"});
    EXPECT_EQ(e.key, "--override");
    EXPECT_EQ(e.value, "num.partitions");
    EXPECT_THAT(e.message, HasSubstr("key=value"));
}

TEST(config_warnings, an_unknown_key_is_named_with_a_hint) {
    config_load_result result = load_text("log.retention.hour=12\nzookeeper.connect=localhost:2181\n");
    ASSERT_TRUE(result.config.has_value());
    EXPECT_EQ(result.config->log_retention_ms(), 168LL * 3600 * 1000);
    ASSERT_EQ(result.warnings.size(), 2u);
    EXPECT_THAT(result.warnings[0], HasSubstr("'log.retention.hour'"));
    EXPECT_THAT(result.warnings[0], HasSubstr("did you mean 'log.retention.hours'"));
    EXPECT_THAT(result.warnings[1], HasSubstr("'zookeeper.connect'"));
    EXPECT_THAT(result.warnings[1], HasSubstr("server.properties:2"));
    config_load_result from_flag = broker_config::load(std::nullopt, std::vector<std::string>{"num.partition=3"});
    ASSERT_EQ(from_flag.warnings.size(), 1u);
    EXPECT_THAT(from_flag.warnings[0], HasSubstr("'num.partition'"));
}

TEST(config_validation, each_validator_names_the_key_and_the_value) {
    expect_rejected("num.partitions", "abc", "not a number");
    expect_rejected("num.partitions", "1MB", "not a number"); // no size suffixes
    expect_rejected("num.partitions", "0", "at least 1");
    expect_rejected("message.max.bytes", "99999999999", "out of range");
    expect_rejected("offsets.topic.replication.factor", "40000", "out of range for short");
    expect_rejected("auto.create.topics.enable", "yes", "true or false");
    expect_rejected("compression.type", "brotli", "one of");
    expect_rejected("log.cleanup.policy", "delete,archive", "'archive' is not one of");
    expect_rejected("process.roles", "broker,broker", "appears twice");
    expect_rejected("log.dirs", "", "must not be empty");
    expect_rejected("log.dirs", "/a,,/b", "empty item");
    expect_rejected("log.cleaner.min.cleanable.ratio", "1.5", "between 0 and 1");
    expect_rejected("log.cleaner.min.cleanable.ratio", "half", "not a number");
    expect_rejected("compression.gzip.level", "0", "between 1 and 9");
    expect_rejected("log.segment.bytes", "1000", "at least 1048576");
    expect_rejected("listeners", "PLAINTEXT:/localhost:9092", "NAME://host:port");
    expect_rejected("listeners", "PLAINTEXT://localhost:70000", "bad port");
    expect_rejected("listeners", "PLAINTEXT://localhost", "expected host:port");
    expect_rejected("listeners", "PLAINTEXT://::1:9092", "needs brackets");
    expect_rejected("listeners", "PLAINTEXT://a:9092,PLAINTEXT://b:9093", "appears twice");
    expect_rejected("listeners", "PLAINTEXT://a:9092,OTHER://b:9092", "port 9092");
    expect_rejected("controller.quorum.voters", "1@localhost", "expected host:port");
    expect_rejected("controller.quorum.voters", "x@localhost:9093", "not a number");
    expect_rejected("controller.quorum.voters", "1@a:9093,1@b:9093", "voter id 1 appears twice");
    expect_rejected("listener.security.protocol.map", "PLAINTEXT:TLS", "unknown security protocol");
    expect_rejected("cluster.id", "not-a-uuid", "Kafka UUID");
    expect_rejected("admin.listener", "localhost", "host:port");
    expect_rejected("logger.level", "verbose", "one of trace, debug, info, warn, error");
    expect_rejected("node.id", "-2", "at least 0");
}

TEST(config_validation, every_bad_key_is_reported_at_once) {
    config_load_result result = load_text("num.partitions=x\nnum.io.threads=0\nlogger.level=loud\n");
    EXPECT_FALSE(result.config.has_value());
    ASSERT_EQ(result.errors.size(), 3u);
    EXPECT_EQ(result.errors[0].key, "num.partitions");
    EXPECT_EQ(result.errors[1].key, "num.io.threads");
    EXPECT_EQ(result.errors[2].key, "logger.level");
    EXPECT_THAT(result.errors[0].message, HasSubstr("server.properties:1"));
}

TEST(config_listeners, parse_host_port_ipv6_and_empty_host) {
    broker_config c = load_ok("listeners=plaintext://[::1]:9092,INTERNAL://:9192,EXTERNAL://broker-1.example.com:9292\n"
                              "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT\n");
    ASSERT_EQ(c.listeners().size(), 3u);
    EXPECT_EQ(c.listeners()[0], (listener{"PLAINTEXT", "::1", 9092}));
    EXPECT_EQ(c.listeners()[1], (listener{"INTERNAL", "", 9192}));
    EXPECT_EQ(c.listeners()[2], (listener{"EXTERNAL", "broker-1.example.com", 9292}));
    EXPECT_EQ(c.security_protocol("INTERNAL"), "PLAINTEXT");
    EXPECT_FALSE(c.security_protocol("NOPE").has_value());

    parsed<listener> v6 = parse_listener("SSL://[fe80::1%eth0]:9093");
    ASSERT_TRUE(v6.ok()) << v6.error;
    EXPECT_EQ(v6.value->host, "fe80::1%eth0");
    EXPECT_EQ(v6.value->port, 9093);
    EXPECT_FALSE(parse_listener("PLAINTEXT://[::1:9092").ok());
    EXPECT_FALSE(parse_listener("PLAINTEXT://[::1]9092").ok());
    EXPECT_FALSE(parse_listener("://host:1").ok());
    EXPECT_FALSE(parse_listener("PLAIN TEXT://host:1").ok());
    EXPECT_FALSE(parse_listener("PLAINTEXT://host:-1").ok());
    EXPECT_FALSE(parse_listener("PLAINTEXT://ho/st:1").ok());
}

TEST(config_listeners, advertised_defaults_to_the_non_controller_listeners) {
    broker_config c = load_ok("listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n"
                              "controller.listener.names=CONTROLLER\n"
                              "controller.quorum.voters=1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293\n");
    ASSERT_EQ(c.advertised_listeners().size(), 1u);
    EXPECT_EQ(c.advertised_listeners()[0], (listener{"PLAINTEXT", "127.0.0.1", 9092}));
    EXPECT_EQ(c.security_protocol("CONTROLLER"), "PLAINTEXT"); // Kafka's leniency for the unmapped controller listener
    ASSERT_EQ(c.controller_quorum_voters().size(), 3u);
    EXPECT_EQ(c.controller_quorum_voters()[1], (quorum_voter{2, "127.0.0.1", 9193}));

    broker_config explicit_advertised = load_ok("listeners=PLAINTEXT://:9092\n"
                                                "advertised.listeners=PLAINTEXT://broker.local:19092\n");
    EXPECT_EQ(explicit_advertised.advertised_listeners()[0], (listener{"PLAINTEXT", "broker.local", 19092}));
}

TEST(config_listeners, cross_key_rules) {
    config_error wildcard = single_error("advertised.listeners=PLAINTEXT://0.0.0.0:9092\n");
    EXPECT_EQ(wildcard.key, "advertised.listeners");
    EXPECT_THAT(wildcard.message, HasSubstr("0.0.0.0"));

    config_error unknown = single_error("advertised.listeners=OTHER://h:9092\n");
    EXPECT_EQ(unknown.key, "advertised.listeners");
    EXPECT_THAT(unknown.message, HasSubstr("OTHER"));

    config_error unmapped = single_error("listeners=CLIENT://:9092\ninter.broker.listener.name=CLIENT\n");
    EXPECT_EQ(unmapped.key, "listeners");
    EXPECT_THAT(unmapped.message, HasSubstr("listener.security.protocol.map"));

    config_error tls = single_error("listeners=SSL://:9093\nsecurity.inter.broker.protocol=SSL\n");
    EXPECT_EQ(tls.key, "listeners");
    EXPECT_THAT(tls.message, HasSubstr("does not support"));

    config_error no_inter_broker = single_error("listeners=CLIENT://:9092\n"
                                                "listener.security.protocol.map=CLIENT:PLAINTEXT\n");
    EXPECT_EQ(no_inter_broker.key, "security.inter.broker.protocol");

    config_error both = single_error("inter.broker.listener.name=PLAINTEXT\nsecurity.inter.broker.protocol=SSL\n");
    EXPECT_EQ(both.key, "inter.broker.listener.name");
}

TEST(config_roles, node_id_and_broker_id) {
    EXPECT_EQ(load_ok("broker.id=4\n").node_id(), model::node_id(4));
    EXPECT_EQ(load_ok("broker.id=4\nnode.id=4\n").node_id(), model::node_id(4));
    broker_config c = load_ok("node.id=9\n");
    EXPECT_EQ(c.get_int32("broker.id"), 9);
    config_error e = single_error("broker.id=4\nnode.id=5\n");
    EXPECT_EQ(e.key, "broker.id");
    EXPECT_EQ(e.value, "4");
    EXPECT_THAT(e.message, HasSubstr("node.id (5)"));
}

TEST(config_roles, voters_must_fit_the_roles) {
    config_error missing_self = single_error("node.id=4\ncontroller.quorum.voters=1@h:9093\n");
    EXPECT_EQ(missing_self.key, "controller.quorum.voters");
    EXPECT_THAT(missing_self.message, HasSubstr("node.id 4"));

    config_error broker_without_voters = single_error("process.roles=broker\ncontroller.listener.names=CONTROLLER\n");
    EXPECT_EQ(broker_without_voters.key, "controller.quorum.voters");

    config_error broker_is_voter =
        single_error("process.roles=broker\ncontroller.listener.names=CONTROLLER\ncontroller.quorum.voters=1@h:9093\n");
    EXPECT_THAT(broker_is_voter.message, HasSubstr("no controller"));

    config_error multi_voter_without_listener = single_error("controller.quorum.voters=1@h:9093,2@h:9193\n");
    EXPECT_EQ(multi_voter_without_listener.key, "controller.listener.names");

    broker_config broker_only = load_ok("process.roles=broker\nnode.id=4\ncontroller.listener.names=CONTROLLER\n"
                                        "controller.quorum.voters=1@h:9093\n");
    EXPECT_TRUE(broker_only.roles().broker);
    EXPECT_FALSE(broker_only.roles().controller);
}

TEST(config_retention, ms_then_minutes_then_hours_as_kafka_reads_them) {
    EXPECT_EQ(load_ok("log.retention.hours=2\n").log_retention_ms(), 2 * 3'600'000LL);
    EXPECT_EQ(load_ok("log.retention.hours=2\nlog.retention.minutes=3\n").log_retention_ms(), 3 * 60'000LL);
    EXPECT_EQ(load_ok("log.retention.hours=2\nlog.retention.minutes=3\nlog.retention.ms=1234\n").log_retention_ms(), 1234);
    EXPECT_EQ(load_ok("log.retention.ms=-1\n").log_retention_ms(), -1);
    EXPECT_EQ(load_ok("log.retention.hours=-1\n").log_retention_ms(), -1); // any negative means no limit
    EXPECT_EQ(load_ok("log.retention.minutes=-5\n").log_retention_ms(), -1);

    broker_config c = load_ok("log.retention.minutes=30\n");
    topic_config_default retention = c.topic_default("retention.ms");
    ASSERT_NE(retention.from, nullptr);
    EXPECT_EQ(retention.from->definition->name, "log.retention.minutes");
    EXPECT_EQ(retention.from->source, value_source::config_file);
    EXPECT_EQ(std::get<int64_t>(retention.value), 30 * 60'000LL);

    EXPECT_EQ(load_ok("log.roll.hours=3\n").log_roll_ms(), 3 * 3'600'000LL);
    EXPECT_EQ(load_ok("log.roll.hours=3\nlog.roll.ms=500\n").log_roll_ms(), 500);
    EXPECT_EQ(load_ok("log.flush.interval.ms=100\n").log_flush_interval_ms(), 100);

    config_error zero_roll = single_error("log.roll.ms=0\n");
    EXPECT_EQ(zero_roll.key, "log.roll.ms");
    EXPECT_THAT(zero_roll.message, HasSubstr("segment.ms"));
}

TEST(config_topics, defaults_follow_the_broker_values) {
    broker_config c = load_ok("log.segment.bytes=2097152\nlog.cleanup.policy=compact,delete\n");
    std::vector<topic_config_default> defaults = c.topic_defaults();
    EXPECT_EQ(defaults.size(), broker_config_registry().all_topic().size());
    for (const topic_config_default& d : defaults) {
        EXPECT_FALSE(std::holds_alternative<std::monostate>(d.value)) << d.definition->name;
    }
    EXPECT_EQ(std::get<int64_t>(c.topic_default("segment.bytes").value), 2097152);
    EXPECT_EQ(std::get<string_list>(c.topic_default("cleanup.policy").value), (string_list{"compact", "delete"}));
    EXPECT_EQ(std::get<int64_t>(c.topic_default("max.message.bytes").value), 1048588);
    EXPECT_EQ(std::get<int64_t>(c.topic_default("segment.index.bytes").value), 10485760);
    EXPECT_EQ(std::get<std::string>(c.topic_default("message.timestamp.type").value), "CreateTime");
    EXPECT_EQ(c.topic_default("leader.replication.throttled.replicas").from, nullptr);
}

TEST(config_topics, validate_topic_settings) {
    broker_config c = broker_config::defaults();
    EXPECT_FALSE(c.validate_topic_config("retention.ms", "3600000").has_value());
    EXPECT_FALSE(c.validate_topic_config("cleanup.policy", "compact").has_value());
    EXPECT_FALSE(c.validate_topic_config("leader.replication.throttled.replicas", "0:1,1:2").has_value());
    std::optional<config_error> unknown = c.validate_topic_config("retention.hours", "1");
    ASSERT_TRUE(unknown.has_value());
    EXPECT_THAT(unknown->message, HasSubstr("unknown topic config"));
    std::optional<config_error> bad = c.validate_topic_config("segment.bytes", "12");
    ASSERT_TRUE(bad.has_value());
    EXPECT_EQ(bad->key, "segment.bytes");
    EXPECT_EQ(bad->value, "12");
    EXPECT_TRUE(c.validate_topic_config("min.insync.replicas", "zero").has_value());
    EXPECT_TRUE(c.validate_topic_config("remote.storage.enable", "true").has_value());
    EXPECT_TRUE(c.validate_topic_config("leader.replication.throttled.replicas", "0-1").has_value());
}

TEST(config_files, the_example_configs_load_without_warnings) {
    for (const char* name : {"server.properties", "cluster-3node/node1.properties", "cluster-3node/node2.properties",
                             "cluster-3node/node3.properties"}) {
        std::filesystem::path file = repo_root() / "config" / name;
        config_load_result result = broker_config::load(file, {});
        for (const config_error& e : result.errors) {
            ADD_FAILURE() << file << ": " << to_string(e);
        }
        for (const std::string& w : result.warnings) {
            ADD_FAILURE() << file << ": " << w;
        }
        ASSERT_TRUE(result.config.has_value()) << file;
        EXPECT_FALSE(result.config->entry("node.id").source == value_source::default_value) << file;
    }
    config_load_result single = broker_config::load(repo_root() / "config/server.properties", {});
    ASSERT_TRUE(single.config.has_value());
    EXPECT_EQ(single.config->listeners()[0], (listener{"PLAINTEXT", "127.0.0.1", 9092}));
    EXPECT_EQ(single.config->controller_quorum_voters(), (std::vector<quorum_voter>{{1, "127.0.0.1", 9093}}));

    std::set<uint16_t> ports;
    for (int node = 1; node <= 3; ++node) {
        auto file = repo_root() / "config/cluster-3node" / ("node" + std::to_string(node) + ".properties");
        broker_config c = *broker_config::load(file, {}).config;
        EXPECT_EQ(c.node_id(), model::node_id(node));
        EXPECT_EQ(c.controller_quorum_voters().size(), 3u);
        for (const listener& l : c.listeners()) {
            EXPECT_TRUE(ports.insert(l.port).second) << "port " << l.port << " used twice";
        }
        EXPECT_TRUE(ports.insert(c.admin_listener()->port).second);
    }
}

TEST(command_line, config_file_and_overrides) {
    const char* argv[] = {"runnel", "--config", "a.properties", "--override", "num.partitions=3", "-o", "x=y"};
    parsed<command_line> cl = parse_command_line(7, argv);
    ASSERT_TRUE(cl.ok()) << cl.error;
    EXPECT_EQ(cl.value->config_file, std::filesystem::path("a.properties"));
    EXPECT_EQ(cl.value->overrides, (std::vector<std::string>{"num.partitions=3", "x=y"}));
    EXPECT_FALSE(cl.value->help);

    const char* positional[] = {"runnel", "b.properties", "--print-config"};
    parsed<command_line> p = parse_command_line(3, positional);
    ASSERT_TRUE(p.ok()) << p.error;
    EXPECT_EQ(p.value->config_file, std::filesystem::path("b.properties"));
    EXPECT_TRUE(p.value->print_config);

    const char* bad[] = {"runnel", "--no-such-flag"};
    EXPECT_FALSE(parse_command_line(2, bad).ok());
    const char* two_files[] = {"runnel", "a", "b"};
    EXPECT_FALSE(parse_command_line(3, two_files).ok());
    const char* help[] = {"runnel", "--help"};
    parsed<command_line> h = parse_command_line(2, help);
    ASSERT_TRUE(h.ok());
    EXPECT_TRUE(h.value->help);
    EXPECT_THAT(h.value->usage, HasSubstr("--override"));
}

TEST(config_print, lists_every_key_with_its_source) {
    broker_config c = load_ok("num.partitions=3\n", {"log.dirs=/d"});
    std::string text = format_all_entries(c);
    EXPECT_THAT(text, HasSubstr("num.partitions=3  # config file\n"));
    EXPECT_THAT(text, HasSubstr("log.dirs=/d  # --override\n"));
    EXPECT_THAT(text, HasSubstr("log.retention.ms=  # default, not set\n"));
    EXPECT_THAT(text, HasSubstr("num.io.threads=8  # default\n"));
}

TEST(logging, levels_and_named_loggers) {
    EXPECT_EQ(parse_log_level("warn"), spdlog::level::warn);
    EXPECT_EQ(parse_log_level("error"), spdlog::level::err);
    EXPECT_FALSE(parse_log_level("verbose").has_value());
    setup_logging("debug");
    std::shared_ptr<spdlog::logger> a = get_logger("test-a");
    EXPECT_EQ(a, get_logger("test-a"));
    EXPECT_EQ(a->level(), spdlog::level::debug);
    EXPECT_TRUE(set_log_level("error"));
    EXPECT_EQ(a->level(), spdlog::level::err);
    EXPECT_EQ(get_logger("test-b")->level(), spdlog::level::err);
    EXPECT_EQ(spdlog::default_logger()->name(), "runnel");
    EXPECT_FALSE(set_log_level("loud"));
    setup_logging("info");
}

} // namespace
} // namespace runnel::broker
