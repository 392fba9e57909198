// End-to-end tests of the runnelctl binary against librdkafka's mock cluster:
// the cluster runs inside this test process on a real 127.0.0.1 socket, and
// runnelctl runs as a child process that only knows its bootstrap address.
// The mock has no admin APIs (CreateTopics, DescribeConfigs, ...), so these
// tests cover produce, consume, list and describe, and that the admin
// commands fail with a clear error rather than hang; tests/e2e runs every
// command against the real broker.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

extern char** environ;

namespace {

namespace fs = std::filesystem;

// A child runnelctl that overruns this (every command is bounded by
// --timeout-ms, far below it) is killed and the test fails.
constexpr int child_wait_ms_max = 90'000;
constexpr int command_timeout_ms = 20'000;

struct outcome {
    int exit_code = -1;
    std::string out;
    std::string err;
};

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

class mock_cluster_test : public ::testing::Test {
protected:
    void SetUp() override {
        char errstr[256];
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
        owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
        ASSERT_NE(owner_, nullptr) << errstr;
        cluster_ = rd_kafka_mock_cluster_new(owner_, 1);
        ASSERT_NE(cluster_, nullptr);
        bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
        dir_ = fs::temp_directory_path() /
               ("runnelctl-test-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }

    void TearDown() override {
        if (cluster_) {
            rd_kafka_mock_cluster_destroy(cluster_);
        }
        if (owner_) {
            rd_kafka_destroy(owner_);
        }
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    void create_topic(const std::string& name, int partitions) {
        ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    }

    // Runs runnelctl with the mock's address prepended, stdin from input.
    outcome run(std::vector<std::string> args, const std::string& input = "", bool with_bootstrap = true) {
        if (with_bootstrap) {
            args.insert(args.begin(), {"--bootstrap-server", bootstrap_});
        }
        if (std::find(args.begin(), args.end(), "--timeout-ms") == args.end()) {
            args.insert(args.begin(), {"--timeout-ms", std::to_string(command_timeout_ms)});
        }
        const fs::path in = dir_ / "stdin", out = dir_ / "stdout", err = dir_ / "stderr";
        std::ofstream(in, std::ios::binary) << input;
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        std::vector<std::string> argv_strings{RUNNELCTL_BINARY};
        argv_strings.insert(argv_strings.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_strings) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        pid_t pid = -1;
        const int rc = posix_spawn(&pid, RUNNELCTL_BINARY, &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        EXPECT_EQ(rc, 0) << "cannot start " << RUNNELCTL_BINARY;
        outcome o;
        if (rc != 0) {
            return o;
        }
        int status = 0;
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(child_wait_ms_max);
        while (::waitpid(pid, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > give_up) {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, &status, 0);
                ADD_FAILURE() << "runnelctl did not finish within " << child_wait_ms_max << " ms";
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        o.out = read_file(out);
        o.err = read_file(err);
        return o;
    }

    rd_kafka_t* owner_ = nullptr;
    rd_kafka_mock_cluster_t* cluster_ = nullptr;
    std::string bootstrap_;
    fs::path dir_;
};

// librdkafka's default partitioner (consistent_random): CRC-32 of the key modulo the partition count.
int32_t consistent_partition(const std::string& key, int partitions) {
    const auto crc = crc32(0, reinterpret_cast<const Bytef*>(key.data()), static_cast<uInt>(key.size()));
    return static_cast<int32_t>(crc % static_cast<uint32_t>(partitions));
}

TEST_F(mock_cluster_test, produce_keyed_records_with_headers_and_consume_them_back_as_json) {
    constexpr int partitions = 3;
    constexpr int count = 300;
    create_topic("orders", partitions);
    std::string input;
    for (int i = 0; i < count; ++i) {
        input += "key-" + std::to_string(i) + "\t" + "value-" + std::to_string(i) + "\n";
    }
    auto produced = run({"produce", "orders", "--key-separator", "\t", "--header", "source=test", "--header", "n=",
                         "--print-offsets"},
                        input);
    ASSERT_EQ(produced.exit_code, 0) << produced.err;
    EXPECT_NE(produced.err.find(std::to_string(count) + " records acknowledged, 0 failed"), std::string::npos);
    // Each acknowledged line went to the partition librdkafka's partitioner chose for its key.
    std::map<int, std::pair<int, int64_t>> where; // line -> partition, offset
    for (const auto& l : lines_of(produced.out)) {
        int line = 0, partition = 0;
        long long offset = 0;
        ASSERT_EQ(std::sscanf(l.c_str(), "%d\t%d\t%lld", &line, &partition, &offset), 3) << l;
        where[line] = {partition, offset};
    }
    ASSERT_EQ(where.size(), static_cast<size_t>(count));
    for (const auto& [line, at] : where) {
        EXPECT_EQ(at.first, consistent_partition("key-" + std::to_string(line - 1), partitions)) << "line " << line;
    }

    auto consumed = run({"consume", "orders", "--from-beginning", "--exit-at-end", "--json"});
    ASSERT_EQ(consumed.exit_code, 0) << consumed.err;
    const auto records = lines_of(consumed.out);
    ASSERT_EQ(records.size(), static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
        const auto [partition, offset] = where[i + 1];
        const std::string expected_prefix = "{\"topic\":\"orders\",\"partition\":" + std::to_string(partition) +
                                            ",\"offset\":" + std::to_string(offset) + ",\"timestamp\":";
        const std::string expected_suffix = ",\"timestamp_type\":\"CreateTime\",\"key\":\"key-" + std::to_string(i) +
                                            "\",\"value\":\"value-" + std::to_string(i) +
                                            "\",\"headers\":[{\"key\":\"source\",\"value\":\"test\"},"
                                            "{\"key\":\"n\",\"value\":\"\"}]}";
        const bool found = std::any_of(records.begin(), records.end(), [&](const std::string& r) {
            return r.starts_with(expected_prefix) && r.ends_with(expected_suffix);
        });
        EXPECT_TRUE(found) << "record " << i << " at " << partition << "/" << offset << " missing";
    }
}

TEST_F(mock_cluster_test, every_compression_codec_round_trips) {
    create_topic("codecs", 1);
    std::string expected;
    for (const std::string codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
        std::string input;
        for (int i = 0; i < 50; ++i) {
            input += codec + " record " + std::to_string(i) + " " + std::string(100, 'z') + "\n";
        }
        expected += input;
        auto produced = run({"produce", "codecs", "--compression", codec}, input);
        ASSERT_EQ(produced.exit_code, 0) << codec << ": " << produced.err;
    }
    auto consumed = run({"consume", "codecs", "--from-beginning", "--max-messages", "250"});
    ASSERT_EQ(consumed.exit_code, 0) << consumed.err;
    EXPECT_EQ(consumed.out, expected);
}

TEST_F(mock_cluster_test, partition_offset_max_messages_and_format) {
    create_topic("events", 2);
    auto produced = run({"produce", "events", "--partition", "1", "--key-separator", "=", "--acks", "1"},
                        "a=1\nb=2\nc=3\nd=4\n");
    ASSERT_EQ(produced.exit_code, 0) << produced.err;
    auto from_offset = run({"consume", "events", "--partition", "1", "--offset", "1", "--max-messages", "2", "--format",
                            "%t:%p:%o:%k:%v:%K:%S\\n"});
    ASSERT_EQ(from_offset.exit_code, 0) << from_offset.err;
    EXPECT_EQ(from_offset.out, "events:1:1:b:2:1:1\nevents:1:2:c:3:1:1\n");
    // Partition 0 got nothing: reading it to its end prints nothing and succeeds.
    auto empty = run({"consume", "events", "--partition", "0", "--from-beginning", "--exit-at-end"});
    ASSERT_EQ(empty.exit_code, 0) << empty.err;
    EXPECT_EQ(empty.out, "");
}

TEST_F(mock_cluster_test, null_keys_without_separator_and_binary_safe_values) {
    create_topic("plain", 1);
    ASSERT_EQ(run({"produce", "plain"}, "x\ty\n\nlast-without-newline").exit_code, 0);
    auto consumed = run({"consume", "plain", "--from-beginning", "--exit-at-end", "--format", "[%K|%k|%v]\\n"});
    ASSERT_EQ(consumed.exit_code, 0) << consumed.err;
    EXPECT_EQ(consumed.out, "[-1||x\ty]\n[-1||]\n[-1||last-without-newline]\n");
}

TEST_F(mock_cluster_test, idempotent_producer) {
    create_topic("idem", 2);
    std::string input;
    for (int i = 0; i < 100; ++i) {
        input += "k" + std::to_string(i) + ":v\n";
    }
    auto produced = run({"produce", "idem", "--idempotent", "--key-separator", ":"}, input);
    ASSERT_EQ(produced.exit_code, 0) << produced.err;
    auto consumed = run({"consume", "idem", "--from-beginning", "--exit-at-end", "--format", "%k\\n"});
    ASSERT_EQ(consumed.exit_code, 0) << consumed.err;
    EXPECT_EQ(lines_of(consumed.out).size(), 100u);
}

TEST_F(mock_cluster_test, consume_stops_at_timeout_and_says_so) {
    create_topic("quiet", 1);
    auto r = run({"--timeout-ms", "1500", "consume", "quiet", "--max-messages", "1"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("_TIMED_OUT"), std::string::npos) << r.err;
    // Without a goal, the timeout simply ends the tail.
    auto tail = run({"--timeout-ms", "1500", "consume", "quiet"});
    EXPECT_EQ(tail.exit_code, 0) << tail.err;
}

TEST_F(mock_cluster_test, offset_past_the_end_is_an_error) {
    create_topic("short", 1);
    ASSERT_EQ(run({"produce", "short"}, "one\n").exit_code, 0);
    auto r = run({"consume", "short", "--offset", "50", "--max-messages", "1"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("OFFSET_OUT_OF_RANGE"), std::string::npos) << r.err;
}

TEST_F(mock_cluster_test, list_and_describe) {
    create_topic("alpha", 2);
    create_topic("beta", 1);
    auto list = run({"topic", "list"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_EQ(list.out, "alpha\nbeta\n");
    // The mock has no DescribeConfigs: that part of describe fails (after the timeout), and says so.
    auto described = run({"--timeout-ms", "3000", "topic", "describe", "alpha"});
    EXPECT_NE(described.out.find("Topic: alpha\tPartitionCount: 2\tReplicationFactor: 1\n"), std::string::npos)
        << described.out;
    EXPECT_NE(described.out.find("\tPartition: 1\tLeader: "), std::string::npos) << described.out;
    EXPECT_EQ(described.exit_code, 1);
    EXPECT_NE(described.err.find("configs"), std::string::npos) << described.err;
}

// (The mock creates any topic a Metadata request names, so missing topics are
// tested against the real broker in tests/e2e.)
TEST_F(mock_cluster_test, missing_partition_errors_use_kafka_names) {
    create_topic("one", 1);
    auto consume_missing = run({"consume", "one", "--partition", "1", "--from-beginning"});
    EXPECT_EQ(consume_missing.exit_code, 1);
    EXPECT_NE(consume_missing.err.find("UNKNOWN_TOPIC_OR_PARTITION"), std::string::npos) << consume_missing.err;
    auto bad_partition = run({"produce", "one", "--partition", "5"}, "x\n");
    EXPECT_EQ(bad_partition.exit_code, 1);
    EXPECT_NE(bad_partition.err.find("UNKNOWN_TOPIC_OR_PARTITION"), std::string::npos) << bad_partition.err;
}

TEST_F(mock_cluster_test, admin_commands_the_mock_lacks_fail_clearly) {
    auto create = run({"--timeout-ms", "3000", "topic", "create", "new-topic", "--partitions", "3"});
    EXPECT_EQ(create.exit_code, 1);
    EXPECT_NE(create.err.find("topic create new-topic: "), std::string::npos) << create.err;
    auto alter = run({"topic", "alter-config", "new-topic", "--set", "retention.ms=1"});
    EXPECT_EQ(alter.exit_code, 1);
    EXPECT_NE(alter.err.find("UNSUPPORTED_VERSION"), std::string::npos) << alter.err;
}

TEST_F(mock_cluster_test, produce_input_errors_stop_with_the_line_number) {
    create_topic("strict", 1);
    auto no_separator = run({"produce", "strict", "--key-separator", ":"}, "a:1\nb2\nc:3\n");
    EXPECT_EQ(no_separator.exit_code, 1);
    EXPECT_NE(no_separator.err.find("line 2 has no key separator"), std::string::npos) << no_separator.err;
    auto too_long = run({"produce", "strict", "--line-bytes-max", "4"}, "1234\n12345\n");
    EXPECT_EQ(too_long.exit_code, 1);
    EXPECT_NE(too_long.err.find("line 2 is longer than --line-bytes-max"), std::string::npos) << too_long.err;
    // The lines before the bad one were sent.
    auto consumed = run({"consume", "strict", "--from-beginning", "--exit-at-end"});
    EXPECT_EQ(consumed.out, "1\n1234\n");
}

TEST_F(mock_cluster_test, unreachable_broker_fails_within_the_timeout) {
    auto r = run({"--bootstrap-server", "127.0.0.1:1", "--timeout-ms", "1500", "topic", "list"}, "", false);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("topic list: "), std::string::npos) << r.err;
    auto alter = run({"--bootstrap-server", "127.0.0.1:1", "--timeout-ms", "1500", "topic", "alter-config", "t", "--set",
                      "a=b"},
                     "", false);
    EXPECT_EQ(alter.exit_code, 1);
    EXPECT_NE(alter.err.find("cannot reach a bootstrap server"), std::string::npos) << alter.err;
}

TEST_F(mock_cluster_test, usage_errors_exit_2_and_help_exits_0) {
    auto bad = run({"consume"}, "", false);
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.err.find("needs a topic name"), std::string::npos);
    auto bad_format = run({"consume", "t", "--format", "%q"});
    EXPECT_EQ(bad_format.exit_code, 2);
    EXPECT_NE(bad_format.err.find("unknown field '%q'"), std::string::npos);
    auto help = run({"--help"}, "", false);
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("usage: runnelctl"), std::string::npos);
}

} // namespace
