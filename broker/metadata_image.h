// The broker's view of cluster metadata: an immutable snapshot (brokers,
// controller, topics, partitions, dynamic configs, producer id blocks) that
// handlers read without locks. The image builder produces each new snapshot
// from metadata records; it replaces the old one as a whole, and readers keep
// the one they took.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/wire.h"

namespace runnel::broker {

struct broker_endpoint {
    int32_t node_id = -1;
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;
    int64_t broker_epoch = -1; // from its registration record
};

struct partition_image {
    int32_t partition = 0;
    int32_t leader = -1;
    int32_t leader_epoch = 0;
    int32_t partition_epoch = 0;
    std::vector<int32_t> replicas;
    std::vector<int32_t> isr;
};

// Dynamic config values by key (only keys that were set: the rest follow
// their defaults).
using config_map = std::map<std::string, std::string, std::less<>>;

struct topic_image {
    std::string name;
    proto::uuid id;
    bool internal = false; // the name starts with "__"
    std::vector<partition_image> partitions; // index i holds partition i
    config_map configs;                      // the topic's overrides
};

struct metadata_image {
    std::string cluster_id;
    int32_t controller_id = -1;
    std::vector<broker_endpoint> brokers;
    std::map<std::string, topic_image> topics;
    std::map<proto::uuid, std::string> topic_names_by_id;
    // Dynamic broker configs: cluster-wide defaults, and per broker id.
    config_map cluster_broker_configs;
    std::map<int32_t, config_map> broker_configs;
    std::map<std::string, int16_t, std::less<>> features;
    // Producer ids below this have been handed out.
    int64_t next_producer_id = 0;
    // The offset of the last metadata record applied (-1: none).
    int64_t metadata_offset = -1;

    const topic_image* find_topic(const std::string& name) const;
    const topic_image* find_topic(const proto::uuid& id) const;
    const broker_endpoint* find_broker(int32_t node_id) const;
    // The dynamic config of a broker id, or null.
    const config_map* dynamic_broker_configs(int32_t node_id) const;
};

// The metadata log's own partition (__cluster_metadata-0): not a topic of the
// image, and the partition manager never touches it.
inline constexpr std::string_view cluster_metadata_topic = "__cluster_metadata";

// Kafka's internal topics: __consumer_offsets and __transaction_state. Clients
// read them, only the coordinators write them (a Produce gets
// INVALID_TOPIC_EXCEPTION), and Metadata marks them is_internal.
bool is_internal_topic_name(std::string_view name);

// Holds the current snapshot. Publishing is rare (metadata changes); reading
// is on every request, from any shard.
class metadata_cache {
public:
    explicit metadata_cache(std::shared_ptr<const metadata_image> initial) : current_(std::move(initial)) {}
    std::shared_ptr<const metadata_image> current() const { return current_.load(std::memory_order_acquire); }
    void publish(std::shared_ptr<const metadata_image> next) { current_.store(std::move(next), std::memory_order_release); }

private:
    std::atomic<std::shared_ptr<const metadata_image>> current_;
};

} // namespace runnel::broker
