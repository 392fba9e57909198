// What every generated message codec needs: the wire primitives and the
// standard containers the generated structs hold.
#pragma once

#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/wire.h"

namespace runnel::proto {
// Views of a present optional value, for the generated encoders.
inline std::string_view string_value_of(const std::string& s) { return s; }
inline bytes_view bytes_value_of(const bytes& b) { return b; }
} // namespace runnel::proto
