// Input side of `runnelctl produce`: a bounded line reader over a file
// descriptor, and the split of a line into key and value.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace runnel::ctl {

class line_reader {
public:
    enum class status { line, end, too_long, read_error };

    // Lines longer than line_bytes_max (without the '\n') are refused.
    line_reader(int fd, size_t line_bytes_max);

    // The next line without its '\n' (the last line may lack one). The view
    // stays valid until the next call.
    status next(std::string_view* line);

private:
    bool fill(); // reads more input; false at end of input or on error
    int fd_;
    size_t line_bytes_max_;
    std::vector<char> buffer_;
    size_t begin_ = 0;
    size_t end_ = 0;
    bool eof_ = false;
    bool error_ = false;
};

struct key_and_value {
    std::string_view key;
    std::string_view value;
};

// Splits at the first separator; nullopt if the line has none.
std::optional<key_and_value> split_key_value(std::string_view line, std::string_view separator);

} // namespace runnel::ctl
