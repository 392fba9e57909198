// Reads never hand out bytes whose CRC fails: a closed segment that the
// start-up did not scan (below the recovery point, or after a clean
// shutdown) is checked as it is read, and damage there is an error at the
// damaged batch, with the good batches before it still readable.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "storage/format.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

using namespace runnel::storage::testing;

class read_verification_test : public ::testing::Test {
protected:
    std::unique_ptr<partition_log> open_log(bool clean, int64_t recovery_point) {
        log_open_options options;
        options.clean_shutdown = clean;
        options.recovery_point = recovery_point;
        options.now_ms = 1000;
        auto log = partition_log::open(fs_, dir_.sub("t-0"), topic_partition{"t", 0}, small_config(), options);
        EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.err().message);
        return log.ok() ? std::move(log).value() : nullptr;
    }

    // Ten batches of two records (offsets 0..19) in several 1 KiB segments,
    // closed cleanly; returns the batch sizes.
    std::vector<uint64_t> write_closed() {
        auto log = open_log(false, 0);
        std::vector<uint64_t> sizes;
        for (int i = 0; i < 10; ++i) {
            auto b = make_value_batch(2, i * 10, 200);
            sizes.push_back(b.size());
            append_options options;
            options.now_ms = 1000;
            EXPECT_TRUE(log->append(b, options).ok());
        }
        EXPECT_TRUE(log->close().ok());
        return sizes;
    }

    void flip_byte(const std::string& path, uint64_t position) {
        std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
        f.seekg(static_cast<std::streamoff>(position));
        char c = 0;
        f.read(&c, 1);
        c = static_cast<char>(c ^ 0x5a);
        f.seekp(static_cast<std::streamoff>(position));
        f.write(&c, 1);
    }

    std::string log_dir() const { return dir_.sub("t-0"); }

    temp_dir dir_;
    std::shared_ptr<file_system> fs_ = make_posix_file_system();
};

TEST_F(read_verification_test, intact_segments_read_as_before) {
    write_closed();
    auto log = open_log(true, 20);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->recovery().segments_scanned, 0u);
    EXPECT_EQ(read_all(*log, 0).size(), 20u);
}

TEST_F(read_verification_test, damage_in_an_unscanned_closed_segment_is_an_error_at_the_damaged_batch) {
    auto sizes = write_closed();
    // The first segment holds the first batches; damage the second batch's last value byte.
    const std::string first = segment_file_path(log_dir(), 0, format::log_suffix);
    ASSERT_GE(std::filesystem::file_size(first), sizes[0] + sizes[1]);
    flip_byte(first, sizes[0] + sizes[1] - 3);

    auto log = open_log(true, 20); // clean shutdown: nothing is scanned at open
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_end_offset(), 20);

    // A read from the start gets the good first batch only.
    auto r = log->read(0, read_options{});
    ASSERT_TRUE(r.ok()) << r.err().message;
    ASSERT_EQ(r->slices.size(), 1u);
    EXPECT_EQ(r->bytes, sizes[0]);
    EXPECT_EQ(r->next_offset, 2);
    // A read at the damaged batch fails, naming it.
    auto bad = log->read(2, read_options{});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.code(), errc::corrupt);
    EXPECT_NE(bad.err().message.find("CRC"), std::string::npos) << bad.err().message;
    // Later segments are unaffected.
    std::vector<int64_t> bases;
    for (const auto& e : std::filesystem::directory_iterator(log_dir())) {
        if (e.path().extension() == ".log") {
            bases.push_back(std::stoll(e.path().stem().string()));
        }
    }
    std::sort(bases.begin(), bases.end());
    ASSERT_GT(bases.size(), 1u);
    auto later = read_all(*log, bases[1]);
    EXPECT_EQ(later.size(), static_cast<size_t>(20 - bases[1]));
    // Appends go on.
    append_options options;
    options.now_ms = 1000;
    auto batch = make_value_batch(1, 100);
    EXPECT_TRUE(log->append(batch, options).ok());
    EXPECT_EQ(log->log_end_offset(), 21);
}

} // namespace
} // namespace runnel::storage
