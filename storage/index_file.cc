// Sparse index files; see index_file.h and docs/FORMAT.md.
#include "storage/index_file.h"

#include <fmt/format.h>

namespace runnel::storage {

namespace {

void put_u32(uint8_t* out, uint32_t v) {
    for (int i = 3; i >= 0; --i) {
        out[i] = static_cast<uint8_t>(v);
        v >>= 8;
    }
}

void put_u64(uint8_t* out, uint64_t v) {
    for (int i = 7; i >= 0; --i) {
        out[i] = static_cast<uint8_t>(v);
        v >>= 8;
    }
}

uint32_t get_u32(const uint8_t* in) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
        v = (v << 8) | in[i];
    }
    return v;
}

uint64_t get_u64(const uint8_t* in) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        v = (v << 8) | in[i];
    }
    return v;
}

} // namespace

void offset_entry_traits::encode(const entry& e, int64_t base_offset, uint8_t* out) {
    assert(e.offset >= base_offset && e.offset - base_offset <= INT32_MAX);
    put_u32(out, static_cast<uint32_t>(e.offset - base_offset));
    put_u32(out + 4, e.position);
}

offset_entry offset_entry_traits::decode(const uint8_t* in, int64_t base_offset) {
    return offset_entry{base_offset + static_cast<int32_t>(get_u32(in)), get_u32(in + 4)};
}

void time_entry_traits::encode(const entry& e, int64_t base_offset, uint8_t* out) {
    assert(e.offset >= base_offset && e.offset - base_offset <= INT32_MAX);
    put_u64(out, static_cast<uint64_t>(e.timestamp));
    put_u32(out + 8, static_cast<uint32_t>(e.offset - base_offset));
}

time_entry time_entry_traits::decode(const uint8_t* in, int64_t base_offset) {
    return time_entry{static_cast<int64_t>(get_u64(in)), base_offset + static_cast<int32_t>(get_u32(in + 8))};
}

template <typename Traits>
result<std::unique_ptr<index_file<Traits>>> index_file<Traits>::open(file_system& fs, const std::string& path,
                                                                     int64_t base_offset, size_t bytes_max) {
    auto f = fs.open(path, open_mode::create);
    if (!f.ok()) {
        return f.err();
    }
    auto size = (*f)->size();
    if (!size.ok()) {
        return size.err();
    }
    size_t capacity = bytes_max / Traits::entry_bytes;
    std::unique_ptr<index_file> index(new index_file(std::move(*f), base_offset, capacity));
    if (*size % Traits::entry_bytes != 0 || *size / Traits::entry_bytes > capacity) {
        return make_error(errc::corrupt, fmt::format("index {} has a bad size {}", path, *size));
    }
    index->count_ = *size / Traits::entry_bytes;
    index->written_ = index->count_;
    if (index->count_ > 0) {
        auto last = index->at(index->count_ - 1);
        if (!last.ok()) {
            return last.err();
        }
        index->last_ = *last;
    }
    return index;
}

template <typename Traits>
status index_file<Traits>::load() {
    if (loaded_) {
        return {};
    }
    std::vector<uint8_t> raw(count_ * Traits::entry_bytes);
    RUNNEL_TRY(read_exact(*file_, 0, raw));
    std::vector<entry> entries;
    entries.reserve(count_);
    for (size_t i = 0; i < count_; ++i) {
        entry e = Traits::decode(raw.data() + i * Traits::entry_bytes, base_offset_);
        if (!entries.empty() && !Traits::ordered(entries.back(), e)) {
            return make_error(errc::corrupt, fmt::format("index {}: entry {} is out of order", path(), i));
        }
        entries.push_back(e);
    }
    entries_ = std::move(entries);
    loaded_ = true;
    return {};
}

template <typename Traits>
status index_file<Traits>::preallocate() {
    return file_->truncate(capacity_ * Traits::entry_bytes);
}

template <typename Traits>
result<typename Traits::entry> index_file<Traits>::at(size_t i) {
    assert(i < count_);
    if (loaded_) {
        return entries_[i];
    }
    uint8_t raw[Traits::entry_bytes];
    RUNNEL_TRY(read_exact(*file_, i * Traits::entry_bytes, raw));
    return Traits::decode(raw, base_offset_);
}

template <typename Traits>
void index_file<Traits>::append(const entry& e) {
    assert(loaded_);
    assert(!full());
    assert(!last_ || Traits::ordered(*last_, e));
    entries_.push_back(e);
    ++count_;
    last_ = e;
}

template <typename Traits>
status index_file<Traits>::truncate_entries(size_t n) {
    if (n >= count_) {
        return {};
    }
    if (loaded_) {
        entries_.resize(n);
    }
    count_ = n;
    if (written_ > n) {
        written_ = n;
        // Zero the cut entries so that a crash cannot resurrect them.
        if (!loaded_) {
            RUNNEL_TRY(file_->truncate(n * Traits::entry_bytes));
        } else {
            auto size = file_->size();
            if (!size.ok()) {
                return size.err();
            }
            RUNNEL_TRY(file_->truncate(n * Traits::entry_bytes));
            RUNNEL_TRY(file_->truncate(*size));
        }
    }
    last_.reset();
    if (n > 0) {
        auto e = at(n - 1);
        if (!e.ok()) {
            return e.err();
        }
        last_ = *e;
    }
    return {};
}

template <typename Traits>
status index_file<Traits>::flush() {
    if (written_ == count_) {
        return {};
    }
    assert(loaded_);
    std::vector<uint8_t> raw((count_ - written_) * Traits::entry_bytes);
    for (size_t i = written_; i < count_; ++i) {
        Traits::encode(entries_[i], base_offset_, raw.data() + (i - written_) * Traits::entry_bytes);
    }
    RUNNEL_TRY(file_->write_at(written_ * Traits::entry_bytes, raw));
    written_ = count_;
    return {};
}

template <typename Traits>
status index_file<Traits>::trim() {
    RUNNEL_TRY(flush());
    RUNNEL_TRY(file_->truncate(count_ * Traits::entry_bytes));
    entries_.clear();
    entries_.shrink_to_fit();
    loaded_ = false;
    return {};
}

template class index_file<offset_entry_traits>;
template class index_file<time_entry_traits>;

} // namespace runnel::storage
