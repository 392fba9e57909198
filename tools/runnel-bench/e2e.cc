// `runnel-bench e2e`: a producer at a fixed rate and a consumer in one
// process. Each record carries its send time (steady clock); the consumer
// thread turns it into end-to-end latency when the record reaches it.
#include <atomic>
#include <iostream>
#include <thread>

#include "tools/runnel-bench/commands.h"
#include "tools/runnel-bench/monitor.h"
#include "tools/runnel-bench/producer.h"
#include "tools/runnel-bench/reader.h"
#include "tools/runnel-bench/run_common.h"

namespace runnel::bench {
namespace {

constexpr int poll_ms = 50;

struct consumer_side {
    std::atomic<int64_t> received{0};
    std::atomic<int64_t> expected;       // lowered if the producer stops early
    std::atomic<bool> producer_done{false};
    uint64_t warmup_records = 0;
    histogram latency;                    // written by the consumer thread only
    int64_t errors = 0;
    std::string first_error;

    explicit consumer_side(int64_t records) : expected(records) {}

    void run(record_reader& reader, const deadline& until) {
        while (received.load() < expected.load() && !until.passed()) {
            rd_kafka_message_t* m = reader.poll(until.remaining_ms(poll_ms));
            if (m == nullptr) {
                continue;
            }
            const uint64_t now = steady_now_ns();
            if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                const auto stamp = read_stamp({static_cast<const char*>(m->payload), m->len});
                if (stamp && stamp->sequence >= warmup_records && now >= stamp->sent_ns) {
                    latency.record(now - stamp->sent_ns);
                }
                received.fetch_add(1);
            } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                ++errors;
                if (first_error.empty()) {
                    first_error = error_text(m->err, rd_kafka_message_errstr(m));
                }
            }
            rd_kafka_message_destroy(m);
        }
    }
};

} // namespace

int run_e2e(const e2e_command& cmd) {
    const auto& common = cmd.common;
    auto run = prepare(common, "e2e");
    if (!run) {
        return exit_failure;
    }
    std::string error;
    const int32_t partitions = run->topic.partitions;
    const auto marks = query_watermarks(run->admin.get(), common.topic, partitions, deadline(common.setup_timeout_s), &error);
    // The consumer starts at the current ends: the run reads exactly what it sends.
    std::vector<int64_t> ends;
    for (const auto& m : marks.value_or(std::vector<watermark>{})) {
        ends.push_back(m.high);
    }
    auto consumer = marks ? record_reader::assign(*run->where, common, ends, &error) : nullptr;
    producer_options stamped = cmd.producer;
    stamped.stamp_send_time = true;
    auto producer = consumer ? bench_producer::create(*run->where, common, stamped, partitions, &error) : nullptr;
    if (!producer) {
        print_error("e2e: " + error);
        return exit_failure;
    }

    const int64_t records = cmd.producer.records;
    consumer_side side(records);
    side.warmup_records = static_cast<uint64_t>(cmd.warmup_s * cmd.producer.rate);
    run_monitor monitor("e2e", common.broker_pid, common.progress);
    const deadline until(common.time_limit_s);
    const deadline consumer_until(common.time_limit_s + bench_producer::drain_s);
    std::thread reader([&] { side.run(*consumer, consumer_until); });

    monitor.start();
    const uint64_t start_ns = steady_now_ns();
    const double interval_ns = 1e9 / cmd.producer.rate;
    uint64_t lag_max_ns = 0;
    bool stopped_early = false;
    for (int64_t seq = 0; seq < records; ++seq) {
        const uint64_t due = start_ns + static_cast<uint64_t>(static_cast<double>(seq) * interval_ns);
        producer->wait_until(due);
        const uint64_t now = steady_now_ns();
        lag_max_ns = std::max(lag_max_ns, now > due ? now - due : 0);
        if (until.passed() || !producer->send(static_cast<uint64_t>(seq), until)) {
            stopped_early = true;
            break;
        }
        monitor.tick(side.received.load(), side.received.load() * cmd.producer.record_size);
    }
    const uint64_t send_end_ns = steady_now_ns();
    const deadline drain(std::max(0.0, until.remaining_ms() / 1000.0) + bench_producer::drain_s);
    while (!producer->flush(deadline(0.2)) && !drain.passed()) {
        monitor.tick(side.received.load(), side.received.load() * cmd.producer.record_size);
    }
    // The consumer waits for what was acknowledged, no more.
    side.expected.store(producer->acked());
    reader.join();
    monitor.stop(side.received.load(), side.received.load() * cmd.producer.record_size);
    consumer->close();

    const int64_t received = side.received.load();
    const int64_t bytes = received * cmd.producer.record_size;
    const double send_seconds = static_cast<double>(send_end_ns - start_ns) / 1e9;
    const bool complete = !stopped_early && producer->acked() == records && received == records && side.errors == 0;
    std::cout << "e2e on " << run->where->name() << " " << common.topic << " (" << partitions << " partitions) at "
              << with_commas(static_cast<int64_t>(cmd.producer.rate)) << " records/s target: sent "
              << with_commas(producer->sent()) << " in " << fixed(send_seconds, 2) << " s ("
              << with_commas(static_cast<int64_t>(per_s(producer->sent(), send_seconds))) << "/s), acknowledged "
              << with_commas(producer->acked()) << ", received " << with_commas(received) << "\n"
              << "  end-to-end: " << latency_line(side.latency) << "\n"
              << "  ack:        " << latency_line(producer->ack_latency()) << "\n"
              << "  sender fell behind its schedule by at most " << fixed(static_cast<double>(lag_max_ns) / 1e3, 0)
              << " us\n"
              << "  " << monitor.summary_line(bytes) << "\n";
    if (!producer->first_error().empty() || !side.first_error.empty()) {
        std::cout << "  errors: producer " << producer->first_error() << "; consumer " << side.first_error << "\n";
    }

    json_object o = header_json("e2e", common, *run);
    producer->add_json(o);
    o.add("warmup_s", cmd.warmup_s);
    o.add("records_requested", records);
    o.add("records_sent", producer->sent());
    o.add("records_acked", producer->acked());
    o.add("records_failed", producer->failed());
    o.add("records_received", received);
    o.add("bytes", bytes);
    o.add("send_seconds", send_seconds);
    o.add("send_rate", per_s(producer->sent(), send_seconds));
    o.add("send_lag_max_us", static_cast<double>(lag_max_ns) / 1e3);
    o.add("e2e_latency", latency_json(side.latency));
    o.add("ack_latency", latency_json(producer->ack_latency()));
    o.add("consumer_errors", side.errors);
    o.add("first_error", producer->first_error().empty() ? side.first_error : producer->first_error());
    o.add("stopped_by", stopped_early ? "time_limit" : "records");
    o.add("complete", complete);
    monitor.add_json(o, bytes);
    print_json_line(o);
    return complete ? exit_ok : exit_failure;
}

} // namespace runnel::bench
