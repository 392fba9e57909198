// Kafka's rules for topic names: 1 to 249 characters from [a-zA-Z0-9._-],
// and neither "." nor "..".
#pragma once

#include <string_view>

namespace runnel::broker {

inline constexpr size_t topic_name_bytes_max = 249;

inline bool is_valid_topic_name(std::string_view name) {
    if (name.empty() || name.size() > topic_name_bytes_max || name == "." || name == "..") {
        return false;
    }
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

} // namespace runnel::broker
