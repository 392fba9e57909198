// The metadata log: where the controller makes metadata records durable and
// ordered before anyone acts on them. `metadata_log` is the one step the
// later Raft issue replaces ("append these records, tell me when they are
// committed"); `local_metadata_log` is the one-voter quorum of a single node:
// the partition __cluster_metadata-0 in the metadata log dir, fsynced before
// an append completes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "broker/metadata_image.h"
#include "broker/metadata_records.h"
#include "storage/flusher.h"
#include "storage/log_manager.h"
#include "storage/partition_log.h"

namespace runnel::broker {

// A record and the log offset it was committed at.
using metadata_record_visitor = std::function<storage::status(const metadata_record&, int64_t offset)>;

class metadata_log {
public:
    virtual ~metadata_log() = default;
    // Appends the records as one batch (all or none of them become part of
    // the log) and completes once they are committed, with the offset of the
    // last one. Called on the controller's executor, one append at a time.
    virtual asio::awaitable<storage::result<int64_t>> append(std::vector<metadata_record> records) = 0;
    // Visits every committed record from the start, in order (startup).
    virtual storage::status replay(const metadata_record_visitor& visit) = 0;
    // The offset the next record will get.
    virtual int64_t next_offset() const = 0;
};

struct local_metadata_log_options {
    // Records in one append at most (one batch).
    size_t records_per_append_max = 100'000;
    size_t batch_bytes_max = 64 * 1024 * 1024;
};

class local_metadata_log final : public metadata_log {
public:
    // Opens __cluster_metadata-0 in the log manager's dir (creating it),
    // owned by `executor` from now on; fsyncs run on `flusher`.
    static storage::result<std::unique_ptr<local_metadata_log>> open(storage::log_manager& logs,
                                                                    storage::flusher& flusher,
                                                                    asio::any_io_executor executor,
                                                                    local_metadata_log_options options = {});

    asio::awaitable<storage::result<int64_t>> append(std::vector<metadata_record> records) override;
    storage::status replay(const metadata_record_visitor& visit) override;
    int64_t next_offset() const override { return log_->log_end_offset(); }

private:
    local_metadata_log(std::shared_ptr<storage::partition_log> log, storage::flusher& flusher,
                       asio::any_io_executor executor, local_metadata_log_options options)
        : log_(std::move(log)), flusher_(flusher), executor_(std::move(executor)), options_(options) {}
    asio::awaitable<storage::status> flush();

    std::shared_ptr<storage::partition_log> log_;
    storage::flusher& flusher_;
    asio::any_io_executor executor_;
    local_metadata_log_options options_;
    // An append could be neither made durable nor taken back: refuse more.
    bool failed_ = false;
};

} // namespace runnel::broker
