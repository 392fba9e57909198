// JSON and number formatting for the run reports (see report.h).
#include "tools/runnel-bench/report.h"

#include <cmath>
#include <cstdio>

namespace runnel::bench {

std::string json_quote(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", u);
            out += escaped;
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

void json_object::key(std::string_view k) {
    if (!body_.empty()) {
        body_ += ',';
    }
    body_ += json_quote(k);
    body_ += ':';
}

json_object& json_object::add(std::string_view k, std::string_view value) {
    key(k);
    body_ += json_quote(value);
    return *this;
}

json_object& json_object::add(std::string_view k, double value) {
    key(k);
    if (!std::isfinite(value)) {
        body_ += "null";
        return *this;
    }
    char text[64];
    std::snprintf(text, sizeof text, "%.6g", value);
    body_ += text;
    return *this;
}

json_object& json_object::add(std::string_view k, int64_t value) {
    key(k);
    body_ += std::to_string(value);
    return *this;
}

json_object& json_object::add(std::string_view k, bool value) {
    key(k);
    body_ += value ? "true" : "false";
    return *this;
}

json_object& json_object::add(std::string_view k, const json_object& value) {
    key(k);
    body_ += value.str();
    return *this;
}

json_object& json_object::add_null(std::string_view k) {
    key(k);
    body_ += "null";
    return *this;
}

namespace {
double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }
} // namespace

json_object latency_json(const histogram& h) {
    json_object o;
    o.add("count", h.count());
    o.add("p50_us", us(h.percentile(0.50)));
    o.add("p99_us", us(h.percentile(0.99)));
    o.add("p999_us", us(h.percentile(0.999)));
    o.add("max_us", us(h.max()));
    o.add("mean_us", h.mean() / 1000.0);
    return o;
}

std::string latency_line(const histogram& h) {
    if (h.count() == 0) {
        return "no samples";
    }
    auto show = [](uint64_t ns) {
        return ns >= 10'000'000 ? fixed(static_cast<double>(ns) / 1e6, 1) + " ms" : fixed(us(ns), 0) + " us";
    };
    return "p50 " + show(h.percentile(0.5)) + "  p99 " + show(h.percentile(0.99)) + "  p99.9 " +
           show(h.percentile(0.999)) + "  max " + show(h.max()) + "  (" + with_commas(static_cast<int64_t>(h.count())) +
           " samples)";
}

std::string with_commas(int64_t n) {
    std::string digits = std::to_string(n < 0 ? -n : n);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) {
            out += ',';
        }
        out += digits[i];
    }
    return n < 0 ? "-" + out : out;
}

std::string fixed(double v, int decimals) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, v);
    return text;
}

} // namespace runnel::bench
