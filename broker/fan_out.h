// Running one coroutine on each of several shards at once and resuming when
// all have finished: how a request that touches partitions of many shards
// (Produce, ListOffsets, DeleteRecords) waits for them in parallel.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "broker/partition_manager.h"
#include "broker/request_context.h"

namespace runnel::broker {

struct shard_task {
    asio::any_io_executor executor;
    std::function<asio::awaitable<void>()> run;
};

// Runs every task on its executor concurrently; resumes the caller on its
// own executor when all are done, rethrowing the first exception.
inline asio::awaitable<void> run_all(std::vector<shard_task> tasks) {
    auto home = co_await asio::this_coro::executor;
    if (tasks.size() == 1 && tasks.front().executor == home) {
        co_await tasks.front().run();
        co_return;
    }
    struct join {
        explicit join(asio::any_io_executor ex, size_t n) : left(n), event(ex, asio::steady_timer::time_point::max()) {}
        size_t left;                // touched on the home executor only
        asio::steady_timer event;   // cancelled when left reaches 0
        std::exception_ptr error;
    };
    auto state = std::make_shared<join>(home, tasks.size());
    for (auto& task : tasks) {
        asio::co_spawn(task.executor, std::move(task.run), [state, home](std::exception_ptr e) {
            asio::post(home, [state, e] {
                if (e && !state->error) {
                    state->error = e;
                }
                if (--state->left == 0) {
                    state->event.cancel();
                }
            });
        });
    }
    // The count is only changed on this executor, so no wake-up is missed
    // between the check and the wait.
    while (state->left > 0) {
        co_await state->event.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
    if (state->error) {
        std::rethrow_exception(state->error);
    }
}

// Runs fn(item, partition*) for every item on the shard of its partition
// (partition* is null when this broker does not host it), one task per
// shard, shards in parallel. Item has `topic` (std::string) and `index`
// (int32_t); fn is synchronous and runs on the partition's shard.
template <typename Item, typename Fn>
asio::awaitable<void> for_each_partition(request_context& ctx, std::vector<Item>& items, Fn fn) {
    partition_manager& partitions = *ctx.broker->partitions;
    std::map<size_t, std::vector<Item*>> by_shard;
    for (auto& item : items) {
        by_shard[partitions.shard_of(item.topic, model::partition_id(item.index))].push_back(&item);
    }
    std::vector<shard_task> tasks;
    for (auto& [shard, list] : by_shard) {
        tasks.push_back(shard_task{ctx.broker->shards->executor(shard),
                                   [&partitions, list = list, fn]() -> asio::awaitable<void> {
                                       for (Item* item : list) {
                                           auto p = partitions.get(item->topic, model::partition_id(item->index));
                                           fn(*item, p.get());
                                       }
                                       co_return;
                                   }});
    }
    co_await run_all(std::move(tasks));
}

} // namespace runnel::broker
