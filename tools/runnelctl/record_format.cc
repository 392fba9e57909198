// Compiles and renders consume's --format strings, and renders records as JSON.
#include "tools/runnelctl/record_format.h"

#include <array>
#include <cassert>

namespace runnel::ctl {
namespace {

std::optional<record_field> field_for(char c) {
    switch (c) {
    case 't': return record_field::topic;
    case 'p': return record_field::partition;
    case 'o': return record_field::offset;
    case 'k': return record_field::key;
    case 'v': return record_field::value;
    case 'T': return record_field::timestamp;
    case 'h': return record_field::headers;
    case 'K': return record_field::key_length;
    case 'S': return record_field::value_length;
    default: return std::nullopt;
    }
}

std::optional<char> escape_for(char c) {
    switch (c) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case '\\': return '\\';
    default: return std::nullopt;
    }
}

int64_t length_of(const std::optional<std::string_view>& bytes) {
    return bytes ? static_cast<int64_t>(bytes->size()) : -1;
}

// Headers as k=v pairs separated by commas; a null value prints as the bare key.
void render_headers(const record_view& record, std::string& out) {
    bool first = true;
    for (const auto& h : record.headers) {
        if (!first) {
            out += ',';
        }
        first = false;
        out += h.key;
        if (h.value) {
            out += '=';
            out += *h.value;
        }
    }
}

void render_field(record_field field, const record_view& record, std::string& out) {
    switch (field) {
    case record_field::topic: out += record.topic; return;
    case record_field::partition: out += std::to_string(record.partition); return;
    case record_field::offset: out += std::to_string(record.offset); return;
    case record_field::key: out += record.key.value_or(""); return;
    case record_field::value: out += record.value.value_or(""); return;
    case record_field::timestamp: out += std::to_string(record.timestamp_ms); return;
    case record_field::headers: render_headers(record, out); return;
    case record_field::key_length: out += std::to_string(length_of(record.key)); return;
    case record_field::value_length: out += std::to_string(length_of(record.value)); return;
    }
    assert(false && "every record_field is rendered above");
}

// "name":<string or base64 or null>, choosing the name by the bytes' encoding.
void append_bytes_member(std::string_view name, const std::optional<std::string_view>& bytes, std::string& out) {
    if (bytes && !is_valid_utf8(*bytes)) {
        append_json_string(std::string(name) + "_base64", out);
        out += ':';
        append_json_string(base64_encode(*bytes), out);
        return;
    }
    append_json_string(name, out);
    out += ':';
    if (bytes) {
        append_json_string(*bytes, out);
    } else {
        out += "null";
    }
}

// The length of the UTF-8 sequence that starts with lead byte c, or 0 if c cannot start one.
size_t utf8_sequence_length(unsigned char c) {
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        return 4;
    }
    return 0;
}

} // namespace

std::optional<record_format> record_format::compile(std::string_view format, std::string* error) {
    record_format f;
    std::string literal;
    auto flush_literal = [&] {
        if (!literal.empty()) {
            f.pieces_.emplace_back(std::move(literal));
            literal.clear();
        }
    };
    for (size_t i = 0; i < format.size(); ++i) {
        const char c = format[i];
        if (c != '%' && c != '\\') {
            literal += c;
            continue;
        }
        if (i + 1 == format.size()) {
            *error = std::string("the format ends with a lone '") + c + "'";
            return std::nullopt;
        }
        const char next = format[++i];
        if (c == '\\') {
            auto e = escape_for(next);
            if (!e) {
                *error = std::string("unknown escape '\\") + next + "' in the format (known: \\n \\t \\r \\\\)";
                return std::nullopt;
            }
            literal += *e;
            continue;
        }
        if (next == '%') {
            literal += '%';
            continue;
        }
        auto field = field_for(next);
        if (!field) {
            *error = std::string("unknown field '%") + next + "' in the format (known: %t %p %o %k %v %T %h %K %S %%)";
            return std::nullopt;
        }
        flush_literal();
        f.pieces_.emplace_back(*field);
    }
    flush_literal();
    return f;
}

void record_format::render(const record_view& record, std::string& out) const {
    for (const auto& p : pieces_) {
        if (const auto* text = std::get_if<std::string>(&p)) {
            out += *text;
        } else {
            render_field(std::get<record_field>(p), record, out);
        }
    }
}

void render_json(const record_view& record, std::string& out) {
    out += "{\"topic\":";
    append_json_string(record.topic, out);
    out += ",\"partition\":" + std::to_string(record.partition);
    out += ",\"offset\":" + std::to_string(record.offset);
    out += ",\"timestamp\":" + std::to_string(record.timestamp_ms);
    out += record.log_append_time ? ",\"timestamp_type\":\"LogAppendTime\"," : ",\"timestamp_type\":\"CreateTime\",";
    append_bytes_member("key", record.key, out);
    out += ',';
    append_bytes_member("value", record.value, out);
    out += ",\"headers\":[";
    for (size_t i = 0; i < record.headers.size(); ++i) {
        out += i == 0 ? "{" : ",{";
        append_bytes_member("key", record.headers[i].key, out);
        out += ',';
        append_bytes_member("value", record.headers[i].value, out);
        out += '}';
    }
    out += "]}\n";
}

void append_json_string(std::string_view text, std::string& out) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xF];
            } else {
                out += ch;
            }
        }
    }
    out += '"';
}

bool is_valid_utf8(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        const size_t n = utf8_sequence_length(lead);
        if (n == 0 || i + n > text.size()) {
            return false;
        }
        for (size_t k = 1; k < n; ++k) {
            if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) {
                return false;
            }
        }
        if (n > 1) {
            const auto second = static_cast<unsigned char>(text[i + 1]);
            // Overlong three- and four-byte forms, UTF-16 surrogates, and code points past U+10FFFF.
            if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F) || (lead == 0xF0 && second < 0x90) ||
                (lead == 0xF4 && second > 0x8F)) {
                return false;
            }
        }
        i += n;
    }
    return true;
}

std::string base64_encode(std::string_view bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
        for (int shift = 18; shift >= 0; shift -= 6) {
            out += alphabet[(v >> shift) & 0x3F];
        }
    }
    const size_t left = bytes.size() - i;
    if (left > 0) {
        uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
        if (left == 2) {
            v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
        }
        out += alphabet[(v >> 18) & 0x3F];
        out += alphabet[(v >> 12) & 0x3F];
        out += left == 2 ? alphabet[(v >> 6) & 0x3F] : '=';
        out += '=';
    }
    return out;
}

} // namespace runnel::ctl
