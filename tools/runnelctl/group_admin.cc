// The admin requests behind `runnelctl group`: DescribeConsumerGroups,
// ListConsumerGroupOffsets, watermarks and topic metadata.
#include "tools/runnelctl/group_admin.h"

#include <algorithm>

namespace runnel::ctl {

std::string describe_error_object(const rd_kafka_error_t* error) {
    return describe_error(rd_kafka_error_code(error), rd_kafka_error_string(error));
}

namespace {

std::vector<topic_partition> to_pairs(const rd_kafka_topic_partition_list_t* list) {
    std::vector<topic_partition> out;
    for (int i = 0; list != nullptr && i < list->cnt; ++i) {
        out.emplace_back(list->elems[i].topic, list->elems[i].partition);
    }
    std::sort(out.begin(), out.end());
    return out;
}

group_member read_member(const rd_kafka_MemberDescription_t* m) {
    group_member out;
    out.member_id = rd_kafka_MemberDescription_consumer_id(m);
    if (const char* instance = rd_kafka_MemberDescription_group_instance_id(m); instance != nullptr && *instance) {
        out.instance_id = instance;
    }
    out.client_id = rd_kafka_MemberDescription_client_id(m);
    out.host = rd_kafka_MemberDescription_host(m);
    if (const auto* assignment = rd_kafka_MemberDescription_assignment(m)) {
        out.assignment = to_pairs(rd_kafka_MemberAssignment_partitions(assignment));
    }
    return out;
}

} // namespace

std::optional<group_description> describe_group(rd_kafka_t* rk, const std::string& group, const deadline& until,
                                                std::string* error) {
    auto options = make_admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, until, false, error);
    if (!options) {
        return std::nullopt;
    }
    queue_ptr queue(rd_kafka_queue_new(rk));
    const char* groups[] = {group.c_str()};
    rd_kafka_DescribeConsumerGroups(rk, groups, 1, options.get(), queue.get());
    auto event = wait_admin_result(queue.get(), until, error);
    if (!event) {
        return std::nullopt;
    }
    size_t count = 0;
    const auto** described =
        rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(event.get()), &count);
    if (count != 1) {
        *error = "the broker described " + std::to_string(count) + " groups";
        return std::nullopt;
    }
    const auto* d = described[0];
    if (const rd_kafka_error_t* e = rd_kafka_ConsumerGroupDescription_error(d)) {
        *error = describe_error_object(e);
        return std::nullopt;
    }
    group_description out;
    out.group = rd_kafka_ConsumerGroupDescription_group_id(d);
    out.state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d));
    if (const char* assignor = rd_kafka_ConsumerGroupDescription_partition_assignor(d)) {
        out.protocol = assignor;
    }
    if (const rd_kafka_Node_t* node = rd_kafka_ConsumerGroupDescription_coordinator(d)) {
        out.coordinator_id = rd_kafka_Node_id(node);
        out.coordinator_host = rd_kafka_Node_host(node) ? rd_kafka_Node_host(node) : "";
        out.coordinator_port = rd_kafka_Node_port(node);
    }
    for (size_t i = 0; i < rd_kafka_ConsumerGroupDescription_member_count(d); ++i) {
        out.members.push_back(read_member(rd_kafka_ConsumerGroupDescription_member(d, i)));
    }
    std::sort(out.members.begin(), out.members.end(),
              [](const group_member& a, const group_member& b) { return a.member_id < b.member_id; });
    return out;
}

std::optional<std::map<topic_partition, int64_t>> committed_offsets(rd_kafka_t* rk, const std::string& group,
                                                                   const deadline& until, std::string* error) {
    auto options = make_admin_options(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, until, false, error);
    if (!options) {
        return std::nullopt;
    }
    queue_ptr queue(rd_kafka_queue_new(rk));
    rd_kafka_ListConsumerGroupOffsets_t* request = rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), nullptr);
    rd_kafka_ListConsumerGroupOffsets(rk, &request, 1, options.get(), queue.get());
    rd_kafka_ListConsumerGroupOffsets_destroy(request);
    auto event = wait_admin_result(queue.get(), until, error);
    if (!event) {
        return std::nullopt;
    }
    size_t count = 0;
    const auto** results = rd_kafka_ListConsumerGroupOffsets_result_groups(
        rd_kafka_event_ListConsumerGroupOffsets_result(event.get()), &count);
    if (count != 1) {
        *error = "the broker answered for " + std::to_string(count) + " groups";
        return std::nullopt;
    }
    if (const rd_kafka_error_t* e = rd_kafka_group_result_error(results[0])) {
        *error = describe_error_object(e);
        return std::nullopt;
    }
    std::map<topic_partition, int64_t> out;
    const auto* list = rd_kafka_group_result_partitions(results[0]);
    for (int i = 0; list != nullptr && i < list->cnt; ++i) {
        const auto& e = list->elems[i];
        if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            *error = std::string(e.topic) + "-" + std::to_string(e.partition) + ": " + describe_error(e.err);
            return std::nullopt;
        }
        if (e.offset >= 0) {
            out[{e.topic, e.partition}] = e.offset;
        }
    }
    return out;
}

std::optional<watermarks> query_watermarks(rd_kafka_t* rk, const topic_partition& tp, const deadline& until,
                                           std::string* error) {
    watermarks w;
    const auto err = rd_kafka_query_watermark_offsets(rk, tp.first.c_str(), tp.second, &w.low, &w.high,
                                                      std::max(1, until.remaining_ms()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *error = tp.first + "-" + std::to_string(tp.second) + ": " + describe_error(err);
        return std::nullopt;
    }
    return w;
}

std::optional<std::vector<int32_t>> topic_partitions(rd_kafka_t* rk, const std::string& topic, const deadline& until,
                                                     std::string* error) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    const auto err = rd_kafka_metadata(rk, 0, rkt, &md, std::max(1, until.remaining_ms()));
    rd_kafka_topic_destroy(rkt);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *error = describe_error(err);
        return std::nullopt;
    }
    metadata_ptr owned(md);
    if (md->topic_cnt != 1 || topic != md->topics[0].topic) {
        *error = "the broker did not describe the topic";
        return std::nullopt;
    }
    if (md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *error = describe_error(md->topics[0].err);
        return std::nullopt;
    }
    std::vector<int32_t> out;
    for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
        out.push_back(md->topics[0].partitions[i].id);
    }
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace runnel::ctl
