// Connection counting for max.connections and max.connections.per.ip.
#include "broker/connection_quotas.h"

#include <cassert>

namespace runnel::broker {

std::shared_ptr<connection_quotas> connection_quotas::create(int32_t max_connections, int32_t max_per_ip) {
    return std::shared_ptr<connection_quotas>(new connection_quotas(max_connections, max_per_ip));
}

connection_quotas::refusal connection_quotas::try_admit(std::string_view address, slot& out) {
    {
        std::lock_guard lock(mutex_);
        if (total_ >= max_connections_) {
            return refusal::max_connections;
        }
        auto it = per_ip_.find(address);
        const int64_t from_address = it == per_ip_.end() ? 0 : it->second;
        if (from_address >= max_per_ip_) {
            return refusal::max_connections_per_ip;
        }
        ++total_;
        if (it == per_ip_.end()) {
            per_ip_.emplace(std::string(address), 1);
        } else {
            ++it->second;
        }
    }
    out = slot(shared_from_this(), std::string(address));
    return refusal::none;
}

int64_t connection_quotas::count() const {
    std::lock_guard lock(mutex_);
    return total_;
}

int64_t connection_quotas::count(std::string_view address) const {
    std::lock_guard lock(mutex_);
    auto it = per_ip_.find(address);
    return it == per_ip_.end() ? 0 : it->second;
}

void connection_quotas::release(const std::string& address) {
    std::lock_guard lock(mutex_);
    auto it = per_ip_.find(address);
    assert(it != per_ip_.end() && it->second > 0 && total_ > 0);
    if (--it->second == 0) {
        per_ip_.erase(it);
    }
    --total_;
}

connection_quotas::slot& connection_quotas::slot::operator=(slot&& other) noexcept {
    if (this != &other) {
        release();
        owner_ = std::move(other.owner_);
        address_ = std::move(other.address_);
    }
    return *this;
}

connection_quotas::slot::~slot() {
    release();
}

void connection_quotas::slot::release() {
    if (owner_) {
        owner_->release(address_);
        owner_.reset();
    }
}

std::string_view to_string(connection_quotas::refusal r) {
    switch (r) {
    case connection_quotas::refusal::none: return "admitted";
    case connection_quotas::refusal::max_connections: return "max.connections";
    case connection_quotas::refusal::max_connections_per_ip: return "max.connections.per.ip";
    }
    return "unknown";
}

} // namespace runnel::broker
