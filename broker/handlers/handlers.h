// Declarations of the request handlers, one file per API under handlers/.
#pragma once

#include <asio/awaitable.hpp>

#include "broker/dispatch.h"
#include "broker/request_context.h"
#include "protocol/messages/api_table.h"

namespace runnel::broker {

asio::awaitable<proto::api_versions_response> handle_api_versions(request_context&, proto::api_versions_request&);
asio::awaitable<proto::metadata_response> handle_metadata(request_context&, proto::metadata_request&);
asio::awaitable<proto::create_topics_response> handle_create_topics(request_context&, proto::create_topics_request&);
asio::awaitable<proto::delete_topics_response> handle_delete_topics(request_context&, proto::delete_topics_request&);
asio::awaitable<proto::create_partitions_response> handle_create_partitions(request_context&,
                                                                          proto::create_partitions_request&);
asio::awaitable<proto::describe_configs_response> handle_describe_configs(request_context&,
                                                                        proto::describe_configs_request&);
asio::awaitable<proto::alter_configs_response> handle_alter_configs(request_context&, proto::alter_configs_request&);
asio::awaitable<proto::incremental_alter_configs_response> handle_incremental_alter_configs(
    request_context&, proto::incremental_alter_configs_request&);
asio::awaitable<proto::describe_cluster_response> handle_describe_cluster(request_context&,
                                                                        proto::describe_cluster_request&);

// Kafka's operation numbers (AclOperation); without an authorizer every
// operation that applies to the resource is allowed.
constexpr int32_t acl_operation_bit(int n) { return int32_t{1} << n; }
inline constexpr int32_t topic_operations_all = acl_operation_bit(3) | acl_operation_bit(4) | acl_operation_bit(5) |
                                                acl_operation_bit(6) | acl_operation_bit(7) | acl_operation_bit(8) |
                                                acl_operation_bit(10) | acl_operation_bit(11);
inline constexpr int32_t cluster_operations_all = acl_operation_bit(5) | acl_operation_bit(7) | acl_operation_bit(8) |
                                                  acl_operation_bit(9) | acl_operation_bit(10) |
                                                  acl_operation_bit(11) | acl_operation_bit(12) |
                                                  acl_operation_bit(13) | acl_operation_bit(14);

// The data path: these encode their own answers (Produce with acks=0 has
// none; Fetch splices record data in from segment files).
asio::awaitable<handler_result> handle_produce(request_context&, proto::produce_request&);
asio::awaitable<handler_result> handle_fetch(request_context&, proto::fetch_request&);
asio::awaitable<proto::list_offsets_response> handle_list_offsets(request_context&, proto::list_offsets_request&);
asio::awaitable<proto::offset_for_leader_epoch_response> handle_offset_for_leader_epoch(
    request_context&, proto::offset_for_leader_epoch_request&);
asio::awaitable<proto::delete_records_response> handle_delete_records(request_context&,
                                                                      proto::delete_records_request&);
asio::awaitable<proto::init_producer_id_response> handle_init_producer_id(request_context&,
                                                                          proto::init_producer_id_request&);

// Consumer groups (group/coordinator.h does the work).
asio::awaitable<proto::find_coordinator_response> handle_find_coordinator(request_context&,
                                                                          proto::find_coordinator_request&);
asio::awaitable<proto::join_group_response> handle_join_group(request_context&, proto::join_group_request&);
asio::awaitable<proto::sync_group_response> handle_sync_group(request_context&, proto::sync_group_request&);
asio::awaitable<proto::heartbeat_response> handle_heartbeat(request_context&, proto::heartbeat_request&);
asio::awaitable<proto::leave_group_response> handle_leave_group(request_context&, proto::leave_group_request&);
asio::awaitable<proto::offset_commit_response> handle_offset_commit(request_context&, proto::offset_commit_request&);
asio::awaitable<proto::offset_fetch_response> handle_offset_fetch(request_context&, proto::offset_fetch_request&);
asio::awaitable<proto::list_groups_response> handle_list_groups(request_context&, proto::list_groups_request&);
asio::awaitable<proto::describe_groups_response> handle_describe_groups(request_context&,
                                                                        proto::describe_groups_request&);
asio::awaitable<proto::delete_groups_response> handle_delete_groups(request_context&, proto::delete_groups_request&);
asio::awaitable<proto::offset_delete_response> handle_offset_delete(request_context&, proto::offset_delete_request&);

// The ApiVersions answer, derived from the dispatch table.
proto::api_versions_response make_api_versions_response(const dispatch_table& table);

} // namespace runnel::broker
