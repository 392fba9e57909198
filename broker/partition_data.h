// The data path's state of one partition, attached to it as its extension:
// the idempotent producers, group commit of the appends that must be durable
// before they are acknowledged, the high watermark rule of a single node,
// and the Fetch requests waiting for data. Lives on the partition's shard.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "broker/partition.h"
#include "broker/producer_state.h"
#include "storage/flusher.h"

namespace runnel::broker {

// One Fetch request waiting for data, shared by the partitions it waits on
// (on any shard) and the request's coroutine (on its own shard). The
// partitions count the bytes that become readable; the one that reaches
// the request's min_bytes wakes it.
class fetch_wait : public std::enable_shared_from_this<fetch_wait> {
public:
    fetch_wait(asio::any_io_executor home, int64_t bytes_needed);

    // From any shard: bytes became readable in one of the partitions.
    void add_bytes(uint64_t bytes);
    // From any shard: wake now (a partition went away, the broker stops).
    void wake();
    bool woken() const { return woken_.load(std::memory_order_acquire); }
    // On the home shard: waits until woken or the deadline, whichever is first.
    asio::awaitable<void> wait_until(std::chrono::steady_clock::time_point deadline);
    // On the home shard: the request is answered; partitions drop it.
    void finish() { woken_.store(true, std::memory_order_release); }

private:
    asio::any_io_executor home_;
    asio::steady_timer timer_; // used on the home shard only
    std::atomic<int64_t> bytes_needed_;
    std::atomic<bool> woken_{false};
};

struct partition_data_limits {
    // Fetch requests waiting on one partition at most; more simply wait out
    // their max_wait_ms without an early wake-up.
    size_t fetch_waiters_max = 4096;
    producer_state_limits producers;
};

class partition_data : public partition_extension {
public:
    partition_data(partition& owner, asio::io_context::executor_type shard, storage::flusher& flusher,
                   std::shared_ptr<storage::file_system> fs, partition_data_limits limits);
    ~partition_data() override;

    static partition_data& of(partition& p);

    producer_state& producers() { return producers_; }

    // After an append of [base, last] of `bytes` bytes: advances the high
    // watermark now when no flush is needed, else starts (or joins) a group
    // commit. wait_durable() then says when the append may be acknowledged.
    void appended(int64_t last_offset, uint64_t bytes, bool flush_needed);
    // flush.ms: starts a flush when the log says one is due and none is in flight.
    void flush_if_due(int64_t now_ms);
    // After an append that rolled a new segment: a producer state snapshot
    // there bounds the log replay of the next start (Kafka does the same).
    void snapshot_producers();
    // Waits until every offset below `end_offset` is durable as the flush
    // policy promises; an fsync failure is returned.
    asio::awaitable<storage::status> wait_durable(int64_t end_offset);

    // Wakes every Fetch waiting on this partition (the broker stops).
    void wake_fetch_waiters();
    // Registers a waiting Fetch (false when the partition has too many).
    bool add_fetch_waiter(std::shared_ptr<fetch_wait> wait);

    // The partition is leaving (deleted or shutdown): wakes everyone.
    void close();

private:
    // The waiting coroutine owns the timer; a weak reference here, so that
    // a coroutine destroyed at shutdown leaves nothing dangling.
    struct durable_waiter {
        int64_t end_offset = 0;
        std::weak_ptr<asio::steady_timer> event; // cancelled to wake
        std::shared_ptr<storage::status> outcome;
    };
    // Appended bytes that become readable once the high watermark passes end_offset.
    struct pending_bytes {
        int64_t end_offset = 0;
        uint64_t bytes = 0;
    };

    void start_flush();
    void flush_done(const storage::flush_ticket& ticket, const storage::status& outcome);
    void advance_high_watermark(int64_t offset);
    void wake_durable_waiters(int64_t durable_end, const storage::status& outcome);
    void notify_fetch_waiters(uint64_t bytes);

    partition& owner_;
    asio::io_context::executor_type shard_;
    storage::flusher& flusher_;
    std::shared_ptr<storage::file_system> fs_;
    partition_data_limits limits_;
    producer_state producers_;
    // Group commit: one flush in flight; appends meanwhile wait for the next.
    bool flush_in_flight_ = false;
    int64_t flush_wanted_ = 0;  // flush up to here (exclusive) is requested
    int64_t durable_end_ = 0;   // below here is durable
    std::vector<durable_waiter> durable_waiters_;
    std::deque<pending_bytes> pending_;
    std::vector<std::weak_ptr<fetch_wait>> fetch_waiters_; // owned by the waiting requests
    // Set when the partition goes away, so that a late flush completion
    // posted to the shard does not touch a closed log.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace runnel::broker
