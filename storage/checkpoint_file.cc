// Reading and writing Kafka's checkpoint files; see docs/FORMAT.md.
#include "storage/checkpoint_file.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "storage/format.h"

namespace runnel::storage {

std::string topic_partition::dir_name() const { return fmt::format("{}-{}", topic, partition); }

std::optional<topic_partition> topic_partition::from_dir_name(std::string_view name) {
    auto dash = name.find_last_of('-');
    if (dash == std::string_view::npos || dash == 0 || dash + 1 == name.size()) {
        return std::nullopt;
    }
    int32_t partition = 0;
    auto digits = name.substr(dash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), partition);
    if (ec != std::errc{} || end != digits.data() + digits.size() || partition < 0) {
        return std::nullopt;
    }
    return topic_partition{std::string(name.substr(0, dash)), partition};
}

status write_file_atomically(file_system& fs, const std::string& path, std::string_view content) {
    // A batch of one: temp file, sync, rename, directory sync.
    atomic_write_batch one(fs);
    RUNNEL_TRY(one.stage(path, content));
    return one.commit();
}

namespace {

// Runs work(0..n-1) on up to `threads_max` threads (on the caller's alone for
// one item); returns the first error by index.
template <typename Work>
status run_overlapped(size_t n, Work work) {
    constexpr size_t threads_max = 16;
    std::vector<status> results(n);
    std::atomic<size_t> next{0};
    auto drain = [&] {
        for (size_t i = next++; i < n; i = next++) {
            results[i] = work(i);
        }
    };
    std::vector<std::thread> threads;
    for (size_t t = 1; t < std::min(n, threads_max); ++t) {
        threads.emplace_back(drain);
    }
    drain();
    for (auto& t : threads) {
        t.join();
    }
    for (auto& r : results) {
        if (!r.ok()) {
            return r;
        }
    }
    return {};
}

} // namespace

status atomic_write_batch::stage(const std::string& path, std::string_view content) {
    staged_file s{path, std::string(path).append(format::temp_suffix), nullptr};
    auto f = fs_.open(s.temp, open_mode::create_truncate);
    if (!f.ok()) {
        return f.err();
    }
    RUNNEL_TRY((*f)->write_at(0, byte_span(reinterpret_cast<const uint8_t*>(content.data()), content.size())));
    s.f = std::move(*f);
    staged_.push_back(std::move(s));
    return {};
}

void atomic_write_batch::sync_dir_after(const std::string& dir) {
    dirs_.push_back(dir);
}

status atomic_write_batch::commit() {
    status first = run_overlapped(staged_.size(), [&](size_t i) { return staged_[i].f->sync(); });
    std::vector<std::string> dirs = dirs_;
    for (auto& s : staged_) {
        s.f.reset();
        if (first.ok()) {
            // Renamed only once every temp file is durable.
            if (auto r = fs_.rename(s.temp, s.path); !r.ok() && first.ok()) {
                first = r;
            }
            dirs.push_back(parent_dir(s.path));
        }
    }
    std::sort(dirs.begin(), dirs.end());
    dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
    status synced = run_overlapped(dirs.size(), [&](size_t i) { return fs_.sync_dir(dirs[i]); });
    staged_.clear();
    dirs_.clear();
    return first.ok() ? synced : first;
}

namespace {

// Splits a checkpoint into its lines, checks the version and count lines,
// and returns the entry lines split on single spaces.
result<std::vector<std::vector<std::string_view>>> parse_checkpoint(std::string_view text, size_t fields,
                                                                    const std::string& path) {
    auto bad = [&](std::string_view why) {
        return make_error(errc::corrupt, fmt::format("checkpoint {}: {}", path, why));
    };
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        auto nl = text.find('\n');
        if (nl == std::string_view::npos) {
            return bad("last line has no newline");
        }
        if (nl > format::checkpoint_line_bytes_max) {
            return bad("line too long");
        }
        lines.push_back(text.substr(0, nl));
        text.remove_prefix(nl + 1);
    }
    if (lines.size() < 2 || lines[0] != std::to_string(format::checkpoint_version)) {
        return bad("missing or unknown version");
    }
    size_t count = 0;
    auto [end, ec] = std::from_chars(lines[1].data(), lines[1].data() + lines[1].size(), count);
    if (ec != std::errc{} || end != lines[1].data() + lines[1].size() || count != lines.size() - 2) {
        return bad("count line does not match the entries");
    }
    std::vector<std::vector<std::string_view>> entries;
    for (size_t i = 2; i < lines.size(); ++i) {
        std::vector<std::string_view> parts;
        std::string_view line = lines[i];
        while (!line.empty() && parts.size() <= fields) {
            auto sp = line.find(' ');
            parts.push_back(line.substr(0, sp));
            line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
        }
        if (parts.size() != fields) {
            return bad(fmt::format("line {} does not have {} fields", i + 1, fields));
        }
        entries.push_back(std::move(parts));
    }
    return entries;
}

template <typename T>
std::optional<T> parse_number(std::string_view s) {
    T v{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) {
        return std::nullopt;
    }
    return v;
}

result<std::optional<std::string>> read_text_if_present(file_system& fs, const std::string& path) {
    auto present = fs.exists(path);
    if (!present.ok()) {
        return present.err();
    }
    if (!*present) {
        return std::optional<std::string>{};
    }
    auto data = read_whole_file(fs, path, format::checkpoint_file_bytes_max);
    if (!data.ok()) {
        return data.err();
    }
    return std::optional<std::string>(std::string(data->begin(), data->end()));
}

} // namespace

status write_offset_checkpoint(file_system& fs, const std::string& path, const offset_map_by_partition& offsets) {
    std::string text = fmt::format("{}\n{}\n", format::checkpoint_version, offsets.size());
    for (const auto& [tp, offset] : offsets) {
        assert(tp.topic.find(' ') == std::string::npos);
        text += fmt::format("{} {} {}\n", tp.topic, tp.partition, offset);
    }
    return write_file_atomically(fs, path, text);
}

result<offset_map_by_partition> read_offset_checkpoint(file_system& fs, const std::string& path) {
    auto text = read_text_if_present(fs, path);
    if (!text.ok()) {
        return text.err();
    }
    offset_map_by_partition out;
    if (!text->has_value()) {
        return out;
    }
    auto entries = parse_checkpoint(**text, 3, path);
    if (!entries.ok()) {
        return entries.err();
    }
    for (const auto& e : *entries) {
        auto partition = parse_number<int32_t>(e[1]);
        auto offset = parse_number<int64_t>(e[2]);
        if (e[0].empty() || !partition || !offset) {
            return make_error(errc::corrupt, fmt::format("checkpoint {}: bad entry", path));
        }
        out[topic_partition{std::string(e[0]), *partition}] = *offset;
    }
    return out;
}

status write_epoch_checkpoint(file_system& fs, const std::string& path, const std::vector<epoch_entry>& entries) {
    std::string text = fmt::format("{}\n{}\n", format::checkpoint_version, entries.size());
    for (const auto& e : entries) {
        text += fmt::format("{} {}\n", e.epoch, e.start_offset);
    }
    return write_file_atomically(fs, path, text);
}

result<std::vector<epoch_entry>> read_epoch_checkpoint(file_system& fs, const std::string& path) {
    auto text = read_text_if_present(fs, path);
    if (!text.ok()) {
        return text.err();
    }
    std::vector<epoch_entry> out;
    if (!text->has_value()) {
        return out;
    }
    auto entries = parse_checkpoint(**text, 2, path);
    if (!entries.ok()) {
        return entries.err();
    }
    for (const auto& e : *entries) {
        auto epoch = parse_number<int32_t>(e[0]);
        auto offset = parse_number<int64_t>(e[1]);
        if (!epoch || !offset) {
            return make_error(errc::corrupt, fmt::format("checkpoint {}: bad entry", path));
        }
        out.push_back(epoch_entry{*epoch, *offset});
    }
    return out;
}

} // namespace runnel::storage
