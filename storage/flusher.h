// Group commit for one log dir: a thread that runs the fsyncs of flush
// tickets from many partition logs, several tickets per pass, so that the
// owners never block on the disk and many appends share one fdatasync.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "storage/partition_log.h"

namespace runnel::storage {

// Usage by a log's owner (one strand):
//   auto ticket = log.prepare_flush();          // cheap: no fsync
//   flusher.submit(std::move(*ticket), [=](status s) {
//       post(strand, [=] { log.complete_flush(ticket, s, now); ack appends <= ticket.offset; });
//   });
// Appends that arrive meanwhile go into the next ticket.
class flusher {
public:
    using done_fn = std::function<void(const flush_ticket&, status)>;
    explicit flusher(size_t queue_max = 4096);
    ~flusher();
    flusher(const flusher&) = delete;
    flusher& operator=(const flusher&) = delete;

    // False if the queue is full or the flusher stopped (the caller may
    // then run the ticket itself).
    bool submit(flush_ticket ticket, done_fn done);
    // Runs what is queued, then joins the thread.
    void stop();
    // fsync passes made so far (each covers one or more tickets).
    uint64_t passes() const;

private:
    void run();

    size_t queue_max_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::pair<flush_ticket, done_fn>> queue_;
    bool stopping_ = false;
    uint64_t passes_ = 0;
    std::thread thread_;
};

} // namespace runnel::storage
