// Fault injection for storage tests; see faulty_file_system.h. Directory
// operations (create, rename, remove) are treated as durable at once: the
// crash model covers file data, which is where torn writes happen. Syncs
// update the model without reaching the disk: tests crash the model, not
// the machine.
#include "storage/faulty_file_system.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

namespace runnel::storage {

namespace {
// Files larger than this are not snapshotted (tests keep files small).
constexpr uint64_t snapshot_bytes_max = 256 * 1024 * 1024;
} // namespace

struct faulty_file_system::shared_state {
    std::mutex mutex;
    std::mt19937_64 rng;
    uint64_t writes_allowed = std::numeric_limits<uint64_t>::max();
    bool fail_syncs = false;
    std::optional<uint64_t> space_left;
    uint64_t writes_failed = 0;
    // Durable content of each file written since its last sync, by path.
    std::map<std::string, std::vector<uint8_t>> durable;
};

namespace {

class faulty_file final : public file {
public:
    faulty_file(std::shared_ptr<file> inner, std::shared_ptr<faulty_file_system::shared_state> state)
        : inner_(std::move(inner)), state_(std::move(state)) {}

    result<size_t> read_at(uint64_t pos, mutable_byte_span out) override { return inner_->read_at(pos, out); }

    status write_at(uint64_t pos, byte_span data) override {
        std::lock_guard lock(state_->mutex);
        RUNNEL_TRY(snapshot_locked());
        if (state_->writes_allowed == 0) {
            ++state_->writes_failed;
            return make_error(errc::io_error, fmt::format("injected write failure on {}", path()));
        }
        --state_->writes_allowed;
        auto size = inner_->size();
        if (!size.ok()) {
            return size.err();
        }
        uint64_t end = pos + data.size();
        uint64_t growth = end > *size ? end - std::max(*size, pos) : 0;
        if (state_->space_left && growth > *state_->space_left) {
            // Write what fits, as a nearly full disk does, then fail.
            uint64_t fits = (std::max(*size, pos) - pos) + *state_->space_left;
            RUNNEL_TRY(inner_->write_at(pos, data.first(std::min<uint64_t>(fits, data.size()))));
            state_->space_left = 0;
            ++state_->writes_failed;
            return errno_error(ENOSPC, "pwrite", path());
        }
        if (state_->space_left) {
            *state_->space_left -= growth;
        }
        return inner_->write_at(pos, data);
    }

    result<uint64_t> size() override { return inner_->size(); }

    status truncate(uint64_t new_size) override {
        std::lock_guard lock(state_->mutex);
        RUNNEL_TRY(snapshot_locked());
        auto old = inner_->size();
        if (!old.ok()) {
            return old.err();
        }
        if (state_->space_left && new_size < *old) {
            *state_->space_left += *old - new_size;
        }
        return inner_->truncate(new_size);
    }

    status sync() override {
        std::lock_guard lock(state_->mutex);
        if (state_->fail_syncs) {
            return make_error(errc::io_error, fmt::format("injected sync failure on {}", path()));
        }
        // The crash model decides what survives, so the real fsync would
        // only make tests slow.
        state_->durable.erase(path());
        return {};
    }

    int native_handle() const override { return inner_->native_handle(); }
    const std::string& path() const override { return inner_->path(); }

private:
    // Remembers the content as of the last sync before the first change.
    status snapshot_locked() {
        if (state_->durable.contains(path())) {
            return {};
        }
        auto size = inner_->size();
        if (!size.ok()) {
            return size.err();
        }
        assert(*size <= snapshot_bytes_max);
        std::vector<uint8_t> content(*size);
        RUNNEL_TRY(read_exact(*inner_, 0, content));
        state_->durable.emplace(path(), std::move(content));
        return {};
    }

    std::shared_ptr<file> inner_;
    std::shared_ptr<faulty_file_system::shared_state> state_;
};

} // namespace

faulty_file_system::faulty_file_system(std::shared_ptr<file_system> inner, uint64_t seed)
    : inner_(std::move(inner)), state_(std::make_shared<shared_state>()) {
    state_->rng.seed(seed);
}

void faulty_file_system::fail_writes_after(uint64_t n) {
    std::lock_guard lock(state_->mutex);
    state_->writes_allowed = n;
}

void faulty_file_system::fail_syncs(bool on) {
    std::lock_guard lock(state_->mutex);
    state_->fail_syncs = on;
}

void faulty_file_system::set_space_left(uint64_t bytes) {
    std::lock_guard lock(state_->mutex);
    state_->space_left = bytes;
}

void faulty_file_system::clear_faults() {
    std::lock_guard lock(state_->mutex);
    state_->writes_allowed = std::numeric_limits<uint64_t>::max();
    state_->fail_syncs = false;
    state_->space_left.reset();
}

uint64_t faulty_file_system::writes_failed() const {
    std::lock_guard lock(state_->mutex);
    return state_->writes_failed;
}

result<std::shared_ptr<file>> faulty_file_system::open(const std::string& path, open_mode mode) {
    {
        std::lock_guard lock(state_->mutex);
        // A newly created file is durable only as an empty file.
        bool created = mode != open_mode::read_write;
        if (created) {
            auto present = inner_->exists(path);
            if (!present.ok()) {
                return present.err();
            }
            if (!*present || mode == open_mode::create_truncate) {
                state_->durable.insert_or_assign(path, std::vector<uint8_t>{});
            }
        }
    }
    auto f = inner_->open(path, mode);
    if (!f.ok()) {
        return f.err();
    }
    return std::shared_ptr<file>(std::make_shared<faulty_file>(std::move(*f), state_));
}

status faulty_file_system::remove_file(const std::string& path) {
    std::lock_guard lock(state_->mutex);
    state_->durable.erase(path);
    return inner_->remove_file(path);
}

status faulty_file_system::remove_all(const std::string& path) {
    std::lock_guard lock(state_->mutex);
    std::string prefix = path + "/";
    std::erase_if(state_->durable, [&](const auto& kv) { return kv.first.starts_with(prefix); });
    return inner_->remove_all(path);
}

status faulty_file_system::rename(const std::string& from, const std::string& to) {
    std::lock_guard lock(state_->mutex);
    RUNNEL_TRY(inner_->rename(from, to));
    state_->durable.erase(to);
    if (auto it = state_->durable.find(from); it != state_->durable.end()) {
        auto content = std::move(it->second);
        state_->durable.erase(it);
        state_->durable.emplace(to, std::move(content));
    }
    // Renaming a directory moves the records of the files inside it.
    std::string prefix = from + "/";
    std::vector<std::pair<std::string, std::vector<uint8_t>>> moved;
    for (auto it = state_->durable.begin(); it != state_->durable.end();) {
        if (it->first.starts_with(prefix)) {
            moved.emplace_back(to + "/" + it->first.substr(prefix.size()), std::move(it->second));
            it = state_->durable.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& [p, c] : moved) {
        state_->durable.insert_or_assign(p, std::move(c));
    }
    return {};
}

status faulty_file_system::crash() {
    std::lock_guard lock(state_->mutex);
    for (auto& [path, durable] : state_->durable) {
        auto f = inner_->open(path, open_mode::read_write);
        if (!f.ok()) {
            if (f.code() == errc::not_found) {
                continue;
            }
            return f.err();
        }
        auto size = (*f)->size();
        if (!size.ok()) {
            return size.err();
        }
        std::vector<uint8_t> now(*size);
        RUNNEL_TRY(read_exact(**f, 0, now));
        bool appended = now.size() > durable.size() && std::equal(durable.begin(), durable.end(), now.begin());
        uint64_t keep = durable.size();
        if (appended) {
            // A torn append: some prefix of the unsynced bytes made it.
            std::uniform_int_distribution<uint64_t> pick(0, now.size() - durable.size());
            keep += pick(state_->rng);
        }
        RUNNEL_TRY((*f)->truncate(0));
        RUNNEL_TRY((*f)->write_at(0, appended ? byte_span(now).first(keep) : byte_span(durable)));
    }
    state_->durable.clear();
    return {};
}

} // namespace runnel::storage
