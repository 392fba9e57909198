// The durable Raft log store on a storage partition log (see
// durable_log_store.h).
#include "raft/node/durable_log_store.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "protocol/record_batch.h"
#include "raft/node/state_files.h"

namespace runnel::raft::node {

namespace {

error storage_error(const char* what, const storage::error& e) { return error{fmt::format("{}: {}", what, e.message)}; }

storage::log_config raft_log_config(uint64_t segment_bytes) {
    storage::log_config config;
    config.segment_bytes = segment_bytes;
    // Raft decides what to drop (compaction behind a snapshot); time and
    // size retention must never delete entries.
    config.retention_ms = -1;
    config.retention_bytes = -1;
    config.segment_ms = storage::never;
    return config;
}

} // namespace

proto::bytes encode_entry_batch(const entry& e) {
    raft_assert(e.term.value() <= std::numeric_limits<int32_t>::max(), "term {} does not fit an epoch", e.term.value());
    proto::batch_builder builder(proto::batch_options{.base_offset = e.index.value() - 1,
                                                      .partition_leader_epoch = static_cast<int32_t>(e.term.value())});
    const uint8_t type = static_cast<uint8_t>(e.type);
    const auto added = builder.add(0, proto::bytes_view(&type, 1), proto::bytes_view(e.data));
    raft_assert(added == proto::batch_error::none, "entry {} does not fit a batch", e.index.value());
    auto built = builder.build();
    raft_assert(built.ok(), "building the batch of entry {} failed", e.index.value());
    return std::move(built).value();
}

result<std::vector<entry>> decode_entry_batches(proto::bytes_view batches) {
    std::vector<entry> out;
    proto::batch_splitter splitter(batches);
    while (auto batch = splitter.next()) {
        if (auto bad = proto::validate_batch(*batch, {}); bad != proto::batch_error::none) {
            return error{fmt::format("raft log batch is corrupt: {}", proto::to_string(bad))};
        }
        auto reader = proto::record_reader::open(*batch, raft_read_bytes_max);
        if (!reader.ok()) {
            return error{fmt::format("raft log batch is corrupt: {}", proto::to_string(reader.error()))};
        }
        const proto::batch_header& header = reader.value().header();
        while (auto record = reader.value().next()) {
            if (!record->key || record->key->size() != 1 || (*record->key)[0] > entry_type_max || !record->value) {
                return error{"raft log record is not an entry"};
            }
            entry e;
            e.index = log_index(proto::record_offset(header, *record) + 1);
            e.term = raft_term(header.partition_leader_epoch);
            e.type = static_cast<entry_type>((*record->key)[0]);
            e.data.assign(record->value->begin(), record->value->end());
            if (!out.empty() && (e.index != out.back().index + 1 || e.term < out.back().term)) {
                return error{fmt::format("raft log entry {} does not follow {}", e.index.value(),
                                         out.back().index.value())};
            }
            out.push_back(std::move(e));
        }
        if (reader.value().error() != proto::batch_error::none) {
            return error{fmt::format("raft log record is corrupt: {}", proto::to_string(reader.value().error()))};
        }
    }
    if (splitter.error() != proto::batch_error::none) {
        return error{fmt::format("raft log holds a partial batch: {}", proto::to_string(splitter.error()))};
    }
    return out;
}

result<std::unique_ptr<durable_log_store>> durable_log_store::open(std::shared_ptr<storage::file_system> fs,
                                                                   std::string dir, uint64_t segment_bytes) {
    if (auto made = fs->create_dirs(dir); !made.ok()) {
        return storage_error("create raft dir", made.err());
    }
    storage::topic_partition tp{raft_log_topic, 0};
    // Recovery scans the whole log on every start: it is short (snapshots
    // bound it) and the scan cuts off a torn tail.
    auto log = storage::partition_log::open(fs, storage::join_path(dir, tp.dir_name()), tp,
                                            raft_log_config(segment_bytes), storage::log_open_options{});
    if (!log.ok()) {
        return storage_error("open raft log", log.err());
    }
    return std::unique_ptr<durable_log_store>(new durable_log_store(std::move(fs), std::move(dir), std::move(*log)));
}

result<recovered_state> durable_log_store::load() {
    recovered_state out;
    auto hard = read_optional_file(*fs_, storage::join_path(dir_, hard_state_file_name), hard_state_file_bytes);
    if (!hard.ok()) {
        return hard.err();
    }
    if (hard.value()) {
        auto decoded = decode_hard_state_file(*hard.value());
        if (!decoded.ok()) {
            return decoded.err(); // reported, never guessed around
        }
        out.hard_state = decoded.value();
    }
    auto snap = read_optional_file(*fs_, storage::join_path(dir_, snapshot_file_name), snapshot_file_bytes_max);
    if (!snap.ok()) {
        return snap.err();
    }
    if (snap.value()) {
        auto decoded = decode_snapshot_file(*snap.value());
        if (!decoded.ok()) {
            return decoded.err();
        }
        out.snapshot = std::move(decoded).value();
        RAFT_TRY(align_to_snapshot(out.snapshot->metadata));
    }
    auto entries = read(first_index(), last_index(), std::numeric_limits<size_t>::max());
    if (!entries.ok()) {
        return entries.err();
    }
    out.entries = std::move(entries).value();
    if (out.snapshot) {
        out.entries = recover_entries(out.snapshot->metadata, std::move(out.entries));
    }
    if (!out.entries.empty() && out.entries.back().term > out.hard_state.term) {
        return error{fmt::format("raft log ends in term {} but the quorum-state says term {}",
                                 out.entries.back().term.value(), out.hard_state.term.value())};
    }
    return out;
}

result<void> durable_log_store::save_hard_state(const hard_state& state) {
    return write_file_atomically(*fs_, dir_, hard_state_file_name, encode_hard_state_file(state));
}

result<void> durable_log_store::save_snapshot(const snapshot& snap) {
    // The snapshot file is durable before the log is cut behind it.
    RAFT_TRY(write_file_atomically(*fs_, dir_, snapshot_file_name, encode_snapshot_file(snap)));
    return align_to_snapshot(snap.metadata);
}

result<void> durable_log_store::align_to_snapshot(const snapshot_metadata& point) {
    const int64_t offset = point.index.value(); // the offset of the entry after the point
    if (log_->log_start_offset() == offset) {
        // Already cut right behind the point (by an earlier save): whatever
        // follows was appended after the snapshot and continues it.
        return {};
    }
    auto term = stored_term_at(point.index);
    if (!term.ok()) {
        return term.err();
    }
    if (term.value() && *term.value() == point.term) {
        if (auto s = log_->advance_log_start_offset(offset); !s.ok()) {
            return storage_error("advance raft log start", s.err());
        }
        return {};
    }
    if (auto s = log_->truncate_fully_and_start_at(offset); !s.ok()) {
        return storage_error("reset raft log", s.err());
    }
    return {};
}

result<std::optional<raft_term>> durable_log_store::stored_term_at(log_index i) {
    const int64_t offset = i.value() - 1;
    if (offset < log_->log_start_offset() || offset >= log_->log_end_offset()) {
        return std::optional<raft_term>{};
    }
    auto entries = read(i, i, 1);
    if (!entries.ok()) {
        return entries.err();
    }
    if (entries.value().empty()) {
        return std::optional<raft_term>{};
    }
    return std::optional<raft_term>(entries.value().front().term);
}

result<void> durable_log_store::truncate_suffix(log_index from) {
    if (from.value() - 1 >= log_->log_end_offset()) {
        return {};
    }
    if (auto s = log_->truncate_to(from.value() - 1); !s.ok()) {
        return storage_error("truncate raft log", s.err());
    }
    // Synced at once (truncations are rare): entries written after it must
    // never land on disk next to a cut that was lost.
    if (auto s = log_->flush(); !s.ok()) {
        return storage_error("sync raft log truncation", s.err());
    }
    return {};
}

result<void> durable_log_store::append(std::span<const entry> entries) {
    for (const entry& e : entries) {
        if (e.index.value() - 1 != log_->log_end_offset()) {
            return error{fmt::format("append of entry {} at log end offset {}", e.index.value(),
                                     log_->log_end_offset())};
        }
        proto::bytes batch = encode_entry_batch(e);
        auto appended = log_->append(batch, storage::append_options{.assign_offsets = false,
                                                                    .leader_epoch = static_cast<int32_t>(e.term.value()),
                                                                    .now_ms = 0,
                                                                    .defer_flush = true});
        if (!appended.ok()) {
            return storage_error("append to raft log", appended.err());
        }
    }
    return {};
}

result<std::vector<entry>> durable_log_store::read(log_index from, log_index to, size_t bytes_max) {
    std::vector<entry> out;
    size_t bytes = 0;
    int64_t offset = std::max(from.value() - 1, log_->log_start_offset());
    const int64_t end = std::min(to.value(), log_->log_end_offset()); // offsets below end
    while (offset < end) {
        auto got = log_->read(offset, storage::read_options{.bytes_max = raft_read_bytes_max, .min_one_batch = true});
        if (!got.ok()) {
            return storage_error("read raft log", got.err());
        }
        auto copied = storage::partition_log::copy_slices(*got);
        if (!copied.ok()) {
            return storage_error("read raft log", copied.err());
        }
        auto entries = decode_entry_batches(*copied);
        if (!entries.ok()) {
            return entries.err();
        }
        if (entries.value().empty()) {
            return error{fmt::format("raft log read at offset {} returned nothing before {}", offset, end)};
        }
        for (entry& e : entries.value()) {
            if (e.index.value() - 1 < offset || e.index.value() - 1 >= end) {
                continue;
            }
            bytes += e.data.size();
            if (!out.empty() && bytes > bytes_max) {
                return out;
            }
            out.push_back(std::move(e));
        }
        offset = entries.value().back().index.value();
    }
    return out;
}

result<void> durable_log_store::sync() {
    if (auto s = log_->flush(); !s.ok()) {
        return storage_error("sync raft log", s.err());
    }
    return {};
}

} // namespace runnel::raft::node
