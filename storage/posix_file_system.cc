// The file_system interface over POSIX system calls: pread/pwrite, fdatasync,
// rename and directory fsync. Retries EINTR and short transfers.
#include <atomic>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "storage/file_system.h"

namespace runnel::storage {

std::string_view to_string(errc e) {
    switch (e) {
    case errc::ok: return "ok";
    case errc::io_error: return "io_error";
    case errc::disk_full: return "disk_full";
    case errc::corrupt: return "corrupt";
    case errc::offset_out_of_range: return "offset_out_of_range";
    case errc::invalid_argument: return "invalid_argument";
    case errc::not_found: return "not_found";
    case errc::already_exists: return "already_exists";
    case errc::stale: return "stale";
    case errc::too_large: return "too_large";
    }
    return "unknown";
}

error errno_error(int err, std::string_view what, const std::string& path) {
    errc code = errc::io_error;
    if (err == ENOSPC || err == EDQUOT) {
        code = errc::disk_full;
    } else if (err == ENOENT) {
        code = errc::not_found;
    } else if (err == EEXIST) {
        code = errc::already_exists;
    }
    return make_error(code, fmt::format("{} {}: {}", what, path, std::strerror(err)));
}

namespace {

// Shared by a posix_file_system and its files: while set, sync() and
// sync_dir() leave the work to the file system's sync_all().
using defer_flag = std::shared_ptr<std::atomic<bool>>;

class posix_file final : public file {
public:
    posix_file(int fd, std::string path, defer_flag deferred)
        : fd_(fd), path_(std::move(path)), deferred_(std::move(deferred)) {}
    ~posix_file() override { ::close(fd_); }
    posix_file(const posix_file&) = delete;
    posix_file& operator=(const posix_file&) = delete;

    result<size_t> read_at(uint64_t pos, mutable_byte_span out) override {
        size_t done = 0;
        while (done < out.size()) {
            ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(pos + done));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                return errno_error(errno, "pread", path_);
            }
            if (n == 0) {
                break;
            }
            done += static_cast<size_t>(n);
        }
        return done;
    }

    status write_at(uint64_t pos, byte_span data) override {
        size_t done = 0;
        while (done < data.size()) {
            ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(pos + done));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                return errno_error(errno, "pwrite", path_);
            }
            done += static_cast<size_t>(n);
        }
        return {};
    }

    result<uint64_t> size() override {
        struct stat st{};
        if (::fstat(fd_, &st) != 0) {
            return errno_error(errno, "fstat", path_);
        }
        return static_cast<uint64_t>(st.st_size);
    }

    status truncate(uint64_t size) override {
        if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
            return errno_error(errno, "ftruncate", path_);
        }
        return {};
    }

    status sync() override {
        if (deferred_->load(std::memory_order_acquire)) {
            return {};
        }
        if (::fdatasync(fd_) != 0) {
            return errno_error(errno, "fdatasync", path_);
        }
        return {};
    }

    int native_handle() const override { return fd_; }
    const std::string& path() const override { return path_; }

private:
    int fd_;
    std::string path_;
    defer_flag deferred_;
};

class posix_file_system final : public file_system {
public:
    result<std::shared_ptr<file>> open(const std::string& path, open_mode mode) override {
        int flags = O_RDWR | O_CLOEXEC;
        switch (mode) {
        case open_mode::read_write: break;
        case open_mode::create: flags |= O_CREAT; break;
        case open_mode::create_exclusive: flags |= O_CREAT | O_EXCL; break;
        case open_mode::create_truncate: flags |= O_CREAT | O_TRUNC; break;
        }
        int fd = ::open(path.c_str(), flags, 0644);
        if (fd < 0) {
            return errno_error(errno, "open", path);
        }
        return std::shared_ptr<file>(std::make_shared<posix_file>(fd, path, deferred_));
    }

    result<bool> exists(const std::string& path) override {
        struct stat st{};
        if (::stat(path.c_str(), &st) == 0) {
            return true;
        }
        if (errno == ENOENT || errno == ENOTDIR) {
            return false;
        }
        return errno_error(errno, "stat", path);
    }

    result<bool> is_dir(const std::string& path) override {
        struct stat st{};
        if (::stat(path.c_str(), &st) != 0) {
            return errno_error(errno, "stat", path);
        }
        return S_ISDIR(st.st_mode);
    }

    result<std::vector<std::string>> list_dir(const std::string& path) override {
        DIR* dir = ::opendir(path.c_str());
        if (dir == nullptr) {
            return errno_error(errno, "opendir", path);
        }
        std::vector<std::string> names;
        while (struct dirent* entry = ::readdir(dir)) {
            std::string_view name = entry->d_name;
            if (name != "." && name != "..") {
                names.emplace_back(name);
            }
        }
        ::closedir(dir);
        return names;
    }

    status create_dirs(const std::string& path) override {
        std::error_code ec;
        std::filesystem::create_directories(path, ec);
        if (ec) {
            return errno_error(ec.value(), "mkdir", path);
        }
        return {};
    }

    status remove_file(const std::string& path) override {
        if (::unlink(path.c_str()) != 0) {
            return errno_error(errno, "unlink", path);
        }
        return {};
    }

    status remove_all(const std::string& path) override {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
        if (ec) {
            return errno_error(ec.value(), "remove_all", path);
        }
        return {};
    }

    status rename(const std::string& from, const std::string& to) override {
        if (::rename(from.c_str(), to.c_str()) != 0) {
            return errno_error(errno, "rename", from);
        }
        return {};
    }

    status sync_dir(const std::string& path) override {
        if (deferred_->load(std::memory_order_acquire)) {
            return {};
        }
        int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            return errno_error(errno, "open dir", path);
        }
        int rc = ::fsync(fd);
        int err = errno;
        ::close(fd);
        if (rc != 0) {
            return errno_error(err, "fsync dir", path);
        }
        return {};
    }

    ~posix_file_system() override {
        if (watch_fd_ >= 0) {
            ::close(watch_fd_);
        }
    }

    status watch_writeback(const std::string& dir) override {
        // The kernel keeps a writeback error per file system and tells each
        // descriptor about the errors after its open: this one sees every
        // error from now on.
        int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            return errno_error(errno, "open dir", dir);
        }
        if (watch_fd_ >= 0) {
            ::close(watch_fd_);
        }
        watch_fd_ = fd;
        watch_dir_ = dir;
        return {};
    }

    void defer_syncs() override {
        if (watch_fd_ >= 0) {
            deferred_->store(true, std::memory_order_release); // without a watch, syncs stay as they are
        }
    }

    status sync_all() override {
        if (!deferred_->load(std::memory_order_acquire)) {
            return {};
        }
        // syncfs(2) writes back every dirty page and inode of the file
        // system, commits its journal, and (Linux 5.8 on) fails with the
        // writeback error any file of it met since watch_fd_ was opened.
        const int rc = ::syncfs(watch_fd_);
        const int err = errno;
        deferred_->store(false, std::memory_order_release);
        if (rc != 0) {
            return errno_error(err, "syncfs", watch_dir_);
        }
        return {};
    }

private:
    defer_flag deferred_ = std::make_shared<std::atomic<bool>>(false);
    int watch_fd_ = -1;
    std::string watch_dir_;
};

} // namespace

std::shared_ptr<file_system> make_posix_file_system() { return std::make_shared<posix_file_system>(); }

status read_exact(file& f, uint64_t pos, mutable_byte_span out) {
    auto n = f.read_at(pos, out);
    if (!n.ok()) {
        return n.err();
    }
    if (*n != out.size()) {
        return make_error(errc::corrupt, fmt::format("short read of {} at {}: {} of {} bytes", f.path(), pos, *n,
                                                     out.size()));
    }
    return {};
}

result<std::vector<uint8_t>> read_whole_file(file_system& fs, const std::string& path, size_t bytes_max) {
    auto f = fs.open(path, open_mode::read_write);
    if (!f.ok()) {
        return f.err();
    }
    auto size = (*f)->size();
    if (!size.ok()) {
        return size.err();
    }
    if (*size > bytes_max) {
        return make_error(errc::corrupt, fmt::format("{} is {} bytes, more than {}", path, *size, bytes_max));
    }
    std::vector<uint8_t> data(*size);
    RUNNEL_TRY(read_exact(**f, 0, data));
    return data;
}

std::string join_path(std::string_view dir, std::string_view name) {
    std::string out(dir);
    if (!out.empty() && out.back() != '/') {
        out.push_back('/');
    }
    out.append(name);
    return out;
}

std::string parent_dir(const std::string& path) {
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos) {
        return ".";
    }
    if (slash == 0) {
        return "/";
    }
    return path.substr(0, slash);
}

} // namespace runnel::storage
