// The fetch session cache: KIP-227's session rules and its eviction policy.
#include "broker/fetch_session.h"

#include <cassert>
#include <limits>
#include <tuple>

namespace runnel::broker {

int32_t next_fetch_epoch(int32_t epoch) {
    if (epoch < 0) {
        return final_fetch_epoch; // a sessionless request stays sessionless
    }
    if (epoch == std::numeric_limits<int32_t>::max()) {
        return 1;
    }
    return epoch + 1;
}

// ---- fetch_session --------------------------------------------------------

void fetch_session::upsert(const fetch_session_partition& wanted) {
    if (auto* p = find(wanted.key)) {
        // Keep what was last sent; take what the client asks now.
        p->fetch_offset = wanted.fetch_offset;
        p->log_start_offset = wanted.log_start_offset;
        p->partition_max_bytes = wanted.partition_max_bytes;
        p->current_leader_epoch = wanted.current_leader_epoch;
        p->last_fetched_epoch = wanted.last_fetched_epoch;
        return;
    }
    partitions_.push_back(wanted);
    index_.emplace(wanted.key, std::prev(partitions_.end()));
}

void fetch_session::forget(const fetch_key& key) {
    auto it = index_.find(key);
    if (it == index_.end()) {
        return;
    }
    partitions_.erase(it->second);
    index_.erase(it);
}

fetch_session_partition* fetch_session::find(const fetch_key& key) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &*it->second;
}

bool fetch_session::note_answer(const fetch_key& key, const fetch_partition_outcome& outcome, bool incremental) {
    auto it = index_.find(key);
    if (it == index_.end()) {
        return true; // not in the session (an error answer for an unknown partition)
    }
    fetch_session_partition& p = *it->second;
    bool include = !incremental || outcome.records_bytes > 0 || outcome.error_code != 0 || outcome.has_diverging_epoch;
    if (p.high_watermark != outcome.high_watermark) {
        p.high_watermark = outcome.high_watermark;
        include = true;
    }
    if (p.last_stable_offset != outcome.last_stable_offset) {
        p.last_stable_offset = outcome.last_stable_offset;
        include = true;
    }
    if (p.answered_log_start_offset != outcome.log_start_offset) {
        p.answered_log_start_offset = outcome.log_start_offset;
        include = true;
    }
    if (outcome.records_bytes > 0) {
        // Round robin: the partitions that just got data wait at the back.
        partitions_.splice(partitions_.end(), partitions_, it->second);
    }
    return include;
}

// ---- fetch_session_cache --------------------------------------------------

fetch_session_cache::fetch_session_cache(fetch_session_limits limits, size_t shard, size_t shards, uint64_t seed)
    : limits_(limits), shard_(shard), shards_(shards), random_(seed) {
    assert(shards_ >= 1 && shard_ < shards_);
}

fetch_session_context fetch_session_cache::open(int32_t session_id, int32_t epoch, int64_t now_ms) {
    fetch_session_context out;
    if (epoch == initial_fetch_epoch || epoch == final_fetch_epoch) {
        // A full request: the session it names (if any) is over.
        if (session_id != no_fetch_session_id) {
            remove(session_id);
        }
        out.type = epoch == initial_fetch_epoch ? fetch_session_context::kind::full
                                                 : fetch_session_context::kind::sessionless;
        return out;
    }
    if (epoch < final_fetch_epoch) {
        out.type = fetch_session_context::kind::error;
        out.error = proto::error_code::invalid_fetch_session_epoch;
        return out;
    }
    fetch_session* session = find(session_id);
    if (session == nullptr) {
        out.type = fetch_session_context::kind::error;
        out.error = proto::error_code::fetch_session_id_not_found;
        return out;
    }
    if (session->next_epoch_ != epoch) {
        out.type = fetch_session_context::kind::error;
        out.error = proto::error_code::invalid_fetch_session_epoch;
        return out;
    }
    session->next_epoch_ = next_fetch_epoch(epoch);
    touch(*session, now_ms);
    out.type = fetch_session_context::kind::incremental;
    out.session = session;
    return out;
}

fetch_session* fetch_session_cache::find(int32_t id) {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.get();
}

bool fetch_session_cache::remove(int32_t id) { return sessions_.erase(id) > 0; }

void fetch_session_cache::touch(fetch_session& session, int64_t now_ms) {
    session.last_used_ms_ = std::max(session.last_used_ms_, now_ms);
}

size_t fetch_session_cache::partition_count() const {
    size_t n = 0;
    for (const auto& [id, s] : sessions_) {
        n += s->size();
    }
    return n;
}

fetch_session* fetch_session_cache::eviction_candidate(bool privileged, size_t size, int64_t now_ms) {
    // First choice: the least recently used session, if it has been idle
    // past the eviction time (its client has most likely gone).
    fetch_session* stalest = nullptr;
    for (auto& [id, s] : sessions_) {
        if (stalest == nullptr || s->last_used_ms_ < stalest->last_used_ms_) {
            stalest = s.get();
        }
    }
    if (stalest != nullptr && now_ms - stalest->last_used_ms_ > limits_.eviction_ms) {
        return stalest;
    }
    // Otherwise the least valuable session the newcomer may displace: any
    // session older than the eviction time, and, for a follower (privileged),
    // any consumer's. Value is (privileged, partitions); the newcomer must be
    // worth strictly more, so that two clients cannot evict each other forever.
    fetch_session* least = nullptr;
    auto value = [](const fetch_session& s) { return std::make_tuple(s.privileged_, s.size(), s.id_); };
    for (auto& [id, s] : sessions_) {
        const bool old_enough = now_ms - s->created_ms_ > limits_.eviction_ms;
        const bool displaceable = old_enough || (privileged && !s->privileged_);
        if (displaceable && (least == nullptr || value(*s) < value(*least))) {
            least = s.get();
        }
    }
    if (least == nullptr || std::make_tuple(privileged, size) <= std::make_tuple(least->privileged_, least->size())) {
        return nullptr;
    }
    return least;
}

int32_t fetch_session_cache::new_id() {
    // Positive, unused, and congruent to this shard modulo the shard count.
    const auto span = static_cast<uint64_t>(std::numeric_limits<int32_t>::max() / static_cast<int32_t>(shards_));
    for (;;) {
        const auto id = static_cast<int32_t>((random_() % span) * shards_ + shard_);
        if (id != no_fetch_session_id && id > 0 && !sessions_.contains(id)) {
            return id;
        }
    }
}

fetch_session* fetch_session_cache::create(bool privileged, std::vector<fetch_session_partition> partitions,
                                           int64_t now_ms) {
    if (limits_.slots == 0) {
        return nullptr;
    }
    if (sessions_.size() >= limits_.slots) {
        fetch_session* victim = eviction_candidate(privileged, partitions.size(), now_ms);
        if (victim == nullptr) {
            return nullptr;
        }
        remove(victim->id());
        ++evictions_;
    }
    assert(sessions_.size() < limits_.slots);
    const int32_t id = new_id();
    auto session = std::make_unique<fetch_session>(id, privileged, now_ms);
    for (const auto& p : partitions) {
        session->upsert(p);
    }
    auto* raw = session.get();
    sessions_.emplace(id, std::move(session));
    return raw;
}

} // namespace runnel::broker
