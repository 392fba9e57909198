// `runnelctl group list|describe|delete`: consumer groups through librdkafka's
// admin API; describe shows each partition's committed offset, log end offset
// and lag (log end minus committed) next to the member that owns it.
#include <algorithm>
#include <cctype>
#include <iostream>
#include <set>

#include "tools/runnelctl/commands.h"
#include "tools/runnelctl/group_admin.h"
#include "tools/runnelctl/record_format.h"

namespace runnel::ctl {
namespace {

bool same_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::optional<rd_kafka_consumer_group_state_t> parse_state(std::string_view name) {
    for (int s = 0; s < RD_KAFKA_CONSUMER_GROUP_STATE__CNT; ++s) {
        const auto state = static_cast<rd_kafka_consumer_group_state_t>(s);
        if (same_ignoring_case(name, rd_kafka_consumer_group_state_name(state))) {
            return state;
        }
    }
    return std::nullopt;
}

std::string json_string(std::string_view s) {
    std::string out;
    append_json_string(s, out);
    return out;
}

// One row of the describe table: a partition the group owns or has an offset for.
struct partition_row {
    topic_partition tp;
    std::optional<int64_t> committed;
    int64_t log_end_offset = -1;
    const group_member* owner = nullptr;
    std::optional<int64_t> lag() const {
        if (!committed || log_end_offset < 0) {
            return std::nullopt;
        }
        return std::max<int64_t>(0, log_end_offset - *committed);
    }
};

std::string or_dash(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "-"; }

void print_text(const group_description& d, const std::vector<partition_row>& rows) {
    std::cout << "Group: " << d.group << "\tState: " << d.state << "\tProtocol: " << (d.protocol.empty() ? "-" : d.protocol)
              << "\tCoordinator: " << d.coordinator_id << " (" << d.coordinator_host << ":" << d.coordinator_port
              << ")\tMembers: " << d.members.size() << "\n\n";
    std::cout << "TOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tCONSUMER-ID\tHOST\tCLIENT-ID\n";
    for (const auto& r : rows) {
        std::cout << r.tp.first << "\t" << r.tp.second << "\t" << or_dash(r.committed) << "\t" << r.log_end_offset << "\t"
                  << or_dash(r.lag()) << "\t" << (r.owner ? r.owner->member_id : "-") << "\t"
                  << (r.owner ? r.owner->host : "-") << "\t" << (r.owner ? r.owner->client_id : "-") << "\n";
    }
    if (d.members.empty()) {
        return;
    }
    std::cout << "\nMEMBER-ID\tINSTANCE-ID\tCLIENT-ID\tHOST\tASSIGNMENT\n";
    for (const auto& m : d.members) {
        std::string assignment;
        for (const auto& [topic, partition] : m.assignment) {
            assignment += (assignment.empty() ? "" : ",") + topic + "-" + std::to_string(partition);
        }
        std::cout << m.member_id << "\t" << m.instance_id.value_or("-") << "\t" << m.client_id << "\t" << m.host << "\t"
                  << (assignment.empty() ? "-" : assignment) << "\n";
    }
}

void print_json(const group_description& d, const std::vector<partition_row>& rows) {
    std::string out = "{\"group\":" + json_string(d.group) + ",\"state\":" + json_string(d.state) +
                      ",\"protocol\":" + json_string(d.protocol) + ",\"coordinator\":{\"id\":" +
                      std::to_string(d.coordinator_id) + ",\"host\":" + json_string(d.coordinator_host) +
                      ",\"port\":" + std::to_string(d.coordinator_port) + "},\"members\":[";
    for (size_t i = 0; i < d.members.size(); ++i) {
        const auto& m = d.members[i];
        out += std::string(i ? "," : "") + "{\"member_id\":" + json_string(m.member_id) +
               ",\"instance_id\":" + (m.instance_id ? json_string(*m.instance_id) : "null") +
               ",\"client_id\":" + json_string(m.client_id) + ",\"host\":" + json_string(m.host) + ",\"assignment\":[";
        for (size_t j = 0; j < m.assignment.size(); ++j) {
            out += std::string(j ? "," : "") + "{\"topic\":" + json_string(m.assignment[j].first) +
                   ",\"partition\":" + std::to_string(m.assignment[j].second) + "}";
        }
        out += "]}";
    }
    out += "],\"offsets\":[";
    for (size_t i = 0; i < rows.size(); ++i) {
        const auto& r = rows[i];
        const auto lag = r.lag();
        out += std::string(i ? "," : "") + "{\"topic\":" + json_string(r.tp.first) +
               ",\"partition\":" + std::to_string(r.tp.second) +
               ",\"committed\":" + (r.committed ? std::to_string(*r.committed) : "null") +
               ",\"log_end_offset\":" + std::to_string(r.log_end_offset) +
               ",\"lag\":" + (lag ? std::to_string(*lag) : "null") +
               ",\"member_id\":" + (r.owner ? json_string(r.owner->member_id) : "null") + "}";
    }
    out += "]}\n";
    std::cout << out;
}

} // namespace

int run_group_list(const global_options& global, const group_list_command& cmd) {
    deadline until(global.timeout_ms);
    std::vector<rd_kafka_consumer_group_state_t> states;
    for (const auto& name : cmd.states) {
        auto s = parse_state(name);
        if (!s) {
            print_error("group list: unknown state '" + name +
                        "' (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead)");
            return exit_usage;
        }
        states.push_back(*s);
    }
    std::string error;
    auto rk = make_admin_handle(global, &error);
    auto options = rk ? make_admin_options(rk.get(), RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, until, false, &error) : nullptr;
    if (!options) {
        print_error("group list: " + error);
        return exit_failure;
    }
    if (!states.empty()) {
        if (rd_kafka_error_t* e =
                rd_kafka_AdminOptions_set_match_consumer_group_states(options.get(), states.data(), states.size())) {
            print_error("group list: " + describe_error_object(e));
            rd_kafka_error_destroy(e);
            return exit_failure;
        }
    }
    queue_ptr queue(rd_kafka_queue_new(rk.get()));
    rd_kafka_ListConsumerGroups(rk.get(), options.get(), queue.get());
    auto event = wait_admin_result(queue.get(), until, &error);
    if (!event) {
        print_error("group list: " + error);
        return exit_failure;
    }
    const auto* result = rd_kafka_event_ListConsumerGroups_result(event.get());
    size_t error_count = 0;
    const auto** errors = rd_kafka_ListConsumerGroups_result_errors(result, &error_count);
    if (error_count > 0) {
        print_error("group list: " + describe_error_object(errors[0]));
        return exit_failure;
    }
    size_t count = 0;
    const auto** listed = rd_kafka_ListConsumerGroups_result_valid(result, &count);
    std::vector<std::pair<std::string, std::string>> groups;
    for (size_t i = 0; i < count; ++i) {
        groups.emplace_back(rd_kafka_ConsumerGroupListing_group_id(listed[i]),
                            rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(listed[i])));
    }
    std::sort(groups.begin(), groups.end());
    if (cmd.json) {
        std::string out = "[";
        for (size_t i = 0; i < groups.size(); ++i) {
            out += std::string(i ? "," : "") + "{\"group\":" + json_string(groups[i].first) +
                   ",\"state\":" + json_string(groups[i].second) + "}";
        }
        std::cout << out << "]\n";
        return exit_ok;
    }
    for (const auto& [group, state] : groups) {
        std::cout << group << "\t" << state << "\n";
    }
    return exit_ok;
}

int run_group_describe(const global_options& global, const group_describe_command& cmd) {
    deadline until(global.timeout_ms);
    std::string error;
    auto rk = make_admin_handle(global, &error);
    std::optional<group_description> d = rk ? describe_group(rk.get(), cmd.group, until, &error) : std::nullopt;
    std::optional<std::map<topic_partition, int64_t>> committed =
        d ? committed_offsets(rk.get(), cmd.group, until, &error) : std::nullopt;
    if (!committed) {
        print_error("group describe " + cmd.group + ": " + error);
        return exit_failure;
    }
    if (d->state == "Dead" && d->members.empty() && committed->empty()) {
        print_error("group describe " + cmd.group + ": GROUP_ID_NOT_FOUND: the group does not exist");
        return exit_failure;
    }
    std::map<topic_partition, partition_row> rows;
    for (const auto& [tp, offset] : *committed) {
        rows[tp].committed = offset;
    }
    for (const auto& m : d->members) {
        for (const auto& tp : m.assignment) {
            rows[tp].owner = &m;
        }
    }
    std::vector<partition_row> ordered;
    for (auto& [tp, row] : rows) {
        row.tp = tp;
        auto w = query_watermarks(rk.get(), tp, until, &error);
        if (!w) {
            print_error("group describe " + cmd.group + ": log end offset of " + error);
            return exit_failure;
        }
        row.log_end_offset = w->high;
        ordered.push_back(row);
    }
    if (cmd.json) {
        print_json(*d, ordered);
    } else {
        print_text(*d, ordered);
    }
    return exit_ok;
}

int run_group_delete(const global_options& global, const group_delete_command& cmd) {
    deadline until(global.timeout_ms);
    std::string error;
    auto rk = make_admin_handle(global, &error);
    auto options = rk ? make_admin_options(rk.get(), RD_KAFKA_ADMIN_OP_DELETEGROUPS, until, false, &error) : nullptr;
    if (!options) {
        print_error("group delete " + cmd.group + ": " + error);
        return exit_failure;
    }
    queue_ptr queue(rd_kafka_queue_new(rk.get()));
    rd_kafka_DeleteGroup_t* doomed = rd_kafka_DeleteGroup_new(cmd.group.c_str());
    rd_kafka_DeleteGroups(rk.get(), &doomed, 1, options.get(), queue.get());
    rd_kafka_DeleteGroup_destroy(doomed);
    auto event = wait_admin_result(queue.get(), until, &error);
    if (!event) {
        print_error("group delete " + cmd.group + ": " + error);
        return exit_failure;
    }
    size_t count = 0;
    const auto** results = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(event.get()), &count);
    if (count != 1) {
        print_error("group delete " + cmd.group + ": the broker answered for " + std::to_string(count) + " groups");
        return exit_failure;
    }
    if (const rd_kafka_error_t* e = rd_kafka_group_result_error(results[0])) {
        print_error("group delete " + cmd.group + ": " + describe_error_object(e));
        return exit_failure;
    }
    std::cout << "Deleted group " << cmd.group << ".\n";
    return exit_ok;
}

} // namespace runnel::ctl
