// The handler table: registration checks and look-ups.
#include "broker/dispatch.h"

#include <cassert>
#include <stdexcept>
#include <fmt/format.h>

namespace runnel::broker {

uint64_t response_body::size() const {
    uint64_t n = bytes.size();
    for (const auto& s : splices) {
        n += s.slice.length;
    }
    return n;
}

bool response_body::append_to(proto::bytes& out, std::string* problem) const {
    out.reserve(out.size() + size());
    size_t at = 0;
    for (const auto& s : splices) {
        out.insert(out.end(), bytes.begin() + static_cast<ptrdiff_t>(at), bytes.begin() + static_cast<ptrdiff_t>(s.at));
        at = s.at;
        const size_t start = out.size();
        out.resize(start + s.slice.length);
        auto read = s.slice.source->read_at(s.slice.position, std::span<uint8_t>(out.data() + start, s.slice.length));
        if (!read.ok() || *read != s.slice.length) {
            *problem = read.ok() ? fmt::format("segment {} became shorter than a fetch answer", s.slice.source->path())
                                 : fmt::format("reading {} for a fetch answer: {}", s.slice.source->path(),
                                               read.err().message);
            return false;
        }
    }
    out.insert(out.end(), bytes.begin() + static_cast<ptrdiff_t>(at), bytes.end());
    return true;
}

void dispatch_table::add_entry(int16_t key, int16_t spec_min, int16_t spec_max, entry e) {
    if (key < 0 || static_cast<size_t>(key) >= entries_.size()) {
        throw std::logic_error(fmt::format("api key {} outside the dispatch table", key));
    }
    if (entries_[key].fn != nullptr) {
        throw std::logic_error(fmt::format("api key {} registered twice", key));
    }
    if (e.min_version < spec_min || e.max_version > spec_max || e.min_version > e.max_version) {
        throw std::logic_error(fmt::format("api key {}: versions {}..{} outside the spec's {}..{}", key,
                                           e.min_version, e.max_version, spec_min, spec_max));
    }
    entries_[key] = e;
}

const dispatch_table::entry* dispatch_table::find(int16_t api_key) const {
    if (api_key < 0 || static_cast<size_t>(api_key) >= entries_.size() || entries_[api_key].fn == nullptr) {
        return nullptr;
    }
    return &entries_[api_key];
}

bool dispatch_table::supports(int16_t api_key, int16_t version) const {
    const entry* e = find(api_key);
    return e != nullptr && version >= e->min_version && version <= e->max_version;
}

} // namespace runnel::broker
