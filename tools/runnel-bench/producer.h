// The benchmark's producer: a librdkafka producer that sends stamped records
// round-robin over the partitions, optionally at a fixed rate, and counts
// what was acknowledged, with the acknowledgement latency of each record.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tools/runnel-bench/client.h"
#include "tools/runnel-bench/histogram.h"
#include "tools/runnel-bench/payload.h"
#include "tools/runnel-bench/report.h"

namespace runnel::bench {

class bench_producer {
public:
    // Delivery waits this much past the time limit for what is in flight.
    static constexpr double drain_s = 30;

    static std::unique_ptr<bench_producer> create(const target& t, const common_options& common,
                                                  const producer_options& options, int32_t partitions,
                                                  std::string* error);
    ~bench_producer();

    // Sends record `sequence` (stamped with the current time if the options
    // say so) to partition
    // sequence % partitions; waits for room in librdkafka's queue while the
    // deadline allows. False when the deadline passed or librdkafka refused.
    bool send(uint64_t sequence, const deadline& until);
    // Serves delivery reports that are ready.
    void poll() { serve(0); }
    // Waits (bounded) until every record sent has its delivery report.
    bool flush(const deadline& until);
    // Sleeps until the steady-clock time `due_ns`, serving delivery reports.
    void wait_until(uint64_t due_ns);

    int64_t sent() const { return sent_; }
    int64_t acked() const { return acked_; }
    int64_t failed() const { return failed_; }
    const std::string& first_error() const { return first_error_; }
    const histogram& ack_latency() const { return ack_latency_; }
    uint64_t last_ack_ns() const { return last_ack_ns_; }
    int64_t acked_bytes() const { return acked_ * options_.record_size; }
    rd_kafka_t* handle() { return rk_.get(); }

    // The producer settings as JSON fields.
    void add_json(json_object& out) const;

private:
    bench_producer(const producer_options& options, int32_t partitions);
    static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);
    // rd_kafka_poll, noting the time when it served a delivery report.
    void serve(int timeout_ms);

    producer_options options_;
    int32_t partitions_;
    payload_source payload_;
    handle_ptr rk_;
    topic_ptr rkt_;
    int64_t sent_ = 0;
    int64_t acked_ = 0;
    int64_t failed_ = 0;
    std::string first_error_;
    histogram ack_latency_;
    uint64_t last_ack_ns_ = 0;
};

} // namespace runnel::bench
