// The single-node metadata log: records framed into one batch per append,
// written to __cluster_metadata-0, fsynced by the flusher before the append
// completes; replay reads every batch back in order.
#include "broker/metadata_log.h"

#include <chrono>

#include <asio/async_result.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "broker/logging.h"
#include "protocol/record_batch.h"

namespace runnel::broker {

namespace {

constexpr size_t replay_read_bytes = 1024 * 1024;

int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Metadata is kept whole: no retention, fsynced explicitly after each append.
storage::log_config metadata_log_config() {
    storage::log_config config;
    config.retention_ms = storage::unlimited;
    config.retention_bytes = storage::unlimited;
    config.flush_messages = storage::never;
    config.flush_ms = storage::never;
    return config;
}

storage::error corrupt(std::string message) { return storage::make_error(storage::errc::corrupt, std::move(message)); }

storage::result<proto::bytes> build_batch(const std::vector<metadata_record>& records, size_t bytes_max) {
    proto::batch_builder builder(proto::batch_options{});
    const int64_t now = wall_clock_ms();
    for (const auto& record : records) {
        proto::bytes frame = encode_metadata_record(record);
        if (builder.add(now, std::nullopt, proto::bytes_view(frame)) != proto::batch_error::none ||
            builder.records_bytes() > bytes_max) {
            return storage::make_error(storage::errc::invalid_argument,
                                       fmt::format("{} metadata records do not fit in one batch", records.size()));
        }
    }
    auto built = builder.build();
    if (!built.ok()) {
        return storage::make_error(storage::errc::invalid_argument,
                                   fmt::format("metadata batch: {}", proto::to_string(built.error())));
    }
    return std::move(built).value();
}

// Decodes every record of one stored batch.
storage::status visit_batch(proto::bytes_view batch, const metadata_record_visitor& visit) {
    if (proto::batch_error e = proto::validate_batch(batch, {}); e != proto::batch_error::none) {
        return corrupt(fmt::format("metadata batch: {}", proto::to_string(e)));
    }
    auto reader = proto::record_reader::open(batch, proto::default_decompressed_bytes_max);
    if (!reader.ok()) {
        return corrupt(fmt::format("metadata batch: {}", proto::to_string(reader.error())));
    }
    auto& records = reader.value();
    while (auto record = records.next()) {
        if (!record->value) {
            return corrupt("a metadata record without a value");
        }
        auto decoded = decode_metadata_record(*record->value);
        if (!decoded.ok()) {
            return decoded.err();
        }
        RUNNEL_TRY(visit(*decoded, proto::record_offset(records.header(), *record)));
    }
    if (records.error() != proto::batch_error::none) {
        return corrupt(fmt::format("metadata batch: {}", proto::to_string(records.error())));
    }
    return {};
}

} // namespace

storage::result<std::unique_ptr<local_metadata_log>> local_metadata_log::open(storage::log_manager& logs,
                                                                             storage::flusher& flusher,
                                                                             asio::any_io_executor executor,
                                                                             local_metadata_log_options options) {
    const storage::topic_partition tp{std::string(cluster_metadata_topic), 0};
    auto log = logs.create_log(tp, metadata_log_config(), wall_clock_ms());
    if (!log.ok()) {
        return log.err();
    }
    (*log)->set_config(metadata_log_config());
    return std::unique_ptr<local_metadata_log>(
        new local_metadata_log(std::move(*log), flusher, std::move(executor), options));
}

storage::status local_metadata_log::replay(const metadata_record_visitor& visit) {
    int64_t offset = log_->log_start_offset();
    const int64_t end = log_->log_end_offset();
    while (offset < end) {
        storage::read_options options;
        options.bytes_max = replay_read_bytes;
        auto read = log_->read(offset, options);
        if (!read.ok()) {
            return read.err();
        }
        if (read->slices.empty() || read->next_offset <= offset) {
            return corrupt(fmt::format("metadata log: nothing readable at offset {} of {}", offset, end));
        }
        auto bytes = storage::partition_log::copy_slices(*read);
        if (!bytes.ok()) {
            return bytes.err();
        }
        proto::batch_splitter splitter(*bytes);
        while (auto batch = splitter.next()) {
            RUNNEL_TRY(visit_batch(*batch, visit));
        }
        if (splitter.error() != proto::batch_error::none) {
            return corrupt(fmt::format("metadata log at {}: {}", offset, proto::to_string(splitter.error())));
        }
        offset = read->next_offset;
    }
    // Everything in the log was committed by the run that wrote it.
    log_->set_high_watermark(end);
    return {};
}

asio::awaitable<storage::status> local_metadata_log::flush() {
    auto ticket = log_->prepare_flush();
    if (!ticket.ok()) {
        co_return ticket.err();
    }
    // The fsync runs on the flusher's thread; its completion is posted back
    // here. A full or stopped flusher means running it inline.
    auto outcome = co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(storage::status)>(
        [this, &ticket](auto handler) {
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            auto done = [shared](const storage::flush_ticket&, storage::status s) {
                auto ex = asio::get_associated_executor(*shared);
                asio::post(ex, [shared, s = std::move(s)]() mutable { (*shared)(std::move(s)); });
            };
            if (!flusher_.submit(*ticket, done)) {
                done(*ticket, ticket->run());
            }
        },
        asio::use_awaitable);
    log_->complete_flush(*ticket, outcome, wall_clock_ms());
    co_return outcome;
}

asio::awaitable<storage::result<int64_t>> local_metadata_log::append(std::vector<metadata_record> records) {
    if (records.empty() || records.size() > options_.records_per_append_max) {
        co_return storage::make_error(storage::errc::invalid_argument,
                                      fmt::format("{} metadata records in one append", records.size()));
    }
    if (failed_) {
        co_return storage::make_error(storage::errc::io_error, "the metadata log failed earlier; restart the broker");
    }
    auto batch = build_batch(records, options_.batch_bytes_max);
    if (!batch.ok()) {
        co_return batch.err();
    }
    const int64_t base = log_->log_end_offset();
    storage::append_options options;
    options.now_ms = wall_clock_ms();
    options.defer_flush = true;
    auto appended = log_->append(*batch, options);
    if (!appended.ok()) {
        co_return appended.err();
    }
    storage::status flushed = co_await flush();
    if (!flushed.ok()) {
        // Not durable, so not committed: take the records back out, so that
        // a later restart does not replay an operation the client saw fail.
        get_logger("controller")->error("metadata log fsync failed: {}", flushed.err().message);
        if (!log_->truncate_to(base).ok()) {
            failed_ = true;
        }
        co_return flushed.err();
    }
    log_->set_high_watermark(log_->log_end_offset());
    co_return appended->last_offset;
}

} // namespace runnel::broker
