// librdkafka plumbing for runnel-bench: owning handles, configuration, the
// in-process mock cluster, topic creation and watermarks. Every wait is
// bounded by a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "tools/runnel-bench/options.h"

namespace runnel::bench {

struct handle_deleter {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct conf_deleter {
    void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct topic_deleter {
    void operator()(rd_kafka_topic_t* rkt) const { rd_kafka_topic_destroy(rkt); }
};
struct partition_list_deleter {
    void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using handle_ptr = std::unique_ptr<rd_kafka_t, handle_deleter>;
using conf_ptr = std::unique_ptr<rd_kafka_conf_t, conf_deleter>;
using topic_ptr = std::unique_ptr<rd_kafka_topic_t, topic_deleter>;
using partition_list_ptr = std::unique_ptr<rd_kafka_topic_partition_list_t, partition_list_deleter>;

class deadline {
public:
    explicit deadline(double seconds)
        : end_(std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds))) {}
    bool passed() const { return std::chrono::steady_clock::now() >= end_; }
    // Milliseconds left, at least 0, at most cap_ms.
    int remaining_ms(int cap_ms = 86'400'000) const;

private:
    std::chrono::steady_clock::time_point end_;
};

// Where the clients connect. With --mock it owns the mock cluster (and the
// handle it lives in), which then outlives every client of the run.
class target {
public:
    static std::unique_ptr<target> open(const common_options& common, std::string* error);
    ~target();

    const std::string& bootstrap() const { return bootstrap_; }
    bool is_mock() const { return mock_ != nullptr; }
    std::string name() const { return is_mock() ? "mock" : "broker"; }

private:
    target() = default;
    std::string bootstrap_;
    handle_ptr mock_owner_;
    rd_kafka_mock_cluster_t* mock_ = nullptr;
};

// A configuration: bootstrap, the command's properties, then the user's -X
// (the user has the last word). nullptr and *error when librdkafka refuses one.
conf_ptr make_conf(const target& t, const common_options& common, const std::vector<key_value>& properties,
                   std::string* error);
handle_ptr make_handle(rd_kafka_type_t type, conf_ptr conf, std::string* error);
// A consumer-type handle with no group, for metadata and admin requests: it
// never auto-creates a topic by asking about it.
handle_ptr make_admin_handle(const target& t, const common_options& common, std::string* error);

struct topic_info {
    int32_t partitions = 0;
    bool created = false;
    double create_ms = 0; // CreateTopics sent until every partition has a leader in Metadata
};

// Uses the topic as it is, or creates it with common.partitions and
// common.topic_configs and waits until every partition has a leader.
std::optional<topic_info> ensure_topic(rd_kafka_t* admin, const common_options& common, const deadline& until,
                                       std::string* error);

struct watermark {
    int64_t low = 0;
    int64_t high = 0;
};
std::optional<std::vector<watermark>> query_watermarks(rd_kafka_t* rk, const std::string& topic, int32_t partitions,
                                                       const deadline& until, std::string* error);

std::string error_text(rd_kafka_resp_err_t err, const char* detail = nullptr);

} // namespace runnel::bench
