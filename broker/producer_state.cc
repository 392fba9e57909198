// The sequence and epoch rules of idempotent producers, producer expiry, and
// the snapshot file that lets a restart skip most of the log replay.
#include "broker/producer_state.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <limits>

#include <fmt/format.h>
#include <xxhash.h>

#include "protocol/wire.h"
#include "storage/checkpoint_file.h"
#include "storage/format.h"

namespace runnel::broker {

using proto::error_code;

int32_t increment_sequence(int32_t sequence, int32_t increment) {
    assert(sequence >= 0 && increment >= 0);
    constexpr int32_t max = std::numeric_limits<int32_t>::max();
    if (sequence > max - increment) {
        return increment - (max - sequence) - 1;
    }
    return sequence + increment;
}

batch_identity batch_identity::of(const proto::batch_header& header) {
    batch_identity out;
    out.producer_id = model::producer_id(header.producer_id);
    out.epoch = model::producer_epoch(header.producer_epoch);
    out.base_sequence = header.base_sequence;
    out.last_offset_delta = header.last_offset_delta;
    return out;
}

int32_t batch_identity::last_sequence() const {
    if (base_sequence < 0 || last_offset_delta < 0) {
        return base_sequence;
    }
    return increment_sequence(base_sequence, last_offset_delta);
}

namespace {

// The sequence that may follow last: last + 1, or 0 after INT32_MAX.
bool in_sequence(int32_t last, int32_t next) {
    return int64_t{next} == int64_t{last} + 1 || (next == 0 && last == std::numeric_limits<int32_t>::max());
}

void add_batch(producer_entry& entry, model::producer_epoch epoch, const producer_batch& batch) {
    if (entry.epoch != epoch) {
        // A new epoch starts a new sequence: the old batches can no longer be retried.
        entry.batches.clear();
        entry.epoch = epoch;
    }
    entry.batches.push_back(batch);
    if (entry.batches.size() > producer_batches_max) {
        entry.batches.pop_front();
    }
    entry.last_timestamp = batch.timestamp;
}

// The scratch state of one producer while checking a request: its entry as
// the earlier batches of the request would leave it.
struct pending_producer {
    model::producer_id id;
    producer_entry entry;      // after the request's earlier batches
    bool known_before = false; // the partition had an epoch for it before the request
};

sequence_check fail(error_code code, std::string message) {
    sequence_check out;
    out.error = code;
    out.message = std::move(message);
    return out;
}

// Kafka's epoch and sequence rules for one batch against the producer's state.
sequence_check check_one(const batch_identity& b, const pending_producer& p) {
    const producer_entry& e = p.entry;
    if (b.epoch < e.epoch) {
        return fail(error_code::invalid_producer_epoch,
                    fmt::format("producer {} epoch {} is older than the current epoch {}", b.producer_id.value(),
                                b.epoch.value(), e.epoch.value()));
    }
    if (b.epoch != e.epoch) {
        // A newer epoch (or the first batch of a producer the partition does
        // not know) must start at sequence 0, unless the producer is unknown:
        // its earlier batches may have been removed by retention.
        if (b.base_sequence != 0 && e.epoch.value() != proto::no_producer_epoch) {
            return fail(error_code::out_of_order_sequence_number,
                        fmt::format("producer {} starts epoch {} at sequence {}, not 0", b.producer_id.value(),
                                    b.epoch.value(), b.base_sequence));
        }
        return {};
    }
    if (!p.known_before) {
        return {}; // an unknown producer: any sequence is accepted
    }
    const int32_t last = e.last_sequence();
    if (!in_sequence(last, b.base_sequence)) {
        return fail(error_code::out_of_order_sequence_number,
                    fmt::format("producer {} epoch {}: sequence {} does not follow {}", b.producer_id.value(),
                                b.epoch.value(), b.base_sequence, last));
    }
    return {};
}

} // namespace

sequence_check producer_state::check(std::span<const batch_identity> batches) const {
    // A request rarely carries more than one batch per partition, so a
    // vector searched linearly is the cheapest scratch map.
    std::vector<pending_producer> pending;
    for (const auto& b : batches) {
        if (!b.idempotent()) {
            continue;
        }
        const producer_entry* current = find(b.producer_id);
        // A retry of a batch already in the log: answer with its offsets.
        if (current != nullptr && current->epoch == b.epoch) {
            for (const auto& old : current->batches) {
                if (old.first_sequence == b.base_sequence && old.last_sequence == b.last_sequence()) {
                    sequence_check out;
                    out.duplicate = old;
                    return out;
                }
            }
        }
        auto it = std::find_if(pending.begin(), pending.end(), [&](const auto& p) { return p.id == b.producer_id; });
        if (it == pending.end()) {
            pending_producer p;
            p.id = b.producer_id;
            if (current != nullptr) {
                p.entry = *current;
                p.known_before = current->epoch.value() != proto::no_producer_epoch;
            }
            pending.push_back(std::move(p));
            it = std::prev(pending.end());
        }
        sequence_check verdict = check_one(b, *it);
        if (verdict.error != error_code::none) {
            return verdict;
        }
        producer_batch applied;
        applied.first_sequence = b.base_sequence;
        applied.last_sequence = b.last_sequence();
        add_batch(it->entry, b.epoch, applied);
    }
    return {};
}

void producer_state::record(const batch_identity& batch, int64_t first_offset, int64_t last_offset,
                            int64_t timestamp) {
    if (!batch.idempotent()) {
        return;
    }
    assert(first_offset <= last_offset);
    if (!producers_.contains(batch.producer_id)) {
        make_room(batch.producer_id);
    }
    producer_batch b;
    b.first_sequence = batch.base_sequence;
    b.last_sequence = batch.last_sequence();
    b.first_offset = first_offset;
    b.last_offset = last_offset;
    b.timestamp = timestamp;
    add_batch(producers_[batch.producer_id], batch.epoch, b);
    applied_offset_ = std::max(applied_offset_, last_offset + 1);
}

bool producer_state::restore(model::producer_id id, producer_entry entry) {
    return producers_.emplace(id, std::move(entry)).second;
}

const producer_entry* producer_state::find(model::producer_id id) const {
    auto it = producers_.find(id);
    return it == producers_.end() ? nullptr : &it->second;
}

void producer_state::make_room(model::producer_id incoming) {
    if (producers_.size() < limits_.producers_max) {
        return;
    }
    // Forget the producer idle longest. Linear, but it only runs when the
    // partition is at its limit, which a healthy workload never reaches.
    auto oldest = producers_.end();
    for (auto it = producers_.begin(); it != producers_.end(); ++it) {
        if (it->first != incoming && (oldest == producers_.end() || it->second.last_timestamp < oldest->second.last_timestamp)) {
            oldest = it;
        }
    }
    if (oldest != producers_.end()) {
        producers_.erase(oldest);
    }
}

size_t producer_state::remove_expired(int64_t now_ms) {
    return std::erase_if(producers_, [&](const auto& kv) {
        return now_ms - kv.second.last_timestamp >= limits_.expiration_ms;
    });
}

size_t producer_state::remove_below(int64_t log_start_offset) {
    return std::erase_if(producers_, [&](const auto& kv) { return kv.second.last_offset() < log_start_offset; });
}

void producer_state::clear() {
    producers_.clear();
    applied_offset_ = 0;
}

// ---- Snapshots ----------------------------------------------------------

namespace producer_snapshot {
namespace {

constexpr std::string_view magic = "RNLPRODS";
constexpr int16_t version = 1;
constexpr size_t checksum_bytes = 8;
// A producer record without its batches: id, epoch, last timestamp, count.
constexpr size_t producer_record_bytes = 8 + 2 + 8 + 1;
constexpr size_t batch_record_bytes = 4 + 4 + 8 + 8 + 8;

storage::error corrupt(std::string_view why) {
    return storage::make_error(storage::errc::corrupt, fmt::format("producer state snapshot: {}", why));
}

std::optional<int64_t> parse_name(std::string_view name) {
    if (name.size() != storage::format::file_name_digits + suffix.size() || !name.ends_with(suffix)) {
        return std::nullopt;
    }
    int64_t offset = 0;
    const char* end = name.data() + storage::format::file_name_digits;
    auto [ptr, ec] = std::from_chars(name.data(), end, offset);
    if (ec != std::errc() || ptr != end || offset < 0) {
        return std::nullopt;
    }
    return offset;
}

} // namespace

std::string file_name(int64_t offset) {
    assert(offset >= 0);
    return fmt::format("{:020d}{}", offset, suffix);
}

std::vector<uint8_t> encode(const producer_state& state, int64_t offset) {
    proto::writer w;
    w.write_raw(magic);
    w.write_int16(version);
    w.write_int64(offset);
    w.write_int32(static_cast<int32_t>(state.size()));
    for (const auto& [id, entry] : state.producers()) {
        w.write_int64(id.value());
        w.write_int16(entry.epoch.value());
        w.write_int64(entry.last_timestamp);
        w.write_int8(static_cast<int8_t>(entry.batches.size()));
        for (const auto& b : entry.batches) {
            w.write_int32(b.first_sequence);
            w.write_int32(b.last_sequence);
            w.write_int64(b.first_offset);
            w.write_int64(b.last_offset);
            w.write_int64(b.timestamp);
        }
    }
    w.write_int64(static_cast<int64_t>(XXH64(w.buffer().data(), w.buffer().size(), 0)));
    return w.release();
}

storage::status decode(std::span<const uint8_t> bytes, producer_state& out) {
    if (bytes.size() < magic.size() + 2 + 8 + 4 + checksum_bytes) {
        return corrupt(fmt::format("{} bytes is too short", bytes.size()));
    }
    const size_t body = bytes.size() - checksum_bytes;
    proto::reader tail(bytes.subspan(body));
    if (tail.read_int64() != static_cast<int64_t>(XXH64(bytes.data(), body, 0))) {
        return corrupt("checksum mismatch");
    }
    proto::reader r(bytes.first(body));
    auto m = r.read_span(magic.size());
    if (!std::equal(m.begin(), m.end(), magic.begin(), magic.end(),
                    [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); })) {
        return corrupt("bad magic");
    }
    if (const int16_t v = r.read_int16(); v != version) {
        return corrupt(fmt::format("unknown version {}", v));
    }
    const int64_t offset = r.read_int64();
    const int32_t count = r.read_int32();
    if (offset < 0 || count < 0 || static_cast<size_t>(count) > r.remaining() / producer_record_bytes) {
        return corrupt(fmt::format("offset {} or producer count {} out of range", offset, count));
    }
    producer_state loaded;
    for (int32_t i = 0; i < count && r.ok(); ++i) {
        const auto id = model::producer_id(r.read_int64());
        producer_entry entry;
        entry.epoch = model::producer_epoch(r.read_int16());
        entry.last_timestamp = r.read_int64();
        const int8_t batches = r.read_int8();
        if (batches < 0 || static_cast<size_t>(batches) > producer_batches_max ||
            static_cast<size_t>(batches) > r.remaining() / batch_record_bytes) {
            return corrupt(fmt::format("producer {} has {} batches", id.value(), batches));
        }
        for (int8_t j = 0; j < batches; ++j) {
            producer_batch b;
            b.first_sequence = r.read_int32();
            b.last_sequence = r.read_int32();
            b.first_offset = r.read_int64();
            b.last_offset = r.read_int64();
            b.timestamp = r.read_int64();
            entry.batches.push_back(b);
        }
        if (id.value() < 0 || !loaded.restore(id, std::move(entry))) {
            return corrupt(fmt::format("producer id {} is negative or repeated", id.value()));
        }
    }
    r.expect_end();
    if (!r.ok()) {
        return corrupt("truncated or trailing bytes");
    }
    loaded.set_applied_offset(offset);
    out = std::move(loaded);
    return {};
}

storage::result<std::vector<int64_t>> list(storage::file_system& fs, const std::string& dir) {
    auto names = fs.list_dir(dir);
    if (!names.ok()) {
        return names.err();
    }
    std::vector<int64_t> offsets;
    for (const auto& name : *names) {
        if (auto offset = parse_name(name)) {
            offsets.push_back(*offset);
        }
    }
    std::sort(offsets.begin(), offsets.end());
    return offsets;
}

storage::status write(storage::file_system& fs, const std::string& dir, const producer_state& state) {
    const int64_t offset = state.applied_offset();
    const auto bytes = encode(state, offset);
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    RUNNEL_TRY(storage::write_file_atomically(fs, storage::join_path(dir, file_name(offset)), text));
    auto offsets = list(fs, dir);
    if (!offsets.ok()) {
        return offsets.err();
    }
    for (size_t i = 0; i + kept_max < offsets->size(); ++i) {
        RUNNEL_TRY(fs.remove_file(storage::join_path(dir, file_name((*offsets)[i]))));
    }
    return {};
}

storage::status remove_above(storage::file_system& fs, const std::string& dir, int64_t offset) {
    auto offsets = list(fs, dir);
    if (!offsets.ok()) {
        return offsets.err();
    }
    for (int64_t o : *offsets) {
        if (o > offset) {
            RUNNEL_TRY(fs.remove_file(storage::join_path(dir, file_name(o))));
        }
    }
    return {};
}

} // namespace producer_snapshot

// ---- Startup ------------------------------------------------------------

namespace {
// Log replay reads this much at a time.
constexpr uint64_t replay_read_bytes = 4 * 1024 * 1024;
} // namespace

storage::result<producer_state_load_report> replay_log(storage::partition_log& log, int64_t from,
                                                       producer_state& state) {
    producer_state_load_report report;
    int64_t next = std::max(from, log.log_start_offset());
    const int64_t end = log.log_end_offset();
    while (next < end) {
        storage::read_options options;
        options.bytes_max = replay_read_bytes;
        options.min_one_batch = true;
        auto read = log.read(next, options);
        if (!read.ok()) {
            return read.err();
        }
        if (read->slices.empty() || read->next_offset <= next) {
            break; // nothing more to read (the end moved or a gap): done
        }
        auto copied = storage::partition_log::copy_slices(*read);
        if (!copied.ok()) {
            return copied.err();
        }
        proto::batch_splitter splitter(*copied);
        while (auto batch = splitter.next()) {
            const auto header = proto::decode_batch_header(*batch);
            report.bytes_replayed += batch->size();
            if (header.last_offset() < next || header.is_control()) {
                continue; // below where we started, or a transaction marker
            }
            ++report.batches_replayed;
            state.record(batch_identity::of(header), header.base_offset, header.last_offset(), header.max_timestamp);
        }
        if (splitter.error() != proto::batch_error::none) {
            return storage::make_error(storage::errc::corrupt,
                                       fmt::format("producer state replay of {} at offset {}: {}", log.dir(), next,
                                                   proto::to_string(splitter.error())));
        }
        next = read->next_offset;
    }
    state.set_applied_offset(std::max(state.applied_offset(), end));
    return report;
}

storage::result<producer_state_load_report> load_producer_state(storage::file_system& fs, storage::partition_log& log,
                                                                producer_state& out) {
    auto offsets = producer_snapshot::list(fs, log.dir());
    if (!offsets.ok()) {
        return offsets.err();
    }
    // Snapshots past the log end describe batches the log no longer has.
    RUNNEL_TRY(producer_snapshot::remove_above(fs, log.dir(), log.log_end_offset()));
    producer_state_load_report report;
    out.clear();
    for (auto it = offsets->rbegin(); it != offsets->rend(); ++it) {
        if (*it > log.log_end_offset()) {
            continue;
        }
        auto bytes = storage::read_whole_file(fs, storage::join_path(log.dir(), producer_snapshot::file_name(*it)),
                                              producer_snapshot::file_bytes_max);
        if (bytes.ok() && producer_snapshot::decode(*bytes, out).ok()) {
            report.snapshot_offset = *it;
            break;
        }
        ++report.snapshots_rejected;
        out.clear();
    }
    const int64_t from = report.snapshot_offset >= 0 ? report.snapshot_offset : log.log_start_offset();
    auto replayed = replay_log(log, from, out);
    if (!replayed.ok()) {
        return replayed.err();
    }
    report.batches_replayed = replayed->batches_replayed;
    report.bytes_replayed = replayed->bytes_replayed;
    out.remove_below(log.log_start_offset());
    return report;
}

} // namespace runnel::broker
