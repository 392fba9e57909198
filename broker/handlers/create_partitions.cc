// CreatePartitions: raises topics' partition counts (never lowers them),
// optionally with the replicas of each new partition; a topic listed twice
// gets INVALID_REQUEST.
#include <map>

#include "broker/controller.h"
#include "broker/handlers/handlers.h"
#include "protocol/errors.h"

namespace runnel::broker {

namespace {

proto::create_partitions_response::create_partitions_topic_result result(const std::string& name,
                                                                         const admin_error& error) {
    proto::create_partitions_response::create_partitions_topic_result out;
    out.name = name;
    out.error_code = proto::code(error.code);
    out.error_message = error.message;
    return out;
}

} // namespace

asio::awaitable<proto::create_partitions_response> handle_create_partitions(
    request_context& ctx, proto::create_partitions_request& request) {
    std::map<std::string, int> listed;
    for (const auto& t : request.topics) {
        ++listed[t.name];
    }
    proto::create_partitions_response response;
    std::vector<partition_increase> increases;
    for (const auto& t : request.topics) {
        int& count = listed[t.name];
        if (count > 1) {
            response.results.push_back(
                result(t.name, {proto::error_code::invalid_request, "Duplicate topic in request."}));
            count = -1; // one answer per name
            continue;
        }
        if (count == -1) {
            continue;
        }
        partition_increase inc;
        inc.topic = t.name;
        inc.count = t.count;
        if (t.assignments) {
            inc.assignments.emplace();
            for (const auto& a : *t.assignments) {
                inc.assignments->push_back(a.broker_ids);
            }
        }
        increases.push_back(std::move(inc));
    }
    if (increases.empty()) {
        co_return response;
    }
    std::vector<std::string> names;
    for (const auto& inc : increases) {
        names.push_back(inc.topic);
    }
    auto results = co_await ctx.broker->controller->create_partitions(std::move(increases), request.validate_only);
    for (size_t i = 0; i < results.size(); ++i) {
        response.results.push_back(result(names[i], results[i]));
    }
    co_return response;
}

} // namespace runnel::broker
