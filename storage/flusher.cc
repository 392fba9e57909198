// The group-commit flusher; see flusher.h.
#include "storage/flusher.h"

#include <set>

namespace runnel::storage {

flusher::flusher(size_t queue_max) : queue_max_(queue_max), thread_([this] { run(); }) {}

flusher::~flusher() { stop(); }

bool flusher::submit(flush_ticket ticket, done_fn done) {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= queue_max_) {
        return false;
    }
    queue_.emplace_back(std::move(ticket), std::move(done));
    wake_.notify_one();
    return true;
}

void flusher::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        wake_.notify_one();
    }
    if (thread_.joinable()) {
        thread_.join();
    }
}

uint64_t flusher::passes() const {
    std::lock_guard lock(mutex_);
    return passes_;
}

void flusher::run() {
    for (;;) {
        std::deque<std::pair<flush_ticket, done_fn>> batch;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) {
                return; // stopping, and everything queued has run
            }
            batch.swap(queue_);
        }
        // Each file and directory is synced once per pass, however many
        // tickets name it; a failure fails every ticket that named it.
        std::set<file*> synced;
        std::set<std::string> dirs;
        std::vector<status> results;
        results.reserve(batch.size());
        for (const auto& [ticket, done] : batch) {
            status outcome;
            for (const auto& f : ticket.files) {
                if (!outcome.ok() || synced.contains(f.get())) {
                    continue;
                }
                outcome = f->sync();
                if (outcome.ok()) {
                    synced.insert(f.get());
                }
            }
            if (outcome.ok() && !ticket.dir_to_sync.empty() && !dirs.contains(ticket.dir_to_sync)) {
                outcome = ticket.fs->sync_dir(ticket.dir_to_sync);
                if (outcome.ok()) {
                    dirs.insert(ticket.dir_to_sync);
                }
            }
            results.push_back(outcome);
        }
        {
            std::lock_guard lock(mutex_);
            ++passes_;
        }
        for (size_t i = 0; i < batch.size(); ++i) {
            batch[i].second(batch[i].first, results[i]);
        }
    }
}

} // namespace runnel::storage
