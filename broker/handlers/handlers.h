// Declarations of the request handlers, one file per API under handlers/.
#pragma once

#include <asio/awaitable.hpp>

#include "broker/dispatch.h"
#include "broker/request_context.h"
#include "protocol/messages/api_table.h"

namespace runnel::broker {

asio::awaitable<proto::api_versions_response> handle_api_versions(request_context&, proto::api_versions_request&);
asio::awaitable<proto::metadata_response> handle_metadata(request_context&, proto::metadata_request&);

// The ApiVersions answer, derived from the dispatch table.
proto::api_versions_response make_api_versions_response(const dispatch_table& table);

} // namespace runnel::broker
