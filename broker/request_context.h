// What a request handler knows about the request it serves and the broker it
// runs in: the header, the client's address, and the broker's shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "broker/metadata_image.h"

namespace runnel::broker {

// Broker-wide state shared by every handler; each member documents its own
// thread-safety.
class broker_config;
class controller;
class data_path;
class dispatch_table;
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
};

} // namespace runnel::broker
