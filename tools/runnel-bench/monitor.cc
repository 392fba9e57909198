// The run monitor: broker sampling and the progress line (see monitor.h).
#include "tools/runnel-bench/monitor.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

namespace runnel::bench {
namespace {

constexpr auto sample_interval = std::chrono::milliseconds(200);
constexpr auto line_interval = std::chrono::seconds(1);

double seconds_of(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }

double gb(int64_t bytes) { return static_cast<double>(bytes) / 1e9; }

} // namespace

double self_cpu_s() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return seconds_of(usage.ru_utime) + seconds_of(usage.ru_stime);
}

run_monitor::run_monitor(std::string mode, int32_t broker_pid, bool progress)
    : mode_(std::move(mode)), broker_pid_(broker_pid), progress_(progress), tty_(isatty(STDERR_FILENO) == 1) {}

void run_monitor::start() {
    start_ = std::chrono::steady_clock::now();
    next_sample_ = start_ + sample_interval;
    next_line_ = start_ + line_interval;
    last_line_at_ = start_;
    client_cpu_start_s_ = self_cpu_s();
    load_start_ = load_average_1m();
    pressure_start_us_ = cpu_pressure_total_us();
    if (broker_pid_ != 0) {
        broker_start_ = sample_process(broker_pid_);
        broker_lost_ = !broker_start_;
        if (broker_start_) {
            broker_rss_peak_kb_ = broker_start_->rss_kb;
        }
    }
}

void run_monitor::sample_broker() {
    if (broker_pid_ == 0 || broker_lost_) {
        return;
    }
    const auto s = sample_process(broker_pid_);
    if (!s) {
        broker_lost_ = true;
        return;
    }
    broker_end_ = s;
    broker_rss_peak_kb_ = std::max(broker_rss_peak_kb_, s->rss_kb);
}

void run_monitor::tick(int64_t done, int64_t bytes) {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_sample_) {
        return;
    }
    next_sample_ = now + sample_interval;
    sample_broker();
    if (!progress_ || now < next_line_) {
        return;
    }
    next_line_ = now + line_interval;
    const double interval_s = std::chrono::duration<double>(now - last_line_at_).count();
    const double total_s = std::chrono::duration<double>(now - start_).count();
    const double rate = interval_s > 0 ? static_cast<double>(done - last_line_done_) / interval_s : 0;
    last_line_done_ = done;
    last_line_at_ = now;
    std::string line = "[" + mode_ + "] " + fixed(total_s, 1) + " s  " + with_commas(done) + " records  " +
                       with_commas(static_cast<int64_t>(rate)) + "/s  " +
                       fixed(total_s > 0 ? static_cast<double>(bytes) / 1e6 / total_s : 0, 1) + " MB/s avg";
    if (broker_start_ && broker_end_) {
        line += "  broker cpu " + fixed(broker_end_->cpu_s - broker_start_->cpu_s, 2) + " s  rss " +
                fixed(static_cast<double>(broker_end_->rss_kb) / 1024, 1) + " MiB";
    }
    std::fprintf(stderr, tty_ ? "\r%s\033[K" : "%s\n", line.c_str());
    std::fflush(stderr);
}

void run_monitor::stop(int64_t /*done*/, int64_t /*bytes*/) {
    stop_ = std::chrono::steady_clock::now();
    stopped_ = true;
    sample_broker();
    client_cpu_s_ = self_cpu_s() - client_cpu_start_s_;
    load_end_ = load_average_1m();
    pressure_end_us_ = cpu_pressure_total_us();
    if (progress_ && tty_) {
        std::fprintf(stderr, "\n");
    }
}

std::optional<double> run_monitor::cpu_pressure() const {
    const double wall_us = elapsed_s() * 1e6;
    if (!pressure_start_us_ || !pressure_end_us_ || *pressure_end_us_ < *pressure_start_us_ || wall_us <= 0) {
        return std::nullopt;
    }
    return std::min(1.0, static_cast<double>(*pressure_end_us_ - *pressure_start_us_) / wall_us);
}

double run_monitor::elapsed_s() const {
    const auto end = stopped_ ? stop_ : std::chrono::steady_clock::now();
    return std::chrono::duration<double>(end - start_).count();
}

std::optional<double> run_monitor::broker_cpu_s() const {
    if (!broker_start_ || !broker_end_) {
        return std::nullopt;
    }
    return broker_end_->cpu_s - broker_start_->cpu_s;
}

void run_monitor::add_json(json_object& out, int64_t bytes) const {
    if (broker_pid_ != 0) {
        json_object b;
        b.add("pid", broker_pid_);
        if (const auto cpu = broker_cpu_s()) {
            b.add("cpu_s", *cpu);
            if (bytes > 0) {
                b.add("cpu_s_per_gb", *cpu / gb(bytes));
            } else {
                b.add_null("cpu_s_per_gb");
            }
            b.add("rss_start_kb", broker_start_->rss_kb);
            b.add("rss_peak_kb", broker_rss_peak_kb_);
            b.add("rss_end_kb", broker_end_->rss_kb);
            b.add("rss_hwm_kb", broker_end_->rss_peak_kb);
        }
        b.add("lost", broker_lost_);
        out.add("broker", b);
    }
    json_object c;
    c.add("cpu_s", client_cpu_s_);
    c.add("cpu_s_per_gb", bytes > 0 ? client_cpu_s_ / gb(bytes) : 0.0);
    out.add("client", c);
    out.add("load_avg_start", load_start_);
    out.add("load_avg_end", load_end_);
    if (const auto p = cpu_pressure()) {
        out.add("cpu_pressure_some", *p);
    } else {
        out.add_null("cpu_pressure_some");
    }
}

std::string run_monitor::summary_line(int64_t bytes) const {
    std::string out = "client cpu " + fixed(client_cpu_s_, 2) + " s";
    if (const auto cpu = broker_cpu_s()) {
        out += "; broker cpu " + fixed(*cpu, 2) + " s";
        if (bytes > 0) {
            out += " (" + fixed(*cpu / gb(bytes), 2) + " s per GB)";
        }
        out += ", rss " + fixed(static_cast<double>(broker_start_->rss_kb) / 1024, 1) + " -> peak " +
               fixed(static_cast<double>(broker_rss_peak_kb_) / 1024, 1) + " MiB";
    } else if (broker_pid_ != 0) {
        out += "; broker " + std::to_string(broker_pid_) + " could not be sampled";
    }
    out += "; load average " + fixed(load_start_, 2) + " -> " + fixed(load_end_, 2);
    if (const auto p = cpu_pressure()) {
        out += "; cpu pressure " + fixed(*p * 100, 1) + " %";
    }
    return out;
}

} // namespace runnel::bench
