// Shard threads.
#include "broker/shards.h"

#include <algorithm>

namespace runnel::broker {

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
