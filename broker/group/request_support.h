// Small helpers shared by the group API handlers (handlers/join_group.cc and
// its siblings): the client host Kafka records for a member, and the group
// operations reported when DescribeGroups asks for authorized operations.
#pragma once

#include <string>

#include "broker/handlers/handlers.h"
#include "broker/request_context.h"

namespace runnel::broker {

// Kafka shows a member's host as Java prints an address: "/127.0.0.1".
inline std::string client_host(const request_context& ctx) {
    const std::string& address = ctx.client_address;
    const auto colon = address.rfind(':');
    return "/" + (colon == std::string::npos ? address : address.substr(0, colon));
}

// READ, DELETE and DESCRIBE: what a group allows without an authorizer.
inline constexpr int32_t group_operations_all = acl_operation_bit(3) | acl_operation_bit(6) | acl_operation_bit(8);

// Kafka's value of authorized_operations when the client did not ask.
inline constexpr int32_t authorized_operations_omitted = INT32_MIN;

} // namespace runnel::broker
