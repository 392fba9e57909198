// The log cleaner: maps each key to its latest offset, then rewrites closed
// segments keeping only those records. See compaction.h and docs/FORMAT.md.
#include "storage/compaction.h"

#include <bit>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include "storage/format.h"

namespace runnel::storage {

namespace {

// Key hash -> latest offset, open addressing with linear probing. A fixed
// size bounds the cleaner's memory; a 64-bit XXH3 makes collisions (which
// would drop a record) about as likely as Kafka's MD5-based map.
class offset_map {
public:
    explicit offset_map(size_t entries_max)
        : entries_max_(entries_max), slots_(std::bit_ceil(std::max<size_t>(entries_max * 4 / 3 + 1, 16))) {}

    // False when the key is new and the map is full.
    bool put(uint64_t hash, int64_t offset) {
        size_t i = find(hash);
        if (slots_[i].offset < 0) {
            if (size_ == entries_max_) {
                return false;
            }
            ++size_;
            slots_[i].hash = hash;
        }
        slots_[i].offset = offset;
        return true;
    }

    std::optional<int64_t> get(uint64_t hash) const {
        const slot& s = slots_[find(hash)];
        if (s.offset < 0) {
            return std::nullopt;
        }
        return s.offset;
    }

private:
    struct slot {
        uint64_t hash = 0;
        int64_t offset = -1;
    };

    size_t find(uint64_t hash) const {
        size_t mask = slots_.size() - 1;
        size_t i = static_cast<size_t>(hash) & mask;
        while (slots_[i].offset >= 0 && slots_[i].hash != hash) {
            i = (i + 1) & mask;
        }
        return i;
    }

    size_t entries_max_;
    std::vector<slot> slots_;
    size_t size_ = 0;
};

uint64_t key_hash(proto::bytes_view key) { return XXH3_64bits(key.data(), key.size()); }

// Calls fn(header, batch bytes) for each batch of a source segment.
template <typename Fn>
status for_each_batch(const compaction_source& source, size_t batch_bytes_max, Fn fn) {
    std::vector<uint8_t> buffer;
    uint64_t position = 0;
    while (position < source.size) {
        uint8_t raw[proto::batch_header_size];
        RUNNEL_TRY(read_exact(*source.log, position, raw));
        auto h = proto::decode_batch_header(raw);
        if (h.batch_length < proto::batch_length_min || h.size_bytes() > batch_bytes_max ||
            position + h.size_bytes() > source.size) {
            return make_error(errc::corrupt, fmt::format("{}: bad batch at {}", source.log->path(), position));
        }
        buffer.resize(h.size_bytes());
        RUNNEL_TRY(read_exact(*source.log, position, buffer));
        RUNNEL_TRY(fn(h, proto::bytes_view(buffer)));
        position += h.size_bytes();
    }
    return {};
}

error corrupt_batch(const proto::batch_header& h, proto::batch_error e) {
    return make_error(errc::corrupt, fmt::format("batch at offset {}: {}", h.base_offset, proto::to_string(e)));
}

// Adds every keyed record of a batch to the map; false if the map filled.
result<bool> map_batch(offset_map& map, const proto::batch_header& h, proto::bytes_view batch) {
    if (h.is_control()) {
        return true;
    }
    auto reader = proto::record_reader::open(batch, proto::default_decompressed_bytes_max);
    if (!reader.ok()) {
        return corrupt_batch(h, reader.error());
    }
    while (auto record = reader.value().next()) {
        if (record->key && !map.put(key_hash(*record->key), proto::record_offset(h, *record))) {
            return false;
        }
    }
    if (reader.value().error() != proto::batch_error::none) {
        return corrupt_batch(h, reader.value().error());
    }
    return true;
}

void write_nullable(proto::writer& w, const std::optional<proto::bytes_view>& v) {
    if (!v) {
        w.write_varint(-1);
        return;
    }
    w.write_varint(static_cast<int32_t>(v->size()));
    w.write_raw(*v);
}

// One record in the v2 record format, offset and timestamp deltas kept.
void encode_record(proto::writer& out, const proto::record_view& r) {
    proto::writer body;
    body.write_int8(r.attributes);
    body.write_varlong(r.timestamp_delta);
    body.write_varint(r.offset_delta);
    write_nullable(body, r.key);
    write_nullable(body, r.value);
    body.write_varint(static_cast<int32_t>(r.headers.size()));
    for (const auto& hv : r.headers) {
        body.write_varint(static_cast<int32_t>(hv.key.size()));
        body.write_raw(hv.key);
        write_nullable(body, hv.value);
    }
    out.write_varint(static_cast<int32_t>(body.size()));
    out.write_raw(body.buffer());
}

// A batch with the original's header fields and offsets but only `kept`
// records (none: an empty batch that keeps the offsets in the log).
result<proto::bytes> rebuild_batch(const proto::batch_header& original, const std::vector<proto::record_view>& kept) {
    proto::batch_header h = original;
    proto::writer records;
    int64_t max_timestamp = proto::no_timestamp;
    for (const auto& r : kept) {
        encode_record(records, r);
        max_timestamp = std::max(max_timestamp, proto::record_timestamp(original, r));
    }
    proto::bytes payload = records.release();
    if (kept.empty()) {
        h.attributes = static_cast<int16_t>(h.attributes & ~proto::batch_attribute::compression_mask);
    } else if (h.compression() != proto::compression_type::none) {
        auto compressed = proto::compress(h.compression(), payload);
        if (!compressed.ok()) {
            return make_error(errc::io_error, fmt::format("recompressing batch {}: {}", original.base_offset,
                                                          proto::to_string(compressed.error())));
        }
        payload = std::move(compressed).value();
    }
    if (original.timestamp_type() != proto::timestamp_type::log_append_time && !kept.empty()) {
        h.max_timestamp = max_timestamp;
    }
    h.record_count = static_cast<int32_t>(kept.size());
    h.batch_length = static_cast<int32_t>(proto::batch_length_min + payload.size());
    proto::bytes out(proto::batch_header_size + payload.size());
    std::copy(payload.begin(), payload.end(), out.begin() + proto::batch_header_size);
    proto::write_batch_header(out, h);
    h.crc = proto::compute_batch_crc(out);
    proto::write_batch_header(out, h);
    return out;
}

struct group_writer {
    const compaction_job& job;
    const offset_map& map;
    compaction_stats& stats;
    segment& out;

    // Writes what survives of one batch; is_last keeps even an empty one.
    status clean_batch(const proto::batch_header& h, proto::bytes_view batch, bool is_last) {
        if (h.is_control()) {
            return append(h, batch);
        }
        auto reader = proto::record_reader::open(batch, proto::default_decompressed_bytes_max);
        if (!reader.ok()) {
            return corrupt_batch(h, reader.error());
        }
        std::vector<proto::record_view> kept;
        int32_t seen = 0;
        bool expired = h.max_timestamp < job.now_ms - job.delete_retention_ms;
        while (auto record = reader.value().next()) {
            ++seen;
            bool latest = !record->key || map.get(key_hash(*record->key)) == proto::record_offset(h, *record);
            bool dead_tombstone = record->key && !record->value && expired;
            if (latest && !dead_tombstone) {
                kept.push_back(std::move(*record));
            } else if (latest) {
                ++stats.tombstones_removed;
            }
        }
        if (reader.value().error() != proto::batch_error::none) {
            return corrupt_batch(h, reader.value().error());
        }
        stats.records_kept += kept.size();
        stats.records_removed += static_cast<uint64_t>(seen) - kept.size();
        if (static_cast<int32_t>(kept.size()) == seen) {
            return append(h, batch);
        }
        if (kept.empty() && !is_last) {
            return {};
        }
        auto rebuilt = rebuild_batch(h, kept);
        if (!rebuilt.ok()) {
            return rebuilt.err();
        }
        return append(proto::decode_batch_header(*rebuilt), *rebuilt);
    }

    status append(const proto::batch_header& h, proto::bytes_view batch) {
        if (out.index_full()) {
            return make_error(errc::invalid_argument, "cleaned segment outgrew segment.index.bytes");
        }
        return out.append(h, batch);
    }
};

std::string cleaned_path(const std::string& dir, int64_t base, std::string_view suffix) {
    return segment_file_path(dir, base, std::string(suffix).append(format::cleaned_suffix));
}

constexpr std::string_view segment_suffixes[] = {format::log_suffix, format::index_suffix, format::time_index_suffix};

status clean_group(const compaction_job& job, const offset_map& map, compaction_group& group,
                   compaction_stats& stats) {
    for (auto suffix : segment_suffixes) {
        (void)job.fs->remove_file(cleaned_path(job.dir, group.base_offset, suffix));
    }
    auto out = segment::create(*job.fs, job.dir, group.base_offset, job.seg_options, job.now_ms,
                               format::cleaned_suffix);
    if (!out.ok()) {
        return out.err();
    }
    group_writer writer{job, map, stats, **out};
    for (size_t i = 0; i < group.replaced.size(); ++i) {
        const auto& source = group.replaced[i];
        bool last_source = i + 1 == group.replaced.size();
        // The last batch of the group is found by its end position.
        RUNNEL_TRY(for_each_batch(source, job.seg_options.batch_bytes_max,
                                  [&](const proto::batch_header& h, proto::bytes_view batch) -> status {
                                      bool is_last = last_source && h.last_offset() + 1 == source.next_offset;
                                      return writer.clean_batch(h, batch, is_last);
                                  }));
        stats.bytes_before += source.size;
    }
    RUNNEL_TRY((*out)->roll());
    RUNNEL_TRY((*out)->sync());
    group.next_offset = (*out)->next_offset();
    stats.bytes_after += (*out)->size_bytes();
    return {};
}

} // namespace

result<compaction_output> run_compaction(const compaction_job& job) {
    compaction_output output;
    output.dir = job.dir;
    offset_map map(job.offset_map_entries_max);
    // Map whole segments while the map has room; only those are cleaned.
    size_t mapped = 0;
    for (const auto& source : job.sources) {
        bool fits = true;
        RUNNEL_TRY(for_each_batch(source, job.seg_options.batch_bytes_max,
                                  [&](const proto::batch_header& h, proto::bytes_view batch) -> status {
                                      if (!fits) {
                                          return {};
                                      }
                                      auto added = map_batch(map, h, batch);
                                      if (!added.ok()) {
                                          return added.err();
                                      }
                                      fits = *added;
                                      return {};
                                  }));
        if (!fits) {
            break;
        }
        ++mapped;
    }
    // Consecutive segments share an output while it stays under segment.bytes.
    for (size_t i = 0; i < mapped; ++i) {
        const auto& source = job.sources[i];
        bool join = false;
        if (!output.groups.empty()) {
            auto& g = output.groups.back();
            uint64_t bytes = 0;
            for (const auto& s : g.replaced) {
                bytes += s.size;
            }
            join = bytes + source.size <= job.segment_bytes &&
                   source.next_offset - g.base_offset <= std::numeric_limits<int32_t>::max();
        }
        if (!join) {
            output.groups.push_back(compaction_group{source.base_offset, source.next_offset, {}});
        }
        output.groups.back().replaced.push_back(source);
    }
    for (auto& group : output.groups) {
        auto cleaned = clean_group(job, map, group, output.stats);
        if (!cleaned.ok()) {
            discard_compaction(*job.fs, output);
            return cleaned.err();
        }
        output.stats.segments_in += group.replaced.size();
        ++output.stats.segments_out;
    }
    return output;
}

void discard_compaction(file_system& fs, const compaction_output& output) {
    for (const auto& group : output.groups) {
        for (auto suffix : segment_suffixes) {
            (void)fs.remove_file(cleaned_path(output.dir, group.base_offset, suffix));
        }
    }
}

log_cleaner::log_cleaner(size_t queue_max) : queue_max_(queue_max), thread_([this] { run(); }) {}

log_cleaner::~log_cleaner() { stop(); }

bool log_cleaner::submit(compaction_job job, done_fn done) {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= queue_max_) {
        return false;
    }
    queue_.emplace_back(std::move(job), std::move(done));
    wake_.notify_one();
    return true;
}

void log_cleaner::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        queue_.clear();
        wake_.notify_one();
    }
    if (thread_.joinable()) {
        thread_.join();
    }
}

void log_cleaner::run() {
    for (;;) {
        std::pair<compaction_job, done_fn> item;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) {
                return;
            }
            item = std::move(queue_.front());
            queue_.pop_front();
        }
        auto output = run_compaction(item.first);
        if (!output.ok()) {
            spdlog::warn("{}: compaction failed: {}", item.first.dir, output.err().message);
        }
        item.second(std::move(output));
    }
}

} // namespace runnel::storage
