// runnelctl: the command-line client for Runnel (and any Kafka broker).
// Parses the command line and runs one command; see options.cc for the list.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "tools/runnelctl/commands.h"

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    const auto parsed = runnel::ctl::parse_command_line(args);
    if (!parsed.help.empty()) {
        std::cout << parsed.help;
        return runnel::ctl::exit_ok;
    }
    if (!parsed.run) {
        std::cerr << "runnelctl: " << parsed.error;
        return runnel::ctl::exit_usage;
    }
    return runnel::ctl::run(*parsed.run);
}
