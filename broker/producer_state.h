// Idempotent-producer state of one partition: for each producer id its epoch
// and the last few batches it wrote, so that the partition can tell a new
// batch from a retried one and refuse gaps and fenced producers, as Kafka's
// broker does. Owned by the partition's shard; not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/errors.h"
#include "protocol/record_batch.h"
#include "protocol/types.h"
#include "storage/file_system.h"
#include "storage/partition_log.h"

namespace runnel::broker {

// Kafka keeps the last five batches of each producer: a producer has at most
// five requests in flight per partition (max.in.flight.requests.per.connection
// with idempotence), so a retry is always one of them.
inline constexpr size_t producer_batches_max = 5;

// Where one batch of a producer landed.
struct producer_batch {
    int32_t first_sequence = proto::no_sequence;
    int32_t last_sequence = proto::no_sequence;
    int64_t first_offset = -1;
    int64_t last_offset = -1;
    // The batch's max timestamp (its LogAppendTime when the broker stamped it).
    int64_t timestamp = proto::no_timestamp;
    bool operator==(const producer_batch&) const = default;
};

struct producer_entry {
    model::producer_epoch epoch{proto::no_producer_epoch};
    std::deque<producer_batch> batches; // oldest first, at most producer_batches_max
    int64_t last_timestamp = proto::no_timestamp;

    int32_t last_sequence() const { return batches.empty() ? proto::no_sequence : batches.back().last_sequence; }
    int64_t last_offset() const { return batches.empty() ? -1 : batches.back().last_offset; }
    bool operator==(const producer_entry&) const = default;
};

// What the sequence rules need to know about an incoming batch.
struct batch_identity {
    model::producer_id producer_id{proto::no_producer_id};
    model::producer_epoch epoch{proto::no_producer_epoch};
    int32_t base_sequence = proto::no_sequence;
    int32_t last_offset_delta = 0;

    static batch_identity of(const proto::batch_header& header);
    bool idempotent() const { return producer_id.value() > proto::no_producer_id; }
    int32_t last_sequence() const;
};

// The answer for a partition's batches of one Produce request.
struct sequence_check {
    proto::error_code error = proto::error_code::none;
    // Set when a batch is a retry of one already in the log: the broker
    // answers with its offsets and appends nothing.
    std::optional<producer_batch> duplicate;
    std::string message; // why, for the response's error_message and the log
};

// Sequence arithmetic wraps from INT32_MAX to 0, as Kafka's does.
int32_t increment_sequence(int32_t sequence, int32_t increment);

struct producer_state_limits {
    // Producers tracked per partition; past it the one idle longest is forgotten
    // (it then restarts as an unknown producer, whose sequences are accepted).
    size_t producers_max = 100'000;
    // producer.id.expiration.ms: a producer idle this long is forgotten.
    int64_t expiration_ms = 86'400'000;
};

class producer_state {
public:
    explicit producer_state(producer_state_limits limits = {}) : limits_(limits) {}

    // Checks the batches of one Produce request to this partition, in order,
    // as if each one before it had been appended. Changes nothing.
    sequence_check check(std::span<const batch_identity> batches) const;

    // Records a batch that is now in the log (appends, and log replay on
    // startup). Non-idempotent batches are ignored.
    void record(const batch_identity& batch, int64_t first_offset, int64_t last_offset, int64_t timestamp);

    const producer_entry* find(model::producer_id id) const;
    // Puts back an entry as a snapshot had it; false if the id is there already.
    bool restore(model::producer_id id, producer_entry entry);
    size_t size() const { return producers_.size(); }
    const std::unordered_map<model::producer_id, producer_entry>& producers() const { return producers_; }
    // The offset up to which the log has been applied (one past the last
    // batch recorded or replayed): a snapshot taken now describes it.
    int64_t applied_offset() const { return applied_offset_; }
    void set_applied_offset(int64_t offset) { applied_offset_ = offset; }

    // Forgets producers idle for expiration_ms (by their last batch's timestamp).
    size_t remove_expired(int64_t now_ms);
    // Forgets producers whose every batch is below the log start offset
    // (retention or DeleteRecords removed them), as Kafka does.
    size_t remove_below(int64_t log_start_offset);
    void clear();

private:
    void make_room(model::producer_id incoming);

    producer_state_limits limits_;
    std::unordered_map<model::producer_id, producer_entry> producers_;
    int64_t applied_offset_ = 0;
};

// Snapshots: "<20-digit offset>.snapshot" in the partition directory holds
// the state after every batch below that offset (docs/FORMAT.md).
namespace producer_snapshot {
inline constexpr std::string_view suffix = ".snapshot";
// Older snapshots than the newest few are deleted when one is written.
inline constexpr size_t kept_max = 2;
// A snapshot of more than this many bytes is corrupt.
inline constexpr size_t file_bytes_max = 256 * 1024 * 1024;

std::string file_name(int64_t offset);
std::vector<uint8_t> encode(const producer_state& state, int64_t offset);
// Fails with corrupt on a bad magic, version, length or checksum.
storage::status decode(std::span<const uint8_t> bytes, producer_state& out);

// Writes state as of state.applied_offset() atomically, then deletes all but
// the newest kept_max snapshots.
storage::status write(storage::file_system& fs, const std::string& dir, const producer_state& state);
// The offsets of the snapshots in dir, ascending.
storage::result<std::vector<int64_t>> list(storage::file_system& fs, const std::string& dir);
storage::status remove_above(storage::file_system& fs, const std::string& dir, int64_t offset);
} // namespace producer_snapshot

struct producer_state_load_report {
    int64_t snapshot_offset = -1; // -1: no usable snapshot, replayed from the log start
    size_t snapshots_rejected = 0;
    size_t batches_replayed = 0;
    uint64_t bytes_replayed = 0;
};

// Startup: loads the newest valid snapshot at or below the log end offset
// (newer ones are from a log that was later truncated and are deleted), then
// replays the batch headers of the log from the snapshot's offset to its end.
storage::result<producer_state_load_report> load_producer_state(storage::file_system& fs, storage::partition_log& log,
                                                                producer_state& out);

// Replays the log's batches in [from, log end) into state (record()).
storage::result<producer_state_load_report> replay_log(storage::partition_log& log, int64_t from,
                                                       producer_state& state);

} // namespace runnel::broker
