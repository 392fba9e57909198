// The group coordinator: the I/O shell around the group state machines
// (group.h). A group lives on the shard of the __consumer_offsets partition
// its id hashes to, so that its records are appended to a log of its own
// shard; every operation hops there. The coordinator creates
// __consumer_offsets on the first FindCoordinator, replays each of its
// partitions when the partition opens (answering COORDINATOR_LOAD_IN_PROGRESS
// meanwhile), writes group metadata and offsets through the partition log
// like any produced batch, and runs the groups' timers and the offsets
// retention on a per-shard tick.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <asio/awaitable.hpp>

#include "broker/controller.h"
#include "broker/group/group.h"
#include "broker/metadata_image.h"
#include "broker/partition_manager.h"
#include "protocol/errors.h"

namespace runnel::broker {

struct coordinator_options {
    group_config groups;
    int32_t offsets_topic_partitions = 50;           // offsets.topic.num.partitions
    int16_t offsets_topic_replication_factor = 3;    // offsets.topic.replication.factor
    int32_t offsets_topic_segment_bytes = 104857600; // offsets.topic.segment.bytes
    int64_t retention_check_interval_ms = 600000;    // offsets.retention.check.interval.ms
    // How often group deadlines (sessions, rebalances) are looked at: the
    // precision of every group timeout.
    int64_t tick_interval_ms = 100;
    // Bytes read from a partition per step of its replay; the shard serves
    // other work between steps.
    uint64_t load_chunk_bytes = 1024 * 1024;
};

// Creates __consumer_offsets (main.cc connects it to the controller).
using create_topic_fn = std::function<asio::awaitable<admin_error>(new_topic)>;

struct coordinator_lookup {
    proto::error_code error = proto::error_code::none;
    std::optional<std::string> message;
    int32_t node_id = -1;
    std::string host;
    int32_t port = -1;
};

struct leave_outcome {
    proto::error_code error = proto::error_code::none; // the whole request
    std::vector<proto::error_code> members;            // one per member asked about
};

struct offset_to_commit {
    std::string topic;
    int32_t partition = 0;
    int64_t offset = 0;
    int32_t leader_epoch = -1;
    std::optional<std::string> metadata;
    int64_t commit_timestamp = -1; // v1 only; -1: now
};

struct offset_commit_request {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    int32_t generation = -1;
    int64_t retention_ms = -1; // v2-v4; -1: the broker's retention
    std::vector<offset_to_commit> offsets;
    // v9 answers GROUP_ID_NOT_FOUND for a group member commit to a group that
    // does not exist; older versions ILLEGAL_GENERATION.
    bool group_id_not_found_when_unknown = false;
};

struct fetched_offset {
    std::string topic;
    int32_t partition = 0;
    int64_t offset = -1;
    int32_t leader_epoch = -1;
    std::string metadata;
};

struct offset_fetch_outcome {
    proto::error_code error = proto::error_code::none;
    std::vector<fetched_offset> offsets;
};

struct listed_group {
    std::string group_id;
    std::string protocol_type;
    group_state state = group_state::empty;
};

struct list_groups_outcome {
    proto::error_code error = proto::error_code::none;
    std::vector<listed_group> groups;
};

struct describe_outcome {
    proto::error_code error = proto::error_code::none;
    group_summary summary; // state Dead for a group that does not exist, as Kafka
};

struct offset_delete_outcome {
    proto::error_code error = proto::error_code::none;
    std::vector<proto::error_code> partitions; // in request order
};

class group_coordinator : public partition_observer {
public:
    group_coordinator(coordinator_options options, shard_set& shards, partition_manager& partitions,
                      metadata_cache& metadata, create_topic_fn create_topic);
    ~group_coordinator() override;
    group_coordinator(const group_coordinator&) = delete;
    group_coordinator& operator=(const group_coordinator&) = delete;

    // partition_observer: replays (on open) and forgets (on close) the
    // groups of __consumer_offsets partitions.
    void on_open(partition& p) override;
    void on_close(partition& p, bool deleted) override;

    // Starts every shard's tick (group timers, offsets retention).
    void start();
    // From any shard: answers every waiting JoinGroup and SyncGroup with
    // NOT_COORDINATOR, as a coordinator that resigns does (the broker drains
    // before it stops; the clients find the coordinator again).
    void abandon_waiting();

    // ---- The APIs. Callable from any shard; each runs on the group's shard.
    // FindCoordinator for a group: creates __consumer_offsets when missing.
    asio::awaitable<coordinator_lookup> find_coordinator(std::string group_id);
    asio::awaitable<join_result> join_group(std::string group_id, join_request request);
    asio::awaitable<sync_result> sync_group(std::string group_id, sync_request request);
    asio::awaitable<proto::error_code> heartbeat(std::string group_id, std::string member_id,
                                                 std::optional<std::string> instance_id, int32_t generation);
    asio::awaitable<leave_outcome> leave_group(std::string group_id, std::vector<member_identity> members);
    // One error per offset, in order.
    asio::awaitable<std::vector<proto::error_code>> commit_offsets(std::string group_id,
                                                                   offset_commit_request request);
    // topics: nullopt for every committed offset of the group.
    asio::awaitable<offset_fetch_outcome> fetch_offsets(
        std::string group_id, std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> topics);
    asio::awaitable<list_groups_outcome> list_groups();
    asio::awaitable<describe_outcome> describe_group(std::string group_id);
    asio::awaitable<proto::error_code> delete_group(std::string group_id);
    asio::awaitable<offset_delete_outcome> delete_offsets(std::string group_id,
                                                          std::vector<topic_partition_key> partitions);

    // The partition of __consumer_offsets a group id maps to, with the
    // topic's current partition count (the configured count before it exists).
    int32_t partition_for(const std::string& group_id) const;

private:
    struct hosted_partition;
    struct shard_state;
    // Where a group lives; error when the coordinator cannot serve it here.
    struct location {
        proto::error_code error = proto::error_code::none;
        int32_t partition = -1;
        size_t shard = 0;
    };
    location locate(const std::string& group_id) const;
    // On the group's shard: the hosted partition, or the error to answer.
    hosted_partition* ready_partition(size_t shard, int32_t index, proto::error_code& error);
    std::shared_ptr<group> find_group(hosted_partition& hp, const std::string& group_id) const;
    std::shared_ptr<group> create_group(size_t shard, hosted_partition& hp, const std::string& group_id);

    asio::awaitable<join_result> join_on_shard(location where, std::string group_id, join_request request);
    asio::awaitable<sync_result> sync_on_shard(location where, std::string group_id, sync_request request);
    asio::awaitable<std::vector<proto::error_code>> commit_on_shard(location where, std::string group_id,
                                                                    offset_commit_request request);
    asio::awaitable<proto::error_code> delete_group_on_shard(location where, std::string group_id);
    asio::awaitable<offset_delete_outcome> delete_offsets_on_shard(location where, std::string group_id,
                                                                   std::vector<topic_partition_key> partitions);

    // ---- Writing records (on the partition's shard).
    struct kv_record {
        proto::bytes key;
        std::optional<proto::bytes> value; // nullopt: a tombstone
    };
    // Appends one batch; the offset of its first record, or the error to answer.
    std::variant<int64_t, proto::error_code> append(hosted_partition& hp, std::vector<kv_record> records,
                                                    int64_t now_ms);
    // Waits until the appended offsets are durable as the flush policy promises.
    asio::awaitable<proto::error_code> wait_durable(std::shared_ptr<partition> p, int64_t end_offset);
    // Writes the group's pending store requests, each reported back with group::stored().
    void write_pending_stores(size_t shard, int32_t index, const std::shared_ptr<group>& g);
    asio::awaitable<void> finish_store(size_t shard, int32_t index, std::shared_ptr<group> g, uint64_t store_id,
                                       std::shared_ptr<partition> p, std::variant<int64_t, proto::error_code> at);

    // ---- Loading and housekeeping.
    asio::awaitable<void> load(size_t shard, int32_t index, std::shared_ptr<partition> p);
    asio::awaitable<void> tick_loop(size_t shard);
    void tick_shard(size_t shard, int64_t now_ms, bool check_retention);
    void expire_offsets(size_t shard, int32_t index, hosted_partition& hp, int64_t now_ms);

    asio::awaitable<proto::error_code> ensure_offsets_topic();
    std::string member_id_suffix(size_t shard);

    coordinator_options options_;
    shard_set& shards_;
    partition_manager& partitions_;
    metadata_cache& metadata_;
    create_topic_fn create_topic_;
    std::vector<std::unique_ptr<shard_state>> shard_states_; // one per shard, touched only there
};

} // namespace runnel::broker
