// One partition's log: an ordered set of segments with one active segment at
// the end. Synchronous and owned by one thread or strand at a time; only the
// *_snapshot() accessors may be read from other threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/types.h"
#include "storage/checkpoint_file.h"
#include "storage/compaction.h"
#include "storage/file_system.h"
#include "storage/leader_epoch_cache.h"
#include "storage/log_config.h"
#include "storage/segment.h"

namespace runnel::storage {

// A byte range of a segment file that the broker can hand to sendfile. The
// file stays open while a slice holds it, even if retention deletes it.
struct slice {
    std::shared_ptr<file> source;
    uint64_t position = 0;
    uint64_t length = 0;
};

struct read_options {
    // Bytes to return at most, except that the first batch is returned
    // whole however big it is when min_one_batch is set (KIP-74).
    uint64_t bytes_max = 1024 * 1024;
    bool min_one_batch = true;
    // Batches whose last offset is >= this are not returned (the high
    // watermark for consumers); -1 for none.
    int64_t max_offset = -1;
};

// Whole batches, in offset order, as slices of segment files.
struct read_result {
    std::vector<slice> slices;
    uint64_t bytes = 0;
    // The base offset of the first batch returned (may be below the offset
    // asked for: batches are whole), and the offset after the last one.
    int64_t first_offset = -1;
    int64_t next_offset = -1;
};

struct append_options {
    // Leader: give the batch the next offsets. Follower: keep the offsets
    // the leader gave it (they must be >= the log end offset).
    bool assign_offsets = true;
    // Written into the batch if >= 0 (the leader's epoch).
    int32_t leader_epoch = -1;
    // The broker's clock: LogAppendTime stamps and segment.ms use it.
    int64_t now_ms = 0;
    // When flush.messages says this append must be durable, leave the fsync
    // to the caller (append_info::flush_needed) so that one flush() can
    // cover many appends (group commit).
    bool defer_flush = false;
};

struct append_info {
    int64_t base_offset = -1;
    int64_t last_offset = -1;
    int64_t max_timestamp = -1;
    int64_t log_append_time = -1; // the stamp written, if LogAppendTime
    int32_t record_count = 0;
    bool flushed = false;      // this append is durable already
    bool flush_needed = false; // deferred: flush() before acknowledging it
};

struct timestamp_and_offset {
    int64_t timestamp = -1;
    int64_t offset = -1;
    bool operator==(const timestamp_and_offset&) const = default;
};

struct retention_report {
    size_t segments_deleted = 0;
    uint64_t bytes_deleted = 0;
};

// fsync work taken from a log by prepare_flush(), runnable on any thread.
// Any number of appends made before prepare_flush() become durable together.
struct flush_ticket {
    std::vector<std::shared_ptr<file>> files;
    std::shared_ptr<file_system> fs;
    std::string dir_to_sync; // empty if no segment was created or removed
    int64_t offset = 0;      // everything below it is durable once run() succeeds
    int64_t messages = 0;
    // fsyncs the files (and the directory). Safe while the owner appends.
    status run() const;
};

struct log_open_options {
    int64_t recovery_point = 0;
    int64_t log_start_offset = 0;
    int64_t high_watermark = 0;
    // The log dir was closed cleanly: skip the recovery scan.
    bool clean_shutdown = false;
    int64_t now_ms = 0;
};

struct log_recovery_report {
    size_t segments_scanned = 0;
    uint64_t bytes_scanned = 0;
    uint64_t bytes_truncated = 0;
    size_t segments_deleted = 0;
};

class partition_log {
public:
    // Opens (and if needed recovers) or creates the log in dir.
    static result<std::unique_ptr<partition_log>> open(std::shared_ptr<file_system> fs, std::string dir,
                                                        topic_partition tp, log_config config,
                                                        const log_open_options& options);
    ~partition_log() = default;
    partition_log(const partition_log&) = delete;
    partition_log& operator=(const partition_log&) = delete;

    // Appends one batch (already validated by the broker) and writes its
    // base offset, leader epoch and LogAppendTime into it.
    result<append_info> append(std::span<uint8_t> batch, const append_options& options);
    result<read_result> read(int64_t offset, const read_options& options);
    // Copies what a read returned into memory (tests and replication).
    static result<std::vector<uint8_t>> copy_slices(const read_result& r);

    // Makes everything appended so far durable and advances the recovery
    // point; now_ms (if given) restarts the flush.ms clock.
    status flush(int64_t now_ms = -1);
    result<flush_ticket> prepare_flush();
    void complete_flush(const flush_ticket& ticket, const status& outcome, int64_t now_ms);
    // flush.messages or flush.ms says a flush is due.
    bool flush_due(int64_t now_ms) const;

    // ListOffsets: latest_timestamp (-1), earliest_timestamp (-2),
    // max_timestamp (-3), or the first record with timestamp >= ts.
    result<std::optional<timestamp_and_offset>> offset_for_timestamp(int64_t timestamp);

    // Removes every batch whose last offset is >= offset (replication).
    status truncate_to(int64_t offset);
    // Empties the log; it starts again at offset.
    status truncate_fully_and_start_at(int64_t offset);
    // DeleteRecords: offsets below are gone; whole segments are deleted.
    status advance_log_start_offset(int64_t offset);
    // Deletes whole segments past retention.ms / retention.bytes or below
    // the log start offset; never the active segment.
    result<retention_report> enforce_retention(int64_t now_ms);
    // The same, at most once per log.retention.check.interval.ms.
    result<retention_report> maybe_enforce_retention(int64_t now_ms);

    // Compaction: a job over the closed segments for the cleaner thread
    // (nullopt if there is nothing to do or a job is out), and installing
    // its output (or forgetting a failed job). A job is offered once the
    // closed segments not cleaned since the log opened ("dirty", from
    // cleaned_until() on) are at least min.cleanable.dirty.ratio of the
    // closed segments' bytes, or the oldest dirty one is older than
    // max.compaction.lag.ms.
    std::optional<compaction_job> prepare_compaction(int64_t now_ms, size_t offset_map_entries_max);
    result<compaction_stats> install_compaction(result<compaction_output> output);

    // Flushes and trims the indexes; the log must not be used afterwards.
    status close();

    void set_config(const log_config& config) { config_ = config; }
    const log_config& config() const { return config_; }
    const topic_partition& tp() const { return tp_; }
    const std::string& dir() const { return dir_; }
    // The first offset the cleaner has not compacted in this process's life
    // (kept in memory only: after a restart the first job cleans it all).
    int64_t cleaned_until() const { return cleaned_until_; }
    int64_t log_start_offset() const { return log_start_offset_; }
    int64_t log_end_offset() const { return log_end_offset_; }
    int64_t recovery_point() const { return recovery_point_; }
    int64_t high_watermark() const { return high_watermark_; }
    void set_high_watermark(int64_t offset);
    uint64_t size_bytes() const;
    size_t segment_count() const { return segments_.size(); }
    std::vector<int64_t> segment_base_offsets() const;
    leader_epoch_cache& epochs() { return epochs_; }
    const log_recovery_report& recovery() const { return recovery_; }

    // Copies for the log manager's checkpoint writer, safe from any thread.
    int64_t log_start_offset_snapshot() const { return snapshot_log_start_.load(std::memory_order_relaxed); }
    int64_t recovery_point_snapshot() const { return snapshot_recovery_point_.load(std::memory_order_relaxed); }
    int64_t high_watermark_snapshot() const { return snapshot_high_watermark_.load(std::memory_order_relaxed); }

private:
    partition_log(std::shared_ptr<file_system> fs, std::string dir, topic_partition tp, log_config config,
                  leader_epoch_cache epochs)
        : fs_(std::move(fs)), dir_(std::move(dir)), tp_(std::move(tp)), config_(config), epochs_(std::move(epochs)) {}

    segment_options seg_options() const;
    segment& active() { return *segments_.rbegin()->second; }
    status load_segments(const log_open_options& options);
    // True when it removed or renamed files in the directory.
    result<bool> finish_interrupted_swaps(const std::vector<std::string>& names);
    status roll(int64_t base_offset, int64_t now_ms);
    status delete_segment(int64_t base_offset);
    // Deletes the oldest non-active segments while pred says so.
    template <typename Pred>
    result<retention_report> delete_oldest_while(Pred pred);
    status after_log_start_moved();
    bool should_roll(const proto::batch_header& h, int64_t now_ms);
    result<std::optional<timestamp_and_offset>> max_timestamp_offset();
    result<std::optional<timestamp_and_offset>> record_at_or_after(segment& seg, const batch_location& loc,
                                                                   int64_t timestamp, bool exact);
    void publish();

    std::shared_ptr<file_system> fs_;
    std::string dir_;
    topic_partition tp_;
    log_config config_;
    leader_epoch_cache epochs_;
    std::map<int64_t, std::unique_ptr<segment>> segments_;
    int64_t log_start_offset_ = 0;
    int64_t log_end_offset_ = 0;
    int64_t recovery_point_ = 0;
    int64_t high_watermark_ = 0;
    int64_t unflushed_messages_ = 0;
    int64_t last_flush_ms_ = 0;
    int64_t last_retention_check_ms_ = 0;
    bool dir_dirty_ = false;
    bool compaction_in_flight_ = false;
    int64_t cleaned_until_ = 0; // see cleaned_until()
    bool closed_ = false;
    log_recovery_report recovery_;
    std::atomic<int64_t> snapshot_log_start_{0};
    std::atomic<int64_t> snapshot_recovery_point_{0};
    std::atomic<int64_t> snapshot_high_watermark_{0};
};

} // namespace runnel::storage
