// Kafka's checkpoint files and the leader epoch cache built on one.
#include <gtest/gtest.h>

#include "storage/checkpoint_file.h"
#include "storage/faulty_file_system.h"
#include "storage/format.h"
#include "storage/leader_epoch_cache.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

using testing::temp_dir;

std::string read_text(file_system& fs, const std::string& path) {
    auto data = read_whole_file(fs, path, 1 << 20);
    EXPECT_TRUE(data.ok());
    return data.ok() ? std::string(data->begin(), data->end()) : std::string();
}

void write_text(file_system& fs, const std::string& path, std::string_view text) {
    ASSERT_TRUE(write_file_atomically(fs, path, text).ok());
}

TEST(atomic_write_batch, many_files_land_whole_or_not_at_all) {
    temp_dir dir;
    auto posix = make_posix_file_system();
    std::vector<std::string> paths;
    atomic_write_batch batch(*posix);
    for (int i = 0; i < 40; ++i) {
        ASSERT_TRUE(posix->create_dirs(dir.sub("p-" + std::to_string(i))).ok());
        paths.push_back(join_path(dir.sub("p-" + std::to_string(i)), "meta"));
        ASSERT_TRUE(batch.stage(paths.back(), "content " + std::to_string(i)).ok());
        // Staged is not yet in place.
        EXPECT_FALSE(*posix->exists(paths.back()));
    }
    batch.sync_dir_after(dir.path());
    ASSERT_TRUE(batch.commit().ok());
    EXPECT_TRUE(batch.empty());
    for (int i = 0; i < 40; ++i) {
        EXPECT_EQ(read_text(*posix, paths[static_cast<size_t>(i)]), "content " + std::to_string(i));
        EXPECT_FALSE(*posix->exists(paths[static_cast<size_t>(i)] + std::string(format::temp_suffix)));
    }

    // A failed sync leaves every target as it was: nothing is renamed.
    faulty_file_system faulty(posix, 7);
    atomic_write_batch failing(faulty);
    ASSERT_TRUE(failing.stage(paths[0], "replaced").ok());
    ASSERT_TRUE(failing.stage(join_path(dir.path(), "fresh"), "new").ok());
    faulty.fail_syncs(true);
    EXPECT_FALSE(failing.commit().ok());
    EXPECT_EQ(read_text(*posix, paths[0]), "content 0");
    EXPECT_FALSE(*posix->exists(join_path(dir.path(), "fresh")));
}

TEST(topic_partition, directory_names) {
    EXPECT_EQ((topic_partition{"orders", 3}).dir_name(), "orders-3");
    auto tp = topic_partition::from_dir_name("my-topic-12");
    ASSERT_TRUE(tp);
    EXPECT_EQ(tp->topic, "my-topic");
    EXPECT_EQ(tp->partition, 12);
    EXPECT_FALSE(topic_partition::from_dir_name("nodash"));
    EXPECT_FALSE(topic_partition::from_dir_name("topic-"));
    EXPECT_FALSE(topic_partition::from_dir_name("-3"));
    EXPECT_FALSE(topic_partition::from_dir_name("topic-x1"));
    EXPECT_FALSE(topic_partition::from_dir_name("topic-1.5-delete"));
}

TEST(offset_checkpoint, writes_kafka_text_format) {
    temp_dir dir;
    auto fs = make_posix_file_system();
    offset_map_by_partition offsets{{{"b", 0}, 42}, {{"a", 1}, 7}};
    std::string path = dir.sub("recovery-point-offset-checkpoint");
    ASSERT_TRUE(write_offset_checkpoint(*fs, path, offsets).ok());
    EXPECT_EQ(read_text(*fs, path), "0\n2\na 1 7\nb 0 42\n");
    auto back = read_offset_checkpoint(*fs, path);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, offsets);
    EXPECT_FALSE(*fs->exists(path + ".tmp"));
}

TEST(offset_checkpoint, missing_file_is_empty) {
    temp_dir dir;
    auto fs = make_posix_file_system();
    auto back = read_offset_checkpoint(*fs, dir.sub("none"));
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(back->empty());
}

TEST(offset_checkpoint, malformed_files_are_corrupt) {
    temp_dir dir;
    auto fs = make_posix_file_system();
    std::string path = dir.sub("cp");
    for (std::string_view bad : {"1\n0\n", "0\n2\na 0 1\n", "0\n1\na 0\n", "0\n1\na 0 x\n", "0\n1\na 0 1", "0\n"}) {
        write_text(*fs, path, bad);
        auto r = read_offset_checkpoint(*fs, path);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.code(), errc::corrupt) << bad;
    }
}

TEST(epoch_checkpoint, round_trip) {
    temp_dir dir;
    auto fs = make_posix_file_system();
    std::string path = dir.sub("leader-epoch-checkpoint");
    std::vector<epoch_entry> entries{{0, 0}, {3, 100}};
    ASSERT_TRUE(write_epoch_checkpoint(*fs, path, entries).ok());
    EXPECT_EQ(read_text(*fs, path), "0\n2\n0 0\n3 100\n");
    auto back = read_epoch_checkpoint(*fs, path);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, entries);
}

TEST(leader_epoch_cache, assign_truncate_and_answer) {
    temp_dir dir;
    auto fs = make_posix_file_system();
    auto cache = leader_epoch_cache::open(*fs, dir.path());
    ASSERT_TRUE(cache.ok());
    ASSERT_TRUE(cache->assign(1, 0).ok());
    ASSERT_TRUE(cache->assign(1, 5).ok()); // same epoch: no change
    ASSERT_TRUE(cache->assign(2, 10).ok());
    ASSERT_TRUE(cache->assign(4, 20).ok());
    EXPECT_EQ(cache->entries(), (std::vector<epoch_entry>{{1, 0}, {2, 10}, {4, 20}}));
    EXPECT_EQ(cache->end_offset_for(4, 30), (epoch_end_offset{4, 30}));
    EXPECT_EQ(cache->end_offset_for(3, 30), (epoch_end_offset{2, 20}));
    EXPECT_EQ(cache->end_offset_for(1, 30), (epoch_end_offset{1, 10}));
    EXPECT_EQ(cache->end_offset_for(0, 30), (epoch_end_offset{0, 0}));
    EXPECT_EQ(cache->end_offset_for(5, 30), (epoch_end_offset{}));

    auto reopened = leader_epoch_cache::open(*fs, dir.path());
    ASSERT_TRUE(reopened.ok());
    EXPECT_EQ(reopened->entries(), cache->entries());

    ASSERT_TRUE(cache->truncate_from_end(15).ok());
    EXPECT_EQ(cache->entries(), (std::vector<epoch_entry>{{1, 0}, {2, 10}}));
    ASSERT_TRUE(cache->truncate_from_start(12).ok());
    EXPECT_EQ(cache->entries(), (std::vector<epoch_entry>{{2, 12}}));
    auto again = leader_epoch_cache::open(*fs, dir.path());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->entries(), (std::vector<epoch_entry>{{2, 12}}));
}

TEST(leader_epoch_cache, out_of_order_file_is_corrupt) {
    temp_dir dir;
    auto fs = make_posix_file_system();
    write_text(*fs, dir.sub("leader-epoch-checkpoint"), "0\n2\n3 10\n2 20\n");
    EXPECT_EQ(leader_epoch_cache::open(*fs, dir.path()).code(), errc::corrupt);
}

} // namespace
} // namespace runnel::storage
