// Attaching data-path state to partitions, per-shard session caches and
// producer id blocks.
#include "broker/data_path.h"

#include <cassert>
#include <chrono>
#include <random>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "broker/logging.h"

namespace runnel::broker {

data_path::data_path(data_path_options options, shard_set& shards, partition_manager& partitions,
                     control_plane_hooks hooks, std::shared_ptr<storage::file_system> fs)
    : options_(options), shards_(shards), partitions_(partitions), hooks_(std::move(hooks)), fs_(std::move(fs)) {
    // The slots are broker-wide in Kafka; each shard gets its share.
    fetch_session_limits per_shard = options_.sessions;
    per_shard.slots = (options_.sessions.slots + shards_.size() - 1) / shards_.size();
    std::random_device seed;
    for (size_t i = 0; i < shards_.size(); ++i) {
        sessions_.push_back(std::make_unique<fetch_session_cache>(per_shard, i, shards_.size(),
                                                                  (uint64_t{seed()} << 32) | seed()));
    }
}

data_path::~data_path() = default;

void data_path::on_open(partition& p) {
    auto data = std::make_unique<partition_data>(p, shards_.executor(p.shard()), partitions_.flusher(), fs_,
                                                 options_.partitions);
    auto report = load_producer_state(*fs_, p.log(), data->producers());
    if (!report.ok()) {
        // The partition still serves; idempotent producers are then treated
        // as unknown (their next batch is accepted at any sequence).
        get_logger("data")->error("producer state of {}-{}: {}", p.topic(), p.index().value(), report.err().message);
        data->producers().clear();
        data->producers().set_applied_offset(p.log().log_end_offset());
    } else if (report->batches_replayed > 0 || report->snapshot_offset >= 0) {
        get_logger("data")->debug("producer state of {}-{}: snapshot at {}, {} batches replayed, {} producers",
                                  p.topic(), p.index().value(), report->snapshot_offset, report->batches_replayed,
                                  data->producers().size());
    }
    p.set_extension(std::move(data));
}

void data_path::on_close(partition& p, bool deleted) {
    auto* data = dynamic_cast<partition_data*>(p.extension());
    if (data == nullptr) {
        return;
    }
    data->close();
    if (deleted) {
        return;
    }
    // A snapshot at the log end lets the next start skip the replay.
    data->producers().set_applied_offset(p.log().log_end_offset());
    if (auto s = producer_snapshot::write(*fs_, p.log().dir(), data->producers()); !s.ok()) {
        get_logger("data")->warn("producer state snapshot of {}-{}: {}", p.topic(), p.index().value(),
                                 s.err().message);
    }
}

size_t data_path::shard_of(const asio::any_io_executor& executor) const {
    for (size_t i = 0; i < shards_.size(); ++i) {
        if (executor == asio::any_io_executor(shards_.executor(i))) {
            return i;
        }
    }
    assert(false && "an executor that is not a shard's");
    return 0;
}

asio::awaitable<producer_id_result> data_path::next_producer_id() {
    co_return co_await run_on(shards_.executor(0), [this] { return next_producer_id_on_home(); });
}

asio::awaitable<producer_id_result> data_path::next_producer_id_on_home() {
    while (!id_blocks_.empty() && id_blocks_.front().next >= id_blocks_.front().end) {
        id_blocks_.pop_front();
    }
    if (id_blocks_.empty()) {
        if (!hooks_.allocate_producer_ids) {
            co_return producer_id_result{proto::error_code::coordinator_not_available, -1};
        }
        producer_id_range block = co_await hooks_.allocate_producer_ids(options_.producer_id_block_size);
        if (block.error != proto::error_code::none) {
            co_return producer_id_result{block.error, -1};
        }
        assert(block.first_id >= 0 && block.count > 0);
        // Another request may have refilled meanwhile: keep both blocks.
        id_blocks_.push_back(id_block{block.first_id, block.first_id + block.count});
        while (id_blocks_.front().next >= id_blocks_.front().end) {
            id_blocks_.pop_front();
        }
    }
    co_return producer_id_result{proto::error_code::none, id_blocks_.front().next++};
}

void data_path::start_housekeeping() {
    for (size_t shard = 0; shard < shards_.size(); ++shard) {
        asio::co_spawn(shards_.executor(shard), housekeeping_loop(shard), asio::detached);
    }
}

void data_path::wake_fetch_waiters() {
    for (size_t shard = 0; shard < shards_.size(); ++shard) {
        asio::post(shards_.executor(shard), [this] {
            for (const auto& p : partitions_.local_partitions()) {
                partition_data::of(*p).wake_fetch_waiters();
            }
        });
    }
}

asio::awaitable<void> data_path::housekeeping_loop(size_t shard) {
    asio::steady_timer timer(shards_.executor(shard));
    int64_t last_expiry_ms = partition_manager::now_ms();
    // Ends when the shard's loop stops (the wait then fails).
    for (;;) {
        timer.expires_after(std::chrono::milliseconds(options_.flush_check_interval_ms));
        auto [ec] = co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        if (ec) {
            co_return;
        }
        const int64_t now = partition_manager::now_ms();
        const bool expire = now - last_expiry_ms >= options_.producer_expiration_check_interval_ms;
        if (expire) {
            last_expiry_ms = now;
        }
        for (const auto& p : partitions_.local_partitions()) {
            auto* data = dynamic_cast<partition_data*>(p->extension());
            if (data == nullptr || p->removed()) {
                continue;
            }
            data->flush_if_due(now);
            if (expire) {
                data->producers().remove_expired(now);
                data->producers().remove_below(p->log().log_start_offset());
            }
        }
    }
}

asio::awaitable<std::vector<proto::error_code>> data_path::auto_create_topics(std::vector<std::string> names) {
    if (!hooks_.auto_create_topics) {
        co_return std::vector<proto::error_code>(names.size(), proto::error_code::unknown_topic_or_partition);
    }
    const size_t n = names.size();
    std::vector<proto::error_code> out = co_await hooks_.auto_create_topics(std::move(names));
    out.resize(n, proto::error_code::unknown_topic_or_partition);
    co_return out;
}

} // namespace runnel::broker
