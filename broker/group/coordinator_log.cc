// The coordinator and the __consumer_offsets log: appending records the way
// Produce does (one batch, then the durability the flush policy promises),
// replaying a partition into groups when it opens, and the per-shard tick
// that drives group timers and offsets retention.
#include <cassert>
#include <chrono>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "broker/group/coordinator.h"
#include "broker/group/coordinator_internal.h"
#include "broker/logging.h"
#include "broker/partition_data.h"
#include "broker/shards.h"
#include "protocol/record_batch.h"

namespace runnel::broker {

using coordinator_detail::now_ms;
using proto::error_code;

// ---- Appending ------------------------------------------------------------------------

std::variant<int64_t, error_code> group_coordinator::append(hosted_partition& hp, std::vector<kv_record> records,
                                                            int64_t now) {
    assert(!records.empty());
    partition& p = *hp.log;
    if (p.removed()) {
        return error_code::not_coordinator;
    }
    proto::batch_builder builder(proto::batch_options{});
    for (const kv_record& r : records) {
        std::optional<proto::bytes_view> value;
        if (r.value) {
            value = proto::bytes_view(*r.value);
        }
        if (builder.add(now, proto::bytes_view(r.key), value) != proto::batch_error::none) {
            return error_code::record_list_too_large;
        }
    }
    auto built = builder.build();
    if (!built.ok()) {
        return error_code::record_list_too_large;
    }
    proto::bytes batch = std::move(built).value();
    storage::append_options options;
    options.leader_epoch = p.leader_epoch().value();
    options.now_ms = now;
    options.defer_flush = true;
    auto info = p.log().append(std::span<uint8_t>(batch.data(), batch.size()), options);
    if (!info.ok()) {
        get_logger("groups")->warn("append to {}-{}: {}", p.topic(), p.index().value(), info.err().message);
        return info.code() == storage::errc::too_large ? error_code::record_list_too_large
                                                       : error_code::not_coordinator;
    }
    partition_data::of(p).appended(info->last_offset, batch.size(), info->flush_needed);
    return info->base_offset;
}

asio::awaitable<error_code> group_coordinator::wait_durable(std::shared_ptr<partition> p, int64_t end_offset) {
    storage::status s = co_await partition_data::of(*p).wait_durable(end_offset);
    if (!s.ok()) {
        // The log is gone or failing: the client looks for the coordinator again.
        co_return error_code::not_coordinator;
    }
    co_return error_code::none;
}

void group_coordinator::write_pending_stores(size_t shard, int32_t index, const std::shared_ptr<group>& g) {
    auto& table = shard_states_.at(shard)->partitions;
    auto it = table.find(index);
    while (auto request = g->take_store_request()) {
        std::variant<int64_t, error_code> at = error_code::not_coordinator;
        std::shared_ptr<partition> log;
        if (it != table.end()) {
            log = it->second->log;
            std::vector<kv_record> records;
            records.push_back(kv_record{group_records::encode_key(group_records::group_key{g->id()}),
                                        group_records::encode_value(request->value)});
            at = append(*it->second, std::move(records), now_ms());
        }
        asio::co_spawn(shards_.executor(shard), finish_store(shard, index, g, request->id, std::move(log), at),
                       asio::detached);
    }
}

asio::awaitable<void> group_coordinator::finish_store(size_t shard, int32_t index, std::shared_ptr<group> g,
                                                      uint64_t store_id, std::shared_ptr<partition> p,
                                                      std::variant<int64_t, error_code> at) {
    error_code outcome = error_code::none;
    if (auto* e = std::get_if<error_code>(&at)) {
        outcome = *e == error_code::record_list_too_large ? error_code::unknown_server_error : *e;
    } else {
        outcome = co_await wait_durable(p, std::get<int64_t>(at) + 1);
    }
    // Only the group as it still is in the table hears the outcome.
    auto& table = shard_states_.at(shard)->partitions;
    auto it = table.find(index);
    if (it == table.end()) {
        co_return;
    }
    auto current = it->second->groups.find(g->id());
    if (current == it->second->groups.end() || current->second != g) {
        co_return;
    }
    g->stored(store_id, outcome, now_ms());
    write_pending_stores(shard, index, g);
}

// ---- Loading ---------------------------------------------------------------------------

namespace {

// What a replay has found so far: the latest record of every key.
struct replay_state {
    std::map<std::string, group_records::group_value> groups;
    std::map<std::string, std::map<topic_partition_key, committed_offset>> offsets;
    size_t records = 0;
    size_t undecodable = 0;
};

void replay_record(replay_state& st, const proto::record_view& record, int64_t offset,
                   const std::string& partition_name) {
    ++st.records;
    if (!record.key) {
        ++st.undecodable;
        return;
    }
    auto key = group_records::decode_key(*record.key);
    if (auto* failure = std::get_if<group_records::decode_failure>(&key)) {
        get_logger("groups")->warn("{} offset {}: skipping a record whose key does not decode: {}", partition_name,
                                   offset, failure->message);
        ++st.undecodable;
        return;
    }
    auto& k = std::get<group_records::record_key>(key);
    if (auto* ok = std::get_if<group_records::offset_key>(&k)) {
        const topic_partition_key tp{ok->topic, ok->partition};
        if (!record.value) {
            st.offsets[ok->group].erase(tp);
            return;
        }
        auto value = group_records::decode_offset_value(*record.value);
        if (auto* failure = std::get_if<group_records::decode_failure>(&value)) {
            get_logger("groups")->warn("{} offset {}: skipping an offset of group '{}' that does not decode: {}",
                                       partition_name, offset, ok->group, failure->message);
            ++st.undecodable;
            return;
        }
        st.offsets[ok->group][tp] = committed_offset{std::get<group_records::offset_value>(value), offset};
        return;
    }
    const auto& gk = std::get<group_records::group_key>(k);
    if (!record.value) {
        st.groups.erase(gk.group);
        return;
    }
    auto value = group_records::decode_group_value(*record.value);
    if (auto* failure = std::get_if<group_records::decode_failure>(&value)) {
        get_logger("groups")->warn("{} offset {}: skipping metadata of group '{}' that does not decode: {}",
                                   partition_name, offset, gk.group, failure->message);
        ++st.undecodable;
        return;
    }
    st.groups[gk.group] = std::move(std::get<group_records::group_value>(value));
}

// Replays the batches of one read; false (with a message) when the log is corrupt.
bool replay_bytes(replay_state& st, proto::bytes_view bytes, const std::string& partition_name, std::string& error) {
    proto::batch_splitter splitter(bytes);
    while (auto batch = splitter.next()) {
        const proto::batch_header header = proto::decode_batch_header(*batch);
        if (header.is_control()) {
            continue; // transaction markers carry no group data
        }
        auto reader = proto::record_reader::open(*batch, proto::default_decompressed_bytes_max);
        if (!reader.ok()) {
            error = fmt::format("batch at offset {}: {}", header.base_offset, proto::to_string(reader.error()));
            return false;
        }
        while (auto record = reader.value().next()) {
            replay_record(st, *record, proto::record_offset(header, *record), partition_name);
        }
        if (reader.value().error() != proto::batch_error::none) {
            error = fmt::format("batch at offset {}: {}", header.base_offset, proto::to_string(reader.value().error()));
            return false;
        }
    }
    if (splitter.error() != proto::batch_error::none) {
        error = proto::to_string(splitter.error());
        return false;
    }
    return true;
}

} // namespace

asio::awaitable<void> group_coordinator::load(size_t shard, int32_t index, std::shared_ptr<partition> p) {
    const auto started = std::chrono::steady_clock::now();
    const std::string name = fmt::format("{}-{}", p->topic(), index);
    auto still_hosted = [&]() -> hosted_partition* {
        auto& table = shard_states_.at(shard)->partitions;
        auto it = table.find(index);
        return it != table.end() && it->second->log == p && !p->removed() ? it->second.get() : nullptr;
    };
    replay_state st;
    int64_t offset = p->log().log_start_offset();
    const int64_t end = p->log().log_end_offset();
    std::string error;
    while (offset < end && error.empty()) {
        storage::read_options options;
        options.bytes_max = options_.load_chunk_bytes;
        options.max_offset = end;
        auto read = p->log().read(offset, options);
        if (!read.ok()) {
            error = read.err().message;
            break;
        }
        if (read->slices.empty() || read->next_offset <= offset) {
            break; // nothing below the end offset of the start any more
        }
        auto bytes = storage::partition_log::copy_slices(*read);
        if (!bytes.ok()) {
            error = bytes.err().message;
            break;
        }
        if (!replay_bytes(st, *bytes, name, error)) {
            break;
        }
        offset = read->next_offset;
        // Let the shard serve its other work between chunks.
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
        if (still_hosted() == nullptr) {
            co_return; // closed (deleted or shutting down) meanwhile
        }
    }
    hosted_partition* hp = still_hosted();
    if (hp == nullptr) {
        co_return;
    }
    if (!error.empty()) {
        get_logger("groups")->error("{}: replay stopped at offset {}: {}; its groups are not served", name, offset,
                                    error);
        hp->state = hosted_partition::status::failed;
        co_return;
    }
    const int64_t now = now_ms();
    for (const auto& [id, value] : st.groups) {
        hp->groups[id] = std::make_shared<group>(
            group::loaded(id, value, options_.groups, [this, shard] { return member_id_suffix(shard); }, now));
    }
    size_t offsets = 0;
    for (const auto& [id, committed] : st.offsets) {
        if (committed.empty()) {
            continue;
        }
        auto g = find_group(*hp, id);
        if (g == nullptr) {
            g = create_group(shard, *hp, id);
        }
        for (const auto& [tp, c] : committed) {
            g->apply_offset(tp, c.value, c.log_offset);
            ++offsets;
        }
    }
    hp->state = hosted_partition::status::loaded;
    const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    get_logger("groups")->info("{}: loaded {} group(s) and {} offset(s) from {} record(s) in {:.1f} ms{}", name,
                               hp->groups.size(), offsets, st.records, ms,
                               st.undecodable > 0 ? fmt::format(" ({} records skipped)", st.undecodable) : "");
}

// ---- Ticks -------------------------------------------------------------------------------

void group_coordinator::start() {
    for (size_t shard = 0; shard < shards_.size(); ++shard) {
        shard_states_.at(shard)->last_retention_check_ms = now_ms();
        asio::co_spawn(shards_.executor(shard), tick_loop(shard), asio::detached);
    }
}

void group_coordinator::abandon_waiting() {
    for (size_t shard = 0; shard < shards_.size(); ++shard) {
        asio::post(shards_.executor(shard), [this, shard] {
            for (auto& [index, hp] : shard_states_.at(shard)->partitions) {
                for (auto& [id, g] : hp->groups) {
                    g->abandon(error_code::not_coordinator);
                }
            }
        });
    }
}

asio::awaitable<void> group_coordinator::tick_loop(size_t shard) {
    asio::steady_timer timer(shards_.executor(shard));
    // Ends when the shard's loop stops (the wait then fails).
    for (;;) {
        timer.expires_after(std::chrono::milliseconds(options_.tick_interval_ms));
        auto [ec] = co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        if (ec) {
            co_return;
        }
        const int64_t now = now_ms();
        shard_state& state = *shard_states_.at(shard);
        const bool retention = now - state.last_retention_check_ms >= options_.retention_check_interval_ms;
        if (retention) {
            state.last_retention_check_ms = now;
        }
        tick_shard(shard, now, retention);
    }
}

void group_coordinator::tick_shard(size_t shard, int64_t now, bool check_retention) {
    auto& table = shard_states_.at(shard)->partitions;
    for (auto& [index, hp] : table) {
        if (hp->state != hosted_partition::status::loaded) {
            continue;
        }
        // A tick may answer requests whose coroutines touch the table only
        // after this returns (their resumption is posted), so iterating is safe.
        std::vector<std::shared_ptr<group>> groups;
        groups.reserve(hp->groups.size());
        for (const auto& [id, g] : hp->groups) {
            groups.push_back(g);
        }
        for (const auto& g : groups) {
            g->tick(now);
            write_pending_stores(shard, index, g);
        }
        if (check_retention) {
            expire_offsets(shard, index, *hp, now);
        }
    }
}

} // namespace runnel::broker
