// What /proc says about a process (the broker, or runnel-bench itself): CPU
// seconds used so far, resident memory now and at its peak.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace runnel::bench {

struct proc_sample {
    double cpu_s = 0;      // user + system
    int64_t rss_kb = 0;    // VmRSS
    int64_t rss_peak_kb = 0; // VmHWM: the peak over the process's whole life
};

// nullopt when the process is gone or /proc cannot be read.
std::optional<proc_sample> sample_process(int32_t pid);

// Parses the text of /proc/PID/stat and /proc/PID/status (split out for tests).
std::optional<double> parse_stat_cpu_s(const std::string& stat_text, long ticks_per_s);
std::optional<int64_t> parse_status_kb(const std::string& status_text, const std::string& field);

// The machine's one-minute load average, for the record (-1 if unreadable).
double load_average_1m();

// Microseconds, since boot, during which at least one runnable task waited
// for a CPU: the "some ... total=" of /proc/pressure/cpu (Linux PSI);
// nullopt where the kernel does not provide it. The text parser is split
// out for tests.
std::optional<uint64_t> cpu_pressure_total_us();
std::optional<uint64_t> parse_pressure_some_total_us(const std::string& pressure_text);

} // namespace runnel::bench
