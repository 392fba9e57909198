// Interaction tests: each file in raft/tests/testdata/ is a script of steps
// on a small cluster with the exact trace they must produce (the readies
// handled, the messages delivered, the role changes). Each file names the
// part of the Raft paper or dissertation it walks through.
#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "raft/tests/datadriven.h"
#include "raft/tests/harness.h"

namespace runnel::raft::testing {
namespace {

std::vector<node_id> parse_ids(const std::string& text) {
    std::vector<node_id> out;
    std::string digits;
    for (char c : text + ",") {
        if (c >= '0' && c <= '9') {
            digits += c;
        } else if (!digits.empty()) {
            out.push_back(node_id(std::stoi(digits)));
            digits.clear();
        }
    }
    return out;
}

std::string describe_ready(node_id id, const ready& rd, const output& out) {
    std::string s = fmt::format("> {} handling ready\n", id.value());
    if (rd.hard_state) {
        s += fmt::format("  hard state: term={} vote={}\n", rd.hard_state->term.value(),
                         rd.hard_state->voted_for.value());
    }
    if (rd.truncate_from) {
        s += fmt::format("  truncate log from {}\n", rd.truncate_from->value());
    }
    if (rd.snapshot) {
        s += fmt::format("  snapshot: ({},{}) {}\n", rd.snapshot->metadata.term.value(),
                         rd.snapshot->metadata.index.value(), describe(rd.snapshot->metadata.config));
    }
    for (const entry& e : rd.entries) {
        s += "  append " + describe(e) + "\n";
    }
    for (const message& m : out.messages) {
        s += "  send " + describe(m) + "\n";
    }
    if (out.snapshot) {
        s += fmt::format("  load snapshot ({},{})\n", out.snapshot->metadata.term.value(),
                         out.snapshot->metadata.index.value());
    }
    for (const entry& e : out.committed_entries) {
        s += "  apply " + describe(e) + "\n";
    }
    for (const read_state& r : out.read_states) {
        s += fmt::format("  read {} ready at index {}\n", r.request_id, r.index.value());
    }
    return s;
}

class interaction_env {
public:
    std::string run(const test_command& c) {
        const auto before = snapshot_states();
        std::string out = dispatch(c);
        out += state_changes(before);
        return out.empty() ? "ok\n" : out;
    }

private:
    struct node_state {
        role r;
        raft_term term;
        node_id leader;
        bool up;
    };

    std::map<node_id, node_state> snapshot_states() {
        std::map<node_id, node_state> out;
        for (node_id id : h_.ids()) {
            auto& n = h_.node(id);
            out[id] = n.raft ? node_state{n.raft->role(), n.raft->term(), n.raft->leader(), true}
                             : node_state{role::follower, raft_term(0), no_node, false};
        }
        return out;
    }

    std::string state_changes(const std::map<node_id, node_state>& before) {
        std::string out;
        for (const auto& [id, now] : snapshot_states()) {
            auto it = before.find(id);
            if (!now.up || it == before.end() || !it->second.up ||
                (it->second.r == now.r && it->second.term == now.term)) {
                continue;
            }
            out += fmt::format("~ {} is {} at term {}\n", id.value(), to_string(now.r), now.term.value());
        }
        return out;
    }

    node_id id_arg(const test_command& c, size_t i = 0) {
        if (i >= c.args.size()) {
            throw std::runtime_error("missing node id in: " + c.text);
        }
        return node_id(std::stoi(c.args[i]));
    }

    std::string dispatch(const test_command& c) {
        if (c.name == "add-nodes") {
            return add_nodes(c);
        }
        if (c.name == "campaign") {
            h_.raft(id_arg(c)).campaign();
            return "";
        }
        if (c.name == "tick-election") {
            h_.tick_election(id_arg(c));
            return "";
        }
        if (c.name == "tick-heartbeat") {
            consensus& r = h_.raft(id_arg(c));
            h_.tick(id_arg(c), r.opts().heartbeat_ticks);
            return "";
        }
        if (c.name == "tick") {
            h_.tick(id_arg(c), std::stoi(c.get("times", "1")));
            return "";
        }
        if (c.name == "process-ready") {
            std::string out;
            for (size_t i = 0; i < c.args.size(); ++i) {
                out += process_ready(id_arg(c, i));
            }
            return out;
        }
        if (c.name == "deliver-msgs") {
            const bool drop = std::find(c.args.begin(), c.args.end(), "drop") != c.args.end();
            std::string out;
            for (const std::string& arg : c.args) {
                if (arg != "drop") {
                    out += deliver(node_id(std::stoi(arg)), drop);
                }
            }
            return out;
        }
        if (c.name == "stabilize") {
            return stabilize();
        }
        if (c.name == "propose") {
            auto r = h_.raft(id_arg(c)).propose(payload(c.args.at(1)));
            return r.ok() ? fmt::format("ok {}/{}\n", r.term.value(), r.index.value())
                          : fmt::format("error: {}\n", to_string(r.error));
        }
        if (c.name == "propose-conf-change") {
            return propose_change(c);
        }
        if (c.name == "read-index") {
            return fmt::format("{}\n", to_string(h_.raft(id_arg(c)).read_index(std::stoull(c.args.at(1)))));
        }
        if (c.name == "transfer-leadership") {
            return fmt::format("{}\n", to_string(h_.raft(id_arg(c)).transfer_leadership(node_id(std::stoi(c.get("to", "0"))))));
        }
        if (c.name == "compact") {
            const node_id id = id_arg(c);
            const log_index index(std::stoll(c.args.at(1)));
            h_.raft(id).compact(index, payload(fmt::format("state@{}", index.value())));
            return "";
        }
        if (c.name == "isolate") {
            h_.isolate(id_arg(c));
            return "";
        }
        if (c.name == "cut") {
            h_.cut(id_arg(c, 0), id_arg(c, 1));
            return "";
        }
        if (c.name == "heal") {
            h_.heal();
            return "";
        }
        if (c.name == "crash") {
            h_.crash(id_arg(c));
            return "";
        }
        if (c.name == "restart") {
            h_.restart(id_arg(c));
            return describe_status(id_arg(c));
        }
        if (c.name == "status") {
            return describe_status(id_arg(c));
        }
        if (c.name == "raft-log") {
            return describe_log(id_arg(c));
        }
        if (c.name == "raft-state") {
            std::string out;
            for (node_id id : h_.ids()) {
                out += describe_state(id);
            }
            return out;
        }
        throw std::runtime_error("unknown command: " + c.text);
    }

    std::string add_nodes(const test_command& c) {
        const int count = std::stoi(c.args.at(0));
        std::vector<node_id> ids;
        for (int i = 0; i < count; ++i) {
            ids.push_back(node_id(next_id_++));
        }
        options o = test_options(c.has("voters") ? parse_ids(c.get("voters", "")) : ids, c.get("pre-vote", "false") == "true",
                                 c.get("check-quorum", "false") == "true");
        if (std::find(c.args.begin(), c.args.end(), "empty") != c.args.end()) {
            o.initial_configuration = {};
        }
        if (c.has("heartbeat")) {
            o.heartbeat_ticks = std::stoi(c.get("heartbeat", "1"));
        }
        if (c.has("append-entries-max")) {
            o.append_entries_max = std::stoul(c.get("append-entries-max", "1"));
        }
        h_.add(ids, o);
        std::string out;
        for (node_id id : ids) {
            out += describe_state(id);
        }
        return out;
    }

    std::string propose_change(const test_command& c) {
        configuration_change change;
        static const std::map<std::string, change_kind> kinds = {{"add-voter", change_kind::add_voter},
                                                                 {"remove-voter", change_kind::remove_voter},
                                                                 {"add-learner", change_kind::add_learner},
                                                                 {"remove-learner", change_kind::remove_learner}};
        for (const auto& [key, value] : c.options) {
            change = configuration_change{kinds.at(key), node_id(std::stoi(value))};
        }
        auto r = h_.raft(id_arg(c)).propose_change(change);
        return r.ok() ? fmt::format("ok {}/{}\n", r.term.value(), r.index.value())
                      : fmt::format("error: {}\n", to_string(r.error));
    }

    std::string process_ready(node_id id) {
        auto handled = h_.process_ready(id);
        if (!handled) {
            return "";
        }
        const output& out = handled->second;
        if (handled->first.empty() && out.messages.empty() && !out.snapshot && out.committed_entries.empty() &&
            out.read_states.empty()) {
            return "";
        }
        return describe_ready(id, handled->first, handled->second);
    }

    std::string deliver(node_id id, bool drop) {
        if (h_.mailbox(id).empty()) {
            return "";
        }
        std::string out;
        if (drop) {
            out = fmt::format("> {} dropping messages\n", id.value());
            for (const message& m : h_.mailbox(id)) {
                out += "  " + describe(m) + "\n";
            }
            h_.mailbox(id).clear();
            return out;
        }
        if (!h_.node(id).raft) {
            out = fmt::format("> {} is down, its messages are lost\n", id.value());
            for (const message& m : h_.mailbox(id)) {
                out += "  " + describe(m) + "\n";
            }
            h_.mailbox(id).clear();
            return out;
        }
        out = fmt::format("> {} receiving messages\n", id.value());
        for (const message& m : h_.deliver(id)) {
            out += "  " + describe(m) + "\n";
        }
        return out;
    }

    std::string stabilize() {
        std::string out;
        for (int round = 0; round < 100; ++round) {
            std::string step;
            for (node_id id : h_.ids()) {
                step += process_ready(id);
            }
            for (node_id id : h_.ids()) {
                step += deliver(id, false);
            }
            if (step.empty()) {
                return out;
            }
            out += step;
        }
        return out + "did not settle within 100 rounds\n";
    }

    std::string describe_state(node_id id) {
        auto& n = h_.node(id);
        if (!n.raft) {
            return fmt::format("{}: down\n", id.value());
        }
        const consensus& r = *n.raft;
        return fmt::format("{}: {} term={} leader={} commit={} last={} {}\n", id.value(), to_string(r.role()),
                           r.term().value(), r.leader().value(), r.log().committed().value(),
                           r.log().last_index().value(), describe(r.config()));
    }

    std::string describe_status(node_id id) {
        std::string out = describe_state(id);
        auto& n = h_.node(id);
        if (n.raft && n.raft->is_leader()) {
            for (const auto& [peer, pr] : n.raft->progresses()) {
                out += peer == id ? fmt::format("  {}: self match={}\n", peer.value(), pr.match.value())
                                  : fmt::format("  {}: {}\n", peer.value(), pr.describe());
            }
        }
        return out;
    }

    std::string describe_log(node_id id) {
        const raft_log& log = h_.raft(id).log();
        std::string out;
        if (log.base().index > log_index(0)) {
            out += fmt::format("snapshot ({},{})\n", log.base().term.value(), log.base().index.value());
        }
        for (log_index i = log.first_index(); i <= log.last_index(); ++i) {
            out += describe(log.at(i)) + "\n";
        }
        return out.empty() ? "empty\n" : out;
    }

    harness h_;
    int32_t next_id_ = 1;
};

class interaction : public ::testing::TestWithParam<std::string> {};

TEST_P(interaction, trace_matches) {
    interaction_env env;
    run_data_driven(GetParam(), [&env](const test_command& c) { return env.run(c); });
}

std::vector<std::string> testdata_files() {
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(RAFT_TESTDATA)) {
        if (e.path().extension() == ".txt") {
            files.push_back(e.path().string());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

INSTANTIATE_TEST_SUITE_P(testdata, interaction, ::testing::ValuesIn(testdata_files()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             return std::filesystem::path(info.param).stem().string();
                         });

} // namespace
} // namespace runnel::raft::testing
