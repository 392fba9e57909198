// Unit tests of the Raft state machine, each naming the part of the paper
// (or of Ongaro's dissertation) it checks. Clusters run in the harness:
// messages move only when the test delivers them, time only when it ticks.
#include <gtest/gtest.h>

#include "raft/tests/harness.h"

namespace runnel::raft {
namespace {

using testing::harness;
using testing::ids;
using testing::payload;
using testing::test_options;

size_t count_leaders(harness& h) {
    size_t n = 0;
    for (node_id id : h.ids()) {
        if (h.node(id).raft && h.raft(id).is_leader()) {
            ++n;
        }
    }
    return n;
}

std::vector<std::string> applied_payloads(harness& h, node_id id) {
    std::vector<std::string> out;
    for (const entry& e : h.node(id).applied) {
        if (e.type == entry_type::normal) {
            out.emplace_back(e.data.begin(), e.data.end());
        }
    }
    return out;
}

// Raft §5.2: a follower that hears nothing for an election timeout becomes a
// candidate, votes for itself, and wins with a majority in a new term.
TEST(consensus, election_timeout_elects_a_leader) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3})));
    h.stabilize();
    h.tick_election(node_id(1));
    EXPECT_EQ(h.raft(node_id(1)).role(), role::candidate);
    EXPECT_EQ(h.raft(node_id(1)).term(), raft_term(2));
    h.stabilize();
    EXPECT_TRUE(h.raft(node_id(1)).is_leader());
    EXPECT_EQ(count_leaders(h), 1u);
    for (node_id id : ids({2, 3})) {
        EXPECT_EQ(h.raft(id).leader(), node_id(1));
        EXPECT_EQ(h.raft(id).term(), raft_term(2));
    }
}

// Raft §5.2: the election timeout is randomized within [T, 2T).
TEST(consensus, election_timeouts_are_randomized) {
    std::set<int32_t> seen;
    for (uint64_t seed = 0; seed < 50; ++seed) {
        options o = test_options(ids({1, 2, 3}));
        o.id = node_id(1);
        o.random_seed = seed;
        consensus r(o, {});
        EXPECT_GE(r.randomized_election_timeout(), 10);
        EXPECT_LT(r.randomized_election_timeout(), 20);
        seen.insert(r.randomized_election_timeout());
    }
    EXPECT_GT(seen.size(), 3u);
}

// Raft §5.2: each server votes for at most one candidate in a term, and the
// vote is in the ready's hard state, so it is on disk before the answer leaves.
TEST(consensus, one_vote_per_term_persisted_before_the_answer) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3})));
    h.stabilize();
    h.raft(node_id(1)).campaign();
    h.raft(node_id(3)).campaign();
    h.process_ready(node_id(1));
    h.process_ready(node_id(3));
    h.deliver(node_id(2)); // 1's request first, then 3's, both for term 2
    ASSERT_TRUE(h.raft(node_id(2)).has_ready());
    ready rd = h.raft(node_id(2)).ready();
    ASSERT_TRUE(rd.hard_state.has_value());
    EXPECT_EQ(rd.hard_state->term, raft_term(2));
    EXPECT_EQ(rd.hard_state->voted_for, node_id(1));
    ASSERT_TRUE(persist(h.node(node_id(2)).store, rd).ok());
    output out = h.raft(node_id(2)).advance(std::move(rd));
    ASSERT_EQ(out.messages.size(), 2u);
    EXPECT_TRUE(out.messages[0].as<vote_response>().granted);
    EXPECT_EQ(out.messages[0].to, node_id(1));
    EXPECT_FALSE(out.messages[1].as<vote_response>().granted);
    EXPECT_EQ(out.messages[1].to, node_id(3));
}

// Raft §5.2: a vote survives a restart; the node does not vote again.
TEST(consensus, a_restarted_node_keeps_its_vote) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3})));
    h.stabilize();
    h.raft(node_id(1)).campaign();
    h.process_ready(node_id(1));
    h.deliver(node_id(2));
    h.process_ready(node_id(2));
    h.crash(node_id(2));
    h.restart(node_id(2));
    EXPECT_EQ(h.raft(node_id(2)).term(), raft_term(2));
    EXPECT_EQ(h.raft(node_id(2)).status().voted_for, node_id(1));
    h.raft(node_id(3)).campaign();
    h.process_ready(node_id(3));
    auto delivered = h.deliver(node_id(2));
    ASSERT_EQ(delivered.size(), 1u);
    auto r = h.process_ready(node_id(2));
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->second.messages.size(), 1u);
    EXPECT_FALSE(r->second.messages[0].as<vote_response>().granted);
}

// Raft §5.1: a vote request from an older term is refused with the current
// term, and the candidate steps down to it (the simulator found a livelock,
// seed 35180, when such requests were dropped without an answer).
TEST(consensus, a_stale_candidate_learns_the_current_term) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3})));
    h.stabilize();
    h.elect(node_id(1));
    h.isolate(node_id(2));
    h.tick_election(node_id(2)); // 2 at term 3, unheard
    h.process_ready(node_id(2));
    h.tick_election(node_id(2)); // term 4
    h.process_ready(node_id(2));
    h.heal();
    h.mailbox(node_id(1)).clear();
    h.mailbox(node_id(3)).clear();
    h.raft(node_id(3)).campaign(); // 3 campaigns for term 3 < 4
    h.process_ready(node_id(3));
    h.mailbox(node_id(1)).clear();
    h.deliver(node_id(2));
    auto answer = h.process_ready(node_id(2));
    ASSERT_TRUE(answer.has_value());
    ASSERT_EQ(answer->second.messages.size(), 1u);
    const message& m = answer->second.messages[0];
    EXPECT_FALSE(m.as<vote_response>().granted);
    EXPECT_EQ(m.term, raft_term(4));
    h.deliver(node_id(3));
    EXPECT_EQ(h.raft(node_id(3)).term(), raft_term(4));
    EXPECT_EQ(h.raft(node_id(3)).role(), role::follower);
}

// Raft §5.4.1: a candidate whose log is behind cannot collect votes.
TEST(consensus, election_restriction_rejects_a_stale_candidate) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3})));
    h.stabilize();
    h.elect(node_id(1));
    h.isolate(node_id(3));
    ASSERT_TRUE(h.raft(node_id(1)).propose(payload("a")).ok());
    h.stabilize();
    h.heal();
    // 3 missed "a"; 1 and 2 have it and must refuse 3.
    h.isolate(node_id(1));
    h.raft(node_id(3)).campaign();
    h.stabilize();
    EXPECT_FALSE(h.raft(node_id(3)).is_leader());
    EXPECT_EQ(h.raft(node_id(2)).status().voted_for, no_node);
    h.raft(node_id(2)).campaign();
    h.stabilize();
    EXPECT_TRUE(h.raft(node_id(2)).is_leader());
}

// Raft §5.3: entries proposed to the leader are replicated, committed and
// applied on every node, in order.
TEST(consensus, proposals_commit_and_apply_everywhere_in_order) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3})));
    h.stabilize();
    h.elect(node_id(2));
    for (const char* p : {"x", "y", "z"}) {
        auto r = h.raft(node_id(2)).propose(payload(p));
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r.term, raft_term(2));
    }
    h.stabilize();
    for (node_id id : ids({1, 2, 3})) {
        EXPECT_EQ(applied_payloads(h, id), (std::vector<std::string>{"x", "y", "z"})) << "node " << id;
        EXPECT_EQ(h.raft(id).log().committed(), log_index(5)); // config, no-op, x, y, z
    }
}

TEST(consensus, followers_refuse_proposals_and_name_the_leader) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3})));
    h.stabilize();
    h.elect(node_id(1));
    auto r = h.raft(node_id(3)).propose(payload("nope"));
    EXPECT_EQ(r.error, errc::not_leader);
    EXPECT_EQ(r.leader_hint, node_id(1));
}

// Raft §5.3 (Figure 7): a new leader brings followers with missing and with
// extra uncommitted entries into line with its own log.
TEST(consensus, leader_overwrites_divergent_follower_suffixes) {
    auto entries_with_terms = [](std::initializer_list<int64_t> terms) {
        std::vector<entry> out;
        int64_t index = 1;
        for (int64_t t : terms) {
            out.push_back(entry{raft_term(t), log_index(index++), entry_type::normal, payload(std::to_string(t))});
        }
        out[0].type = entry_type::configuration;
        out[0].data = encode(configuration{.voters = ids({1, 2, 3, 4, 5})});
        return out;
    };
    harness h;
    options o = test_options(ids({1, 2, 3, 4, 5}));
    h.add(ids({1, 2, 3, 4, 5}), o);
    // Replace each node with a recovered log (Figure 7's shapes, shortened).
    const std::vector<std::vector<entry>> logs = {
        entries_with_terms({1, 1, 1, 4, 4, 5, 5, 6, 6, 6}), // the leader-to-be, term 8
        entries_with_terms({1, 1, 1, 4, 4, 5, 5, 6, 6}),    // missing one
        entries_with_terms({1, 1, 1, 4}),                   // missing many
        entries_with_terms({1, 1, 1, 2, 2, 2, 3, 3, 3, 3}), // extra entries of old terms
        entries_with_terms({1, 1, 1, 4, 4, 4, 4}),          // extra entries of term 4
    };
    for (int32_t i = 0; i < 5; ++i) {
        node_id id(i + 1);
        h.crash(id);
        h.node(id).store = {};
        sim::sim_store& store = h.node(id).store;
        ASSERT_TRUE(store.save_hard_state(hard_state{raft_term(i == 0 ? 7 : 6), no_node}).ok());
        ASSERT_TRUE(store.append(logs[static_cast<size_t>(i)]).ok());
        ASSERT_TRUE(store.sync().ok());
        h.restart(id);
    }
    h.raft(node_id(1)).campaign();
    h.stabilize();
    ASSERT_TRUE(h.raft(node_id(1)).is_leader());
    EXPECT_EQ(h.raft(node_id(1)).term(), raft_term(8));
    const raft_log& leader_log = h.raft(node_id(1)).log();
    EXPECT_EQ(leader_log.committed(), log_index(11));
    for (node_id id : ids({2, 3, 4, 5})) {
        const raft_log& log = h.raft(id).log();
        ASSERT_EQ(log.last_index(), leader_log.last_index()) << "node " << id;
        for (log_index i(1); i <= log.last_index(); ++i) {
            EXPECT_EQ(log.at(i), leader_log.at(i)) << "node " << id << " index " << i;
        }
    }
}

// Raft §5.4.2 (Figure 8): a leader does not commit an entry of an earlier
// term by counting replicas, even once a majority holds it; it commits it
// only together with an entry of its own term.
TEST(consensus, entries_of_earlier_terms_are_not_committed_by_counting) {
    harness h;
    options o = test_options(ids({1, 2, 3}));
    o.append_entries_max = 1; // one entry per append, so each step is visible
    h.add(ids({1, 2, 3}), o);
    h.stabilize();
    h.elect(node_id(1)); // term 2: config(1) and no-op(2) committed everywhere
    h.cut(node_id(2), node_id(1)); // 1 will not hear 2's acknowledgement
    h.isolate(node_id(3));
    ASSERT_TRUE(h.raft(node_id(1)).propose(payload("old")).ok());
    h.stabilize();
    EXPECT_EQ(h.raft(node_id(2)).log().last_index(), log_index(3));
    EXPECT_EQ(h.raft(node_id(1)).log().committed(), log_index(2));
    h.heal();
    h.crash(node_id(1));
    h.isolate(node_id(1));
    // 2 wins term 3 with 3's vote; its log ends with "old" (term 2) at index 3.
    h.raft(node_id(2)).campaign();
    h.process_ready(node_id(2));
    h.deliver(node_id(3));
    h.process_ready(node_id(3));
    h.deliver(node_id(2));
    ASSERT_TRUE(h.raft(node_id(2)).is_leader());
    // Probe 3 at prev=3: rejected, back off to 2, then send "old" alone.
    h.process_ready(node_id(2));
    h.deliver(node_id(3));
    h.process_ready(node_id(3));
    h.deliver(node_id(2));
    h.process_ready(node_id(2));
    h.deliver(node_id(3));
    h.process_ready(node_id(3));
    h.deliver(node_id(2));
    ASSERT_EQ(h.raft(node_id(3)).log().last_index(), log_index(3));
    ASSERT_EQ(h.raft(node_id(2)).progresses().at(node_id(3)).match, log_index(3));
    // "old" is now on 2 and 3, a majority, but it is from term 2.
    EXPECT_EQ(h.raft(node_id(2)).log().committed(), log_index(2));
    h.stabilize();
    EXPECT_EQ(h.raft(node_id(2)).log().committed(), log_index(4));
    EXPECT_EQ(applied_payloads(h, node_id(3)), (std::vector<std::string>{"old"}));
}

// Dissertation §9.6: with pre-vote, a partitioned node does not raise its
// term, so rejoining does not depose the leader.
TEST(consensus, pre_vote_keeps_a_partitioned_node_from_raising_its_term) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3}), true, false));
    h.stabilize();
    h.elect(node_id(1));
    h.isolate(node_id(3));
    for (int i = 0; i < 5; ++i) {
        h.tick_election(node_id(3));
        h.stabilize();
    }
    EXPECT_EQ(h.raft(node_id(3)).term(), raft_term(2));
    EXPECT_EQ(h.raft(node_id(3)).role(), role::pre_candidate);
    h.heal();
    h.tick(node_id(1));
    h.stabilize();
    EXPECT_TRUE(h.raft(node_id(1)).is_leader());
    EXPECT_EQ(h.raft(node_id(1)).term(), raft_term(2));
    EXPECT_EQ(h.raft(node_id(3)).role(), role::follower);
}

// Without pre-vote the same partition forces a new election: the contrast
// shows what pre-vote is for.
TEST(consensus, without_pre_vote_a_rejoining_node_deposes_the_leader) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3})));
    h.stabilize();
    h.elect(node_id(1));
    h.isolate(node_id(3));
    h.tick_election(node_id(3));
    h.stabilize();
    EXPECT_EQ(h.raft(node_id(3)).term(), raft_term(3));
    h.heal();
    h.tick(node_id(1));
    h.stabilize();
    EXPECT_FALSE(h.raft(node_id(1)).is_leader());
    EXPECT_EQ(h.raft(node_id(1)).term(), raft_term(3));
}

// Dissertation §6.2: a leader that cannot reach a majority for an election
// timeout steps down.
TEST(consensus, check_quorum_makes_an_isolated_leader_step_down) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3}), true, true));
    h.stabilize();
    h.elect(node_id(1));
    h.isolate(node_id(1));
    for (int i = 0; i < 25 && h.raft(node_id(1)).is_leader(); ++i) {
        h.tick(node_id(1));
        h.stabilize();
    }
    EXPECT_EQ(h.raft(node_id(1)).role(), role::follower);
    EXPECT_EQ(h.raft(node_id(1)).term(), raft_term(2));
}

TEST(consensus, check_quorum_keeps_a_connected_leader) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3}), true, true));
    h.stabilize();
    h.elect(node_id(1));
    h.isolate(node_id(3));
    for (int i = 0; i < 50; ++i) {
        h.tick(node_id(1));
        h.stabilize();
    }
    EXPECT_TRUE(h.raft(node_id(1)).is_leader());
}

// Dissertation §4.2.3: followers that hear from their leader ignore vote
// requests, so a node that rejoins with a higher term cannot disrupt.
TEST(consensus, followers_in_lease_ignore_vote_requests) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3}), false, true));
    h.stabilize();
    h.elect(node_id(1));
    h.raft(node_id(3)).campaign(); // term 3, no pre-vote
    h.process_ready(node_id(3));
    h.deliver(node_id(2));
    EXPECT_EQ(h.raft(node_id(2)).term(), raft_term(2));
    EXPECT_FALSE(h.raft(node_id(2)).has_ready()); // no answer at all
}

// Dissertation §6.4: a read-index read is answered only after a heartbeat
// round confirms leadership, with the commit index at the time of the read.
TEST(consensus, read_index_waits_for_a_heartbeat_round) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3})));
    h.stabilize();
    h.elect(node_id(1));
    ASSERT_TRUE(h.raft(node_id(1)).propose(payload("v")).ok());
    h.stabilize();
    ASSERT_EQ(h.raft(node_id(1)).read_index(7), errc::ok);
    auto r = h.process_ready(node_id(1));
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->second.read_states.empty());
    ASSERT_FALSE(r->second.messages.empty());
    EXPECT_TRUE(r->second.messages[0].is<heartbeat_request>());
    h.stabilize();
    ASSERT_EQ(h.node(node_id(1)).reads.size(), 1u);
    EXPECT_EQ(h.node(node_id(1)).reads[0].request_id, 7u);
    EXPECT_EQ(h.node(node_id(1)).reads[0].index, log_index(3));
}

TEST(consensus, read_index_from_a_follower_goes_through_the_leader) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3})));
    h.stabilize();
    h.elect(node_id(1));
    ASSERT_EQ(h.raft(node_id(3)).read_index(9), errc::ok);
    h.stabilize();
    ASSERT_EQ(h.node(node_id(3)).reads.size(), 1u);
    EXPECT_EQ(h.node(node_id(3)).reads[0].index, h.raft(node_id(1)).log().committed());
}

// A leader cut off from the majority never answers a read: it cannot prove
// it is still the leader.
TEST(consensus, read_index_on_a_partitioned_leader_is_never_answered) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3})));
    h.stabilize();
    h.elect(node_id(1));
    h.isolate(node_id(1));
    ASSERT_EQ(h.raft(node_id(1)).read_index(1), errc::ok);
    for (int i = 0; i < 30; ++i) {
        h.tick(node_id(1));
        h.stabilize();
    }
    EXPECT_TRUE(h.node(node_id(1)).reads.empty());
}

// Dissertation §6.4 step 1: a new leader answers reads only once it has
// committed an entry of its own term.
TEST(consensus, read_index_waits_for_the_first_commit_of_the_term) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3})));
    h.stabilize();
    h.raft(node_id(1)).campaign();
    h.process_ready(node_id(1));
    h.deliver(node_id(2));
    h.process_ready(node_id(2));
    h.deliver(node_id(1));
    ASSERT_TRUE(h.raft(node_id(1)).is_leader());
    ASSERT_EQ(h.raft(node_id(1)).read_index(5), errc::ok);
    h.stabilize();
    ASSERT_EQ(h.node(node_id(1)).reads.size(), 1u);
    EXPECT_EQ(h.node(node_id(1)).reads[0].index, log_index(2)); // the no-op
}

// Raft §7: a follower that is behind the leader's snapshot gets it whole.
TEST(consensus, lagging_follower_receives_a_snapshot) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3})));
    h.stabilize();
    h.elect(node_id(1));
    h.isolate(node_id(3));
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(h.raft(node_id(1)).propose(payload("e" + std::to_string(i))).ok());
    }
    h.stabilize();
    const log_index applied = h.raft(node_id(1)).log().applied();
    EXPECT_EQ(applied, log_index(7));
    h.raft(node_id(1)).compact(applied, payload("state@7"));
    h.stabilize();
    EXPECT_EQ(h.raft(node_id(1)).log().first_index(), log_index(8));
    h.heal();
    h.tick(node_id(1));
    h.stabilize();
    {
        auto& n3 = h.node(node_id(3));
        ASSERT_TRUE(n3.loaded.has_value());
        EXPECT_EQ(n3.loaded->index, log_index(7));
        EXPECT_EQ(h.raft(node_id(3)).log().committed(), log_index(7));
        ASSERT_TRUE(h.raft(node_id(3)).latest_snapshot().has_value());
        EXPECT_EQ(h.raft(node_id(3)).latest_snapshot()->data, payload("state@7"));
    }
    // Replication continues from the snapshot.
    ASSERT_TRUE(h.raft(node_id(1)).propose(payload("after")).ok());
    h.stabilize();
    EXPECT_EQ(applied_payloads(h, node_id(3)), (std::vector<std::string>{"after"}));
    // And the snapshot survives a restart of the follower.
    h.crash(node_id(3));
    h.restart(node_id(3));
    EXPECT_EQ(h.raft(node_id(3)).log().first_index(), log_index(8));
    EXPECT_EQ(h.raft(node_id(3)).log().last_index(), log_index(8));
}

// Dissertation §4.1: membership changes one voter at a time; the new
// configuration is used as soon as it is in the log.
TEST(consensus, add_a_learner_then_promote_it) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3})));
    options joiner = test_options({});
    h.add(ids({4}), joiner);
    h.stabilize();
    h.elect(node_id(1));
    auto r = h.raft(node_id(1)).propose_change({change_kind::add_learner, node_id(4)});
    ASSERT_TRUE(r.ok()) << to_string(r.error);
    EXPECT_TRUE(h.raft(node_id(1)).config().is_learner(node_id(4)));
    // A second change waits for the first to commit.
    EXPECT_EQ(h.raft(node_id(1)).propose_change({change_kind::add_voter, node_id(4)}).error,
              errc::configuration_change_pending);
    h.stabilize();
    EXPECT_TRUE(h.raft(node_id(4)).config().is_learner(node_id(4)));
    EXPECT_EQ(h.raft(node_id(4)).log().last_index(), h.raft(node_id(1)).log().last_index());
    ASSERT_TRUE(h.raft(node_id(1)).propose_change({change_kind::add_voter, node_id(4)}).ok());
    h.stabilize();
    for (node_id id : ids({1, 2, 3, 4})) {
        EXPECT_EQ(h.raft(id).config().voters, ids({1, 2, 3, 4})) << "node " << id;
    }
    // With four voters a majority is three: two nodes down stop commits.
    h.isolate(node_id(3));
    h.isolate(node_id(4));
    ASSERT_TRUE(h.raft(node_id(1)).propose(payload("needs three")).ok());
    h.stabilize();
    EXPECT_TRUE(applied_payloads(h, node_id(1)).empty());
    h.heal();
    h.tick(node_id(1));
    h.stabilize();
    EXPECT_EQ(applied_payloads(h, node_id(4)), (std::vector<std::string>{"needs three"}));
}

TEST(consensus, illegal_changes_are_refused) {
    harness h;
    h.add(ids({1, 2}), test_options(ids({1, 2})));
    h.stabilize();
    h.elect(node_id(1));
    EXPECT_EQ(h.raft(node_id(1)).propose_change({change_kind::add_voter, node_id(2)}).error,
              errc::configuration_change_invalid);
    EXPECT_EQ(h.raft(node_id(1)).propose_change({change_kind::remove_learner, node_id(9)}).error,
              errc::configuration_change_invalid);
    ASSERT_TRUE(h.raft(node_id(1)).propose_change({change_kind::remove_voter, node_id(2)}).ok());
    h.stabilize();
    EXPECT_EQ(h.raft(node_id(1)).propose_change({change_kind::remove_voter, node_id(1)}).error,
              errc::configuration_change_invalid); // never remove the last voter
}

// Dissertation §4.2.2: a leader that removes itself keeps leading until the
// change commits, without counting itself, then steps down.
TEST(consensus, a_leader_removing_itself_steps_down_after_commit) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3})));
    h.stabilize();
    h.elect(node_id(1));
    ASSERT_TRUE(h.raft(node_id(1)).propose_change({change_kind::remove_voter, node_id(1)}).ok());
    h.stabilize();
    EXPECT_EQ(h.raft(node_id(1)).role(), role::follower);
    EXPECT_EQ(h.raft(node_id(2)).config().voters, ids({2, 3}));
    // The two remaining voters elect a leader among themselves; 1 never campaigns.
    for (int i = 0; i < 40 && !h.leader(); ++i) {
        for (node_id id : ids({1, 2, 3})) {
            h.tick(id);
        }
        h.stabilize();
    }
    ASSERT_TRUE(h.leader().has_value());
    EXPECT_NE(*h.leader(), node_id(1));
}

// Dissertation §3.10: a leader hands over to a caught-up voter.
TEST(consensus, leadership_transfer_to_a_caught_up_follower) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3}), true, true));
    h.stabilize();
    h.elect(node_id(1));
    ASSERT_EQ(h.raft(node_id(1)).transfer_leadership(node_id(3)), errc::ok);
    EXPECT_EQ(h.raft(node_id(1)).propose(payload("held")).error, errc::leadership_transfer_pending);
    h.stabilize();
    EXPECT_TRUE(h.raft(node_id(3)).is_leader());
    EXPECT_EQ(h.raft(node_id(3)).term(), raft_term(3));
    EXPECT_EQ(h.raft(node_id(1)).role(), role::follower);
    EXPECT_EQ(h.raft(node_id(1)).transfer_leadership(node_id(2)), errc::not_leader);
}

// The ready/advance contract: nothing a ready asks to persist is said to
// anyone before advance, and a crash before advance loses nothing acknowledged.
TEST(consensus, messages_only_leave_through_advance) {
    harness h;
    h.add(ids({1, 2, 3}), test_options(ids({1, 2, 3})));
    h.stabilize();
    h.raft(node_id(1)).campaign();
    ASSERT_TRUE(h.raft(node_id(1)).has_ready());
    ready rd = h.raft(node_id(1)).ready();
    ASSERT_TRUE(rd.hard_state.has_value());
    EXPECT_EQ(rd.hard_state->voted_for, node_id(1));
    // Crash before persisting: the campaign never happened as far as anyone knows.
    h.crash(node_id(1));
    h.restart(node_id(1));
    EXPECT_EQ(h.raft(node_id(1)).term(), raft_term(1));
    EXPECT_TRUE(h.mailbox(node_id(2)).empty());
}

TEST(consensus, single_node_cluster_commits_alone) {
    harness h;
    h.add(ids({1}), test_options(ids({1})));
    h.stabilize();
    h.tick_election(node_id(1));
    h.stabilize();
    ASSERT_TRUE(h.raft(node_id(1)).is_leader());
    ASSERT_TRUE(h.raft(node_id(1)).propose(payload("solo")).ok());
    h.stabilize();
    EXPECT_EQ(applied_payloads(h, node_id(1)), (std::vector<std::string>{"solo"}));
    ASSERT_EQ(h.raft(node_id(1)).read_index(3), errc::ok);
    h.stabilize();
    ASSERT_EQ(h.node(node_id(1)).reads.size(), 1u);
}

TEST(consensus, uncommitted_proposals_are_bounded) {
    harness h;
    options o = test_options(ids({1, 2, 3}));
    o.uncommitted_entries_max = 4;
    h.add(ids({1, 2, 3}), o);
    h.stabilize();
    h.elect(node_id(1));
    h.isolate(node_id(1));
    int accepted = 0;
    for (int i = 0; i < 10; ++i) {
        accepted += h.raft(node_id(1)).propose(payload("p")).ok() ? 1 : 0;
    }
    EXPECT_EQ(accepted, 4);
    EXPECT_EQ(h.raft(node_id(1)).propose(payload("p")).error, errc::busy);
}

} // namespace
} // namespace runnel::raft
