// Pieces every client command shares: opening the target and the topic, and
// the fields every JSON line starts with.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "tools/runnel-bench/client.h"
#include "tools/runnel-bench/options.h"
#include "tools/runnel-bench/report.h"

namespace runnel::bench {

struct prepared_run {
    std::unique_ptr<target> where;
    handle_ptr admin;
    topic_info topic;
};

// Opens the target (the mock cluster with --mock) and makes sure the topic
// exists, within common.setup_timeout_s; nullopt after printing the error.
std::optional<prepared_run> prepare(const common_options& common, const char* command);

// {"tool":"runnel-bench","command":…,"target":…,"label":…,"topic":…,"partitions":…,"topic_created":…}
json_object header_json(const char* command, const common_options& common, const prepared_run& run);

// Prints the JSON line last on stdout, flushed.
void print_json_line(const json_object& o);

double mb_per_s(int64_t bytes, double seconds);
double per_s(int64_t count, double seconds);

} // namespace runnel::bench
