// The durable log store of a Raft node, built on the storage library: the
// entries live in a partition log in Kafka's layout (<dir>/__raft_log-0/,
// segments of record batches v2), the hard state and snapshot in their own
// checksummed files (state_files.h).
//
// Each entry is one record batch with one record: base offset = index - 1
// (Kafka offsets start at 0, Raft indexes at 1), partition leader epoch =
// term (KRaft's epoch), record key = the entry type (one byte), value = the
// payload; the batch CRC-32C covers it. One entry per batch because storage
// truncates whole batches: a truncation inside a batch would have to write
// back an already acknowledged prefix, which a crash could then lose.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "raft/log_store.h"
#include "storage/file_system.h"
#include "storage/partition_log.h"

namespace runnel::raft::node {

inline constexpr char raft_log_topic[] = "__raft_log";
inline constexpr size_t raft_read_bytes_max = 4u << 20; // one read from the partition log

class durable_log_store final : public log_store {
public:
    // Opens (or creates) the store under `dir`. Nothing is read until load().
    static result<std::unique_ptr<durable_log_store>> open(std::shared_ptr<storage::file_system> fs, std::string dir,
                                                           uint64_t segment_bytes = 64u << 20);

    result<recovered_state> load() override;
    result<void> save_hard_state(const hard_state& state) override;
    result<void> save_snapshot(const snapshot& snap) override;
    result<void> truncate_suffix(log_index from) override;
    result<void> append(std::span<const entry> entries) override;
    result<std::vector<entry>> read(log_index from, log_index to, size_t bytes_max) override;
    result<void> sync() override;

    log_index first_index() const { return log_index(log_->log_start_offset() + 1); }
    log_index last_index() const { return log_index(log_->log_end_offset()); }
    storage::partition_log& partition() { return *log_; }

private:
    durable_log_store(std::shared_ptr<storage::file_system> fs, std::string dir,
                      std::unique_ptr<storage::partition_log> log)
        : fs_(std::move(fs)), dir_(std::move(dir)), log_(std::move(log)) {}

    // The term of the entry at i as stored, if the log holds it.
    result<std::optional<raft_term>> stored_term_at(log_index i);
    // Makes the log start right after the snapshot point, keeping what
    // follows only if the log holds the point itself with the same term.
    result<void> align_to_snapshot(const snapshot_metadata& point);

    std::shared_ptr<storage::file_system> fs_;
    std::string dir_;
    std::unique_ptr<storage::partition_log> log_;
};

// Decodes the entries in a buffer of record batches as written above,
// checking every batch's CRC and framing.
result<std::vector<entry>> decode_entry_batches(proto::bytes_view batches);
proto::bytes encode_entry_batch(const entry& e);

} // namespace runnel::raft::node
