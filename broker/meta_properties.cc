// Reading and atomically writing meta.properties.
#include "broker/meta_properties.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <fmt/format.h>

#include "protocol/wire.h"

namespace runnel::broker {

namespace {

constexpr const char* file_name = "meta.properties";

std::string random_uuid_text() {
    std::random_device rd;
    proto::uuid u;
    for (auto& b : u.data) {
        b = static_cast<uint8_t>(rd());
    }
    // Version 4, variant 1, as Kafka's Uuid.randomUuid() makes them.
    u.data[6] = static_cast<uint8_t>((u.data[6] & 0x0f) | 0x40);
    u.data[8] = static_cast<uint8_t>((u.data[8] & 0x3f) | 0x80);
    return u.to_string();
}

std::map<std::string, std::string> read_properties(const std::filesystem::path& path) {
    std::map<std::string, std::string> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        auto eq = line.find('=');
        if (eq != std::string::npos) {
            out[line.substr(0, eq)] = line.substr(eq + 1);
        }
    }
    return out;
}

bool fsync_path(const std::filesystem::path& path, int flags) {
    int fd = ::open(path.c_str(), flags);
    if (fd < 0) {
        return false;
    }
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

} // namespace

std::variant<meta_properties, std::string> load_or_create_meta_properties(const std::string& dir, int32_t node_id,
                                                                          const std::string& cluster_id_hint) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return fmt::format("log.dirs: cannot create directory {}: {}", dir, ec.message());
    }
    const fs::path path = fs::path(dir) / file_name;
    if (fs::exists(path)) {
        auto props = read_properties(path);
        meta_properties meta;
        meta.cluster_id = props["cluster.id"];
        meta.directory_id = props["directory.id"];
        try {
            meta.node_id = std::stoi(props["node.id"]);
        } catch (const std::exception&) {
            return fmt::format("{}: node.id is missing or not a number", path.string());
        }
        if (meta.node_id != node_id) {
            return fmt::format("{} belongs to node.id {}, but this broker is node.id {}", path.string(), meta.node_id,
                               node_id);
        }
        if (!cluster_id_hint.empty() && cluster_id_hint != meta.cluster_id) {
            return fmt::format("{} belongs to cluster {}, but cluster.id is {}", path.string(), meta.cluster_id,
                               cluster_id_hint);
        }
        return meta;
    }
    meta_properties meta{node_id, cluster_id_hint.empty() ? random_uuid_text() : cluster_id_hint,
                         random_uuid_text()};
    const fs::path tmp = fs::path(dir) / (std::string(file_name) + ".tmp");
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << "#\n# Written by runnel\n"
            << "cluster.id=" << meta.cluster_id << "\n"
            << "directory.id=" << meta.directory_id << "\n"
            << "node.id=" << meta.node_id << "\n"
            << "version=1\n";
        if (!out) {
            return fmt::format("cannot write {}", tmp.string());
        }
    }
    if (!fsync_path(tmp, O_RDONLY)) {
        return fmt::format("cannot fsync {}", tmp.string());
    }
    fs::rename(tmp, path, ec);
    if (ec || !fsync_path(dir, O_RDONLY | O_DIRECTORY)) {
        return fmt::format("cannot install {}: {}", path.string(), ec ? ec.message() : "fsync of the directory failed");
    }
    return meta;
}

} // namespace runnel::broker
