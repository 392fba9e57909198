// DescribeCluster: the registered brokers, the cluster id and the
// controller, from the metadata image. Brokers serve only the broker
// endpoint type (v1+).
#include "broker/handlers/handlers.h"
#include "protocol/errors.h"

namespace runnel::broker {

namespace {
// Kafka's EndpointType numbers.
constexpr int8_t endpoint_type_brokers = 1;
} // namespace

asio::awaitable<proto::describe_cluster_response> handle_describe_cluster(request_context& ctx,
                                                                        proto::describe_cluster_request& request) {
    proto::describe_cluster_response response;
    response.endpoint_type = request.endpoint_type;
    if (ctx.api_version >= 1 && request.endpoint_type != endpoint_type_brokers) {
        response.error_code = proto::code(proto::error_code::unsupported_endpoint_type);
        response.error_message = "A broker lists broker endpoints only (endpoint type 1).";
        co_return response;
    }
    auto image = ctx.broker->metadata->current();
    response.cluster_id = image->cluster_id;
    response.controller_id = image->controller_id;
    for (const auto& b : image->brokers) {
        proto::describe_cluster_response::describe_cluster_broker out;
        out.broker_id = b.node_id;
        out.host = b.host;
        out.port = b.port;
        out.rack = b.rack;
        response.brokers.push_back(std::move(out));
    }
    if (request.include_cluster_authorized_operations) {
        response.cluster_authorized_operations = cluster_operations_all;
    }
    co_return response;
}

} // namespace runnel::broker
