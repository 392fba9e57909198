// The log dir: checkpoints and the clean-shutdown marker across restarts,
// creating and deleting partitions, and group commit through the flusher.
#include <algorithm>
#include <future>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "storage/flusher.h"
#include "storage/format.h"
#include "storage/log_manager.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

using namespace runnel::storage::testing;

class log_manager_test : public ::testing::Test {
protected:
    std::unique_ptr<log_manager> open_manager() {
        log_manager_options options;
        options.log_dir = dir_.path();
        options.default_config = small_config();
        options.now_ms = 1000;
        options.broker_epoch = 7;
        auto m = log_manager::open(fs_, options);
        EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.err().message);
        return m.ok() ? std::move(m).value() : nullptr;
    }

    std::string text(std::string_view name) {
        auto data = read_whole_file(*fs_, dir_.sub(name), 1 << 20);
        EXPECT_TRUE(data.ok()) << name;
        return data.ok() ? std::string(data->begin(), data->end()) : "";
    }

    void fill(partition_log& log, int batches) {
        for (int i = 0; i < batches; ++i) {
            auto b = make_value_batch(2, i);
            ASSERT_TRUE(log.append(b, {}).ok());
        }
    }

    temp_dir dir_;
    std::shared_ptr<file_system> fs_ = make_posix_file_system();
};

TEST_F(log_manager_test, clean_close_writes_checkpoints_and_marker) {
    {
        auto manager = open_manager();
        EXPECT_FALSE(manager->opened_after_clean_shutdown());
        auto a = manager->create_log({"alpha", 0}, small_config(), 1000);
        auto b = manager->create_log({"beta", 2}, small_config(), 1000);
        ASSERT_TRUE(a.ok() && b.ok());
        fill(**a, 10);
        fill(**b, 3);
        ASSERT_TRUE((*a)->advance_log_start_offset(4).ok());
        (*a)->set_high_watermark(18);
        ASSERT_TRUE(manager->close().ok());
    }
    EXPECT_EQ(text(format::recovery_point_checkpoint), "0\n2\nalpha 0 20\nbeta 2 6\n");
    EXPECT_EQ(text(format::log_start_offset_checkpoint), "0\n2\nalpha 0 4\nbeta 2 0\n");
    EXPECT_EQ(text(format::replication_offset_checkpoint), "0\n2\nalpha 0 18\nbeta 2 0\n");
    EXPECT_EQ(text(format::clean_shutdown_file), "{\"version\":0,\"brokerEpoch\":7}");

    auto manager = open_manager();
    EXPECT_TRUE(manager->opened_after_clean_shutdown());
    EXPECT_FALSE(*fs_->exists(dir_.sub(format::clean_shutdown_file)));
    auto a = manager->get({"alpha", 0});
    ASSERT_TRUE(a);
    EXPECT_EQ(a->recovery().segments_scanned, 0u);
    EXPECT_EQ(a->log_end_offset(), 20);
    EXPECT_EQ(a->log_start_offset(), 4);
    EXPECT_EQ(a->high_watermark(), 18);
    EXPECT_EQ(read_all(*a, 4).size(), 16u);
    EXPECT_EQ(manager->partitions().size(), 2u);
}

TEST_F(log_manager_test, crash_leads_to_recovery_from_the_recovery_point) {
    {
        auto manager = open_manager();
        auto a = manager->create_log({"alpha", 0}, small_config(), 1000);
        ASSERT_TRUE(a.ok());
        fill(**a, 40);
        ASSERT_TRUE((*a)->flush().ok());
        ASSERT_TRUE(manager->write_checkpoints().ok());
        fill(**a, 5);
        // No close: the process dies here.
    }
    auto manager = open_manager();
    EXPECT_FALSE(manager->opened_after_clean_shutdown());
    auto a = manager->get({"alpha", 0});
    ASSERT_TRUE(a);
    // Only segments from the one holding the recovery point on were scanned.
    EXPECT_GE(a->recovery().segments_scanned, 1u);
    EXPECT_LT(a->recovery().segments_scanned, a->segment_count());
    EXPECT_EQ(a->log_end_offset(), 90);
    EXPECT_EQ(a->recovery_point(), 90);
}

TEST_F(log_manager_test, create_is_idempotent_and_delete_removes_everything) {
    auto manager = open_manager();
    auto a = manager->create_log({"gone", 1}, small_config(), 1000);
    ASSERT_TRUE(a.ok());
    auto again = manager->create_log({"gone", 1}, small_config(), 1000);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(a->get(), again->get());
    fill(**a, 3);
    auto r = (*a)->read(0, {});
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(manager->delete_log({"gone", 1}).ok());
    EXPECT_FALSE(manager->get({"gone", 1}));
    EXPECT_FALSE(*fs_->exists(dir_.sub("gone-1")));
    // Slices taken before the delete still read.
    EXPECT_EQ(records_of(*partition_log::copy_slices(*r)).size(), 6u);
    EXPECT_EQ(manager->delete_log({"gone", 1}).code(), errc::not_found);
    EXPECT_EQ(text(format::recovery_point_checkpoint), "0\n0\n");
    EXPECT_EQ(manager->create_log({"bad/name", 0}, small_config(), 0).code(), errc::invalid_argument);
}

TEST_F(log_manager_test, leftovers_are_cleaned_on_open) {
    ASSERT_TRUE(fs_->create_dirs(dir_.sub("old-0.3-delete")).ok());
    ASSERT_TRUE(fs_->create_dirs(dir_.sub("lost+found")).ok());
    auto manager = open_manager();
    EXPECT_FALSE(*fs_->exists(dir_.sub("old-0.3-delete")));
    EXPECT_TRUE(manager->partitions().empty());
}

TEST_F(log_manager_test, unreadable_checkpoint_means_full_recovery) {
    {
        auto manager = open_manager();
        auto a = manager->create_log({"alpha", 0}, small_config(), 1000);
        ASSERT_TRUE(a.ok());
        fill(**a, 40);
        ASSERT_TRUE(manager->close().ok());
    }
    ASSERT_TRUE(write_file_atomically(*fs_, dir_.sub(format::recovery_point_checkpoint), "garbage").ok());
    ASSERT_TRUE(fs_->remove_file(dir_.sub(format::clean_shutdown_file)).ok());
    auto manager = open_manager();
    auto a = manager->get({"alpha", 0});
    ASSERT_TRUE(a);
    EXPECT_EQ(a->recovery().segments_scanned, a->segment_count());
    EXPECT_EQ(a->log_end_offset(), 80);
}

// The real file system, noting which directories get synced.
class dir_sync_recorder final : public file_system {
public:
    explicit dir_sync_recorder(std::shared_ptr<file_system> inner) : inner_(std::move(inner)) {}
    result<std::shared_ptr<file>> open(const std::string& path, open_mode mode) override {
        return inner_->open(path, mode);
    }
    result<bool> exists(const std::string& path) override { return inner_->exists(path); }
    result<std::vector<std::string>> list_dir(const std::string& path) override { return inner_->list_dir(path); }
    result<bool> is_dir(const std::string& path) override { return inner_->is_dir(path); }
    status create_dirs(const std::string& path) override { return inner_->create_dirs(path); }
    status remove_file(const std::string& path) override { return inner_->remove_file(path); }
    status remove_all(const std::string& path) override { return inner_->remove_all(path); }
    status rename(const std::string& from, const std::string& to) override { return inner_->rename(from, to); }
    status sync_dir(const std::string& path) override {
        synced_dirs.push_back(path);
        return inner_->sync_dir(path);
    }
    size_t syncs_of(const std::string& path) const { return std::count(synced_dirs.begin(), synced_dirs.end(), path); }

    std::vector<std::string> synced_dirs;

private:
    std::shared_ptr<file_system> inner_;
};

TEST_F(log_manager_test, fresh_log_dir_gets_no_checkpoint_files_until_there_is_a_log) {
    // A missing checkpoint reads as empty: writing three empty ones at the
    // first start would only cost syncs.
    auto manager = open_manager();
    EXPECT_FALSE(*fs_->exists(dir_.sub(format::recovery_point_checkpoint)));
    EXPECT_FALSE(*fs_->exists(dir_.sub(format::log_start_offset_checkpoint)));
    EXPECT_FALSE(*fs_->exists(dir_.sub(format::replication_offset_checkpoint)));
    auto a = manager->create_log({"alpha", 0}, small_config(), 1000);
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(manager->write_checkpoints().ok());
    EXPECT_EQ(text(format::recovery_point_checkpoint), "0\n1\nalpha 0 0\n");
}

TEST_F(log_manager_test, checkpoints_are_rewritten_at_open_only_when_a_restart_would_read_something_else) {
    {
        auto manager = open_manager();
        auto a = manager->create_log({"alpha", 0}, small_config(), 1000);
        ASSERT_TRUE(a.ok());
        fill(**a, 10);
        ASSERT_TRUE(manager->close().ok());
    }
    // After a clean shutdown the files already say what the logs say: the
    // open leaves them alone (a rewrite renames a new file over the old).
    const std::string path = dir_.sub(format::recovery_point_checkpoint);
    struct stat before {};
    ASSERT_EQ(::stat(path.c_str(), &before), 0);
    {
        auto manager = open_manager();
        EXPECT_TRUE(manager->opened_after_clean_shutdown());
        struct stat after {};
        ASSERT_EQ(::stat(path.c_str(), &after), 0);
        EXPECT_EQ(after.st_ino, before.st_ino);
        EXPECT_EQ(text(format::recovery_point_checkpoint), "0\n1\nalpha 0 20\n");
        // More records, then a crash: the restart's recovery moves the
        // recovery point, and the open writes it down.
        fill(*manager->get({"alpha", 0}), 5);
        ASSERT_TRUE(manager->get({"alpha", 0})->flush().ok());
    }
    auto manager = open_manager();
    EXPECT_FALSE(manager->opened_after_clean_shutdown());
    EXPECT_EQ(text(format::recovery_point_checkpoint), "0\n1\nalpha 0 30\n");
}

TEST_F(log_manager_test, partition_dirs_are_synced_at_open_after_an_unclean_shutdown) {
    auto recorder = std::make_shared<dir_sync_recorder>(fs_);
    auto open_with = [&] {
        log_manager_options options;
        options.log_dir = dir_.path();
        options.default_config = small_config();
        auto m = log_manager::open(recorder, options);
        EXPECT_TRUE(m.ok());
        return m.ok() ? std::move(m).value() : nullptr;
    };
    const std::string partition_dir = dir_.sub("alpha-0");
    {
        auto manager = open_with();
        auto a = manager->create_log({"alpha", 0}, small_config(), 1000);
        ASSERT_TRUE(a.ok());
        // The new directory's entry is made durable in the log dir; the
        // directory itself is synced by the first flush, once it holds a
        // segment.
        EXPECT_EQ(recorder->syncs_of(dir_.path()), 1u);
        EXPECT_EQ(recorder->syncs_of(partition_dir), 0u);
        fill(**a, 3);
        ASSERT_TRUE((*a)->flush().ok());
        EXPECT_EQ(recorder->syncs_of(partition_dir), 1u);
        ASSERT_TRUE(manager->close().ok());
    }
    recorder->synced_dirs.clear();
    {
        // After a clean shutdown nothing in the directory changed.
        auto manager = open_with();
        EXPECT_EQ(recorder->syncs_of(partition_dir), 0u);
        // No close: a crash.
    }
    recorder->synced_dirs.clear();
    // After a crash, segment names the last run created may not be durable yet.
    auto manager = open_with();
    EXPECT_GE(recorder->syncs_of(partition_dir), 1u);
    EXPECT_EQ(manager->get({"alpha", 0})->log_end_offset(), 6);
}

TEST(flusher, many_appends_share_fsyncs) {
    temp_dir dir;
    auto fs = make_posix_file_system();
    std::vector<std::unique_ptr<partition_log>> logs;
    for (int p = 0; p < 4; ++p) {
        auto log = partition_log::open(fs, dir.sub("f-" + std::to_string(p)), {"f", p}, small_config(), {});
        ASSERT_TRUE(log.ok());
        logs.push_back(std::move(*log));
    }
    flusher group_commit;
    std::vector<std::future<status>> done;
    std::vector<std::shared_ptr<std::promise<status>>> promises;
    std::vector<flush_ticket> tickets;
    for (int round = 0; round < 3; ++round) {
        for (auto& log : logs) {
            for (int i = 0; i < 5; ++i) {
                auto b = make_value_batch(1, i);
                append_options options;
                options.defer_flush = true;
                ASSERT_TRUE(log->append(b, options).ok());
            }
            auto ticket = log->prepare_flush();
            ASSERT_TRUE(ticket.ok());
            auto promise = std::make_shared<std::promise<status>>();
            done.push_back(promise->get_future());
            tickets.push_back(*ticket);
            ASSERT_TRUE(group_commit.submit(std::move(*ticket),
                                            [promise](const flush_ticket&, status s) { promise->set_value(s); }));
        }
    }
    for (auto& f : done) {
        EXPECT_TRUE(f.get().ok());
    }
    EXPECT_LE(group_commit.passes(), tickets.size());
    // The owners learn of the result and move their recovery points.
    for (size_t i = 0; i < tickets.size(); ++i) {
        logs[i % logs.size()]->complete_flush(tickets[i], {}, 0);
    }
    for (auto& log : logs) {
        EXPECT_EQ(log->recovery_point(), 15);
    }
    group_commit.stop();
    auto late = logs[0]->prepare_flush();
    ASSERT_TRUE(late.ok());
    EXPECT_FALSE(group_commit.submit(*late, [](const flush_ticket&, status) {}));
}

} // namespace
} // namespace runnel::storage
