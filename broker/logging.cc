// spdlog set-up: one shared stderr sink (coloured only on a terminal), one
// pattern, one level for all of the broker's named loggers.
#include "broker/logging.h"

#include <cassert>
#include <mutex>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace runnel::broker {
namespace {

// ISO-like local time with milliseconds, the level, the logger name, the message.
constexpr const char* log_pattern = "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v";

std::mutex& loggers_mutex() {
    static std::mutex m;
    return m;
}

spdlog::sink_ptr shared_sink() {
    // Colour only when stderr is a terminal, so captured logs stay plain text.
    static spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(spdlog::color_mode::automatic);
    return sink;
}

} // namespace

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view text) {
    if (text == "trace") return spdlog::level::trace;
    if (text == "debug") return spdlog::level::debug;
    if (text == "info") return spdlog::level::info;
    if (text == "warn") return spdlog::level::warn;
    if (text == "error") return spdlog::level::err;
    return std::nullopt;
}

void setup_logging(std::string_view level) {
    std::optional<spdlog::level::level_enum> parsed = parse_log_level(level);
    assert(parsed.has_value() && "logger.level is validated when the config loads");
    spdlog::set_default_logger(get_logger("runnel"));
    spdlog::set_pattern(log_pattern);
    spdlog::set_level(*parsed);
    // Warnings and errors reach the terminal or file at once, even if the process then dies.
    spdlog::flush_on(spdlog::level::warn);
}

bool set_log_level(std::string_view level) {
    std::optional<spdlog::level::level_enum> parsed = parse_log_level(level);
    if (!parsed) {
        return false;
    }
    spdlog::set_level(*parsed);
    return true;
}

std::shared_ptr<spdlog::logger> get_logger(std::string_view name) {
    std::lock_guard lock(loggers_mutex());
    std::string key(name);
    if (std::shared_ptr<spdlog::logger> existing = spdlog::get(key)) {
        return existing;
    }
    auto logger = std::make_shared<spdlog::logger>(key, shared_sink());
    // Registers it and applies the registry's current level, pattern and flush level.
    spdlog::initialize_logger(logger);
    return logger;
}

} // namespace runnel::broker
