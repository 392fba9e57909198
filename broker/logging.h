// Process-wide logging: every named logger writes through one stderr sink with
// the same pattern (time, level, logger name), at the level `logger.level` sets.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include <spdlog/spdlog.h>

namespace runnel::broker {

// logger.level's values: trace, debug, info, warn, error.
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view text);

// Installs the shared sink and pattern and sets the level (an unknown level
// text is a bug: logger.level was validated). Safe to call more than once;
// until it is called, spdlog's own defaults apply.
void setup_logging(std::string_view level);

// Changes the level of every logger, existing and future. False for an unknown level.
bool set_log_level(std::string_view level);

// The logger for one part of the broker ("server", "raft", "storage", ...),
// created on first use; also the default logger when the name is "runnel".
std::shared_ptr<spdlog::logger> get_logger(std::string_view name);

} // namespace runnel::broker
