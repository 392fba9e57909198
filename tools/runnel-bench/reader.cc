// The benchmark's consumer side (see reader.h).
#include "tools/runnel-bench/reader.h"

namespace runnel::bench {

std::unique_ptr<record_reader> record_reader::assign(const target& t, const common_options& common,
                                                     const std::vector<int64_t>& start_offsets, std::string* error) {
    std::unique_ptr<record_reader> r(new record_reader());
    auto conf = make_conf(t, common, {{"enable.partition.eof", "false"}}, error);
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
                          {{"group.id", group},
                           {"enable.auto.commit", "false"},
                           {"enable.partition.eof", "false"},
                           {"auto.offset.reset", "earliest"}},
                          error);
    r->rk_ = conf ? make_handle(RD_KAFKA_CONSUMER, std::move(conf), error) : nullptr;
    if (!r->rk_) {
        return nullptr;
    }
    rd_kafka_poll_set_consumer(r->rk_.get());
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
