// `runnel-bench produce`: sends N records as fast as possible (or at --rate)
// and reports records/s, MB/s and the acknowledgement latency percentiles.
#include <iostream>

#include "tools/runnel-bench/commands.h"
#include "tools/runnel-bench/monitor.h"
#include "tools/runnel-bench/producer.h"
#include "tools/runnel-bench/run_common.h"

namespace runnel::bench {

int run_produce(const produce_command& cmd) {
    const auto& common = cmd.common;
    auto run = prepare(common, "produce");
    if (!run) {
        return exit_failure;
    }
    std::string error;
    auto producer = bench_producer::create(*run->where, common, cmd.producer, run->topic.partitions, &error);
    if (!producer) {
        print_error("produce: " + error);
        return exit_failure;
    }
    run_monitor monitor("produce", common.broker_pid, common.progress);
    const deadline until(common.time_limit_s);
    monitor.start();
    const uint64_t start_ns = steady_now_ns();
    const double interval_ns = cmd.producer.rate > 0 ? 1e9 / cmd.producer.rate : 0;
    bool stopped_early = false;
    for (int64_t seq = 0; seq < cmd.producer.records; ++seq) {
        if (interval_ns > 0) {
            producer->wait_until(start_ns + static_cast<uint64_t>(static_cast<double>(seq) * interval_ns));
        }
        // The time limit is looked at every 64 records: a clock read per
        // record costs the client more than a peer's work per record.
        if (((seq & 63) == 0 && until.passed()) || !producer->send(static_cast<uint64_t>(seq), until)) {
            stopped_early = true;
            break;
        }
        if ((seq & 63) == 0) {
            producer->poll();
            monitor.tick(producer->acked(), producer->acked_bytes());
        }
    }
    // What is in flight gets the drain time past the limit to be acknowledged.
    const deadline drain(std::max(0.0, until.remaining_ms() / 1000.0) + bench_producer::drain_s);
    while (!producer->flush(deadline(0.2)) && !drain.passed()) {
        monitor.tick(producer->acked(), producer->acked_bytes());
    }
    monitor.stop(producer->acked(), producer->acked_bytes());

    const int64_t bytes = producer->acked_bytes();
    const uint64_t end_ns = producer->last_ack_ns() > start_ns ? producer->last_ack_ns() : steady_now_ns();
    const double seconds = static_cast<double>(end_ns - start_ns) / 1e9;
    const bool complete = producer->acked() == cmd.producer.records && producer->failed() == 0;

    std::cout << "produce to " << run->where->name() << " " << common.topic << " (" << run->topic.partitions
              << " partitions): " << with_commas(producer->acked()) << " of " << with_commas(cmd.producer.records)
              << " records acknowledged in " << fixed(seconds, 2) << " s\n"
              << "  " << with_commas(static_cast<int64_t>(per_s(producer->acked(), seconds))) << " records/s, "
              << fixed(mb_per_s(bytes, seconds), 1) << " MB/s of values (" << cmd.producer.record_size << " B each)\n"
              << "  ack latency: " << latency_line(producer->ack_latency()) << "\n"
              << "  " << monitor.summary_line(bytes) << "\n";
    if (producer->failed() > 0 || !producer->first_error().empty()) {
        std::cout << "  " << producer->failed() << " records failed; first error: " << producer->first_error() << "\n";
    }
    if (stopped_early && producer->first_error().empty()) {
        std::cout << "  stopped at the time limit (" << common.time_limit_s << " s)\n";
    }

    json_object o = header_json("produce", common, *run);
    producer->add_json(o);
    o.add("records_requested", cmd.producer.records);
    o.add("records_sent", producer->sent());
    o.add("records_acked", producer->acked());
    o.add("records_failed", producer->failed());
    o.add("first_error", producer->first_error());
    o.add("bytes", bytes);
    o.add("seconds", seconds);
    o.add("records_per_s", per_s(producer->acked(), seconds));
    o.add("mb_per_s", mb_per_s(bytes, seconds));
    o.add("ack_latency", latency_json(producer->ack_latency()));
    o.add("stopped_by", stopped_early ? (producer->first_error().empty() ? "time_limit" : "error") : "records");
    o.add("complete", complete);
    monitor.add_json(o, bytes);
    print_json_line(o);
    return complete ? exit_ok : exit_failure;
}

} // namespace runnel::bench
