// The hand-written Fetch response encoder against the generated decoder, at
// every version it writes: same fields, and the record bytes spliced in from
// a real file land exactly where the decoder expects them.
#include "broker/fetch_response_writer.h"

#include <gtest/gtest.h>

#include "protocol/messages/fetch.h"
#include "storage/tests/test_util.h"

namespace runnel::broker {
namespace {

class fetch_response_writer_test : public ::testing::Test {
protected:
    void SetUp() override {
        auto f = fs_->open(dir_.sub("records"), storage::open_mode::create_truncate);
        ASSERT_TRUE(f.ok());
        file_ = *f;
        for (size_t i = 0; i < content_.size(); ++i) {
            content_[i] = static_cast<uint8_t>(i * 7 + 3);
        }
        ASSERT_TRUE(file_->write_at(0, content_).ok());
    }

    storage::slice slice(uint64_t position, uint64_t length) { return storage::slice{file_, position, length}; }
    proto::bytes bytes_of(uint64_t position, uint64_t length) {
        return proto::bytes(content_.begin() + static_cast<ptrdiff_t>(position),
                            content_.begin() + static_cast<ptrdiff_t>(position + length));
    }

    fetch_answer sample() {
        fetch_answer a;
        a.throttle_time_ms = 7;
        a.session_id = 123456;
        fetch_topic_answer t1;
        t1.name = "alpha";
        t1.id.data = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        fetch_partition_answer p0;
        p0.partition = 0;
        p0.high_watermark = 100;
        p0.last_stable_offset = 100;
        p0.log_start_offset = 5;
        p0.records = {slice(10, 300), slice(1000, 50)}; // two segments
        p0.records_bytes = 350;
        fetch_partition_answer p1;
        p1.partition = 3;
        p1.error_code = 1;
        p1.high_watermark = 9;
        p1.last_stable_offset = 9;
        p1.log_start_offset = 0;
        p1.aborted_transactions_null = false;
        t1.partitions = {p0, p1};
        fetch_topic_answer t2;
        t2.name = "beta";
        t2.id.data = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 1};
        fetch_partition_answer q;
        q.partition = 1;
        q.high_watermark = 2;
        q.last_stable_offset = 2;
        q.log_start_offset = 0;
        q.records = {slice(2000, 129)};
        q.records_bytes = 129;
        t2.partitions = {q};
        a.topics = {t1, t2};
        return a;
    }

    std::shared_ptr<storage::file_system> fs_ = storage::make_posix_file_system();
    storage::testing::temp_dir dir_;
    std::shared_ptr<storage::file> file_;
    std::vector<uint8_t> content_ = std::vector<uint8_t>(4096);
};

TEST_F(fetch_response_writer_test, every_version_decodes_with_the_generated_codec) {
    const fetch_answer a = sample();
    for (int16_t v = fetch_version_min; v <= fetch_version_max; ++v) {
        SCOPED_TRACE(::testing::Message() << "version " << v);
        response_body body = encode_fetch_response(a, v);
        ASSERT_EQ(body.splices.size(), 3u);
        EXPECT_EQ(body.size(), body.bytes.size() + 350 + 129);
        const proto::bytes wire = materialize(body);
        proto::reader r(wire);
        proto::fetch_response decoded;
        decoded.decode(r, v);
        r.expect_end();
        ASSERT_TRUE(r.ok()) << to_string(r.error()) << " at " << r.position();

        EXPECT_EQ(decoded.throttle_time_ms, 7);
        EXPECT_EQ(decoded.session_id, v >= 7 ? 123456 : 0);
        ASSERT_EQ(decoded.responses.size(), 2u);
        const auto& t1 = decoded.responses[0];
        if (v >= 13) {
            EXPECT_EQ(t1.topic_id, a.topics[0].id);
        } else {
            EXPECT_EQ(t1.topic, "alpha");
        }
        ASSERT_EQ(t1.partitions.size(), 2u);
        const auto& p0 = t1.partitions[0];
        EXPECT_EQ(p0.partition_index, 0);
        EXPECT_EQ(p0.high_watermark, 100);
        EXPECT_EQ(p0.last_stable_offset, 100);
        EXPECT_EQ(p0.log_start_offset, v >= 5 ? 5 : -1);
        EXPECT_FALSE(p0.aborted_transactions.has_value());
        EXPECT_EQ(p0.preferred_read_replica, -1);
        proto::bytes expected = bytes_of(10, 300);
        auto tail = bytes_of(1000, 50);
        expected.insert(expected.end(), tail.begin(), tail.end());
        ASSERT_TRUE(p0.records.has_value());
        EXPECT_EQ(*p0.records, expected);
        const auto& p1 = t1.partitions[1];
        EXPECT_EQ(p1.partition_index, 3);
        EXPECT_EQ(p1.error_code, 1);
        ASSERT_TRUE(p1.aborted_transactions.has_value());
        EXPECT_TRUE(p1.aborted_transactions->empty());
        ASSERT_TRUE(p1.records.has_value());
        EXPECT_TRUE(p1.records->empty());
        const auto& q = decoded.responses[1].partitions.at(0);
        EXPECT_EQ(*q.records, bytes_of(2000, 129));
    }
}

TEST_F(fetch_response_writer_test, an_empty_answer_matches_the_generated_encoder) {
    // With no records the answer is plain bytes and must equal what the
    // generated encoder writes for the same fields.
    for (int16_t v = fetch_version_min; v <= fetch_version_max; ++v) {
        fetch_answer a;
        a.error_code = 70;
        response_body body = encode_fetch_response(a, v);
        EXPECT_TRUE(body.splices.empty());
        proto::fetch_response generated;
        generated.error_code = 70;
        proto::writer w;
        generated.encode(w, v);
        EXPECT_EQ(body.bytes, w.buffer()) << "version " << v;
    }
}

} // namespace
} // namespace runnel::broker
