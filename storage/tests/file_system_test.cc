// The file I/O interface: the POSIX implementation and the faulty one that
// the crash and disk-full tests rely on.
#include <gtest/gtest.h>

#include "storage/faulty_file_system.h"
#include "storage/kafka_errors.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

using testing::temp_dir;

std::vector<uint8_t> bytes_of(std::string_view s) { return std::vector<uint8_t>(s.begin(), s.end()); }

std::string read_text(file_system& fs, const std::string& path) {
    auto data = read_whole_file(fs, path, 1 << 20);
    EXPECT_TRUE(data.ok());
    return data.ok() ? std::string(data->begin(), data->end()) : std::string();
}

TEST(posix_file_system, positional_reads_and_writes) {
    temp_dir dir;
    auto fs = make_posix_file_system();
    auto f = fs->open(dir.sub("a"), open_mode::create);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->write_at(0, bytes_of("hello world")).ok());
    ASSERT_TRUE((*f)->write_at(6, bytes_of("there")).ok());
    EXPECT_EQ(*(*f)->size(), 11u);
    std::vector<uint8_t> out(32);
    auto n = (*f)->read_at(6, out);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 5u);
    EXPECT_EQ(std::string(out.begin(), out.begin() + 5), "there");
    ASSERT_TRUE((*f)->truncate(5).ok());
    ASSERT_TRUE((*f)->sync().ok());
    EXPECT_EQ(read_text(*fs, dir.sub("a")), "hello");
    EXPECT_GE((*f)->native_handle(), 0);
}

TEST(posix_file_system, errors_carry_codes) {
    temp_dir dir;
    auto fs = make_posix_file_system();
    auto missing = fs->open(dir.sub("missing"), open_mode::read_write);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.code(), errc::not_found);
    ASSERT_TRUE(fs->open(dir.sub("x"), open_mode::create).ok());
    auto again = fs->open(dir.sub("x"), open_mode::create_exclusive);
    EXPECT_EQ(again.code(), errc::already_exists);
    EXPECT_EQ(errno_error(ENOSPC, "write", "f").code, errc::disk_full);
    EXPECT_EQ(errno_error(EDQUOT, "write", "f").code, errc::disk_full);
    EXPECT_EQ(errno_error(EIO, "write", "f").code, errc::io_error);
}

TEST(kafka_errors, storage_errors_map_to_kafka_codes) {
    EXPECT_EQ(kafka_error_code(errc::disk_full), proto::error_code::kafka_storage_error);
    EXPECT_EQ(kafka_error_code(errc::io_error), proto::error_code::kafka_storage_error);
    EXPECT_EQ(kafka_error_code(errc::offset_out_of_range), proto::error_code::offset_out_of_range);
    EXPECT_EQ(kafka_error_code(errc::corrupt), proto::error_code::corrupt_message);
    EXPECT_EQ(kafka_error_code(errc::too_large), proto::error_code::record_list_too_large);
    EXPECT_EQ(kafka_error_code(errc::ok), proto::error_code::none);
}

TEST(posix_file_system, directories_and_renames) {
    temp_dir dir;
    auto fs = make_posix_file_system();
    ASSERT_TRUE(fs->create_dirs(dir.sub("a/b")).ok());
    ASSERT_TRUE(fs->open(dir.sub("a/b/f"), open_mode::create).ok());
    ASSERT_TRUE(fs->rename(dir.sub("a/b/f"), dir.sub("a/g")).ok());
    auto names = fs->list_dir(dir.sub("a"));
    ASSERT_TRUE(names.ok());
    std::sort(names->begin(), names->end());
    EXPECT_EQ(*names, (std::vector<std::string>{"b", "g"}));
    EXPECT_TRUE(*fs->is_dir(dir.sub("a/b")));
    EXPECT_FALSE(*fs->is_dir(dir.sub("a/g")));
    ASSERT_TRUE(fs->sync_dir(dir.sub("a")).ok());
    ASSERT_TRUE(fs->remove_all(dir.sub("a")).ok());
    EXPECT_FALSE(*fs->exists(dir.sub("a")));
}

TEST(faulty_file_system, crash_forgets_unsynced_data_only) {
    temp_dir dir;
    faulty_file_system fs(make_posix_file_system(), 1);
    {
        auto f = fs.open(dir.sub("f"), open_mode::create);
        ASSERT_TRUE(f.ok());
        ASSERT_TRUE((*f)->write_at(0, bytes_of("durable")).ok());
        ASSERT_TRUE((*f)->sync().ok());
        ASSERT_TRUE((*f)->write_at(0, bytes_of("DURABLE")).ok()); // an overwrite: all or nothing
    }
    ASSERT_TRUE(fs.crash().ok());
    EXPECT_EQ(read_text(fs, dir.sub("f")), "durable");
}

TEST(faulty_file_system, crash_keeps_a_prefix_of_unsynced_appends) {
    temp_dir dir;
    // Over many seeds the kept prefix varies but always extends the synced part.
    std::set<size_t> lengths;
    for (uint64_t seed = 0; seed < 20; ++seed) {
        faulty_file_system fs(make_posix_file_system(), seed);
        std::string path = dir.sub("f" + std::to_string(seed));
        {
            auto f = fs.open(path, open_mode::create);
            ASSERT_TRUE(f.ok());
            ASSERT_TRUE((*f)->write_at(0, bytes_of("abc")).ok());
            ASSERT_TRUE((*f)->sync().ok());
            ASSERT_TRUE((*f)->write_at(3, bytes_of("defghij")).ok());
        }
        ASSERT_TRUE(fs.crash().ok());
        std::string text = read_text(fs, path);
        ASSERT_TRUE(std::string("abcdefghij").starts_with(text)) << "seed " << seed << ": " << text;
        ASSERT_GE(text.size(), 3u) << "seed " << seed;
        lengths.insert(text.size());
    }
    EXPECT_GT(lengths.size(), 1u);
}

TEST(faulty_file_system, unsynced_new_file_comes_back_empty) {
    temp_dir dir;
    faulty_file_system fs(make_posix_file_system(), 7);
    {
        auto f = fs.open(dir.sub("new"), open_mode::create);
        ASSERT_TRUE(f.ok());
        ASSERT_TRUE((*f)->write_at(0, bytes_of("x")).ok());
        ASSERT_TRUE((*f)->truncate(0).ok());
        ASSERT_TRUE((*f)->write_at(0, bytes_of("zz")).ok());
    }
    fs.fail_writes_after(0); // crash() writes through the inner file system
    ASSERT_TRUE(fs.crash().ok());
    std::string text = read_text(fs, dir.sub("new"));
    EXPECT_TRUE(text.empty() || text == "z" || text == "zz") << text;
}

TEST(faulty_file_system, injected_write_and_sync_failures) {
    temp_dir dir;
    faulty_file_system fs(make_posix_file_system(), 2);
    auto f = fs.open(dir.sub("f"), open_mode::create);
    ASSERT_TRUE(f.ok());
    fs.fail_writes_after(1);
    EXPECT_TRUE((*f)->write_at(0, bytes_of("ok")).ok());
    auto failed = (*f)->write_at(2, bytes_of("no"));
    EXPECT_EQ(failed.code(), errc::io_error);
    EXPECT_EQ(fs.writes_failed(), 1u);
    fs.fail_syncs(true);
    EXPECT_EQ((*f)->sync().code(), errc::io_error);
    fs.clear_faults();
    EXPECT_TRUE((*f)->write_at(2, bytes_of("go")).ok());
    EXPECT_TRUE((*f)->sync().ok());
    EXPECT_EQ(read_text(fs, dir.sub("f")), "okgo");
}

TEST(faulty_file_system, full_disk_writes_what_fits_then_fails) {
    temp_dir dir;
    faulty_file_system fs(make_posix_file_system(), 3);
    auto f = fs.open(dir.sub("f"), open_mode::create);
    ASSERT_TRUE(f.ok());
    fs.set_space_left(5);
    ASSERT_TRUE((*f)->write_at(0, bytes_of("abc")).ok());
    auto full = (*f)->write_at(3, bytes_of("defg"));
    EXPECT_EQ(full.code(), errc::disk_full);
    EXPECT_EQ(read_text(fs, dir.sub("f")), "abcde");
    // Overwriting within the file needs no space; truncating frees some.
    EXPECT_TRUE((*f)->write_at(0, bytes_of("ABC")).ok());
    ASSERT_TRUE((*f)->truncate(3).ok());
    EXPECT_TRUE((*f)->write_at(3, bytes_of("DE")).ok());
    EXPECT_EQ((*f)->write_at(5, bytes_of("F")).code(), errc::disk_full);
}

} // namespace
} // namespace runnel::storage
