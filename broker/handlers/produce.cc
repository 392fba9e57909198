// Produce (v3+, record batch v2): per partition, on the partition's shard,
// validate the batch, check the idempotent producer's sequence, append, and
// wait for the durability the flush policy promises (group commit through
// the flusher) before answering. One bad partition never fails the others.
#include <algorithm>
#include <map>

#include "broker/config.h"
#include "broker/data_path.h"
#include "broker/fan_out.h"
#include "broker/handlers/handlers.h"
#include "broker/logging.h"
#include "broker/partition_data.h"
#include "broker/produce_validation.h"
#include "broker/topic_name.h"
#include "protocol/errors.h"

namespace runnel::broker {

namespace {

using proto::error_code;
using partition_answer = proto::produce_response::partition_produce_response;

constexpr int16_t acks_none = 0;
constexpr int16_t acks_leader = 1;
constexpr int16_t acks_all = -1;

// One partition of the request and its answer.
struct produce_job {
    const std::string* topic = nullptr;
    int32_t index = 0;
    std::optional<proto::bytes>* records = nullptr; // the request's bytes, edited in place on append
    partition_answer answer;
    int64_t durable_end = -1; // wait until this offset is durable before answering
};

void fail(produce_job& job, error_code code, std::optional<std::string> message = std::nullopt) {
    job.answer.error_code = proto::code(code);
    job.answer.base_offset = -1;
    job.answer.error_message = std::move(message);
}

error_code storage_error_code(storage::errc e) {
    switch (e) {
    case storage::errc::corrupt: return error_code::corrupt_message;
    case storage::errc::too_large: return error_code::record_list_too_large; // larger than segment.bytes
    case storage::errc::invalid_argument: return error_code::invalid_record;
    case storage::errc::not_found: return error_code::not_leader_or_follower;
    default: return error_code::kafka_storage_error;
    }
}

// Appends one partition's validated batch (or answers a retry); on the
// partition's shard. Does not wait for the flush.
void append_one(produce_job& job, partition& p, const request_context& ctx, int16_t acks,
                const metadata_image& image) {
    const partition_settings& settings = p.settings();
    if (acks == acks_all) {
        const topic_image* topic = image.find_topic(p.topic());
        const size_t isr = topic != nullptr && static_cast<size_t>(job.index) < topic->partitions.size()
                               ? topic->partitions[job.index].isr.size()
                               : 1;
        if (static_cast<int64_t>(isr) < settings.min_insync_replicas) {
            fail(job, error_code::not_enough_replicas,
                 fmt::format("{} in-sync replica(s), min.insync.replicas is {}", isr, settings.min_insync_replicas));
            return;
        }
    }
    const int64_t now = partition_manager::now_ms();
    produce_validation_options vo;
    vo.api_version = ctx.api_version;
    vo.max_message_bytes = settings.max_message_bytes;
    vo.timestamp_type = settings.timestamp_type;
    vo.timestamp_before_max_ms = settings.timestamp_before_max_ms;
    vo.timestamp_after_max_ms = settings.timestamp_after_max_ms;
    vo.compacted = p.log().config().compacts();
    vo.now_ms = now;
    vo.recompress_to = topic_compression(settings.compression_type);
    std::span<uint8_t> records;
    if (*job.records) {
        records = std::span<uint8_t>((*job.records)->data(), (*job.records)->size());
    }
    produce_validation v = validate_produce_records(records, vo);
    if (!v.ok()) {
        fail(job, v.error, v.error_message);
        for (auto& e : v.record_errors) {
            job.answer.record_errors.push_back({e.batch_index, std::move(e.message), {}});
        }
        return;
    }
    std::vector<batch_identity> ids;
    for (const auto& b : v.batches) {
        if (b.header.is_transactional()) {
            fail(job, error_code::invalid_txn_state, "this broker does not support transactions yet");
            return;
        }
        ids.push_back(batch_identity::of(b.header));
    }
    auto& data = partition_data::of(p);
    const sequence_check verdict = data.producers().check(ids);
    job.answer.log_start_offset = p.log().log_start_offset();
    const bool log_append_time = settings.timestamp_type == storage::message_timestamp_type::log_append_time;
    if (verdict.duplicate) {
        // A retry of a batch already in the log: its first offset, no new append.
        job.answer.base_offset = verdict.duplicate->first_offset;
        job.answer.log_append_time_ms = log_append_time ? verdict.duplicate->timestamp : -1;
        job.durable_end = verdict.duplicate->last_offset + 1;
        return;
    }
    if (verdict.error != error_code::none) {
        fail(job, verdict.error, verdict.message);
        return;
    }
    for (size_t i = 0; i < v.batches.size(); ++i) {
        storage::append_options ao;
        ao.leader_epoch = p.leader_epoch().value();
        ao.now_ms = now;
        ao.defer_flush = true;
        const size_t segments_before = p.log().segment_count();
        auto info = p.log().append(v.batches[i].bytes, ao);
        if (!info.ok()) {
            get_logger("data")->warn("append to {}-{}: {}", p.topic(), job.index, info.err().message);
            fail(job, storage_error_code(info.code()), info.err().message);
            return;
        }
        const int64_t stamp = info->log_append_time >= 0 ? info->log_append_time : info->max_timestamp;
        data.producers().record(ids[i], info->base_offset, info->last_offset, stamp);
        data.appended(info->last_offset, v.batches[i].bytes.size(), info->flush_needed);
        if (i == 0) {
            job.answer.base_offset = info->base_offset;
            job.answer.log_append_time_ms = info->log_append_time;
        }
        job.durable_end = info->last_offset + 1;
        if (p.log().segment_count() != segments_before && data.producers().size() > 0) {
            data.snapshot_producers();
        }
    }
}

// The partitions of one shard: append them all, then wait for their
// flushes, so that one group commit can cover them together.
asio::awaitable<void> produce_on_shard(request_context& ctx, std::vector<produce_job*> jobs, int16_t acks,
                                       std::shared_ptr<const metadata_image> image) {
    partition_manager& partitions = *ctx.broker->partitions;
    std::vector<std::shared_ptr<partition>> held(jobs.size());
    for (size_t i = 0; i < jobs.size(); ++i) {
        produce_job& job = *jobs[i];
        held[i] = partitions.get(*job.topic, model::partition_id(job.index));
        if (held[i] == nullptr) {
            const topic_image* topic = image->find_topic(*job.topic);
            const bool known = topic != nullptr && job.index >= 0 &&
                               static_cast<size_t>(job.index) < topic->partitions.size();
            fail(job, known ? error_code::not_leader_or_follower : error_code::unknown_topic_or_partition);
            continue;
        }
        append_one(job, *held[i], ctx, acks, *image);
    }
    if (acks == acks_none) {
        co_return; // nobody waits for the answer; the flush still runs
    }
    for (size_t i = 0; i < jobs.size(); ++i) {
        produce_job& job = *jobs[i];
        if (held[i] == nullptr || job.durable_end < 0 || job.answer.error_code != 0) {
            continue;
        }
        storage::status durable = co_await partition_data::of(*held[i]).wait_durable(job.durable_end);
        if (!durable.ok()) {
            fail(job, held[i]->removed() ? error_code::not_leader_or_follower : error_code::kafka_storage_error,
                 durable.err().message);
        }
    }
}

// Creates the request's missing topics when auto.create.topics.enable says
// so; returns the error for each topic that still does not exist.
asio::awaitable<std::map<std::string, proto::error_code>> create_missing_topics(request_context& ctx,
                                                                                 const proto::produce_request& request) {
    std::map<std::string, proto::error_code> missing;
    auto image = ctx.broker->metadata->current();
    std::vector<std::string> names;
    for (const auto& t : request.topic_data) {
        if (image->find_topic(t.name) == nullptr && !missing.contains(t.name)) {
            missing[t.name] = error_code::unknown_topic_or_partition;
            if (is_valid_topic_name(t.name)) {
                names.push_back(t.name);
            }
        }
    }
    if (names.empty()) {
        co_return missing;
    }
    auto results = co_await ctx.broker->data->auto_create_topics(names);
    for (size_t i = 0; i < names.size(); ++i) {
        missing[names[i]] = results[i];
    }
    std::erase_if(missing, [](const auto& kv) { return kv.second == error_code::none; });
    co_return missing;
}

} // namespace

asio::awaitable<handler_result> handle_produce(request_context& ctx, proto::produce_request& request) {
    const int16_t acks = request.acks;
    const bool acks_valid = acks == acks_none || acks == acks_leader || acks == acks_all;
    std::map<std::string, proto::error_code> missing;
    if (acks_valid) {
        missing = co_await create_missing_topics(ctx, request);
    }
    auto image = ctx.broker->metadata->current();
    partition_manager& partitions = *ctx.broker->partitions;

    // The answer mirrors the request; jobs point into it.
    std::vector<std::vector<produce_job>> jobs(request.topic_data.size());
    std::map<size_t, std::vector<produce_job*>> by_shard;
    for (size_t t = 0; t < request.topic_data.size(); ++t) {
        auto& topic = request.topic_data[t];
        for (auto& pd : topic.partition_data) {
            produce_job job;
            job.topic = &topic.name;
            job.index = pd.index;
            job.records = &pd.records;
            job.answer.index = pd.index;
            jobs[t].push_back(std::move(job));
        }
        for (auto& job : jobs[t]) {
            if (!acks_valid) {
                fail(job, error_code::invalid_required_acks);
            } else if (auto it = missing.find(topic.name); it != missing.end()) {
                fail(job, it->second);
            } else if (is_internal_topic_name(topic.name)) {
                // Only the coordinators write there, through the log itself.
                fail(job, error_code::invalid_topic_exception, "Cannot append to internal topic " + topic.name);
            } else {
                by_shard[partitions.shard_of(topic.name, model::partition_id(job.index))].push_back(&job);
            }
        }
    }
    std::vector<shard_task> tasks;
    for (auto& [shard, list] : by_shard) {
        tasks.push_back(shard_task{ctx.broker->shards->executor(shard),
                                   [&ctx, list = list, acks, image]() { return produce_on_shard(ctx, list, acks, image); }});
    }
    co_await run_all(std::move(tasks));

    proto::produce_response response;
    bool any_error = false;
    for (size_t t = 0; t < request.topic_data.size(); ++t) {
        proto::produce_response::topic_produce_response tr;
        tr.name = request.topic_data[t].name;
        for (auto& job : jobs[t]) {
            any_error = any_error || job.answer.error_code != 0;
            tr.partition_responses.push_back(std::move(job.answer));
        }
        response.responses.push_back(std::move(tr));
    }
    if (acks == acks_none) {
        // No answer; Kafka closes the connection on an error so that the
        // client refreshes its metadata and notices.
        ctx.close_connection = any_error;
        co_return std::nullopt;
    }
    proto::writer w;
    response.encode(w, ctx.api_version);
    co_return w.release();
}

} // namespace runnel::broker
