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
    return table;
}

} // namespace runnel::broker
