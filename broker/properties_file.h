// Reads a Java properties file, the format Kafka's server.properties uses:
// `key=value`, `key: value` or `key value`; `#` and `!` comment lines; a
// trailing backslash continues a line; \t \n \r \f \uXXXX and \<char> escapes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "broker/config_value.h"

namespace runnel::broker {

// Limits: a config file is small; anything bigger is a mistake.
inline constexpr size_t properties_file_bytes_max = 1 << 20;
inline constexpr size_t property_key_bytes_max = 256;

struct property {
    std::string key;
    std::string value; // escapes decoded; leading whitespace dropped, trailing kept (as Java does)
    size_t line = 0;   // 1-based line where the entry starts
};

// All entries in file order; a key given twice appears twice (the later one wins).
parsed<std::vector<property>> parse_properties(std::string_view text);
parsed<std::vector<property>> read_properties_file(const std::filesystem::path& path);

} // namespace runnel::broker
