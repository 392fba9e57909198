// Tests of produce's input: the bounded line reader over a real pipe, and key splitting.
#include "tools/runnelctl/produce_input.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <unistd.h>

namespace runnel::ctl {
namespace {

// Reads every line written to a pipe, with the reader's final status.
struct read_outcome {
    std::vector<std::string> lines;
    line_reader::status last = line_reader::status::end;
};

read_outcome read_all(const std::string& input, size_t line_bytes_max) {
    // The reader may stop early (a too-long line) and close its end: the writer then gets EPIPE, not a signal.
    ::signal(SIGPIPE, SIG_IGN);
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    std::thread writer([&] {
        size_t done = 0;
        while (done < input.size()) {
            // Small writes, so that lines straddle reads.
            const ssize_t n = ::write(fds[1], input.data() + done, std::min<size_t>(7, input.size() - done));
            if (n <= 0) {
                break;
            }
            done += static_cast<size_t>(n);
        }
        ::close(fds[1]);
    });
    read_outcome out;
    line_reader reader(fds[0], line_bytes_max);
    for (size_t i = 0; i <= input.size() + 1; ++i) { // bounded: at most one line per byte, plus the end
        std::string_view line;
        out.last = reader.next(&line);
        if (out.last != line_reader::status::line) {
            break;
        }
        out.lines.emplace_back(line);
    }
    ::close(fds[0]);
    writer.join();
    return out;
}

TEST(line_reader, splits_lines_and_keeps_empty_ones) {
    auto r = read_all("a\n\nbc\n", 100);
    EXPECT_EQ(r.lines, (std::vector<std::string>{"a", "", "bc"}));
    EXPECT_EQ(r.last, line_reader::status::end);
}

TEST(line_reader, last_line_without_newline) {
    auto r = read_all("one\ntwo", 100);
    EXPECT_EQ(r.lines, (std::vector<std::string>{"one", "two"}));
    EXPECT_EQ(r.last, line_reader::status::end);
}

TEST(line_reader, empty_input) {
    auto r = read_all("", 100);
    EXPECT_TRUE(r.lines.empty());
    EXPECT_EQ(r.last, line_reader::status::end);
}

TEST(line_reader, line_at_the_limit_is_accepted_and_one_past_is_refused) {
    auto ok = read_all("12345\nabcde", 5);
    EXPECT_EQ(ok.lines, (std::vector<std::string>{"12345", "abcde"}));
    auto too_long = read_all("12345\n123456\nx\n", 5);
    EXPECT_EQ(too_long.lines, (std::vector<std::string>{"12345"}));
    EXPECT_EQ(too_long.last, line_reader::status::too_long);
    auto unterminated = read_all("1234567", 5);
    EXPECT_EQ(unterminated.last, line_reader::status::too_long);
}

TEST(line_reader, many_lines_across_buffer_refills) {
    std::string input;
    std::vector<std::string> expected;
    for (int i = 0; i < 20000; ++i) {
        expected.push_back("key-" + std::to_string(i) + ":value-" + std::string(static_cast<size_t>(i % 50), 'x'));
        input += expected.back() + "\n";
    }
    auto r = read_all(input, 80);
    EXPECT_EQ(r.lines, expected);
    EXPECT_EQ(r.last, line_reader::status::end);
}

TEST(split_key_value, splits_at_the_first_separator) {
    auto kv = split_key_value("k:v:w", ":");
    ASSERT_TRUE(kv.has_value());
    EXPECT_EQ(kv->key, "k");
    EXPECT_EQ(kv->value, "v:w");
    auto multi = split_key_value("key::=value", "::=");
    ASSERT_TRUE(multi.has_value());
    EXPECT_EQ(multi->key, "key");
    EXPECT_EQ(multi->value, "value");
    auto empty_parts = split_key_value(":", ":");
    ASSERT_TRUE(empty_parts.has_value());
    EXPECT_EQ(empty_parts->key, "");
    EXPECT_EQ(empty_parts->value, "");
    EXPECT_FALSE(split_key_value("novalue", ":").has_value());
}

} // namespace
} // namespace runnel::ctl
