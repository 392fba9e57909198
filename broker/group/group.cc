// The classic group protocol's rules, as Kafka's group coordinator applies
// them: which request is answered with which error in which state, when a
// rebalance starts and ends, who leads, and when a member is dropped.
#include "broker/group/group.h"

#include <algorithm>
#include <cassert>
#include <cctype>

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

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

} // namespace

std::string_view to_string(group_state state) {
    switch (state) {
    case group_state::empty: return "Empty";
    case group_state::preparing_rebalance: return "PreparingRebalance";
    case group_state::completing_rebalance: return "CompletingRebalance";
    case group_state::stable: return "Stable";
    case group_state::dead: return "Dead";
    }
    return "Unknown";
}

std::optional<group_state> parse_group_state(std::string_view name) {
    for (auto s : {group_state::empty, group_state::preparing_rebalance, group_state::completing_rebalance,
                   group_state::stable, group_state::dead}) {
        if (equals_ignoring_case(name, to_string(s))) {
            return s;
        }
    }
    return std::nullopt;
}

group::group(std::string id, const group_config& config, member_id_suffix_fn suffix, int64_t now_ms)
    : id_(std::move(id)), config_(config), suffix_(std::move(suffix)), state_timestamp_ms_(now_ms) {}

group group::loaded(std::string id, const group_records::group_value& value, const group_config& config,
                    member_id_suffix_fn suffix, int64_t now_ms) {
    group g(std::move(id), config, std::move(suffix), now_ms);
    if (!value.protocol_type.empty()) {
        g.protocol_type_ = value.protocol_type;
    }
    g.generation_ = value.generation;
    g.protocol_name_ = value.protocol;
    g.leader_ = value.leader;
    g.state_timestamp_ms_ = value.current_state_timestamp >= 0 ? value.current_state_timestamp : now_ms;
    for (const auto& mv : value.members) {
        member m;
        m.member_id = mv.member_id;
        m.group_instance_id = mv.group_instance_id;
        m.client_id = mv.client_id;
        m.client_host = mv.client_host;
        m.session_timeout_ms = mv.session_timeout_ms;
        m.rebalance_timeout_ms = mv.rebalance_timeout_ms;
        m.protocol_type = value.protocol_type;
        if (value.protocol) {
            m.protocols.push_back(join_protocol{*value.protocol, mv.subscription});
        }
        m.assignment = mv.assignment;
        m.last_heartbeat_ms = now_ms;
        if (m.group_instance_id) {
            g.static_members_[*m.group_instance_id] = m.member_id;
        }
        g.members_.emplace(m.member_id, std::move(m));
    }
    if (g.leader_ && !g.members_.contains(*g.leader_)) {
        g.leader_ = g.members_.empty() ? std::nullopt : std::optional<std::string>(g.members_.begin()->first);
    }
    g.state_ = g.members_.empty() ? group_state::empty : group_state::stable;
    return g;
}

proto::bytes group::assignment_of(const std::string& member_id) const {
    auto it = members_.find(member_id);
    return it == members_.end() ? proto::bytes{} : it->second.assignment;
}

std::optional<std::string> group::static_member_id(const std::string& instance_id) const {
    auto it = static_members_.find(instance_id);
    if (it == static_members_.end()) {
        return std::nullopt;
    }
    return it->second;
}

bool group::is_fenced(const std::optional<std::string>& instance_id, const std::string& member_id) const {
    if (!instance_id) {
        return false;
    }
    auto it = static_members_.find(*instance_id);
    return it != static_members_.end() && it->second != member_id;
}

void group::transition(group_state next, int64_t now_ms) {
    state_ = next;
    state_timestamp_ms_ = now_ms;
}

// ---- JoinGroup ---------------------------------------------------------------

bool group::supports_protocols(const std::string& protocol_type, const std::vector<join_protocol>& protocols,
                               const std::string* except_member) const {
    if (protocol_type.empty() || protocols.empty()) {
        return false;
    }
    size_t others = 0;
    for (const auto& [id, m] : members_) {
        others += (except_member == nullptr || id != *except_member) ? 1 : 0;
    }
    if (state_ == group_state::empty || others == 0) {
        return state_ == group_state::empty || !protocol_type_ || *protocol_type_ == protocol_type;
    }
    if (!protocol_type_ || *protocol_type_ != protocol_type) {
        return false;
    }
    // Some protocol of the member that every other member supports too.
    for (const auto& p : protocols) {
        bool all = true;
        for (const auto& [id, m] : members_) {
            if (except_member != nullptr && id == *except_member) {
                continue;
            }
            if (metadata_for(m.protocols, p.name) == nullptr) {
                all = false;
                break;
            }
        }
        if (all) {
            return true;
        }
    }
    return false;
}

bool group::accepts_joining_member(const join_request& request) const {
    const auto max = static_cast<size_t>(std::max(config_.max_size, 0));
    auto it = members_.find(request.member_id);
    if (it == members_.end() && request.group_instance_id) {
        // A static member coming back takes its own place, not a new one.
        if (auto s = static_members_.find(*request.group_instance_id); s != static_members_.end()) {
            it = members_.find(s->second);
        }
    }
    switch (state_) {
    case group_state::empty:
    case group_state::dead: return true;
    case group_state::preparing_rebalance: {
        if (it != members_.end() && it->second.awaiting_join) {
            return true;
        }
        // Counting those that have rejoined (not the group's size) lets a
        // lowered group.max.size take effect, the latecomers staying out.
        size_t awaiting = 0;
        for (const auto& [id, m] : members_) {
            awaiting += m.awaiting_join ? 1 : 0;
        }
        return awaiting < max;
    }
    case group_state::completing_rebalance:
    case group_state::stable: return it != members_.end() || members_.size() < max;
    }
    return false;
}

error_code group::check_join(const join_request& request) const {
    if (request.session_timeout_ms < config_.min_session_timeout_ms ||
        request.session_timeout_ms > config_.max_session_timeout_ms) {
        return error_code::invalid_session_timeout;
    }
    if (!accepts_joining_member(request)) {
        return error_code::group_max_size_reached;
    }
    if (state_ == group_state::dead) {
        return error_code::coordinator_not_available;
    }
    const std::string* self = request.member_id.empty() ? nullptr : &request.member_id;
    if (!supports_protocols(request.protocol_type, request.protocols, self)) {
        return error_code::inconsistent_group_protocol;
    }
    return error_code::none;
}

void group::join(const join_request& request, int64_t now_ms, join_callback done) {
    if (error_code e = check_join(request); e != error_code::none) {
        join_result r;
        r.error = e;
        r.member_id = request.member_id;
        if (e == error_code::group_max_size_reached) {
            // The id it was given is void: it must not hold up the rebalance.
            r.member_id.clear();
            if (pending_members_.erase(request.member_id) > 0) {
                done(std::move(r));
                maybe_complete_join(now_ms);
                return;
            }
        }
        done(std::move(r));
        return;
    }
    if (request.member_id.empty()) {
        join_new_member(request, now_ms, std::move(done));
    } else {
        join_known_member(request, now_ms, std::move(done));
    }
}

void group::join_new_member(const join_request& request, int64_t now_ms, join_callback done) {
    const std::string& prefix = request.group_instance_id ? *request.group_instance_id : request.client_id;
    std::string member_id = prefix + "-" + suffix_();
    if (request.group_instance_id) {
        if (auto it = static_members_.find(*request.group_instance_id); it != static_members_.end()) {
            const std::string old_member_id = it->second;
            join_request replaced = request;
            replaced.member_id = member_id;
            rejoin_static_member(replaced, old_member_id, now_ms, std::move(done));
            return;
        }
        add_member_and_rebalance(request, std::move(member_id), now_ms, std::move(done));
        return;
    }
    if (request.require_known_member_id) {
        // KIP-394: the client must come back with this id, so that a client
        // that retries after a lost answer does not leave a ghost member.
        pending_members_[member_id] = pending_member{now_ms + request.session_timeout_ms};
        join_result r;
        r.error = error_code::member_id_required;
        r.member_id = std::move(member_id);
        done(std::move(r));
        return;
    }
    add_member_and_rebalance(request, std::move(member_id), now_ms, std::move(done));
}

void group::join_known_member(const join_request& request, int64_t now_ms, join_callback done) {
    const std::string& id = request.member_id;
    join_result refused;
    refused.member_id = id;
    if (pending_members_.contains(id)) {
        if (request.group_instance_id) {
            refused.error = error_code::unknown_member_id; // static members are never pending
            done(std::move(refused));
            return;
        }
        add_member_and_rebalance(request, id, now_ms, std::move(done));
        return;
    }
    if (is_fenced(request.group_instance_id, id)) {
        refused.error = error_code::fenced_instance_id;
        done(std::move(refused));
        return;
    }
    auto it = members_.find(id);
    if (it == members_.end() ||
        (request.group_instance_id && !static_members_.contains(*request.group_instance_id))) {
        refused.error = error_code::unknown_member_id;
        done(std::move(refused));
        return;
    }
    member& m = it->second;
    m.last_heartbeat_ms = now_ms;
    m.supports_skip_assignment = request.supports_skip_assignment;
    switch (state_) {
    case group_state::preparing_rebalance: update_member_and_rebalance(m, request, now_ms, std::move(done)); return;
    case group_state::completing_rebalance:
        if (m.protocols == request.protocols) {
            // A retry of a join that completed: the same answer again.
            done(current_join_result(m, leader_ == id));
        } else {
            update_member_and_rebalance(m, request, now_ms, std::move(done));
        }
        return;
    case group_state::stable:
        if (leader_ == id || m.protocols != request.protocols) {
            // The leader rejoining, or a changed subscription: rebalance.
            update_member_and_rebalance(m, request, now_ms, std::move(done));
        } else {
            done(current_join_result(m, false));
        }
        return;
    case group_state::empty:
    case group_state::dead: refused.error = error_code::unknown_member_id; done(std::move(refused)); return;
    }
}

void group::rejoin_static_member(const join_request& request, const std::string& old_member_id, int64_t now_ms,
                                 join_callback done) {
    const std::string& new_member_id = request.member_id;
    const std::optional<std::string> old_leader = leader_;
    auto node = members_.extract(old_member_id);
    assert(!node.empty() && "a static member's id maps to a member");
    member& old = node.mapped();
    // Whoever used the old id is fenced from now on.
    if (auto cb = std::exchange(old.awaiting_join, nullptr)) {
        join_result r;
        r.error = error_code::fenced_instance_id;
        r.member_id = old_member_id;
        cb(std::move(r));
    }
    if (auto cb = std::exchange(old.awaiting_sync, nullptr)) {
        sync_result r;
        r.error = error_code::fenced_instance_id;
        cb(std::move(r));
    }
    node.key() = new_member_id;
    node.mapped().member_id = new_member_id;
    auto inserted = members_.insert(std::move(node));
    member& m = inserted.position->second;
    static_members_[*request.group_instance_id] = new_member_id;
    if (leader_ == old_member_id) {
        leader_ = new_member_id;
    }
    if (pending_sync_.erase(old_member_id) > 0) {
        pending_sync_.insert(new_member_id);
    }
    m.last_heartbeat_ms = now_ms;
    m.supports_skip_assignment = request.supports_skip_assignment;
    update_member(m, request, std::move(done));
    switch (state_) {
    case group_state::stable:
        if (protocol_name_ && select_protocol() == *protocol_name_) {
            // KIP-345: same subscription protocol, so no rebalance; the
            // member answers once the new id is stored.
            pending_store p;
            p.purpose = store_purpose::static_rejoin;
            p.generation = generation_;
            p.member_id = new_member_id;
            p.old_member_id = old_member_id;
            p.old_leader = old_leader;
            request_store(std::move(p), to_record());
        } else {
            prepare_rebalance(now_ms);
            maybe_complete_join(now_ms);
        }
        return;
    case group_state::completing_rebalance:
        // Everyone must see the new member id: another round.
        prepare_rebalance(now_ms);
        maybe_complete_join(now_ms);
        return;
    case group_state::preparing_rebalance: maybe_complete_join(now_ms); return;
    case group_state::empty:
    case group_state::dead: assert(false && "a group with a static member is neither Empty nor Dead"); return;
    }
}

void group::add_member_and_rebalance(const join_request& request, std::string member_id, int64_t now_ms,
                                     join_callback done) {
    member m;
    m.member_id = member_id;
    m.group_instance_id = request.group_instance_id;
    m.client_id = request.client_id;
    m.client_host = request.client_host;
    m.session_timeout_ms = request.session_timeout_ms;
    m.rebalance_timeout_ms = request.rebalance_timeout_ms;
    m.protocol_type = request.protocol_type;
    m.protocols = request.protocols;
    m.awaiting_join = std::move(done);
    m.last_heartbeat_ms = now_ms;
    m.is_new = true;
    m.supports_skip_assignment = request.supports_skip_assignment;
    if (members_.empty()) {
        protocol_type_ = request.protocol_type;
    }
    if (!leader_) {
        leader_ = member_id;
    }
    if (m.group_instance_id) {
        static_members_[*m.group_instance_id] = member_id;
    }
    pending_members_.erase(member_id);
    members_.emplace(member_id, std::move(m));
    if (state_ == group_state::preparing_rebalance) {
        new_member_added_ = true;
    }
    maybe_prepare_rebalance(now_ms);
    maybe_complete_join(now_ms);
}

void group::update_member(member& m, const join_request& request, join_callback done) {
    m.protocols = request.protocols;
    m.session_timeout_ms = request.session_timeout_ms;
    m.rebalance_timeout_ms = request.rebalance_timeout_ms;
    if (auto previous = std::exchange(m.awaiting_join, std::move(done))) {
        // The same member joined again (a new connection after a lost
        // one): the older request is answered, not left hanging.
        join_result r;
        r.error = error_code::rebalance_in_progress;
        r.member_id = m.member_id;
        previous(std::move(r));
    }
}

void group::update_member_and_rebalance(member& m, const join_request& request, int64_t now_ms, join_callback done) {
    update_member(m, request, std::move(done));
    maybe_prepare_rebalance(now_ms);
    maybe_complete_join(now_ms);
}

std::vector<join_member_info> group::member_infos() const {
    std::vector<join_member_info> out;
    for (const auto& [id, m] : members_) {
        const proto::bytes* md = protocol_name_ ? metadata_for(m.protocols, *protocol_name_) : nullptr;
        out.push_back(join_member_info{id, m.group_instance_id, md ? *md : proto::bytes{}});
    }
    return out;
}

join_result group::current_join_result(const member& m, bool include_members) const {
    join_result r;
    r.generation = generation_;
    r.protocol_type = protocol_type_;
    r.protocol_name = protocol_name_;
    r.leader = leader_.value_or("");
    r.member_id = m.member_id;
    if (include_members) {
        r.members = member_infos();
    }
    return r;
}

// ---- Rebalance ----------------------------------------------------------------

int32_t group::max_rebalance_timeout_ms() const {
    int32_t out = 0;
    for (const auto& [id, m] : members_) {
        out = std::max(out, m.rebalance_timeout_ms);
    }
    return out;
}

void group::maybe_prepare_rebalance(int64_t now_ms) {
    if (state_ == group_state::stable || state_ == group_state::completing_rebalance || state_ == group_state::empty) {
        prepare_rebalance(now_ms);
    }
}

void group::prepare_rebalance(int64_t now_ms) {
    if (state_ == group_state::completing_rebalance) {
        // The assignment of this generation will never be handed out.
        fail_sync(error_code::rebalance_in_progress, now_ms);
    }
    pending_sync_.clear();
    pending_assignments_.clear();
    const int64_t rebalance_ms = max_rebalance_timeout_ms();
    if (state_ == group_state::empty && config_.initial_rebalance_delay_ms > 0) {
        // A new group waits a little for more members before its first
        // rebalance, extending while members keep arriving, up to the
        // rebalance timeout (group.initial.rebalance.delay.ms).
        const int64_t delay = std::min<int64_t>(config_.initial_rebalance_delay_ms, rebalance_ms);
        initial_delay_ = true;
        initial_delay_remaining_ms_ = std::max<int64_t>(rebalance_ms - config_.initial_rebalance_delay_ms, 0);
        new_member_added_ = false;
        join_deadline_ms_ = now_ms + delay;
    } else {
        initial_delay_ = false;
        join_deadline_ms_ = now_ms + rebalance_ms;
    }
    transition(group_state::preparing_rebalance, now_ms);
}

bool group::all_members_joined() const {
    if (!pending_members_.empty()) {
        return false;
    }
    return std::all_of(members_.begin(), members_.end(), [](const auto& kv) { return bool(kv.second.awaiting_join); });
}

void group::maybe_complete_join(int64_t now_ms) {
    if (state_ == group_state::preparing_rebalance && !initial_delay_ && all_members_joined()) {
        complete_join(now_ms);
    }
}

std::string group::select_protocol() const {
    if (members_.empty()) {
        return {};
    }
    // Candidates: the protocols every member supports, in the order of
    // the leader's (or the first member's) preference.
    const member& first = leader_ && members_.contains(*leader_) ? members_.at(*leader_) : members_.begin()->second;
    std::vector<std::string> candidates;
    for (const auto& p : first.protocols) {
        bool all = std::all_of(members_.begin(), members_.end(),
                               [&](const auto& kv) { return metadata_for(kv.second.protocols, p.name) != nullptr; });
        if (all) {
            candidates.push_back(p.name);
        }
    }
    if (candidates.empty()) {
        return first.protocols.empty() ? std::string{} : first.protocols.front().name;
    }
    // Each member votes for its most preferred candidate; most votes wins.
    std::map<std::string, int> votes;
    for (const auto& [id, m] : members_) {
        for (const auto& p : m.protocols) {
            if (std::find(candidates.begin(), candidates.end(), p.name) != candidates.end()) {
                ++votes[p.name];
                break;
            }
        }
    }
    std::string best = candidates.front();
    for (const auto& c : candidates) {
        if (votes[c] > votes[best]) {
            best = c;
        }
    }
    return best;
}

void group::complete_join(int64_t now_ms) {
    assert(state_ == group_state::preparing_rebalance);
    std::vector<std::string> missing;
    for (const auto& [id, m] : members_) {
        if (!m.awaiting_join) {
            missing.push_back(id);
        }
    }
    for (const auto& id : missing) {
        remove_member(id, error_code::unknown_member_id, now_ms);
    }
    initial_delay_ = false;
    new_member_added_ = false;
    ++generation_;
    if (members_.empty()) {
        protocol_name_.reset();
        leader_.reset();
        transition(group_state::empty, now_ms);
        pending_store p;
        p.generation = generation_;
        request_store(std::move(p), to_record());
        return;
    }
    protocol_name_ = select_protocol();
    transition(group_state::completing_rebalance, now_ms);
    sync_deadline_ms_ = now_ms + max_rebalance_timeout_ms();
    std::vector<std::pair<join_callback, join_result>> answers;
    for (auto& [id, m] : members_) {
        m.is_new = false;
        m.last_heartbeat_ms = now_ms;
        m.assignment.clear();
        pending_sync_.insert(id);
        answers.emplace_back(std::exchange(m.awaiting_join, nullptr), current_join_result(m, leader_ == id));
    }
    for (auto& [cb, r] : answers) {
        cb(std::move(r));
    }
}

// ---- SyncGroup -----------------------------------------------------------------

void group::sync(const sync_request& request, int64_t now_ms, sync_callback done) {
    auto refuse = [&](error_code e) {
        sync_result r;
        r.error = e;
        done(std::move(r));
    };
    if (state_ == group_state::dead) {
        return refuse(error_code::coordinator_not_available);
    }
    if (is_fenced(request.group_instance_id, request.member_id)) {
        return refuse(error_code::fenced_instance_id);
    }
    auto it = members_.find(request.member_id);
    if (it == members_.end()) {
        return refuse(error_code::unknown_member_id);
    }
    if (request.generation != generation_) {
        return refuse(error_code::illegal_generation);
    }
    if ((request.protocol_type && protocol_type_ != request.protocol_type) ||
        (request.protocol_name && protocol_name_ != request.protocol_name)) {
        return refuse(error_code::inconsistent_group_protocol);
    }
    member& m = it->second;
    switch (state_) {
    case group_state::empty: return refuse(error_code::unknown_member_id);
    case group_state::preparing_rebalance: return refuse(error_code::rebalance_in_progress);
    case group_state::stable: {
        pending_sync_.erase(m.member_id);
        m.last_heartbeat_ms = now_ms;
        sync_result r;
        r.protocol_type = protocol_type_;
        r.protocol_name = protocol_name_;
        r.assignment = m.assignment;
        done(std::move(r));
        return;
    }
    case group_state::completing_rebalance: break;
    case group_state::dead: return;
    }
    m.last_heartbeat_ms = now_ms;
    if (auto previous = std::exchange(m.awaiting_sync, std::move(done))) {
        sync_result r;
        r.error = error_code::rebalance_in_progress;
        previous(std::move(r));
    }
    pending_sync_.erase(m.member_id);
    if (leader_ != m.member_id || sync_store_generation_ == generation_) {
        return;
    }
    // The leader's assignment: members it left out get an empty one; ids
    // that are not members are ignored.
    pending_assignments_.clear();
    for (const auto& entry : members_) {
        pending_assignments_[entry.first] = {};
    }
    for (const auto& [id, assignment] : request.assignments) {
        if (auto a = pending_assignments_.find(id); a != pending_assignments_.end()) {
            a->second = assignment;
        }
    }
    sync_store_generation_ = generation_;
    pending_store p;
    p.purpose = store_purpose::sync_assignments;
    p.generation = generation_;
    request_store(std::move(p), record_with(pending_assignments_));
}

void group::complete_sync(int32_t generation, int64_t now_ms) {
    if (state_ != group_state::completing_rebalance || generation != generation_) {
        return; // the group moved on while the record was written
    }
    std::vector<std::pair<sync_callback, sync_result>> answers;
    for (auto& [id, m] : members_) {
        auto a = pending_assignments_.find(id);
        m.assignment = a == pending_assignments_.end() ? proto::bytes{} : a->second;
        if (m.awaiting_sync) {
            sync_result r;
            r.protocol_type = protocol_type_;
            r.protocol_name = protocol_name_;
            r.assignment = m.assignment;
            answers.emplace_back(std::exchange(m.awaiting_sync, nullptr), std::move(r));
        }
    }
    pending_assignments_.clear();
    transition(group_state::stable, now_ms);
    for (auto& [cb, r] : answers) {
        cb(std::move(r));
    }
}

void group::fail_sync(error_code error, int64_t /*now_ms*/) {
    std::vector<sync_callback> waiting;
    for (auto& [id, m] : members_) {
        m.assignment.clear();
        if (m.awaiting_sync) {
            waiting.push_back(std::exchange(m.awaiting_sync, nullptr));
        }
    }
    pending_assignments_.clear();
    for (auto& cb : waiting) {
        sync_result r;
        r.error = error;
        cb(std::move(r));
    }
}

} // namespace runnel::broker
