// Invariant checks that stay on in every build. A failure prints the broken
// condition with the values involved, runs an optional hook (the simulator
// uses it to print the seed and the replay command) and aborts.
#pragma once

#include <string>

#include <fmt/format.h>

namespace runnel::raft {

using assert_hook = void (*)();
// Installs a function to run before aborting; returns the previous one.
assert_hook set_assert_hook(assert_hook hook);

[[noreturn]] void assert_failed(const char* condition, const char* file, int line, const std::string& detail);

} // namespace runnel::raft

// raft_assert(condition, "format", args...): the format explains the values.
#define raft_assert(condition, ...)                                                                                    \
    do {                                                                                                               \
        if (!(condition)) [[unlikely]] {                                                                               \
            ::runnel::raft::assert_failed(#condition, __FILE__, __LINE__, ::fmt::format(__VA_ARGS__));                 \
        }                                                                                                              \
    } while (0)
