// Record values and their stamps (see payload.h).
#include "tools/runnel-bench/payload.h"

#include <array>
#include <cassert>
#include <chrono>
#include <cstring>
#include <string_view>

namespace runnel::bench {
namespace {

// splitmix64: a fixed seed gives the same pool on every run and machine.
uint64_t next_random(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

constexpr uint64_t pool_seed = 20240611;

void fill_random(std::vector<char>& pool) {
    uint64_t state = pool_seed;
    for (size_t i = 0; i < pool.size(); i += 8) {
        const uint64_t r = next_random(state);
        std::memcpy(pool.data() + i, &r, std::min<size_t>(8, pool.size() - i));
    }
}

// Words of two to four syllables out of sixteen, separated by spaces.
void fill_text(std::vector<char>& pool) {
    static constexpr std::array<std::string_view, 16> syllables{
        "ka", "ro", "mi", "tel", "an", "su", "vor", "pe", "lin", "do", "ga", "fu", "ner", "is", "cha", "bo"};
    uint64_t state = pool_seed;
    size_t at = 0;
    while (at < pool.size()) {
        uint64_t r = next_random(state);
        const int count = 2 + static_cast<int>(r % 3);
        r /= 3;
        for (int i = 0; i < count && at < pool.size(); ++i, r >>= 4) {
            for (char c : syllables[r & 15]) {
                if (at < pool.size()) {
                    pool[at++] = c;
                }
            }
        }
        if (at < pool.size()) {
            pool[at++] = ' ';
        }
    }
}

void put_u64(char* out, uint64_t v) {
    for (int i = 0; i < 8; ++i) {
        out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    }
}

uint64_t get_u64(const char* in) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        v |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
    }
    return v;
}

} // namespace

payload_source::payload_source(payload_kind kind, int32_t record_size)
    : pool_(pool_bytes), buffer_(static_cast<size_t>(record_size)), record_size_(record_size) {
    assert(record_size >= 0 && static_cast<size_t>(record_size) <= pool_bytes / 2);
    if (kind == payload_kind::random) {
        fill_random(pool_);
    } else {
        fill_text(pool_);
    }
}

std::span<const char> payload_source::value(uint64_t sequence, uint64_t sent_ns) {
    const size_t size = buffer_.size();
    if (size == 0) {
        return {};
    }
    // Consecutive records take consecutive slices; the pool repeats only after
    // 16 MiB, further back than any codec's window within one batch.
    const size_t span = pool_.size() - size;
    const size_t at = span == 0 ? 0 : static_cast<size_t>((sequence * size) % span);
    std::memcpy(buffer_.data(), pool_.data() + at, size);
    if (size >= static_cast<size_t>(record_stamp_bytes)) {
        put_u64(buffer_.data(), sequence);
        put_u64(buffer_.data() + 8, sent_ns);
    }
    return buffer_;
}

std::optional<record_stamp> read_stamp(std::span<const char> value) {
    if (value.size() < static_cast<size_t>(record_stamp_bytes)) {
        return std::nullopt;
    }
    return record_stamp{get_u64(value.data()), get_u64(value.data() + 8)};
}

uint64_t steady_now_ns() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

} // namespace runnel::bench
