// Broker keys for the partition logs (directories, segments, retention,
// flushing, compaction) and the per-topic keys whose defaults they are.
// Names, types and defaults are Kafka's (4.x) unless a comment says why not.
#include "broker/config_registry.h"

namespace runnel::broker {
namespace {

constexpr std::string_view int64_max = "9223372036854775807";

void define_log_layout(config_registry& r) {
    using enum config_type;
    using enum importance;
    using enum update_mode;
    using namespace validate;
    // Kafka's default is /tmp/kafka-logs; ours differs so a dev broker never touches a real Kafka's data.
    r.define("log.dir", list, "/tmp/runnel-logs", non_empty_list(), high, read_only,
             "Data directories, used when log.dirs is not set.");
    r.define("log.dirs", list, std::nullopt, non_empty_list(), high, read_only,
             "Comma-separated data directories; partitions are spread over them.");
    r.define("metadata.log.dir", string, std::nullopt, {}, high, read_only,
             "Where the cluster metadata log is kept; when not set, the first data directory.");
    r.define("num.recovery.threads.per.data.dir", int32, "2", at_least(1), high, cluster_wide,
             "Threads per data directory that recover logs at startup and flush them at shutdown.");
    r.define("log.segment.bytes", int32, "1073741824", at_least(1048576), high, cluster_wide,
             "A segment larger than this is closed and a new one started.");
    r.define("log.roll.ms", int64, std::nullopt, {}, high, cluster_wide,
             "A segment older than this is closed and a new one started; when not set, log.roll.hours.");
    r.define("log.roll.hours", int32, "168", at_least(1), high, cluster_wide,
             "As log.roll.ms, in hours; used when log.roll.ms is not set.");
    r.define("log.roll.jitter.ms", int64, std::nullopt, {}, high, cluster_wide,
             "Most time subtracted at random from the roll time, so segments do not all roll at once.");
    r.define("log.roll.jitter.hours", int32, "0", at_least(0), high, cluster_wide,
             "As log.roll.jitter.ms, in hours; used when log.roll.jitter.ms is not set.");
    r.define("log.index.size.max.bytes", int32, "10485760", at_least(4), medium, cluster_wide,
             "Largest offset index of a segment; a full index rolls the segment.");
    r.define("log.index.interval.bytes", int32, "4096", at_least(0), medium, cluster_wide,
             "Bytes of records between two offset index entries.");
    r.define("log.preallocate", boolean, "false", {}, medium, cluster_wide,
             "Allocate a new segment file at its full size up front.");
    r.define("log.segment.delete.delay.ms", int64, "60000", at_least(0), high, cluster_wide,
             "How long a deleted segment's files wait before they are removed from disk.");
}

void define_log_retention(config_registry& r) {
    using enum config_type;
    using enum importance;
    using enum update_mode;
    using namespace validate;
    r.define("log.retention.ms", int64, std::nullopt, {}, high, cluster_wide,
             "How long records are kept; -1 for no time limit. When not set, log.retention.minutes.");
    r.define("log.retention.minutes", int32, std::nullopt, {}, high, cluster_wide,
             "As log.retention.ms, in minutes; used when log.retention.ms is not set.");
    r.define("log.retention.hours", int32, "168", {}, high, cluster_wide,
             "As log.retention.ms, in hours; used when neither log.retention.ms nor .minutes is set.");
    r.define("log.retention.bytes", int64, "-1", {}, high, cluster_wide,
             "Size a partition may grow to before its oldest segments are deleted; -1 for no limit.");
    r.define("log.retention.check.interval.ms", int64, "300000", at_least(1), medium, read_only,
             "How often logs are checked for segments past retention.");
    r.define("log.cleanup.policy", list, "delete", each_one_of({"compact", "delete"}), medium, cluster_wide,
             "What happens to old segments: delete them, compact them (keep the last record per key), or both.");
    r.define("log.flush.interval.messages", int64, int64_max, at_least(1), high, cluster_wide,
             "Records appended to a partition before it is fsynced; the default leaves it to replication.");
    r.define("log.flush.interval.ms", int64, std::nullopt, {}, high, cluster_wide,
             "Longest a record stays unsynced; when not set, log.flush.scheduler.interval.ms.");
    r.define("log.flush.scheduler.interval.ms", int64, int64_max, {}, high, cluster_wide,
             "How often partitions are checked for a time-based flush.");
    r.define("log.flush.offset.checkpoint.interval.ms", int32, "60000", at_least(0), high, read_only,
             "How often the recovery point of each partition is written to disk.");
    r.define("log.flush.start.offset.checkpoint.interval.ms", int32, "60000", at_least(0), high, read_only,
             "How often the log start offset of each partition is written to disk.");
    r.define("message.max.bytes", int32, "1048588", at_least(0), high, cluster_wide,
             "The largest record batch the broker accepts (after compression).");
    r.define("log.message.timestamp.type", string, "CreateTime", one_of({"CreateTime", "LogAppendTime"}), medium,
             cluster_wide, "Whether stored timestamps are the producer's (CreateTime) or the broker's (LogAppendTime).");
    r.define("log.message.timestamp.before.max.ms", int64, int64_max, at_least(0), medium, cluster_wide,
             "How far in the past a CreateTime timestamp may be before the batch is refused.");
    r.define("log.message.timestamp.after.max.ms", int64, "3600000", at_least(0), medium, cluster_wide,
             "How far in the future a CreateTime timestamp may be before the batch is refused.");
}

void define_log_cleaner(config_registry& r) {
    using enum config_type;
    using enum importance;
    using enum update_mode;
    using namespace validate;
    r.define("log.cleaner.enable", boolean, "true", {}, medium, read_only,
             "Run the compaction threads (needed by compacted topics such as __consumer_offsets).");
    r.define("log.cleaner.threads", int32, "1", at_least(0), medium, cluster_wide,
             "Threads that compact logs.");
    r.define("log.cleaner.dedupe.buffer.size", int64, "134217728", {}, medium, cluster_wide,
             "Memory for the key-to-offset maps of all compaction threads together.");
    r.define("log.cleaner.io.buffer.size", int32, "524288", at_least(0), medium, cluster_wide,
             "Memory for read and write buffers of all compaction threads together.");
    r.define("log.cleaner.backoff.ms", int64, "15000", at_least(0), medium, cluster_wide,
             "Pause when there is nothing to compact.");
    r.define("log.cleaner.min.cleanable.ratio", float64, "0.5", between_double(0.0, 1.0), medium, cluster_wide,
             "Share of a log that must be uncompacted before it is compacted.");
    r.define("log.cleaner.delete.retention.ms", int64, "86400000", at_least(0), medium, cluster_wide,
             "How long tombstones stay in a compacted log.");
    r.define("log.cleaner.min.compaction.lag.ms", int64, "0", at_least(0), medium, cluster_wide,
             "Youngest a record may be and still be compacted away.");
    r.define("log.cleaner.max.compaction.lag.ms", int64, int64_max, at_least(1), medium, cluster_wide,
             "Oldest an uncompacted record may get before its segment is compacted regardless of the ratio.");
}

// The throttled-replica lists: "*" or partition:broker pairs.
validator throttled_replicas() {
    return [](const config_value& v) -> std::optional<std::string> {
        const string_list& items = std::get<string_list>(v);
        if (items.size() == 1 && items[0] == "*") {
            return std::nullopt;
        }
        for (const std::string& item : items) {
            size_t colon = item.find(':');
            bool digits = colon != std::string::npos && colon > 0 && colon + 1 < item.size() &&
                          item.find_first_not_of("0123456789", 0) == colon &&
                          item.find_first_not_of("0123456789", colon + 1) == std::string::npos;
            if (!digits) {
                return "must be * or a list of partition:broker pairs";
            }
        }
        return std::nullopt;
    };
}

} // namespace

void define_log_configs(config_registry& registry) {
    define_log_layout(registry);
    define_log_retention(registry);
    define_log_cleaner(registry);
}

void define_topic_configs(config_registry& r) {
    using enum config_type;
    using enum unit_conversion;
    using namespace validate;
    r.define_topic("cleanup.policy", list, {{"log.cleanup.policy"}}, each_one_of({"compact", "delete"}),
                   "delete and/or compact old segments.");
    r.define_topic("compression.type", string, {{"compression.type"}},
                   one_of({"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}), "Codec batches are stored with.");
    r.define_topic("compression.gzip.level", int32, {{"compression.gzip.level"}}, gzip_level(), "gzip level.");
    r.define_topic("compression.lz4.level", int32, {{"compression.lz4.level"}}, between(1, 17), "lz4 level.");
    r.define_topic("compression.zstd.level", int32, {{"compression.zstd.level"}}, between(-131072, 22), "zstd level.");
    r.define_topic("delete.retention.ms", int64, {{"log.cleaner.delete.retention.ms"}}, at_least(0),
                   "How long tombstones stay in a compacted log.");
    r.define_topic("file.delete.delay.ms", int64, {{"log.segment.delete.delay.ms"}}, at_least(0),
                   "Delay before a deleted segment's files are removed.");
    r.define_topic("flush.messages", int64, {{"log.flush.interval.messages"}}, at_least(1), "Records between fsyncs.");
    r.define_topic("flush.ms", int64, {{"log.flush.interval.ms"}, {"log.flush.scheduler.interval.ms"}}, at_least(0),
                   "Longest a record stays unsynced.");
    r.define_topic_fixed("follower.replication.throttled.replicas", list, "", throttled_replicas(),
                         "Replicas whose follower fetches are throttled.");
    r.define_topic_fixed("leader.replication.throttled.replicas", list, "", throttled_replicas(),
                         "Replicas whose leader side of replication is throttled.");
    r.define_topic("index.interval.bytes", int32, {{"log.index.interval.bytes"}}, at_least(0),
                   "Bytes between offset index entries.");
    r.define_topic_fixed("local.retention.bytes", int64, "-2", at_least(-2), "Tiered storage only; -2 follows retention.bytes.");
    r.define_topic_fixed("local.retention.ms", int64, "-2", at_least(-2), "Tiered storage only; -2 follows retention.ms.");
    r.define_topic("max.compaction.lag.ms", int64, {{"log.cleaner.max.compaction.lag.ms"}}, at_least(1),
                   "Oldest an uncompacted record may get.");
    r.define_topic("max.message.bytes", int32, {{"message.max.bytes"}}, at_least(0), "Largest record batch accepted.");
    r.define_topic("message.timestamp.after.max.ms", int64, {{"log.message.timestamp.after.max.ms"}}, at_least(0),
                   "How far in the future a CreateTime timestamp may be.");
    r.define_topic("message.timestamp.before.max.ms", int64, {{"log.message.timestamp.before.max.ms"}}, at_least(0),
                   "How far in the past a CreateTime timestamp may be.");
    r.define_topic("message.timestamp.type", string, {{"log.message.timestamp.type"}},
                   one_of({"CreateTime", "LogAppendTime"}), "CreateTime or LogAppendTime.");
    r.define_topic("min.cleanable.dirty.ratio", float64, {{"log.cleaner.min.cleanable.ratio"}}, between_double(0.0, 1.0),
                   "Share of the log that must be uncompacted before compaction.");
    r.define_topic("min.compaction.lag.ms", int64, {{"log.cleaner.min.compaction.lag.ms"}}, at_least(0),
                   "Youngest a record may be and still be compacted away.");
    r.define_topic("min.insync.replicas", int32, {{"min.insync.replicas"}}, at_least(1),
                   "Replicas that must have a write before acks=all succeeds.");
    r.define_topic("preallocate", boolean, {{"log.preallocate"}}, {}, "Allocate segment files at full size.");
    // Runnel has no tiered storage; the keys exist so that clients which send
    // them with their defaults are not refused, but enabling it is.
    r.define_topic_fixed("remote.storage.enable", boolean, "false", [](const config_value& v) -> std::optional<std::string> {
        return std::get<bool>(v) ? std::optional<std::string>("tiered storage is not supported by Runnel") : std::nullopt;
    }, "Tiered storage (not supported: must be false).");
    r.define_topic_fixed("remote.log.copy.disable", boolean, "false", {}, "Tiered storage only.");
    r.define_topic_fixed("remote.log.delete.on.disable", boolean, "false", {}, "Tiered storage only.");
    r.define_topic("retention.bytes", int64, {{"log.retention.bytes"}}, {}, "Partition size limit; -1 for none.");
    r.add_topic(topic_config_definition{
        "retention.ms", int64,
        {{"log.retention.ms"}, {"log.retention.minutes", minutes_to_ms}, {"log.retention.hours", hours_to_ms}},
        std::nullopt, at_least(-1), "How long records are kept; -1 for no time limit.", true, {}});
    r.define_topic("segment.bytes", int32, {{"log.segment.bytes"}}, at_least(1048576), "Segment size limit.");
    r.define_topic("segment.index.bytes", int32, {{"log.index.size.max.bytes"}}, at_least(4), "Offset index size limit.");
    r.define_topic("segment.jitter.ms", int64, {{"log.roll.jitter.ms"}, {"log.roll.jitter.hours", hours_to_ms}},
                   at_least(0), "Random jitter subtracted from segment.ms.");
    r.define_topic("segment.ms", int64, {{"log.roll.ms"}, {"log.roll.hours", hours_to_ms}}, at_least(1),
                   "Segment age limit.");
    r.define_topic("unclean.leader.election.enable", boolean, {{"unclean.leader.election.enable"}}, {},
                   "Allow an out-of-sync replica to become leader, losing data.");
}

} // namespace runnel::broker
