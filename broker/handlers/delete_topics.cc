// DeleteTopics: by name (v0-v5 TopicNames, v6 Topics with a name) or by
// topic id (v6+); a topic listed twice gets INVALID_REQUEST.
#include <map>

#include <fmt/format.h>

#include "broker/controller.h"
#include "broker/handlers/handlers.h"
#include "protocol/errors.h"

namespace runnel::broker {

namespace {

using result_entry = proto::delete_topics_response::deletable_topic_result;

result_entry entry(std::optional<std::string> name, const proto::uuid& id, const admin_error& error) {
    result_entry out;
    out.name = std::move(name);
    out.topic_id = id;
    out.error_code = proto::code(error.code);
    out.error_message = error.message;
    return out;
}

} // namespace

asio::awaitable<proto::delete_topics_response> handle_delete_topics(request_context& ctx,
                                                                    proto::delete_topics_request& request) {
    std::vector<topic_ref> refs;
    if (ctx.api_version >= 6) {
        for (const auto& t : request.topics) {
            refs.push_back({t.name, t.topic_id});
        }
    } else {
        for (const auto& name : request.topic_names) {
            refs.push_back({name, {}});
        }
    }
    proto::delete_topics_response response;
    std::map<std::string, int> by_name;
    std::map<proto::uuid, int> by_id;
    for (const auto& r : refs) {
        if (r.name) {
            ++by_name[*r.name];
        } else {
            ++by_id[r.id];
        }
    }
    std::vector<topic_ref> wanted;
    for (const auto& r : refs) {
        const int count = r.name ? by_name[*r.name] : by_id[r.id];
        if (r.name && r.id != proto::uuid{}) {
            response.responses.push_back(entry(r.name, r.id, {proto::error_code::invalid_request,
                                                              "Give a topic name or a topic id, not both."}));
        } else if (!r.name && r.id.is_zero()) {
            response.responses.push_back(entry(std::nullopt, r.id, {proto::error_code::invalid_request,
                                                                    "A topic needs a name or an id."}));
        } else if (count > 1) {
            response.responses.push_back(entry(r.name, r.id, {proto::error_code::invalid_request,
                                                              "The request lists this topic more than once."}));
        } else {
            wanted.push_back(r);
        }
    }
    if (wanted.empty()) {
        co_return response;
    }
    auto results = co_await ctx.broker->controller->delete_topics(std::move(wanted));
    for (const auto& r : results) {
        response.responses.push_back(entry(r.name, r.id, r.error));
    }
    co_return response;
}

} // namespace runnel::broker
