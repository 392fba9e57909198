// The benchmark's consumer side (see reader.h).
#include "tools/runnel-bench/reader.h"

namespace runnel::bench {
namespace {

// librdkafka 2.0 stops fetching while its prefetch queue holds more than
// queued.min.messages (default 100,000, counted over all the partitions that
// share one queue) and looks again only after a fetch backoff of about half a
// second, by which time the application has long emptied the queue: reading
// a few million records measured those pauses, not the broker. A larger
// queue (bounded, and the user's -X still wins) keeps the fetches flowing.
const std::vector<key_value> prefetch_properties{
    {"queued.min.messages", "1000000"},
    {"queued.max.messages.kbytes", "262144"},
};

std::vector<key_value> with_prefetch(std::vector<key_value> properties) {
    properties.insert(properties.end(), prefetch_properties.begin(), prefetch_properties.end());
    return properties;
}

} // namespace

std::unique_ptr<record_reader> record_reader::assign(const target& t, const common_options& common,
                                                     const std::vector<int64_t>& start_offsets, std::string* error) {
    std::unique_ptr<record_reader> r(new record_reader());
    auto conf = make_conf(t, common, with_prefetch({{"enable.partition.eof", "false"}}), error);
    r->rk_ = conf ? make_handle(RD_KAFKA_CONSUMER, std::move(conf), error) : nullptr;
    if (!r->rk_) {
        return nullptr;
    }
    r->rkt_.reset(rd_kafka_topic_new(r->rk_.get(), common.topic.c_str(), nullptr));
    r->queue_.reset(rd_kafka_queue_new(r->rk_.get()));
    for (size_t p = 0; p < start_offsets.size(); ++p) {
        const auto partition = static_cast<int32_t>(p);
        if (rd_kafka_consume_start_queue(r->rkt_.get(), partition, start_offsets[p], r->queue_.get()) != 0) {
            *error = "start reading partition " + std::to_string(partition) + ": " + error_text(rd_kafka_last_error());
            return nullptr;
        }
        r->started_.push_back(partition);
    }
    return r;
}

std::unique_ptr<record_reader> record_reader::subscribe(const target& t, const common_options& common,
                                                        const std::string& group, std::string* error) {
    std::unique_ptr<record_reader> r(new record_reader());
    r->group_ = true;
    auto conf = make_conf(t, common,
                          with_prefetch({{"group.id", group},
                                         {"enable.auto.commit", "false"},
                                         {"enable.partition.eof", "false"},
                                         {"auto.offset.reset", "earliest"}}),
                          error);
    r->rk_ = conf ? make_handle(RD_KAFKA_CONSUMER, std::move(conf), error) : nullptr;
    if (!r->rk_) {
        return nullptr;
    }
    rd_kafka_poll_set_consumer(r->rk_.get());
    r->queue_.reset(rd_kafka_queue_get_consumer(r->rk_.get()));
    partition_list_ptr topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), common.topic.c_str(), RD_KAFKA_PARTITION_UA);
    if (const auto err = rd_kafka_subscribe(r->rk_.get(), topics.get()); err) {
        *error = "subscribe: " + error_text(err);
        return nullptr;
    }
    return r;
}

rd_kafka_message_t* record_reader::poll(int timeout_ms) {
    if (group_) {
        return rd_kafka_consumer_poll(rk_.get(), timeout_ms);
    }
    return rd_kafka_consume_queue(queue_.get(), timeout_ms);
}

size_t record_reader::poll_batch(int timeout_ms, std::vector<rd_kafka_message_t*>& out) {
    const ssize_t n = rd_kafka_consume_batch_queue(queue_.get(), timeout_ms, out.data(), out.size());
    return n > 0 ? static_cast<size_t>(n) : 0;
}

void record_reader::close() {
    if (closed_) {
        return;
    }
    closed_ = true;
    if (group_) {
        rd_kafka_consumer_close(rk_.get());
        return;
    }
    for (const int32_t p : started_) {
        rd_kafka_consume_stop(rkt_.get(), p);
    }
}

record_reader::~record_reader() {
    if (rk_) {
        close();
    }
    queue_.reset(); // queue and topic before the handle they belong to
    rkt_.reset();
    rk_.reset();
}

} // namespace runnel::bench
