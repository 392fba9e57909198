// Errors as values for the storage engine: an error code the broker can map
// to a Kafka error code, a message for the log, and a small result<T>.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace runnel::storage {

// Each code maps to one Kafka error code (kafka_error_code in
// kafka_errors.h): disk_full and io_error -> KAFKA_STORAGE_ERROR,
// offset_out_of_range -> OFFSET_OUT_OF_RANGE, corrupt -> CORRUPT_MESSAGE,
// too_large -> RECORD_LIST_TOO_LARGE.
enum class errc : uint8_t {
    ok = 0,
    io_error,            // a system call failed for a reason other than space
    disk_full,           // ENOSPC / EDQUOT: nothing was corrupted, retry later
    corrupt,             // bytes on disk or in a request failed a length or CRC check
    offset_out_of_range, // below the log start offset or past the log end offset
    invalid_argument,    // the caller broke a documented precondition
    not_found,           // a file or partition that does not exist
    already_exists,      // creating a partition that is already there
    stale,               // a compaction result for segments that changed meanwhile
    too_large,           // a batch larger than segment.bytes
};
std::string_view to_string(errc e);

struct error {
    errc code = errc::io_error;
    std::string message;
};

// Either a value or an error. Check ok() before value(); reading the wrong
// side is a bug and asserts.
template <typename T>
class [[nodiscard]] result {
public:
    result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    result(error e) : v_(std::in_place_index<1>, std::move(e)) { assert(err().code != errc::ok); }

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & {
        assert(ok());
        return std::get<0>(v_);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(v_);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(v_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    const error& err() const {
        assert(!ok());
        return std::get<1>(v_);
    }
    errc code() const { return ok() ? errc::ok : err().code; }

private:
    std::variant<T, error> v_;
};

template <>
class [[nodiscard]] result<void> {
public:
    result() = default;
    result(error e) : err_(std::move(e)), ok_(false) { assert(err_.code != errc::ok); }

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const error& err() const {
        assert(!ok_);
        return err_;
    }
    errc code() const { return ok_ ? errc::ok : err_.code; }

private:
    error err_{errc::ok, {}};
    bool ok_ = true;
};

using status = result<void>;

inline error make_error(errc code, std::string message) { return error{code, std::move(message)}; }

// Propagates an error from an expression returning result<...>.
#define RUNNEL_TRY(expr)                                                                                               \
    do {                                                                                                               \
        if (auto runnel_try_r_ = (expr); !runnel_try_r_.ok()) {                                                        \
            return runnel_try_r_.err();                                                                                \
        }                                                                                                              \
    } while (0)

} // namespace runnel::storage
