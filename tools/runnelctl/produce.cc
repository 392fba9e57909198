// `runnelctl produce TOPIC`: one record per input line, through librdkafka's
// producer, then a bounded flush. Delivery reports count successes and keep
// the first failures, which are printed with Kafka's error names.
#include <cstdint>
#include <iostream>

#include "tools/runnelctl/commands.h"
#include "tools/runnelctl/kafka_client.h"
#include "tools/runnelctl/produce_input.h"

namespace runnel::ctl {
namespace {

constexpr size_t failures_shown_max = 5;
constexpr int queue_full_poll_ms = 50;

struct delivery_state {
    int64_t delivered = 0;
    int64_t failed = 0;
    std::vector<std::string> failures; // the first few, for the error output
    bool print_offsets = false;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    auto* state = static_cast<delivery_state*>(opaque);
    const auto line = reinterpret_cast<uintptr_t>(message->_private);
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++state->failed;
        if (state->failures.size() < failures_shown_max) {
            // Not rd_kafka_message_errstr: for a delivery report it returns the record's
            // payload (not NUL-terminated) as the "error string".
            state->failures.push_back("line " + std::to_string(line) + ": " + describe_error(message->err));
        }
        return;
    }
    ++state->delivered;
    if (state->print_offsets) {
        std::cout << line << '\t' << message->partition << '\t' << message->offset << '\n';
    }
}

std::vector<key_value> producer_properties(const global_options& global, const produce_command& cmd) {
    return {
        {"acks", std::to_string(cmd.acks)},
        {"compression.codec", std::string(to_string(cmd.compression))},
        {"enable.idempotence", cmd.idempotent ? "true" : "false"},
        {"message.timeout.ms", std::to_string(global.timeout_ms)},
    };
}

// Asks for the topic's metadata (which lets a broker with
// auto.create.topics.enable create it, as Kafka's producers do) so that a
// missing topic or partition is reported at once rather than after the timeout.
std::string check_topic(rd_kafka_t* rk, const produce_command& cmd, const deadline& until) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, cmd.topic.c_str(), nullptr);
    const rd_kafka_metadata_t* raw = nullptr;
    const auto err = rd_kafka_metadata(rk, 0, rkt, &raw, std::max(1, until.remaining_ms()));
    rd_kafka_topic_destroy(rkt);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return describe_error(err);
    }
    metadata_ptr md(raw);
    if (md->topic_cnt != 1) {
        return "the broker did not describe the topic";
    }
    const auto& t = md->topics[0];
    switch (t.err) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
        return describe_error(t.err);
    default: break; // e.g. LEADER_NOT_AVAILABLE while being created: librdkafka waits
    }
    if (cmd.partition && t.err == RD_KAFKA_RESP_ERR_NO_ERROR && *cmd.partition >= t.partition_cnt) {
        return describe_error(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
                              "partition " + std::to_string(*cmd.partition) + " does not exist (the topic has " +
                                  std::to_string(t.partition_cnt) + ")");
    }
    return {};
}

rd_kafka_headers_t* make_headers(const produce_command& cmd) {
    if (cmd.headers.empty()) {
        return nullptr;
    }
    rd_kafka_headers_t* headers = rd_kafka_headers_new(cmd.headers.size());
    for (const auto& h : cmd.headers) {
        rd_kafka_header_add(headers, h.key.data(), static_cast<ssize_t>(h.key.size()), h.value.data(),
                            static_cast<ssize_t>(h.value.size()));
    }
    return headers;
}

// Hands one record to librdkafka, waiting (bounded) while its queue is full.
rd_kafka_resp_err_t send_record(rd_kafka_t* rk, const produce_command& cmd, const rd_kafka_headers_t* headers,
                                std::optional<std::string_view> key, std::string_view value, uintptr_t line,
                                int32_t timeout_ms) {
    deadline until(timeout_ms);
    const char* key_data = key ? key->data() : nullptr; // a null key, not an empty one
    const size_t key_size = key ? key->size() : 0;
    const int32_t partition = cmd.partition.value_or(RD_KAFKA_PARTITION_UA);
    auto* opaque = reinterpret_cast<void*>(line);
    for (;;) {
        rd_kafka_headers_t* copy = headers ? rd_kafka_headers_copy(headers) : nullptr;
        const auto err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(cmd.topic.c_str()), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key_data, key_size),
            RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_HEADERS(copy),
            RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && copy != nullptr) {
            rd_kafka_headers_destroy(copy); // producev owns the headers only on success
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || until.passed()) {
            return err;
        }
        rd_kafka_poll(rk, queue_full_poll_ms);
    }
}

// Reads and sends every line; returns an error text, or "" at end of input.
std::string send_lines(rd_kafka_t* rk, const produce_command& cmd, const global_options& global, std::FILE* input) {
    line_reader reader(fileno(input), cmd.line_bytes_max);
    rd_kafka_headers_t* headers = make_headers(cmd);
    std::string error;
    for (uintptr_t line_number = 1; error.empty(); ++line_number) {
        std::string_view line;
        const auto status = reader.next(&line);
        if (status == line_reader::status::end) {
            break;
        }
        if (status != line_reader::status::line) {
            error = status == line_reader::status::too_long
                        ? "line " + std::to_string(line_number) + " is longer than --line-bytes-max (" +
                              std::to_string(cmd.line_bytes_max) + " bytes)"
                        : "cannot read the input";
            break;
        }
        std::optional<std::string_view> key;
        std::string_view value = line;
        if (cmd.key_separator) {
            auto split = split_key_value(line, *cmd.key_separator);
            if (!split) {
                error = "line " + std::to_string(line_number) + " has no key separator '" + *cmd.key_separator + "'";
                break;
            }
            key = split->key;
            value = split->value;
        }
        if (auto err = send_record(rk, cmd, headers, key, value, line_number, global.timeout_ms); err) {
            error = "line " + std::to_string(line_number) + ": " + describe_error(err);
        }
        rd_kafka_poll(rk, 0); // serve delivery reports as we go
    }
    if (headers) {
        rd_kafka_headers_destroy(headers);
    }
    return error;
}

} // namespace

int run_produce(const global_options& global, const produce_command& cmd, std::FILE* input) {
    const std::string what = "produce " + cmd.topic;
    std::string error;
    delivery_state state;
    state.print_offsets = cmd.print_offsets;
    auto conf = make_conf(global, producer_properties(global, cmd), &error);
    if (conf) {
        rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery);
        rd_kafka_conf_set_opaque(conf.get(), &state);
    }
    auto rk = conf ? make_handle(RD_KAFKA_PRODUCER, std::move(conf), &error) : nullptr;
    if (!rk) {
        print_error(what + ": " + error);
        return exit_failure;
    }
    if (error = check_topic(rk.get(), cmd, deadline(global.timeout_ms)); !error.empty()) {
        print_error(what + ": " + error);
        return exit_failure;
    }
    const std::string input_error = send_lines(rk.get(), cmd, global, input);
    // Every queued record is delivered or fails within message.timeout.ms (= --timeout-ms).
    const auto flush_err = rd_kafka_flush(rk.get(), global.timeout_ms);
    std::cout.flush();
    char fatal[512];
    bool failed = !input_error.empty() || state.failed > 0 || flush_err != RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!input_error.empty()) {
        print_error(what + ": " + input_error);
    }
    for (const auto& f : state.failures) {
        print_error(what + ": " + f);
    }
    if (flush_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        print_error(what + ": " + describe_error(flush_err, std::to_string(rd_kafka_outq_len(rk.get())) +
                                                                " records still unacknowledged after --timeout-ms"));
    }
    if (auto fatal_err = rd_kafka_fatal_error(rk.get(), fatal, sizeof fatal); fatal_err) {
        failed = true;
        print_error(what + ": fatal: " + describe_error(fatal_err, fatal));
    }
    std::cerr << "runnelctl: produce " << cmd.topic << ": " << state.delivered << " records acknowledged, " << state.failed
              << " failed\n";
    return failed ? exit_failure : exit_ok;
}

} // namespace runnel::ctl
