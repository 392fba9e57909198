// The Raft node shell (see node.h).
#include "raft/node/node.h"

#include <random>

#include <spdlog/spdlog.h>

#include "storage/file_system.h"

namespace runnel::raft::node {

namespace {

constexpr size_t run_rounds_max = 64; // ready rounds before yielding to other handlers

} // namespace

std::string_view to_string(propose_status s) {
    switch (s) {
    case propose_status::committed:
        return "committed";
    case propose_status::not_leader:
        return "not leader";
    case propose_status::lost:
        return "lost";
    case propose_status::timed_out:
        return "timed out";
    case propose_status::stopped:
        return "stopped";
    case propose_status::rejected:
        return "rejected";
    }
    return "unknown";
}

raft_node::raft_node(node_config config, std::shared_ptr<state_machine> app)
    : config_(std::move(config)), app_(std::move(app)) {}

raft_node::~raft_node() {
    stop();
    disk_.join();
}

result<void> raft_node::start() {
    raft_assert(!thread_.joinable(), "node {} started twice", config_.id.value());
    auto store = durable_log_store::open(storage::make_posix_file_system(), config_.data_dir);
    if (!store.ok()) {
        return store.err();
    }
    store_ = std::move(store).value();
    auto recovered = store_->load();
    if (!recovered.ok()) {
        return recovered.err();
    }
    if (recovered.value().snapshot) {
        app_->restore(*recovered.value().snapshot);
    }
    options o;
    o.id = config_.id;
    o.initial_configuration = config_.initial_configuration;
    o.election_ticks = config_.election_ticks;
    o.heartbeat_ticks = config_.heartbeat_ticks;
    o.pre_vote = config_.pre_vote;
    o.check_quorum = config_.check_quorum;
    // The shell is not a simulation: real randomness keeps the election
    // timeouts of nodes started together apart.
    o.random_seed = (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
    o.append_entries_max = config_.append_entries_max;
    o.inflight_appends_max = config_.inflight_appends_max;
    o.uncommitted_entries_max = config_.uncommitted_entries_max;
    raft_ = std::make_unique<consensus>(o, std::move(recovered).value());
    last_role_ = raft_->role();
    transport_ = std::make_unique<transport>(io_.get_executor(), config_.id, config_.peers,
                                             [this](message m) { on_message(std::move(m)); });
    auto self = config_.peers.find(config_.id);
    if (self == config_.peers.end()) {
        return error{fmt::format("node {} has no address among its peers", config_.id.value())};
    }
    RAFT_TRY(transport_->listen(self->second));
    spdlog::info("raft node {}: started at term {}, log ({}, {}], listening on port {}", config_.id.value(),
                 raft_->term().value(), raft_->log().base().index.value(), raft_->log().last_index().value(),
                 transport_->local_endpoint().port());
    publish_status();
    asio::co_spawn(io_, run_loop(), asio::detached);
    asio::co_spawn(io_, tick_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
    return {};
}

void raft_node::stop() {
    if (!thread_.joinable()) {
        return;
    }
    asio::post(io_, [this] {
        stopping_ = true;
        transport_->stop();
        wake_timer_.cancel();
        tick_timer_.cancel();
        finish_waiters_on_stop();
    });
    thread_.join();
    std::lock_guard lock(status_mutex_);
    status_.running = false;
}

void raft_node::finish_waiters_on_stop() {
    auto finish = [](const std::shared_ptr<waiter>& w) {
        if (!w->outcome) {
            w->outcome = propose_outcome{.status = propose_status::stopped};
        }
        w->timer->cancel();
    };
    for (auto& p : proposals_) {
        finish(p.w);
    }
    for (auto& [index, w] : commit_waiters_) {
        finish(w);
    }
    for (auto& [id, w] : read_waiters_) {
        finish(w);
    }
    for (auto& [index, w] : apply_waiters_) {
        finish(w);
    }
    for (auto& [id, w] : reads_to_ask_) {
        finish(w);
    }
    proposals_.clear();
    commit_waiters_.clear();
    read_waiters_.clear();
    apply_waiters_.clear();
    reads_to_ask_.clear();
}

void raft_node::wake() {
    wake_pending_ = true;
    wake_timer_.cancel();
}

void raft_node::on_message(message m) {
    if (stopping_ || inbox_.size() >= config_.inbox_messages_max) {
        return; // Raft recovers from a lost message; an unbounded queue would not
    }
    inbox_.push_back(std::move(m));
    wake();
}

asio::awaitable<void> raft_node::tick_loop() {
    while (!stopping_) {
        tick_timer_.expires_after(std::chrono::milliseconds(config_.tick_ms));
        co_await tick_timer_.async_wait(use_tuple);
        if (stopping_) {
            break;
        }
        ++ticks_due_;
        wake();
    }
}

asio::awaitable<void> raft_node::run_loop() {
    while (!stopping_) {
        if (!wake_pending_) {
            wake_timer_.expires_at(asio::steady_timer::time_point::max());
            co_await wake_timer_.async_wait(use_tuple);
        }
        wake_pending_ = false;
        for (size_t round = 0; round < run_rounds_max && !stopping_; ++round) {
            step_queued();
            if (!raft_->has_ready()) {
                break;
            }
            ready rd = raft_->ready();
            if (!rd.empty()) {
                // The writes and the fsync run on the disk thread; messages
                // and proposals arriving meanwhile wait for the next round.
                auto persisted = co_await asio::co_spawn(
                    disk_, [this, &rd]() -> asio::awaitable<result<void>> { co_return persist(*store_, rd); },
                    asio::use_awaitable);
                if (stopping_) {
                    co_return;
                }
                if (!persisted.ok()) {
                    // Fail-stop: after a failed write or fsync the disk's
                    // state is unknown, so the node must not say anything
                    // more. A restart recovers from what is really there.
                    spdlog::critical("raft node {}: persisting failed, stopping: {}", config_.id.value(),
                                     persisted.err().message);
                    stopping_ = true;
                    transport_->stop();
                    tick_timer_.cancel();
                    finish_waiters_on_stop();
                    co_return;
                }
                ++fsyncs_;
            }
            output out = raft_->advance(std::move(rd));
            for (const message& m : out.messages) {
                transport_->send(m);
            }
            apply(out);
            const log_index applied = raft_->log().applied();
            if ((applied - raft_->log().base().index.value()).value() >= config_.snapshot_entries) {
                raft_->compact(applied, app_->take_snapshot());
            }
            publish_status();
        }
        if (raft_->has_ready() || !inbox_.empty() || !proposals_.empty() || ticks_due_ > 0) {
            wake_pending_ = true;
        }
    }
}

void raft_node::step_queued() {
    for (; ticks_due_ > 0; --ticks_due_) {
        raft_->tick();
    }
    while (!inbox_.empty()) {
        raft_->step(std::move(inbox_.front()));
        inbox_.pop_front();
    }
    while (!proposals_.empty()) {
        queued_proposal p = std::move(proposals_.front());
        proposals_.pop_front();
        if (p.w->outcome) {
            continue; // timed out while queued
        }
        const propose_result r = raft_->propose(std::move(p.data));
        if (r.ok()) {
            p.w->term = r.term;
            if (auto old = commit_waiters_.find(r.index); old != commit_waiters_.end()) {
                old->second->outcome = propose_outcome{.status = propose_status::lost, .index = r.index};
                old->second->timer->cancel();
            }
            commit_waiters_[r.index] = p.w;
            continue;
        }
        p.w->outcome = propose_outcome{.status = r.error == errc::not_leader ? propose_status::not_leader
                                                                              : propose_status::rejected,
                                       .leader = r.leader_hint};
        p.w->timer->cancel();
    }
    while (!reads_to_ask_.empty()) {
        auto [id, w] = std::move(reads_to_ask_.front());
        reads_to_ask_.pop_front();
        if (raft_->read_index(id) == errc::ok) {
            read_waiters_[id] = w;
        } else {
            w->outcome = propose_outcome{.status = propose_status::not_leader, .leader = raft_->leader()};
            w->timer->cancel();
        }
    }
}

void raft_node::apply(const output& out) {
    if (out.snapshot) {
        app_->restore(*out.snapshot);
    }
    for (const entry& e : out.committed_entries) {
        app_->apply(e);
        ++applied_entries_;
        auto it = commit_waiters_.find(e.index);
        if (it == commit_waiters_.end()) {
            continue;
        }
        const bool ours = it->second->term == e.term;
        it->second->outcome = propose_outcome{.status = ours ? propose_status::committed : propose_status::lost,
                                              .index = e.index,
                                              .leader = raft_->leader()};
        it->second->timer->cancel();
        commit_waiters_.erase(it);
    }
    for (const read_state& r : out.read_states) {
        auto it = read_waiters_.find(r.request_id);
        if (it != read_waiters_.end()) {
            it->second->read_index = r.index;
            apply_waiters_.emplace(r.index, it->second);
            read_waiters_.erase(it);
        }
    }
    const log_index applied = raft_->log().applied();
    while (!apply_waiters_.empty() && apply_waiters_.begin()->first <= applied) {
        auto w = apply_waiters_.begin()->second;
        w->outcome = propose_outcome{.status = propose_status::committed, .index = apply_waiters_.begin()->first};
        w->timer->cancel();
        apply_waiters_.erase(apply_waiters_.begin());
    }
}

asio::awaitable<propose_outcome> raft_node::propose(proto::bytes data) {
    raft_assert(io_.get_executor().running_in_this_thread(), "propose must run on the node's executor");
    if (stopping_) {
        co_return propose_outcome{.status = propose_status::stopped};
    }
    if (proposals_.size() >= config_.pending_proposals_max) {
        co_return propose_outcome{.status = propose_status::rejected, .leader = raft_->leader()};
    }
    auto w = std::make_shared<waiter>();
    w->timer = std::make_unique<asio::steady_timer>(io_, std::chrono::milliseconds(config_.propose_timeout_ms));
    proposals_.push_back(queued_proposal{std::move(data), w});
    wake();
    co_await w->timer->async_wait(use_tuple);
    if (!w->outcome) {
        w->outcome = propose_outcome{.status = propose_status::timed_out};
    }
    co_return *w->outcome;
}

asio::awaitable<result<log_index>> raft_node::read_index() {
    raft_assert(io_.get_executor().running_in_this_thread(), "read_index must run on the node's executor");
    if (stopping_) {
        co_return error{"node stopped"};
    }
    auto w = std::make_shared<waiter>();
    w->timer = std::make_unique<asio::steady_timer>(io_, std::chrono::milliseconds(config_.propose_timeout_ms));
    reads_to_ask_.emplace_back(next_read_id_++, w);
    wake();
    co_await w->timer->async_wait(use_tuple);
    if (!w->outcome) {
        co_return error{"read index timed out"};
    }
    if (w->outcome->status != propose_status::committed) {
        co_return error{fmt::format("read index failed: {}", to_string(w->outcome->status))};
    }
    co_return w->outcome->index;
}

void raft_node::publish_status() {
    const raft::status s = raft_->status();
    if (s.role != last_role_) {
        spdlog::info("raft node {}: {} -> {} at term {}", config_.id.value(), raft::to_string(last_role_),
                     raft::to_string(s.role), s.term.value());
        last_role_ = s.role;
    }
    std::lock_guard lock(status_mutex_);
    status_ = node_status{.running = !stopping_, .raft = s, .applied_entries = applied_entries_, .fsyncs = fsyncs_};
}

node_status raft_node::status() const {
    std::lock_guard lock(status_mutex_);
    return status_;
}

} // namespace runnel::raft::node
