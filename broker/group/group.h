// One consumer group of the classic protocol as a state machine without I/O:
// membership (JoinGroup with KIP-394's member-id round trip, static members
// of KIP-345), generations, the leader's assignment passed through SyncGroup,
// heartbeats and session expiry, and the committed offsets. Time comes in as
// now_ms arguments; waiting requests are callbacks it calls when their answer
// is known; what must be written to __consumer_offsets before an answer is
// handed out as store requests. The coordinator (coordinator.h) is the I/O
// shell around it. Everything here runs on one shard.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/group/offsets_records.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

namespace runnel::broker {

// Kafka's group states, with Kafka's names (to_string) on the wire.
enum class group_state : uint8_t { empty, preparing_rebalance, completing_rebalance, stable, dead };
std::string_view to_string(group_state state);
// "Empty" -> empty, ..., case-insensitive as Kafka's ListGroups filter; nullopt if unknown.
std::optional<group_state> parse_group_state(std::string_view name);

// Broker settings every group follows (group.* and offsets.* keys).
struct group_config {
    int32_t min_session_timeout_ms = 6000;       // group.min.session.timeout.ms
    int32_t max_session_timeout_ms = 1800000;    // group.max.session.timeout.ms
    int32_t max_size = INT32_MAX;                // group.max.size
    int32_t initial_rebalance_delay_ms = 3000;   // group.initial.rebalance.delay.ms
    int64_t offsets_retention_ms = 7 * 86400000LL; // offsets.retention.minutes
    int32_t offset_metadata_max_bytes = 4096;    // offset.metadata.max.bytes
    // A member that joined (and was given its id) but never completed a
    // rebalance is dropped after this long (Kafka's fixed five minutes).
    int64_t new_member_join_timeout_ms = 300000;
};

// Makes the unique part of a member id (Kafka: a UUID). Injected so that
// tests are deterministic.
using member_id_suffix_fn = std::function<std::string()>;

struct join_protocol {
    std::string name;
    proto::bytes metadata;
    bool operator==(const join_protocol&) const = default;
};

struct join_request {
    std::string member_id; // empty: a new member
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0; // the session timeout when the client did not send one (v0)
    std::string protocol_type;
    std::vector<join_protocol> protocols;
    // JoinGroup v4+: a new member first gets MEMBER_ID_REQUIRED and its id (KIP-394).
    bool require_known_member_id = false;
    // JoinGroup v9+ knows skip_assignment (KIP-814).
    bool supports_skip_assignment = false;
};

struct join_member_info {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    proto::bytes metadata;
};

struct join_result {
    proto::error_code error = proto::error_code::none;
    int32_t generation = -1;
    std::optional<std::string> protocol_type;
    std::optional<std::string> protocol_name;
    std::string leader;
    bool skip_assignment = false;
    std::string member_id;
    std::vector<join_member_info> members; // the leader's answer only
};
using join_callback = std::function<void(join_result)>;

struct sync_request {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    int32_t generation = -1;
    std::optional<std::string> protocol_type; // v5+: checked when given
    std::optional<std::string> protocol_name;
    std::vector<std::pair<std::string, proto::bytes>> assignments; // from the leader
};

struct sync_result {
    proto::error_code error = proto::error_code::none;
    std::optional<std::string> protocol_type;
    std::optional<std::string> protocol_name;
    proto::bytes assignment;
};
using sync_callback = std::function<void(sync_result)>;

struct member_identity {
    std::string member_id; // empty with an instance id: remove that static member (admin)
    std::optional<std::string> group_instance_id;
};

struct topic_partition_key {
    std::string topic;
    int32_t partition = 0;
    auto operator<=>(const topic_partition_key&) const = default;
};

struct committed_offset {
    group_records::offset_value value;
    int64_t log_offset = -1; // of the record that set it: later records win
};

// What DescribeGroups shows of a member.
struct member_summary {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    proto::bytes metadata;   // only when the group is Stable (as Kafka)
    proto::bytes assignment; // only when the group is Stable
};

struct group_summary {
    group_state state = group_state::dead;
    std::string protocol_type;
    std::string protocol; // "" unless Stable
    std::vector<member_summary> members;
};

// A write the group needs before it can go on: the group's metadata record
// (or, for the coordinator's own deletions, tombstones). The coordinator
// appends it and reports the outcome with group::stored(id, ...).
struct store_request {
    uint64_t id = 0;
    group_records::group_value value;
};

class group {
public:
    group(std::string id, const group_config& config, member_id_suffix_fn suffix, int64_t now_ms);
    // Rebuilt from __consumer_offsets: Empty without members, else Stable
    // with the stored generation, leader and assignments; every member's
    // session starts now.
    static group loaded(std::string id, const group_records::group_value& value, const group_config& config,
                        member_id_suffix_fn suffix, int64_t now_ms);

    const std::string& id() const { return id_; }
    group_state state() const { return state_; }
    int32_t generation() const { return generation_; }
    const std::optional<std::string>& protocol_type() const { return protocol_type_; }
    const std::optional<std::string>& protocol_name() const { return protocol_name_; }
    const std::optional<std::string>& leader() const { return leader_; }
    size_t member_count() const { return members_.size(); }
    size_t pending_member_count() const { return pending_members_.size(); }
    bool has_member(const std::string& member_id) const { return members_.contains(member_id); }
    // The current assignment of a member (empty if unknown).
    proto::bytes assignment_of(const std::string& member_id) const;
    std::optional<std::string> static_member_id(const std::string& instance_id) const;

    // ---- Requests. Callbacks may run before the call returns.
    void join(const join_request& request, int64_t now_ms, join_callback done);
    void sync(const sync_request& request, int64_t now_ms, sync_callback done);
    proto::error_code heartbeat(const std::string& member_id, const std::optional<std::string>& instance_id,
                                int32_t generation, int64_t now_ms);
    // One error per member, in order.
    std::vector<proto::error_code> leave(const std::vector<member_identity>& members, int64_t now_ms);
    // OffsetCommit: may these offsets be committed (generation -1: a simple
    // consumer, allowed while the group is Empty)?
    proto::error_code validate_offset_commit(const std::string& member_id,
                                             const std::optional<std::string>& instance_id, int32_t generation,
                                             int64_t now_ms);

    // ---- Time: session and join/sync deadlines. Call regularly.
    void tick(int64_t now_ms);

    // ---- Persistence.
    // The next write the group waits for, if any (in order).
    std::optional<store_request> take_store_request();
    // The outcome of a store request.
    void stored(uint64_t id, proto::error_code error, int64_t now_ms);

    // ---- Offsets.
    const std::map<topic_partition_key, committed_offset>& offsets() const { return offsets_; }
    // Sets the offset if the record is newer than the one that set the current value.
    void apply_offset(const topic_partition_key& key, const group_records::offset_value& value, int64_t log_offset);
    void remove_offset(const topic_partition_key& key) { offsets_.erase(key); }
    // offsets.retention.minutes (KIP-211): offsets whose time is up. An
    // Empty group counts from when it became Empty (or each commit when it
    // never had members); a Stable consumer group only expires offsets of
    // topics no member subscribes to; an explicit expire timestamp wins.
    std::vector<topic_partition_key> expired_offsets(int64_t now_ms) const;
    // The topics members subscribe to, when every member uses the "consumer"
    // protocol type and its subscription decodes; nullopt otherwise.
    std::optional<std::set<std::string>> subscribed_topics() const;

    // ---- Descriptions.
    group_summary summary() const;
    // The group's record as it would be stored now (current assignments).
    group_records::group_value to_record() const;
    // DeleteGroups and retention: the group is gone (only when Empty).
    void mark_dead();
    // The coordinator stops serving the group (its partition went away):
    // every waiting request is answered with `error`.
    void abandon(proto::error_code error);

private:
    struct member {
        std::string member_id;
        std::optional<std::string> group_instance_id;
        std::string client_id;
        std::string client_host;
        int32_t session_timeout_ms = 0;
        int32_t rebalance_timeout_ms = 0;
        std::string protocol_type;
        std::vector<join_protocol> protocols;
        proto::bytes assignment;
        join_callback awaiting_join; // set while its JoinGroup waits
        sync_callback awaiting_sync; // set while its SyncGroup waits
        int64_t last_heartbeat_ms = 0;
        bool is_new = false; // joined in the current rebalance as a new member
        bool supports_skip_assignment = false;
    };
    enum class store_purpose : uint8_t { plain, sync_assignments, static_rejoin };
    struct pending_store {
        store_purpose purpose = store_purpose::plain;
        int32_t generation = 0;
        std::string member_id;     // static_rejoin: the new member id
        std::string old_member_id; // static_rejoin: the id it replaced
        std::optional<std::string> old_leader;
    };
    struct pending_member {
        int64_t deadline_ms = 0;
    };

    proto::error_code check_join(const join_request& request) const;
    bool supports_protocols(const std::string& protocol_type, const std::vector<join_protocol>& protocols,
                            const std::string* except_member) const;
    bool accepts_joining_member(const join_request& request) const;
    void join_new_member(const join_request& request, int64_t now_ms, join_callback done);
    void join_known_member(const join_request& request, int64_t now_ms, join_callback done);
    void rejoin_static_member(const join_request& request, const std::string& old_member_id, int64_t now_ms,
                              join_callback done);
    void add_member_and_rebalance(const join_request& request, std::string member_id, int64_t now_ms,
                                  join_callback done);
    void update_member_and_rebalance(member& m, const join_request& request, int64_t now_ms, join_callback done);
    void update_member(member& m, const join_request& request, join_callback done);
    join_result current_join_result(const member& m, bool include_members) const;
    std::vector<join_member_info> member_infos() const;

    void maybe_prepare_rebalance(int64_t now_ms);
    void prepare_rebalance(int64_t now_ms);
    void maybe_complete_join(int64_t now_ms);
    void complete_join(int64_t now_ms);
    void complete_sync(int32_t generation, int64_t now_ms);
    void fail_sync(proto::error_code error, int64_t now_ms);
    bool all_members_joined() const;
    int32_t max_rebalance_timeout_ms() const;
    std::string select_protocol() const;

    void remove_member(const std::string& member_id, proto::error_code callback_error, int64_t now_ms);
    void remove_member_and_update(const std::string& member_id, int64_t now_ms);
    void expire_sessions(int64_t now_ms);
    void transition(group_state next, int64_t now_ms);
    bool is_fenced(const std::optional<std::string>& instance_id, const std::string& member_id) const;
    uint64_t request_store(pending_store purpose, group_records::group_value value);
    group_records::group_value record_with(const std::map<std::string, proto::bytes>& assignments) const;

    std::string id_;
    group_config config_;
    member_id_suffix_fn suffix_;
    group_state state_ = group_state::empty;
    int64_t state_timestamp_ms_ = 0;
    int32_t generation_ = 0;
    std::optional<std::string> protocol_type_;
    std::optional<std::string> protocol_name_;
    std::optional<std::string> leader_;
    std::map<std::string, member> members_;                   // by member id
    std::map<std::string, std::string> static_members_;       // instance id -> member id
    std::map<std::string, pending_member> pending_members_;   // KIP-394: ids handed out, not yet joined
    std::set<std::string> pending_sync_;                      // members yet to send SyncGroup this generation
    // Rebalance timing: the join phase ends at join_deadline_ms_ (or when
    // everyone has joined, unless an initial delay is running).
    int64_t join_deadline_ms_ = 0;
    bool initial_delay_ = false;
    int64_t initial_delay_remaining_ms_ = 0;
    bool new_member_added_ = false;
    int64_t sync_deadline_ms_ = 0;
    // The leader's assignments waiting for their record to be stored.
    std::map<std::string, proto::bytes> pending_assignments_;
    int32_t sync_store_generation_ = -1; // the generation whose assignment is being stored
    std::map<uint64_t, pending_store> stores_in_flight_;
    std::deque<store_request> store_queue_;
    uint64_t next_store_id_ = 1;
    std::map<topic_partition_key, committed_offset> offsets_;
};

} // namespace runnel::broker
