#include "broker/drain_gate.h"

#include "broker/connection.h"

namespace runnel::broker {

size_t drain_gate::close_idle(size_t shard) {
    // close() does not remove the connection from the set (its request loop
    // does, when it ends), so the set can be walked while closing.
    size_t closed = 0;
    for (connection* c : connections_.at(shard)) {
        if (!c->in_request()) {
            c->close();
            ++closed;
        }
    }
    return closed;
}

} // namespace runnel::broker
