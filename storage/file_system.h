// The one interface through which the storage engine touches the disk, so
// that tests can swap in a file system that fails writes, fills up, or
// forgets unsynced data (faulty_file_system.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "storage/result.h"

namespace runnel::storage {

using byte_span = std::span<const uint8_t>;
using mutable_byte_span = std::span<uint8_t>;

// An open file. Reads and writes are positional so a file can be shared
// between the log's owner and a flusher or sendfile without a cursor.
class file {
public:
    virtual ~file() = default;
    // Reads up to out.size() bytes at pos; fewer only at the end of the file.
    virtual result<size_t> read_at(uint64_t pos, mutable_byte_span out) = 0;
    // Writes all of data at pos or fails; a failed write may leave a prefix.
    virtual status write_at(uint64_t pos, byte_span data) = 0;
    virtual result<uint64_t> size() = 0;
    virtual status truncate(uint64_t size) = 0;
    // Makes the file's data durable (fdatasync).
    virtual status sync() = 0;
    // The descriptor for sendfile, or -1 where there is none.
    virtual int native_handle() const = 0;
    virtual const std::string& path() const = 0;
};

enum class open_mode : uint8_t {
    read_write,        // the file must exist
    create,            // created empty if missing, kept if present
    create_exclusive,  // fails with already_exists if present
    create_truncate,   // created empty, emptied if present
};

class file_system {
public:
    virtual ~file_system() = default;
    virtual result<std::shared_ptr<file>> open(const std::string& path, open_mode mode) = 0;
    virtual result<bool> exists(const std::string& path) = 0;
    // Names (not paths) of the entries in a directory, unsorted.
    virtual result<std::vector<std::string>> list_dir(const std::string& path) = 0;
    virtual result<bool> is_dir(const std::string& path) = 0;
    // Creates the directory (and missing parents); fine if it exists.
    virtual status create_dirs(const std::string& path) = 0;
    virtual status remove_file(const std::string& path) = 0;
    // Removes a directory and everything below it.
    virtual status remove_all(const std::string& path) = 0;
    // Atomically replaces to with from (rename(2)).
    virtual status rename(const std::string& from, const std::string& to) = 0;
    // Makes the directory's entries (creates, renames, removes) durable.
    virtual status sync_dir(const std::string& path) = 0;

    // One durable point for many files (a clean shutdown closes thousands).
    // watch_writeback(dir), at startup: writeback errors of the file system
    // holding dir are kept from now on for sync_all(). defer_syncs(): from
    // now on, file::sync() and sync_dir() only leave their work owed.
    // sync_all(): makes every write to that file system durable at once,
    // fails if any write since watch_writeback() failed to reach the disk,
    // and ends the deferral. These defaults sync each call as it comes.
    virtual status watch_writeback(const std::string& /*dir*/) { return {}; }
    virtual void defer_syncs() {}
    virtual status sync_all() { return {}; }
};

// The real file system (POSIX calls). One shared instance is enough.
std::shared_ptr<file_system> make_posix_file_system();

// Turns an errno value from operation `what` on `path` into an error:
// ENOSPC and EDQUOT become disk_full, ENOENT not_found, the rest io_error.
error errno_error(int err, std::string_view what, const std::string& path);

// Helpers on top of the interface.
status read_exact(file& f, uint64_t pos, mutable_byte_span out);
result<std::vector<uint8_t>> read_whole_file(file_system& fs, const std::string& path, size_t bytes_max);
std::string join_path(std::string_view dir, std::string_view name);
std::string parent_dir(const std::string& path);

} // namespace runnel::storage
