// librdkafka plumbing for runnel-bench (see client.h).
#include "tools/runnel-bench/client.h"

#include <algorithm>
#include <thread>

namespace runnel::bench {
namespace {

// librdkafka's own warnings and errors go to stderr; no debug chatter.
constexpr const char* log_level = "4";
constexpr int mock_broker_count = 1; // the same shape as a single runnel node
constexpr int metadata_retry_ms = 10;
constexpr int admin_slack_ms = 2000;

bool set_property(rd_kafka_conf_t* conf, const std::string& key, const std::string& value, std::string* error) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        *error = "client property " + key + "=" + value + ": " + errstr;
        return false;
    }
    return true;
}

struct metadata_deleter {
    void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
};
using metadata_ptr = std::unique_ptr<const rd_kafka_metadata_t, metadata_deleter>;

// The topic's partition count and whether each partition has a leader;
// nullopt (without an error) when the broker does not know the topic.
struct topic_state {
    int32_t partitions = 0;
    bool all_led = false;
};
std::optional<topic_state> describe_topic(rd_kafka_t* rk, const std::string& topic, const deadline& until,
                                          std::string* error) {
    topic_ptr rkt(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
    const rd_kafka_metadata_t* raw = nullptr;
    const auto err = rd_kafka_metadata(rk, 0, rkt.get(), &raw, std::max(1, until.remaining_ms()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *error = "metadata: " + error_text(err);
        return std::nullopt;
    }
    metadata_ptr md(raw);
    if (md->topic_cnt != 1) {
        *error = "metadata: the broker did not describe " + topic;
        return std::nullopt;
    }
    const auto& t = md->topics[0];
    if (t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        return std::nullopt;
    }
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR && t.err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) {
        *error = "metadata of " + topic + ": " + error_text(t.err);
        return std::nullopt;
    }
    topic_state s;
    s.partitions = t.partition_cnt;
    s.all_led = t.partition_cnt > 0 && t.err == RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 0; i < t.partition_cnt; ++i) {
        s.all_led = s.all_led && t.partitions[i].leader >= 0 && t.partitions[i].err == RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    return s;
}

bool create_topic(rd_kafka_t* rk, const common_options& common, const deadline& until, std::string* error) {
    char errstr[512];
    rd_kafka_NewTopic_t* topic =
        rd_kafka_NewTopic_new(common.topic.c_str(), common.partitions, -1, errstr, sizeof errstr);
    if (topic == nullptr) {
        *error = std::string("CreateTopics: ") + errstr;
        return false;
    }
    std::unique_ptr<rd_kafka_NewTopic_t, decltype(&rd_kafka_NewTopic_destroy)> owned(topic, rd_kafka_NewTopic_destroy);
    for (const auto& kv : common.topic_configs) {
        if (const auto err = rd_kafka_NewTopic_set_config(topic, kv.key.c_str(), kv.value.c_str()); err) {
            *error = "topic config " + kv.key + ": " + error_text(err);
            return false;
        }
    }
    std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)> queue(rd_kafka_queue_new(rk),
                                                                                rd_kafka_queue_destroy);
    std::unique_ptr<rd_kafka_AdminOptions_t, decltype(&rd_kafka_AdminOptions_destroy)> options(
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS), rd_kafka_AdminOptions_destroy);
    rd_kafka_AdminOptions_set_request_timeout(options.get(), std::max(1, until.remaining_ms()), errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_operation_timeout(options.get(), std::max(1, until.remaining_ms()), errstr, sizeof errstr);
    rd_kafka_CreateTopics(rk, &topic, 1, options.get(), queue.get());
    std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> event(
        rd_kafka_queue_poll(queue.get(), until.remaining_ms() + admin_slack_ms), rd_kafka_event_destroy);
    if (!event) {
        *error = "CreateTopics: no answer in time";
        return false;
    }
    if (const auto err = rd_kafka_event_error(event.get()); err) {
        *error = "CreateTopics: " + error_text(err, rd_kafka_event_error_string(event.get()));
        return false;
    }
    size_t count = 0;
    const auto* results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event.get()), &count);
    for (size_t i = 0; i < count; ++i) {
        const auto err = rd_kafka_topic_result_error(results[i]);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            *error = "CreateTopics " + common.topic + ": " + error_text(err, rd_kafka_topic_result_error_string(results[i]));
            return false;
        }
    }
    return true;
}

} // namespace

int deadline::remaining_ms(int cap_ms) const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end_ - std::chrono::steady_clock::now());
    return static_cast<int>(std::clamp<int64_t>(left.count(), 0, cap_ms));
}

std::string error_text(rd_kafka_resp_err_t err, const char* detail) {
    std::string out = rd_kafka_err2name(err);
    out += ": ";
    out += detail != nullptr && *detail != '\0' ? detail : rd_kafka_err2str(err);
    return out;
}

std::unique_ptr<target> target::open(const common_options& common, std::string* error) {
    std::unique_ptr<target> t(new target());
    if (!common.mock) {
        t->bootstrap_ = common.bootstrap;
        return t;
    }
    conf_ptr conf(rd_kafka_conf_new());
    if (!set_property(conf.get(), "log_level", log_level, error)) {
        return nullptr;
    }
    t->mock_owner_ = make_handle(RD_KAFKA_PRODUCER, std::move(conf), error);
    if (!t->mock_owner_) {
        return nullptr;
    }
    t->mock_ = rd_kafka_mock_cluster_new(t->mock_owner_.get(), mock_broker_count);
    if (t->mock_ == nullptr) {
        *error = "cannot create librdkafka's mock cluster";
        return nullptr;
    }
    t->bootstrap_ = rd_kafka_mock_cluster_bootstraps(t->mock_);
    // Created before any client asks, so that no metadata request creates it with the default count.
    if (const auto err = rd_kafka_mock_topic_create(t->mock_, common.topic.c_str(), common.partitions, 1); err) {
        *error = "mock topic: " + error_text(err);
        return nullptr;
    }
    return t;
}

target::~target() {
    if (mock_ != nullptr) {
        rd_kafka_mock_cluster_destroy(mock_);
    }
}

conf_ptr make_conf(const target& t, const common_options& common, const std::vector<key_value>& properties,
                   std::string* error) {
    conf_ptr conf(rd_kafka_conf_new());
    const std::vector<key_value> base{
        {"bootstrap.servers", t.bootstrap()},
        {"client.id", "runnel-bench"},
        {"log_level", log_level},
    };
    for (const auto* list : {&base, &properties, &common.client_properties}) {
        for (const auto& p : *list) {
            if (!set_property(conf.get(), p.key, p.value, error)) {
                return nullptr;
            }
        }
    }
    return conf;
}

handle_ptr make_handle(rd_kafka_type_t type, conf_ptr conf, std::string* error) {
    char errstr[512];
    rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
    if (rk == nullptr) {
        *error = std::string("cannot create the client: ") + errstr;
        return nullptr;
    }
    conf.release(); // rd_kafka_new took it
    return handle_ptr(rk);
}

handle_ptr make_admin_handle(const target& t, const common_options& common, std::string* error) {
    // The mock cluster's ApiVersions does not have the Metadata version that
    // carries this flag (librdkafka warns), and it creates no topics anyway.
    std::vector<key_value> properties;
    if (!t.is_mock()) {
        properties.push_back({"allow.auto.create.topics", "false"});
    }
    auto conf = make_conf(t, common, properties, error);
    return conf ? make_handle(RD_KAFKA_CONSUMER, std::move(conf), error) : nullptr;
}

std::optional<topic_info> ensure_topic(rd_kafka_t* admin, const common_options& common, const deadline& until,
                                       std::string* error) {
    error->clear();
    auto state = describe_topic(admin, common.topic, until, error);
    if (!error->empty()) {
        return std::nullopt;
    }
    topic_info info;
    const auto start = std::chrono::steady_clock::now();
    if (!state) {
        if (!create_topic(admin, common, until, error)) {
            return std::nullopt;
        }
        info.created = true;
    }
    // Wait until every partition has a leader: that is when the topic can be used.
    for (bool first = true; !state || !state->all_led; first = false) {
        if (until.passed()) {
            *error = "topic " + common.topic + ": its partitions have no leader yet (setup timeout)";
            return std::nullopt;
        }
        if (!first || !info.created) {
            std::this_thread::sleep_for(std::chrono::milliseconds(metadata_retry_ms));
        }
        state = describe_topic(admin, common.topic, until, error);
        if (!error->empty()) {
            return std::nullopt;
        }
    }
    info.partitions = state->partitions;
    if (info.created) {
        info.create_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
    return info;
}

std::optional<std::vector<watermark>> query_watermarks(rd_kafka_t* rk, const std::string& topic, int32_t partitions,
                                                       const deadline& until, std::string* error) {
    std::vector<watermark> out(static_cast<size_t>(partitions));
    for (int32_t p = 0; p < partitions; ++p) {
        auto& w = out[static_cast<size_t>(p)];
        const auto err =
            rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &w.low, &w.high, std::max(1, until.remaining_ms()));
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            *error = "watermarks of " + topic + "-" + std::to_string(p) + ": " + error_text(err);
            return std::nullopt;
        }
    }
    return out;
}

} // namespace runnel::bench
