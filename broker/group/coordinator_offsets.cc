// The coordinator's offset operations: OffsetCommit, OffsetFetch,
// DeleteGroups, OffsetDelete and the expiry of offsets past
// offsets.retention.minutes. Every change is a record appended to the
// group's __consumer_offsets partition before it is answered.
#include <cassert>

#include <fmt/format.h>

#include "broker/group/coordinator.h"
#include "broker/group/coordinator_internal.h"
#include "broker/logging.h"
#include "broker/shards.h"

namespace runnel::broker {

using coordinator_detail::now_ms;
using proto::error_code;

namespace {

group_records::offset_key key_of(const std::string& group_id, const topic_partition_key& tp) {
    return group_records::offset_key{group_id, tp.topic, tp.partition};
}

} // namespace

// ---- OffsetCommit -----------------------------------------------------------------

asio::awaitable<std::vector<error_code>> group_coordinator::commit_offsets(std::string group_id,
                                                                           offset_commit_request request) {
    const location where = locate(group_id);
    if (where.error != error_code::none) {
        co_return std::vector<error_code>(request.offsets.size(), where.error);
    }
    auto work = run_on(shards_.executor(where.shard), [this, where, group_id = std::move(group_id),
                                                               request = std::move(request)]() mutable {
        return commit_on_shard(where, std::move(group_id), std::move(request));
    });
    co_return co_await std::move(work); // not inside the co_await: GCC PR 100611
}

asio::awaitable<std::vector<error_code>> group_coordinator::commit_on_shard(location where, std::string group_id,
                                                                            offset_commit_request request) {
    const size_t n = request.offsets.size();
    error_code error = error_code::none;
    hosted_partition* hp = ready_partition(where.shard, where.partition, error);
    if (hp == nullptr) {
        co_return std::vector<error_code>(n, error);
    }
    const int64_t now = now_ms();
    auto g = find_group(*hp, group_id);
    if (g == nullptr) {
        if (request.generation >= 0) {
            // A member of a group this coordinator does not know.
            co_return std::vector<error_code>(n, request.group_id_not_found_when_unknown
                                                     ? error_code::group_id_not_found
                                                     : error_code::illegal_generation);
        }
        g = create_group(where.shard, *hp, group_id); // a simple consumer's group: offsets only
    }
    error = g->validate_offset_commit(request.member_id, request.group_instance_id, request.generation, now);
    if (error != error_code::none) {
        co_return std::vector<error_code>(n, error);
    }
    std::vector<error_code> out(n, error_code::none);
    std::vector<kv_record> records;
    std::vector<std::pair<size_t, group_records::offset_value>> written;
    for (size_t i = 0; i < n; ++i) {
        const offset_to_commit& c = request.offsets[i];
        const std::string metadata = c.metadata.value_or("");
        if (metadata.size() > static_cast<size_t>(std::max(options_.groups.offset_metadata_max_bytes, 0))) {
            out[i] = error_code::offset_metadata_too_large;
            continue;
        }
        group_records::offset_value v;
        v.offset = c.offset;
        v.leader_epoch = c.leader_epoch;
        v.metadata = metadata;
        v.commit_timestamp = c.commit_timestamp >= 0 ? c.commit_timestamp : now;
        v.expire_timestamp = request.retention_ms >= 0 ? now + request.retention_ms : group_records::no_timestamp;
        records.push_back(kv_record{group_records::encode_key(key_of(group_id, {c.topic, c.partition})),
                                    group_records::encode_value(v)});
        written.emplace_back(i, std::move(v));
    }
    if (records.empty()) {
        co_return out;
    }
    auto at = append(*hp, std::move(records), now);
    if (auto* e = std::get_if<error_code>(&at)) {
        const error_code mapped = *e == error_code::record_list_too_large ? error_code::invalid_commit_offset_size : *e;
        for (const auto& [i, v] : written) {
            out[i] = mapped;
        }
        co_return out;
    }
    // Applied now, in log order, so that a later commit or deletion cannot
    // be overtaken; answered once durable.
    int64_t log_offset = std::get<int64_t>(at);
    for (const auto& [i, v] : written) {
        const offset_to_commit& c = request.offsets[i];
        g->apply_offset(topic_partition_key{c.topic, c.partition}, v, log_offset++);
    }
    const error_code durable = co_await wait_durable(hp->log, log_offset);
    if (durable != error_code::none) {
        for (const auto& [i, v] : written) {
            out[i] = durable;
        }
    }
    co_return out;
}

// ---- OffsetFetch ---------------------------------------------------------------------

asio::awaitable<offset_fetch_outcome> group_coordinator::fetch_offsets(
    std::string group_id, std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> topics) {
    const location where = locate(group_id);
    if (where.error != error_code::none) {
        offset_fetch_outcome out;
        out.error = where.error;
        co_return out;
    }
    auto work = run_on(shards_.executor(where.shard), [=, this]() -> asio::awaitable<offset_fetch_outcome> {
        offset_fetch_outcome out;
        hosted_partition* hp = ready_partition(where.shard, where.partition, out.error);
        if (hp == nullptr) {
            co_return out;
        }
        auto g = find_group(*hp, group_id);
        if (!topics) {
            if (g != nullptr) {
                for (const auto& [tp, c] : g->offsets()) {
                    out.offsets.push_back(fetched_offset{tp.topic, tp.partition, c.value.offset, c.value.leader_epoch,
                                                         c.value.metadata});
                }
            }
            co_return out;
        }
        for (const auto& [topic, indexes] : *topics) {
            for (int32_t index : indexes) {
                fetched_offset f{topic, index, -1, -1, ""};
                if (g != nullptr) {
                    if (auto it = g->offsets().find(topic_partition_key{topic, index}); it != g->offsets().end()) {
                        f.offset = it->second.value.offset;
                        f.leader_epoch = it->second.value.leader_epoch;
                        f.metadata = it->second.value.metadata;
                    }
                }
                out.offsets.push_back(std::move(f));
            }
        }
        co_return out;
    });
    co_return co_await std::move(work); // not inside the co_await: GCC PR 100611
}

// ---- DeleteGroups, OffsetDelete --------------------------------------------------------

asio::awaitable<error_code> group_coordinator::delete_group(std::string group_id) {
    const location where = locate(group_id);
    if (where.error != error_code::none) {
        co_return where.error;
    }
    auto work = run_on(shards_.executor(where.shard),
                              [this, where, group_id = std::move(group_id)]() mutable {
                                  return delete_group_on_shard(where, std::move(group_id));
                              });
    co_return co_await std::move(work); // not inside the co_await: GCC PR 100611
}

asio::awaitable<error_code> group_coordinator::delete_group_on_shard(location where, std::string group_id) {
    error_code error = error_code::none;
    hosted_partition* hp = ready_partition(where.shard, where.partition, error);
    if (hp == nullptr) {
        co_return error;
    }
    auto g = find_group(*hp, group_id);
    if (g == nullptr || g->state() == group_state::dead) {
        co_return error_code::group_id_not_found;
    }
    if (g->state() != group_state::empty || g->member_count() > 0) {
        co_return error_code::non_empty_group;
    }
    std::vector<kv_record> records;
    for (const auto& [tp, c] : g->offsets()) {
        records.push_back(kv_record{group_records::encode_key(key_of(group_id, tp)), std::nullopt});
    }
    records.push_back(kv_record{group_records::encode_key(group_records::group_key{group_id}), std::nullopt});
    const auto count = static_cast<int64_t>(records.size());
    auto at = append(*hp, std::move(records), now_ms());
    if (auto* e = std::get_if<error_code>(&at)) {
        co_return *e == error_code::record_list_too_large ? error_code::unknown_server_error : *e;
    }
    g->abandon(error_code::coordinator_not_available);
    g->mark_dead();
    hp->groups.erase(group_id);
    co_return co_await wait_durable(hp->log, std::get<int64_t>(at) + count);
}

asio::awaitable<offset_delete_outcome> group_coordinator::delete_offsets(std::string group_id,
                                                                         std::vector<topic_partition_key> partitions) {
    const location where = locate(group_id);
    if (where.error != error_code::none) {
        offset_delete_outcome out;
        out.error = where.error;
        co_return out;
    }
    auto work = run_on(shards_.executor(where.shard), [this, where, group_id = std::move(group_id),
                                                               partitions = std::move(partitions)]() mutable {
        return delete_offsets_on_shard(where, std::move(group_id), std::move(partitions));
    });
    co_return co_await std::move(work); // not inside the co_await: GCC PR 100611
}

asio::awaitable<offset_delete_outcome> group_coordinator::delete_offsets_on_shard(
    location where, std::string group_id, std::vector<topic_partition_key> partitions) {
    offset_delete_outcome out;
    hosted_partition* hp = ready_partition(where.shard, where.partition, out.error);
    if (hp == nullptr) {
        co_return out;
    }
    auto g = find_group(*hp, group_id);
    if (g == nullptr || g->state() == group_state::dead) {
        out.error = error_code::group_id_not_found;
        co_return out;
    }
    // Offsets of topics the members still consume may not go (Kafka's rule);
    // a group of another protocol type with members cannot be checked.
    std::optional<std::set<std::string>> subscribed;
    if (g->state() != group_state::empty) {
        subscribed = g->subscribed_topics();
        if (!subscribed && g->protocol_type() != "consumer") {
            out.error = error_code::non_empty_group;
            co_return out;
        }
        if (!subscribed) {
            subscribed.emplace(); // members whose subscription does not decode: nothing is protected
        }
    }
    out.partitions.assign(partitions.size(), error_code::none);
    std::vector<kv_record> records;
    std::vector<topic_partition_key> removed;
    for (size_t i = 0; i < partitions.size(); ++i) {
        const topic_partition_key& tp = partitions[i];
        if (subscribed && subscribed->contains(tp.topic)) {
            out.partitions[i] = error_code::group_subscribed_to_topic;
            continue;
        }
        if (g->offsets().contains(tp)) {
            records.push_back(kv_record{group_records::encode_key(key_of(group_id, tp)), std::nullopt});
            removed.push_back(tp);
        }
    }
    if (records.empty()) {
        co_return out;
    }
    const auto count = static_cast<int64_t>(records.size());
    auto at = append(*hp, std::move(records), now_ms());
    if (auto* e = std::get_if<error_code>(&at)) {
        out.error = *e == error_code::record_list_too_large ? error_code::unknown_server_error : *e;
        co_return out;
    }
    for (const auto& tp : removed) {
        g->remove_offset(tp);
    }
    out.error = co_await wait_durable(hp->log, std::get<int64_t>(at) + count);
    co_return out;
}

// ---- Retention ----------------------------------------------------------------------------

void group_coordinator::expire_offsets(size_t /*shard*/, int32_t index, hosted_partition& hp, int64_t now_ms) {
    std::vector<kv_record> records;
    std::vector<std::pair<std::shared_ptr<group>, std::vector<topic_partition_key>>> expired;
    std::vector<std::string> dead;
    for (const auto& [id, g] : hp.groups) {
        auto gone = g->expired_offsets(now_ms);
        for (const auto& tp : gone) {
            records.push_back(kv_record{group_records::encode_key(key_of(id, tp)), std::nullopt});
        }
        const bool all_gone = gone.size() == g->offsets().size();
        if (g->state() == group_state::empty && g->member_count() == 0 && g->pending_member_count() == 0 &&
            all_gone) {
            // An Empty group without offsets is forgotten (Kafka: Dead).
            records.push_back(kv_record{group_records::encode_key(group_records::group_key{id}), std::nullopt});
            dead.push_back(id);
        }
        if (!gone.empty()) {
            expired.emplace_back(g, std::move(gone));
        }
    }
    if (records.empty()) {
        return;
    }
    const size_t tombstones = records.size();
    auto at = append(hp, std::move(records), now_ms);
    if (auto* e = std::get_if<error_code>(&at)) {
        get_logger("groups")->warn("{}-{}: writing {} expired offsets failed: {}", group_records::offsets_topic,
                                   index, tombstones, proto::error_name(*e));
        return;
    }
    for (auto& [g, gone] : expired) {
        for (const auto& tp : gone) {
            g->remove_offset(tp);
        }
    }
    for (const auto& id : dead) {
        if (auto it = hp.groups.find(id); it != hp.groups.end()) {
            it->second->mark_dead();
            hp.groups.erase(it);
        }
    }
    get_logger("groups")->info("{}-{}: removed {} expired offset(s), {} group(s)", group_records::offsets_topic, index,
                               tombstones - dead.size(), dead.size());
}

} // namespace runnel::broker
