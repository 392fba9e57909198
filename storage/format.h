// On-disk constants shared by every reader and writer of the storage files;
// docs/FORMAT.md describes the formats they belong to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace runnel::storage::format {

// Segment file names: the base offset in 20 zero-padded decimal digits plus
// a suffix, inside a directory named "<topic>-<partition>".
inline constexpr size_t file_name_digits = 20;
inline constexpr std::string_view log_suffix = ".log";
inline constexpr std::string_view index_suffix = ".index";
inline constexpr std::string_view time_index_suffix = ".timeindex";
// Compaction writes "<name>.cleaned", renames it to "<name>.swap" once
// complete, and removes the files it replaces; recovery finishes or undoes it.
inline constexpr std::string_view cleaned_suffix = ".cleaned";
inline constexpr std::string_view swap_suffix = ".swap";
inline constexpr std::string_view deleted_suffix = ".deleted";
// Checkpoint writes go to "<name>.tmp" first and are renamed over the file.
inline constexpr std::string_view temp_suffix = ".tmp";
// A partition directory being deleted is renamed to "<dir>.<n>-delete".
inline constexpr std::string_view delete_dir_suffix = "-delete";

// .index: big-endian int32 relative offset, int32 position in the .log file.
inline constexpr size_t offset_index_entry_bytes = 8;
// .timeindex: big-endian int64 timestamp, int32 relative offset.
inline constexpr size_t time_index_entry_bytes = 12;

// Every record batch starts with base offset (int64) and batch length (int32,
// counting the bytes after itself), Kafka's "log overhead".
inline constexpr size_t log_overhead_bytes = 12;
inline constexpr size_t base_offset_position = 0;
inline constexpr size_t batch_length_position = 8;

// Directory-level checkpoint files and the per-partition epoch file.
inline constexpr std::string_view recovery_point_checkpoint = "recovery-point-offset-checkpoint";
inline constexpr std::string_view log_start_offset_checkpoint = "log-start-offset-checkpoint";
inline constexpr std::string_view replication_offset_checkpoint = "replication-offset-checkpoint";
inline constexpr std::string_view leader_epoch_checkpoint = "leader-epoch-checkpoint";
inline constexpr int checkpoint_version = 0;
// A checkpoint line is short; anything longer is corrupt.
inline constexpr size_t checkpoint_line_bytes_max = 512;
inline constexpr size_t checkpoint_file_bytes_max = 64 * 1024 * 1024;

// Present in a log dir only between a clean close and the next open.
inline constexpr std::string_view clean_shutdown_file = ".kafka_cleanshutdown";

} // namespace runnel::storage::format
