// Incremental fetch sessions (KIP-227): a consumer or follower that fetches
// the same partitions again and again names them once; later requests carry
// only what changed, and answers only the partitions that have news. One
// cache per shard (a connection stays on its shard), bounded, with eviction.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/errors.h"
#include "protocol/wire.h"

namespace runnel::broker {

// The session fields of a Fetch request (v7+).
inline constexpr int32_t no_fetch_session_id = 0;
inline constexpr int32_t initial_fetch_epoch = 0; // "create a session" (full request)
inline constexpr int32_t final_fetch_epoch = -1;  // "no session / close it" (full request)

// A partition as a session names it: by topic name, or by topic id (v13+).
struct fetch_key {
    proto::uuid topic_id;
    std::string topic;
    int32_t partition = 0;
    auto operator<=>(const fetch_key&) const = default;
};

// What the client asked for one partition, and what it was last told.
struct fetch_session_partition {
    fetch_key key;
    int64_t fetch_offset = 0;
    int64_t log_start_offset = -1; // the follower's, unused for consumers
    int32_t partition_max_bytes = 0;
    int32_t current_leader_epoch = -1;
    int32_t last_fetched_epoch = -1;
    // Last sent: an incremental answer includes the partition again only if
    // these changed, or it has records or an error.
    int64_t high_watermark = -1;
    int64_t last_stable_offset = -1;
    int64_t answered_log_start_offset = -1;
};

// One partition's answer, as the session needs to judge it.
struct fetch_partition_outcome {
    int16_t error_code = 0;
    int64_t high_watermark = -1;
    int64_t last_stable_offset = -1;
    int64_t log_start_offset = -1;
    uint64_t records_bytes = 0;
    bool has_diverging_epoch = false;
};

class fetch_session {
public:
    fetch_session(int32_t id, bool privileged, int64_t now_ms) : id_(id), privileged_(privileged), created_ms_(now_ms), last_used_ms_(now_ms) {}

    int32_t id() const { return id_; }
    // The epoch the next incremental request must carry.
    int32_t next_epoch() const { return next_epoch_; }
    bool privileged() const { return privileged_; }
    int64_t created_ms() const { return created_ms_; }
    int64_t last_used_ms() const { return last_used_ms_; }
    size_t size() const { return partitions_.size(); }

    // In fetch order: partitions that got data move to the back so that a
    // size-limited answer reaches every partition in turn.
    const std::list<fetch_session_partition>& partitions() const { return partitions_; }

    // Adds the partition or updates what the client asks for it.
    void upsert(const fetch_session_partition& wanted);
    void forget(const fetch_key& key);
    fetch_session_partition* find(const fetch_key& key);

    // Decides whether an incremental answer includes this partition, and
    // remembers what it was told; moves it to the back when it has records.
    bool note_answer(const fetch_key& key, const fetch_partition_outcome& outcome, bool incremental);

private:
    friend class fetch_session_cache;
    int32_t id_;
    int32_t next_epoch_ = 1;
    bool privileged_;
    int64_t created_ms_;
    int64_t last_used_ms_;
    std::list<fetch_session_partition> partitions_;
    std::map<fetch_key, std::list<fetch_session_partition>::iterator> index_;
};

// The epoch that follows `epoch`: 1 after INT32_MAX, as Kafka's.
int32_t next_fetch_epoch(int32_t epoch);

struct fetch_session_limits {
    // max.incremental.fetch.session.cache.slots, divided among the shards.
    size_t slots = 1000;
    // min.incremental.fetch.session.eviction.ms: a session idle this long
    // may always be evicted; a younger one only for a more valuable one.
    int64_t eviction_ms = 120'000;
};

// What a Fetch request's session fields mean, decided before reading.
struct fetch_session_context {
    enum class kind : uint8_t {
        sessionless,  // v < 7, or epoch -1: answer every partition, no session
        full,         // epoch 0: answer every partition, then try to cache a session
        incremental,  // epoch > 0: the request updates the cached session
        error,        // the answer is this error alone (no partitions)
    };
    kind type = kind::sessionless;
    proto::error_code error = proto::error_code::none;
    fetch_session* session = nullptr; // incremental only
};

class fetch_session_cache {
public:
    // Session ids this cache gives out are congruent to shard mod shards, so
    // that an id presented on the wrong shard is never someone else's.
    fetch_session_cache(fetch_session_limits limits, size_t shard, size_t shards, uint64_t seed);

    // Interprets a request's session id and epoch. For an incremental
    // request, the session is returned with the epoch advanced; a full one
    // closes the session it names.
    fetch_session_context open(int32_t session_id, int32_t epoch, int64_t now_ms);

    // After a full request: caches a session with these partitions, evicting
    // another when full and allowed. nullptr when there was no room (the
    // client is told session id 0 and keeps sending full requests).
    fetch_session* create(bool privileged, std::vector<fetch_session_partition> partitions, int64_t now_ms);

    fetch_session* find(int32_t id);
    bool remove(int32_t id);
    // Records use (for eviction) and the session's current size.
    void touch(fetch_session& session, int64_t now_ms);
    size_t size() const { return sessions_.size(); }
    size_t partition_count() const;
    uint64_t evictions() const { return evictions_; }

private:
    // The least valuable session this newcomer may evict, if any.
    fetch_session* eviction_candidate(bool privileged, size_t size, int64_t now_ms);
    int32_t new_id();

    fetch_session_limits limits_;
    size_t shard_;
    size_t shards_;
    std::mt19937_64 random_;
    std::unordered_map<int32_t, std::unique_ptr<fetch_session>> sessions_;
    uint64_t evictions_ = 0;
};

} // namespace runnel::broker
