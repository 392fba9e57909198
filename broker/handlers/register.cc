// The one place where handlers are put in the dispatch table.
#include "broker/handlers/handlers.h"

namespace runnel::broker {

dispatch_table make_dispatch_table() {
    dispatch_table table;
    table.add<proto::api_versions_api, &handle_api_versions>(0, 4);
    table.add<proto::metadata_api, &handle_metadata>(0, 12);
    table.add<proto::create_topics_api, &handle_create_topics>(0, 7);
    table.add<proto::delete_topics_api, &handle_delete_topics>(0, 6);
    table.add<proto::create_partitions_api, &handle_create_partitions>(0, 3);
    table.add<proto::describe_configs_api, &handle_describe_configs>(0, 4);
    table.add<proto::alter_configs_api, &handle_alter_configs>(0, 2);
    table.add<proto::incremental_alter_configs_api, &handle_incremental_alter_configs>(0, 1);
    table.add<proto::describe_cluster_api, &handle_describe_cluster>(0, 1);
    // The data path. Produce from v3 and Fetch from v4: record batch v2 only.
    table.add_raw<proto::produce_api, &handle_produce>(3, 11);
    table.add_raw<proto::fetch_api, &handle_fetch>(4, 17);
    table.add<proto::list_offsets_api, &handle_list_offsets>(0, 10);
    table.add<proto::offset_for_leader_epoch_api, &handle_offset_for_leader_epoch>(0, 4);
    table.add<proto::delete_records_api, &handle_delete_records>(0, 2);
    table.add<proto::init_producer_id_api, &handle_init_producer_id>(0, 5);
    // Consumer groups: the classic protocol, offsets in __consumer_offsets.
    table.add<proto::find_coordinator_api, &handle_find_coordinator>(0, 6);
    table.add<proto::join_group_api, &handle_join_group>(0, 9);
    table.add<proto::sync_group_api, &handle_sync_group>(0, 5);
    table.add<proto::heartbeat_api, &handle_heartbeat>(0, 4);
    table.add<proto::leave_group_api, &handle_leave_group>(0, 5);
    table.add<proto::offset_commit_api, &handle_offset_commit>(0, 9);
    table.add<proto::offset_fetch_api, &handle_offset_fetch>(0, 9);
    table.add<proto::list_groups_api, &handle_list_groups>(0, 5);
    table.add<proto::describe_groups_api, &handle_describe_groups>(0, 5);
    table.add<proto::delete_groups_api, &handle_delete_groups>(0, 2);
    table.add<proto::offset_delete_api, &handle_offset_delete>(0, 0);
    return table;
}

} // namespace runnel::broker
