// Shared setup and reporting of the client commands (see run_common.h).
#include "tools/runnel-bench/run_common.h"

#include <cstdio>
#include <iostream>

#include "tools/runnel-bench/commands.h"

namespace runnel::bench {

void print_error(const std::string& message) { std::cerr << "runnel-bench: " << message << std::endl; }

std::optional<prepared_run> prepare(const common_options& common, const char* command) {
    std::string error;
    deadline until(common.setup_timeout_s);
    prepared_run run;
    run.where = target::open(common, &error);
    if (run.where) {
        run.admin = make_admin_handle(*run.where, common, &error);
    }
    if (run.admin) {
        if (auto info = ensure_topic(run.admin.get(), common, until, &error)) {
            run.topic = *info;
            return run;
        }
    }
    print_error(std::string(command) + ": " + error);
    return std::nullopt;
}

json_object header_json(const char* command, const common_options& common, const prepared_run& run) {
    json_object o;
    o.add("tool", "runnel-bench");
    o.add("command", command);
    o.add("target", run.where->name());
    o.add("label", common.label);
    o.add("topic", common.topic);
    o.add("partitions", run.topic.partitions);
    o.add("topic_created", run.topic.created);
    if (run.topic.created) {
        o.add("topic_create_ms", run.topic.create_ms);
    }
    return o;
}

void print_json_line(const json_object& o) {
    std::cout << o.str() << std::endl;
}

double mb_per_s(int64_t bytes, double seconds) {
    return seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0;
}

double per_s(int64_t count, double seconds) { return seconds > 0 ? static_cast<double>(count) / seconds : 0; }

} // namespace runnel::bench
