// The binary encoding of Raft messages and log entries, built on the
// project's wire reader and writer (big-endian, length-prefixed). Used by the
// TCP transport and the durable log store; docs/ARCHITECTURE.md ("Raft")
// gives the grammar. Decoding never trusts its input.
#pragma once

#include <cstddef>
#include <optional>

#include "protocol/wire.h"
#include "raft/message.h"
#include "raft/types.h"

namespace runnel::raft {

inline constexpr size_t message_entries_max = 1 << 16; // entries in one append_request

void encode(proto::writer& w, const message& m);
proto::bytes encode(const message& m);
// A message, or nothing if the bytes are malformed: a bad type, a length
// past the end, entries out of order, trailing bytes.
std::optional<message> decode_message(proto::bytes_view data);

// An entry with its index, as the durable log store keeps it.
void encode(proto::writer& w, const entry& e);
entry decode_entry(proto::reader& r);

void encode(proto::writer& w, const snapshot_metadata& s);
snapshot_metadata decode_snapshot_metadata(proto::reader& r);

} // namespace runnel::raft
