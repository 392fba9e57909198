// Reads produce's input lines with a bounded buffer: memory never grows past
// the longest accepted line plus one read.
#include "tools/runnelctl/produce_input.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

#include <unistd.h>

namespace runnel::ctl {
namespace {
constexpr size_t read_chunk_bytes = 64 * 1024;
}

line_reader::line_reader(int fd, size_t line_bytes_max)
    : fd_(fd), line_bytes_max_(line_bytes_max), buffer_(line_bytes_max + 1 + read_chunk_bytes) {}

bool line_reader::fill() {
    if (begin_ > 0) {
        std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    assert(end_ < buffer_.size());
    for (;;) {
        const ssize_t n = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
        if (n > 0) {
            end_ += static_cast<size_t>(n);
            return true;
        }
        if (n == 0) {
            eof_ = true;
            return false;
        }
        if (errno != EINTR) {
            error_ = true;
            return false;
        }
    }
}

line_reader::status line_reader::next(std::string_view* line) {
    size_t scanned = begin_;
    for (;;) {
        const char* start = buffer_.data() + scanned;
        const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - scanned));
        if (newline != nullptr) {
            const size_t at = static_cast<size_t>(newline - buffer_.data());
            if (at - begin_ > line_bytes_max_) {
                return status::too_long;
            }
            *line = std::string_view(buffer_.data() + begin_, at - begin_);
            begin_ = at + 1;
            return status::line;
        }
        if (end_ - begin_ > line_bytes_max_) {
            return status::too_long;
        }
        if (eof_ || error_) {
            if (error_) {
                return status::read_error;
            }
            if (begin_ == end_) {
                return status::end;
            }
            *line = std::string_view(buffer_.data() + begin_, end_ - begin_);
            begin_ = end_;
            return status::line;
        }
        const size_t pending = end_ - begin_;
        fill();
        scanned = begin_ + pending; // the bytes before were already searched
    }
}

std::optional<key_and_value> split_key_value(std::string_view line, std::string_view separator) {
    const size_t at = line.find(separator);
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    return key_and_value{line.substr(0, at), line.substr(at + separator.size())};
}

} // namespace runnel::ctl
