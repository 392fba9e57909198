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
    {
        std::lock_guard lock(mutex_);
        if (capacity_ > 0 && used_ >= capacity_) {
            return false;
        }
        used_ += static_cast<int64_t>(n);
    }
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
        if (capacity_ <= 0 || used_ < capacity_) {
            co_return; // memory came back meanwhile
        }
        waiters_.insert_or_assign(timer.get(), timer);
    }
    timer->expires_after(std::chrono::milliseconds(retry_ms));
    (void)co_await timer->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    std::lock_guard lock(mutex_);
    waiters_.erase(timer.get());
}

int64_t request_memory_pool::used() const {
    std::lock_guard lock(mutex_);
    return used_;
}

void request_memory_pool::give_back(size_t n) {
    std::map<const asio::steady_timer*, std::weak_ptr<asio::steady_timer>> woken;
    {
        std::lock_guard lock(mutex_);
        used_ -= static_cast<int64_t>(n);
        assert(used_ >= 0);
        woken.swap(waiters_);
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
    if (owner_) {
        owner_->give_back(bytes_);
        owner_.reset();
        bytes_ = 0;
    }
}

} // namespace runnel::broker
