// `runnelctl consume TOPIC`: reads partitions directly (no consumer group)
// group) from the end, the beginning, an offset or a timestamp, and prints
// each record with a --format string or as JSON, until --max-messages, the
// end of every partition (--exit-at-end) or --timeout-ms.
#include <cstdio>
#include <iostream>
#include <set>

#include "tools/runnelctl/commands.h"
#include "tools/runnelctl/kafka_client.h"
#include "tools/runnelctl/record_format.h"

namespace runnel::ctl {
namespace {

constexpr int poll_ms_max = 200;
constexpr size_t output_flush_bytes = 64 * 1024;

std::vector<key_value> consumer_properties(const consume_command& cmd) {
    return {
        {"enable.auto.commit", "false"},
        {"allow.auto.create.topics", "false"},
        {"enable.partition.eof", cmd.exit_at_end ? "true" : "false"},
        // An offset outside the log is the user's mistake to hear about, not to paper over.
        {"auto.offset.reset", "error"},
        {"check.crcs", "true"},
    };
}

// The partitions to read, each with its start offset; nullptr and *error on failure.
partition_list_ptr start_positions(rd_kafka_t* rk, const consume_command& cmd, const deadline& until, std::string* error) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, cmd.topic.c_str(), nullptr);
    const rd_kafka_metadata_t* raw = nullptr;
    const auto err = rd_kafka_metadata(rk, 0, rkt, &raw, std::max(1, until.remaining_ms()));
    rd_kafka_topic_destroy(rkt);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *error = describe_error(err);
        return nullptr;
    }
    metadata_ptr md(raw);
    if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *error = md->topic_cnt == 1 ? describe_error(md->topics[0].err) : "the broker did not describe the topic";
        return nullptr;
    }
    const int partition_count = md->topics[0].partition_cnt;
    if (cmd.partition && *cmd.partition >= partition_count) {
        *error = describe_error(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
                                "partition " + std::to_string(*cmd.partition) + " does not exist (the topic has " +
                                    std::to_string(partition_count) + ")");
        return nullptr;
    }
    partition_list_ptr list(rd_kafka_topic_partition_list_new(partition_count));
    for (int p = 0; p < partition_count; ++p) {
        if (cmd.partition && *cmd.partition != p) {
            continue;
        }
        auto* tp = rd_kafka_topic_partition_list_add(list.get(), cmd.topic.c_str(), p);
        switch (cmd.start) {
        case start_kind::end: tp->offset = RD_KAFKA_OFFSET_END; break;
        case start_kind::beginning: tp->offset = RD_KAFKA_OFFSET_BEGINNING; break;
        case start_kind::offset:
        case start_kind::timestamp: tp->offset = cmd.start_value; break;
        }
    }
    if (cmd.start == start_kind::timestamp) {
        // ListOffsets by timestamp; a partition with no such record starts at its end (-1).
        const auto lookup = rd_kafka_offsets_for_times(rk, list.get(), std::max(1, until.remaining_ms()));
        if (lookup != RD_KAFKA_RESP_ERR_NO_ERROR) {
            *error = "offsets for timestamp " + std::to_string(cmd.start_value) + ": " + describe_error(lookup);
            return nullptr;
        }
        for (int i = 0; i < list->cnt; ++i) {
            if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                *error = "offsets for timestamp, partition " + std::to_string(list->elems[i].partition) + ": " +
                         describe_error(list->elems[i].err);
                return nullptr;
            }
        }
    }
    return list;
}

record_view view_of(const rd_kafka_message_t& m, const std::string& topic) {
    record_view r;
    r.topic = topic;
    r.partition = m.partition;
    r.offset = m.offset;
    rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
    r.timestamp_ms = rd_kafka_message_timestamp(&m, &type);
    r.log_append_time = type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME;
    if (m.key != nullptr) {
        r.key = std::string_view(static_cast<const char*>(m.key), m.key_len);
    }
    if (m.payload != nullptr) {
        r.value = std::string_view(static_cast<const char*>(m.payload), m.len);
    }
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name = nullptr;
        const void* value = nullptr;
        size_t size = 0;
        for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
            header_view h{name, std::nullopt};
            if (value != nullptr) {
                h.value = std::string_view(static_cast<const char*>(value), size);
            }
            r.headers.push_back(h);
        }
    }
    return r;
}

// Errors after which reading cannot go on; others (a lost connection) are
// reported and librdkafka retries until the deadline.
bool is_fatal(rd_kafka_resp_err_t err) {
    switch (err) {
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_MSG: return true; // Kafka's CORRUPT_MESSAGE
    default: return false;
    }
}

struct consume_loop {
    const consume_command& cmd;
    const std::optional<record_format>& format;
    int partition_count = 0;
    int64_t consumed = 0;
    std::set<int32_t> at_end;
    std::string output;
    std::string error;

    bool done() const {
        return (cmd.max_messages && consumed >= *cmd.max_messages) ||
               (cmd.exit_at_end && static_cast<int>(at_end.size()) == partition_count);
    }

    void flush_output() {
        std::fwrite(output.data(), 1, output.size(), stdout);
        output.clear();
    }

    // Handles one polled message; false when reading must stop with error set.
    bool handle(const rd_kafka_message_t& m) {
        if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            at_end.insert(m.partition);
            return true;
        }
        if (m.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            // librdkafka reports the broker's OFFSET_OUT_OF_RANGE (with auto.offset.reset=error) as
            // its own _AUTO_OFFSET_RESET; the user asked about the broker's answer.
            const auto err = m.err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ? RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE : m.err;
            const std::string text = describe_error(err, rd_kafka_message_errstr(&m));
            if (is_fatal(m.err)) {
                error = "partition " + std::to_string(m.partition) + ": " + text;
                return false;
            }
            print_error("consume " + cmd.topic + ": " + text + " (retrying)");
            return true;
        }
        const record_view r = view_of(m, cmd.topic);
        if (format) {
            format->render(r, output);
        } else {
            render_json(r, output);
        }
        ++consumed;
        if (output.size() >= output_flush_bytes) {
            flush_output();
        }
        return true;
    }
};

} // namespace

int run_consume(const global_options& global, const consume_command& cmd) {
    const std::string what = "consume " + cmd.topic;
    std::string error;
    std::optional<record_format> format;
    if (!cmd.json) {
        format = record_format::compile(cmd.format, &error);
        if (!format) {
            print_error(what + ": --format: " + error);
            return exit_usage;
        }
    }
    deadline until(global.timeout_ms);
    auto conf = make_conf(global, consumer_properties(cmd), &error);
    auto rk = conf ? make_handle(RD_KAFKA_CONSUMER, std::move(conf), &error) : nullptr;
    auto positions = rk ? start_positions(rk.get(), cmd, until, &error) : nullptr;
    if (!positions) {
        print_error(what + ": " + error);
        return exit_failure;
    }
    // The simple (legacy) consumer API reads partitions without a consumer
    // group; librdkafka 2.0's assign() insists on a group.id.
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), cmd.topic.c_str(), nullptr);
    queue_ptr queue(rd_kafka_queue_new(rk.get()));
    int started = 0;
    for (; started < positions->cnt; ++started) {
        const auto& tp = positions->elems[started];
        if (rd_kafka_consume_start_queue(rkt, tp.partition, tp.offset, queue.get()) != 0) {
            error = "partition " + std::to_string(tp.partition) + ": " + describe_error(rd_kafka_last_error());
            break;
        }
    }
    consume_loop loop{.cmd = cmd, .format = format, .partition_count = positions->cnt, .consumed = 0, .at_end = {}, .output = {}, .error = error};
    bool ok = error.empty();
    while (ok && !loop.done() && !until.passed()) {
        rd_kafka_message_t* m = rd_kafka_consume_queue(queue.get(), std::max(1, until.remaining_ms(poll_ms_max)));
        if (m != nullptr) {
            ok = loop.handle(*m);
            rd_kafka_message_destroy(m);
        }
    }
    loop.flush_output();
    std::fflush(stdout);
    for (int i = 0; i < started; ++i) {
        rd_kafka_consume_stop(rkt, positions->elems[i].partition);
    }
    rd_kafka_topic_destroy(rkt);
    std::cerr << "runnelctl: consume " << cmd.topic << ": " << loop.consumed << " records\n";
    if (!ok) {
        print_error(what + ": " + loop.error);
        return exit_failure;
    }
    if (!loop.done() && (cmd.max_messages || cmd.exit_at_end)) {
        const std::string wanted = cmd.max_messages ? std::to_string(*cmd.max_messages) + " records"
                                                    : "the end of every partition";
        print_error(what + ": " +
                    describe_error(RD_KAFKA_RESP_ERR__TIMED_OUT, "read " + std::to_string(loop.consumed) +
                                                                     " records but not " + wanted + " within --timeout-ms"));
        return exit_failure;
    }
    return exit_ok;
}

} // namespace runnel::ctl
