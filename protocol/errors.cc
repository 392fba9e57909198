// Names of the Kafka error codes.
#include "protocol/errors.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace runnel::proto {

std::string_view error_name(error_code e) {
    switch (e) {
#define RUNNEL_ERROR_NAME(name, number) \
    case error_code::name: { \
        static const std::string upper = [] { \
            std::string s = #name; \
            std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); }); \
            return s; \
        }(); \
        return upper; \
    }
        RUNNEL_KAFKA_ERRORS(RUNNEL_ERROR_NAME)
#undef RUNNEL_ERROR_NAME
    }
    return "UNKNOWN_ERROR_CODE";
}

} // namespace runnel::proto
