// Connection counts against max.connections (the whole broker) and
// max.connections.per.ip (one client address). The accept loop admits each
// new connection; the connection hands its slot back when it ends, on
// whatever shard it lived. It is touched once per connection, never per
// request, so one mutex guards it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace runnel::broker {

class connection_quotas : public std::enable_shared_from_this<connection_quotas> {
public:
    // What try_admit() says no for.
    enum class refusal : uint8_t { none, max_connections, max_connections_per_ip };

    // A counted connection; gives its place back when destroyed. It keeps the
    // quotas alive, as connections may outlive the server that accepted them.
    class slot {
    public:
        slot() = default;
        slot(slot&& other) noexcept = default;
        slot& operator=(slot&& other) noexcept;
        slot(const slot&) = delete;
        slot& operator=(const slot&) = delete;
        ~slot();

    private:
        friend class connection_quotas;
        slot(std::shared_ptr<connection_quotas> owner, std::string address)
            : owner_(std::move(owner)), address_(std::move(address)) {}
        void release();

        std::shared_ptr<connection_quotas> owner_;
        std::string address_;
    };

    // Limits below 1 admit nothing, as in Kafka.
    static std::shared_ptr<connection_quotas> create(int32_t max_connections, int32_t max_per_ip);

    // A slot for a new connection from `address`, or why there is none.
    refusal try_admit(std::string_view address, slot& out);

    int32_t max_connections() const { return max_connections_; }
    int32_t max_connections_per_ip() const { return max_per_ip_; }
    int64_t count() const;
    int64_t count(std::string_view address) const;

private:
    connection_quotas(int32_t max_connections, int32_t max_per_ip)
        : max_connections_(max_connections), max_per_ip_(max_per_ip) {}
    void release(const std::string& address);

    const int32_t max_connections_;
    const int32_t max_per_ip_;
    mutable std::mutex mutex_;
    int64_t total_ = 0;                                  // guarded by mutex_
    std::map<std::string, int64_t, std::less<>> per_ip_; // guarded by mutex_; no zero entries
};

std::string_view to_string(connection_quotas::refusal r);

} // namespace runnel::broker
