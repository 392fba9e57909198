// How `runnelctl consume` prints a record: a compiled --format string
// (kcat-style %-fields and backslash escapes) or one JSON object per line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace runnel::ctl {

struct header_view {
    std::string_view key;
    std::optional<std::string_view> value; // nullopt: a null header value
};

// One consumed record, viewing bytes the caller owns.
struct record_view {
    std::string_view topic;
    int32_t partition = 0;
    int64_t offset = 0;
    int64_t timestamp_ms = -1;
    bool log_append_time = false; // the timestamp type: LogAppendTime, else CreateTime
    std::optional<std::string_view> key;
    std::optional<std::string_view> value;
    std::vector<header_view> headers;
};

enum class record_field : uint8_t { topic, partition, offset, key, value, timestamp, headers, key_length, value_length };

class record_format {
public:
    // Compiles a format string; nullopt and *error set when it is malformed.
    static std::optional<record_format> compile(std::string_view format, std::string* error);

    // Appends the record as the format says. Null keys and values print as
    // nothing (their lengths as -1).
    void render(const record_view& record, std::string& out) const;

private:
    using piece = std::variant<std::string, record_field>;
    std::vector<piece> pieces_;
};

// Appends the record as one JSON object and a newline. Keys, values and
// header values that are valid UTF-8 are JSON strings ("key", "value");
// other bytes are given base64-encoded under "key_base64"/"value_base64".
void render_json(const record_view& record, std::string& out);

// JSON string escaping for text that is valid UTF-8.
void append_json_string(std::string_view text, std::string& out);
bool is_valid_utf8(std::string_view text);
std::string base64_encode(std::string_view bytes);

} // namespace runnel::ctl
