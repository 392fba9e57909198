// The simulated disk (see sim_store.h).
#include "raft/sim/sim_store.h"

#include <algorithm>

#include "raft/assert.h"

namespace runnel::raft::sim {

result<recovered_state> sim_store::load() {
    recovered_state out;
    out.hard_state = current_.hard_state.value_or(raft::hard_state{});
    out.snapshot = current_.snapshot;
    out.entries = current_.snapshot ? recover_entries(current_.snapshot->metadata, current_.entries) : current_.entries;
    return out;
}

bool sim_store::write_fails() {
    if (fault_rng_ != nullptr && write_fault_per_million_ > 0 && fault_rng_->chance(write_fault_per_million_)) {
        ++failed_writes_;
        return true;
    }
    return false;
}

void sim_store::write(op o) {
    apply(current_, o);
    pending_.push_back(std::move(o));
}

result<void> sim_store::save_hard_state(const hard_state& state) {
    if (write_fails()) {
        return error{"simulated write failure (hard state)"};
    }
    write(state);
    return {};
}

result<void> sim_store::save_snapshot(const snapshot& snap) {
    if (write_fails()) {
        return error{"simulated write failure (snapshot)"};
    }
    write(snap);
    return {};
}

result<void> sim_store::truncate_suffix(log_index from) {
    if (write_fails()) {
        return error{"simulated write failure (truncate)"};
    }
    write(truncate_op{from});
    return {};
}

result<void> sim_store::append(std::span<const entry> entries) {
    for (const entry& e : entries) {
        // A failure part-way leaves the entries before it written, like a
        // short write to a real log file.
        if (write_fails()) {
            return error{"simulated write failure (append)"};
        }
        write(e);
    }
    return {};
}

result<std::vector<entry>> sim_store::read(log_index from, log_index to, size_t bytes_max) {
    std::vector<entry> out;
    size_t bytes = 0;
    for (const entry& e : current_.entries) {
        if (e.index < from || e.index > to) {
            continue;
        }
        bytes += e.data.size();
        if (!out.empty() && bytes > bytes_max) {
            break;
        }
        out.push_back(e);
    }
    return out;
}

result<void> sim_store::sync() {
    if (write_fails()) {
        return error{"simulated sync failure"};
    }
    for (const op& o : pending_) {
        apply(durable_, o);
    }
    pending_.clear();
    ++syncs_;
    return {};
}

void sim_store::set_write_faults(uint32_t per_million, random_source* rng) {
    write_fault_per_million_ = per_million;
    fault_rng_ = rng;
}

void sim_store::crash(random_source& rng) {
    const size_t kept = static_cast<size_t>(rng.below(pending_.size() + 1));
    for (size_t i = 0; i < kept; ++i) {
        apply(durable_, pending_[i]);
    }
    pending_.clear();
    current_ = durable_;
}

void sim_store::apply(image& img, const op& o) {
    if (const auto* hs = std::get_if<raft::hard_state>(&o)) {
        img.hard_state = *hs;
    } else if (const auto* snap = std::get_if<raft::snapshot>(&o)) {
        const log_index index = snap->metadata.index;
        std::erase_if(img.entries, [index](const entry& e) { return e.index <= index; });
        img.snapshot = *snap;
    } else if (const auto* t = std::get_if<truncate_op>(&o)) {
        std::erase_if(img.entries, [from = t->from](const entry& e) { return e.index >= from; });
    } else {
        const entry& e = std::get<entry>(o);
        const log_index expected = !img.entries.empty() ? img.entries.back().index + 1
                                   : img.snapshot      ? img.snapshot->metadata.index + 1
                                                       : log_index(1);
        raft_assert(e.index == expected, "store append of {} where {} was expected", e.index.value(),
                    expected.value());
        img.entries.push_back(e);
    }
}

} // namespace runnel::raft::sim
