// A request coroutine waiting for an answer that a group state machine hands
// to a callback later (JoinGroup waits for the rebalance, SyncGroup for the
// leader's assignment). The coroutine owns the slot; the group holds only a
// weak reference through the callback, so a coroutine destroyed at shutdown
// leaves nothing behind, and an answer nobody waits for any more is dropped.
#pragma once

#include <memory>
#include <optional>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

namespace runnel::broker {

template <typename T>
class answer_slot {
public:
    explicit answer_slot(asio::any_io_executor executor)
        : timer_(executor, asio::steady_timer::time_point::max()) {}

    // The callback to give the state machine; it must be called on the
    // slot's executor (the group's shard).
    static auto callback(const std::shared_ptr<answer_slot>& slot) {
        return [weak = std::weak_ptr<answer_slot>(slot)](T value) {
            if (auto s = weak.lock()) {
                s->value_ = std::move(value);
                s->timer_.cancel();
            }
        };
    }

    // Waits until the callback ran (at once if it already has).
    static asio::awaitable<T> wait(std::shared_ptr<answer_slot> slot) {
        while (!slot->value_) {
            co_await slot->timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        }
        co_return std::move(*slot->value_);
    }

private:
    std::optional<T> value_;
    asio::steady_timer timer_;
};

} // namespace runnel::broker
