// runnel-bench: the system-level load generator. Parses the command line and
// runs one command (produce, consume, e2e, idle, baseline); see options.cc.
#include <iostream>
#include <string>
#include <vector>

#include "tools/runnel-bench/commands.h"

int main(int argc, char** argv) {
    using namespace runnel::bench;
    const std::vector<std::string> args(argv + 1, argv + argc);
    const auto parsed = parse_command_line(args);
    if (!parsed.help.empty()) {
        std::cout << parsed.help;
        return exit_ok;
    }
    if (!parsed.run) {
        std::cerr << "runnel-bench: " << parsed.error;
        return exit_usage;
    }
    return std::visit(
        [](const auto& cmd) {
            using T = std::decay_t<decltype(cmd)>;
            if constexpr (std::is_same_v<T, produce_command>) {
                return run_produce(cmd);
            } else if constexpr (std::is_same_v<T, consume_command>) {
                return run_consume(cmd);
            } else if constexpr (std::is_same_v<T, e2e_command>) {
                return run_e2e(cmd);
            } else if constexpr (std::is_same_v<T, idle_command>) {
                return run_idle(cmd);
            } else {
                return run_baseline(cmd);
            }
        },
        *parsed.run);
}
