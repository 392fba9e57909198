// The simulator's invariant checks (see checker.h).
#include "raft/sim/checker.h"

#include <array>
#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <xxhash.h>

namespace runnel::raft::sim {

uint64_t chain_hash(uint64_t previous, const entry& e) {
    std::array<uint8_t, 25> header{};
    const uint64_t index = static_cast<uint64_t>(e.index.value());
    const uint64_t term = static_cast<uint64_t>(e.term.value());
    std::memcpy(header.data(), &previous, 8);
    std::memcpy(header.data() + 8, &index, 8);
    std::memcpy(header.data() + 16, &term, 8);
    header[24] = static_cast<uint8_t>(e.type);
    return XXH3_64bits_withSeed(header.data(), header.size(), XXH3_64bits(e.data.data(), e.data.size()));
}

void log_mirror::reset(log_index base, raft_term base_term, uint64_t base_chain) {
    base_ = base;
    base_term_ = base_term;
    base_chain_ = base_chain;
    entries_.clear();
}

void log_mirror::truncate(log_index from) {
    if (from <= base_) {
        entries_.clear();
        return;
    }
    const auto keep = static_cast<size_t>((from - base_.value()).value() - 1);
    if (keep < entries_.size()) {
        entries_.resize(keep);
    }
}

bool log_mirror::snapshot(log_index index, raft_term term, uint64_t chain) {
    // Holding the snapshot's last entry (same index and term) means holding
    // the same prefix; a different term is a divergent tail being replaced.
    if (auto known = chain_at(index); known && index > base_ && term_at(index) == term && *known != chain) {
        return false;
    }
    if (index >= last_index()) {
        reset(index, term, chain);
        return true;
    }
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>((index - base_.value()).value()));
    base_ = index;
    base_term_ = term;
    base_chain_ = chain;
    return true;
}

uint64_t log_mirror::append(const entry& e) {
    const uint64_t previous = entries_.empty() ? base_chain_ : entries_.back().second;
    const uint64_t chain = chain_hash(previous, e);
    entries_.emplace_back(e.term, chain);
    return chain;
}

std::optional<uint64_t> log_mirror::chain_at(log_index i) const {
    if (i == base_) {
        return base_chain_;
    }
    if (i < base_ || i > last_index()) {
        return std::nullopt;
    }
    return entries_[static_cast<size_t>((i - base_.value()).value() - 1)].second;
}

std::optional<raft_term> log_mirror::term_at(log_index i) const {
    if (i == base_) {
        return base_term_;
    }
    if (i < base_ || i > last_index()) {
        return std::nullopt;
    }
    return entries_[static_cast<size_t>((i - base_.value()).value() - 1)].first;
}

bool checker::fail(std::string what) {
    if (!failure_) {
        failure_ = std::move(what);
    }
    return false;
}

bool checker::on_log_entry(node_id node, log_index index, raft_term term, uint64_t chain) {
    const uint64_t key = static_cast<uint64_t>(index.value()) * 0x9e3779b97f4a7c15ULL ^
                         static_cast<uint64_t>(term.value()) * 0xc2b2ae3d27d4eb4fULL;
    auto [it, inserted] = entry_chains_.emplace(key, chain);
    if (!inserted && it->second != chain) {
        return fail(fmt::format("log matching (Raft §5.3): node {} has entry {}/{} with a prefix no other log with "
                                "that entry has",
                                node.value(), term.value(), index.value()));
    }
    return true;
}

bool checker::on_leader(node_id node, raft_term term, const log_mirror& log) {
    auto [it, inserted] = leaders_.emplace(term, node);
    if (!inserted) {
        if (it->second != node) {
            return fail(fmt::format("election safety (Raft §5.2): nodes {} and {} both lead term {}",
                                    it->second.value(), node.value(), term.value()));
        }
        return true;
    }
    // A new leader of term T must hold every entry committed in a term
    // before T, and by log matching it is enough to check the last one. (A
    // late-elected leader of an old term need not hold what later terms
    // committed.)
    log_index required;
    for (auto c = committed_by_term_.begin(); c != committed_by_term_.end() && c->first < term; ++c) {
        required = std::max(required, c->second);
    }
    if (required == log_index(0)) {
        return true;
    }
    const log_index at = required < log.base() ? log.base() : required;
    auto chain = log.chain_at(at);
    auto expected = committed_.find(at);
    if (!chain || (expected != committed_.end() && expected->second != *chain) ||
        (at == required && log.term_at(at) != committed_terms_[at])) {
        return fail(fmt::format("leader completeness (Raft §5.4): node {} leads term {} without committed entry {}",
                                node.value(), term.value(), required.value()));
    }
    return true;
}

bool checker::on_commit(node_id node, log_index index, raft_term term, std::optional<uint64_t> chain,
                        raft_term observer_term) {
    if (chain) {
        auto [it, inserted] = committed_.emplace(index, *chain);
        if (!inserted && it->second != *chain) {
            return fail(fmt::format("commit agreement: node {} committed a different entry {} than another node",
                                    node.value(), index.value()));
        }
    }
    auto [term_it, term_inserted] = committed_terms_.emplace(index, term);
    if (!term_inserted && term_it->second != term) {
        return fail(fmt::format("commit agreement: node {} committed entry {} with term {}, another with {}",
                                node.value(), index.value(), term.value(), term_it->second.value()));
    }
    if (index > committed_max_) {
        committed_max_ = index;
    }
    log_index& by_term = committed_by_term_[observer_term];
    by_term = std::max(by_term, index);
    return true;
}

void checker::on_committed_configuration(log_index index, const configuration& config) {
    if (index >= committed_config_index_) {
        committed_config_index_ = index;
        committed_config_ = config;
    }
}

bool checker::on_apply(node_id node, log_index index, uint64_t chain) {
    auto [it, inserted] = committed_.emplace(index, chain);
    if (!inserted && it->second != chain) {
        return fail(fmt::format("state machine safety (Raft §5.4.3): node {} applied a different entry at {}",
                                node.value(), index.value()));
    }
    return true;
}

void checker::on_read_issued(uint64_t request_id) { read_floor_[request_id] = committed_max_; }

bool checker::on_read_answered(node_id node, uint64_t request_id, log_index index) {
    auto it = read_floor_.find(request_id);
    if (it == read_floor_.end()) {
        return fail(fmt::format("read-index: node {} answered unknown read {}", node.value(), request_id));
    }
    ++reads_checked_;
    if (index < it->second) {
        return fail(fmt::format("read linearizability (dissertation §6.4): node {} answered read {} at index {}, but "
                                "{} was committed before it was asked",
                                node.value(), request_id, index.value(), it->second.value()));
    }
    if (index > committed_max_) {
        return fail(fmt::format("read-index: node {} answered read {} at uncommitted index {}", node.value(),
                                request_id, index.value()));
    }
    return true;
}

bool checker::check_durability(const std::map<node_id, const sim_store::image*>& durable) {
    if (committed_max_ == log_index(0) || committed_config_.voters.empty()) {
        return true;
    }
    const log_index at = committed_max_;
    const raft_term term = committed_terms_[at];
    size_t holders = 0;
    for (node_id voter : committed_config_.voters) {
        auto it = durable.find(voter);
        if (it == durable.end()) {
            continue;
        }
        const sim_store::image& img = *it->second;
        if (img.snapshot && img.snapshot->metadata.index >= at) {
            ++holders;
            continue;
        }
        if (!img.entries.empty()) {
            const log_index first = img.entries.front().index;
            if (first <= at && at <= img.entries.back().index &&
                img.entries[static_cast<size_t>((at - first.value()).value())].term == term) {
                ++holders;
            }
        }
    }
    // The holders must meet every majority of the configuration, so that
    // any future election needs one of them. That is a majority for an odd
    // number of voters; it can be one fewer while a change is in flight,
    // because a leader counts by the new configuration as soon as it is in
    // its log (dissertation §4.1) and the two majorities overlap.
    const size_t needed = committed_config_.voters.size() - committed_config_.quorum() + 1;
    if (holders < needed) {
        return fail(fmt::format("durability: committed entry {}/{} is on the disks of only {} of the voters {}",
                                term.value(), at.value(), holders, describe(committed_config_)));
    }
    return true;
}

} // namespace runnel::raft::sim
