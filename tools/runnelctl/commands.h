// runnelctl's commands. Each runs to completion within the global timeout,
// prints its result on stdout and errors on stderr, and returns an exit code
// (exit_ok, exit_failure or exit_usage from options.h).
#pragma once

#include <cstdio>
#include <iosfwd>

#include "tools/runnelctl/options.h"

namespace runnel::ctl {

int run_topic_create(const global_options& global, const topic_create_command& cmd);
int run_topic_list(const global_options& global, const topic_list_command& cmd);
int run_topic_describe(const global_options& global, const topic_describe_command& cmd);
int run_topic_delete(const global_options& global, const topic_delete_command& cmd);
int run_topic_alter_config(const global_options& global, const topic_alter_config_command& cmd);

// Reads records from input, one per line.
int run_produce(const global_options& global, const produce_command& cmd, std::FILE* input);

int run_consume(const global_options& global, const consume_command& cmd);

int run_group_list(const global_options& global, const group_list_command& cmd);
int run_group_describe(const global_options& global, const group_describe_command& cmd);
int run_group_delete(const global_options& global, const group_delete_command& cmd);
int run_group_reset_offsets(const global_options& global, const group_reset_offsets_command& cmd);

// Runs whichever command the invocation holds.
int run(const invocation& inv);

} // namespace runnel::ctl
