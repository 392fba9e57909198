// Tests of consume's --format strings and JSON output.
#include "tools/runnelctl/record_format.h"

#include <gtest/gtest.h>

namespace runnel::ctl {
namespace {

record_view sample() {
    record_view r;
    r.topic = "orders";
    r.partition = 4;
    r.offset = 1234;
    r.timestamp_ms = 1700000000123;
    r.key = "k1";
    r.value = "hello";
    r.headers = {{"a", "1"}, {"b", std::nullopt}, {"c", ""}};
    return r;
}

std::string render(std::string_view format, const record_view& r) {
    std::string error;
    auto f = record_format::compile(format, &error);
    EXPECT_TRUE(f.has_value()) << error;
    std::string out;
    if (f) {
        f->render(r, out);
    }
    return out;
}

std::string compile_error(std::string_view format) {
    std::string error;
    EXPECT_FALSE(record_format::compile(format, &error).has_value());
    return error;
}

TEST(record_format, every_field) {
    EXPECT_EQ(render("%t|%p|%o|%k|%v|%T|%h|%K|%S", sample()), "orders|4|1234|k1|hello|1700000000123|a=1,b,c=|2|5");
}

TEST(record_format, escapes_and_percent) {
    EXPECT_EQ(render("%k\\t%v\\n", sample()), "k1\thello\n");
    EXPECT_EQ(render("100%% \\\\ \\r", sample()), "100% \\ \r");
    EXPECT_EQ(render("", sample()), "");
    EXPECT_EQ(render("plain", sample()), "plain");
}

TEST(record_format, null_key_and_value) {
    record_view r = sample();
    r.key.reset();
    r.value.reset();
    r.headers.clear();
    EXPECT_EQ(render("[%k][%v][%K][%S][%h]", r), "[][][-1][-1][]");
    r.value = "";
    EXPECT_EQ(render("[%v][%S]", r), "[][0]");
}

TEST(record_format, bad_formats_are_refused_with_a_reason) {
    EXPECT_NE(compile_error("%x").find("unknown field '%x'"), std::string::npos);
    EXPECT_NE(compile_error("abc%").find("lone '%'"), std::string::npos);
    EXPECT_NE(compile_error("\\q").find("unknown escape"), std::string::npos);
    EXPECT_NE(compile_error("x\\").find("lone '\\'"), std::string::npos);
}

TEST(record_format, binary_bytes_pass_through_format_unchanged) {
    record_view r = sample();
    const std::string bytes("\0\xff\n", 3);
    r.value = bytes;
    EXPECT_EQ(render("%v", r), bytes);
}

TEST(record_format, json) {
    std::string out;
    render_json(sample(), out);
    EXPECT_EQ(out,
              "{\"topic\":\"orders\",\"partition\":4,\"offset\":1234,\"timestamp\":1700000000123,"
              "\"timestamp_type\":\"CreateTime\",\"key\":\"k1\",\"value\":\"hello\",\"headers\":["
              "{\"key\":\"a\",\"value\":\"1\"},{\"key\":\"b\",\"value\":null},{\"key\":\"c\",\"value\":\"\"}]}\n");
}

TEST(record_format, json_nulls_escapes_and_binary) {
    record_view r = sample();
    r.log_append_time = true;
    r.key.reset();
    const std::string value("q\"\\\n\x01\xc3\xa9", 7); // valid UTF-8 with characters JSON must escape
    r.value = value;
    const std::string header_value("\xff\x00", 2);   // not UTF-8
    r.headers = {{"h", header_value}};
    std::string out;
    render_json(r, out);
    EXPECT_EQ(out,
              "{\"topic\":\"orders\",\"partition\":4,\"offset\":1234,\"timestamp\":1700000000123,"
              "\"timestamp_type\":\"LogAppendTime\",\"key\":null,\"value\":\"q\\\"\\\\\\n\\u0001\xc3\xa9\",\"headers\":["
              "{\"key\":\"h\",\"value_base64\":\"/wA=\"}]}\n");
}

TEST(record_format, utf8_validation) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("plain ascii"));
    EXPECT_TRUE(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")); // é € 😀
    EXPECT_FALSE(is_valid_utf8("\xc3"));                                // truncated
    EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));                            // overlong
    EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));                        // overlong, three bytes
    EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));                        // a UTF-16 surrogate
    EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));                    // past U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\x80"));                                // a lone continuation byte
}

TEST(record_format, base64) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64_encode(std::string("\xfb\xff", 2)), "+/8=");
}

} // namespace
} // namespace runnel::ctl
