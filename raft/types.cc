// Printable forms of the Raft vocabulary.
#include "raft/types.h"

#include <algorithm>

#include <fmt/format.h>

namespace runnel::raft {

std::string_view to_string(entry_type t) {
    switch (t) {
    case entry_type::normal:
        return "normal";
    case entry_type::configuration:
        return "configuration";
    case entry_type::no_op:
        return "no-op";
    }
    return "unknown";
}

std::string describe(const entry& e) {
    const std::string position = fmt::format("{}/{}", e.term.value(), e.index.value());
    switch (e.type) {
    case entry_type::normal: {
        const bool printable = std::all_of(e.data.begin(), e.data.end(), [](uint8_t c) { return c >= 0x20 && c < 0x7f; });
        if (!printable) {
            return fmt::format("{} <{} bytes>", position, e.data.size());
        }
        return fmt::format("{} \"{}\"", position, std::string(e.data.begin(), e.data.end()));
    }
    case entry_type::configuration: {
        auto c = decode_configuration(e.data);
        return fmt::format("{} config {}", position, c ? describe(*c) : "<corrupt>");
    }
    case entry_type::no_op:
        return fmt::format("{} no-op", position);
    }
    return position;
}

} // namespace runnel::raft
