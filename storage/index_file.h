// The sparse .index and .timeindex files of a segment. An active segment's
// index lives in memory and in a preallocated file; a closed segment's index
// is trimmed to its entries and searched with positional reads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/file_system.h"
#include "storage/format.h"

namespace runnel::storage {

// .index entry, held with the absolute offset; stored relative to the base.
struct offset_entry {
    int64_t offset = 0;
    uint32_t position = 0;
    bool operator==(const offset_entry&) const = default;
};

// .timeindex entry: the largest timestamp seen up to and including offset.
struct time_entry {
    int64_t timestamp = 0;
    int64_t offset = 0;
    bool operator==(const time_entry&) const = default;
};

struct offset_entry_traits {
    using entry = offset_entry;
    static constexpr size_t entry_bytes = format::offset_index_entry_bytes;
    static void encode(const entry& e, int64_t base_offset, uint8_t* out);
    static entry decode(const uint8_t* in, int64_t base_offset);
    // True if b may follow a in the index.
    static bool ordered(const entry& a, const entry& b) { return b.offset > a.offset && b.position > a.position; }
};

struct time_entry_traits {
    using entry = time_entry;
    static constexpr size_t entry_bytes = format::time_index_entry_bytes;
    static void encode(const entry& e, int64_t base_offset, uint8_t* out);
    static entry decode(const uint8_t* in, int64_t base_offset);
    static bool ordered(const entry& a, const entry& b) { return b.offset > a.offset && b.timestamp > a.timestamp; }
};

template <typename Traits>
class index_file {
public:
    using entry = typename Traits::entry;

    // Opens or creates the file; bytes_max caps its entries. The entries
    // already in the file count as written; none are loaded yet.
    static result<std::unique_ptr<index_file>> open(file_system& fs, const std::string& path, int64_t base_offset,
                                                    size_t bytes_max);

    // Reads every entry into memory (the active segment searches there).
    // Fails with corrupt if the entries are not strictly increasing.
    status load();
    bool loaded() const { return loaded_; }
    // Extends the file to its maximum size so appends never grow it.
    status preallocate();

    size_t count() const { return count_; }
    size_t capacity() const { return capacity_; }
    bool full() const { return count_ >= capacity_; }
    std::optional<entry> last() const { return last_; }
    const std::string& path() const { return file_->path(); }

    result<entry> at(size_t i);
    // Appends in memory; flush() writes the new entries. Needs load().
    void append(const entry& e);
    // The last entry for which pred holds, given pred holds for a prefix.
    template <typename Pred>
    result<std::optional<entry>> find_last(Pred pred);
    // How many leading entries pred holds for, given it holds for a prefix.
    template <typename Pred>
    result<size_t> count_prefix(Pred pred);
    const std::shared_ptr<file>& raw_file() const { return file_; }

    // Keeps the first n entries.
    status truncate_entries(size_t n);
    // Writes entries appended since the last flush (no fsync).
    status flush();
    status sync() { return file_->sync(); }
    // Flushes, cuts the file to its entries and drops the in-memory copy:
    // what happens when a segment rolls or the log closes.
    status trim();

private:
    index_file(std::shared_ptr<file> f, int64_t base_offset, size_t capacity)
        : file_(std::move(f)), base_offset_(base_offset), capacity_(capacity) {}

    std::shared_ptr<file> file_;
    int64_t base_offset_;
    size_t capacity_;
    size_t count_ = 0;
    size_t written_ = 0; // entries already written to the file
    bool loaded_ = false;
    std::vector<entry> entries_;
    std::optional<entry> last_;
};

using offset_index = index_file<offset_entry_traits>;
using time_index = index_file<time_entry_traits>;

template <typename Traits>
template <typename Pred>
result<size_t> index_file<Traits>::count_prefix(Pred pred) {
    // Binary search for the first entry where pred fails.
    size_t lo = 0;
    size_t hi = count_;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        auto e = at(mid);
        if (!e.ok()) {
            return e.err();
        }
        if (pred(*e)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

template <typename Traits>
template <typename Pred>
result<std::optional<typename Traits::entry>> index_file<Traits>::find_last(Pred pred) {
    auto n = count_prefix(pred);
    if (!n.ok()) {
        return n.err();
    }
    if (*n == 0) {
        return std::optional<entry>{};
    }
    auto e = at(*n - 1);
    if (!e.ok()) {
        return e.err();
    }
    return std::optional<entry>(*e);
}

} // namespace runnel::storage
