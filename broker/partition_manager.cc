// Hosting partitions on shards: placement, per-shard tables, following the
// metadata image (create, reconfigure, delete), and housekeeping timers.
#include "broker/partition_manager.h"

#include <algorithm>
#include <cassert>
#include <chrono>

#include <asio/steady_timer.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "broker/config.h"
#include "broker/logging.h"
#include "broker/topic_config.h"

namespace runnel::broker {

namespace {

// Kafka's partition.metadata file: which topic id a partition directory
// belongs to, so that a topic deleted and re-created under the same name
// never adopts the old directory.
constexpr std::string_view partition_metadata_file = "partition.metadata";
constexpr size_t partition_metadata_bytes_max = 4096;

// Housekeeping wakes at least this often, and at most this often.
constexpr int64_t housekeeping_interval_max_ms = 5000;
constexpr int64_t housekeeping_interval_min_ms = 100;

struct key_view {
    std::string_view topic;
    int32_t index;
};

std::string partition_metadata_text(const proto::uuid& topic_id) {
    return fmt::format("version: 0\ntopic_id: {}\n", topic_id.to_string());
}

// The topic id in a partition.metadata file, nullopt when the file is
// missing or unreadable (then it is written anew).
std::optional<proto::uuid> read_partition_metadata(storage::file_system& fs, const std::string& dir) {
    auto bytes = storage::read_whole_file(fs, storage::join_path(dir, partition_metadata_file),
                                          partition_metadata_bytes_max);
    if (!bytes.ok()) {
        return std::nullopt;
    }
    std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    constexpr std::string_view field = "topic_id: ";
    size_t at = text.find(field);
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    text.remove_prefix(at + field.size());
    return proto::uuid::from_string(text.substr(0, text.find('\n')));
}

} // namespace

struct partition_manager::shard_table {
    struct less {
        using is_transparent = void;
        static key_view view(const std::pair<std::string, int32_t>& k) { return {k.first, k.second}; }
        static key_view view(const key_view& k) { return k; }
        template <typename A, typename B>
        bool operator()(const A& a, const B& b) const {
            key_view x = view(a);
            key_view y = view(b);
            return x.topic < y.topic || (x.topic == y.topic && x.index < y.index);
        }
    };
    std::map<std::pair<std::string, int32_t>, std::shared_ptr<partition>, less> by_name;
    std::map<std::pair<proto::uuid, int32_t>, std::shared_ptr<partition>> by_id;
    bool housekeeping_started = false;
};

partition_manager::partition_manager(shard_set& shards, std::shared_ptr<storage::file_system> fs,
                                     storage::log_manager& logs, storage::flusher& flusher,
                                     const broker_config& config)
    : shards_(shards), fs_(std::move(fs)), logs_(logs), flusher_(flusher), config_(config) {
    for (size_t i = 0; i < shards_.size(); ++i) {
        tables_.push_back(std::make_unique<shard_table>());
    }
}

partition_manager::~partition_manager() = default;

void partition_manager::add_observer(partition_observer* observer) {
    assert(observer != nullptr);
    observers_.push_back(observer);
}

size_t partition_manager::shard_of(std::string_view topic, model::partition_id index) const {
    // FNV-1a of the name places the topic; its partitions then go round the
    // shards from there, so that a topic's load spreads evenly.
    uint64_t h = 14695981039346656037ull;
    for (char c : topic) {
        h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
    }
    return static_cast<size_t>((h + static_cast<uint32_t>(index.value())) % shards_.size());
}

std::optional<size_t> partition_manager::shard_of(const metadata_image& image, const proto::uuid& topic_id,
                                                  model::partition_id index) const {
    const topic_image* topic = image.find_topic(topic_id);
    if (topic == nullptr) {
        return std::nullopt;
    }
    return shard_of(topic->name, index);
}

void partition_manager::assert_on_shard(size_t shard) const {
    const bool here = shards_.executor(shard).running_in_this_thread();
    if (!here) {
        fmt::print(stderr, "partition_manager: shard {}'s table used from another thread\n", shard);
    }
    assert(here && "a shard's partitions are touched only on that shard");
}

std::shared_ptr<partition> partition_manager::get(std::string_view topic, model::partition_id index) const {
    const size_t shard = shard_of(topic, index);
    assert_on_shard(shard);
    const auto& table = *tables_[shard];
    auto it = table.by_name.find(key_view{topic, index.value()});
    return it == table.by_name.end() ? nullptr : it->second;
}

std::shared_ptr<partition> partition_manager::get(const proto::uuid& topic_id, model::partition_id index) const {
    // The id's topic name decides the shard; look in the table of the calling
    // shard, which must be that shard if the partition is hosted.
    for (size_t shard = 0; shard < tables_.size(); ++shard) {
        if (!shards_.executor(shard).running_in_this_thread()) {
            continue;
        }
        const auto& table = *tables_[shard];
        auto it = table.by_id.find({topic_id, index.value()});
        if (it == table.by_id.end()) {
            return nullptr;
        }
        assert_on_shard(shard_of(it->second->topic(), index));
        return it->second;
    }
    assert(false && "partition_manager::get called off the shards");
    return nullptr;
}

std::vector<std::shared_ptr<partition>> partition_manager::local_partitions() const {
    for (size_t shard = 0; shard < tables_.size(); ++shard) {
        if (shards_.executor(shard).running_in_this_thread()) {
            std::vector<std::shared_ptr<partition>> out;
            for (const auto& [key, p] : tables_[shard]->by_name) {
                out.push_back(p);
            }
            return out;
        }
    }
    assert(false && "partition_manager::local_partitions called off the shards");
    return {};
}

size_t partition_manager::partition_count() const {
    size_t n = 0;
    for (const auto& table : tables_) {
        n += table->by_name.size();
    }
    return n;
}

int64_t partition_manager::now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

asio::awaitable<void> partition_manager::apply(std::shared_ptr<const metadata_image> image) {
    assert(image != nullptr);
    for (size_t shard = 0; shard < shards_.size(); ++shard) {
        // Built outside the co_await expression: g++ 12 destroys a lambda temporary
        // of a co_await operand twice (GCC PR 100611), releasing `image` twice.
        auto work = run_on(shards_.executor(shard), [this, shard, image]() -> asio::awaitable<void> {
            apply_on_shard(shard, *image);
            co_return;
        });
        co_await std::move(work);
    }
}

void partition_manager::apply_on_shard(size_t shard, const metadata_image& image) {
    assert_on_shard(shard);
    remove_gone(shard, image);
    auto& table = *tables_[shard];
    const config_view view(config_, image, config_.node_id().value());
    // New partitions are opened in two steps so that their files' syncs
    // overlap (topic creation made three syncs per partition, one partition
    // after another): every log is opened and its files written, then one
    // batch makes them durable, then the partitions are hosted.
    struct opening {
        const topic_image* topic;
        const partition_image* image;
        partition_settings settings;
        std::shared_ptr<storage::partition_log> log;
        bool in_batch; // it wrote files that the batch makes durable
    };
    std::vector<opening> fresh;
    storage::atomic_write_batch batch(*fs_);
    for (const auto& [name, topic] : image.topics) {
        std::optional<storage::log_config> log_config;
        std::optional<partition_settings> settings;
        for (const partition_image& p : topic.partitions) {
            const model::partition_id index(p.partition);
            if (shard_of(name, index) != shard) {
                continue;
            }
            if (!log_config) {
                log_config = view.log_config(topic.configs);
                settings = view.settings(topic.configs);
            }
            auto it = table.by_name.find(key_view{name, p.partition});
            if (it == table.by_name.end()) {
                const size_t staged = batch.size();
                auto log = open_log(topic, p.partition, *log_config, batch);
                if (!log.ok()) {
                    get_logger("partitions")->error("cannot open {}-{}: {}", name, p.partition, log.err().message);
                    continue;
                }
                fresh.push_back(opening{&topic, &p, *settings, std::move(*log), batch.size() != staged});
                continue;
            }
            partition& existing = *it->second;
            existing.set_leader_epoch(model::leader_epoch(p.leader_epoch));
            if (!(existing.settings() == *settings)) {
                existing.set_settings(*settings);
            }
            existing.log().set_config(*log_config);
        }
    }
    const auto synced = batch.commit();
    for (auto& o : fresh) {
        if (o.in_batch && !synced.ok()) {
            get_logger("partitions")->error("cannot open {}-{}: {}", o.topic->name, o.image->partition,
                                            synced.err().message);
            continue;
        }
        host_partition(shard, *o.topic, *o.image, std::move(o.log), std::move(o.settings));
    }
}

// Removes partitions whose topic is gone or was re-created under another
// id, and deletes logs on disk that belong to no topic of the image (left by
// a deletion a crash interrupted).
void partition_manager::remove_gone(size_t shard, const metadata_image& image) {
    auto& table = *tables_[shard];
    std::vector<std::shared_ptr<partition>> gone;
    for (const auto& [key, p] : table.by_name) {
        const topic_image* topic = image.find_topic(p->topic());
        const bool present = topic != nullptr && topic->id == p->topic_id() &&
                             static_cast<size_t>(p->index().value()) < topic->partitions.size();
        if (!present) {
            gone.push_back(p);
        }
    }
    for (const auto& p : gone) {
        remove(table, p, true);
    }
    for (const storage::topic_partition& tp : logs_.partitions()) {
        if (tp.topic == cluster_metadata_topic || shard_of(tp.topic, model::partition_id(tp.partition)) != shard) {
            continue;
        }
        const topic_image* topic = image.find_topic(tp.topic);
        if (topic == nullptr || static_cast<size_t>(tp.partition) >= topic->partitions.size()) {
            get_logger("partitions")->warn("deleting log {} of no current topic", tp.dir_name());
            if (auto s = logs_.delete_log(tp); !s.ok()) {
                get_logger("partitions")->error("deleting log {}: {}", tp.dir_name(), s.err().message);
            }
        }
    }
}

void partition_manager::remove(shard_table& table, const std::shared_ptr<partition>& p, bool deleted) {
    p->mark_removed();
    for (partition_observer* o : observers_) {
        o->on_close(*p, deleted);
    }
    // Heterogeneous erase(key) is C++23: find, then erase.
    if (auto it = table.by_name.find(key_view{p->topic(), p->index().value()}); it != table.by_name.end()) {
        table.by_name.erase(it);
    }
    table.by_id.erase({p->topic_id(), p->index().value()});
    if (!deleted) {
        return;
    }
    storage::topic_partition tp{p->topic(), p->index().value()};
    if (auto s = logs_.delete_log(tp); !s.ok()) {
        get_logger("partitions")->error("deleting log {}: {}", tp.dir_name(), s.err().message);
    } else {
        get_logger("partitions")->info("deleted partition {}", tp.dir_name());
    }
}

storage::result<std::shared_ptr<storage::partition_log>> partition_manager::open_log(
    const topic_image& topic, int32_t index, const storage::log_config& log_config, storage::atomic_write_batch& batch) {
    const storage::topic_partition tp{topic.name, index};
    if (auto existing = logs_.get(tp)) {
        std::optional<proto::uuid> owner = read_partition_metadata(*fs_, existing->dir());
        if (!owner || *owner == topic.id) {
            existing->set_config(log_config);
            if (!owner) {
                RUNNEL_TRY(batch.stage(storage::join_path(existing->dir(), partition_metadata_file),
                                       partition_metadata_text(topic.id)));
            }
            return existing;
        }
        // The directory of an earlier topic of the same name.
        get_logger("partitions")->warn("log {} belongs to topic id {}, not {}: deleting it", tp.dir_name(),
                                       owner->to_string(), topic.id.to_string());
        RUNNEL_TRY(logs_.delete_log(tp));
    }
    auto created = logs_.create_log(tp, log_config, now_ms(), &batch);
    if (!created.ok()) {
        return created.err();
    }
    RUNNEL_TRY(batch.stage(storage::join_path((*created)->dir(), partition_metadata_file),
                           partition_metadata_text(topic.id)));
    return created;
}

std::shared_ptr<partition> partition_manager::host_partition(size_t shard, const topic_image& topic,
                                                             const partition_image& image,
                                                             std::shared_ptr<storage::partition_log> log,
                                                             partition_settings settings) {
    auto p = std::make_shared<partition>(topic.name, topic.id, model::partition_id(image.partition),
                                         model::leader_epoch(image.leader_epoch), std::move(settings),
                                         std::move(log), shard);
    auto& table = *tables_[shard];
    table.by_name.emplace(std::pair{topic.name, image.partition}, p);
    table.by_id.emplace(std::pair{topic.id, image.partition}, p);
    for (partition_observer* o : observers_) {
        o->on_open(*p);
    }
    return p;
}

void partition_manager::start_housekeeping() {
    for (size_t shard = 0; shard < shards_.size(); ++shard) {
        assert(!tables_[shard]->housekeeping_started);
        tables_[shard]->housekeeping_started = true;
        asio::co_spawn(shards_.executor(shard), housekeeping_loop(shard), asio::detached);
    }
}

asio::awaitable<void> partition_manager::housekeeping_loop(size_t shard) {
    const int64_t tick_ms = std::clamp<int64_t>(config_.log_retention_check_interval_ms(),
                                                housekeeping_interval_min_ms, housekeeping_interval_max_ms);
    const int64_t checkpoint_ms = std::max<int64_t>(housekeeping_interval_min_ms,
                                                    config_.get_int32("log.flush.offset.checkpoint.interval.ms"));
    int64_t last_checkpoint_ms = now_ms();
    asio::steady_timer timer(shards_.executor(shard));
    for (;;) {
        timer.expires_after(std::chrono::milliseconds(tick_ms));
        auto [ec] = co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        if (ec) {
            co_return;
        }
        const int64_t now = now_ms();
        for (const auto& [key, p] : tables_[shard]->by_name) {
            auto report = p->log().maybe_enforce_retention(now);
            if (!report.ok()) {
                get_logger("partitions")->warn("retention of {}-{}: {}", p->topic(), p->index().value(),
                                               report.err().message);
            } else if (report->segments_deleted > 0) {
                get_logger("partitions")->info("retention deleted {} segment(s) ({} bytes) of {}-{}",
                                               report->segments_deleted, report->bytes_deleted, p->topic(),
                                               p->index().value());
            }
        }
        // Three small files, written atomically: bounded work for shard 0.
        if (shard == 0 && now - last_checkpoint_ms >= checkpoint_ms) {
            last_checkpoint_ms = now;
            if (auto s = logs_.write_checkpoints(); !s.ok()) {
                get_logger("partitions")->warn("writing checkpoints: {}", s.err().message);
            }
        }
    }
}

void partition_manager::close_all() {
    for (auto& table : tables_) {
        std::vector<std::shared_ptr<partition>> all;
        for (const auto& [key, p] : table->by_name) {
            all.push_back(p);
        }
        for (const auto& p : all) {
            remove(*table, p, false);
        }
    }
}

} // namespace runnel::broker
