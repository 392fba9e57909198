// Parsing, running and rewriting data-driven test files (see datadriven.h).
#include "raft/tests/datadriven.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace runnel::raft::testing {

namespace {

test_command parse_command(const std::string& text, int line) {
    test_command c;
    c.text = text;
    c.line = line;
    std::istringstream in(text);
    in >> c.name;
    std::string word;
    while (in >> word) {
        const size_t eq = word.find('=');
        if (eq == std::string::npos) {
            c.args.push_back(word);
        } else {
            c.options[word.substr(0, eq)] = word.substr(eq + 1);
        }
    }
    return c;
}

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

} // namespace

std::string test_command::get(const std::string& key, const std::string& fallback) const {
    auto it = options.find(key);
    return it == options.end() ? fallback : it->second;
}

void run_data_driven(const std::string& path, const std::function<std::string(const test_command&)>& run) {
    const std::vector<std::string> lines = read_lines(path);
    ASSERT_FALSE(lines.empty()) << "cannot read " << path;
    const bool rewrite = std::getenv("RUNNEL_REWRITE") != nullptr;
    std::string rewritten;
    size_t i = 0;
    while (i < lines.size()) {
        const std::string& line = lines[i];
        if (line.empty() || line[0] == '#') {
            rewritten += line + "\n";
            ++i;
            continue;
        }
        const int command_line = static_cast<int>(i + 1);
        ASSERT_TRUE(i + 1 < lines.size() && lines[i + 1] == "----")
            << path << ":" << command_line << ": expected ---- after the command";
        std::string expected;
        size_t j = i + 2;
        for (; j < lines.size() && !lines[j].empty(); ++j) {
            expected += lines[j] + "\n";
        }
        const std::string actual = run(parse_command(line, command_line));
        if (!rewrite) {
            EXPECT_EQ(expected, actual) << path << ":" << command_line << ": " << line;
        }
        rewritten += line + "\n----\n" + actual;
        i = j;
    }
    if (rewrite) {
        std::ofstream out(path, std::ios::trunc);
        out << rewritten;
    }
}

} // namespace runnel::raft::testing
