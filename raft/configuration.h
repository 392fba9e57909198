// Cluster membership: the voters whose majority decides, and learners that
// receive the log without voting. Changed one voter at a time (Raft
// dissertation §4.1, KRaft's KIP-853), so any two consecutive configurations
// have overlapping majorities and no joint consensus is needed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "protocol/types.h"
#include "protocol/wire.h"

namespace runnel::raft {

using model::node_id;
inline constexpr node_id no_node{model::no_node};

// Limits on what a configuration entry may hold, checked when decoding.
inline constexpr size_t configuration_members_max = 1024;

struct configuration {
    std::vector<node_id> voters{};   // sorted, unique
    std::vector<node_id> learners{}; // sorted, unique, disjoint from voters

    bool is_voter(node_id id) const;
    bool is_learner(node_id id) const;
    bool contains(node_id id) const { return is_voter(id) || is_learner(id); }
    // The number of votes that make a majority of the voters.
    size_t quorum() const { return voters.size() / 2 + 1; }
    // Sorted, unique, disjoint, and within the limits.
    bool valid() const;
    bool operator==(const configuration&) const = default;
};

enum class change_kind : uint8_t {
    add_voter = 0,      // a new node or a learner (promotion) becomes a voter
    remove_voter = 1,   // a voter leaves the cluster
    add_learner = 2,    // a new node starts receiving the log
    remove_learner = 3, // a learner leaves
};

struct configuration_change {
    change_kind kind = change_kind::add_learner;
    node_id node;
};

// The configuration after `change`, or nothing if the change is not legal
// from `from` (adding a member twice, removing one that is absent, removing
// the last voter). A legal change moves at most one voter.
std::optional<configuration> apply_change(const configuration& from, const configuration_change& change);

proto::bytes encode(const configuration& c);
std::optional<configuration> decode_configuration(proto::bytes_view data);
void encode(proto::writer& w, const configuration& c);
configuration decode_configuration(proto::reader& r);

std::string describe(const configuration& c);
std::string describe(const configuration_change& c);

} // namespace runnel::raft
