// Reads /proc/PID/stat and /proc/PID/status (see proc_stats.h).
#include "tools/runnel-bench/proc_stats.h"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

namespace runnel::bench {
namespace {

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

std::optional<double> parse_stat_cpu_s(const std::string& stat_text, long ticks_per_s) {
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
    // fields are counted from the last ')'. utime and stime are fields 14 and
    // 15 of the line, i.e. the 12th and 13th after the ')'.
    const auto close = stat_text.rfind(')');
    if (close == std::string::npos || ticks_per_s <= 0) {
        return std::nullopt;
    }
    std::istringstream fields(stat_text.substr(close + 1));
    std::vector<std::string> words;
    std::string word;
    while (words.size() < 13 && fields >> word) {
        words.push_back(word);
    }
    if (words.size() < 13) {
        return std::nullopt;
    }
    try {
        const double ticks = std::stod(words[11]) + std::stod(words[12]);
        return ticks / static_cast<double>(ticks_per_s);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::optional<int64_t> parse_status_kb(const std::string& status_text, const std::string& field) {
    std::istringstream lines(status_text);
    std::string line;
    const std::string prefix = field + ":";
    while (std::getline(lines, line)) {
        if (line.rfind(prefix, 0) != 0) {
            continue;
        }
        std::istringstream value(line.substr(prefix.size()));
        int64_t kb = 0;
        if (value >> kb) {
            return kb;
        }
        return std::nullopt;
    }
    return std::nullopt;
}

std::optional<proc_sample> sample_process(int32_t pid) {
    const std::string base = "/proc/" + std::to_string(pid) + "/";
    const auto stat = read_file(base + "stat");
    const auto status = read_file(base + "status");
    if (!stat || !status) {
        return std::nullopt;
    }
    const auto cpu = parse_stat_cpu_s(*stat, sysconf(_SC_CLK_TCK));
    const auto rss = parse_status_kb(*status, "VmRSS");
    const auto hwm = parse_status_kb(*status, "VmHWM");
    if (!cpu || !rss || !hwm) {
        return std::nullopt;
    }
    return proc_sample{*cpu, *rss, *hwm};
}

double load_average_1m() {
    std::ifstream in("/proc/loadavg");
    double load = -1;
    if (!(in >> load)) {
        return -1;
    }
    return load;
}

std::optional<uint64_t> parse_pressure_some_total_us(const std::string& pressure_text) {
    // "some avg10=1.76 avg60=7.11 avg300=23.71 total=20633708489\nfull ..."
    if (!pressure_text.starts_with("some ")) {
        return std::nullopt;
    }
    const auto line_end = pressure_text.find('\n');
    const std::string line = pressure_text.substr(0, line_end);
    const auto at = line.find(" total=");
    if (at == std::string::npos) {
        return std::nullopt;
    }
    const char* first = line.data() + at + 7;
    const char* last = line.data() + line.size();
    uint64_t total = 0;
    const auto [end, ec] = std::from_chars(first, last, total);
    if (ec != std::errc{} || end == first || (end != last && *end != ' ')) {
        return std::nullopt;
    }
    return total;
}

std::optional<uint64_t> cpu_pressure_total_us() {
    const auto text = read_file("/proc/pressure/cpu");
    return text ? parse_pressure_some_total_us(*text) : std::nullopt;
}

} // namespace runnel::bench
