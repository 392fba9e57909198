// Kafka's text checkpoint files: a version line, a count line, then one
// entry per line. Written atomically: temp file, fsync, rename, fsync dir.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "storage/file_system.h"

namespace runnel::storage {

// A partition name as Kafka writes it in checkpoints and directory names.
struct topic_partition {
    std::string topic;
    int32_t partition = 0;
    auto operator<=>(const topic_partition&) const = default;
    // "<topic>-<partition>"
    std::string dir_name() const;
    // Parses "<topic>-<partition>"; the topic may itself contain '-'.
    static std::optional<topic_partition> from_dir_name(std::string_view name);
};

using offset_map_by_partition = std::map<topic_partition, int64_t>;

// recovery-point-offset-checkpoint, log-start-offset-checkpoint and
// replication-offset-checkpoint: lines "<topic> <partition> <offset>".
status write_offset_checkpoint(file_system& fs, const std::string& path, const offset_map_by_partition& offsets);
// A missing file reads as empty; a malformed one is corrupt.
result<offset_map_by_partition> read_offset_checkpoint(file_system& fs, const std::string& path);

struct epoch_entry {
    int32_t epoch = 0;
    int64_t start_offset = 0;
    bool operator==(const epoch_entry&) const = default;
};

// leader-epoch-checkpoint: lines "<epoch> <start offset>".
status write_epoch_checkpoint(file_system& fs, const std::string& path, const std::vector<epoch_entry>& entries);
result<std::vector<epoch_entry>> read_epoch_checkpoint(file_system& fs, const std::string& path);

// Writes content to path atomically and durably (used by every checkpoint).
status write_file_atomically(file_system& fs, const std::string& path, std::string_view content);

// write_file_atomically for many files at once, with the waits for the disk
// overlapped: stage() writes each temp file; commit() syncs them all at
// once, renames each into place, then syncs every directory involved (and
// those named with sync_dir_after) at once. A batch of N files costs about
// as long as a few syncs instead of 2N in a row. Until commit() returns
// without error no file of the batch is known durable.
class atomic_write_batch {
public:
    explicit atomic_write_batch(file_system& fs) : fs_(fs) {}
    status stage(const std::string& path, std::string_view content);
    void sync_dir_after(const std::string& dir);
    // The first error of any step; the steps go on for the other files.
    status commit();
    bool empty() const { return staged_.empty() && dirs_.empty(); }
    // Files and directories staged so far (a caller can tell whether a step added any).
    size_t size() const { return staged_.size() + dirs_.size(); }

private:
    struct staged_file {
        std::string path;
        std::string temp;
        std::shared_ptr<file> f;
    };
    file_system& fs_;
    std::vector<staged_file> staged_;
    std::vector<std::string> dirs_;
};

} // namespace runnel::storage
