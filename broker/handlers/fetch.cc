// Fetch (v4-v17): resolves the partitions (by name, or by topic id from v13)
// through the request's fetch session (KIP-227), reads each on its shard as
// slices of segment files within max_bytes and partition_max_bytes, waits
// for min_bytes up to max_wait_ms (woken by appends), and answers with the
// record data spliced in from the files (sendfile).
#include <chrono>
#include <map>

#include <asio/this_coro.hpp>

#include "broker/data_path.h"
#include "broker/drain_gate.h"
#include "broker/fetch_response_writer.h"
#include "broker/fetch_session.h"
#include "broker/handlers/handlers.h"
#include "broker/logging.h"
#include "broker/partition_data.h"
#include "protocol/errors.h"

namespace runnel::broker {

namespace {

using proto::error_code;
using clock = std::chrono::steady_clock;

constexpr int8_t read_committed = 1;
constexpr int16_t first_topic_id_version = 13;
constexpr int16_t first_session_version = 7;

// One partition of the answer being built.
struct fetch_item {
    fetch_session_partition want;
    std::string topic;       // the name, resolved from the id from v13
    bool topic_known = true; // false: UNKNOWN_TOPIC_ID / UNKNOWN_TOPIC_OR_PARTITION
    fetch_partition_answer answer;
};

struct read_budget {
    uint64_t remaining = 0;        // request max_bytes left
    bool first_batch_whole = true; // the first non-empty partition gets a whole batch (KIP-74)
    uint64_t bytes = 0;            // read so far
    bool any_error = false;
};

fetch_key key_of(const std::string& topic, const proto::uuid& id, int32_t partition, int16_t version) {
    fetch_key k;
    if (version >= first_topic_id_version) {
        k.topic_id = id;
    } else {
        k.topic = topic;
    }
    k.partition = partition;
    return k;
}

void set_error(fetch_item& item, error_code code) {
    item.answer = fetch_partition_answer{};
    item.answer.partition = item.want.key.partition;
    item.answer.error_code = proto::code(code);
}

// Reads one partition on its shard.
void read_one(fetch_item& item, partition* p, read_budget& budget, bool committed,
              const std::shared_ptr<fetch_wait>& wait) {
    item.answer = fetch_partition_answer{};
    item.answer.partition = item.want.key.partition;
    item.answer.aborted_transactions_null = !committed;
    if (p == nullptr) {
        set_error(item, error_code::unknown_topic_or_partition);
        return;
    }
    const int32_t epoch = p->leader_epoch().value();
    if (item.want.current_leader_epoch >= 0 && item.want.current_leader_epoch != epoch) {
        set_error(item, item.want.current_leader_epoch < epoch ? error_code::fenced_leader_epoch
                                                               : error_code::unknown_leader_epoch);
        return;
    }
    storage::partition_log& log = p->log();
    const int64_t high_watermark = p->high_watermark().value();
    item.answer.high_watermark = high_watermark;
    // No transactions yet: the last stable offset is the high watermark.
    item.answer.last_stable_offset = high_watermark;
    item.answer.log_start_offset = log.log_start_offset();
    const int64_t offset = item.want.fetch_offset;
    if (offset < log.log_start_offset() || offset > log.log_end_offset()) {
        set_error(item, error_code::offset_out_of_range);
        item.answer.high_watermark = high_watermark;
        item.answer.last_stable_offset = high_watermark;
        item.answer.log_start_offset = log.log_start_offset();
        return;
    }
    if (wait != nullptr) {
        partition_data::of(*p).add_fetch_waiter(wait);
    }
    // Consumers read below the high watermark (the LSO for read_committed,
    // the same thing while there are no transactions).
    const int64_t limit = high_watermark;
    if (offset >= limit) {
        return;
    }
    const uint64_t partition_max = static_cast<uint64_t>(std::max(item.want.partition_max_bytes, 0));
    storage::read_options options;
    options.bytes_max = std::min(partition_max, budget.remaining);
    options.min_one_batch = budget.first_batch_whole;
    options.max_offset = limit;
    if (options.bytes_max == 0 && !options.min_one_batch) {
        return;
    }
    auto read = log.read(offset, options);
    if (!read.ok()) {
        const storage::errc code = read.code();
        if (code != storage::errc::offset_out_of_range) {
            get_logger("data")->error("reading {}-{} at offset {}: {}", item.topic, item.want.key.partition, offset,
                                      read.err().message);
        }
        set_error(item, code == storage::errc::offset_out_of_range ? error_code::offset_out_of_range
                        : code == storage::errc::corrupt           ? error_code::corrupt_message
                                                                   : error_code::kafka_storage_error);
        return;
    }
    item.answer.records = std::move(read->slices);
    item.answer.records_bytes = read->bytes;
    if (read->bytes > 0) {
        budget.first_batch_whole = false;
        budget.bytes += read->bytes;
        budget.remaining -= std::min(budget.remaining, read->bytes);
    }
}

struct fetch_plan {
    std::vector<fetch_item> items;
    // Items grouped by shard, each group in request order; shards in the
    // order of their first item.
    std::vector<std::pair<size_t, std::vector<size_t>>> by_shard;
};

void group_by_shard(fetch_plan& plan, partition_manager& partitions) {
    std::map<size_t, size_t> slot;
    for (size_t i = 0; i < plan.items.size(); ++i) {
        const fetch_item& item = plan.items[i];
        if (!item.topic_known) {
            continue;
        }
        const size_t shard = partitions.shard_of(item.topic, model::partition_id(item.want.key.partition));
        auto [it, fresh] = slot.emplace(shard, plan.by_shard.size());
        if (fresh) {
            plan.by_shard.push_back({shard, {}});
        }
        plan.by_shard[it->second].second.push_back(i);
    }
}

// One pass over every partition, a shard at a time so that the byte budget
// is shared in request order.
asio::awaitable<read_budget> read_all(request_context& ctx, fetch_plan& plan, uint64_t max_bytes, bool committed,
                                      std::shared_ptr<fetch_wait> wait) {
    read_budget budget;
    budget.remaining = max_bytes;
    for (auto& item : plan.items) {
        if (!item.topic_known) {
            set_error(item, ctx.api_version >= first_topic_id_version ? error_code::unknown_topic_id
                                                                      : error_code::unknown_topic_or_partition);
            budget.any_error = true;
        }
    }
    partition_manager& partitions = *ctx.broker->partitions;
    for (auto& group : plan.by_shard) {
        const std::vector<size_t>& indexes = group.second;
        co_await run_on(ctx.broker->shards->executor(group.first), [&]() -> asio::awaitable<void> {
            for (size_t i : indexes) {
                fetch_item& item = plan.items[i];
                auto p = partitions.get(item.topic, model::partition_id(item.want.key.partition));
                read_one(item, p.get(), budget, committed, wait);
                budget.any_error = budget.any_error || item.answer.error_code != 0;
            }
            co_return;
        });
    }
    co_return budget;
}

// The partitions a request names, as session entries.
std::vector<fetch_session_partition> requested(const proto::fetch_request& request, int16_t version) {
    std::vector<fetch_session_partition> out;
    for (const auto& t : request.topics) {
        for (const auto& p : t.partitions) {
            fetch_session_partition w;
            w.key = key_of(t.topic, t.topic_id, p.partition, version);
            w.fetch_offset = p.fetch_offset;
            w.log_start_offset = p.log_start_offset;
            w.partition_max_bytes = p.partition_max_bytes;
            w.current_leader_epoch = p.current_leader_epoch;
            w.last_fetched_epoch = p.last_fetched_epoch;
            out.push_back(std::move(w));
        }
    }
    return out;
}

fetch_item resolve(const fetch_session_partition& want, const metadata_image& image) {
    fetch_item item;
    item.want = want;
    const topic_image* topic = want.key.topic.empty() ? image.find_topic(want.key.topic_id)
                                                      : image.find_topic(want.key.topic);
    item.topic_known = topic != nullptr;
    item.topic = topic != nullptr ? topic->name : want.key.topic;
    return item;
}

fetch_partition_outcome outcome_of(const fetch_partition_answer& a) {
    fetch_partition_outcome o;
    o.error_code = a.error_code;
    o.high_watermark = a.high_watermark;
    o.last_stable_offset = a.last_stable_offset;
    o.log_start_offset = a.log_start_offset;
    o.records_bytes = a.records_bytes;
    return o;
}

// Groups the answered items into topics, in order of first appearance.
void add_topics(fetch_answer& answer, std::vector<fetch_item*> items, int16_t version) {
    std::map<fetch_key, size_t> topic_slot;
    for (fetch_item* item : items) {
        fetch_key topic_key = item->want.key;
        topic_key.partition = 0;
        auto [it, fresh] = topic_slot.emplace(topic_key, answer.topics.size());
        if (fresh) {
            fetch_topic_answer t;
            t.name = version >= first_topic_id_version ? item->topic : item->want.key.topic;
            t.id = item->want.key.topic_id;
            answer.topics.push_back(std::move(t));
        }
        answer.topics[it->second].partitions.push_back(std::move(item->answer));
    }
}

handler_result session_error(const request_context& ctx, error_code code) {
    fetch_answer answer;
    answer.error_code = proto::code(code);
    return encode_fetch_response(answer, ctx.api_version);
}

} // namespace

asio::awaitable<handler_result> handle_fetch(request_context& ctx, proto::fetch_request& request) {
    data_path& data = *ctx.broker->data;
    const auto home = co_await asio::this_coro::executor;
    const size_t home_shard = data.shard_of(home);
    const int64_t now_ms = partition_manager::now_ms();
    const int16_t version = ctx.api_version;
    auto image = ctx.broker->metadata->current();

    // The session decides which partitions this request is about.
    fetch_session_context session_ctx;
    if (version >= first_session_version) {
        session_ctx = data.sessions(home_shard).open(request.session_id, request.session_epoch, now_ms);
    }
    if (session_ctx.type == fetch_session_context::kind::error) {
        co_return session_error(ctx, session_ctx.error);
    }
    std::vector<fetch_session_partition> wanted = requested(request, version);
    if (session_ctx.type == fetch_session_context::kind::incremental) {
        fetch_session& s = *session_ctx.session;
        for (const auto& w : wanted) {
            s.upsert(w);
        }
        for (const auto& t : request.forgotten_topics_data) {
            for (int32_t p : t.partitions) {
                s.forget(key_of(t.topic, t.topic_id, p, version));
            }
        }
        wanted.assign(s.partitions().begin(), s.partitions().end());
    }
    fetch_plan plan;
    for (const auto& w : wanted) {
        plan.items.push_back(resolve(w, *image));
    }
    group_by_shard(plan, *ctx.broker->partitions);

    const bool committed = request.isolation_level == read_committed;
    const uint64_t max_bytes = static_cast<uint64_t>(
        std::max(0, std::min(request.max_bytes, data.options().fetch_max_bytes)));
    const int64_t min_bytes = std::max(request.min_bytes, 0);
    const auto deadline = clock::now() + std::chrono::milliseconds(std::max(request.max_wait_ms, 0));
    // Long polling: each pass registers a fresh waiter with the partitions it
    // reads (in the same step, so no append is missed), then waits for
    // enough new bytes or the deadline, and reads again.
    // A stopping broker answers with what it has: draining is set before
    // the waiters are woken, so a wait registered after the wake-up sees it.
    const auto stopping = [&ctx] { return ctx.broker->drain != nullptr && ctx.broker->drain->draining(); };
    read_budget budget;
    for (;;) {
        const bool may_wait = min_bytes > 0 && clock::now() < deadline && !stopping();
        std::shared_ptr<fetch_wait> wait = may_wait ? std::make_shared<fetch_wait>(home, min_bytes) : nullptr;
        budget = co_await read_all(ctx, plan, max_bytes, committed, wait);
        const bool enough = static_cast<int64_t>(budget.bytes) >= min_bytes;
        if (wait == nullptr || enough || budget.any_error || plan.items.empty() || stopping()) {
            if (wait != nullptr) {
                wait->finish();
            }
            break;
        }
        ctx.park();
        wait->add_bytes(budget.bytes);
        co_await wait->wait_until(deadline);
        wait->finish();
    }

    fetch_answer answer;
    std::vector<fetch_item*> answered;
    if (session_ctx.type == fetch_session_context::kind::full) {
        fetch_session* s = data.sessions(home_shard).create(false, wanted, partition_manager::now_ms());
        answer.session_id = s != nullptr ? s->id() : no_fetch_session_id;
        for (auto& item : plan.items) {
            if (s != nullptr) {
                s->note_answer(item.want.key, outcome_of(item.answer), false);
            }
            answered.push_back(&item);
        }
    } else if (session_ctx.type == fetch_session_context::kind::incremental) {
        // The session may have been evicted while this request waited.
        fetch_session* s = data.sessions(home_shard).find(request.session_id);
        answer.session_id = request.session_id;
        for (auto& item : plan.items) {
            if (s == nullptr || s->note_answer(item.want.key, outcome_of(item.answer), true)) {
                answered.push_back(&item);
            }
        }
    } else {
        for (auto& item : plan.items) {
            answered.push_back(&item);
        }
    }
    add_topics(answer, std::move(answered), version);
    co_return encode_fetch_response(answer, version);
}

} // namespace runnel::broker
