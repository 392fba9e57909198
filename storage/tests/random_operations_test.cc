// Random sequences of operations on a partition log (append, read, roll,
// truncate, retention, DeleteRecords, compaction, flush, clean restart, and
// a crash that drops unsynced data) checked against an in-memory model.
// RUNNEL_STORAGE_SEEDS sets how many seeds run (the storage_soak target runs
// thousands); a failure names its seed.
#include <cstdlib>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "storage/faulty_file_system.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

using namespace runnel::storage::testing;

constexpr int default_seeds = 24;
constexpr int operations_per_seed = 120;

struct model_batch {
    int64_t base = 0;
    int64_t last = 0;
    int64_t max_timestamp = 0;
    std::vector<read_record> records; // those still in the log
};

// What the log must hold: its batches, and the offsets that bound it.
struct log_model {
    std::vector<model_batch> batches;
    int64_t start = 0;
    int64_t end = 0;
    int64_t durable = 0;

    std::vector<read_record> visible() const {
        std::vector<read_record> out;
        for (const auto& b : batches) {
            for (const auto& r : b.records) {
                if (r.offset >= start) {
                    out.push_back(r);
                }
            }
        }
        return out;
    }

    void drop_from(int64_t offset) {
        std::erase_if(batches, [&](const model_batch& b) { return b.base >= offset; });
        end = offset;
    }

    // The cut truncate_to(offset) makes: the base of the first batch whose
    // last offset is >= offset.
    int64_t cut_for(int64_t offset) const {
        for (const auto& b : batches) {
            if (b.last >= offset) {
                return std::min(b.base, offset);
            }
        }
        return offset;
    }

    void compact(int64_t from, int64_t to, int64_t now_ms, int64_t delete_retention_ms) {
        std::map<std::string, int64_t> latest;
        for (const auto& b : batches) {
            for (const auto& r : b.records) {
                if (r.offset >= from && r.offset < to && r.record.key) {
                    latest[*r.record.key] = r.offset;
                }
            }
        }
        for (auto& b : batches) {
            if (b.base < from || b.last >= to) {
                continue;
            }
            bool expired = b.max_timestamp < now_ms - delete_retention_ms;
            std::erase_if(b.records, [&](const read_record& r) {
                if (!r.record.key) {
                    return false;
                }
                return latest[*r.record.key] != r.offset || (!r.record.value && expired);
            });
        }
    }
};

class random_log {
public:
    explicit random_log(uint64_t seed)
        : rng_(seed), fs_(std::make_shared<faulty_file_system>(make_posix_file_system(), seed)) {
        config_ = small_config();
        config_.segment_bytes = 512 + rng_() % 1024;
        config_.index_interval_bytes = 64 + rng_() % 256;
        config_.cleanup = cleanup_policy::compact_delete;
        config_.retention_bytes = static_cast<int64_t>(4 * config_.segment_bytes);
        config_.retention_ms = 200'000;
        config_.delete_retention_ms = 10'000;
        config_.segment_ms = 30'000;
        config_.flush_messages = rng_() % 3 == 0 ? 1 : never;
        reopen(false);
    }

    void run(int operations) {
        for (int op = 0; op < operations && !::testing::Test::HasFatalFailure(); ++op) {
            now_ms_ += static_cast<int64_t>(rng_() % 2000);
            unsigned pick = static_cast<unsigned>(rng_() % 100);
            if (pick < 45) {
                append();
            } else if (pick < 60) {
                read_one();
            } else if (pick < 65) {
                truncate();
            } else if (pick < 69) {
                retention();
            } else if (pick < 72) {
                delete_records();
            } else if (pick < 78) {
                compact();
            } else if (pick < 86) {
                flush();
            } else if (pick < 91) {
                restart();
            } else {
                crash();
            }
            ASSERT_EQ(log_->log_end_offset(), model_.end) << "after operation " << op;
            ASSERT_EQ(log_->log_start_offset(), model_.start) << "after operation " << op;
        }
        ASSERT_EQ(read_all(*log_, model_.start, 1 + rng_() % 3000), model_.visible());
        ASSERT_TRUE(log_->close().ok());
    }

private:
    void reopen(bool clean) {
        log_open_options options;
        options.clean_shutdown = clean;
        options.recovery_point = model_.durable;
        options.log_start_offset = model_.start;
        options.now_ms = now_ms_;
        auto log = partition_log::open(fs_, dir_.sub("r-0"), topic_partition{"r", 0}, config_, options);
        ASSERT_TRUE(log.ok()) << log.err().message;
        log_ = std::move(*log);
    }

    void append() {
        int count = 1 + static_cast<int>(rng_() % 5);
        std::vector<test_record> records;
        for (int i = 0; i < count; ++i) {
            test_record r;
            if (rng_() % 8 != 0) {
                r.key = "k" + std::to_string(rng_() % 10);
            }
            if (rng_() % 10 != 0 || !r.key) {
                r.value = std::string(rng_() % 60, static_cast<char>('a' + rng_() % 26));
            }
            r.timestamp = now_ms_;
            records.push_back(r);
        }
        auto codec = static_cast<proto::compression_type>(rng_() % 5);
        auto batch = make_batch(records, codec);
        append_options options;
        options.now_ms = now_ms_;
        auto r = log_->append(batch, options);
        ASSERT_TRUE(r.ok()) << r.err().message;
        ASSERT_EQ(r->base_offset, model_.end);
        model_batch b{r->base_offset, r->last_offset, now_ms_, {}};
        for (int i = 0; i < count; ++i) {
            b.records.push_back(read_record{r->base_offset + i, records[i]});
        }
        model_.batches.push_back(std::move(b));
        model_.end = r->last_offset + 1;
        if (r->flushed) {
            model_.durable = model_.end;
        }
    }

    void read_one() {
        int64_t offset = model_.start + static_cast<int64_t>(rng_() % (model_.end - model_.start + 1));
        read_options options;
        options.bytes_max = 1 + rng_() % 2000;
        auto r = log_->read(offset, options);
        ASSERT_TRUE(r.ok()) << r.err().message;
        auto got = records_of(*partition_log::copy_slices(*r));
        std::erase_if(got, [&](const read_record& rec) { return rec.offset < offset; });
        auto want = model_.visible();
        std::erase_if(want, [&](const read_record& rec) { return rec.offset < offset; });
        ASSERT_LE(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i) {
            ASSERT_EQ(got[i], want[i]) << "read at " << offset;
        }
        if (offset < model_.end) {
            ASSERT_FALSE(r->slices.empty()) << "read at " << offset;
        }
        ASSERT_EQ(log_->read(model_.end + 1, {}).code(), errc::offset_out_of_range);
    }

    void truncate() {
        int64_t offset = model_.start + static_cast<int64_t>(rng_() % (model_.end - model_.start + 1));
        int64_t cut = model_.cut_for(offset);
        ASSERT_TRUE(log_->truncate_to(offset).ok());
        if (offset >= model_.end) {
            return;
        }
        // Compaction may have removed whole batches, so the log can end
        // before the model's cut, but never before a record it keeps.
        int64_t end = log_->log_end_offset();
        ASSERT_LE(end, cut);
        model_.drop_from(cut);
        for (const auto& b : model_.batches) {
            ASSERT_TRUE(b.records.empty() || b.records.back().offset < end);
        }
        model_.drop_from(end);
        model_.start = std::min(model_.start, end);
        model_.durable = std::min(model_.durable, end);
    }

    void retention() {
        int64_t before = model_.start;
        ASSERT_TRUE(log_->enforce_retention(now_ms_).ok());
        ASSERT_GE(log_->log_start_offset(), before);
        model_.start = log_->log_start_offset();
    }

    void delete_records() {
        int64_t offset = model_.start + static_cast<int64_t>(rng_() % (model_.end - model_.start + 1));
        ASSERT_TRUE(log_->advance_log_start_offset(offset).ok());
        model_.start = std::max(model_.start, offset);
    }

    void compact() {
        auto job = log_->prepare_compaction(now_ms_, 1 << 12);
        if (!job) {
            return;
        }
        int64_t from = job->sources.front().base_offset;
        int64_t to = job->sources.back().next_offset;
        auto stats = log_->install_compaction(run_compaction(*job));
        ASSERT_TRUE(stats.ok()) << stats.err().message;
        model_.compact(from, to, now_ms_, config_.delete_retention_ms);
    }

    void flush() {
        ASSERT_TRUE(log_->flush().ok());
        model_.durable = model_.end;
    }

    void restart() {
        ASSERT_TRUE(log_->close().ok());
        log_.reset();
        model_.durable = model_.end;
        reopen(true);
    }

    void crash() {
        log_.reset();
        ASSERT_TRUE(fs_->crash().ok());
        reopen(false);
        int64_t end = log_->log_end_offset();
        // Everything flushed survives; of the rest, a prefix of batches may.
        ASSERT_GE(end, model_.durable);
        ASSERT_LE(end, model_.end);
        bool at_boundary = end == model_.end;
        for (const auto& b : model_.batches) {
            at_boundary = at_boundary || b.base == end;
        }
        ASSERT_TRUE(at_boundary) << "log end " << end << " is not a batch boundary";
        model_.drop_from(end);
        model_.durable = end;
        model_.start = std::min(model_.start, end);
        ASSERT_EQ(read_all(*log_, model_.start, 1 + rng_() % 3000), model_.visible());
    }

    std::mt19937_64 rng_;
    temp_dir dir_;
    std::shared_ptr<faulty_file_system> fs_;
    log_config config_;
    std::unique_ptr<partition_log> log_;
    log_model model_;
    int64_t now_ms_ = 1'000'000;
};

int env_int(const char* name, int fallback) {
    const char* env = std::getenv(name);
    return env == nullptr ? fallback : std::atoi(env);
}

TEST(random_operations, match_the_model) {
    // RUNNEL_STORAGE_SEED=n reruns one seed; RUNNEL_STORAGE_SEEDS=n runs 1..n.
    int only = env_int("RUNNEL_STORAGE_SEED", 0);
    int first = only > 0 ? only : 1;
    int last = only > 0 ? only : std::max(env_int("RUNNEL_STORAGE_SEEDS", default_seeds), 1);
    for (int seed = first; seed <= last; ++seed) {
        // Printed first, so that even an assert that aborts names its seed.
        std::fprintf(stderr, "random_operations: seed %d\n", seed);
        random_log log(static_cast<uint64_t>(seed));
        log.run(operations_per_seed);
        if (::testing::Test::HasFailure()) {
            FAIL() << "random_operations failed with seed " << seed << " (rerun with RUNNEL_STORAGE_SEED=" << seed
                   << ")";
        }
    }
}

} // namespace
} // namespace runnel::storage
