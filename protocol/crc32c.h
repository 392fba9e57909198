// CRC-32C (Castagnoli), the checksum of Kafka record batches v2, computed with
// ISA-L's hardware-accelerated crc32_iscsi.
#pragma once

#include <cstdint>

#include "protocol/wire.h"

namespace runnel::proto {

// Standard CRC-32C of data: crc32c("123456789") == 0xE3069283.
uint32_t crc32c(bytes_view data);

// Continues a CRC-32C over more bytes: crc32c_extend(crc32c(a), b) equals the
// CRC-32C of a followed by b, so a checksum can be computed piece by piece.
uint32_t crc32c_extend(uint32_t crc, bytes_view data);

} // namespace runnel::proto
