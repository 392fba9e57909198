// librdkafka plumbing shared by runnelctl's commands.
#include "tools/runnelctl/kafka_client.h"

#include <algorithm>
#include <iostream>

#include "protocol/errors.h"

namespace runnel::ctl {
namespace {

// librdkafka prints its own warnings and errors (a refused connection, a
// failed request) on stderr; debug chatter stays off unless -X asks for it.
constexpr const char* default_log_level = "4";
// Slack on top of the admin request timeout, so that librdkafka reports its
// own timeout (with its error name) before our bounded wait gives up.
constexpr int admin_wait_slack_ms = 2000;

bool set_property(rd_kafka_conf_t* conf, const std::string& key, const std::string& value, std::string* error) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        *error = "client property " + key + "=" + value + ": " + errstr;
        return false;
    }
    return true;
}

} // namespace

std::string error_name(rd_kafka_resp_err_t err) {
    if (err > 0) {
        const auto name = proto::error_name(static_cast<int16_t>(err));
        if (name != "UNKNOWN_ERROR_CODE") {
            return std::string(name);
        }
        return std::string(rd_kafka_err2name(err)) + " (error code " + std::to_string(static_cast<int>(err)) + ")";
    }
    return rd_kafka_err2name(err);
}

std::string describe_error(rd_kafka_resp_err_t err, std::string_view detail) {
    std::string out = error_name(err);
    out += ": ";
    if (detail.empty()) {
        out += rd_kafka_err2str(err);
    } else {
        out += detail;
    }
    return out;
}

int deadline::remaining_ms(int cap_ms) const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end_ - std::chrono::steady_clock::now());
    return static_cast<int>(std::clamp<int64_t>(left.count(), 0, cap_ms));
}

conf_ptr make_conf(const global_options& global, const std::vector<key_value>& command_properties, std::string* error) {
    conf_ptr conf(rd_kafka_conf_new());
    const std::vector<key_value> base{
        {"bootstrap.servers", global.bootstrap_server},
        {"client.id", "runnelctl"},
        {"log_level", default_log_level},
        {"socket.timeout.ms", std::to_string(std::max(global.timeout_ms, 10))},
    };
    for (const auto* list : {&base, &command_properties, &global.client_properties}) {
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
    (void)conf.release(); // rd_kafka_new owns it now
    return handle_ptr(rk);
}

handle_ptr make_admin_handle(const global_options& global, std::string* error) {
    auto conf = make_conf(global,
                          {{"allow.auto.create.topics", "false"}, {"enable.auto.commit", "false"},
                           {"topic.metadata.refresh.interval.ms", "-1"}},
                          error);
    if (!conf) {
        return nullptr;
    }
    return make_handle(RD_KAFKA_CONSUMER, std::move(conf), error);
}

admin_options_ptr make_admin_options(rd_kafka_t* rk, rd_kafka_admin_op_t op, const deadline& until, bool validate_only,
                                     std::string* error) {
    admin_options_ptr options(rd_kafka_AdminOptions_new(rk, op));
    char errstr[512];
    const int timeout = std::max(1, until.remaining_ms() - admin_wait_slack_ms / 2);
    if (rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout, errstr, sizeof errstr) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *error = errstr;
        return nullptr;
    }
    const bool has_operation_timeout = op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS;
    if (has_operation_timeout &&
        rd_kafka_AdminOptions_set_operation_timeout(options.get(), timeout, errstr, sizeof errstr) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *error = errstr;
        return nullptr;
    }
    if (validate_only &&
        rd_kafka_AdminOptions_set_validate_only(options.get(), 1, errstr, sizeof errstr) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *error = errstr;
        return nullptr;
    }
    return options;
}

event_ptr wait_admin_result(rd_kafka_queue_t* queue, const deadline& until, std::string* error) {
    event_ptr event(rd_kafka_queue_poll(queue, until.remaining_ms() + admin_wait_slack_ms));
    if (!event) {
        *error = describe_error(RD_KAFKA_RESP_ERR__TIMED_OUT, "no answer within --timeout-ms");
        return nullptr;
    }
    if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *error = describe_error(rd_kafka_event_error(event.get()), rd_kafka_event_error_string(event.get()));
        return nullptr;
    }
    return event;
}

void print_error(std::string_view message) { std::cerr << "runnelctl: " << message << std::endl; }

} // namespace runnel::ctl
