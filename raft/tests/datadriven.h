// A minimal runner for data-driven test files in the style of etcd's raft
// tests: each block is one command line, a line "----", and the expected
// output up to the next blank line. Lines starting with '#' are comments.
// With RUNNEL_REWRITE=1 in the environment the file is rewritten with the
// actual output instead (then review the diff: it is the specification).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace runnel::raft::testing {

struct test_command {
    std::string name;
    std::vector<std::string> args;              // positional arguments
    std::map<std::string, std::string> options; // key=value arguments
    int line = 0;
    std::string text; // the command line as written

    bool has(const std::string& key) const { return options.contains(key); }
    std::string get(const std::string& key, const std::string& fallback) const;
};

// Runs every block of `path` through `run` and reports mismatches as gtest
// failures naming the file and line.
void run_data_driven(const std::string& path, const std::function<std::string(const test_command&)>& run);

} // namespace runnel::raft::testing
