// Report helpers: JSON that always parses, number formatting, /proc parsing,
// and the record payload's stamp.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "tools/runnel-bench/payload.h"
#include "tools/runnel-bench/proc_stats.h"
#include "tools/runnel-bench/report.h"

namespace runnel::bench {
namespace {

TEST(report, json_object_in_order_with_escapes_and_nulls) {
    json_object inner;
    inner.add("n", int64_t{-3});
    json_object o;
    o.add("s", "a\"b\\c\nd").add("x", 1.5).add("bad", std::nan("")).add("inf", HUGE_VAL).add("t", true).add("in", inner);
    o.add_null("z");
    EXPECT_EQ(o.str(), R"({"s":"a\"b\\c\u000ad","x":1.5,"bad":null,"inf":null,"t":true,"in":{"n":-3},"z":null})");
}

TEST(report, with_commas) {
    EXPECT_EQ(with_commas(0), "0");
    EXPECT_EQ(with_commas(999), "999");
    EXPECT_EQ(with_commas(1000), "1,000");
    EXPECT_EQ(with_commas(1234567), "1,234,567");
    EXPECT_EQ(with_commas(-1234), "-1,234");
}

TEST(report, latency_json_in_microseconds) {
    histogram h;
    h.record(2000);
    const std::string s = latency_json(h).str();
    EXPECT_NE(s.find("\"count\":1"), std::string::npos) << s;
    EXPECT_NE(s.find("\"p50_us\":2"), std::string::npos) << s;
    EXPECT_NE(s.find("\"max_us\":2"), std::string::npos) << s;
}

TEST(proc_stats, stat_fields_counted_from_the_last_parenthesis) {
    // comm "(a) b)" holds a space and parentheses; utime 150, stime 50 ticks.
    const std::string stat = "1234 ((a) b)) S 1 1234 1234 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 9 0 100 1000 200";
    const auto cpu = parse_stat_cpu_s(stat, 100);
    ASSERT_TRUE(cpu.has_value());
    EXPECT_DOUBLE_EQ(*cpu, 2.0);
    EXPECT_FALSE(parse_stat_cpu_s("1234 (x) S 1 2", 100).has_value());
    EXPECT_FALSE(parse_stat_cpu_s("no parenthesis", 100).has_value());
}

TEST(proc_stats, status_fields) {
    const std::string status = "Name:\trunnel\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
    EXPECT_EQ(parse_status_kb(status, "VmRSS"), 10240);
    EXPECT_EQ(parse_status_kb(status, "VmHWM"), 20480);
    EXPECT_FALSE(parse_status_kb(status, "VmSwap").has_value());
}

TEST(proc_stats, cpu_pressure_some_total) {
    const std::string pressure = "some avg10=1.76 avg60=7.11 avg300=23.71 total=20633708489\n"
                                 "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
    EXPECT_EQ(parse_pressure_some_total_us(pressure), 20633708489u);
    EXPECT_FALSE(parse_pressure_some_total_us("full avg10=0.00 total=5\n").has_value());
    EXPECT_FALSE(parse_pressure_some_total_us("some avg10=1.76 total=\n").has_value());
    EXPECT_FALSE(parse_pressure_some_total_us("some avg10=1.76 total=12x\n").has_value());
    EXPECT_FALSE(parse_pressure_some_total_us("").has_value());
}

TEST(proc_stats, this_process_can_be_sampled) {
    const auto s = sample_process(static_cast<int32_t>(getpid()));
    ASSERT_TRUE(s.has_value());
    EXPECT_GT(s->rss_kb, 0);
    EXPECT_GE(s->rss_peak_kb, s->rss_kb);
}

TEST(payload, stamp_round_trip_and_distinct_values) {
    payload_source source(payload_kind::random, 100);
    std::set<std::string> seen;
    for (uint64_t seq = 0; seq < 1000; ++seq) {
        const auto v = source.value(seq, 1'000'000 + seq);
        ASSERT_EQ(v.size(), 100u);
        const auto stamp = read_stamp(v);
        ASSERT_TRUE(stamp.has_value());
        EXPECT_EQ(stamp->sequence, seq);
        EXPECT_EQ(stamp->sent_ns, 1'000'000 + seq);
        seen.insert(std::string(v.data() + record_stamp_bytes, v.size() - record_stamp_bytes));
    }
    EXPECT_EQ(seen.size(), 1000u); // no two records share their bytes after the stamp
}

TEST(payload, small_records_carry_no_stamp) {
    payload_source source(payload_kind::text, 8);
    const auto v = source.value(3, 4);
    EXPECT_EQ(v.size(), 8u);
    EXPECT_FALSE(read_stamp(v).has_value());
    payload_source empty(payload_kind::random, 0);
    EXPECT_TRUE(empty.value(0, 0).empty());
}

} // namespace
} // namespace runnel::bench
