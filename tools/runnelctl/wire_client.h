// A minimal blocking Kafka protocol client on the project's generated codecs,
// for the requests librdkafka 2.0 has no API for (IncrementalAlterConfigs).
// One connection, one request at a time, every wait bounded by a deadline.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/wire.h"
#include "tools/runnelctl/kafka_client.h"

namespace runnel::ctl {

struct host_port {
    std::string host;
    uint16_t port = 0;
};

// "h1:p1,h2:p2" -> the list; nullopt and *error when an entry is malformed.
std::optional<std::vector<host_port>> parse_bootstrap_servers(const std::string& text, std::string* error);

// The versions of one API that both sides speak.
struct version_range {
    int16_t min = 0;
    int16_t max = -1;
};

class wire_connection {
public:
    // Connects to the first of the servers that answers, then asks for its API
    // versions (ApiVersions v0, which every broker answers).
    static std::optional<wire_connection> open(const std::vector<host_port>& servers, const deadline& until,
                                               std::string* error);

    wire_connection(wire_connection&& other) noexcept;
    wire_connection& operator=(wire_connection&&) = delete;
    wire_connection(const wire_connection&) = delete;
    ~wire_connection();

    // The highest version of api_key in [our_min, our_max] the broker supports.
    std::optional<int16_t> pick_version(int16_t api_key, int16_t our_min, int16_t our_max) const;

    // Sends a request (header v1, or v2 when flexible) and returns the
    // response body after its header; nullopt and *error on any failure.
    std::optional<proto::bytes> round_trip(int16_t api_key, int16_t version, bool flexible,
                                           const proto::bytes& body, const deadline& until, std::string* error);

private:
    explicit wire_connection(int fd) : fd_(fd) {}
    bool send_all(const proto::bytes& frame, const deadline& until, std::string* error);
    bool receive_exactly(uint8_t* out, size_t n, const deadline& until, std::string* error);

    int fd_ = -1;
    int32_t next_correlation_id_ = 1;
    std::vector<std::pair<int16_t, version_range>> api_versions_;
};

} // namespace runnel::ctl
