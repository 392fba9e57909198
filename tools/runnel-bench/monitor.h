// Watches a run while it goes: samples the broker process (CPU seconds, RSS
// and its peak) and this process, and prints the progress line on stderr
// once a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "tools/runnel-bench/proc_stats.h"
#include "tools/runnel-bench/report.h"

namespace runnel::bench {

class run_monitor {
public:
    // pid 0: no broker to watch.
    run_monitor(std::string mode, int32_t broker_pid, bool progress);

    // Marks the start of the measured phase.
    void start();
    // Call often from the run's loop (cheap unless a sample or a line is due):
    // `done` records so far and what to say about them.
    void tick(int64_t done, int64_t bytes);
    // Marks the end of the measured phase.
    void stop(int64_t done, int64_t bytes);

    double elapsed_s() const; // start to stop (or to now, before stop)
    // {"broker":{...},"client":{...}} fields for the JSON line, given the bytes moved.
    void add_json(json_object& out, int64_t bytes) const;
    std::string summary_line(int64_t bytes) const;
    std::optional<double> broker_cpu_s() const;

private:
    void sample_broker();

    std::string mode_;
    int32_t broker_pid_;
    bool progress_;
    bool tty_;
    std::chrono::steady_clock::time_point start_{};
    std::chrono::steady_clock::time_point stop_{};
    bool stopped_ = false;
    std::chrono::steady_clock::time_point next_sample_{};
    std::chrono::steady_clock::time_point next_line_{};
    int64_t last_line_done_ = 0;
    std::chrono::steady_clock::time_point last_line_at_{};
    std::optional<proc_sample> broker_start_;
    std::optional<proc_sample> broker_end_;
    int64_t broker_rss_peak_kb_ = 0; // peak of the samples taken during the run
    bool broker_lost_ = false;
    double client_cpu_start_s_ = 0;
    double client_cpu_s_ = 0;
    double load_start_ = -1;
    double load_end_ = -1;
    // CPU pressure (PSI "some") at the start and the stop; the share of the
    // run during which some runnable task waited for a CPU.
    std::optional<uint64_t> pressure_start_us_;
    std::optional<uint64_t> pressure_end_us_;
    std::optional<double> cpu_pressure() const;
};

// This process's CPU seconds (user + system, every thread) so far.
double self_cpu_s();

} // namespace runnel::bench
