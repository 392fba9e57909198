// The I/O shell around the Raft state machine: one node with its own
// io_context thread. A timer drives tick(), the TCP transport delivers
// messages, a durable log store keeps the log and hard state, and a worker
// thread runs the disk writes and fsyncs so that the node's thread never
// blocks on the disk. While a ready is being persisted, incoming messages
// and proposals queue (bounded) and go into the next round together, which
// is what batches many proposals into one fsync.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include <asio.hpp>

#include "raft/consensus.h"
#include "raft/node/asio_util.h"
#include "raft/node/durable_log_store.h"
#include "raft/node/transport.h"
#include "raft/result.h"

namespace runnel::raft::node {

// What the node applies committed entries to. Called on the node's thread.
class state_machine {
public:
    virtual ~state_machine() = default;
    // Every committed entry, in index order (configuration and no-op
    // entries too; most applications skip them).
    virtual void apply(const entry& e) = 0;
    // The state as of the last applied entry, for compaction.
    virtual proto::bytes take_snapshot() = 0;
    // Replaces the state (at start-up, or when the leader sends a snapshot).
    virtual void restore(const snapshot& snap) = 0;
};

struct node_config {
    node_id id{};
    std::map<node_id, asio::ip::tcp::endpoint> peers; // every member's address, this node's included
    std::string data_dir;
    configuration initial_configuration; // founding members (used only on an empty data_dir)
    int32_t tick_ms = 10;
    int32_t election_ticks = 50; // followers wait 0.5 to 1 s (Kafka's default is 1 s)
    int32_t heartbeat_ticks = 5;
    bool pre_vote = true;
    bool check_quorum = true;
    int64_t snapshot_entries = 50'000;   // applied entries between snapshots
    size_t inbox_messages_max = 16'384;  // queued while the disk is busy; beyond it, dropped
    size_t pending_proposals_max = 16'384;
    int64_t propose_timeout_ms = 5'000;
    size_t append_entries_max = 1024;
    size_t inflight_appends_max = 64;
    size_t uncommitted_entries_max = 65'536;
};

enum class propose_status : uint8_t {
    committed,   // applied at `index` with the term it was proposed in
    not_leader,  // `leader` says where to go
    lost,        // another entry was committed at its index (leadership changed)
    timed_out,   // no answer in propose_timeout_ms; it may still commit
    stopped,     // the node is shutting down
    rejected,    // refused by Raft (too large, busy)
};
std::string_view to_string(propose_status s);

struct propose_outcome {
    propose_status status = propose_status::stopped;
    log_index index{};
    node_id leader = no_node;
};

// A consistent copy of the node's state for observers on other threads.
struct node_status {
    bool running = false;
    raft::status raft{};
    uint64_t applied_entries = 0;
    uint64_t fsyncs = 0;
};

class raft_node {
public:
    raft_node(node_config config, std::shared_ptr<state_machine> app);
    ~raft_node();
    raft_node(const raft_node&) = delete;
    raft_node& operator=(const raft_node&) = delete;

    // Loads the store, starts listening and runs the node on its own thread.
    result<void> start();
    // Stops at once, like a crash of the process: nothing is flushed beyond
    // what Raft already synced. Joins the node's thread.
    void stop();

    // Proposes `data` and waits until it is applied or fails. Callable from
    // any thread; the coroutine runs on the node's executor.
    asio::awaitable<propose_outcome> propose(proto::bytes data);
    // A linearizable read point (dissertation §6.4): waits for a read index
    // and for the state machine to reach it, then returns it.
    asio::awaitable<result<log_index>> read_index();
    asio::any_io_executor executor() { return io_.get_executor(); }
    node_status status() const;

private:
    struct waiter {
        std::unique_ptr<asio::steady_timer> timer;
        raft_term term;
        std::optional<propose_outcome> outcome;
        std::optional<log_index> read_index;
    };

    asio::awaitable<void> run_loop();
    asio::awaitable<void> tick_loop();
    void on_message(message m);
    void wake();
    void step_queued();
    void apply(const output& out);
    void finish_waiters_on_stop();
    void publish_status();

    node_config config_;
    std::shared_ptr<state_machine> app_;
    asio::io_context io_;
    asio::thread_pool disk_{1};
    std::thread thread_;
    std::unique_ptr<durable_log_store> store_;
    std::unique_ptr<consensus> raft_;
    std::unique_ptr<transport> transport_;
    asio::steady_timer wake_timer_{io_};
    asio::steady_timer tick_timer_{io_};
    bool wake_pending_ = false;
    bool stopping_ = false;
    int32_t ticks_due_ = 0;
    std::deque<message> inbox_;
    struct queued_proposal {
        proto::bytes data;
        std::shared_ptr<waiter> w;
    };
    std::deque<queued_proposal> proposals_;
    std::deque<std::pair<uint64_t, std::shared_ptr<waiter>>> reads_to_ask_;
    std::map<log_index, std::shared_ptr<waiter>> commit_waiters_;
    std::unordered_map<uint64_t, std::shared_ptr<waiter>> read_waiters_;
    std::multimap<log_index, std::shared_ptr<waiter>> apply_waiters_; // reads waiting for their index
    uint64_t next_read_id_ = 1;
    uint64_t applied_entries_ = 0;
    uint64_t fsyncs_ = 0;
    role last_role_ = role::follower;

    mutable std::mutex status_mutex_; // guards status_ only: observers read it from other threads
    node_status status_;
};

} // namespace runnel::raft::node
