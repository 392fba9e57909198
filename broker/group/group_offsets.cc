// The group's records and offsets: store requests and their outcomes, the
// group's record, committed offsets and their retention, descriptions.
#include "broker/group/group.h"

#include <cassert>

namespace runnel::broker {

using proto::error_code;

namespace {

const proto::bytes* metadata_for(const std::vector<join_protocol>& protocols, const std::string& name) {
    for (const auto& p : protocols) {
        if (p.name == name) {
            return &p.metadata;
        }
    }
    return nullptr;
}

} // namespace

// ---- Persistence -------------------------------------------------------------------

uint64_t group::request_store(pending_store purpose, group_records::group_value value) {
    const uint64_t id = next_store_id_++;
    stores_in_flight_.emplace(id, std::move(purpose));
    store_queue_.push_back(store_request{id, std::move(value)});
    return id;
}

std::optional<store_request> group::take_store_request() {
    if (store_queue_.empty()) {
        return std::nullopt;
    }
    store_request r = std::move(store_queue_.front());
    store_queue_.pop_front();
    return r;
}

void group::stored(uint64_t id, error_code error, int64_t now_ms) {
    auto node = stores_in_flight_.extract(id);
    if (node.empty()) {
        return;
    }
    const pending_store& p = node.mapped();
    switch (p.purpose) {
    case store_purpose::plain: return;
    case store_purpose::sync_assignments:
        if (p.generation == sync_store_generation_) {
            sync_store_generation_ = -1;
        }
        if (error == error_code::none) {
            complete_sync(p.generation, now_ms);
        } else if (state_ == group_state::completing_rebalance && p.generation == generation_) {
            fail_sync(error, now_ms);
            prepare_rebalance(now_ms);
            maybe_complete_join(now_ms);
        }
        return;
    case store_purpose::static_rejoin: {
        auto it = members_.find(p.member_id);
        if (it == members_.end() || !it->second.awaiting_join) {
            return; // replaced, removed or rebalancing meanwhile: nothing to answer here
        }
        member& m = it->second;
        if (error != error_code::none) {
            // Undo the replacement: the old id stays the member's.
            join_callback cb = std::exchange(m.awaiting_join, nullptr);
            auto moved = members_.extract(it);
            moved.key() = p.old_member_id;
            moved.mapped().member_id = p.old_member_id;
            if (moved.mapped().group_instance_id) {
                static_members_[*moved.mapped().group_instance_id] = p.old_member_id;
            }
            if (leader_ == p.member_id) {
                leader_ = p.old_member_id;
            }
            members_.insert(std::move(moved));
            join_result r;
            r.error = error;
            r.member_id = p.member_id;
            cb(std::move(r));
            return;
        }
        if (state_ != group_state::stable) {
            return; // a rebalance began: the join is answered when it completes
        }
        join_result r = current_join_result(m, false);
        const bool was_leader = p.old_leader == p.old_member_id;
        if (was_leader && m.supports_skip_assignment) {
            // KIP-814: the leader learns it leads, and that the assignment stands.
            r.leader = p.member_id;
            r.skip_assignment = true;
            r.members = member_infos();
        } else {
            // The old leader id: a static leader that rejoins must not
            // compute an assignment that a Stable group would not hand out.
            r.leader = p.old_leader.value_or("");
        }
        std::exchange(m.awaiting_join, nullptr)(std::move(r));
        return;
    }
    }
}

group_records::group_value group::record_with(const std::map<std::string, proto::bytes>& assignments) const {
    group_records::group_value v;
    v.protocol_type = protocol_type_.value_or("");
    v.generation = generation_;
    v.protocol = protocol_name_;
    v.leader = leader_;
    v.current_state_timestamp = state_timestamp_ms_;
    for (const auto& [id, m] : members_) {
        group_records::member_value mv;
        mv.member_id = id;
        mv.group_instance_id = m.group_instance_id;
        mv.client_id = m.client_id;
        mv.client_host = m.client_host;
        mv.rebalance_timeout_ms = m.rebalance_timeout_ms;
        mv.session_timeout_ms = m.session_timeout_ms;
        if (const proto::bytes* md = protocol_name_ ? metadata_for(m.protocols, *protocol_name_) : nullptr) {
            mv.subscription = *md;
        }
        if (auto a = assignments.find(id); a != assignments.end()) {
            mv.assignment = a->second;
        }
        v.members.push_back(std::move(mv));
    }
    return v;
}

group_records::group_value group::to_record() const {
    std::map<std::string, proto::bytes> current;
    for (const auto& [id, m] : members_) {
        current[id] = m.assignment;
    }
    return record_with(current);
}

void group::mark_dead() {
    assert(members_.empty() && "only a group without members is deleted");
    pending_members_.clear();
    transition(group_state::dead, state_timestamp_ms_);
}

// ---- Offsets ----------------------------------------------------------------------

void group::apply_offset(const topic_partition_key& key, const group_records::offset_value& value, int64_t log_offset) {
    auto [it, inserted] = offsets_.try_emplace(key, committed_offset{value, log_offset});
    if (!inserted && log_offset >= it->second.log_offset) {
        it->second = committed_offset{value, log_offset};
    }
}

std::optional<std::set<std::string>> group::subscribed_topics() const {
    if (protocol_type_ != "consumer" || !protocol_name_ || members_.empty()) {
        return std::nullopt;
    }
    std::set<std::string> out;
    for (const auto& [id, m] : members_) {
        const proto::bytes* md = metadata_for(m.protocols, *protocol_name_);
        if (md == nullptr) {
            return std::nullopt;
        }
        auto topics = group_records::consumer_subscription_topics(*md);
        if (!topics) {
            return std::nullopt;
        }
        out.insert(topics->begin(), topics->end());
    }
    return out;
}

std::vector<topic_partition_key> group::expired_offsets(int64_t now_ms) const {
    std::vector<topic_partition_key> out;
    const int64_t retention = config_.offsets_retention_ms;
    auto collect = [&](auto base_of, const std::set<std::string>* subscribed) {
        for (const auto& [key, c] : offsets_) {
            if (subscribed != nullptr && subscribed->contains(key.topic)) {
                continue;
            }
            const bool expired = c.value.expire_timestamp >= 0 ? now_ms >= c.value.expire_timestamp
                                                               : now_ms - base_of(c) >= retention;
            if (expired) {
                out.push_back(key);
            }
        }
    };
    if (state_ == group_state::empty && protocol_type_) {
        // A consumer group without members: its offsets age from when it emptied.
        collect([&](const committed_offset&) { return state_timestamp_ms_; }, nullptr);
    } else if (state_ == group_state::empty) {
        // Only ever used to store offsets: each ages from its commit.
        collect([](const committed_offset& c) { return c.value.commit_timestamp; }, nullptr);
    } else if (state_ == group_state::stable && protocol_type_ == "consumer") {
        if (auto subscribed = subscribed_topics()) {
            collect([](const committed_offset& c) { return c.value.commit_timestamp; }, &*subscribed);
        }
    }
    return out;
}

group_summary group::summary() const {
    group_summary s;
    s.state = state_;
    s.protocol_type = protocol_type_.value_or("");
    const bool stable = state_ == group_state::stable;
    if (stable) {
        s.protocol = protocol_name_.value_or("");
    }
    for (const auto& [id, m] : members_) {
        member_summary ms;
        ms.member_id = id;
        ms.group_instance_id = m.group_instance_id;
        ms.client_id = m.client_id;
        ms.client_host = m.client_host;
        if (stable) {
            if (const proto::bytes* md = protocol_name_ ? metadata_for(m.protocols, *protocol_name_) : nullptr) {
                ms.metadata = *md;
            }
            ms.assignment = m.assignment;
        }
        s.members.push_back(std::move(ms));
    }
    return s;
}

} // namespace runnel::broker
