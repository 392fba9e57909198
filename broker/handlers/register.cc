// The one place where handlers are put in the dispatch table.
#include "broker/handlers/handlers.h"

namespace runnel::broker {

dispatch_table make_dispatch_table() {
    dispatch_table table;
    table.add<proto::api_versions_api, &handle_api_versions>(0, 4);
    table.add<proto::metadata_api, &handle_metadata>(0, 12);
    return table;
}

} // namespace runnel::broker
