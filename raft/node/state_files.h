// The two small files a Raft node keeps beside its log: the hard state
// (quorum-state) and the latest snapshot. Each is one record of our own
// format ending in an XXH3-64 checksum, written to a temporary file, synced,
// and renamed over the old one, so a crash leaves either the old or the new
// file whole. docs/ARCHITECTURE.md ("Raft") has the grammar.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "raft/result.h"
#include "raft/types.h"
#include "storage/file_system.h"

namespace runnel::raft::node {

inline constexpr char hard_state_file_name[] = "quorum-state";
inline constexpr char snapshot_file_name[] = "raft-snapshot";
inline constexpr uint32_t hard_state_magic = 0x524e5153; // "RNQS"
inline constexpr uint32_t snapshot_magic = 0x524e534e;   // "RNSN"
inline constexpr int16_t state_file_version = 1;
inline constexpr size_t hard_state_file_bytes = 4 + 2 + 8 + 4 + 8;
inline constexpr size_t snapshot_file_bytes_max = 512u << 20;

proto::bytes encode_hard_state_file(const hard_state& state);
result<hard_state> decode_hard_state_file(proto::bytes_view data);
proto::bytes encode_snapshot_file(const snapshot& snap);
result<snapshot> decode_snapshot_file(proto::bytes_view data);

// Writes `data` to dir/name atomically and durably (temporary file, sync,
// rename, directory sync).
result<void> write_file_atomically(storage::file_system& fs, const std::string& dir, const std::string& name,
                                   proto::bytes_view data);
// The file's bytes, nothing if it does not exist, an error if it cannot be read.
result<std::optional<proto::bytes>> read_optional_file(storage::file_system& fs, const std::string& path,
                                                       size_t bytes_max);

} // namespace runnel::raft::node
