// A small deterministic random source (splitmix64). It is written out here,
// not taken from <random>, so that a seed gives the same sequence with every
// compiler and standard library, which seeded simulations depend on.
#pragma once

#include <cstdint>

namespace runnel::raft {

class random_source {
public:
    explicit random_source(uint64_t seed) : state_(seed) {}

    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // Uniform in [0, n) for n > 0 (the modulo bias is negligible for the
    // small ranges used here).
    uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
    int64_t between(int64_t lo, int64_t hi_inclusive) {
        return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi_inclusive - lo) + 1));
    }
    // True with probability per_million / 1e6.
    bool chance(uint32_t per_million) { return below(1'000'000) < per_million; }

private:
    uint64_t state_;
};

} // namespace runnel::raft
