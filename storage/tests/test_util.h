// Helpers for storage tests: a scratch directory on the real disk, batch
// builders, and reading a log back record by record.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/record_batch.h"
#include "storage/partition_log.h"

namespace runnel::storage::testing {

// A fresh directory under the system temp dir, removed afterwards.
class temp_dir {
public:
    temp_dir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "runnel-storage-XXXXXX").string();
        char* made = ::mkdtemp(pattern.data());
        EXPECT_NE(made, nullptr);
        path_ = pattern;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::string& path() const { return path_; }
    std::string sub(std::string_view name) const { return join_path(path_, name); }

private:
    std::string path_;
};

struct test_record {
    std::optional<std::string> key;
    std::optional<std::string> value;
    int64_t timestamp = 0;
    bool operator==(const test_record&) const = default;
};

inline proto::bytes_view as_bytes(const std::string& s) {
    return proto::bytes_view(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

inline std::vector<uint8_t> make_batch(const std::vector<test_record>& records,
                                       proto::compression_type compression = proto::compression_type::none) {
    proto::batch_options options;
    options.compression = compression;
    proto::batch_builder builder(options);
    for (const auto& r : records) {
        std::optional<proto::bytes_view> key;
        std::optional<proto::bytes_view> value;
        if (r.key) {
            key = as_bytes(*r.key);
        }
        if (r.value) {
            value = as_bytes(*r.value);
        }
        EXPECT_EQ(builder.add(r.timestamp, key, value), proto::batch_error::none);
    }
    auto built = builder.build();
    EXPECT_TRUE(built.ok());
    return std::move(built).value();
}

// A batch of `count` records "v<i>" whose batch is about `value_bytes` each.
inline std::vector<uint8_t> make_value_batch(int count, int64_t timestamp, size_t value_bytes = 10) {
    std::vector<test_record> records;
    for (int i = 0; i < count; ++i) {
        std::string value = "v" + std::to_string(i);
        value.resize(std::max(value.size(), value_bytes), 'x');
        records.push_back(test_record{std::nullopt, value, timestamp + i});
    }
    return make_batch(records);
}

struct read_record {
    int64_t offset = 0;
    test_record record;
    bool operator==(const read_record&) const = default;
};

// Every record of every batch a read returned, CRC-checked.
inline std::vector<read_record> records_of(const std::vector<uint8_t>& bytes) {
    std::vector<read_record> out;
    proto::batch_splitter splitter(bytes);
    while (auto batch = splitter.next()) {
        EXPECT_EQ(proto::validate_batch(*batch, {}), proto::batch_error::none);
        auto reader = proto::record_reader::open(*batch, proto::default_decompressed_bytes_max);
        EXPECT_TRUE(reader.ok());
        if (!reader.ok()) {
            break;
        }
        while (auto r = reader.value().next()) {
            test_record tr;
            if (r->key) {
                tr.key = std::string(r->key->begin(), r->key->end());
            }
            if (r->value) {
                tr.value = std::string(r->value->begin(), r->value->end());
            }
            tr.timestamp = proto::record_timestamp(reader.value().header(), *r);
            out.push_back(read_record{proto::record_offset(reader.value().header(), *r), tr});
        }
    }
    EXPECT_EQ(splitter.error(), proto::batch_error::none);
    return out;
}

// Reads the whole log from `from` with reads of `bytes_max` bytes.
inline std::vector<read_record> read_all(partition_log& log, int64_t from, uint64_t bytes_max = 4096) {
    std::vector<read_record> out;
    int64_t offset = from;
    for (int guard = 0; guard < 1000000 && offset < log.log_end_offset(); ++guard) {
        read_options options;
        options.bytes_max = bytes_max;
        auto r = log.read(offset, options);
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().message);
        if (!r.ok() || r->slices.empty()) {
            break;
        }
        auto bytes = partition_log::copy_slices(*r);
        EXPECT_TRUE(bytes.ok());
        for (auto& rec : records_of(*bytes)) {
            if (rec.offset >= offset) {
                out.push_back(rec);
            }
        }
        EXPECT_GT(r->next_offset, offset);
        offset = r->next_offset;
    }
    return out;
}

inline log_config small_config() {
    log_config c;
    c.segment_bytes = 1024;
    c.segment_index_bytes = 1024;
    c.index_interval_bytes = 256;
    c.segment_ms = never;
    c.retention_ms = unlimited;
    return c;
}

inline std::string file_contents_path(const std::string& dir, int64_t base, std::string_view suffix) {
    return segment_file_path(dir, base, suffix);
}

} // namespace runnel::storage::testing
