// The controller's frame: startup (replay, registration), the one-at-a-time
// operation lock, committing records, producer id blocks. The topic and
// config operations are in controller_topics.cc and controller_configs.cc.
#include "broker/controller.h"

#include <cassert>

#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "broker/config.h"
#include "broker/image_builder.h"
#include "broker/logging.h"
#include "broker/partition_manager.h"
#include "broker/shards.h"

namespace runnel::broker {

namespace {

// Our own feature: the metadata record format this build writes.
constexpr std::string_view metadata_version_feature = "runnel.metadata.version";
constexpr int16_t metadata_version = 1;

} // namespace

controller::operation_lock::~operation_lock() {
    if (auto channel = channel_.lock()) {
        const bool returned = channel->try_send(std::error_code{}, true);
        assert(returned && "the controller's operation token was lost");
        (void)returned;
    }
}

controller::controller(controller_options options, shard_set& shards, metadata_log& log, metadata_cache& cache,
                       partition_manager& partitions, const broker_config& config)
    : options_(std::move(options)), shards_(shards), log_(log), cache_(cache), partitions_(partitions),
      config_(config), token_(std::make_shared<token_channel>(shards.executor(controller_shard), 1)) {
    const bool placed = token_->try_send(std::error_code{}, true);
    assert(placed);
    (void)placed;
}

controller::~controller() = default;

void controller::close() { token_.reset(); }

asio::awaitable<controller::operation_lock> controller::lock() {
    assert(shards_.executor(controller_shard).running_in_this_thread());
    co_await token_->async_receive(asio::use_awaitable);
    co_return operation_lock(token_);
}

storage::status controller::replay() {
    metadata_image base;
    base.cluster_id = options_.cluster_id;
    base.controller_id = options_.node_id;
    image_builder builder(base);
    size_t records = 0;
    RUNNEL_TRY(log_.replay([&](const metadata_record& record, int64_t offset) {
        ++records;
        return builder.apply(record, offset);
    }));
    auto image = builder.build();
    get_logger("controller")
        ->info("replayed {} metadata record(s): {} topic(s), next offset {}", records, image->topics.size(),
               log_.next_offset());
    cache_.publish(std::move(image));
    return {};
}

asio::awaitable<storage::status> controller::start() {
    co_return co_await run_on(shards_.executor(controller_shard), [this]() -> asio::awaitable<storage::status> {
        auto guard = co_await lock();
        auto image = cache_.current();
        std::vector<metadata_record> records;
        if (!image->features.contains(metadata_version_feature)) {
            proto::feature_level_record feature;
            feature.name = std::string(metadata_version_feature);
            feature.feature_level = metadata_version;
            records.emplace_back(std::move(feature));
        }
        const broker_endpoint* me = image->find_broker(options_.node_id);
        proto::register_broker_record registration;
        registration.broker_id = options_.node_id;
        registration.incarnation_id = random_uuid();
        registration.broker_epoch = me == nullptr ? 1 : me->broker_epoch + 1;
        proto::register_broker_record::broker_endpoint endpoint;
        endpoint.name = options_.listener_name;
        endpoint.host = options_.endpoint.host;
        endpoint.port = static_cast<uint16_t>(options_.endpoint.port);
        endpoint.security_protocol = 0; // PLAINTEXT
        registration.endpoints.push_back(std::move(endpoint));
        registration.rack = options_.endpoint.rack;
        records.emplace_back(std::move(registration));
        admin_error committed = co_await commit(std::move(records));
        if (!committed.ok()) {
            co_return storage::make_error(storage::errc::io_error,
                                          committed.message.value_or("registering the broker failed"));
        }
        apply_logger_level();
        co_return storage::status{};
    });
}

asio::awaitable<admin_error> controller::commit(std::vector<metadata_record> records) {
    assert(!records.empty());
    auto image = cache_.current();
    // Check that the records apply before they are made durable: the
    // controller is the only writer, so a record that does not apply is a bug
    // caught here rather than at the next restart.
    const int64_t first_offset = log_.next_offset();
    auto next = apply_records(*image, records, first_offset);
    if (!next.ok()) {
        get_logger("controller")->error("refusing metadata records that do not apply: {}", next.err().message);
        co_return admin_error{proto::error_code::unknown_server_error, next.err().message};
    }
    const auto count = static_cast<int64_t>(records.size());
    auto appended = co_await log_.append(std::move(records));
    if (!appended.ok()) {
        co_return admin_error{proto::error_code::kafka_storage_error,
                              fmt::format("metadata log: {}", appended.err().message)};
    }
    assert(*appended == first_offset + count - 1 && "the metadata log placed records elsewhere");
    co_await partitions_.apply(*next);
    cache_.publish(std::move(*next));
    co_return admin_error{};
}

proto::uuid controller::random_uuid() {
    auto image = cache_.current();
    for (;;) {
        proto::uuid id;
        for (size_t i = 0; i < id.data.size(); i += 8) {
            const uint64_t bits = random_();
            for (size_t b = 0; b < 8; ++b) {
                id.data[i + b] = static_cast<uint8_t>(bits >> (8 * b));
            }
        }
        // Version 4, variant 1, as Java's random UUIDs.
        id.data[6] = static_cast<uint8_t>((id.data[6] & 0x0f) | 0x40);
        id.data[8] = static_cast<uint8_t>((id.data[8] & 0x3f) | 0x80);
        // As Kafka does: never zero, never in use, never printed with a
        // leading '-' (a command line would take it for an option).
        if (!id.is_zero() && !id.to_string().starts_with("-") && !image->topic_names_by_id.contains(id)) {
            return id;
        }
    }
}

asio::awaitable<producer_id_block> controller::allocate_producer_ids(int32_t count) {
    co_return co_await run_on(shards_.executor(controller_shard), [this, count]() {
        return do_allocate_producer_ids(count);
    });
}

asio::awaitable<producer_id_block> controller::do_allocate_producer_ids(int32_t count) {
    producer_id_block out;
    if (count < 1 || count > options_.producer_id_block_max) {
        out.error = {proto::error_code::invalid_request,
                     fmt::format("{} producer ids asked for; 1 to {} may be", count, options_.producer_id_block_max)};
        co_return out;
    }
    auto guard = co_await lock();
    auto image = cache_.current();
    const broker_endpoint* me = image->find_broker(options_.node_id);
    proto::producer_ids_record record;
    record.broker_id = options_.node_id;
    record.broker_epoch = me == nullptr ? -1 : me->broker_epoch;
    record.next_producer_id = image->next_producer_id + count;
    std::vector<metadata_record> records;
    records.emplace_back(record);
    out.error = co_await commit(std::move(records));
    if (out.error.ok()) {
        out.first_id = image->next_producer_id;
        out.count = count;
    }
    co_return out;
}

} // namespace runnel::broker
