// The broker's shards: one io_context and one thread each. Everything stateful
// (a connection, a partition, a group) belongs to one shard and is touched only
// there; work for another shard's object is run there with run_on().
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>

namespace runnel::broker {

// How many shards a broker runs on `cores` cores. A configured
// num.io.threads is capped at the cores. Unset, the broker leaves one core to
// the rest of the machine (cores - 1, at least 1, at most 8): a dev/test
// broker shares the machine with the clients and tests that use it, and on
// two cores a second shard costs more in hand-offs between threads than it
// gains (docs/PERFORMANCE.md, "Shards on two cores").
size_t shard_count(std::optional<int32_t> configured_io_threads, unsigned cores);

class shard_set {
public:
    explicit shard_set(size_t count);
    ~shard_set();
    shard_set(const shard_set&) = delete;
    shard_set& operator=(const shard_set&) = delete;

    size_t size() const { return shards_.size(); }
    asio::io_context& context(size_t shard) { return shards_.at(shard)->io; }
    asio::io_context::executor_type executor(size_t shard) { return shards_.at(shard)->io.get_executor(); }

    // Runs shards 1..N-1 on their own threads and shard 0 on the calling
    // thread; returns when every shard has stopped.
    void run();
    // Lets every shard's loop finish; safe from any thread.
    void stop();

private:
    // An io_context whose pending handlers can be destroyed without
    // destroying it: a suspended coroutine of one shard may hold work on
    // another shard's context, so every shard's handlers go while all the
    // contexts still exist.
    class shard_context : public asio::io_context {
    public:
        using asio::io_context::io_context;
        void destroy_pending_handlers() { shutdown(); }
    };
    struct shard {
        shard_context io{1};
        asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
        std::thread thread;
    };
    std::vector<std::unique_ptr<shard>> shards_;
};

// Runs fn (a callable returning asio::awaitable<T>) on the given executor and
// resumes the caller on its own executor with the result.
template <typename Executor, typename F>
auto run_on(Executor target, F&& fn) {
    return asio::co_spawn(target, std::forward<F>(fn), asio::use_awaitable);
}

} // namespace runnel::broker
