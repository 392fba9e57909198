// Encoding and atomic writing of the hard-state and snapshot files.
#include "raft/node/state_files.h"

#include <xxhash.h>

#include <fmt/format.h>

#include "raft/codec.h"

namespace runnel::raft::node {

namespace {

void append_checksum(proto::writer& w) {
    const proto::bytes& b = w.buffer();
    w.write_int64(static_cast<int64_t>(XXH3_64bits(b.data(), b.size())));
}

// Checks the trailing checksum and returns the bytes it covers.
result<proto::bytes_view> checked_body(proto::bytes_view data, const char* what) {
    if (data.size() < 8) {
        return error{fmt::format("{} file is {} bytes, too short for its checksum", what, data.size())};
    }
    const proto::bytes_view body = data.first(data.size() - 8);
    proto::reader r(data.subspan(data.size() - 8));
    const auto stored = static_cast<uint64_t>(r.read_int64());
    if (stored != XXH3_64bits(body.data(), body.size())) {
        return error{fmt::format("{} file fails its checksum", what)};
    }
    return body;
}

} // namespace

proto::bytes encode_hard_state_file(const hard_state& state) {
    proto::writer w;
    w.write_uint32(hard_state_magic);
    w.write_int16(state_file_version);
    w.write_int64(state.term.value());
    w.write_int32(state.voted_for.value());
    append_checksum(w);
    return w.release();
}

result<hard_state> decode_hard_state_file(proto::bytes_view data) {
    auto body = checked_body(data, "quorum-state");
    if (!body.ok()) {
        return body.err();
    }
    proto::reader r(body.value());
    const uint32_t magic = r.read_uint32();
    const int16_t version = r.read_int16();
    hard_state state{raft_term(r.read_int64()), node_id(r.read_int32())};
    r.expect_end();
    if (!r.ok() || magic != hard_state_magic || version != state_file_version || state.term.value() < 0) {
        return error{"quorum-state file is malformed"};
    }
    return state;
}

proto::bytes encode_snapshot_file(const snapshot& snap) {
    proto::writer w;
    w.write_uint32(snapshot_magic);
    w.write_int16(state_file_version);
    encode(w, snap.metadata);
    w.write_bytes(snap.data);
    append_checksum(w);
    return w.release();
}

result<snapshot> decode_snapshot_file(proto::bytes_view data) {
    auto body = checked_body(data, "snapshot");
    if (!body.ok()) {
        return body.err();
    }
    proto::reader r(body.value());
    const uint32_t magic = r.read_uint32();
    const int16_t version = r.read_int16();
    snapshot snap;
    snap.metadata = decode_snapshot_metadata(r);
    snap.data = r.read_bytes();
    r.expect_end();
    if (!r.ok() || magic != snapshot_magic || version != state_file_version) {
        return error{"snapshot file is malformed"};
    }
    return snap;
}

result<void> write_file_atomically(storage::file_system& fs, const std::string& dir, const std::string& name,
                                   proto::bytes_view data) {
    const std::string path = storage::join_path(dir, name);
    const std::string temporary = path + ".tmp";
    {
        auto f = fs.open(temporary, storage::open_mode::create_truncate);
        if (!f.ok()) {
            return error{fmt::format("open {}: {}", temporary, f.err().message)};
        }
        if (auto w = (*f)->write_at(0, data); !w.ok()) {
            return error{fmt::format("write {}: {}", temporary, w.err().message)};
        }
        if (auto s = (*f)->sync(); !s.ok()) {
            return error{fmt::format("sync {}: {}", temporary, s.err().message)};
        }
    }
    if (auto r = fs.rename(temporary, path); !r.ok()) {
        return error{fmt::format("rename {}: {}", temporary, r.err().message)};
    }
    if (auto s = fs.sync_dir(dir); !s.ok()) {
        return error{fmt::format("sync dir {}: {}", dir, s.err().message)};
    }
    return {};
}

result<std::optional<proto::bytes>> read_optional_file(storage::file_system& fs, const std::string& path,
                                                       size_t bytes_max) {
    auto exists = fs.exists(path);
    if (!exists.ok()) {
        return error{fmt::format("stat {}: {}", path, exists.err().message)};
    }
    if (!*exists) {
        return std::optional<proto::bytes>{};
    }
    auto data = storage::read_whole_file(fs, path, bytes_max);
    if (!data.ok()) {
        return error{fmt::format("read {}: {}", path, data.err().message)};
    }
    return std::optional<proto::bytes>(std::move(*data));
}

} // namespace runnel::raft::node
