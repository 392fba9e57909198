// A file_system for tests that wraps a real one and can fail writes, run
// out of space, and on crash() forget data that was never synced, keeping a
// random torn prefix of unsynced appends the way a real disk might.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>

#include "storage/file_system.h"

namespace runnel::storage {

class faulty_file_system final : public file_system {
public:
    faulty_file_system(std::shared_ptr<file_system> inner, uint64_t seed);

    // Every write after the next `n` successful ones fails with io_error.
    void fail_writes_after(uint64_t n);
    // Every sync fails with io_error while set.
    void fail_syncs(bool on);
    // The disk holds `bytes` more bytes than it holds now; writes that grow
    // files past that write what fits and fail with disk_full.
    void set_space_left(uint64_t bytes);
    void clear_faults();
    // Rewrites every file written since its last sync to the content it had
    // then, plus a random prefix of any bytes appended since (a torn write).
    // Call it after the owners of the files are gone, as after a power cut.
    status crash();
    uint64_t writes_failed() const;

    result<std::shared_ptr<file>> open(const std::string& path, open_mode mode) override;
    result<bool> exists(const std::string& path) override { return inner_->exists(path); }
    result<std::vector<std::string>> list_dir(const std::string& path) override { return inner_->list_dir(path); }
    result<bool> is_dir(const std::string& path) override { return inner_->is_dir(path); }
    status create_dirs(const std::string& path) override { return inner_->create_dirs(path); }
    status remove_file(const std::string& path) override;
    status remove_all(const std::string& path) override;
    status rename(const std::string& from, const std::string& to) override;
    status sync_dir(const std::string&) override { return {}; }

    // Called by the files it hands out.
    struct shared_state;

private:
    std::shared_ptr<file_system> inner_;
    std::shared_ptr<shared_state> state_;
};

} // namespace runnel::storage
