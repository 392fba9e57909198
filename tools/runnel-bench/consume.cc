// `runnel-bench consume`: reads the topic from the beginning, by assignment
// (no group) or as a member of --group, and reports records/s and MB/s.
// With --mock the mock cluster's topic is filled first, untimed.
#include <algorithm>
#include <iostream>

#include "tools/runnel-bench/commands.h"
#include "tools/runnel-bench/monitor.h"
#include "tools/runnel-bench/producer.h"
#include "tools/runnel-bench/reader.h"
#include "tools/runnel-bench/run_common.h"

namespace runnel::bench {
namespace {

constexpr int poll_ms = 100;
constexpr size_t consume_batch_max = 1000;

// Fills the mock cluster's topic with the records the consumer will read.
bool fill_mock_topic(const target& where, const consume_command& cmd, int32_t partitions, std::string* error) {
    producer_options fill;
    fill.records = cmd.records;
    fill.record_size = cmd.record_size;
    fill.payload = cmd.payload;
    auto producer = bench_producer::create(where, cmd.common, fill, partitions, error);
    if (!producer) {
        return false;
    }
    const deadline until(cmd.common.setup_timeout_s + cmd.common.time_limit_s);
    for (int64_t seq = 0; seq < cmd.records; ++seq) {
        if (!producer->send(static_cast<uint64_t>(seq), until)) {
            *error = "filling the mock topic: " + producer->first_error();
            return false;
        }
        if ((seq & 1023) == 0) {
            producer->poll();
        }
    }
    if (!producer->flush(until) || producer->failed() > 0) {
        *error = "filling the mock topic: " + std::to_string(producer->acked()) + " of " + std::to_string(cmd.records) +
                 " records acknowledged; " + producer->first_error();
        return false;
    }
    return true;
}

std::unique_ptr<record_reader> open_reader(const target& where, const consume_command& cmd, int32_t partitions,
                                           std::string* error) {
    if (cmd.group) {
        return record_reader::subscribe(where, cmd.common, *cmd.group, error);
    }
    return record_reader::assign(where, cmd.common,
                                 std::vector<int64_t>(static_cast<size_t>(partitions), RD_KAFKA_OFFSET_BEGINNING), error);
}

// Errors after which reading cannot go on; others (a lost connection) are retried by librdkafka.
bool is_fatal(rd_kafka_resp_err_t err) {
    switch (err) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR__FATAL: return true;
    default: return false;
    }
}

} // namespace

int run_consume(const consume_command& cmd) {
    const auto& common = cmd.common;
    auto run = prepare(common, "consume");
    if (!run) {
        return exit_failure;
    }
    std::string error;
    const int32_t partitions = run->topic.partitions;
    if (run->where->is_mock() && !fill_mock_topic(*run->where, cmd, partitions, &error)) {
        print_error("consume: " + error);
        return exit_failure;
    }
    const auto marks = query_watermarks(run->admin.get(), common.topic, partitions, deadline(common.setup_timeout_s), &error);
    if (!marks) {
        print_error("consume: " + error);
        return exit_failure;
    }
    int64_t available = 0;
    for (const auto& m : *marks) {
        available += m.high - m.low;
    }
    // The mock keeps only the newest 5 MiB of each partition, so with --mock
    // the run reads what the fill left, however many records were asked for.
    const int64_t wanted = cmd.records > 0 && !run->where->is_mock() ? cmd.records : available;

    run_monitor monitor("consume", common.broker_pid, common.progress);
    const deadline until(common.time_limit_s);
    monitor.start();
    // The rate is taken from the first batch of records to the last, so that
    // a short run is not dominated by connecting; the wait for the first
    // batch is reported apart.
    const uint64_t open_ns = steady_now_ns();
    uint64_t first_ns = 0;
    uint64_t last_ns = open_ns;
    int64_t first_batch = 0; // records in the first batch, which the rate leaves out
    auto reader = open_reader(*run->where, cmd, partitions, &error);
    if (!reader) {
        print_error("consume: " + error);
        return exit_failure;
    }
    int64_t consumed = 0;
    int64_t bytes = 0;
    int64_t errors = 0;
    std::string first_error;
    bool fatal = false;
    // Messages are taken a batch at a time and the clock is read once per
    // batch: a clock read and a queue lock per record cost the application
    // thread as much as librdkafka's parsing of the record.
    std::vector<rd_kafka_message_t*> batch(consume_batch_max);
    while (!fatal && consumed < wanted && !until.passed()) {
        const size_t n = reader->poll_batch(until.remaining_ms(poll_ms), batch);
        int64_t good = 0;
        for (size_t i = 0; i < n; ++i) {
            rd_kafka_message_t* m = batch[i];
            if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                ++good;
                bytes += static_cast<int64_t>(m->len);
            } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                ++errors;
                if (first_error.empty()) {
                    first_error = error_text(m->err, rd_kafka_message_errstr(m));
                }
                fatal = fatal || is_fatal(m->err);
            }
            rd_kafka_message_destroy(m);
        }
        if (good > 0) {
            last_ns = steady_now_ns();
            if (consumed == 0) {
                first_ns = last_ns;
                first_batch = good;
            }
            consumed += good;
        }
        monitor.tick(consumed, bytes);
    }
    monitor.stop(consumed, bytes);
    reader->close();

    // Records after the first batch, over the time since it arrived.
    const double seconds = consumed > first_batch ? static_cast<double>(last_ns - first_ns) / 1e9 : 0;
    const int64_t timed_records = std::max<int64_t>(0, consumed - first_batch);
    const int64_t timed_bytes = consumed > 0 ? bytes * timed_records / consumed : 0;
    const double first_ms = consumed > 0 ? static_cast<double>(first_ns - open_ns) / 1e6 : 0;
    const bool complete = consumed >= wanted && !fatal;
    std::cout << "consume from " << run->where->name() << " " << common.topic << " (" << partitions << " partitions, "
              << (cmd.group ? "group " + *cmd.group : std::string("by assignment")) << "): " << with_commas(consumed)
              << " of " << with_commas(wanted) << " records in " << fixed(seconds, 2) << " s\n"
              << "  " << with_commas(static_cast<int64_t>(per_s(timed_records, seconds))) << " records/s, "
              << fixed(mb_per_s(timed_bytes, seconds), 1) << " MB/s of values (after the first batch of " << first_batch
              << " records, which took " << fixed(first_ms, 1) << " ms)\n"
              << "  " << monitor.summary_line(bytes) << "\n";
    if (!first_error.empty()) {
        std::cout << "  " << errors << " errors; first: " << first_error << "\n";
    }
    if (!complete && !fatal) {
        std::cout << "  stopped at the time limit (" << common.time_limit_s << " s)\n";
    }

    json_object o = header_json("consume", common, *run);
    o.add("mode", cmd.group ? "group" : "assign");
    if (cmd.group) {
        o.add("group", *cmd.group);
    }
    o.add("records_available", available);
    o.add("records_wanted", wanted);
    o.add("records", consumed);
    o.add("bytes", bytes);
    o.add("errors", errors);
    o.add("first_error", first_error);
    o.add("first_record_ms", first_ms);
    o.add("first_batch_records", first_batch);
    o.add("seconds", seconds);
    o.add("records_per_s", per_s(timed_records, seconds));
    o.add("mb_per_s", mb_per_s(timed_bytes, seconds));
    o.add("stopped_by", complete ? "records" : (fatal ? "error" : "time_limit"));
    o.add("complete", complete);
    monitor.add_json(o, bytes);
    print_json_line(o);
    return complete ? exit_ok : exit_failure;
}

} // namespace runnel::bench
