// The simulation loop (see cluster.h): an ordered queue of timed events
// (ticks, message deliveries, disk syncs, restarts, and a periodic "chaos"
// event that injects faults and client requests), the nodes it drives, and
// the checks after each event.
#include "raft/sim/cluster.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "raft/assert.h"
#include "raft/consensus.h"
#include "raft/log_store.h"
#include "raft/random.h"
#include "raft/sim/checker.h"
#include "raft/sim/sim_store.h"

namespace runnel::raft::sim {

namespace {

constexpr size_t inbox_messages_max = 4096;  // messages a node queues while its disk is busy
constexpr size_t drive_rounds_max = 64;      // ready rounds handled back to back without a sync
constexpr int64_t restart_delay_ms_min = 20;
constexpr int64_t restart_delay_ms_max = 600;

// How hostile this seed's world is; drawn once per run.
struct fault_profile {
    uint32_t drop_per_million = 0;
    uint32_t duplicate_per_million = 0;
    uint32_t long_delay_per_million = 0;
    uint32_t crash_per_million = 0;     // per chaos tick
    uint32_t partition_per_million = 0; // per chaos tick
    uint32_t heal_per_million = 0;      // per chaos tick
    uint32_t disk_fault_per_million = 0; // per write
    uint32_t propose_per_million = 0;
    uint32_t read_per_million = 0;
    uint32_t membership_per_million = 0;
    uint32_t transfer_per_million = 0;
    int64_t compact_every = 0; // applied entries between snapshots
    bool pre_vote = true;
    bool check_quorum = true;
};

enum class event_kind : uint8_t { tick, deliver, synced, restart, chaos };

struct event {
    event_kind kind = event_kind::chaos;
    node_id node;
    uint64_t incarnation = 0;
    std::optional<message> msg;
};

struct sim_node {
    node_id id;
    options opts;
    std::unique_ptr<consensus> raft; // null while down
    sim_store store;
    log_mirror mirror;
    uint64_t incarnation = 0;
    int64_t tick_interval_ms = tick_ms;
    std::optional<ready> syncing; // written, waiting for its sync
    std::vector<message> inbox;   // arrived while syncing
    int32_t deferred_ticks = 0;
    // The application: a hash chain over what it applied.
    log_index app_index;
    uint64_t app_chain = 0;
    log_index seen_commit;
    bool up() const { return raft != nullptr; }
};

const proto::bytes& final_payload() {
    static const proto::bytes payload{'f', 'i', 'n', 'a', 'l'};
    return payload;
}

proto::bytes encode_app_state(log_index index, uint64_t chain) {
    proto::writer w;
    w.write_int64(index.value());
    w.write_int64(static_cast<int64_t>(chain));
    return w.release();
}

std::pair<log_index, uint64_t> decode_app_state(const proto::bytes& data) {
    proto::reader r(data);
    log_index index(r.read_int64());
    auto chain = static_cast<uint64_t>(r.read_int64());
    raft_assert(r.ok(), "simulated snapshot does not decode");
    return {index, chain};
}

class cluster {
public:
    explicit cluster(const sim_options& o) : opts_(o), random_(o.seed * 0x2545f4914f6cdd1dULL + 1) {}

    sim_result run();

private:
    // Setup and the loop.
    void draw_profile();
    void create_nodes();
    void schedule(int64_t at, event e);
    void handle(event e);
    void heal();
    bool liveness_done();

    // Nodes.
    sim_node& node(node_id id) { return nodes_.at(static_cast<size_t>(id.value() - 1)); }
    void on_tick(sim_node& n);
    void on_deliver(message m);
    void on_synced(sim_node& n);
    void drive(sim_node& n);
    void finish(sim_node& n, ready rd);
    void apply(sim_node& n, const output& out);
    void mirror_ready(sim_node& n, const ready& rd);
    void observe(sim_node& n);
    void crash(sim_node& n, const char* why);
    void restart(sim_node& n);

    // Network.
    void send(const message& m);

    // Chaos: faults and clients.
    void chaos();
    void client_requests();
    sim_node* pick_up_node();
    sim_node* find_leader();
    void change_membership(sim_node& leader);
    void partition();

    void check_durability();
    void trace(const std::string& line);

    sim_options opts_;
    random_source random_;
    fault_profile profile_;
    std::vector<sim_node> nodes_;
    std::map<std::pair<int64_t, uint64_t>, event> events_;
    uint64_t event_seq_ = 0;
    int64_t now_ = 0;
    bool healed_ = false;
    int64_t healed_at_ = 0;
    std::set<std::pair<node_id, node_id>> cut_;
    checker checker_;
    sim_stats stats_;
    uint64_t next_payload_ = 0;
    uint64_t next_read_ = 1;
    int64_t final_proposed_at_ = -1;
    std::optional<log_index> final_index_;
};

void cluster::trace(const std::string& line) {
    if (opts_.verbose) {
        std::printf("[%7lld ms] %s\n", static_cast<long long>(now_), line.c_str());
    }
}

void cluster::draw_profile() {
    fault_profile& p = profile_;
    p.drop_per_million = static_cast<uint32_t>(random_.below(4) == 0 ? 0 : random_.below(150'000));
    p.duplicate_per_million = static_cast<uint32_t>(random_.below(50'000));
    p.long_delay_per_million = static_cast<uint32_t>(random_.below(100'000));
    p.crash_per_million = static_cast<uint32_t>(random_.below(3) == 0 ? 0 : random_.between(2'000, 20'000));
    p.partition_per_million = static_cast<uint32_t>(random_.below(3) == 0 ? 0 : random_.between(2'000, 20'000));
    p.heal_per_million = static_cast<uint32_t>(random_.between(10'000, 80'000));
    p.disk_fault_per_million = static_cast<uint32_t>(random_.below(4) == 0 ? random_.between(100, 3'000) : 0);
    p.propose_per_million = static_cast<uint32_t>(random_.between(100'000, 900'000));
    p.read_per_million = static_cast<uint32_t>(random_.between(0, 300'000));
    p.membership_per_million = static_cast<uint32_t>(random_.below(3) == 0 ? random_.between(5'000, 40'000) : 0);
    p.transfer_per_million = static_cast<uint32_t>(random_.below(4) == 0 ? random_.between(2'000, 20'000) : 0);
    p.compact_every = random_.between(4, 64);
    p.pre_vote = random_.below(5) != 0;
    p.check_quorum = random_.below(5) != 0;
}

void cluster::create_nodes() {
    // With membership changes on, a five-node pool starts with three voters
    // and two nodes waiting to be added.
    const int32_t founders = profile_.membership_per_million > 0 && opts_.nodes == 5 ? 3 : opts_.nodes;
    configuration initial;
    for (int32_t i = 1; i <= founders; ++i) {
        initial.voters.push_back(node_id(i));
    }
    nodes_.resize(static_cast<size_t>(opts_.nodes));
    for (int32_t i = 1; i <= opts_.nodes; ++i) {
        sim_node& n = node(node_id(i));
        n.id = node_id(i);
        n.opts.id = n.id;
        n.opts.initial_configuration = i <= founders ? initial : configuration{};
        n.opts.election_ticks = 10;
        n.opts.heartbeat_ticks = 2;
        n.opts.pre_vote = profile_.pre_vote;
        n.opts.check_quorum = profile_.check_quorum;
        n.opts.random_seed = random_.next();
        n.opts.append_entries_max = static_cast<size_t>(random_.between(1, 16));
        n.opts.inflight_appends_max = static_cast<size_t>(random_.between(1, 8));
        n.opts.uncommitted_entries_max = 256;
        n.opts.apply_entries_max = static_cast<size_t>(random_.between(1, 64));
        // Clocks drift: each node's tick comes every 9 to 11 ms.
        n.tick_interval_ms = random_.between(tick_ms - 1, tick_ms + 1);
        n.store.set_write_faults(profile_.disk_fault_per_million, &random_);
        n.mirror.reset(log_index(0), raft_term(0), 0);
        n.raft = std::make_unique<consensus>(n.opts, recovered_state{});
        schedule(random_.between(0, tick_ms), event{event_kind::tick, n.id, n.incarnation, {}});
    }
}

void cluster::schedule(int64_t at, event e) {
    // The random second key breaks ties between simultaneous events in a
    // seed-determined order, which reorders messages sent at the same time.
    events_.emplace(std::make_pair(at, (random_.next() << 20) | (event_seq_++ & 0xfffff)), std::move(e));
}

sim_result cluster::run() {
    draw_profile();
    create_nodes();
    schedule(0, event{event_kind::chaos, no_node, 0, {}});
    for (auto& n : nodes_) {
        drive(n);
    }
    const int64_t fault_end = opts_.steps * tick_ms;
    const int64_t deadline = fault_end + opts_.heal_ticks_max * tick_ms;
    sim_result result;
    while (!events_.empty()) {
        auto node_handle = events_.extract(events_.begin());
        now_ = node_handle.key().first;
        if (!healed_ && now_ >= fault_end) {
            heal();
        }
        if (now_ > deadline) {
            result.ok = false;
            result.failure = fmt::format(
                "liveness: no leader committed and replicated a new entry within {} ticks of healing (committed "
                "index {}, leader {})",
                opts_.heal_ticks_max, checker_.committed_max().value(),
                find_leader() ? find_leader()->id.value() : -1);
            break;
        }
        ++stats_.events;
        handle(std::move(node_handle.mapped()));
        check_durability();
        if (checker_.failure()) {
            result.ok = false;
            result.failure = *checker_.failure();
            break;
        }
        if (healed_ && liveness_done()) {
            stats_.liveness_ms = now_ - healed_at_;
            break;
        }
    }
    stats_.simulated_ms = now_;
    stats_.entries_committed = static_cast<uint64_t>(checker_.committed_max().value());
    stats_.leaders = checker_.leaders_seen();
    stats_.reads_checked = checker_.reads_checked();
    result.stats = stats_;
    return result;
}

void cluster::handle(event e) {
    switch (e.kind) {
    case event_kind::tick: {
        sim_node& n = node(e.node);
        if (n.up() && e.incarnation == n.incarnation) {
            on_tick(n);
            schedule(now_ + n.tick_interval_ms, event{event_kind::tick, n.id, n.incarnation, {}});
        }
        return;
    }
    case event_kind::deliver:
        on_deliver(std::move(*e.msg));
        return;
    case event_kind::synced: {
        sim_node& n = node(e.node);
        if (n.up() && e.incarnation == n.incarnation) {
            on_synced(n);
        }
        return;
    }
    case event_kind::restart:
        restart(node(e.node));
        return;
    case event_kind::chaos:
        chaos();
        schedule(now_ + tick_ms, event{event_kind::chaos, no_node, 0, {}});
        return;
    }
}

void cluster::on_tick(sim_node& n) {
    if (n.syncing) {
        ++n.deferred_ticks;
        return;
    }
    const role before = n.raft->role();
    n.raft->tick();
    if (n.raft->role() != before) {
        trace(fmt::format("n{} {} -> {} term {}", n.id.value(), to_string(before), to_string(n.raft->role()),
                          n.raft->term().value()));
    }
    drive(n);
}

void cluster::on_deliver(message m) {
    sim_node& n = node(m.to);
    if (!n.up()) {
        ++stats_.messages_dropped;
        return;
    }
    if (n.syncing) {
        if (n.inbox.size() < inbox_messages_max) {
            n.inbox.push_back(std::move(m));
        } else {
            ++stats_.messages_dropped;
        }
        return;
    }
    trace(fmt::format("deliver {}", describe(m)));
    n.raft->step(std::move(m));
    drive(n);
}

// Takes readies while the node has them. A ready with nothing to persist is
// advanced at once; otherwise it is written now and synced a little later,
// and a crash in between loses a random part of it.
void cluster::drive(sim_node& n) {
    for (size_t round = 0; round < drive_rounds_max && n.up() && !n.syncing && n.raft->has_ready(); ++round) {
        ready rd = n.raft->ready();
        mirror_ready(n, rd);
        observe(n);
        if (rd.empty()) {
            finish(n, std::move(rd));
            continue;
        }
        if (auto written = write(n.store, rd); !written.ok()) {
            crash(n, "disk write failed");
            return;
        }
        n.syncing = std::move(rd);
        schedule(now_ + random_.between(0, 3), event{event_kind::synced, n.id, n.incarnation, {}});
    }
}

void cluster::on_synced(sim_node& n) {
    if (auto synced = n.store.sync(); !synced.ok()) {
        crash(n, "disk sync failed");
        return;
    }
    ready rd = std::move(*n.syncing);
    n.syncing.reset();
    finish(n, std::move(rd));
    if (!n.up()) {
        return;
    }
    std::vector<message> inbox;
    inbox.swap(n.inbox);
    for (auto& m : inbox) {
        n.raft->step(std::move(m));
    }
    for (; n.deferred_ticks > 0; --n.deferred_ticks) {
        n.raft->tick();
    }
    drive(n);
}

void cluster::finish(sim_node& n, ready rd) {
    output out = n.raft->advance(std::move(rd));
    observe(n);
    for (const message& m : out.messages) {
        send(m);
    }
    apply(n, out);
    // The application snapshots every so often, which compacts the log and
    // makes lagging followers need a snapshot.
    const log_index applied = n.raft->log().applied();
    if ((applied - n.raft->log().base().index.value()).value() >= profile_.compact_every &&
        applied == n.app_index) {
        n.raft->compact(applied, encode_app_state(n.app_index, n.app_chain));
        ++stats_.compactions;
    }
}

void cluster::apply(sim_node& n, const output& out) {
    if (out.snapshot) {
        auto [index, chain] = decode_app_state(out.snapshot->data);
        raft_assert(index == out.snapshot->metadata.index, "snapshot state at {} for point {}", index.value(),
                    out.snapshot->metadata.index.value());
        n.app_index = index;
        n.app_chain = chain;
        (void)checker_.on_apply(n.id, index, chain);
        ++stats_.snapshots_installed;
        trace(fmt::format("n{} loads snapshot at {}", n.id.value(), index.value()));
    }
    for (const entry& e : out.committed_entries) {
        raft_assert(e.index == n.app_index + 1, "node {} applies {} after {}", n.id.value(), e.index.value(),
                    n.app_index.value());
        n.app_index = e.index;
        n.app_chain = chain_hash(n.app_chain, e);
        (void)checker_.on_apply(n.id, e.index, n.app_chain);
        const bool final = e.type == entry_type::normal && e.data == final_payload();
        if (final && (!final_index_ || e.index < *final_index_)) {
            final_index_ = e.index;
        }
    }
    for (const read_state& r : out.read_states) {
        (void)checker_.on_read_answered(n.id, r.request_id, r.index);
    }
}

// Keeps the node's hash-chain mirror in step with what the ready writes.
void cluster::mirror_ready(sim_node& n, const ready& rd) {
    if (rd.truncate_from) {
        n.mirror.truncate(*rd.truncate_from);
    }
    if (rd.snapshot) {
        auto [index, chain] = decode_app_state(rd.snapshot->data);
        if (!n.mirror.snapshot(index, rd.snapshot->metadata.term, chain)) {
            checker_.report(fmt::format("snapshot at {} disagrees with node {}'s own log there", index.value(),
                                        n.id.value()));
        }
    }
    for (const entry& e : rd.entries) {
        const uint64_t chain = n.mirror.append(e);
        (void)checker_.on_log_entry(n.id, e.index, e.term, chain);
    }
}

// Records what the node now believes: leadership and commit.
void cluster::observe(sim_node& n) {
    consensus& r = *n.raft;
    if (r.is_leader()) {
        (void)checker_.on_leader(n.id, r.term(), n.mirror);
    }
    const log_index commit = r.log().committed();
    if (commit <= n.seen_commit) {
        return;
    }
    for (log_index i = std::max(n.seen_commit + 1, n.mirror.base()); i <= commit; ++i) {
        auto term = n.mirror.term_at(i);
        raft_assert(term.has_value(), "node {} committed {} beyond its log", n.id.value(), i.value());
        (void)checker_.on_commit(n.id, i, *term, n.mirror.chain_at(i), r.term());
    }
    checker_.on_committed_configuration(commit, r.log().configuration_at(commit));
    n.seen_commit = commit;
}

void cluster::crash(sim_node& n, const char* why) {
    trace(fmt::format("n{} crashes ({}), {} unsynced writes at risk", n.id.value(), why, n.store.unsynced_writes()));
    ++stats_.crashes;
    if (std::string_view(why).starts_with("disk")) {
        ++stats_.disk_failures;
    }
    n.raft.reset();
    n.store.crash(random_);
    n.syncing.reset();
    n.inbox.clear();
    n.deferred_ticks = 0;
    ++n.incarnation;
    const int64_t delay = healed_ ? 1 : random_.between(restart_delay_ms_min, restart_delay_ms_max);
    schedule(now_ + delay, event{event_kind::restart, n.id, n.incarnation, {}});
}

void cluster::restart(sim_node& n) {
    if (n.up()) {
        return;
    }
    auto loaded = n.store.load();
    raft_assert(loaded.ok(), "simulated store failed to load");
    recovered_state state = std::move(loaded).value();
    // The application restarts from its snapshot; the log mirror from disk.
    n.app_index = log_index(0);
    n.app_chain = 0;
    n.mirror.reset(log_index(0), raft_term(0), 0);
    if (state.snapshot) {
        auto [index, chain] = decode_app_state(state.snapshot->data);
        n.app_index = index;
        n.app_chain = chain;
        n.mirror.reset(index, state.snapshot->metadata.term, chain);
    }
    for (const entry& e : state.entries) {
        (void)checker_.on_log_entry(n.id, e.index, e.term, n.mirror.append(e));
    }
    n.seen_commit = n.app_index;
    n.raft = std::make_unique<consensus>(n.opts, std::move(state));
    trace(fmt::format("n{} restarts: term {}, log ({}, {}]", n.id.value(), n.raft->term().value(),
                      n.raft->log().base().index.value(), n.raft->log().last_index().value()));
    schedule(now_ + random_.between(1, tick_ms), event{event_kind::tick, n.id, n.incarnation, {}});
    drive(n);
}

void cluster::send(const message& m) {
    ++stats_.messages_sent;
    if (cut_.contains({m.from, m.to}) || random_.chance(profile_.drop_per_million)) {
        ++stats_.messages_dropped;
        return;
    }
    auto delay = [this] {
        return random_.chance(profile_.long_delay_per_million) ? random_.between(10, 150) : random_.between(1, 5);
    };
    schedule(now_ + delay(), event{event_kind::deliver, m.to, 0, m});
    if (random_.chance(profile_.duplicate_per_million)) {
        ++stats_.messages_duplicated;
        schedule(now_ + delay(), event{event_kind::deliver, m.to, 0, m});
    }
}

void cluster::chaos() {
    if (!healed_) {
        if (random_.chance(profile_.crash_per_million)) {
            if (sim_node* n = pick_up_node()) {
                crash(*n, "killed");
            }
        }
        if (random_.chance(profile_.partition_per_million)) {
            partition();
        }
        if (!cut_.empty() && random_.chance(profile_.heal_per_million)) {
            trace("network heals");
            cut_.clear();
        }
    }
    client_requests();
}

void cluster::partition() {
    ++stats_.partitions;
    cut_.clear();
    std::vector<node_id> ids;
    for (auto& n : nodes_) {
        ids.push_back(n.id);
    }
    // Shuffle, then split: the first k nodes form one side.
    for (size_t i = ids.size(); i > 1; --i) {
        std::swap(ids[i - 1], ids[random_.below(i)]);
    }
    const size_t k = static_cast<size_t>(random_.between(1, static_cast<int64_t>(ids.size()) - 1));
    const bool one_way = random_.below(3) == 0;
    for (size_t a = 0; a < k; ++a) {
        for (size_t b = k; b < ids.size(); ++b) {
            cut_.insert({ids[a], ids[b]});
            if (!one_way) {
                cut_.insert({ids[b], ids[a]});
            }
        }
    }
    std::string side;
    for (size_t a = 0; a < k; ++a) {
        side += fmt::format("{}{}", a ? "," : "", ids[a].value());
    }
    trace(fmt::format("partition: {{{}}} {} the rest", side, one_way ? "cannot send to" : "cut off from"));
}

sim_node* cluster::pick_up_node() {
    std::vector<sim_node*> up;
    for (auto& n : nodes_) {
        if (n.up()) {
            up.push_back(&n);
        }
    }
    return up.empty() ? nullptr : up[random_.below(up.size())];
}

sim_node* cluster::find_leader() {
    sim_node* best = nullptr;
    for (auto& n : nodes_) {
        if (n.up() && n.raft->is_leader() && (!best || n.raft->term() > best->raft->term())) {
            best = &n;
        }
    }
    return best;
}

void cluster::client_requests() {
    sim_node* leader = find_leader();
    if (leader && leader->syncing) {
        leader = nullptr; // its disk is busy; the client tries again next tick
    }
    if (healed_) {
        // Propose the final entry until it is applied everywhere; a lost
        // one (a leader change) is proposed again after a while.
        if (leader && (final_proposed_at_ < 0 || now_ - final_proposed_at_ > 50 * tick_ms)) {
            auto r = leader->raft->propose(final_payload());
            if (r.ok()) {
                final_proposed_at_ = now_;
                trace(fmt::format("client: final entry at {}/{} on n{}", r.term.value(), r.index.value(),
                                  leader->id.value()));
                drive(*leader);
            }
        }
        return;
    }
    if (leader && random_.chance(profile_.propose_per_million)) {
        const int64_t batch = random_.between(1, 4);
        for (int64_t i = 0; i < batch; ++i) {
            const std::string text = fmt::format("v{}", next_payload_++);
            if (leader->raft->propose(proto::bytes(text.begin(), text.end())).ok()) {
                ++stats_.proposals_accepted;
            }
        }
        drive(*leader);
    }
    if (random_.chance(profile_.read_per_million)) {
        if (sim_node* n = pick_up_node(); n && !n->syncing) {
            const uint64_t id = next_read_++;
            checker_.on_read_issued(id);
            if (n->raft->read_index(id) == errc::ok) {
                drive(*n);
            }
        }
    }
    if (leader && leader->up() && !leader->syncing && random_.chance(profile_.membership_per_million)) {
        change_membership(*leader);
    }
    if (leader && leader->up() && !leader->syncing && random_.chance(profile_.transfer_per_million)) {
        const auto& voters = leader->raft->config().voters;
        const node_id to = voters[random_.below(voters.size())];
        if (leader->raft->transfer_leadership(to) == errc::ok) {
            ++stats_.leadership_transfers;
            trace(fmt::format("client: n{} hands leadership to n{}", leader->id.value(), to.value()));
            drive(*leader);
        }
    }
}

void cluster::change_membership(sim_node& leader) {
    const configuration& c = leader.raft->config();
    std::vector<configuration_change> legal;
    for (auto& n : nodes_) {
        if (c.is_voter(n.id)) {
            legal.push_back({change_kind::remove_voter, n.id});
        } else if (c.is_learner(n.id)) {
            legal.push_back({change_kind::add_voter, n.id});
            legal.push_back({change_kind::remove_learner, n.id});
        } else {
            legal.push_back({change_kind::add_learner, n.id});
            legal.push_back({change_kind::add_voter, n.id});
        }
    }
    const configuration_change change = legal[random_.below(legal.size())];
    auto r = leader.raft->propose_change(change);
    if (r.ok()) {
        ++stats_.configuration_changes;
        trace(fmt::format("client: n{} proposes {} at {}", leader.id.value(), describe(change), r.index.value()));
        drive(leader);
    }
}

void cluster::heal() {
    healed_ = true;
    healed_at_ = now_;
    trace("heal: network whole, disks sound, every node restarted");
    cut_.clear();
    profile_.drop_per_million = 0;
    profile_.duplicate_per_million = 0;
    profile_.long_delay_per_million = 0;
    for (auto& n : nodes_) {
        n.store.set_write_faults(0, nullptr);
        if (!n.up()) {
            schedule(now_ + 1, event{event_kind::restart, n.id, n.incarnation, {}});
        }
    }
}

// Done when every member of the latest committed configuration is up and
// has applied the first final entry (proposed after healing) to commit.
bool cluster::liveness_done() {
    const configuration& c = checker_.committed_configuration();
    if (c.voters.empty() || !final_index_) {
        return false;
    }
    for (const auto* ids : {&c.voters, &c.learners}) {
        for (node_id id : *ids) {
            const sim_node& n = node(id);
            if (!n.up() || n.app_index < *final_index_) {
                return false;
            }
        }
    }
    return true;
}

void cluster::check_durability() {
    std::map<node_id, const sim_store::image*> durable;
    for (auto& n : nodes_) {
        durable.emplace(n.id, &n.store.durable());
    }
    (void)checker_.check_durability(durable);
}

} // namespace

sim_result run_simulation(const sim_options& options) {
    raft_assert(options.nodes >= 1 && options.nodes <= 9, "nodes {}", options.nodes);
    cluster c(options);
    return c.run();
}

std::string replay_command(const sim_options& o) {
    return fmt::format("raft_sim --seed {} --nodes {} --steps {}", o.seed, o.nodes, o.steps);
}

} // namespace runnel::raft::sim
