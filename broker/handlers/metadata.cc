// Metadata: brokers, cluster id, controller and topics, answered from the
// current metadata snapshot; unknown topics are auto-created when allowed.
#include <map>
#include <string_view>

#include "broker/config.h"
#include "broker/controller.h"
#include "broker/handlers/handlers.h"
#include "broker/topic_name.h"
#include "protocol/errors.h"

namespace runnel::broker {

namespace {

using response_topic = proto::metadata_response::metadata_response_topic;
using response_partition = proto::metadata_response::metadata_response_partition;

response_topic describe_topic(const topic_image& topic, bool include_operations) {
    response_topic out;
    out.name = topic.name;
    out.topic_id = topic.id;
    out.is_internal = topic.internal;
    if (include_operations) {
        out.topic_authorized_operations = topic_operations_all;
    }
    for (const auto& p : topic.partitions) {
        response_partition rp;
        rp.partition_index = p.partition;
        rp.leader_id = p.leader;
        rp.leader_epoch = p.leader_epoch;
        rp.replica_nodes = p.replicas;
        rp.isr_nodes = p.isr;
        if (p.leader < 0) {
            rp.error_code = proto::code(proto::error_code::leader_not_available);
        }
        out.partitions.push_back(std::move(rp));
    }
    return out;
}

response_topic topic_error(std::optional<std::string> name, proto::error_code error) {
    response_topic out;
    out.name = std::move(name);
    out.error_code = proto::code(error);
    return out;
}

} // namespace

asio::awaitable<proto::metadata_response> handle_metadata(request_context& ctx, proto::metadata_request& request) {
    auto image = ctx.broker->metadata->current();
    proto::metadata_response response;
    for (const auto& b : image->brokers) {
        response.brokers.push_back({b.node_id, b.host, b.port, b.rack, {}});
    }
    response.cluster_id = image->cluster_id;
    response.controller_id = image->controller_id;
    if (request.include_cluster_authorized_operations) {
        response.cluster_authorized_operations = cluster_operations_all;
    }
    const bool include_ops = request.include_topic_authorized_operations;

    // A null list asks for every topic, and so does an empty one in v0.
    const bool all_topics = !request.topics || (ctx.api_version == 0 && request.topics->empty());
    if (all_topics) {
        for (const auto& [name, topic] : image->topics) {
            response.topics.push_back(describe_topic(topic, include_ops));
        }
        co_return response;
    }
    // Auto-creation (v0-v3 always ask for it): unknown, valid, non-internal
    // names are created before the answer, so the client sees the new
    // topic at once rather than LEADER_NOT_AVAILABLE and a retry.
    const bool auto_create = (ctx.api_version < 4 || request.allow_auto_topic_creation) &&
                             ctx.broker->config->auto_create_topics_enable();
    std::map<std::string, proto::error_code> create_errors;
    if (auto_create) {
        std::vector<std::string> missing;
        for (const auto& wanted : *request.topics) {
            if (wanted.name && is_valid_topic_name(*wanted.name) && !is_internal_topic_name(*wanted.name) &&
                image->find_topic(*wanted.name) == nullptr) {
                missing.push_back(*wanted.name);
            }
        }
        if (!missing.empty()) {
            auto errors = co_await ctx.broker->controller->auto_create_topics(missing);
            for (size_t i = 0; i < missing.size(); ++i) {
                if (!errors[i].ok()) {
                    create_errors[missing[i]] = errors[i].code;
                }
            }
            image = ctx.broker->metadata->current();
        }
    }
    for (const auto& wanted : *request.topics) {
        const topic_image* topic = nullptr;
        if (wanted.name) {
            if (!is_valid_topic_name(*wanted.name)) {
                response.topics.push_back(topic_error(wanted.name, proto::error_code::invalid_topic_exception));
                continue;
            }
            topic = image->find_topic(*wanted.name);
            if (topic == nullptr) {
                auto failed = create_errors.find(*wanted.name);
                response.topics.push_back(topic_error(wanted.name, failed == create_errors.end()
                                                                       ? proto::error_code::unknown_topic_or_partition
                                                                       : failed->second));
                continue;
            }
        } else {
            topic = image->find_topic(wanted.topic_id);
            if (topic == nullptr) {
                response.topics.push_back(topic_error(std::nullopt, proto::error_code::unknown_topic_id));
                continue;
            }
        }
        response.topics.push_back(describe_topic(*topic, include_ops));
    }
    co_return response;
}

} // namespace runnel::broker
