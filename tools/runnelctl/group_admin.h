// What the `runnelctl group` commands ask brokers, through librdkafka's admin
// API: a group's description, its committed offsets, and the watermarks of
// partitions (for lag). Each call is bounded by the command's deadline.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tools/runnelctl/kafka_client.h"

namespace runnel::ctl {

using topic_partition = std::pair<std::string, int32_t>;

struct group_member {
    std::string member_id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::string host;
    std::vector<topic_partition> assignment; // sorted
};

struct group_description {
    std::string group;
    std::string state; // Kafka's name ("Stable", ..., "Dead" when there is no such group)
    std::string protocol;
    int32_t coordinator_id = -1;
    std::string coordinator_host;
    int32_t coordinator_port = -1;
    std::vector<group_member> members;
};

// DescribeConsumerGroups for one group; nullopt and *error on failure.
std::optional<group_description> describe_group(rd_kafka_t* rk, const std::string& group, const deadline& until,
                                                std::string* error);

// The group's committed offsets (every partition it has one for), by partition.
std::optional<std::map<topic_partition, int64_t>> committed_offsets(rd_kafka_t* rk, const std::string& group,
                                                                   const deadline& until, std::string* error);

struct watermarks {
    int64_t low = -1;  // log start offset
    int64_t high = -1; // high watermark: the log end offset consumers see
};
std::optional<watermarks> query_watermarks(rd_kafka_t* rk, const topic_partition& tp, const deadline& until,
                                           std::string* error);

// The partition ids of a topic, sorted; nullopt and *error when it does not exist.
std::optional<std::vector<int32_t>> topic_partitions(rd_kafka_t* rk, const std::string& topic, const deadline& until,
                                                     std::string* error);

// librdkafka's error object as "NAME: detail", and destroys nothing.
std::string describe_error_object(const rd_kafka_error_t* error);

} // namespace runnel::ctl
