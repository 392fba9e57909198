// The log directory's identity file, meta.properties, in Kafka's KRaft format
// (version=1, node.id, cluster.id, directory.id). A fresh directory gets a new
// cluster id; an existing one must belong to this node.
#pragma once

#include <string>
#include <variant>

namespace runnel::broker {

struct meta_properties {
    int32_t node_id = 0;
    std::string cluster_id;
    std::string directory_id;
};

// Reads <dir>/meta.properties, or creates it (and the directory) when absent,
// using cluster_id_hint when not empty. Returns an error message on a
// mismatch (another node's directory) or an I/O failure.
std::variant<meta_properties, std::string> load_or_create_meta_properties(const std::string& dir, int32_t node_id,
                                                                          const std::string& cluster_id_hint);

} // namespace runnel::broker
