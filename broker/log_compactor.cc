#include "broker/log_compactor.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "broker/logging.h"

namespace runnel::broker {

namespace {
// A log.cleaner.backoff.ms below this is raised to it.
constexpr int64_t backoff_min_ms = 100;
} // namespace

log_compactor::log_compactor(compactor_options options, shard_set& shards, partition_manager& partitions,
                             std::shared_ptr<storage::file_system> fs)
    : options_(options), shards_(shards), partitions_(partitions), fs_(std::move(fs)) {}

log_compactor::~log_compactor() { stop(); }

void log_compactor::start() {
    if (!options_.enabled || cleaner_ != nullptr) {
        return;
    }
    cleaner_ = std::make_unique<storage::log_cleaner>();
    for (size_t shard = 0; shard < shards_.size(); ++shard) {
        asio::co_spawn(shards_.executor(shard), loop(shard), asio::detached);
    }
}

void log_compactor::stop() {
    if (cleaner_ != nullptr) {
        cleaner_->stop();
    }
}

asio::awaitable<void> log_compactor::loop(size_t shard) {
    asio::steady_timer timer(shards_.executor(shard));
    const auto pause = std::chrono::milliseconds(std::max(options_.backoff_ms, backoff_min_ms));
    // Ends when the shard's loop stops (the wait then fails).
    for (;;) {
        timer.expires_after(pause);
        auto [ec] = co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        if (ec) {
            co_return;
        }
        const int64_t now = partition_manager::now_ms();
        for (const auto& p : partitions_.local_partitions()) {
            offer(p, now);
        }
    }
}

void log_compactor::offer(const std::shared_ptr<partition>& p, int64_t now_ms) {
    if (!p->log().config().compacts()) {
        return;
    }
    auto job = p->log().prepare_compaction(now_ms, options_.offset_map_entries_max);
    if (!job) {
        return;
    }
    // The map is allocated whole: no larger than the records can fill.
    uint64_t records = 0;
    for (const auto& source : job->sources) {
        records += static_cast<uint64_t>(source.next_offset - source.base_offset);
    }
    job->offset_map_entries_max = static_cast<size_t>(std::min<uint64_t>(job->offset_map_entries_max, records));

    auto executor = shards_.executor(p->shard());
    std::weak_ptr<partition> weak = p;
    auto fs = fs_;
    auto* installed = &installed_;
    const bool queued = cleaner_->submit(std::move(*job), [executor, weak, fs, installed](
                                                            storage::result<storage::compaction_output> out) {
        // On the cleaner thread: the output is installed on the partition's shard.
        asio::post(executor, [weak, fs, installed, out = std::move(out)]() mutable {
            auto p = weak.lock();
            if (p == nullptr || p->removed()) {
                if (out.ok()) {
                    storage::discard_compaction(*fs, *out);
                }
                return;
            }
            auto stats = p->log().install_compaction(std::move(out));
            if (!stats.ok()) {
                get_logger("cleaner")->warn("compaction of {}-{}: {}", p->topic(), p->index().value(),
                                            stats.err().message);
                return;
            }
            installed->fetch_add(1, std::memory_order_relaxed);
        });
    });
    if (!queued) {
        // The cleaner is full or stopping: the log forgets the job and offers it again later.
        (void)p->log().install_compaction(
            storage::make_error(storage::errc::stale, "the cleaner's queue is full"));
    }
}

} // namespace runnel::broker
