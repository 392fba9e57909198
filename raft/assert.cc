// The failure path of raft_assert.
#include "raft/assert.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace runnel::raft {

namespace {
std::atomic<assert_hook> hook_{nullptr};
}

assert_hook set_assert_hook(assert_hook hook) { return hook_.exchange(hook); }

void assert_failed(const char* condition, const char* file, int line, const std::string& detail) {
    std::fprintf(stderr, "raft assertion failed at %s:%d: %s (%s)\n", file, line, condition, detail.c_str());
    if (assert_hook hook = hook_.load()) {
        hook();
    }
    std::fflush(stderr);
    std::abort();
}

} // namespace runnel::raft
