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
    for (const auto& [name, topic] : topics) {
        if (topic.id == id) {
            return &topic;
        }
    }
    return nullptr;
}

} // namespace runnel::broker
