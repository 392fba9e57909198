// CRC-32C on top of ISA-L. crc32_iscsi neither inverts its seed nor its
// result, so the standard CRC-32C needs both inversions done here.
#include "protocol/crc32c.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <climits>

namespace runnel::proto {

namespace {
// crc32_iscsi takes an int length: feed it pieces no longer than this.
constexpr size_t isal_chunk_bytes_max = size_t{1} << 30;
static_assert(isal_chunk_bytes_max <= INT_MAX);
} // namespace

uint32_t crc32c_extend(uint32_t crc, bytes_view data) {
    // The running register is the complement of the published CRC.
    uint32_t reg = ~crc;
    while (!data.empty()) {
        size_t n = std::min(data.size(), isal_chunk_bytes_max);
        // ISA-L only reads the buffer; its prototype just lacks the const.
        auto* p = const_cast<unsigned char*>(data.data());
        reg = crc32_iscsi(p, static_cast<int>(n), reg);
        data = data.subspan(n);
    }
    return ~reg;
}

uint32_t crc32c(bytes_view data) {
    return crc32c_extend(0, data);
}

} // namespace runnel::proto
