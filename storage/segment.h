// One segment of a partition log: the .log file of record batches with its
// .index and .timeindex. Knows how to append, find a batch by offset or
// timestamp, recover (scan and truncate a bad tail), truncate and roll.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "protocol/record_batch.h"
#include "storage/file_system.h"
#include "storage/index_file.h"

namespace runnel::storage {

struct segment_options {
    size_t index_interval_bytes = 4096;
    size_t index_bytes_max = 10 * 1024 * 1024;
    // A batch longer than this is corrupt (Kafka: the segment size caps it).
    size_t batch_bytes_max = size_t{1} << 30;
};

// A batch found in a segment: its header and where it starts.
struct batch_location {
    proto::batch_header header;
    uint64_t position = 0;
};

struct recovery_report {
    uint64_t bytes_scanned = 0;
    uint64_t bytes_truncated = 0;
    uint64_t batches = 0;
    std::string reason; // why the tail was cut, empty if it was not
};

// "<dir>/<20-digit base offset><suffix>"
std::string segment_file_path(const std::string& dir, int64_t base_offset, std::string_view suffix);

class segment {
public:
    // A new, empty segment (fails if its .log file exists and is not empty).
    // name_suffix follows each file's suffix (compaction writes ".cleaned").
    static result<std::unique_ptr<segment>> create(file_system& fs, const std::string& dir, int64_t base_offset,
                                                   const segment_options& options, int64_t now_ms,
                                                   std::string_view name_suffix = {});
    // An existing segment. With scan, every batch is checked and the
    // indexes rebuilt (recovery); without, the indexes are checked and
    // rebuilt by a scan only if they look wrong.
    static result<std::unique_ptr<segment>> open(file_system& fs, const std::string& dir, int64_t base_offset,
                                                 const segment_options& options, bool scan,
                                                 recovery_report* report);
    ~segment() = default;
    segment(const segment&) = delete;
    segment& operator=(const segment&) = delete;

    int64_t base_offset() const { return base_offset_; }
    // The offset after the last batch (base_offset() when empty).
    int64_t next_offset() const { return next_offset_; }
    uint64_t size_bytes() const { return size_; }
    bool empty() const { return size_ == 0; }
    // Largest batch max_timestamp, and the last offset of that batch (-1s when empty).
    int64_t max_timestamp() const { return max_timestamp_; }
    int64_t offset_of_max_timestamp() const { return offset_of_max_timestamp_; }
    // The time segment.ms counts from: the first batch's timestamp, else creation.
    int64_t rolling_timestamp() const { return rolling_timestamp_; }
    // Whether rolling_timestamp() is the first batch's timestamp (not the creation time).
    bool rolling_timestamp_from_batch() const { return rolling_from_batch_; }
    bool index_full() const;
    bool dirty() const { return dirty_; }
    const std::shared_ptr<file>& log_file() const { return log_; }
    std::string log_path() const { return log_->path(); }

    // Appends one complete batch whose header is h. On failure the segment
    // is unchanged (a partial write is cut off or overwritten later).
    status append(const proto::batch_header& h, byte_span batch);

    result<proto::batch_header> read_header(uint64_t position);
    // Checks the CRC of every batch in [from, to) (from a batch boundary)
    // that has not been checked since the segment was opened: the bytes a
    // read is about to hand out. Batches this process appended or a
    // recovery scan checked count as checked. Fails with corrupt, naming
    // the batch, at the first bad one; *good_end (if given) is then where
    // that batch starts, the end of the bytes that are good.
    status verify(uint64_t from, uint64_t to, uint64_t* good_end = nullptr);
    // Bytes from the start of the file known good (CRCs checked).
    uint64_t verified_bytes() const { return verified_; }
    // The first batch whose last offset is >= offset, at or after start_hint.
    result<std::optional<batch_location>> find_batch(int64_t offset);
    // The first batch whose max timestamp is >= timestamp.
    result<std::optional<batch_location>> find_batch_by_timestamp(int64_t timestamp);
    // The end of the last whole batch that starts at or after `from` and
    // ends at or before `limit` (from itself if none fits).
    result<uint64_t> whole_batches_end(uint64_t from, uint64_t limit);

    // Removes every batch whose last offset is >= offset; returns whether
    // anything was removed.
    result<bool> truncate_to(int64_t offset);
    // Writes buffered index entries (no fsync).
    status flush_indexes();
    // fsyncs the log and the index files.
    status sync();
    // Files a flusher should fsync, after flush_indexes(): the log alone
    // while the segment is active, else the log and its indexes.
    std::vector<std::shared_ptr<file>> files_to_sync() const;
    void mark_clean() { dirty_ = false; }
    void mark_dirty() { dirty_ = true; }
    // The segment stops being the active one: final time index entry, trim.
    status roll();
    // The segment becomes the active one again (after truncation).
    status make_active();
    // Flushes and trims the indexes, as on a clean shutdown.
    status close();
    // Deletes the three files. The object must not be used afterwards,
    // though readers holding log_file() can still read.
    status remove(file_system& fs);

private:
    segment(std::shared_ptr<file> log, std::unique_ptr<offset_index> oi, std::unique_ptr<time_index> ti,
            int64_t base_offset, const segment_options& options)
        : log_(std::move(log)), offset_index_(std::move(oi)), time_index_(std::move(ti)), base_offset_(base_offset),
          options_(options) {}

    // Scans the whole file, checking every batch and rebuilding the
    // indexes; cuts the file at the first bad batch.
    status recover(recovery_report* report);
    // From the last index entry to the end: restores next offset and the
    // max timestamp without checking CRCs. Fails with corrupt on a bad tail.
    status load_tail();
    status check_indexes();
    void index_batch(const proto::batch_header& h, uint64_t position);
    void reset_state();
    result<uint64_t> index_position_for(int64_t offset);

    std::shared_ptr<file> log_;
    std::unique_ptr<offset_index> offset_index_;
    std::unique_ptr<time_index> time_index_;
    int64_t base_offset_;
    segment_options options_;
    uint64_t size_ = 0;
    int64_t next_offset_ = 0;
    int64_t max_timestamp_ = -1;
    int64_t offset_of_max_timestamp_ = -1;
    int64_t rolling_timestamp_ = -1;
    bool rolling_from_batch_ = false;
    uint64_t verified_ = 0; // [0, verified_) has had its CRCs checked
    uint64_t bytes_since_index_entry_ = 0;
    bool dirty_ = false;
    // The last batches this process appended, oldest first and back to back
    // in the file: a consumer at the log end asks for one of them on every
    // fetch, and find_batch answers from here without reading the file.
    static constexpr size_t recent_batches_max = 8;
    std::array<batch_location, recent_batches_max> recent_{};
    size_t recent_first_ = 0;
    size_t recent_count_ = 0;
};

} // namespace runnel::storage
