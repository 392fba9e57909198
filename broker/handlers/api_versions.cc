// ApiVersions: lists exactly the APIs and versions the dispatch table serves.
#include "broker/handlers/handlers.h"

namespace runnel::broker {

proto::api_versions_response make_api_versions_response(const dispatch_table& table) {
    proto::api_versions_response response;
    table.for_each([&](int16_t key, const dispatch_table::entry& e) {
        response.api_keys.push_back({key, e.min_version, e.max_version, {}});
    });
    return response;
}

asio::awaitable<proto::api_versions_response> handle_api_versions(request_context& ctx, proto::api_versions_request&) {
    co_return make_api_versions_response(*ctx.broker->dispatch);
}

} // namespace runnel::broker
