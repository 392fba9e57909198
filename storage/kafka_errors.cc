// Storage errors as Kafka error codes; see kafka_errors.h.
#include "storage/kafka_errors.h"

namespace runnel::storage {

proto::error_code kafka_error_code(errc e) {
    using proto::error_code;
    switch (e) {
    case errc::ok: return error_code::none;
    case errc::io_error:
    case errc::disk_full: return error_code::kafka_storage_error;
    case errc::corrupt: return error_code::corrupt_message;
    case errc::offset_out_of_range: return error_code::offset_out_of_range;
    case errc::too_large: return error_code::record_list_too_large;
    case errc::not_found: return error_code::unknown_topic_or_partition;
    case errc::invalid_argument:
    case errc::already_exists:
    case errc::stale: return error_code::unknown_server_error;
    }
    return error_code::unknown_server_error;
}

} // namespace runnel::storage
