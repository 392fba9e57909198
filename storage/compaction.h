// Log compaction (cleanup.policy=compact): a job describing the closed
// segments to clean, the cleaner that runs jobs on its own thread, and the
// output the log's owner swaps in. Appends never wait for it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/file_system.h"
#include "storage/segment.h"

namespace runnel::storage {

// A closed segment as the job saw it: its files do not change after that,
// so the cleaner reads them without locks.
struct compaction_source {
    int64_t base_offset = 0;
    int64_t next_offset = 0;
    uint64_t size = 0;
    std::shared_ptr<file> log;
};

struct compaction_job {
    std::shared_ptr<file_system> fs;
    std::string dir;
    segment_options seg_options;
    uint64_t segment_bytes = 0;
    std::vector<compaction_source> sources; // oldest first, contiguous
    int64_t now_ms = 0;
    int64_t delete_retention_ms = 0;
    // Distinct keys the offset map may hold (log.cleaner.dedupe.buffer.size
    // divided by an entry's size); segments past that wait for a later run.
    size_t offset_map_entries_max = 1 << 20;
};

// Consecutive source segments rewritten into one ".cleaned" segment named
// after the first of them.
struct compaction_group {
    int64_t base_offset = 0;
    int64_t next_offset = 0;
    std::vector<compaction_source> replaced;
};

struct compaction_stats {
    size_t segments_in = 0;
    size_t segments_out = 0;
    uint64_t bytes_before = 0;
    uint64_t bytes_after = 0;
    uint64_t records_kept = 0;
    uint64_t records_removed = 0;
    uint64_t tombstones_removed = 0;
};

struct compaction_output {
    std::string dir;
    std::vector<compaction_group> groups;
    compaction_stats stats;
};

// Builds the key -> latest offset map (XXH3 of each key) over the job's
// segments and writes the cleaned segments. Runs on any thread.
result<compaction_output> run_compaction(const compaction_job& job);
// Removes the ".cleaned" files of an output that will not be installed.
void discard_compaction(file_system& fs, const compaction_output& output);

// A thread that runs compaction jobs one after another and hands each
// output to a callback (which should post it to the log's owner).
class log_cleaner {
public:
    using done_fn = std::function<void(result<compaction_output>)>;
    explicit log_cleaner(size_t queue_max = 256);
    ~log_cleaner();
    log_cleaner(const log_cleaner&) = delete;
    log_cleaner& operator=(const log_cleaner&) = delete;

    // False if the queue is full or the cleaner stopped.
    bool submit(compaction_job job, done_fn done);
    // Finishes the job under way, drops the queued ones, joins the thread.
    void stop();

private:
    void run();

    size_t queue_max_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::pair<compaction_job, done_fn>> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace runnel::storage
