// librdkafka handles for runnelctl: owning pointers, configuration from the
// global options, a deadline for bounding every wait, and error names as
// Kafka spells them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "tools/runnelctl/options.h"

namespace runnel::ctl {

struct handle_deleter {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct conf_deleter {
    void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct queue_deleter {
    void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct event_deleter {
    void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct metadata_deleter {
    void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
};
struct admin_options_deleter {
    void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
struct partition_list_deleter {
    void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using handle_ptr = std::unique_ptr<rd_kafka_t, handle_deleter>;
using conf_ptr = std::unique_ptr<rd_kafka_conf_t, conf_deleter>;
using queue_ptr = std::unique_ptr<rd_kafka_queue_t, queue_deleter>;
using event_ptr = std::unique_ptr<rd_kafka_event_t, event_deleter>;
using metadata_ptr = std::unique_ptr<const rd_kafka_metadata_t, metadata_deleter>;
using admin_options_ptr = std::unique_ptr<rd_kafka_AdminOptions_t, admin_options_deleter>;
using partition_list_ptr = std::unique_ptr<rd_kafka_topic_partition_list_t, partition_list_deleter>;

// Kafka's name for a broker error code ("UNKNOWN_TOPIC_OR_PARTITION");
// librdkafka's name for its own local errors ("_TIMED_OUT", "_TRANSPORT").
std::string error_name(rd_kafka_resp_err_t err);
// "NAME: detail" (detail defaults to librdkafka's description of the code).
std::string describe_error(rd_kafka_resp_err_t err, std::string_view detail = {});

// A point in time that every wait of one command is bounded by.
class deadline {
public:
    explicit deadline(int32_t timeout_ms)
        : end_(std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms)) {}
    // Milliseconds left, at least 0, at most cap_ms.
    int remaining_ms(int cap_ms = timeout_ms_max) const;
    bool passed() const { return std::chrono::steady_clock::now() >= end_; }

private:
    std::chrono::steady_clock::time_point end_;
};

// A configuration with the bootstrap servers, the command's own properties and
// then the user's -X properties (so that the user has the last word).
// Returns nullptr and sets *error when librdkafka rejects a property.
conf_ptr make_conf(const global_options& global, const std::vector<key_value>& command_properties, std::string* error);

// Creates the handle (taking the configuration); nullptr and *error on failure.
handle_ptr make_handle(rd_kafka_type_t type, conf_ptr conf, std::string* error);

// A handle for metadata and admin requests: a consumer-type handle, so that
// asking about a topic never auto-creates it.
handle_ptr make_admin_handle(const global_options& global, std::string* error);

// Admin options bounded by the deadline; validate_only where the operation has it.
admin_options_ptr make_admin_options(rd_kafka_t* rk, rd_kafka_admin_op_t op, const deadline& until, bool validate_only,
                                     std::string* error);

// Waits (bounded) for the one result event of an admin call on the queue.
event_ptr wait_admin_result(rd_kafka_queue_t* queue, const deadline& until, std::string* error);

// Prints "runnelctl: <message>" on stderr.
void print_error(std::string_view message);

} // namespace runnel::ctl
