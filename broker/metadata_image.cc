// Look-ups on the metadata snapshot.
#include "broker/metadata_image.h"

namespace runnel::broker {

const topic_image* metadata_image::find_topic(const std::string& name) const {
    auto it = topics.find(name);
    return it == topics.end() ? nullptr : &it->second;
}

const topic_image* metadata_image::find_topic(const proto::uuid& id) const {
    if (id.is_zero()) {
        return nullptr;
    }
    auto it = topic_names_by_id.find(id);
    return it == topic_names_by_id.end() ? nullptr : find_topic(it->second);
}

const broker_endpoint* metadata_image::find_broker(int32_t node_id) const {
    for (const auto& b : brokers) {
        if (b.node_id == node_id) {
            return &b;
        }
    }
    return nullptr;
}

const config_map* metadata_image::dynamic_broker_configs(int32_t node_id) const {
    auto it = broker_configs.find(node_id);
    return it == broker_configs.end() ? nullptr : &it->second;
}

bool is_internal_topic_name(std::string_view name) {
    return name == "__consumer_offsets" || name == "__transaction_state";
}

} // namespace runnel::broker
