// Metadata: brokers, cluster id, controller and topics, answered from the
// current metadata snapshot.
#include <string_view>

#include "broker/handlers/handlers.h"
#include "broker/topic_name.h"
#include "protocol/errors.h"

namespace runnel::broker {

namespace {

using response_topic = proto::metadata_response::metadata_response_topic;
using response_partition = proto::metadata_response::metadata_response_partition;

// Kafka's operation numbers (AclOperation); without an authorizer every
// operation that applies to the resource is allowed.
constexpr int32_t op_bit(int n) { return int32_t{1} << n; }
constexpr int32_t topic_operations_all = op_bit(3) | op_bit(4) | op_bit(5) | op_bit(6) | op_bit(7) | op_bit(8) |
                                         op_bit(10) | op_bit(11);
constexpr int32_t cluster_operations_all = op_bit(5) | op_bit(7) | op_bit(8) | op_bit(9) | op_bit(10) | op_bit(11) |
                                           op_bit(12) | op_bit(13) | op_bit(14);

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
    for (const auto& wanted : *request.topics) {
        const topic_image* topic = nullptr;
        if (wanted.name) {
            if (!is_valid_topic_name(*wanted.name)) {
                response.topics.push_back(topic_error(wanted.name, proto::error_code::invalid_topic_exception));
                continue;
            }
            topic = image->find_topic(*wanted.name);
            if (topic == nullptr) {
                response.topics.push_back(topic_error(wanted.name, proto::error_code::unknown_topic_or_partition));
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
