// The coordinator's per-shard tables, shared by its source files and no one else.
#pragma once

#include <map>
#include <memory>
#include <random>
#include <string>

#include "broker/group/coordinator.h"
#include "broker/partition.h"

namespace runnel::broker {

// One __consumer_offsets partition hosted here and the groups it holds.
struct group_coordinator::hosted_partition {
    enum class status : uint8_t { loading, loaded, failed };
    std::shared_ptr<partition> log;
    status state = status::loading;
    std::map<std::string, std::shared_ptr<group>, std::less<>> groups;
};

struct group_coordinator::shard_state {
    std::map<int32_t, std::unique_ptr<hosted_partition>> partitions;
    std::mt19937_64 random{std::random_device{}()};
    int64_t last_retention_check_ms = 0;
};

namespace coordinator_detail {
// The wall clock, for commit timestamps and group deadlines alike.
int64_t now_ms();
} // namespace coordinator_detail

} // namespace runnel::broker
