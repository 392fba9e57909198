// What a run prints: a progress line on stderr while it runs, then a human
// summary and exactly one JSON line on stdout (the last line), which the
// suite and the tests read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tools/runnel-bench/histogram.h"

namespace runnel::bench {

// Builds one JSON object, fields in the order added. Non-finite numbers
// become null, so the line always parses.
class json_object {
public:
    json_object& add(std::string_view key, std::string_view value);
    json_object& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
    json_object& add(std::string_view key, double value);
    json_object& add(std::string_view key, int64_t value);
    json_object& add(std::string_view key, int32_t value) { return add(key, static_cast<int64_t>(value)); }
    json_object& add(std::string_view key, uint64_t value) { return add(key, static_cast<int64_t>(value)); }
    json_object& add(std::string_view key, bool value);
    json_object& add(std::string_view key, const json_object& value);
    json_object& add_null(std::string_view key);
    std::string str() const { return "{" + body_ + "}"; }

private:
    void key(std::string_view k);
    std::string body_;
};

std::string json_quote(std::string_view text);

// p50/p99/p99.9/max/mean/count of a histogram recorded in nanoseconds, in microseconds.
json_object latency_json(const histogram& h);
std::string latency_line(const histogram& h); // "p50 120 µs  p99 …"

// 1234567 -> "1,234,567"
std::string with_commas(int64_t n);
std::string fixed(double v, int decimals);

} // namespace runnel::bench
