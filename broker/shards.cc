// Shard threads.
#include "broker/shards.h"

#include <algorithm>

namespace runnel::broker {

size_t shard_count(std::optional<int32_t> configured_io_threads, unsigned cores) {
    constexpr size_t unset_max = 8; // Kafka's num.io.threads default
    const size_t n = std::max(1u, cores);
    if (configured_io_threads) {
        return std::min(n, static_cast<size_t>(std::max(1, *configured_io_threads)));
    }
    return std::clamp<size_t>(n - 1, 1, unset_max);
}

shard_set::shard_set(size_t count) {
    count = std::max<size_t>(1, count);
    for (size_t i = 0; i < count; ++i) {
        shards_.push_back(std::make_unique<shard>());
    }
}

shard_set::~shard_set() {
    stop();
    for (auto& s : shards_) {
        if (s->thread.joinable()) {
            s->thread.join();
        }
    }
    for (auto& s : shards_) {
        s->io.destroy_pending_handlers();
    }
}

void shard_set::run() {
    for (size_t i = 1; i < shards_.size(); ++i) {
        shards_[i]->thread = std::thread([s = shards_[i].get()] { s->io.run(); });
    }
    shards_.front()->io.run();
    for (size_t i = 1; i < shards_.size(); ++i) {
        if (shards_[i]->thread.joinable()) {
            shards_[i]->thread.join();
        }
    }
}

void shard_set::stop() {
    for (auto& s : shards_) {
        s->work.reset();
        s->io.stop();
    }
}

} // namespace runnel::broker
