// Errors as values for the Raft library's I/O side (log stores, transport):
// an error carries a message for the log; result<T> holds a value or one.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "raft/assert.h"

namespace runnel::raft {

struct error {
    std::string message;
};

template <typename T>
class [[nodiscard]] result {
public:
    // An error saying nothing was produced; Asio's co_spawn needs a default.
    result() : v_(std::in_place_index<1>, error{"no result"}) {}
    result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    result(error e) : v_(std::in_place_index<1>, std::move(e)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & {
        raft_assert(ok(), "value() of a failed result: {}", std::get<1>(v_).message);
        return std::get<0>(v_);
    }
    T&& value() && {
        raft_assert(ok(), "value() of a failed result: {}", std::get<1>(v_).message);
        return std::get<0>(std::move(v_));
    }
    const error& err() const {
        raft_assert(!ok(), "err() of a successful result");
        return std::get<1>(v_);
    }

private:
    std::variant<T, error> v_;
};

template <>
class [[nodiscard]] result<void> {
public:
    result() = default;
    result(error e) : err_(std::move(e)), ok_(false) {}

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const error& err() const {
        raft_assert(!ok_, "err() of a successful result");
        return err_;
    }

private:
    error err_;
    bool ok_ = true;
};

} // namespace runnel::raft

// Returns the error of an expression yielding a result, if it failed.
#define RAFT_TRY(expr)                                                                                                 \
    do {                                                                                                               \
        if (auto raft_try_result_ = (expr); !raft_try_result_.ok()) {                                                  \
            return raft_try_result_.err();                                                                             \
        }                                                                                                              \
    } while (0)
