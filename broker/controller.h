// The single-node controller: the only writer of the metadata log. Each admin
// operation is checked against the current image, carried out by appending
// metadata records (and waiting until they are committed), applied to a new
// image, mirrored by the partition manager, then published. Methods may be
// called from any shard: the work runs on the controller shard, one
// operation at a time, and the caller resumes on its own executor.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/experimental/channel.hpp>

#include "broker/metadata_image.h"
#include "broker/metadata_log.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

namespace runnel::broker {

class broker_config;
class partition_manager;
class shard_set;

// A Kafka error code with the message Kafka puts next to it (error_message).
struct admin_error {
    proto::error_code code = proto::error_code::none;
    std::optional<std::string> message;
    bool ok() const { return code == proto::error_code::none; }
};

// ---- CreateTopics.
struct new_topic {
    std::string name;
    int32_t num_partitions = -1;     // -1: num.partitions
    int16_t replication_factor = -1; // -1: default.replication.factor
    // Explicit replicas per partition index; then both counts above must be -1.
    std::map<int32_t, std::vector<int32_t>> assignments;
    // Per-topic overrides (a null value is refused with INVALID_REQUEST).
    std::vector<std::pair<std::string, std::optional<std::string>>> configs;
};

struct create_topic_result {
    std::string name;
    admin_error error;
    proto::uuid topic_id;
    int32_t num_partitions = -1;
    int16_t replication_factor = -1;
};

// ---- DeleteTopics: by name, or by id (name empty).
struct topic_ref {
    std::optional<std::string> name;
    proto::uuid id;
};
struct delete_topic_result {
    std::optional<std::string> name;
    proto::uuid id;
    admin_error error;
};

// ---- CreatePartitions.
struct partition_increase {
    std::string topic;
    int32_t count = 0; // the new total
    // Replicas of each new partition, in order, if the client chose them.
    std::optional<std::vector<std::vector<int32_t>>> assignments;
};

// ---- AlterConfigs / IncrementalAlterConfigs. Kafka's resource type and
// operation numbers.
enum class config_resource_type : int8_t { unknown = 0, topic = 2, broker = 4, broker_logger = 8 };
enum class config_operation : int8_t { set = 0, remove = 1, append = 2, subtract = 3 };

struct config_change {
    std::string name;
    config_operation operation = config_operation::set;
    std::optional<std::string> value;
};

struct config_alteration {
    config_resource_type type = config_resource_type::unknown;
    std::string name; // a topic, a broker id, or "" for the cluster-wide broker default
    std::vector<config_change> changes;
    // AlterConfigs (not incremental): the changes replace every dynamic value
    // of the resource; keys not listed return to their defaults.
    bool replace_all = false;
};

// ---- InitProducerId.
struct producer_id_block {
    admin_error error;
    int64_t first_id = -1; // ids [first_id, first_id + count) are the caller's
    int32_t count = 0;
};

struct controller_options {
    int32_t node_id = 1;
    // This broker's client endpoint, registered in the metadata log at start.
    broker_endpoint endpoint;
    std::string listener_name = "PLAINTEXT";
    std::string cluster_id;
    // Partitions per CreateTopics/CreatePartitions topic at most.
    int32_t partitions_per_topic_max = 10'000;
    // Producer ids handed out by one allocate_producer_ids() at most.
    int32_t producer_id_block_max = 1'000'000;
};

class controller {
public:
    // Runs on shards.executor(controller_shard).
    static constexpr size_t controller_shard = 0;

    controller(controller_options options, shard_set& shards, metadata_log& log, metadata_cache& cache,
               partition_manager& partitions, const broker_config& config);
    ~controller();
    controller(const controller&) = delete;
    controller& operator=(const controller&) = delete;

    // Startup, before serving: replays the committed log into an image and
    // publishes it. A record that cannot be decoded stops the broker.
    storage::status replay();
    // Startup, on the controller shard: registers this broker (a
    // register_broker_record with the next broker epoch) and makes the
    // partition manager host every partition of the image.
    asio::awaitable<storage::status> start();

    // ---- Topic admin (CreateTopics, DeleteTopics, CreatePartitions).
    asio::awaitable<std::vector<create_topic_result>> create_topics(std::vector<new_topic> topics, bool validate_only);
    asio::awaitable<std::vector<delete_topic_result>> delete_topics(std::vector<topic_ref> topics);
    asio::awaitable<std::vector<admin_error>> create_partitions(std::vector<partition_increase> increases,
                                                                bool validate_only);

    // Metadata and Produce auto-creation: creates each missing topic with
    // num.partitions and default.replication.factor. Per name: none (created
    // now, or it existed), INVALID_TOPIC_EXCEPTION for a bad name,
    // UNKNOWN_TOPIC_OR_PARTITION when auto.create.topics.enable is false.
    asio::awaitable<std::vector<admin_error>> auto_create_topics(std::vector<std::string> names);

    // ---- Configs (AlterConfigs, IncrementalAlterConfigs); one result per alteration.
    asio::awaitable<std::vector<admin_error>> alter_configs(std::vector<config_alteration> alterations,
                                                            bool validate_only);

    // ---- InitProducerId: reserves `count` producer ids (1..producer_id_block_max)
    // with a producer_ids_record; ids are never handed out twice, across restarts too.
    asio::awaitable<producer_id_block> allocate_producer_ids(int32_t count);

    // Shutdown, after the shards have stopped, when they are destroyed before
    // the controller (the operation token belongs to shard 0's io_context).
    void close();

    const controller_options& options() const { return options_; }

private:
    // The bool is only there because asio 1.22 cannot make a channel of a lone error_code.
    using token_channel = asio::experimental::channel<void(std::error_code, bool)>;
    // Holds the operation token; gives it back when the operation ends.
    // (A lock still held when the controller closes gives nothing back.)
    class operation_lock {
    public:
        explicit operation_lock(std::weak_ptr<token_channel> channel) : channel_(std::move(channel)) {}
        operation_lock(operation_lock&& o) noexcept : channel_(std::move(o.channel_)) { o.channel_.reset(); }
        operation_lock& operator=(operation_lock&&) = delete;
        ~operation_lock();

    private:
        std::weak_ptr<token_channel> channel_;
    };
    asio::awaitable<operation_lock> lock();
    // Appends, waits for the commit, builds and applies the next image.
    asio::awaitable<admin_error> commit(std::vector<metadata_record> records);
    proto::uuid random_uuid();
    // Applies a dynamic logger.level (the one broker key acted on at once outside the partitions).
    void apply_logger_level();
    // Checks shared by CreateTopics and auto-creation; fills the records.
    create_topic_result plan_topic(const new_topic& topic, const metadata_image& image,
                                   std::vector<metadata_record>& records, bool validate_only);
    admin_error plan_alteration(const config_alteration& alteration, const metadata_image& image,
                                std::vector<metadata_record>& records);

    asio::awaitable<std::vector<create_topic_result>> do_create_topics(std::vector<new_topic> topics,
                                                                      bool validate_only);
    asio::awaitable<std::vector<delete_topic_result>> do_delete_topics(std::vector<topic_ref> topics);
    asio::awaitable<std::vector<admin_error>> do_create_partitions(std::vector<partition_increase> increases,
                                                                   bool validate_only);
    asio::awaitable<std::vector<admin_error>> do_auto_create_topics(std::vector<std::string> names);
    asio::awaitable<std::vector<admin_error>> do_alter_configs(std::vector<config_alteration> alterations,
                                                               bool validate_only);
    asio::awaitable<producer_id_block> do_allocate_producer_ids(int32_t count);

    controller_options options_;
    shard_set& shards_;
    metadata_log& log_;
    metadata_cache& cache_;
    partition_manager& partitions_;
    const broker_config& config_;
    // One operation at a time: a token passed through a channel of capacity 1.
    std::shared_ptr<token_channel> token_;
    std::mt19937_64 random_{std::random_device{}()};
};

} // namespace runnel::broker
