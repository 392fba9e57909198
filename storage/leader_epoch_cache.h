// The leader epochs of a partition and the offset each began at, kept in the
// partition's leader-epoch-checkpoint file; answers OffsetForLeaderEpoch.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "storage/checkpoint_file.h"

namespace runnel::storage {

struct epoch_end_offset {
    int32_t epoch = -1;       // the largest epoch <= the one asked for, -1 if none
    int64_t end_offset = -1;  // the first offset after that epoch, -1 if none
    bool operator==(const epoch_end_offset&) const = default;
};

class leader_epoch_cache {
public:
    // Reads the checkpoint file in dir (missing means empty).
    static result<leader_epoch_cache> open(file_system& fs, const std::string& dir);

    // Records that epoch starts at start_offset, if epoch is newer than the
    // latest; rewrites the checkpoint when anything changed.
    status assign(int32_t epoch, int64_t start_offset);
    // Drops epochs that start at or after end_offset (log truncation).
    status truncate_from_end(int64_t end_offset);
    // Drops epochs wholly before start_offset; the one that spans it starts
    // at start_offset afterwards (log start offset moved up).
    status truncate_from_start(int64_t start_offset);
    status clear();

    std::optional<epoch_entry> latest() const;
    // Kafka's OffsetForLeaderEpoch answer given the log end offset.
    epoch_end_offset end_offset_for(int32_t epoch, int64_t log_end_offset) const;
    const std::vector<epoch_entry>& entries() const { return entries_; }

private:
    leader_epoch_cache(file_system& fs, std::string path) : fs_(&fs), path_(std::move(path)) {}
    status persist();

    file_system* fs_;
    std::string path_;
    std::vector<epoch_entry> entries_;
};

} // namespace runnel::storage
