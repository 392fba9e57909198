// The group's members between rebalances: heartbeats, leaving, the checks
// OffsetCommit makes, session and deadline expiry.
#include "broker/group/group.h"

#include <algorithm>

namespace runnel::broker {

using proto::error_code;

// ---- Heartbeat, LeaveGroup, OffsetCommit checks ---------------------------------

error_code group::heartbeat(const std::string& member_id, const std::optional<std::string>& instance_id,
                            int32_t generation, int64_t now_ms) {
    if (state_ == group_state::dead) {
        return error_code::coordinator_not_available;
    }
    if (is_fenced(instance_id, member_id)) {
        return error_code::fenced_instance_id;
    }
    auto it = members_.find(member_id);
    if (it == members_.end()) {
        return error_code::unknown_member_id;
    }
    if (generation != generation_) {
        return error_code::illegal_generation;
    }
    switch (state_) {
    case group_state::empty: return error_code::unknown_member_id;
    case group_state::preparing_rebalance: it->second.last_heartbeat_ms = now_ms; return error_code::rebalance_in_progress;
    case group_state::completing_rebalance:
    case group_state::stable: it->second.last_heartbeat_ms = now_ms; return error_code::none;
    case group_state::dead: break;
    }
    return error_code::coordinator_not_available;
}

std::vector<error_code> group::leave(const std::vector<member_identity>& leaving, int64_t now_ms) {
    std::vector<error_code> out;
    for (const auto& who : leaving) {
        if (state_ == group_state::dead) {
            out.push_back(error_code::coordinator_not_available);
            continue;
        }
        if (who.member_id.empty()) {
            // An admin removing a static member by its instance id.
            auto it = who.group_instance_id ? static_members_.find(*who.group_instance_id) : static_members_.end();
            if (it == static_members_.end()) {
                out.push_back(error_code::unknown_member_id);
                continue;
            }
            const std::string id = it->second;
            remove_member_and_update(id, now_ms);
            out.push_back(error_code::none);
            continue;
        }
        if (pending_members_.erase(who.member_id) > 0) {
            maybe_complete_join(now_ms);
            out.push_back(error_code::none);
            continue;
        }
        if (is_fenced(who.group_instance_id, who.member_id)) {
            out.push_back(error_code::fenced_instance_id);
            continue;
        }
        if (!members_.contains(who.member_id)) {
            out.push_back(error_code::unknown_member_id);
            continue;
        }
        remove_member_and_update(who.member_id, now_ms);
        out.push_back(error_code::none);
    }
    return out;
}

error_code group::validate_offset_commit(const std::string& member_id, const std::optional<std::string>& instance_id,
                                         int32_t generation, int64_t now_ms) {
    if (state_ == group_state::dead) {
        return error_code::coordinator_not_available;
    }
    if (is_fenced(instance_id, member_id)) {
        return error_code::fenced_instance_id;
    }
    if (generation < 0 && state_ == group_state::empty) {
        return error_code::none; // a simple consumer: the group only stores offsets
    }
    if (state_ == group_state::completing_rebalance) {
        // The member knows the new generation but has no assignment yet.
        return error_code::rebalance_in_progress;
    }
    auto it = members_.find(member_id);
    if (it == members_.end()) {
        return error_code::unknown_member_id;
    }
    if (generation != generation_) {
        return error_code::illegal_generation;
    }
    it->second.last_heartbeat_ms = now_ms;
    return error_code::none;
}

// ---- Members leaving -------------------------------------------------------------

void group::remove_member(const std::string& member_id, error_code callback_error, int64_t /*now_ms*/) {
    auto node = members_.extract(member_id);
    if (node.empty()) {
        return;
    }
    member& m = node.mapped();
    if (m.group_instance_id) {
        if (auto s = static_members_.find(*m.group_instance_id); s != static_members_.end() && s->second == member_id) {
            static_members_.erase(s);
        }
    }
    pending_sync_.erase(member_id);
    if (leader_ == member_id) {
        leader_.reset();
        for (const auto& [id, other] : members_) {
            if (other.awaiting_join) {
                leader_ = id;
                break;
            }
        }
        if (!leader_ && !members_.empty()) {
            leader_ = members_.begin()->first;
        }
    }
    if (m.awaiting_join) {
        join_result r;
        r.error = callback_error;
        r.member_id = member_id;
        m.awaiting_join(std::move(r));
    }
    if (m.awaiting_sync) {
        sync_result r;
        r.error = callback_error;
        m.awaiting_sync(std::move(r));
    }
}

void group::remove_member_and_update(const std::string& member_id, int64_t now_ms) {
    remove_member(member_id, error_code::unknown_member_id, now_ms);
    switch (state_) {
    case group_state::stable:
    case group_state::completing_rebalance: prepare_rebalance(now_ms); maybe_complete_join(now_ms); return;
    case group_state::preparing_rebalance: maybe_complete_join(now_ms); return;
    case group_state::empty:
    case group_state::dead: return;
    }
}

void group::expire_sessions(int64_t now_ms) {
    std::vector<std::string> expired;
    for (const auto& [id, m] : members_) {
        if (m.awaiting_sync) {
            continue; // bounded by the sync deadline
        }
        if (m.awaiting_join) {
            if (m.is_new && now_ms >= m.last_heartbeat_ms + config_.new_member_join_timeout_ms) {
                expired.push_back(id);
            }
            continue; // otherwise bounded by the join deadline
        }
        if (now_ms >= m.last_heartbeat_ms + m.session_timeout_ms) {
            expired.push_back(id);
        }
    }
    for (const auto& id : expired) {
        remove_member_and_update(id, now_ms);
    }
}

void group::tick(int64_t now_ms) {
    if (state_ == group_state::dead) {
        return;
    }
    bool pending_expired = false;
    for (auto it = pending_members_.begin(); it != pending_members_.end();) {
        if (now_ms >= it->second.deadline_ms) {
            it = pending_members_.erase(it);
            pending_expired = true;
        } else {
            ++it;
        }
    }
    if (pending_expired) {
        maybe_complete_join(now_ms);
    }
    expire_sessions(now_ms);
    if (state_ == group_state::preparing_rebalance && now_ms >= join_deadline_ms_) {
        if (initial_delay_ && new_member_added_ && initial_delay_remaining_ms_ > 0) {
            const int64_t delay = std::min<int64_t>(config_.initial_rebalance_delay_ms, initial_delay_remaining_ms_);
            initial_delay_remaining_ms_ = std::max<int64_t>(initial_delay_remaining_ms_ - delay, 0);
            new_member_added_ = false;
            join_deadline_ms_ = now_ms + delay;
        } else {
            complete_join(now_ms);
        }
    }
    if ((state_ == group_state::completing_rebalance || state_ == group_state::stable) && !pending_sync_.empty() &&
        now_ms >= sync_deadline_ms_) {
        // Members that joined but never came for their assignment within
        // the rebalance timeout are dropped, and the rest rebalance.
        std::vector<std::string> late(pending_sync_.begin(), pending_sync_.end());
        for (const auto& id : late) {
            remove_member(id, error_code::unknown_member_id, now_ms);
        }
        pending_sync_.clear();
        prepare_rebalance(now_ms);
        maybe_complete_join(now_ms);
    }
}

void group::abandon(error_code error) {
    std::vector<join_callback> joins;
    std::vector<sync_callback> syncs;
    for (auto& [id, m] : members_) {
        if (m.awaiting_join) {
            joins.push_back(std::exchange(m.awaiting_join, nullptr));
        }
        if (m.awaiting_sync) {
            syncs.push_back(std::exchange(m.awaiting_sync, nullptr));
        }
    }
    for (auto& cb : joins) {
        join_result r;
        r.error = error;
        cb(std::move(r));
    }
    for (auto& cb : syncs) {
        sync_result r;
        r.error = error;
        cb(std::move(r));
    }
}

} // namespace runnel::broker
