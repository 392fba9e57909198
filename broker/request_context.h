// What a request handler knows about the request it serves and the broker it
// runs in: the header, the client's address, and the broker's shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "broker/metadata_image.h"
#include "broker/request_memory.h"

namespace runnel::broker {

// Broker-wide state shared by every handler; each member documents its own
// thread-safety.
class broker_config;
class controller;
class data_path;
class dispatch_table;
class drain_gate;
class group_coordinator;
class partition_manager;
class shard_set;

struct broker_state {
    int32_t node_id = 1;
    metadata_cache* metadata = nullptr;        // safe from any shard
    const dispatch_table* dispatch = nullptr; // immutable after startup
    shard_set* shards = nullptr;              // the set is fixed at startup
    const broker_config* config = nullptr;    // the static config, immutable
    broker::controller* controller = nullptr; // any shard: hops to the controller shard itself
    partition_manager* partitions = nullptr;  // look-ups on the partition's own shard (see its header)
    broker::data_path* data = nullptr;        // per-shard parts indexed by shard (see data_path.h)
    group_coordinator* groups = nullptr;      // any shard: hops to each group's shard itself
    drain_gate* drain = nullptr;              // any shard (see drain_gate.h)
};

struct request_context {
    int16_t api_key = 0;
    int16_t api_version = 0;
    int32_t correlation_id = 0;
    std::optional<std::string> client_id;
    std::string client_address;
    broker_state* broker = nullptr;
    // Set by a handler to close the connection after its answer (or instead
    // of one): Kafka does so when a Produce with acks=0 fails.
    bool close_connection = false;
    // The request's slot of queued.max.requests (null outside a connection).
    // A handler that parks the request to wait for an event (a Fetch waiting
    // for data) releases it, as Kafka's purgatory frees the handler thread.
    request_memory_pool::reservation* queue_slot = nullptr;

    // Before a handler waits for an event that may take long (data to
    // fetch, a rebalance to complete): the request gives back its slot.
    void park() {
        if (queue_slot != nullptr) {
            queue_slot->release();
        }
    }
};

} // namespace runnel::broker
