// Small Asio helpers shared by the node shell. Asio 1.22 (Debian 12) keeps
// as_tuple under experimental; this is the one place that says so.
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

namespace runnel::raft::node {

// Completion token for coroutines that want the error code as a value
// instead of an exception: auto [ec, n] = co_await op(use_tuple);
inline constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

} // namespace runnel::raft::node
