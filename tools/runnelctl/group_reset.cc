// `runnelctl group reset-offsets`: moves a group's committed offsets of one
// topic (to the earliest or latest offset, an offset, a shift from the
// committed one, or a timestamp), like Kafka's tool: the plan is printed, and
// applied (AlterConsumerGroupOffsets) only with --execute. The group must
// have no members; the broker refuses a commit for an active group anyway.
#include <algorithm>
#include <iostream>

#include "tools/runnelctl/commands.h"
#include "tools/runnelctl/group_admin.h"

namespace runnel::ctl {
namespace {

// The new offset of one partition; nullopt and *error when it cannot be computed.
std::optional<int64_t> target_offset(rd_kafka_t* rk, const group_reset_offsets_command& cmd, int32_t partition,
                                     const std::map<topic_partition, int64_t>& committed, const deadline& until,
                                     std::string* error) {
    const topic_partition tp{cmd.topic, partition};
    auto w = query_watermarks(rk, tp, until, error);
    if (!w) {
        return std::nullopt;
    }
    auto within = [&](int64_t offset) { return std::clamp(offset, w->low, w->high); };
    switch (cmd.target) {
    case reset_target::earliest: return w->low;
    case reset_target::latest: return w->high;
    case reset_target::offset: return within(cmd.value);
    case reset_target::shift_by: {
        auto it = committed.find(tp);
        if (it == committed.end()) {
            *error = cmd.topic + "-" + std::to_string(partition) + ": the group has no committed offset to shift";
            return std::nullopt;
        }
        return within(it->second + cmd.value);
    }
    case reset_target::timestamp: {
        partition_list_ptr list(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(list.get(), cmd.topic.c_str(), partition)->offset = cmd.value;
        const auto err = rd_kafka_offsets_for_times(rk, list.get(), std::max(1, until.remaining_ms()));
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR || list->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            *error = cmd.topic + "-" + std::to_string(partition) + ": " +
                     describe_error(err != RD_KAFKA_RESP_ERR_NO_ERROR ? err : list->elems[0].err);
            return std::nullopt;
        }
        // No record at or after the time: the end of the log.
        return list->elems[0].offset >= 0 ? list->elems[0].offset : w->high;
    }
    }
    return std::nullopt;
}

bool apply(rd_kafka_t* rk, const group_reset_offsets_command& cmd, const std::vector<std::pair<int32_t, int64_t>>& plan,
           const deadline& until, std::string* error) {
    auto options = make_admin_options(rk, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, until, false, error);
    if (!options) {
        return false;
    }
    partition_list_ptr list(rd_kafka_topic_partition_list_new(static_cast<int>(plan.size())));
    for (const auto& [partition, offset] : plan) {
        rd_kafka_topic_partition_list_add(list.get(), cmd.topic.c_str(), partition)->offset = offset;
    }
    queue_ptr queue(rd_kafka_queue_new(rk));
    rd_kafka_AlterConsumerGroupOffsets_t* request = rd_kafka_AlterConsumerGroupOffsets_new(cmd.group.c_str(), list.get());
    rd_kafka_AlterConsumerGroupOffsets(rk, &request, 1, options.get(), queue.get());
    rd_kafka_AlterConsumerGroupOffsets_destroy(request);
    auto event = wait_admin_result(queue.get(), until, error);
    if (!event) {
        return false;
    }
    size_t count = 0;
    const auto** results = rd_kafka_AlterConsumerGroupOffsets_result_groups(
        rd_kafka_event_AlterConsumerGroupOffsets_result(event.get()), &count);
    if (count != 1) {
        *error = "the broker answered for " + std::to_string(count) + " groups";
        return false;
    }
    if (const rd_kafka_error_t* e = rd_kafka_group_result_error(results[0])) {
        *error = describe_error_object(e);
        return false;
    }
    const auto* partitions = rd_kafka_group_result_partitions(results[0]);
    for (int i = 0; partitions != nullptr && i < partitions->cnt; ++i) {
        if (partitions->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            *error = cmd.topic + "-" + std::to_string(partitions->elems[i].partition) + ": " +
                     describe_error(partitions->elems[i].err);
            return false;
        }
    }
    return true;
}

} // namespace

int run_group_reset_offsets(const global_options& global, const group_reset_offsets_command& cmd) {
    const std::string what = "group reset-offsets " + cmd.group + ": ";
    deadline until(global.timeout_ms);
    std::string error;
    auto rk = make_admin_handle(global, &error);
    std::optional<group_description> d = rk ? describe_group(rk.get(), cmd.group, until, &error) : std::nullopt;
    if (!d) {
        print_error(what + error);
        return exit_failure;
    }
    if (d->state != "Empty" && d->state != "Dead") {
        print_error(what + "the group is " + d->state + " with " + std::to_string(d->members.size()) +
                    " member(s); offsets can only be reset while it has none");
        return exit_failure;
    }
    auto committed = committed_offsets(rk.get(), cmd.group, until, &error);
    auto partitions = committed ? topic_partitions(rk.get(), cmd.topic, until, &error) : std::nullopt;
    if (!partitions) {
        print_error(what + error);
        return exit_failure;
    }
    if (cmd.partition) {
        if (std::find(partitions->begin(), partitions->end(), *cmd.partition) == partitions->end()) {
            print_error(what + cmd.topic + " has no partition " + std::to_string(*cmd.partition));
            return exit_failure;
        }
        partitions = std::vector<int32_t>{*cmd.partition};
    }
    std::vector<std::pair<int32_t, int64_t>> plan;
    for (int32_t p : *partitions) {
        auto offset = target_offset(rk.get(), cmd, p, *committed, until, &error);
        if (!offset) {
            print_error(what + error);
            return exit_failure;
        }
        plan.emplace_back(p, *offset);
    }
    std::cout << "GROUP\tTOPIC\tPARTITION\tNEW-OFFSET\n";
    for (const auto& [p, offset] : plan) {
        std::cout << cmd.group << "\t" << cmd.topic << "\t" << p << "\t" << offset << "\n";
    }
    if (!cmd.execute) {
        std::cout.flush();
        std::cerr << "runnelctl: dry run: nothing changed (add --execute to apply)" << std::endl;
        return exit_ok;
    }
    if (!apply(rk.get(), cmd, plan, until, &error)) {
        print_error(what + error);
        return exit_failure;
    }
    return exit_ok;
}

} // namespace runnel::ctl
