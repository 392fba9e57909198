// The benchmark's producer (see producer.h).
#include "tools/runnel-bench/producer.h"

#include <time.h>

#include <algorithm>
#include <cassert>

namespace runnel::bench {
namespace {

constexpr int queue_full_poll_ms = 1;

} // namespace

bench_producer::bench_producer(const producer_options& options, int32_t partitions)
    : options_(options), partitions_(partitions), payload_(options.payload, options.record_size) {}

bench_producer::~bench_producer() {
    rkt_.reset(); // before the handle it belongs to
    rk_.reset();
}

std::unique_ptr<bench_producer> bench_producer::create(const target& t, const common_options& common,
                                                       const producer_options& options, int32_t partitions,
                                                       std::string* error) {
    assert(partitions > 0);
    std::unique_ptr<bench_producer> p(new bench_producer(options, partitions));
    std::vector<key_value> properties{
        {"acks", options.acks == "all" ? "-1" : options.acks},
        {"compression.codec", options.compression},
        {"enable.idempotence", options.idempotence ? "true" : "false"},
        // Delivery is bounded like everything else: the run plus the drain.
        {"message.timeout.ms", std::to_string(static_cast<int64_t>((common.time_limit_s + drain_s) * 1000))},
    };
    if (options.linger_ms) {
        properties.push_back({"linger.ms", std::to_string(*options.linger_ms)});
    }
    if (options.batch_bytes) {
        properties.push_back({"batch.size", std::to_string(*options.batch_bytes)});
    }
    auto conf = make_conf(t, common, properties, error);
    if (!conf) {
        return nullptr;
    }
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &bench_producer::on_delivery);
    rd_kafka_conf_set_opaque(conf.get(), p.get());
    p->rk_ = make_handle(RD_KAFKA_PRODUCER, std::move(conf), error);
    if (!p->rk_) {
        return nullptr;
    }
    p->rkt_.reset(rd_kafka_topic_new(p->rk_.get(), common.topic.c_str(), nullptr));
    if (!p->rkt_) {
        *error = "topic handle: " + error_text(rd_kafka_last_error());
        return nullptr;
    }
    return p;
}

void bench_producer::on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<bench_producer*>(opaque);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++self->failed_;
        if (self->first_error_.empty()) {
            self->first_error_ = error_text(m->err, rd_kafka_message_errstr(m));
        }
        return;
    }
    ++self->acked_;
    // Microseconds from produce() to the delivery report, measured by librdkafka.
    const int64_t latency_us = rd_kafka_message_latency(m);
    if (latency_us >= 0) {
        self->ack_latency_.record(static_cast<uint64_t>(latency_us) * 1000);
    }
}

bool bench_producer::send(uint64_t sequence, const deadline& until) {
    const auto partition = static_cast<int32_t>(sequence % static_cast<uint64_t>(partitions_));
    const auto value = payload_.value(sequence, options_.stamp_send_time ? steady_now_ns() : 0);
    for (;;) {
        // RD_KAFKA_MSG_F_COPY: the value buffer is reused for the next record.
        const int rc = rd_kafka_produce(rkt_.get(), partition, RD_KAFKA_MSG_F_COPY, const_cast<char*>(value.data()),
                                        value.size(), nullptr, 0, nullptr);
        if (rc == 0) {
            ++sent_;
            return true;
        }
        const auto err = rd_kafka_last_error();
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (first_error_.empty()) {
                first_error_ = "produce: " + error_text(err);
            }
            return false;
        }
        if (until.passed()) {
            return false;
        }
        serve(queue_full_poll_ms);
    }
}

void bench_producer::serve(int timeout_ms) {
    const int64_t acked = acked_;
    rd_kafka_poll(rk_.get(), timeout_ms);
    if (acked_ != acked) {
        // Delivery reports are served only here, so this is within a poll
        // of the last one's arrival (a clock read per report would cost the
        // client more than the peer's work per record).
        last_ack_ns_ = steady_now_ns();
    }
}

bool bench_producer::flush(const deadline& until) {
    while (acked_ + failed_ < sent_) {
        if (until.passed()) {
            return false;
        }
        serve(std::max(1, until.remaining_ms(100)));
    }
    return true;
}

void bench_producer::wait_until(uint64_t due_ns) {
    poll();
    const uint64_t now = steady_now_ns();
    if (due_ns <= now) {
        return;
    }
    // steady_clock is CLOCK_MONOTONIC on Linux.
    timespec at{};
    at.tv_sec = static_cast<time_t>(due_ns / 1'000'000'000);
    at.tv_nsec = static_cast<long>(due_ns % 1'000'000'000);
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr);
}

void bench_producer::add_json(json_object& out) const {
    out.add("record_size", options_.record_size);
    out.add("acks", options_.acks);
    out.add("compression", options_.compression);
    if (options_.linger_ms) {
        out.add("linger_ms", *options_.linger_ms);
    } else {
        out.add_null("linger_ms");
    }
    if (options_.batch_bytes) {
        out.add("batch_bytes", *options_.batch_bytes);
    } else {
        out.add_null("batch_bytes");
    }
    out.add("idempotence", options_.idempotence);
    out.add("rate_target", options_.rate);
    out.add("payload", to_string(options_.payload));
}

} // namespace runnel::bench
