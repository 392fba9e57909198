// Membership rules and the binary form of a configuration entry.
#include "raft/configuration.h"

#include <algorithm>

#include <fmt/format.h>

namespace runnel::raft {

namespace {

bool sorted_unique(const std::vector<node_id>& ids) {
    return std::adjacent_find(ids.begin(), ids.end(), [](node_id a, node_id b) { return a >= b; }) == ids.end();
}

void insert_sorted(std::vector<node_id>& ids, node_id id) { ids.insert(std::lower_bound(ids.begin(), ids.end(), id), id); }

void erase_id(std::vector<node_id>& ids, node_id id) { ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end()); }

std::string join(const std::vector<node_id>& ids) {
    std::string out;
    for (node_id id : ids) {
        out += out.empty() ? "" : ",";
        out += std::to_string(id.value());
    }
    return out;
}

} // namespace

bool configuration::is_voter(node_id id) const { return std::binary_search(voters.begin(), voters.end(), id); }

bool configuration::is_learner(node_id id) const { return std::binary_search(learners.begin(), learners.end(), id); }

bool configuration::valid() const {
    if (voters.size() + learners.size() > configuration_members_max) {
        return false;
    }
    if (!sorted_unique(voters) || !sorted_unique(learners)) {
        return false;
    }
    return std::none_of(learners.begin(), learners.end(), [this](node_id id) { return is_voter(id); });
}

std::optional<configuration> apply_change(const configuration& from, const configuration_change& change) {
    configuration to = from;
    const node_id id = change.node;
    if (id.value() < 0) {
        return std::nullopt;
    }
    switch (change.kind) {
    case change_kind::add_voter:
        if (from.is_voter(id)) {
            return std::nullopt;
        }
        erase_id(to.learners, id); // promotion of a learner, or a brand-new voter
        insert_sorted(to.voters, id);
        break;
    case change_kind::remove_voter:
        if (!from.is_voter(id) || from.voters.size() == 1) {
            return std::nullopt;
        }
        erase_id(to.voters, id);
        break;
    case change_kind::add_learner:
        if (from.contains(id)) {
            return std::nullopt;
        }
        insert_sorted(to.learners, id);
        break;
    case change_kind::remove_learner:
        if (!from.is_learner(id)) {
            return std::nullopt;
        }
        erase_id(to.learners, id);
        break;
    }
    if (!to.valid()) {
        return std::nullopt;
    }
    return to;
}

void encode(proto::writer& w, const configuration& c) {
    w.write_array_length(static_cast<int32_t>(c.voters.size()));
    for (node_id id : c.voters) {
        w.write_int32(id.value());
    }
    w.write_array_length(static_cast<int32_t>(c.learners.size()));
    for (node_id id : c.learners) {
        w.write_int32(id.value());
    }
}

configuration decode_configuration(proto::reader& r) {
    configuration c;
    for (auto* ids : {&c.voters, &c.learners}) {
        const int32_t n = r.read_array_length();
        if (n < 0 || static_cast<size_t>(n) > configuration_members_max) {
            r.fail(proto::decode_error::bad_length);
            return {};
        }
        for (int32_t i = 0; i < n && r.ok(); ++i) {
            ids->push_back(node_id(r.read_int32()));
        }
    }
    if (r.ok() && !c.valid()) {
        r.fail(proto::decode_error::bad_length);
    }
    return c;
}

proto::bytes encode(const configuration& c) {
    proto::writer w;
    encode(w, c);
    return w.release();
}

std::optional<configuration> decode_configuration(proto::bytes_view data) {
    proto::reader r(data);
    configuration c = decode_configuration(r);
    r.expect_end();
    if (!r.ok()) {
        return std::nullopt;
    }
    return c;
}

std::string describe(const configuration& c) {
    std::string out = fmt::format("voters=({})", join(c.voters));
    if (!c.learners.empty()) {
        out += fmt::format(" learners=({})", join(c.learners));
    }
    return out;
}

std::string describe(const configuration_change& c) {
    constexpr const char* names[] = {"add-voter", "remove-voter", "add-learner", "remove-learner"};
    return fmt::format("{} {}", names[static_cast<size_t>(c.kind)], c.node.value());
}

} // namespace runnel::raft
