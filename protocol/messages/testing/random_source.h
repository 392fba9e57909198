// Random field values for the generated round-trip tests: a seeded source
// that the generated fill_random functions draw from.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>

#include "protocol/wire.h"

namespace runnel::proto::testing {

class random_source {
public:
    explicit random_source(uint64_t seed) : rng_(seed) {}

    template <typename T>
    T value() {
        if constexpr (std::is_same_v<T, bool>) {
            return (rng_() & 1) != 0;
        } else if constexpr (std::is_same_v<T, double>) {
            return std::uniform_real_distribution<double>(-1e9, 1e9)(rng_);
        } else {
            // Mostly small values, sometimes the extremes, to exercise varints and signs.
            switch (rng_() % 4) {
            case 0: return static_cast<T>(rng_() % 3);
            case 1: return std::numeric_limits<T>::max();
            case 2: return std::numeric_limits<T>::min();
            default: return static_cast<T>(rng_());
            }
        }
    }
    bool chance(int one_in) { return rng_() % static_cast<uint64_t>(one_in) == 0; }
    size_t array_length(int depth) { return depth > 3 ? 0 : rng_() % 4; }
    std::string string_value() {
        std::string s(rng_() % 12, 'a');
        for (auto& c : s) {
            c = static_cast<char>('a' + rng_() % 26);
        }
        return s;
    }
    bytes bytes_value() {
        bytes b(rng_() % 20);
        for (auto& c : b) {
            c = static_cast<uint8_t>(rng_());
        }
        return b;
    }
    uuid uuid_value() {
        uuid u;
        for (auto& c : u.data) {
            c = static_cast<uint8_t>(rng_());
        }
        return u;
    }
    // Sometimes adds tags no spec defines (above any known tag), to check that
    // decoders keep them and encoders write them back.
    void unknown_tags(tagged_fields& out) {
        out.clear();
        if (chance(3)) {
            out.push_back(tagged_field{1000 + static_cast<uint32_t>(rng_() % 10), bytes_value()});
            if (chance(2)) {
                out.push_back(tagged_field{2000, bytes_value()});
            }
        }
    }

private:
    std::mt19937_64 rng_;
};

} // namespace runnel::proto::testing
