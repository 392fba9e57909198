// Group commit, the high watermark and fetch wake-ups of one partition.
#include "broker/partition_data.h"

#include <algorithm>
#include <cassert>

#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include "broker/logging.h"
#include "broker/partition_manager.h"

namespace runnel::broker {

// ---- fetch_wait -----------------------------------------------------------

fetch_wait::fetch_wait(asio::any_io_executor home, int64_t bytes_needed)
    : home_(home), timer_(home), bytes_needed_(bytes_needed) {}

void fetch_wait::add_bytes(uint64_t bytes) {
    if (woken()) {
        return;
    }
    const auto b = static_cast<int64_t>(std::min<uint64_t>(bytes, INT64_MAX / 2));
    if (bytes_needed_.fetch_sub(b, std::memory_order_acq_rel) - b <= 0) {
        wake();
    }
}

void fetch_wait::wake() {
    if (woken_.exchange(true, std::memory_order_acq_rel)) {
        return;
    }
    // The timer belongs to the home shard: cancel it there. The waiter
    // checks woken() before it waits, so an early wake-up is not lost.
    asio::post(home_, [this, keep = shared_from_this()] { timer_.cancel(); });
}

asio::awaitable<void> fetch_wait::wait_until(std::chrono::steady_clock::time_point deadline) {
    if (woken()) {
        co_return;
    }
    timer_.expires_at(deadline);
    co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
}

// ---- partition_data -------------------------------------------------------

partition_data::partition_data(partition& owner, asio::io_context::executor_type shard, storage::flusher& flusher,
                               std::shared_ptr<storage::file_system> fs, partition_data_limits limits)
    : owner_(owner), shard_(shard), flusher_(flusher), fs_(std::move(fs)), limits_(limits),
      producers_(limits.producers) {
    // What the log holds at open is on disk already (recovered or flushed
    // at shutdown), and a single node is its own in-sync replica set.
    durable_end_ = owner_.log().log_end_offset();
    flush_wanted_ = durable_end_;
    if (owner_.high_watermark().value() < owner_.log().log_end_offset()) {
        owner_.advance_high_watermark(model::offset(owner_.log().log_end_offset()));
    }
}

partition_data::~partition_data() { close(); }

partition_data& partition_data::of(partition& p) {
    auto* data = dynamic_cast<partition_data*>(p.extension());
    assert(data != nullptr && "a hosted partition always has its data-path state");
    return *data;
}

void partition_data::appended(int64_t last_offset, uint64_t bytes, bool flush_needed) {
    const int64_t end = last_offset + 1;
    pending_.push_back(pending_bytes{end, bytes});
    if (!flush_needed) {
        // The flush policy asks for no fsync before the acknowledgement:
        // written to the page cache is as durable as it promises, unless an
        // earlier append still waits for its flush (offsets become durable
        // in order).
        if (!flush_in_flight_ && flush_wanted_ <= durable_end_) {
            durable_end_ = std::max(durable_end_, end);
            flush_wanted_ = std::max(flush_wanted_, durable_end_);
            advance_high_watermark(end);
            wake_durable_waiters(durable_end_, {});
        } else {
            flush_wanted_ = std::max(flush_wanted_, end);
            if (!flush_in_flight_) {
                start_flush(); // an earlier flush failed: try again
            }
        }
        return;
    }
    flush_wanted_ = std::max(flush_wanted_, end);
    if (!flush_in_flight_) {
        start_flush();
    }
}

void partition_data::flush_if_due(int64_t now_ms) {
    if (*alive_ && !flush_in_flight_ && owner_.log().flush_due(now_ms)) {
        flush_wanted_ = std::max(flush_wanted_, owner_.log().log_end_offset());
        start_flush();
    }
}

void partition_data::snapshot_producers() {
    if (!*alive_) {
        return;
    }
    producers_.remove_expired(partition_manager::now_ms());
    producers_.set_applied_offset(owner_.log().log_end_offset());
    if (auto s = producer_snapshot::write(*fs_, owner_.log().dir(), producers_); !s.ok()) {
        get_logger("data")->warn("producer state snapshot of {}-{}: {}", owner_.topic(), owner_.index().value(),
                                 s.err().message);
    }
}

void partition_data::start_flush() {
    assert(!flush_in_flight_);
    auto ticket = owner_.log().prepare_flush();
    if (!ticket.ok()) {
        wake_durable_waiters(flush_wanted_, ticket.err());
        return;
    }
    flush_in_flight_ = true;
    auto done = [shard = shard_, alive = alive_, self = this](const storage::flush_ticket& t, storage::status s) {
        asio::post(shard, [alive, self, t, s] {
            if (*alive) {
                self->flush_done(t, s);
            }
        });
    };
    storage::flush_ticket copy = *ticket;
    if (!flusher_.submit(std::move(*ticket), done)) {
        // The flusher is full or stopping: fsync here rather than lose the
        // durability the producer waits for.
        done(copy, copy.run());
    }
}

void partition_data::flush_done(const storage::flush_ticket& ticket, const storage::status& outcome) {
    flush_in_flight_ = false;
    owner_.log().complete_flush(ticket, outcome, partition_manager::now_ms());
    if (!outcome.ok()) {
        get_logger("data")->error("flushing {}-{} failed: {}", owner_.topic(), owner_.index().value(),
                                  outcome.err().message);
        wake_durable_waiters(flush_wanted_, outcome);
        return;
    }
    durable_end_ = std::max(durable_end_, ticket.offset);
    advance_high_watermark(durable_end_);
    wake_durable_waiters(durable_end_, {});
    if (flush_wanted_ > durable_end_) {
        start_flush(); // appends that arrived during this flush
    }
}

void partition_data::wake_durable_waiters(int64_t durable_end, const storage::status& outcome) {
    auto it = std::partition(durable_waiters_.begin(), durable_waiters_.end(),
                             [&](const durable_waiter& w) { return w.end_offset > durable_end; });
    for (auto w = it; w != durable_waiters_.end(); ++w) {
        *w->outcome = outcome;
        if (auto event = w->event.lock()) {
            event->cancel();
        }
    }
    durable_waiters_.erase(it, durable_waiters_.end());
}

asio::awaitable<storage::status> partition_data::wait_durable(int64_t end_offset) {
    if (end_offset <= durable_end_) {
        co_return storage::status{};
    }
    if (!*alive_) {
        co_return storage::make_error(storage::errc::not_found, "the partition was closed");
    }
    auto event = std::make_shared<asio::steady_timer>(shard_, asio::steady_timer::time_point::max());
    auto outcome = std::make_shared<storage::status>(
        storage::make_error(storage::errc::io_error, "the partition closed before the append was flushed"));
    durable_waiters_.push_back(durable_waiter{end_offset, event, outcome});
    co_await event->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    co_return *outcome;
}

void partition_data::advance_high_watermark(int64_t offset) {
    const int64_t target = std::min(offset, owner_.log().log_end_offset());
    if (target > owner_.high_watermark().value()) {
        owner_.advance_high_watermark(model::offset(target));
    }
    const int64_t hw = owner_.high_watermark().value();
    uint64_t released = 0;
    while (!pending_.empty() && pending_.front().end_offset <= hw) {
        released += pending_.front().bytes;
        pending_.pop_front();
    }
    if (released > 0) {
        notify_fetch_waiters(released);
    }
}

namespace {
bool gone(const std::weak_ptr<fetch_wait>& w) {
    auto alive = w.lock();
    return alive == nullptr || alive->woken();
}
} // namespace

bool partition_data::add_fetch_waiter(std::shared_ptr<fetch_wait> wait) {
    std::erase_if(fetch_waiters_, gone);
    if (fetch_waiters_.size() >= limits_.fetch_waiters_max || !*alive_) {
        return false;
    }
    fetch_waiters_.push_back(std::move(wait));
    return true;
}

void partition_data::notify_fetch_waiters(uint64_t bytes) {
    for (const auto& w : fetch_waiters_) {
        if (auto alive = w.lock()) {
            alive->add_bytes(bytes);
        }
    }
    std::erase_if(fetch_waiters_, gone);
}

void partition_data::close() {
    if (!*alive_) {
        return;
    }
    *alive_ = false;
    wake_durable_waiters(INT64_MAX, storage::make_error(storage::errc::not_found, "the partition was closed"));
    wake_fetch_waiters();
}

void partition_data::wake_fetch_waiters() {
    for (const auto& w : fetch_waiters_) {
        if (auto alive = w.lock()) {
            alive->wake();
        }
    }
    fetch_waiters_.clear();
}

} // namespace runnel::broker
