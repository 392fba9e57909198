// The runnel-bench commands. Each returns the process exit code and prints
// its summary and JSON line on stdout.
#pragma once

#include "tools/runnel-bench/options.h"

namespace runnel::bench {

int run_produce(const produce_command& cmd);
int run_consume(const consume_command& cmd);
int run_e2e(const e2e_command& cmd);
int run_idle(const idle_command& cmd);
int run_baseline(const baseline_command& cmd);

// Prints "runnel-bench: <message>" on stderr.
void print_error(const std::string& message);

} // namespace runnel::bench
