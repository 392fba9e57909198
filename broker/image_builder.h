// Turns metadata records into the next metadata image: a copy of the base
// image with the records applied in log order. A record that does not fit
// the image (a partition of an unknown topic, a second topic of the same
// name) is reported as corrupt: the log, or the controller, is wrong.
#pragma once

#include <cstdint>
#include <memory>

#include "broker/metadata_image.h"
#include "broker/metadata_records.h"
#include "storage/result.h"

namespace runnel::broker {

class image_builder {
public:
    explicit image_builder(const metadata_image& base);

    // Applies one committed record. On error the builder's image is left
    // as it was before this record.
    storage::status apply(const metadata_record& record, int64_t offset);
    // The image so far (for checks while building).
    const metadata_image& image() const { return *next_; }
    // The finished image; the builder must not be used afterwards.
    std::shared_ptr<const metadata_image> build();

private:
    storage::status apply_one(const proto::register_broker_record& r);
    storage::status apply_one(const proto::topic_record& r);
    storage::status apply_one(const proto::partition_record& r);
    storage::status apply_one(const proto::config_record& r);
    storage::status apply_one(const proto::remove_topic_record& r);
    storage::status apply_one(const proto::feature_level_record& r);
    storage::status apply_one(const proto::producer_ids_record& r);
    topic_image* topic_by_id(const proto::uuid& id);

    std::shared_ptr<metadata_image> next_;
};

// Applies every record in order to base; the first error stops it.
storage::result<std::shared_ptr<const metadata_image>> apply_records(const metadata_image& base,
                                                                     const std::vector<metadata_record>& records,
                                                                     int64_t first_offset);

} // namespace runnel::broker
