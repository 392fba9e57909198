// `runnelctl topic create|list|describe|delete`, through librdkafka's admin
// API and metadata requests. (alter-config is in topic_alter_config.cc.)
#include <algorithm>
#include <iostream>
#include <set>
#include <sstream>

#include "tools/runnelctl/commands.h"
#include "tools/runnelctl/kafka_client.h"

namespace runnel::ctl {
namespace {

// The error of one topic in a CreateTopics/DeleteTopics result, or "" if none.
std::string topic_result_error(const rd_kafka_topic_result_t* result) {
    const auto err = rd_kafka_topic_result_error(result);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        return {};
    }
    const char* text = rd_kafka_topic_result_error_string(result);
    return describe_error(err, text != nullptr ? text : "");
}

// Runs an admin call that answers with per-topic results, and reports them.
template <typename Submit, typename Results>
int run_topic_admin(const global_options& global, std::string_view what, const std::string& topic,
                    rd_kafka_admin_op_t op, bool validate_only, Submit submit, Results results) {
    deadline until(global.timeout_ms);
    std::string error;
    auto rk = make_admin_handle(global, &error);
    admin_options_ptr options = rk ? make_admin_options(rk.get(), op, until, validate_only, &error) : nullptr;
    if (!options) {
        print_error(std::string(what) + " " + topic + ": " + error);
        return exit_failure;
    }
    queue_ptr queue(rd_kafka_queue_new(rk.get()));
    submit(rk.get(), options.get(), queue.get());
    auto event = wait_admin_result(queue.get(), until, &error);
    if (!event) {
        print_error(std::string(what) + " " + topic + ": " + error);
        return exit_failure;
    }
    size_t count = 0;
    const rd_kafka_topic_result_t** topics = results(event.get(), &count);
    if (count != 1) {
        print_error(std::string(what) + " " + topic + ": the broker answered for " + std::to_string(count) + " topics");
        return exit_failure;
    }
    if (auto e = topic_result_error(topics[0]); !e.empty()) {
        print_error(std::string(what) + " " + topic + ": " + e);
        return exit_failure;
    }
    return exit_ok;
}

metadata_ptr fetch_metadata(rd_kafka_t* rk, const std::string* topic, const deadline& until, std::string* error) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* rkt = topic ? rd_kafka_topic_new(rk, topic->c_str(), nullptr) : nullptr;
    const auto err = rd_kafka_metadata(rk, topic ? 0 : 1, rkt, &md, std::max(1, until.remaining_ms()));
    if (rkt) {
        rd_kafka_topic_destroy(rkt);
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *error = describe_error(err);
        return nullptr;
    }
    return metadata_ptr(md);
}

std::string join_ids(const int32_t* ids, int count) {
    std::string out;
    for (int i = 0; i < count; ++i) {
        out += (i ? "," : "") + std::to_string(ids[i]);
    }
    return out;
}

void print_partitions(const rd_kafka_metadata_topic_t& t) {
    std::vector<const rd_kafka_metadata_partition_t*> partitions;
    for (int i = 0; i < t.partition_cnt; ++i) {
        partitions.push_back(&t.partitions[i]);
    }
    std::sort(partitions.begin(), partitions.end(), [](auto* a, auto* b) { return a->id < b->id; });
    const int replication_factor = partitions.empty() ? 0 : partitions.front()->replica_cnt;
    std::cout << "Topic: " << t.topic << "\tPartitionCount: " << t.partition_cnt
              << "\tReplicationFactor: " << replication_factor << "\n";
    for (const auto* p : partitions) {
        std::cout << "\tPartition: " << p->id << "\tLeader: " << p->leader
                  << "\tReplicas: " << join_ids(p->replicas, p->replica_cnt) << "\tIsr: " << join_ids(p->isrs, p->isr_cnt);
        if (p->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            std::cout << "\tError: " << error_name(p->err);
        }
        std::cout << "\n";
    }
}

// Prints every config of the topic with its source; false and *error on failure.
bool print_configs(rd_kafka_t* rk, const std::string& topic, const deadline& until, std::string* error) {
    auto options = make_admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, until, false, error);
    if (!options) {
        return false;
    }
    rd_kafka_ConfigResource_t* resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
    queue_ptr queue(rd_kafka_queue_new(rk));
    rd_kafka_DescribeConfigs(rk, &resource, 1, options.get(), queue.get());
    rd_kafka_ConfigResource_destroy(resource);
    auto event = wait_admin_result(queue.get(), until, error);
    if (!event) {
        return false;
    }
    size_t count = 0;
    const auto** resources = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(event.get()), &count);
    if (count != 1) {
        *error = "the broker described " + std::to_string(count) + " resources";
        return false;
    }
    if (auto err = rd_kafka_ConfigResource_error(resources[0]); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* text = rd_kafka_ConfigResource_error_string(resources[0]);
        *error = describe_error(err, text ? text : "");
        return false;
    }
    size_t entry_count = 0;
    const auto** entries = rd_kafka_ConfigResource_configs(resources[0], &entry_count);
    std::vector<const rd_kafka_ConfigEntry_t*> sorted(entries, entries + entry_count);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) {
        return std::string_view(rd_kafka_ConfigEntry_name(a)) < std::string_view(rd_kafka_ConfigEntry_name(b));
    });
    std::cout << "Configs:\n";
    for (const auto* e : sorted) {
        const char* value = rd_kafka_ConfigEntry_value(e);
        std::cout << "\t" << rd_kafka_ConfigEntry_name(e) << "="
                  << (rd_kafka_ConfigEntry_is_sensitive(e) ? "(sensitive)" : value ? value : "")
                  << "\tsource=" << rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(e))
                  << (rd_kafka_ConfigEntry_is_read_only(e) ? "\tread-only" : "") << "\n";
    }
    return true;
}

} // namespace

int run_topic_create(const global_options& global, const topic_create_command& cmd) {
    char errstr[512];
    rd_kafka_NewTopic_t* new_topic =
        rd_kafka_NewTopic_new(cmd.topic.c_str(), cmd.partitions, cmd.replication_factor, errstr, sizeof errstr);
    if (new_topic == nullptr) {
        print_error("topic create " + cmd.topic + ": " + errstr);
        return exit_usage;
    }
    for (const auto& c : cmd.configs) {
        if (rd_kafka_NewTopic_set_config(new_topic, c.key.c_str(), c.value.c_str()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_NewTopic_destroy(new_topic);
            print_error("topic create " + cmd.topic + ": cannot set config " + c.key);
            return exit_usage;
        }
    }
    const int code = run_topic_admin(
        global, "topic create", cmd.topic, RD_KAFKA_ADMIN_OP_CREATETOPICS, cmd.validate_only,
        [&](rd_kafka_t* rk, rd_kafka_AdminOptions_t* options, rd_kafka_queue_t* queue) {
            rd_kafka_CreateTopics(rk, &new_topic, 1, options, queue);
        },
        [](rd_kafka_event_t* event, size_t* count) {
            return rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), count);
        });
    rd_kafka_NewTopic_destroy(new_topic);
    if (code == exit_ok) {
        std::cout << (cmd.validate_only ? "Validated topic " : "Created topic ") << cmd.topic << ".\n";
    }
    return code;
}

int run_topic_delete(const global_options& global, const topic_delete_command& cmd) {
    rd_kafka_DeleteTopic_t* doomed = rd_kafka_DeleteTopic_new(cmd.topic.c_str());
    const int code = run_topic_admin(
        global, "topic delete", cmd.topic, RD_KAFKA_ADMIN_OP_DELETETOPICS, false,
        [&](rd_kafka_t* rk, rd_kafka_AdminOptions_t* options, rd_kafka_queue_t* queue) {
            rd_kafka_DeleteTopics(rk, &doomed, 1, options, queue);
        },
        [](rd_kafka_event_t* event, size_t* count) {
            return rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(event), count);
        });
    rd_kafka_DeleteTopic_destroy(doomed);
    if (code == exit_ok) {
        std::cout << "Deleted topic " << cmd.topic << ".\n";
    }
    return code;
}

int run_topic_list(const global_options& global, const topic_list_command&) {
    deadline until(global.timeout_ms);
    std::string error;
    auto rk = make_admin_handle(global, &error);
    metadata_ptr md = rk ? fetch_metadata(rk.get(), nullptr, until, &error) : nullptr;
    if (!md) {
        print_error("topic list: " + error);
        return exit_failure;
    }
    std::set<std::string> names;
    for (int i = 0; i < md->topic_cnt; ++i) {
        if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            names.insert(md->topics[i].topic);
        }
    }
    for (const auto& n : names) {
        std::cout << n << "\n";
    }
    return exit_ok;
}

int run_topic_describe(const global_options& global, const topic_describe_command& cmd) {
    deadline until(global.timeout_ms);
    std::string error;
    auto rk = make_admin_handle(global, &error);
    metadata_ptr md = rk ? fetch_metadata(rk.get(), &cmd.topic, until, &error) : nullptr;
    if (!md) {
        print_error("topic describe " + cmd.topic + ": " + error);
        return exit_failure;
    }
    if (md->topic_cnt != 1 || cmd.topic != md->topics[0].topic) {
        print_error("topic describe " + cmd.topic + ": the broker did not describe the topic");
        return exit_failure;
    }
    const auto& t = md->topics[0];
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        print_error("topic describe " + cmd.topic + ": " + describe_error(t.err));
        return exit_failure;
    }
    print_partitions(t);
    std::cout.flush();
    if (!print_configs(rk.get(), cmd.topic, until, &error)) {
        print_error("topic describe " + cmd.topic + ": configs: " + error);
        return exit_failure;
    }
    return exit_ok;
}

} // namespace runnel::ctl
