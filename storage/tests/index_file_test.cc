// The sparse .index and .timeindex files.
#include <gtest/gtest.h>

#include "storage/index_file.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

using testing::temp_dir;

TEST(offset_index, append_flush_reopen_and_search) {
    temp_dir dir;
    auto fs = make_posix_file_system();
    std::string path = dir.sub("00000000000000000100.index");
    {
        auto index = offset_index::open(*fs, path, 100, 80);
        ASSERT_TRUE(index.ok());
        ASSERT_TRUE((*index)->load().ok());
        ASSERT_TRUE((*index)->preallocate().ok());
        EXPECT_EQ((*index)->capacity(), 10u);
        for (int i = 1; i <= 5; ++i) {
            (*index)->append(offset_entry{100 + i * 10, static_cast<uint32_t>(i * 1000)});
        }
        ASSERT_TRUE((*index)->trim().ok());
    }
    // Stored relative to the base, big-endian: entry 0 is (10, 1000).
    auto raw = read_whole_file(*fs, path, 1024);
    ASSERT_TRUE(raw.ok());
    ASSERT_EQ(raw->size(), 40u);
    EXPECT_EQ((std::vector<uint8_t>(raw->begin(), raw->begin() + 8)),
              (std::vector<uint8_t>{0, 0, 0, 10, 0, 0, 0x03, 0xe8}));
    auto index = offset_index::open(*fs, path, 100, 80);
    ASSERT_TRUE(index.ok());
    EXPECT_EQ((*index)->count(), 5u);
    EXPECT_EQ((*index)->last(), (offset_entry{150, 5000}));
    auto found = (*index)->find_last([](const offset_entry& e) { return e.offset <= 135; });
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(**found, (offset_entry{130, 3000}));
    auto none = (*index)->find_last([](const offset_entry& e) { return e.offset <= 105; });
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(*none);
    ASSERT_TRUE((*index)->truncate_entries(2).ok());
    EXPECT_EQ((*index)->last(), (offset_entry{120, 2000}));
}

TEST(offset_index, bad_sizes_and_order_are_corrupt) {
    temp_dir dir;
    auto fs = make_posix_file_system();
    std::string path = dir.sub("x.index");
    ASSERT_TRUE(write_file_atomically(*fs, path, std::string(12, '\0')).ok());
    EXPECT_EQ(offset_index::open(*fs, path, 0, 80).code(), errc::corrupt);
    // Two zero entries (a preallocated file after a crash) are out of order.
    ASSERT_TRUE(write_file_atomically(*fs, path, std::string(16, '\0')).ok());
    auto index = offset_index::open(*fs, path, 0, 80);
    ASSERT_TRUE(index.ok());
    EXPECT_EQ((*index)->load().code(), errc::corrupt);
}

TEST(time_index, entries_hold_timestamp_then_relative_offset) {
    temp_dir dir;
    auto fs = make_posix_file_system();
    std::string path = dir.sub("00000000000000000005.timeindex");
    auto index = time_index::open(*fs, path, 5, 120);
    ASSERT_TRUE(index.ok());
    ASSERT_TRUE((*index)->load().ok());
    (*index)->append(time_entry{1000, 7});
    (*index)->append(time_entry{2000, 9});
    ASSERT_TRUE((*index)->trim().ok());
    auto raw = read_whole_file(*fs, path, 1024);
    ASSERT_TRUE(raw.ok());
    ASSERT_EQ(raw->size(), 24u);
    EXPECT_EQ((std::vector<uint8_t>(raw->begin(), raw->begin() + 12)),
              (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0, 0, 0, 2}));
    auto found = (*index)->find_last([](const time_entry& e) { return e.timestamp < 1500; });
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(**found, (time_entry{1000, 7}));
}

} // namespace
} // namespace runnel::storage
