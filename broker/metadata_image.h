// The broker's view of cluster metadata: an immutable snapshot (brokers,
// controller, topics, partitions) that handlers read without locks. A new
// snapshot replaces the old one as a whole; readers keep the one they took.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/wire.h"

namespace runnel::broker {

struct broker_endpoint {
    int32_t node_id = -1;
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;
};

struct partition_image {
    int32_t partition = 0;
    int32_t leader = -1;
    int32_t leader_epoch = 0;
    std::vector<int32_t> replicas;
    std::vector<int32_t> isr;
};

struct topic_image {
    std::string name;
    proto::uuid id;
    bool internal = false;
    std::vector<partition_image> partitions;
};

struct metadata_image {
    std::string cluster_id;
    int32_t controller_id = -1;
    std::vector<broker_endpoint> brokers;
    std::map<std::string, topic_image> topics;

    const topic_image* find_topic(const std::string& name) const;
    const topic_image* find_topic(const proto::uuid& id) const;
};

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
