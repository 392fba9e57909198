// Java properties syntax, written out rather than taken from Boost's INI
// reader: that reader cuts a value at any '#' (a password such as "pa#ss"
// would silently lose its tail), reads "[x]" lines as sections, and knows no
// ':' separator, '!' comments or continuation lines, all of which Kafka users'
// files may contain.
#include "broker/properties_file.h"

#include <fstream>
#include <iterator>
#include <optional>

#include <fmt/format.h>

namespace runnel::broker {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

// Splits text into natural lines at \n, \r or \r\n.
std::vector<std::string_view> natural_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    size_t start = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' || text[i] == '\r') {
            lines.push_back(text.substr(start, i - start));
            if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
                ++i;
            }
            start = i + 1;
        }
    }
    if (start < text.size()) {
        lines.push_back(text.substr(start));
    }
    return lines;
}

std::string_view skip_blanks(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && is_blank(s[i])) {
        ++i;
    }
    return s.substr(i);
}

// A line ending in an odd number of backslashes continues on the next one.
bool continues(std::string_view line) {
    size_t count = 0;
    for (size_t i = line.size(); i > 0 && line[i - 1] == '\\'; --i) {
        ++count;
    }
    return count % 2 == 1;
}

void append_utf8(std::string& out, uint32_t code_point) {
    if (code_point < 0x80) {
        out += static_cast<char>(code_point);
    } else if (code_point < 0x800) {
        out += static_cast<char>(0xC0 | (code_point >> 6));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else if (code_point < 0x10000) {
        out += static_cast<char>(0xE0 | (code_point >> 12));
        out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code_point >> 18));
        out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    }
}

std::optional<uint32_t> hex4(std::string_view s, size_t at) {
    if (at + 4 > s.size()) {
        return std::nullopt;
    }
    uint32_t value = 0;
    for (size_t i = at; i < at + 4; ++i) {
        char c = s[i];
        uint32_t digit = c >= '0' && c <= '9'   ? static_cast<uint32_t>(c - '0')
                         : c >= 'a' && c <= 'f' ? static_cast<uint32_t>(c - 'a' + 10)
                         : c >= 'A' && c <= 'F' ? static_cast<uint32_t>(c - 'A' + 10)
                                                : 16;
        if (digit == 16) {
            return std::nullopt;
        }
        value = value * 16 + digit;
    }
    return value;
}

// Decodes one escape starting after the backslash at s[i]; advances i past it.
std::optional<std::string> unescape_one(std::string_view s, size_t& i) {
    char c = s[i++];
    switch (c) {
    case 't': return std::string("\t");
    case 'n': return std::string("\n");
    case 'r': return std::string("\r");
    case 'f': return std::string("\f");
    case 'u': break;
    default: return std::string(1, c);
    }
    std::optional<uint32_t> unit = hex4(s, i);
    if (!unit) {
        return std::nullopt;
    }
    i += 4;
    uint32_t code_point = *unit;
    if (code_point >= 0xD800 && code_point <= 0xDBFF) { // a UTF-16 pair: \uD83D\uDE00
        std::optional<uint32_t> low = s.substr(i, 2) == "\\u" ? hex4(s, i + 2) : std::nullopt;
        if (!low || *low < 0xDC00 || *low > 0xDFFF) {
            return std::nullopt;
        }
        i += 6;
        code_point = 0x10000 + ((code_point - 0xD800) << 10) + (*low - 0xDC00);
    } else if (code_point >= 0xDC00 && code_point <= 0xDFFF) {
        return std::nullopt;
    }
    std::string out;
    append_utf8(out, code_point);
    return out;
}

// Splits a logical line into key and value, decoding escapes in both.
parsed<property> split_entry(std::string_view line, size_t line_number) {
    property entry;
    entry.line = line_number;
    std::string* target = &entry.key;
    bool in_key = true;
    size_t i = 0;
    while (i < line.size()) {
        char c = line[i];
        if (in_key && (c == '=' || c == ':' || is_blank(c))) {
            // The key ends; blanks, then at most one '=' or ':', then blanks, separate it from the value.
            std::string_view rest = skip_blanks(line.substr(i));
            if (!rest.empty() && (rest.front() == '=' || rest.front() == ':')) {
                rest = skip_blanks(rest.substr(1));
            }
            i = line.size() - rest.size();
            in_key = false;
            target = &entry.value;
            continue;
        }
        ++i;
        if (c != '\\') {
            *target += c;
            continue;
        }
        if (i == line.size()) {
            break; // a lone trailing backslash on the last line of the file: Java drops it
        }
        std::optional<std::string> decoded = unescape_one(line, i);
        if (!decoded) {
            return parsed<property>::failure(fmt::format("line {}: malformed \\uXXXX escape", line_number));
        }
        *target += *decoded;
    }
    if (entry.key.size() > property_key_bytes_max) {
        return parsed<property>::failure(fmt::format("line {}: key longer than {} bytes", line_number, property_key_bytes_max));
    }
    return parsed<property>::success(std::move(entry));
}

} // namespace

parsed<std::vector<property>> parse_properties(std::string_view text) {
    if (text.size() > properties_file_bytes_max) {
        return parsed<std::vector<property>>::failure(
            fmt::format("the file is larger than {} bytes", properties_file_bytes_max));
    }
    std::vector<std::string_view> lines = natural_lines(text);
    std::vector<property> entries;
    size_t n = 0;
    while (n < lines.size()) {
        size_t first_line = n + 1;
        std::string_view line = skip_blanks(lines[n++]);
        if (line.empty() || line.front() == '#' || line.front() == '!') {
            continue; // comments never continue, even when they end in a backslash
        }
        std::string logical(line);
        while (continues(logical)) {
            logical.pop_back();
            if (n == lines.size()) {
                break;
            }
            logical += skip_blanks(lines[n++]);
        }
        parsed<property> entry = split_entry(logical, first_line);
        if (!entry.ok()) {
            return parsed<std::vector<property>>::failure(entry.error);
        }
        entries.push_back(std::move(*entry.value));
    }
    return parsed<std::vector<property>>::success(std::move(entries));
}

parsed<std::vector<property>> read_properties_file(const std::filesystem::path& path) {
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    if (ec) {
        return parsed<std::vector<property>>::failure(fmt::format("cannot read {}: {}", path.string(), ec.message()));
    }
    if (size > properties_file_bytes_max) {
        return parsed<std::vector<property>>::failure(
            fmt::format("{} is larger than {} bytes", path.string(), properties_file_bytes_max));
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return parsed<std::vector<property>>::failure(fmt::format("cannot open {}", path.string()));
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        return parsed<std::vector<property>>::failure(fmt::format("error reading {}", path.string()));
    }
    parsed<std::vector<property>> entries = parse_properties(text);
    if (!entries.ok()) {
        return parsed<std::vector<property>>::failure(fmt::format("{}: {}", path.string(), entries.error));
    }
    return entries;
}

} // namespace runnel::broker
