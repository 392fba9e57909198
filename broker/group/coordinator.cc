// The coordinator's membership operations: where a group lives,
// FindCoordinator (and creating __consumer_offsets), JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup, ListGroups and DescribeGroups.
#include "broker/group/coordinator.h"

#include <cassert>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <fmt/format.h>

#include "broker/group/answer_slot.h"
#include "broker/group/coordinator_internal.h"
#include "broker/logging.h"
#include "broker/shards.h"

namespace runnel::broker {

using proto::error_code;

namespace coordinator_detail {
int64_t now_ms() { return partition_manager::now_ms(); }
} // namespace coordinator_detail

using coordinator_detail::now_ms;

group_coordinator::group_coordinator(coordinator_options options, shard_set& shards, partition_manager& partitions,
                                     metadata_cache& metadata, create_topic_fn create_topic)
    : options_(std::move(options)), shards_(shards), partitions_(partitions), metadata_(metadata),
      create_topic_(std::move(create_topic)) {
    for (size_t i = 0; i < shards_.size(); ++i) {
        shard_states_.push_back(std::make_unique<shard_state>());
    }
}

group_coordinator::~group_coordinator() = default;

std::string group_coordinator::member_id_suffix(size_t shard) {
    // A random (version 4) UUID in its usual text form, as Kafka uses.
    auto& random = shard_states_.at(shard)->random;
    const uint64_t hi = (random() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
    const uint64_t lo = (random() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
    return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
                       lo & 0xffffffffffffULL);
}

int32_t group_coordinator::partition_for(const std::string& group_id) const {
    auto image = metadata_.current();
    const topic_image* topic = image->find_topic(std::string(group_records::offsets_topic));
    const int32_t count = topic != nullptr && !topic->partitions.empty()
                              ? static_cast<int32_t>(topic->partitions.size())
                              : options_.offsets_topic_partitions;
    return group_records::partition_for(group_id, count);
}

group_coordinator::location group_coordinator::locate(const std::string& group_id) const {
    auto image = metadata_.current();
    const topic_image* topic = image->find_topic(std::string(group_records::offsets_topic));
    location out;
    if (topic == nullptr || topic->partitions.empty()) {
        // No coordinator until FindCoordinator has created the topic.
        out.error = error_code::not_coordinator;
        return out;
    }
    out.partition = group_records::partition_for(group_id, static_cast<int32_t>(topic->partitions.size()));
    out.shard = partitions_.shard_of(group_records::offsets_topic, model::partition_id(out.partition));
    return out;
}

group_coordinator::hosted_partition* group_coordinator::ready_partition(size_t shard, int32_t index,
                                                                        error_code& error) {
    auto& table = shard_states_.at(shard)->partitions;
    auto it = table.find(index);
    if (it == table.end()) {
        error = error_code::not_coordinator;
        return nullptr;
    }
    switch (it->second->state) {
    case hosted_partition::status::loading: error = error_code::coordinator_load_in_progress; return nullptr;
    case hosted_partition::status::failed: error = error_code::coordinator_not_available; return nullptr;
    case hosted_partition::status::loaded: break;
    }
    error = error_code::none;
    return it->second.get();
}

std::shared_ptr<group> group_coordinator::find_group(hosted_partition& hp, const std::string& group_id) const {
    auto it = hp.groups.find(group_id);
    return it == hp.groups.end() ? nullptr : it->second;
}

std::shared_ptr<group> group_coordinator::create_group(size_t shard, hosted_partition& hp,
                                                       const std::string& group_id) {
    auto g = std::make_shared<group>(group_id, options_.groups, [this, shard] { return member_id_suffix(shard); },
                                     now_ms());
    hp.groups[group_id] = g;
    return g;
}

// ---- partition_observer ---------------------------------------------------------

void group_coordinator::on_open(partition& p) {
    if (p.topic() != group_records::offsets_topic) {
        return;
    }
    const size_t shard = p.shard();
    const int32_t index = p.index().value();
    auto hp = std::make_unique<hosted_partition>();
    hp->log = partitions_.get(p.topic(), p.index());
    assert(hp->log.get() == &p);
    if (p.log().log_end_offset() <= p.log().log_start_offset()) {
        hp->state = hosted_partition::status::loaded; // nothing to replay
        shard_states_.at(shard)->partitions[index] = std::move(hp);
        return;
    }
    auto log = hp->log;
    shard_states_.at(shard)->partitions[index] = std::move(hp);
    asio::co_spawn(shards_.executor(shard), load(shard, index, std::move(log)), asio::detached);
}

void group_coordinator::on_close(partition& p, bool /*deleted*/) {
    if (p.topic() != group_records::offsets_topic) {
        return;
    }
    auto& table = shard_states_.at(p.shard())->partitions;
    auto it = table.find(p.index().value());
    if (it == table.end() || it->second->log.get() != &p) {
        return;
    }
    for (auto& [id, g] : it->second->groups) {
        g->abandon(error_code::not_coordinator);
    }
    table.erase(it);
}

// ---- FindCoordinator --------------------------------------------------------------

asio::awaitable<error_code> group_coordinator::ensure_offsets_topic() {
    if (metadata_.current()->find_topic(std::string(group_records::offsets_topic)) != nullptr) {
        co_return error_code::none;
    }
    if (!create_topic_) {
        co_return error_code::coordinator_not_available;
    }
    new_topic t;
    t.name = std::string(group_records::offsets_topic);
    t.num_partitions = options_.offsets_topic_partitions;
    t.replication_factor = options_.offsets_topic_replication_factor;
    t.configs = {{"cleanup.policy", "compact"},
                 {"compression.type", "producer"},
                 {"segment.bytes", std::to_string(options_.offsets_topic_segment_bytes)}};
    admin_error e = co_await create_topic_(std::move(t));
    if (e.ok() || e.code == error_code::topic_already_exists) {
        co_return error_code::none;
    }
    get_logger("groups")->warn("cannot create {}: {} {}", group_records::offsets_topic, proto::error_name(e.code),
                               e.message.value_or(""));
    co_return e.code;
}

asio::awaitable<coordinator_lookup> group_coordinator::find_coordinator(std::string group_id) {
    coordinator_lookup out;
    const error_code created = co_await ensure_offsets_topic();
    if (created != error_code::none) {
        out.error = error_code::coordinator_not_available;
        out.message = fmt::format("{} could not be created: {}", group_records::offsets_topic,
                                  proto::error_name(created));
        co_return out;
    }
    auto image = metadata_.current();
    const topic_image* topic = image->find_topic(std::string(group_records::offsets_topic));
    if (topic == nullptr || topic->partitions.empty()) {
        out.error = error_code::coordinator_not_available;
        co_return out;
    }
    const int32_t index = group_records::partition_for(group_id, static_cast<int32_t>(topic->partitions.size()));
    const broker_endpoint* leader = image->find_broker(topic->partitions[static_cast<size_t>(index)].leader);
    if (leader == nullptr) {
        out.error = error_code::coordinator_not_available;
        co_return out;
    }
    out.node_id = leader->node_id;
    out.host = leader->host;
    out.port = leader->port;
    co_return out;
}

// ---- JoinGroup, SyncGroup, Heartbeat, LeaveGroup -------------------------------------

asio::awaitable<join_result> group_coordinator::join_group(std::string group_id, join_request request) {
    const location where = locate(group_id);
    if (where.error != error_code::none) {
        join_result r;
        r.error = where.error;
        r.member_id = request.member_id;
        co_return r;
    }
    auto work = run_on(shards_.executor(where.shard), [this, where, group_id = std::move(group_id),
                                                               request = std::move(request)]() mutable {
        return join_on_shard(where, std::move(group_id), std::move(request));
    });
    co_return co_await std::move(work); // not inside the co_await: GCC PR 100611
}

asio::awaitable<join_result> group_coordinator::join_on_shard(location where, std::string group_id,
                                                              join_request request) {
    join_result refused;
    refused.member_id = request.member_id;
    hosted_partition* hp = ready_partition(where.shard, where.partition, refused.error);
    if (hp == nullptr) {
        co_return refused;
    }
    auto g = find_group(*hp, group_id);
    const bool created = g == nullptr;
    if (created) {
        if (!request.member_id.empty()) {
            refused.error = error_code::unknown_member_id;
            co_return refused;
        }
        g = create_group(where.shard, *hp, group_id);
    }
    auto slot = std::make_shared<answer_slot<join_result>>(shards_.executor(where.shard));
    g->join(request, now_ms(), answer_slot<join_result>::callback(slot));
    if (created && g->state() == group_state::empty && g->member_count() == 0 && g->pending_member_count() == 0) {
        hp->groups.erase(group_id); // refused at once: no group is left behind
    }
    write_pending_stores(where.shard, where.partition, g);
    co_return co_await answer_slot<join_result>::wait(slot);
}

asio::awaitable<sync_result> group_coordinator::sync_group(std::string group_id, sync_request request) {
    const location where = locate(group_id);
    if (where.error != error_code::none) {
        sync_result r;
        r.error = where.error;
        co_return r;
    }
    auto work = run_on(shards_.executor(where.shard), [this, where, group_id = std::move(group_id),
                                                               request = std::move(request)]() mutable {
        return sync_on_shard(where, std::move(group_id), std::move(request));
    });
    co_return co_await std::move(work); // not inside the co_await: GCC PR 100611
}

asio::awaitable<sync_result> group_coordinator::sync_on_shard(location where, std::string group_id,
                                                              sync_request request) {
    sync_result refused;
    hosted_partition* hp = ready_partition(where.shard, where.partition, refused.error);
    if (hp == nullptr) {
        co_return refused;
    }
    auto g = find_group(*hp, group_id);
    if (g == nullptr) {
        refused.error = error_code::unknown_member_id;
        co_return refused;
    }
    auto slot = std::make_shared<answer_slot<sync_result>>(shards_.executor(where.shard));
    g->sync(request, now_ms(), answer_slot<sync_result>::callback(slot));
    write_pending_stores(where.shard, where.partition, g);
    co_return co_await answer_slot<sync_result>::wait(slot);
}

asio::awaitable<error_code> group_coordinator::heartbeat(std::string group_id, std::string member_id,
                                                         std::optional<std::string> instance_id, int32_t generation) {
    const location where = locate(group_id);
    if (where.error != error_code::none) {
        co_return where.error;
    }
    auto work = run_on(shards_.executor(where.shard), [=, this]() -> asio::awaitable<error_code> {
        error_code error = error_code::none;
        hosted_partition* hp = ready_partition(where.shard, where.partition, error);
        if (hp == nullptr) {
            co_return error;
        }
        auto g = find_group(*hp, group_id);
        if (g == nullptr) {
            co_return error_code::unknown_member_id;
        }
        co_return g->heartbeat(member_id, instance_id, generation, now_ms());
    });
    co_return co_await std::move(work); // not inside the co_await: GCC PR 100611
}

asio::awaitable<leave_outcome> group_coordinator::leave_group(std::string group_id,
                                                              std::vector<member_identity> members) {
    const location where = locate(group_id);
    leave_outcome out;
    if (where.error != error_code::none) {
        out.error = where.error;
        co_return out;
    }
    auto work = run_on(shards_.executor(where.shard), [=, this]() -> asio::awaitable<leave_outcome> {
        leave_outcome result;
        hosted_partition* hp = ready_partition(where.shard, where.partition, result.error);
        if (hp == nullptr) {
            co_return result;
        }
        auto g = find_group(*hp, group_id);
        if (g == nullptr) {
            result.members.assign(members.size(), error_code::unknown_member_id);
            co_return result;
        }
        result.members = g->leave(members, now_ms());
        write_pending_stores(where.shard, where.partition, g);
        co_return result;
    });
    co_return co_await std::move(work); // not inside the co_await: GCC PR 100611
}

// ---- ListGroups, DescribeGroups -----------------------------------------------------

asio::awaitable<list_groups_outcome> group_coordinator::list_groups() {
    std::vector<list_groups_outcome> per_shard(shards_.size());
    for (size_t shard = 0; shard < shards_.size(); ++shard) {
        per_shard[shard] = co_await run_on(shards_.executor(shard), [this, shard]() -> asio::awaitable<list_groups_outcome> {
            list_groups_outcome out;
            for (const auto& [index, hp] : shard_states_.at(shard)->partitions) {
                if (hp->state == hosted_partition::status::loading) {
                    out.error = error_code::coordinator_load_in_progress;
                    continue;
                }
                for (const auto& [id, g] : hp->groups) {
                    if (g->state() == group_state::dead) {
                        continue;
                    }
                    out.groups.push_back(listed_group{id, g->protocol_type().value_or(""), g->state()});
                }
            }
            co_return out;
        });
    }
    list_groups_outcome all;
    for (auto& s : per_shard) {
        if (s.error != error_code::none) {
            all.error = s.error;
        }
        all.groups.insert(all.groups.end(), std::make_move_iterator(s.groups.begin()),
                          std::make_move_iterator(s.groups.end()));
    }
    co_return all;
}

asio::awaitable<describe_outcome> group_coordinator::describe_group(std::string group_id) {
    const location where = locate(group_id);
    describe_outcome out;
    if (where.error != error_code::none) {
        out.error = where.error;
        co_return out;
    }
    auto work = run_on(shards_.executor(where.shard), [=, this]() -> asio::awaitable<describe_outcome> {
        describe_outcome result;
        hosted_partition* hp = ready_partition(where.shard, where.partition, result.error);
        if (hp == nullptr) {
            co_return result;
        }
        if (auto g = find_group(*hp, group_id)) {
            result.summary = g->summary();
        }
        co_return result;
    });
    co_return co_await std::move(work); // not inside the co_await: GCC PR 100611
}

} // namespace runnel::broker
