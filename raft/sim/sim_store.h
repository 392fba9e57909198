// A simulated disk for one node: writes land in a volatile view at once and
// reach the durable image only on sync(). A crash keeps the durable image
// plus a random prefix of the unsynced writes (a disk writes in order but may
// stop anywhere), and writes can be made to fail. Memory only, deterministic.
#pragma once

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "raft/log_store.h"
#include "raft/random.h"

namespace runnel::raft::sim {

class sim_store final : public log_store {
public:
    // What the disk holds: the latest hard state and snapshot, and the
    // entries after the snapshot.
    struct image {
        std::optional<raft::hard_state> hard_state;
        std::optional<raft::snapshot> snapshot;
        std::vector<entry> entries;
    };

    sim_store() = default;

    result<recovered_state> load() override;
    result<void> save_hard_state(const hard_state& state) override;
    result<void> save_snapshot(const snapshot& snap) override;
    result<void> truncate_suffix(log_index from) override;
    result<void> append(std::span<const entry> entries) override;
    result<std::vector<entry>> read(log_index from, log_index to, size_t bytes_max) override;
    result<void> sync() override;

    // Every write (and sync) fails with this probability, drawn from `rng`.
    void set_write_faults(uint32_t per_million, random_source* rng);
    // Forgets unsynced writes past a random prefix of them.
    void crash(random_source& rng);

    const image& current() const { return current_; }
    const image& durable() const { return durable_; }
    size_t unsynced_writes() const { return pending_.size(); }
    uint64_t syncs() const { return syncs_; }
    uint64_t failed_writes() const { return failed_writes_; }

private:
    struct truncate_op {
        log_index from;
    };
    using op = std::variant<raft::hard_state, raft::snapshot, truncate_op, entry>;

    bool write_fails();
    void write(op o);
    static void apply(image& img, const op& o);

    image durable_;
    image current_;
    std::vector<op> pending_;
    random_source* fault_rng_ = nullptr;
    uint32_t write_fault_per_million_ = 0;
    uint64_t syncs_ = 0;
    uint64_t failed_writes_ = 0;
};

} // namespace runnel::raft::sim
