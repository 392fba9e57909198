// InitProducerId (v0-v5) for idempotent producers: a new producer id from
// the block the controller reserved, epoch 0. Kafka answers a request
// without a transactional id this way whatever producer id and epoch it
// carries (an idempotent producer bumps its epoch itself, KIP-360); a
// transactional id needs a transaction coordinator, which this broker does
// not run yet.
#include "broker/data_path.h"
#include "broker/handlers/handlers.h"
#include "protocol/errors.h"
#include "protocol/record_batch.h"

namespace runnel::broker {

asio::awaitable<proto::init_producer_id_response> handle_init_producer_id(request_context& ctx,
                                                                          proto::init_producer_id_request& request) {
    proto::init_producer_id_response response;
    const bool has_id = request.producer_id != proto::no_producer_id;
    const bool has_epoch = request.producer_epoch != proto::no_producer_epoch;
    if (has_id != has_epoch) {
        response.error_code = proto::code(proto::error_code::invalid_request);
        co_return response;
    }
    if (request.transactional_id) {
        response.error_code = proto::code(proto::error_code::coordinator_not_available);
        co_return response;
    }
    producer_id_result id = co_await ctx.broker->data->next_producer_id();
    response.error_code = proto::code(id.error);
    if (id.error == proto::error_code::none) {
        response.producer_id = id.producer_id;
        response.producer_epoch = 0;
    }
    co_return response;
}

} // namespace runnel::broker
