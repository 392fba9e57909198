// The simulator's safety checks, run after every event:
//   election safety     at most one leader per term (Raft §5.2)
//   log matching        entries with the same index and term have identical
//                       prefixes (Raft §5.3), via a hash chain over each log
//   leader completeness a new leader's log holds every committed entry (§5.4)
//   state machine safety no two nodes apply different entries at an index (§5.4.3)
//   durability          the latest committed entry is on the disks of enough
//                       voters of the latest committed configuration to meet
//                       every majority of it, so no crashes can lose it
//   read linearizability a read-index answer covers every entry committed
//                       before the read was asked (dissertation §6.4)
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "raft/sim/sim_store.h"
#include "raft/types.h"

namespace runnel::raft::sim {

// The hash of a log prefix: chain(prev, e) covers e and everything before it.
uint64_t chain_hash(uint64_t previous, const entry& e);

// A node's log as hash chain values, kept in step with its store.
class log_mirror {
public:
    void reset(log_index base, raft_term base_term, uint64_t base_chain);
    void truncate(log_index from);
    // Drops entries up to the snapshot point; false if the mirror held that
    // entry (same index and term) with a different prefix hash.
    bool snapshot(log_index index, raft_term term, uint64_t chain);
    uint64_t append(const entry& e);
    std::optional<uint64_t> chain_at(log_index i) const;
    std::optional<raft_term> term_at(log_index i) const;
    log_index base() const { return base_; }
    log_index last_index() const { return base_ + static_cast<int64_t>(entries_.size()); }

private:
    log_index base_;
    raft_term base_term_;
    uint64_t base_chain_ = 0;
    std::vector<std::pair<raft_term, uint64_t>> entries_;
};

class checker {
public:
    // Each returns false (and records the failure) when an invariant breaks.
    bool on_log_entry(node_id node, log_index index, raft_term term, uint64_t chain);
    bool on_leader(node_id node, raft_term term, const log_mirror& log);
    // `observer_term` is the node's current term: the entry was committed in
    // that term or an earlier one, and leaders of later terms must hold it.
    bool on_commit(node_id node, log_index index, raft_term term, std::optional<uint64_t> chain,
                   raft_term observer_term);
    void on_committed_configuration(log_index index, const configuration& config);
    bool on_apply(node_id node, log_index index, uint64_t chain);
    void on_read_issued(uint64_t request_id);
    bool on_read_answered(node_id node, uint64_t request_id, log_index index);
    // Durability: `durable` lists the durable image of each node.
    bool check_durability(const std::map<node_id, const sim_store::image*>& durable);

    void report(std::string failure) { (void)fail(std::move(failure)); }
    const std::optional<std::string>& failure() const { return failure_; }
    log_index committed_max() const { return committed_max_; }
    const configuration& committed_configuration() const { return committed_config_; }
    size_t leaders_seen() const { return leaders_.size(); }
    uint64_t reads_checked() const { return reads_checked_; }

private:
    bool fail(std::string what);

    std::map<raft_term, node_id> leaders_;
    std::unordered_map<uint64_t, uint64_t> entry_chains_; // (index, term) key -> chain
    std::map<log_index, uint64_t> committed_;             // index -> chain, where known
    std::map<log_index, raft_term> committed_terms_;
    std::map<raft_term, log_index> committed_by_term_; // observer term -> highest index seen committed in it
    log_index committed_max_;
    configuration committed_config_;
    log_index committed_config_index_;
    std::unordered_map<uint64_t, log_index> read_floor_; // request id -> commit max when asked
    uint64_t reads_checked_ = 0;
    std::optional<std::string> failure_;
};

} // namespace runnel::raft::sim
