// Controller operations on topics: CreateTopics, DeleteTopics,
// CreatePartitions and auto-creation. Each checks every topic against the
// current image, then commits the records of the valid ones in one append.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "broker/config.h"
#include "broker/controller.h"
#include "broker/logging.h"
#include "broker/shards.h"
#include "broker/topic_name.h"

namespace runnel::broker {

namespace {

using proto::error_code;

admin_error fail(error_code code, std::string message) { return admin_error{code, std::move(message)}; }

// Kafka's topic names map '.' and '_' to the same metric names, so two
// topics that differ only there may not both exist.
std::string collision_key(std::string_view name) {
    std::string out(name);
    std::replace(out.begin(), out.end(), '.', '_');
    return out;
}

std::optional<admin_error> check_topic_name(const std::string& name, const metadata_image& image) {
    if (!is_valid_topic_name(name)) {
        return fail(error_code::invalid_topic_exception,
                    fmt::format("'{}' is not a valid topic name: 1 to {} characters from [a-zA-Z0-9._-], "
                                "and neither '.' nor '..'",
                                name, topic_name_bytes_max));
    }
    if (name == cluster_metadata_topic) {
        return fail(error_code::invalid_topic_exception, fmt::format("'{}' is reserved for the metadata log", name));
    }
    if (image.topics.contains(name)) {
        return fail(error_code::topic_already_exists, fmt::format("Topic '{}' already exists.", name));
    }
    const std::string key = collision_key(name);
    if (key != name || name.find('_') != std::string::npos) {
        for (const auto& [existing, topic] : image.topics) {
            if (collision_key(existing) == key) {
                return fail(error_code::invalid_topic_exception,
                            fmt::format("Topic '{}' collides with the existing topic '{}' ('.' and '_' are alike "
                                        "in metric names)",
                                        name, existing));
            }
        }
    }
    return std::nullopt;
}

// Replicas are valid when non-empty, without repeats, and all registered.
std::optional<admin_error> check_replicas(const std::vector<int32_t>& replicas, const metadata_image& image,
                                          int32_t partition) {
    if (replicas.empty()) {
        return fail(error_code::invalid_replica_assignment,
                    fmt::format("partition {} has an empty replica list", partition));
    }
    std::set<int32_t> seen;
    for (int32_t id : replicas) {
        if (!seen.insert(id).second) {
            return fail(error_code::invalid_replica_assignment,
                        fmt::format("partition {} lists broker {} twice", partition, id));
        }
        if (image.find_broker(id) == nullptr) {
            return fail(error_code::invalid_replica_assignment,
                        fmt::format("partition {} names broker {}, which is not registered", partition, id));
        }
    }
    return std::nullopt;
}

std::optional<admin_error> check_replication_factor(int32_t factor, const metadata_image& image) {
    const auto brokers = static_cast<int32_t>(image.brokers.size());
    if (factor > brokers) {
        return fail(error_code::invalid_replication_factor,
                    fmt::format("Unable to replicate the partition {} time(s): the replication factor {} cannot be "
                                "reached because only {} broker(s) are registered.",
                                factor, factor, brokers));
    }
    return std::nullopt;
}

// Round-robin placement over the registered brokers, starting one further
// for each partition, so that leaders spread.
std::vector<int32_t> place_replicas(const metadata_image& image, int32_t partition, int32_t factor) {
    std::vector<int32_t> out;
    const size_t n = image.brokers.size();
    for (int32_t i = 0; i < factor; ++i) {
        out.push_back(image.brokers[(static_cast<size_t>(partition) + static_cast<size_t>(i)) % n].node_id);
    }
    return out;
}

proto::partition_record new_partition(const proto::uuid& topic_id, int32_t partition, std::vector<int32_t> replicas) {
    proto::partition_record r;
    r.topic_id = topic_id;
    r.partition_id = partition;
    r.isr = replicas;
    r.leader = replicas.front();
    r.replicas = std::move(replicas);
    r.leader_epoch = 0;
    r.partition_epoch = 0;
    return r;
}

} // namespace

create_topic_result controller::plan_topic(const new_topic& topic, const metadata_image& image,
                                           std::vector<metadata_record>& records, bool validate_only) {
    create_topic_result out;
    out.name = topic.name;
    if (auto e = check_topic_name(topic.name, image)) {
        out.error = std::move(*e);
        return out;
    }
    const bool assigned = !topic.assignments.empty();
    if (assigned && (topic.num_partitions != -1 || topic.replication_factor != -1)) {
        out.error = fail(error_code::invalid_request,
                         "Both the partition count or replication factor and replica assignments were set; "
                         "only one of them may be.");
        return out;
    }
    if (!assigned && (topic.num_partitions == 0 || topic.num_partitions < -1)) {
        out.error = fail(error_code::invalid_partitions,
                         fmt::format("The number of partitions must be positive, or -1 for the default (num.partitions); "
                                     "it was {}.",
                                     topic.num_partitions));
        return out;
    }
    if (!assigned && (topic.replication_factor == 0 || topic.replication_factor < -1)) {
        out.error = fail(error_code::invalid_replication_factor,
                         fmt::format("The replication factor must be positive, or -1 for the default "
                                     "(default.replication.factor); it was {}.",
                                     topic.replication_factor));
        return out;
    }
    // The replicas of each partition, from the assignment or by placement.
    std::vector<std::vector<int32_t>> replicas;
    if (assigned) {
        int32_t expected = 0;
        for (const auto& [index, nodes] : topic.assignments) {
            if (index != expected++) {
                out.error = fail(error_code::invalid_replica_assignment,
                                 "Partition indexes of a replica assignment must be 0, 1, 2, ... without gaps.");
                return out;
            }
            if (auto e = check_replicas(nodes, image, index)) {
                out.error = std::move(*e);
                return out;
            }
            replicas.push_back(nodes);
        }
    } else {
        const int32_t partitions = topic.num_partitions == -1 ? config_.num_partitions() : topic.num_partitions;
        const int32_t factor =
            topic.replication_factor == -1 ? config_.default_replication_factor() : topic.replication_factor;
        if (auto e = check_replication_factor(factor, image)) {
            out.error = std::move(*e);
            return out;
        }
        if (partitions > options_.partitions_per_topic_max) {
            out.error = fail(error_code::invalid_partitions,
                             fmt::format("{} partitions asked for; a topic may have at most {}.", partitions,
                                         options_.partitions_per_topic_max));
            return out;
        }
        for (int32_t p = 0; p < partitions; ++p) {
            replicas.push_back(place_replicas(image, p, factor));
        }
    }
    if (static_cast<int64_t>(replicas.size()) > options_.partitions_per_topic_max) {
        out.error = fail(error_code::invalid_partitions,
                         fmt::format("{} partitions asked for; a topic may have at most {}.", replicas.size(),
                                     options_.partitions_per_topic_max));
        return out;
    }
    std::map<std::string, std::string> configs;
    for (const auto& [key, value] : topic.configs) {
        if (!value) {
            out.error = fail(error_code::invalid_request,
                             fmt::format("Null value not supported for topic config {}.", key));
            return out;
        }
        if (auto e = config_.validate_topic_config(key, *value)) {
            out.error = fail(error_code::invalid_config, to_string(*e));
            return out;
        }
        configs[key] = *value;
    }
    out.num_partitions = static_cast<int32_t>(replicas.size());
    out.replication_factor = static_cast<int16_t>(replicas.front().size());
    if (validate_only) {
        return out;
    }
    out.topic_id = random_uuid();
    proto::topic_record t;
    t.name = topic.name;
    t.topic_id = out.topic_id;
    records.emplace_back(std::move(t));
    for (size_t p = 0; p < replicas.size(); ++p) {
        records.emplace_back(new_partition(out.topic_id, static_cast<int32_t>(p), std::move(replicas[p])));
    }
    for (auto& [key, value] : configs) {
        proto::config_record c;
        c.resource_type = config_resource_topic;
        c.resource_name = topic.name;
        c.name = key;
        c.value = std::move(value);
        records.emplace_back(std::move(c));
    }
    return out;
}

asio::awaitable<std::vector<create_topic_result>> controller::create_topics(std::vector<new_topic> topics,
                                                                           bool validate_only) {
    // Built outside the co_await expression: g++ 12 destroys a lambda temporary
    // of a co_await operand twice (GCC PR 100611), releasing its captures twice.
    auto work = run_on(shards_.executor(controller_shard),
                       [this, topics = std::move(topics), validate_only]() mutable {
                           return do_create_topics(std::move(topics), validate_only);
                       });
    co_return co_await std::move(work);
}

asio::awaitable<std::vector<create_topic_result>> controller::do_create_topics(std::vector<new_topic> topics,
                                                                              bool validate_only) {
    auto guard = co_await lock();
    auto image = cache_.current();
    std::vector<create_topic_result> results;
    std::vector<metadata_record> records;
    // Topics of this request see each other: a later one may collide with an earlier one.
    metadata_image planned = *image;
    for (const new_topic& topic : topics) {
        create_topic_result r = plan_topic(topic, planned, records, validate_only);
        if (r.error.ok()) {
            topic_image placeholder;
            placeholder.name = topic.name;
            planned.topics.emplace(topic.name, std::move(placeholder));
        }
        results.push_back(std::move(r));
    }
    if (!records.empty()) {
        admin_error committed = co_await commit(std::move(records));
        if (!committed.ok()) {
            for (auto& r : results) {
                if (r.error.ok()) {
                    r.error = committed;
                    r.topic_id = {};
                }
            }
        } else {
            for (const auto& r : results) {
                if (r.error.ok()) {
                    get_logger("controller")->info("created topic {} (id {}, {} partition(s))", r.name,
                                                   r.topic_id.to_string(), r.num_partitions);
                }
            }
        }
    }
    co_return results;
}

asio::awaitable<std::vector<admin_error>> controller::auto_create_topics(std::vector<std::string> names) {
    // Built outside the co_await expression: g++ 12 destroys a lambda temporary
    // of a co_await operand twice (GCC PR 100611), releasing its captures twice.
    auto work = run_on(shards_.executor(controller_shard), [this, names = std::move(names)]() mutable {
        return do_auto_create_topics(std::move(names));
    });
    co_return co_await std::move(work);
}

asio::awaitable<std::vector<admin_error>> controller::do_auto_create_topics(std::vector<std::string> names) {
    std::vector<admin_error> results(names.size());
    std::vector<new_topic> wanted;
    std::vector<size_t> wanted_at;
    {
        auto image = cache_.current();
        std::set<std::string> asked;
        for (size_t i = 0; i < names.size(); ++i) {
            if (image->topics.contains(names[i]) || !asked.insert(names[i]).second) {
                continue;
            }
            if (!is_valid_topic_name(names[i])) {
                results[i] = fail(error_code::invalid_topic_exception, fmt::format("'{}' is not a valid topic name",
                                                                                   names[i]));
                continue;
            }
            if (!config_.auto_create_topics_enable()) {
                results[i] = fail(error_code::unknown_topic_or_partition,
                                  fmt::format("Topic '{}' does not exist and auto.create.topics.enable is false",
                                              names[i]));
                continue;
            }
            new_topic t;
            t.name = names[i];
            wanted.push_back(std::move(t));
            wanted_at.push_back(i);
        }
    }
    if (wanted.empty()) {
        co_return results;
    }
    auto created = co_await do_create_topics(std::move(wanted), false);
    for (size_t k = 0; k < created.size(); ++k) {
        // Another request may have created it meanwhile: that is success too.
        if (created[k].error.code != error_code::topic_already_exists) {
            results[wanted_at[k]] = created[k].error;
        }
    }
    co_return results;
}

asio::awaitable<std::vector<delete_topic_result>> controller::delete_topics(std::vector<topic_ref> topics) {
    // Built outside the co_await expression: g++ 12 destroys a lambda temporary
    // of a co_await operand twice (GCC PR 100611), releasing its captures twice.
    auto work = run_on(shards_.executor(controller_shard), [this, topics = std::move(topics)]() mutable {
        return do_delete_topics(std::move(topics));
    });
    co_return co_await std::move(work);
}

asio::awaitable<std::vector<delete_topic_result>> controller::do_delete_topics(std::vector<topic_ref> topics) {
    auto guard = co_await lock();
    auto image = cache_.current();
    std::vector<delete_topic_result> results;
    std::vector<metadata_record> records;
    std::set<proto::uuid> removing;
    for (const topic_ref& ref : topics) {
        delete_topic_result r{ref.name, ref.id, {}};
        const topic_image* topic = ref.name ? image->find_topic(*ref.name) : image->find_topic(ref.id);
        if (!config_.delete_topic_enable()) {
            r.error = fail(error_code::topic_deletion_disabled, "Topic deletion is disabled (delete.topic.enable).");
        } else if (topic == nullptr && ref.name) {
            r.error = fail(error_code::unknown_topic_or_partition,
                           fmt::format("This server does not host the topic '{}'.", *ref.name));
        } else if (topic == nullptr) {
            r.error = fail(error_code::unknown_topic_id,
                           fmt::format("This server does not host the topic id {}.", ref.id.to_string()));
        } else {
            r.name = topic->name;
            r.id = topic->id;
            if (removing.insert(topic->id).second) {
                records.emplace_back(proto::remove_topic_record{topic->id, {}});
            }
        }
        results.push_back(std::move(r));
    }
    if (!records.empty()) {
        admin_error committed = co_await commit(std::move(records));
        for (auto& r : results) {
            if (!r.error.ok()) {
                continue;
            }
            if (!committed.ok()) {
                r.error = committed;
            } else {
                get_logger("controller")->info("deleted topic {} (id {})", r.name.value_or(""), r.id.to_string());
            }
        }
    }
    co_return results;
}

asio::awaitable<std::vector<admin_error>> controller::create_partitions(std::vector<partition_increase> increases,
                                                                        bool validate_only) {
    // Built outside the co_await expression: g++ 12 destroys a lambda temporary
    // of a co_await operand twice (GCC PR 100611), releasing its captures twice.
    auto work = run_on(shards_.executor(controller_shard),
                       [this, increases = std::move(increases), validate_only]() mutable {
                           return do_create_partitions(std::move(increases), validate_only);
                       });
    co_return co_await std::move(work);
}

asio::awaitable<std::vector<admin_error>> controller::do_create_partitions(std::vector<partition_increase> increases,
                                                                           bool validate_only) {
    auto guard = co_await lock();
    auto image = cache_.current();
    std::vector<admin_error> results;
    std::vector<metadata_record> records;
    for (const partition_increase& inc : increases) {
        const topic_image* topic = image->find_topic(inc.topic);
        if (topic == nullptr) {
            results.push_back(fail(error_code::unknown_topic_or_partition,
                                   fmt::format("The topic '{}' does not exist.", inc.topic)));
            continue;
        }
        const auto current = static_cast<int32_t>(topic->partitions.size());
        if (inc.count < current) {
            results.push_back(fail(error_code::invalid_partitions,
                                   fmt::format("Topic currently has {} partitions, which is higher than the requested "
                                               "{}; partitions can only be added.",
                                               current, inc.count)));
            continue;
        }
        if (inc.count == current) {
            results.push_back(
                fail(error_code::invalid_partitions, fmt::format("Topic already has {} partitions.", current)));
            continue;
        }
        if (inc.count > options_.partitions_per_topic_max) {
            results.push_back(fail(error_code::invalid_partitions,
                                   fmt::format("{} partitions asked for; a topic may have at most {}.", inc.count,
                                               options_.partitions_per_topic_max)));
            continue;
        }
        const int32_t added = inc.count - current;
        std::vector<std::vector<int32_t>> replicas;
        std::optional<admin_error> error;
        if (inc.assignments) {
            if (static_cast<int32_t>(inc.assignments->size()) != added) {
                error = fail(error_code::invalid_replica_assignment,
                             fmt::format("Increasing the number of partitions by {} but {} assignments provided.",
                                         added, inc.assignments->size()));
            }
            for (size_t i = 0; !error && i < inc.assignments->size(); ++i) {
                error = check_replicas((*inc.assignments)[i], *image, current + static_cast<int32_t>(i));
                replicas.push_back((*inc.assignments)[i]);
            }
        } else {
            const auto factor = static_cast<int32_t>(topic->partitions.front().replicas.size());
            error = check_replication_factor(factor, *image);
            for (int32_t p = current; !error && p < inc.count; ++p) {
                replicas.push_back(place_replicas(*image, p, factor));
            }
        }
        if (error) {
            results.push_back(std::move(*error));
            continue;
        }
        results.push_back({});
        if (validate_only) {
            continue;
        }
        for (int32_t i = 0; i < added; ++i) {
            records.emplace_back(new_partition(topic->id, current + i, std::move(replicas[static_cast<size_t>(i)])));
        }
    }
    if (!records.empty()) {
        admin_error committed = co_await commit(std::move(records));
        for (auto& r : results) {
            if (r.ok() && !committed.ok()) {
                r = committed;
            }
        }
    }
    co_return results;
}

} // namespace runnel::broker
