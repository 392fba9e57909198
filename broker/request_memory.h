// The memory for large request frames, shared by every connection of the
// broker (queued.max.request.bytes, Kafka's memory pool). Each connection
// reads into a receive buffer of its own (64 KiB, enough for almost every
// request); a frame that outgrows it gets a buffer of exactly its size, and
// that buffer's memory is reserved here first. While the pool is spent,
// such connections stop reading until memory comes back, as Kafka's network
// threads do. A connection reserves only after a frame's first 64 KiB have
// arrived, so a client that announces a huge frame and sends nothing holds
// nothing; and it holds one reservation at a time, never waiting while it
// holds one, so waiting connections cannot deadlock each other.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

namespace runnel::broker {

class request_memory_pool : public std::enable_shared_from_this<request_memory_pool> {
public:
    // Bytes held for one request; given back when destroyed. It keeps the
    // pool alive, as connections may outlive the server that made it.
    class reservation {
    public:
        reservation() = default;
        reservation(reservation&&) noexcept = default;
        reservation& operator=(reservation&& other) noexcept;
        reservation(const reservation&) = delete;
        reservation& operator=(const reservation&) = delete;
        ~reservation();
        size_t size() const { return bytes_; }
        void release();

    private:
        friend class request_memory_pool;
        reservation(std::shared_ptr<request_memory_pool> owner, size_t bytes) : owner_(std::move(owner)), bytes_(bytes) {}

        std::shared_ptr<request_memory_pool> owner_;
        size_t bytes_ = 0;
    };

    // capacity_bytes <= 0: no limit (Kafka's -1).
    static std::shared_ptr<request_memory_pool> create(int64_t capacity_bytes);

    // Reserves n more bytes into `out`. As Kafka's pool does, a reservation
    // is granted whenever any memory is free, even if n is more than what is
    // free, so that a request as large as the pool is not starved by small
    // ones: the pool's use stays below its capacity plus one request. False
    // when the pool is spent; then wait() until it may not be.
    bool try_reserve(size_t n, reservation& out);
    // Waits on `timer` (the caller's, on the caller's executor) until memory
    // is given back, or at most retry_ms: a timer the pool wakes by
    // cancelling it, so the caller simply tries again either way. Cancelling
    // the timer from elsewhere (closing the connection) ends the wait too.
    asio::awaitable<void> wait(const std::shared_ptr<asio::steady_timer>& timer);

    bool bounded() const { return capacity_ > 0; }
    int64_t capacity() const { return capacity_; }
    int64_t used() const;

    // The longest a waiter sleeps before trying again, wake-up or not.
    static constexpr int64_t retry_ms = 100;

private:
    explicit request_memory_pool(int64_t capacity) : capacity_(capacity) {}
    void give_back(size_t n);

    const int64_t capacity_;
    std::atomic<int64_t> used_{0};
    std::mutex mutex_;
    // The timers of waiting connections, one entry each; guarded by mutex_.
    std::map<const asio::steady_timer*, std::weak_ptr<asio::steady_timer>> waiters_;
    std::atomic<size_t> waiter_count_{0}; // waiters_.size(), read without the lock
};

} // namespace runnel::broker
