// The control plane on a real log dir and real shard threads: topics,
// partitions, configs and producer ids go through the metadata log, the
// partition manager hosts (and deletes) the logs, and everything survives a
// restart, including a torn tail of the metadata log.
#include <filesystem>
#include <fstream>
#include <future>

#include <asio/co_spawn.hpp>
#include <asio/use_future.hpp>
#include <gtest/gtest.h>

#include "broker/config.h"
#include "broker/controller.h"
#include "broker/metadata_log.h"
#include "broker/partition_manager.h"
#include "storage/format.h"
#include "storage/tests/test_util.h"

namespace runnel::broker {
namespace {

using proto::error_code;
using storage::testing::temp_dir;

constexpr auto wait_max = std::chrono::seconds(60);

broker_config test_config(const std::string& dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> overrides = {"log.dirs=" + dir, "node.id=1", "num.partitions=2"};
    overrides.insert(overrides.end(), extra.begin(), extra.end());
    auto loaded = broker_config::parse("", "test", overrides);
    EXPECT_TRUE(loaded.config.has_value());
    return std::move(*loaded.config);
}

// One broker's control plane, started on `dir` and stopped cleanly.
class control_plane {
public:
    // Runs a coroutine on shard 0 and waits (bounded) for its result.
    template <typename F>
    auto run(F fn) {
        auto future = asio::co_spawn(shards_->executor(0), std::move(fn), asio::use_future);
        EXPECT_EQ(future.wait_for(wait_max), std::future_status::ready);
        return future.get();
    }

    explicit control_plane(const std::string& dir, std::vector<std::string> extra = {})
        : config_(test_config(dir, std::move(extra))) {
        storage::log_manager_options options;
        options.log_dir = dir;
        auto logs = storage::log_manager::open(fs_, options);
        EXPECT_TRUE(logs.ok());
        logs_ = std::move(*logs);
        shards_ = std::make_unique<shard_set>(2);
        auto log = local_metadata_log::open(*logs_, flusher_, shards_->executor(0));
        EXPECT_TRUE(log.ok());
        metadata_log_ = std::move(*log);
        partitions_ = std::make_unique<partition_manager>(*shards_, fs_, *logs_, flusher_, config_);
        controller_options options_c;
        options_c.cluster_id = "test-cluster";
        options_c.endpoint = {1, "127.0.0.1", 9092, std::nullopt, -1};
        controller_ = std::make_unique<controller>(options_c, *shards_, *metadata_log_, cache_, *partitions_, config_);
        auto replayed = controller_->replay();
        EXPECT_TRUE(replayed.ok()) << replayed.err().message;
        runner_ = std::thread([this] { shards_->run(); });
        auto started = run([this] { return controller_->start(); });
        EXPECT_TRUE(started.ok());
    }

    ~control_plane() {
        shards_->stop();
        runner_.join();
        flusher_.stop();
        controller_->close();
        shards_.reset();
        partitions_->close_all();
        auto closed = logs_->close();
        EXPECT_TRUE(closed.ok());
    }

    // Runs fn(partition*) on the partition's shard.
    template <typename F>
    auto on_partition(const std::string& topic, int32_t index, F fn) {
        return run([&, fn]() {
            return partitions_->with_partition(topic, model::partition_id(index),
                                               [fn](std::shared_ptr<partition> p) -> asio::awaitable<decltype(fn(p))> {
                                                   co_return fn(p);
                                               });
        });
    }

    std::vector<create_topic_result> create(std::vector<new_topic> topics, bool validate_only = false) {
        return run([&]() { return controller_->create_topics(topics, validate_only); });
    }
    create_topic_result create_one(std::string name, int32_t partitions = 3,
                                   std::vector<std::pair<std::string, std::optional<std::string>>> configs = {}) {
        new_topic t;
        t.name = std::move(name);
        t.num_partitions = partitions;
        t.configs = std::move(configs);
        return create({t}).at(0);
    }
    std::vector<admin_error> alter(config_alteration a, bool validate_only = false) {
        return run([&]() { return controller_->alter_configs({a}, validate_only); });
    }

    std::shared_ptr<const metadata_image> image() const { return cache_.current(); }
    controller& ctrl() { return *controller_; }
    partition_manager& partitions() { return *partitions_; }

private:
    std::shared_ptr<storage::file_system> fs_ = storage::make_posix_file_system();
    broker_config config_;
    std::unique_ptr<storage::log_manager> logs_;
    storage::flusher flusher_;
    std::unique_ptr<shard_set> shards_;
    metadata_cache cache_{std::make_shared<metadata_image>()};
    std::unique_ptr<local_metadata_log> metadata_log_;
    std::unique_ptr<partition_manager> partitions_;
    std::unique_ptr<controller> controller_;
    std::thread runner_;
};

bool dir_exists(const temp_dir& dir, const std::string& name) { return std::filesystem::is_directory(dir.sub(name)); }

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

config_alteration set_topic(std::string topic, std::string key, std::string value) {
    config_alteration a;
    a.type = config_resource_type::topic;
    a.name = std::move(topic);
    a.changes.push_back({std::move(key), config_operation::set, std::move(value)});
    return a;
}

TEST(controller, created_topic_is_hosted_and_survives_restart) {
    temp_dir dir;
    proto::uuid id;
    {
        control_plane plane(dir.path());
        auto created = plane.create_one("orders", 3, {{"retention.ms", "1000"}});
        ASSERT_TRUE(created.error.ok()) << created.error.message.value_or("");
        id = created.topic_id;
        EXPECT_FALSE(id.is_zero());
        EXPECT_EQ(created.num_partitions, 3);
        EXPECT_EQ(created.replication_factor, 1);
        const topic_image* t = plane.image()->find_topic("orders");
        ASSERT_NE(t, nullptr);
        EXPECT_EQ(t->id, id);
        EXPECT_EQ(t->partitions.size(), 3u);
        EXPECT_EQ(t->configs.at("retention.ms"), "1000");
        for (int p = 0; p < 3; ++p) {
            const std::string name = "orders-" + std::to_string(p);
            EXPECT_TRUE(dir_exists(dir, name)) << name;
            EXPECT_NE(read_text(storage::join_path(dir.sub(name), "partition.metadata")).find(id.to_string()),
                      std::string::npos);
            auto retention = plane.on_partition("orders", p, [](std::shared_ptr<partition> part) {
                return part ? part->log().config().retention_ms : -2;
            });
            EXPECT_EQ(retention, 1000) << name;
        }
        EXPECT_EQ(plane.partitions().partition_count(), 3u);
        EXPECT_EQ(plane.image()->brokers.size(), 1u);
        EXPECT_EQ(plane.image()->brokers.front().broker_epoch, 1);
    }
    control_plane again(dir.path());
    const topic_image* t = again.image()->find_topic("orders");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->id, id);
    EXPECT_EQ(t->partitions.size(), 3u);
    EXPECT_EQ(t->configs.at("retention.ms"), "1000");
    EXPECT_EQ(again.partitions().partition_count(), 3u);
    EXPECT_EQ(again.image()->brokers.front().broker_epoch, 2);
    auto retention = again.on_partition("orders", 2, [](std::shared_ptr<partition> part) {
        return part ? part->log().config().retention_ms : -2;
    });
    EXPECT_EQ(retention, 1000);
}

TEST(controller, create_errors_and_validate_only) {
    temp_dir dir;
    control_plane plane(dir.path());
    ASSERT_TRUE(plane.create_one("taken").error.ok());
    EXPECT_EQ(plane.create_one("taken").error.code, error_code::topic_already_exists);
    EXPECT_EQ(plane.create_one("bad name").error.code, error_code::invalid_topic_exception);
    EXPECT_EQ(plane.create_one(std::string(250, 'x')).error.code, error_code::invalid_topic_exception);
    ASSERT_TRUE(plane.create_one("my.topic").error.ok());
    EXPECT_EQ(plane.create_one("my_topic").error.code, error_code::invalid_topic_exception) << "collides in metrics";
    EXPECT_EQ(plane.create_one("zero", 0).error.code, error_code::invalid_partitions);
    EXPECT_EQ(plane.create_one("negative", -5).error.code, error_code::invalid_partitions);
    EXPECT_EQ(plane.create_one("huge", 1'000'000).error.code, error_code::invalid_partitions);
    EXPECT_EQ(plane.create_one("conf", 1, {{"retention.ms", "soon"}}).error.code, error_code::invalid_config);
    EXPECT_EQ(plane.create_one("conf", 1, {{"no.such.key", "1"}}).error.code, error_code::invalid_config);
    EXPECT_EQ(plane.create_one("conf", 1, {{"retention.ms", std::nullopt}}).error.code, error_code::invalid_request);
    new_topic rf;
    rf.name = "replicated";
    rf.replication_factor = 3;
    EXPECT_EQ(plane.create({rf}).at(0).error.code, error_code::invalid_replication_factor);
    new_topic assigned;
    assigned.name = "assigned";
    assigned.assignments = {{0, {1}}, {1, {2}}};
    EXPECT_EQ(plane.create({assigned}).at(0).error.code, error_code::invalid_replica_assignment);
    assigned.assignments = {{0, {1}}, {2, {1}}};
    EXPECT_EQ(plane.create({assigned}).at(0).error.code, error_code::invalid_replica_assignment);
    assigned.assignments = {{0, {1}}, {1, {1}}};
    assigned.num_partitions = 2;
    EXPECT_EQ(plane.create({assigned}).at(0).error.code, error_code::invalid_request);
    assigned.num_partitions = -1;
    auto with_assignment = plane.create({assigned}).at(0);
    EXPECT_TRUE(with_assignment.error.ok());
    EXPECT_EQ(with_assignment.num_partitions, 2);

    new_topic defaults;
    defaults.name = "defaults";
    auto checked = plane.create({defaults}, true).at(0);
    EXPECT_TRUE(checked.error.ok());
    EXPECT_EQ(checked.num_partitions, 2) << "num.partitions";
    EXPECT_EQ(plane.image()->find_topic("defaults"), nullptr) << "validate_only creates nothing";
    EXPECT_FALSE(dir_exists(dir, "defaults-0"));
    // Nothing failed above touched the image.
    EXPECT_EQ(plane.image()->topics.size(), 3u);
}

TEST(controller, delete_removes_logs_and_a_new_topic_of_the_same_name_starts_empty) {
    temp_dir dir;
    control_plane plane(dir.path());
    auto first = plane.create_one("t", 1);
    ASSERT_TRUE(first.error.ok());
    auto appended = plane.on_partition("t", 0, [](std::shared_ptr<partition> p) {
        auto batch = storage::testing::make_value_batch(3, 1000);
        storage::append_options options;
        auto info = p->log().append(batch, options);
        return info.ok() ? p->log().log_end_offset() : -1;
    });
    EXPECT_EQ(appended, 3);
    auto deleted = plane.run([&]() { return plane.ctrl().delete_topics({{"t", {}}}); });
    ASSERT_EQ(deleted.size(), 1u);
    EXPECT_TRUE(deleted[0].error.ok());
    EXPECT_EQ(deleted[0].id, first.topic_id);
    EXPECT_EQ(plane.image()->find_topic("t"), nullptr);
    EXPECT_FALSE(dir_exists(dir, "t-0"));
    auto again = plane.run([&]() { return plane.ctrl().delete_topics({{"t", {}}, {std::nullopt, first.topic_id}}); });
    EXPECT_EQ(again[0].error.code, error_code::unknown_topic_or_partition);
    EXPECT_EQ(again[1].error.code, error_code::unknown_topic_id);

    auto second = plane.create_one("t", 1);
    ASSERT_TRUE(second.error.ok());
    EXPECT_NE(second.topic_id, first.topic_id);
    auto end = plane.on_partition("t", 0, [](std::shared_ptr<partition> p) { return p->log().log_end_offset(); });
    EXPECT_EQ(end, 0);
    auto by_id = plane.run([&]() { return plane.ctrl().delete_topics({{std::nullopt, second.topic_id}}); });
    EXPECT_TRUE(by_id[0].error.ok());
    EXPECT_EQ(by_id[0].name, "t");
}

TEST(controller, delete_is_refused_when_disabled) {
    temp_dir dir;
    control_plane plane(dir.path(), {"delete.topic.enable=false"});
    ASSERT_TRUE(plane.create_one("t", 1).error.ok());
    auto deleted = plane.run([&]() { return plane.ctrl().delete_topics({{"t", {}}}); });
    EXPECT_EQ(deleted[0].error.code, error_code::topic_deletion_disabled);
    EXPECT_NE(plane.image()->find_topic("t"), nullptr);
}

TEST(controller, create_partitions_only_grows) {
    temp_dir dir;
    control_plane plane(dir.path());
    ASSERT_TRUE(plane.create_one("t", 2).error.ok());
    auto grow = [&](std::string topic, int32_t count, bool validate_only = false) {
        return plane.run([&]() {
            return plane.ctrl().create_partitions({{topic, count, std::nullopt}}, validate_only);
        }).at(0);
    };
    EXPECT_TRUE(grow("t", 5, true).ok());
    EXPECT_EQ(plane.image()->find_topic("t")->partitions.size(), 2u);
    EXPECT_TRUE(grow("t", 5).ok());
    EXPECT_EQ(plane.image()->find_topic("t")->partitions.size(), 5u);
    EXPECT_TRUE(dir_exists(dir, "t-4"));
    EXPECT_EQ(grow("t", 5).code, error_code::invalid_partitions);
    EXPECT_EQ(grow("t", 3).code, error_code::invalid_partitions);
    EXPECT_EQ(grow("nope", 3).code, error_code::unknown_topic_or_partition);
    auto bad_assignment = plane.run([&]() {
        return plane.ctrl().create_partitions({{"t", 7, std::vector<std::vector<int32_t>>{{1}}}}, false);
    });
    EXPECT_EQ(bad_assignment.at(0).code, error_code::invalid_replica_assignment);
}

TEST(controller, topic_and_dynamic_broker_configs_reach_running_logs) {
    temp_dir dir;
    {
        control_plane plane(dir.path());
        ASSERT_TRUE(plane.create_one("a", 1, {{"retention.bytes", "777"}}).error.ok());
        ASSERT_TRUE(plane.create_one("b", 1).error.ok());
        auto retention_bytes = [&](const std::string& topic) {
            return plane.on_partition(topic, 0, [](std::shared_ptr<partition> p) {
                return p->log().config().retention_bytes;
            });
        };
        EXPECT_EQ(retention_bytes("a"), 777);
        EXPECT_EQ(retention_bytes("b"), -1);
        config_alteration cluster;
        cluster.type = config_resource_type::broker;
        cluster.name = "";
        cluster.changes.push_back({"log.retention.bytes", config_operation::set, "5000"});
        ASSERT_TRUE(plane.alter(cluster).at(0).ok());
        EXPECT_EQ(retention_bytes("a"), 777) << "the topic's own value wins";
        EXPECT_EQ(retention_bytes("b"), 5000) << "the cluster-wide default applies without a restart";
        ASSERT_TRUE(plane.alter(set_topic("b", "retention.bytes", "42")).at(0).ok());
        EXPECT_EQ(retention_bytes("b"), 42);
        // validate_only changes nothing.
        ASSERT_TRUE(plane.alter(set_topic("b", "retention.bytes", "43"), true).at(0).ok());
        EXPECT_EQ(retention_bytes("b"), 42);
        auto settings = plane.on_partition("b", 0, [](std::shared_ptr<partition> p) { return p->settings(); });
        EXPECT_EQ(settings.max_message_bytes, 1048588);
        ASSERT_TRUE(plane.alter(set_topic("b", "max.message.bytes", "2000")).at(0).ok());
        settings = plane.on_partition("b", 0, [](std::shared_ptr<partition> p) { return p->settings(); });
        EXPECT_EQ(settings.max_message_bytes, 2000);
    }
    control_plane again(dir.path());
    EXPECT_EQ(again.image()->cluster_broker_configs.at("log.retention.bytes"), "5000");
    EXPECT_EQ(again.image()->find_topic("b")->configs.at("retention.bytes"), "42");
    auto b = again.on_partition("b", 0, [](std::shared_ptr<partition> p) { return p->log().config().retention_bytes; });
    EXPECT_EQ(b, 42);
}

TEST(controller, incremental_operations_and_their_errors) {
    temp_dir dir;
    control_plane plane(dir.path());
    ASSERT_TRUE(plane.create_one("t", 1).error.ok());
    auto op = [&](config_operation o, std::string key, std::optional<std::string> value) {
        config_alteration a;
        a.type = config_resource_type::topic;
        a.name = "t";
        a.changes.push_back({std::move(key), o, std::move(value)});
        return plane.alter(a).at(0);
    };
    EXPECT_TRUE(op(config_operation::append, "cleanup.policy", "compact").ok());
    EXPECT_EQ(plane.image()->find_topic("t")->configs.at("cleanup.policy"), "delete,compact");
    EXPECT_TRUE(op(config_operation::subtract, "cleanup.policy", "delete").ok());
    EXPECT_EQ(plane.image()->find_topic("t")->configs.at("cleanup.policy"), "compact");
    EXPECT_TRUE(op(config_operation::remove, "cleanup.policy", std::nullopt).ok());
    EXPECT_FALSE(plane.image()->find_topic("t")->configs.contains("cleanup.policy"));
    EXPECT_EQ(op(config_operation::append, "retention.ms", "5").code, error_code::invalid_request);
    EXPECT_EQ(op(config_operation::set, "retention.ms", std::nullopt).code, error_code::invalid_request);
    EXPECT_EQ(op(config_operation::set, "retention.ms", "-7").code, error_code::invalid_config);
    EXPECT_EQ(op(config_operation::set, "nonsense", "1").code, error_code::invalid_config);
    EXPECT_EQ(op(static_cast<config_operation>(9), "retention.ms", "1").code, error_code::invalid_request);

    config_alteration broker;
    broker.type = config_resource_type::broker;
    broker.name = "";
    broker.changes.push_back({"node.id", config_operation::set, "5"});
    EXPECT_EQ(plane.alter(broker).at(0).code, error_code::invalid_request) << "read-only key";
    broker.changes = {{"listeners", config_operation::set, "PLAINTEXT://:1"}};
    EXPECT_EQ(plane.alter(broker).at(0).code, error_code::invalid_request) << "per-broker key at cluster level";
    broker.name = "x";
    EXPECT_EQ(plane.alter(broker).at(0).code, error_code::invalid_request) << "broker id not a number";
    config_alteration unknown_topic = set_topic("nope", "retention.ms", "1");
    EXPECT_EQ(plane.alter(unknown_topic).at(0).code, error_code::unknown_topic_or_partition);

    // AlterConfigs replaces the whole set.
    ASSERT_TRUE(plane.alter(set_topic("t", "retention.ms", "100")).at(0).ok());
    config_alteration replace = set_topic("t", "segment.ms", "60000");
    replace.replace_all = true;
    ASSERT_TRUE(plane.alter(replace).at(0).ok());
    const auto& configs = plane.image()->find_topic("t")->configs;
    EXPECT_FALSE(configs.contains("retention.ms"));
    EXPECT_EQ(configs.at("segment.ms"), "60000");
}

TEST(controller, producer_id_blocks_never_repeat_across_restarts) {
    temp_dir dir;
    {
        control_plane plane(dir.path());
        auto first = plane.run([&]() { return plane.ctrl().allocate_producer_ids(10); });
        ASSERT_TRUE(first.error.ok());
        EXPECT_EQ(first.first_id, 0);
        EXPECT_EQ(first.count, 10);
        auto second = plane.run([&]() { return plane.ctrl().allocate_producer_ids(5); });
        EXPECT_EQ(second.first_id, 10);
        auto refused = plane.run([&]() { return plane.ctrl().allocate_producer_ids(0); });
        EXPECT_EQ(refused.error.code, error_code::invalid_request);
    }
    control_plane again(dir.path());
    auto third = again.run([&]() { return again.ctrl().allocate_producer_ids(1); });
    EXPECT_EQ(third.first_id, 15);
}

TEST(controller, auto_create_follows_the_config) {
    temp_dir dir;
    {
        control_plane plane(dir.path());
        auto made = plane.run([&]() { return plane.ctrl().auto_create_topics({"auto", "auto", "bad name"}); });
        ASSERT_EQ(made.size(), 3u);
        EXPECT_TRUE(made[0].ok());
        EXPECT_TRUE(made[1].ok());
        EXPECT_EQ(made[2].code, error_code::invalid_topic_exception);
        ASSERT_NE(plane.image()->find_topic("auto"), nullptr);
        EXPECT_EQ(plane.image()->find_topic("auto")->partitions.size(), 2u) << "num.partitions";
    }
    control_plane off(dir.path(), {"auto.create.topics.enable=false"});
    auto refused = off.run([&]() { return off.ctrl().auto_create_topics({"other", "auto"}); });
    EXPECT_EQ(refused[0].code, error_code::unknown_topic_or_partition);
    EXPECT_TRUE(refused[1].ok()) << "an existing topic is fine";
}

TEST(controller, replay_survives_a_torn_metadata_tail_and_strays_are_deleted) {
    temp_dir dir;
    {
        control_plane plane(dir.path());
        ASSERT_TRUE(plane.create_one("kept", 1).error.ok());
    }
    // A crash mid-write: garbage after the last batch, no clean-shutdown marker.
    const std::string segment = storage::join_path(dir.sub("__cluster_metadata-0"), "00000000000000000000.log");
    ASSERT_TRUE(std::filesystem::exists(segment));
    {
        std::ofstream out(segment, std::ios::app | std::ios::binary);
        out << std::string(100, '\x7f');
    }
    std::filesystem::remove(storage::join_path(dir.path(), storage::format::clean_shutdown_file));
    // A partition directory of no topic (a deletion the crash interrupted).
    {
        auto logs = storage::log_manager::open(storage::make_posix_file_system(), {dir.path(), {}, {}, 0, -1});
        ASSERT_TRUE(logs.ok());
        ASSERT_TRUE((*logs)->create_log({"ghost", 0}, {}, 0).ok());
        ASSERT_TRUE((*logs)->close().ok());
    }
    std::filesystem::remove(storage::join_path(dir.path(), storage::format::clean_shutdown_file));
    ASSERT_TRUE(dir_exists(dir, "ghost-0"));
    control_plane again(dir.path());
    EXPECT_NE(again.image()->find_topic("kept"), nullptr);
    EXPECT_FALSE(dir_exists(dir, "ghost-0"));
    EXPECT_TRUE(again.create_one("more", 1).error.ok()) << "the log appends after the cut";
}

} // namespace
} // namespace runnel::broker
