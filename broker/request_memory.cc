// The broker-wide pool of request memory (queued.max.request.bytes).
#include "broker/request_memory.h"

#include <cassert>
#include <chrono>

#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

namespace runnel::broker {

std::shared_ptr<request_memory_pool> request_memory_pool::create(int64_t capacity_bytes) {
    return std::shared_ptr<request_memory_pool>(new request_memory_pool(capacity_bytes));
}

bool request_memory_pool::try_reserve(size_t n, reservation& out) {
    // Lock-free: every request takes a queued.max.requests slot here, from
    // every shard.
    int64_t used = used_.load(std::memory_order_relaxed);
    do {
        if (capacity_ > 0 && used >= capacity_) {
            return false;
        }
    } while (!used_.compare_exchange_weak(used, used + static_cast<int64_t>(n), std::memory_order_acq_rel,
                                          std::memory_order_relaxed));
    if (!out.owner_) {
        out.owner_ = shared_from_this();
    }
    assert(out.owner_.get() == this);
    out.bytes_ += n;
    return true;
}

asio::awaitable<void> request_memory_pool::wait(const std::shared_ptr<asio::steady_timer>& timer) {
    {
        std::lock_guard lock(mutex_);
        // Registered before looking at used_, and give_back() looks at the
        // count after it lowered used_ (both sequentially consistent): either
        // this sees the memory come back, or give_back() sees this waiter.
        waiters_.insert_or_assign(timer.get(), timer);
        waiter_count_.store(waiters_.size());
        if (capacity_ <= 0 || used_.load() < capacity_) {
            waiters_.erase(timer.get());
            waiter_count_.store(waiters_.size());
            co_return; // memory came back meanwhile
        }
    }
    timer->expires_after(std::chrono::milliseconds(retry_ms));
    (void)co_await timer->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    std::lock_guard lock(mutex_);
    waiters_.erase(timer.get());
    waiter_count_.store(waiters_.size());
}

int64_t request_memory_pool::used() const {
    return used_.load();
}

void request_memory_pool::give_back(size_t n) {
    [[maybe_unused]] const int64_t before = used_.fetch_sub(static_cast<int64_t>(n));
    assert(before >= static_cast<int64_t>(n));
    if (waiter_count_.load() == 0) {
        return; // the common case: nobody waits, no lock
    }
    std::map<const asio::steady_timer*, std::weak_ptr<asio::steady_timer>> woken;
    {
        std::lock_guard lock(mutex_);
        woken.swap(waiters_);
        waiter_count_.store(0);
    }
    // Each waiter's timer is touched only on its own executor.
    for (auto& [key, weak] : woken) {
        if (auto timer = weak.lock()) {
            asio::post(timer->get_executor(), [timer] { timer->cancel(); });
        }
    }
}

request_memory_pool::reservation& request_memory_pool::reservation::operator=(reservation&& other) noexcept {
    if (this != &other) {
        release();
        owner_ = std::move(other.owner_);
        bytes_ = other.bytes_;
        other.bytes_ = 0;
    }
    return *this;
}

request_memory_pool::reservation::~reservation() {
    release();
}

void request_memory_pool::reservation::release() {
    // The owner is kept (the pool stays alive as long as the reservation),
    // so that a reservation reused for request after request does not touch
    // the pool's reference count each time.
    if (owner_ && bytes_ > 0) {
        owner_->give_back(bytes_);
        bytes_ = 0;
    }
}

} // namespace runnel::broker
