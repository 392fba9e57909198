// The Kafka error code a broker answers with for a storage error.
#pragma once

#include "protocol/errors.h"
#include "storage/result.h"

namespace runnel::storage {

// corrupt maps to CORRUPT_MESSAGE, which is right for a batch from a
// client; for damage found on disk the broker reports KAFKA_STORAGE_ERROR
// (it knows which of the two it was doing).
proto::error_code kafka_error_code(errc e);

} // namespace runnel::storage
