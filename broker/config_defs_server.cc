// Broker keys for identity, roles, listeners, the request path, replication,
// the group and transaction coordinators, and Runnel's own keys. Names, types
// and defaults are Kafka's (4.x) unless a comment says why not.
#include "broker/config_registry.h"

namespace runnel::broker {
namespace {

constexpr std::string_view int32_max = "2147483647";

void define_identity(config_registry& r) {
    using enum config_type;
    using enum importance;
    using enum update_mode;
    using namespace validate;
    // Kafka has no default node id; 1 lets a single dev node start with no config at all.
    r.define("node.id", int32, "1", at_least(0), high, read_only,
             "This node's id in the cluster, unique among brokers and controllers.");
    r.define("broker.id", int32, "-1", at_least(-1), high, read_only,
             "Older name of node.id; when set, it must equal node.id (or sets it when node.id is not given).");
    r.define("process.roles", list, "broker,controller", each_one_of({"broker", "controller"}), high, read_only,
             "What this node does: broker (serves clients), controller (votes in the metadata quorum), or both.");
    r.define("controller.quorum.voters", list, "", quorum_voter_list(), high, read_only,
             "The metadata quorum as id@host:port entries. Empty on a combined node means a quorum of itself alone.");
    r.define("controller.listener.names", list, std::nullopt, non_empty_list(), high, read_only,
             "Names of the listeners that controllers use to talk to each other.");
    r.define("broker.rack", string, std::nullopt, {}, medium, read_only,
             "The rack (or zone) of this broker, used to spread replicas across failure domains.");
    r.define("broker.heartbeat.interval.ms", int32, "2000", at_least(1), medium, read_only,
             "How often a broker tells the controller it is alive.");
    r.define("broker.session.timeout.ms", int32, "9000", at_least(1), medium, read_only,
             "How long the controller waits without a heartbeat before it fences a broker.");
    r.define("controller.quorum.election.timeout.ms", int32, "1000", at_least(1), high, read_only,
             "How long a voter waits without hearing from a leader before it starts an election.");
    r.define("controller.quorum.fetch.timeout.ms", int32, "2000", at_least(1), high, read_only,
             "How long a follower waits without a successful fetch before it becomes a candidate.");
    r.define("controller.quorum.election.backoff.max.ms", int32, "1000", at_least(1), high, read_only,
             "Upper bound of the random pause before a new election after a failed one.");
    r.define("controller.quorum.append.linger.ms", int32, "25", at_least(0), medium, read_only,
             "How long the quorum leader gathers records before it writes them as one batch.");
    r.define("controller.quorum.request.timeout.ms", int32, "2000", at_least(1), medium, read_only,
             "How long a quorum request may wait for its answer.");
    r.define("controller.quorum.retry.backoff.ms", int32, "20", at_least(0), low, read_only,
             "Pause before a failed quorum request is tried again.");
}

void define_network(config_registry& r) {
    using enum config_type;
    using enum importance;
    using enum update_mode;
    using namespace validate;
    r.define("listeners", list, "PLAINTEXT://:9092", listener_list(), high, per_broker,
             "Where the node listens, as NAME://host:port entries; an empty host means every interface.");
    r.define("advertised.listeners", list, std::nullopt, listener_list(), high, per_broker,
             "The addresses clients are told to use; when not set, the non-controller entries of listeners.");
    r.define("listener.security.protocol.map", list, "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
             protocol_map(), low, per_broker, "The security protocol of each listener name, as NAME:PROTOCOL entries.");
    r.define("inter.broker.listener.name", string, std::nullopt, {}, medium, read_only,
             "The listener brokers use to reach each other; when not set, the one named by security.inter.broker.protocol.");
    r.define("security.inter.broker.protocol", string, "PLAINTEXT",
             one_of({"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}), medium, read_only,
             "The security protocol between brokers; set this or inter.broker.listener.name, not both.");
    r.define("socket.request.max.bytes", int32, "104857600", at_least(1), high, read_only,
             "The largest request the broker reads; a bigger size prefix closes the connection.");
    r.define("socket.send.buffer.bytes", int32, "102400", at_least(-1), high, read_only,
             "SO_SNDBUF of client connections; -1 keeps the operating system's default.");
    r.define("socket.receive.buffer.bytes", int32, "102400", at_least(-1), high, read_only,
             "SO_RCVBUF of client connections; -1 keeps the operating system's default.");
    r.define("socket.listen.backlog.size", int32, "50", at_least(1), medium, read_only,
             "Length of the queue of connections not yet accepted.");
    r.define("max.connections", int32, int32_max, at_least(0), medium, cluster_wide,
             "The most client connections the broker holds at once; more are closed at accept.");
    r.define("max.connections.per.ip", int32, int32_max, at_least(0), medium, cluster_wide,
             "The most connections one client address may hold at once; more are closed at accept.");
    r.define("connections.max.idle.ms", int64, "600000", {}, medium, read_only,
             "Connections with no traffic for this long are closed; a negative value never closes them.");
    r.define("queued.max.requests", int32, "500", at_least(1), high, read_only,
             "Requests that may wait for a handler before the network threads stop reading.");
    // Kafka's default is -1 (no limit). Runnel bounds request memory by
    // default: with no limit, connections that each announce a frame of
    // socket.request.max.bytes could make the broker buffer without end.
    r.define("queued.max.request.bytes", int64, "268435456", {}, medium, read_only,
             "Bytes of requests being read or handled, over all connections, before connections stop reading "
             "new ones; -1 for no limit.");
    r.define("num.network.threads", int32, "3", at_least(1), high, cluster_wide,
             "Threads that read requests and write responses.");
    r.define("num.io.threads", int32, "8", at_least(1), high, cluster_wide,
             "Threads that handle requests, including disk work.");
    r.define("background.threads", int32, "10", at_least(1), high, cluster_wide,
             "Threads for background tasks such as retention and deleting files.");
    r.define("fetch.max.bytes", int32, "57671680", at_least(1024), medium, read_only,
             "The most bytes the broker returns for one fetch request.");
    r.define("max.incremental.fetch.session.cache.slots", int32, "1000", at_least(0), medium, read_only,
             "Incremental fetch sessions (KIP-227) the broker keeps at most.");
}

void define_cluster(config_registry& r) {
    using enum config_type;
    using enum importance;
    using enum update_mode;
    using namespace validate;
    r.define("num.partitions", int32, "1", at_least(1), medium, read_only,
             "Partitions of a topic created without a count (auto-created, or CreateTopics with -1).");
    // Kafka does not validate this; a factor below 1 can never be placed.
    r.define("default.replication.factor", int32, "1", at_least(1), medium, read_only,
             "Replicas of a topic created without a replication factor.");
    r.define("auto.create.topics.enable", boolean, "true", {}, high, read_only,
             "Create a topic when a client asks for the metadata of one that does not exist.");
    r.define("delete.topic.enable", boolean, "true", {}, high, read_only,
             "Allow DeleteTopics; when false such requests are refused.");
    r.define("auto.leader.rebalance.enable", boolean, "true", {}, high, read_only,
             "Move leadership back to each partition's preferred replica when it is in sync.");
    r.define("leader.imbalance.check.interval.seconds", int64, "300", at_least(1), high, read_only,
             "How often the controller checks whether leaders should move back to preferred replicas.");
    r.define("replica.lag.time.max.ms", int64, "30000", {}, high, read_only,
             "A follower that has not caught up for this long leaves the ISR.");
    r.define("replica.fetch.max.bytes", int32, "1048576", at_least(0), medium, read_only,
             "Bytes a follower asks for per partition in one fetch.");
    r.define("replica.fetch.min.bytes", int32, "1", {}, high, read_only,
             "Bytes a follower's fetch waits for before the leader answers.");
    r.define("replica.fetch.wait.max.ms", int32, "500", {}, medium, read_only,
             "The longest a follower's fetch waits at the leader for data.");
    r.define("replica.fetch.backoff.ms", int32, "1000", at_least(0), medium, read_only,
             "Pause after a failed follower fetch.");
    r.define("replica.fetch.response.max.bytes", int32, "10485760", at_least(0), medium, read_only,
             "Bytes a follower asks for in one whole fetch response.");
    r.define("replica.socket.timeout.ms", int32, "30000", {}, high, read_only,
             "How long a follower's fetch may take before it is abandoned.");
    r.define("replica.high.watermark.checkpoint.interval.ms", int64, "5000", {}, high, read_only,
             "How often high watermarks are written to disk.");
    r.define("num.replica.fetchers", int32, "1", at_least(1), high, cluster_wide,
             "Follower fetch sessions per source broker.");
    r.define("unclean.leader.election.enable", boolean, "false", {}, high, cluster_wide,
             "Allow a replica outside the ISR to become leader when no ISR member is alive, losing data.");
    r.define("min.insync.replicas", int32, "1", at_least(1), high, cluster_wide,
             "Replicas that must have a write before an acks=all produce succeeds.");
    r.define("compression.type", string, "producer",
             one_of({"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}), high, cluster_wide,
             "Codec batches are stored with; producer keeps whatever the producer used.");
    r.define("compression.gzip.level", int32, "-1", gzip_level(), medium, cluster_wide,
             "gzip level when the broker recompresses (-1: zlib's default).");
    r.define("compression.lz4.level", int32, "9", between(1, 17), medium, cluster_wide,
             "lz4 level when the broker recompresses.");
    r.define("compression.zstd.level", int32, "3", between(-131072, 22), medium, cluster_wide,
             "zstd level when the broker recompresses.");
}

void define_coordinators(config_registry& r) {
    using enum config_type;
    using enum importance;
    using enum update_mode;
    using namespace validate;
    r.define("offsets.topic.num.partitions", int32, "50", at_least(1), high, read_only,
             "Partitions of __consumer_offsets; fixed once the topic exists.");
    r.define("offsets.topic.replication.factor", int16, "3", at_least(1), high, read_only,
             "Replicas of __consumer_offsets.");
    // Kafka's minimum is 1; here the topic's own segment.bytes minimum (1 MiB)
    // applies, since __consumer_offsets is created with it and a smaller
    // value would leave groups without a coordinator.
    r.define("offsets.topic.segment.bytes", int32, "104857600", at_least(1048576), high, read_only,
             "Segment size of __consumer_offsets, kept small so compaction and loading are quick.");
    r.define("offsets.retention.minutes", int32, "10080", at_least(1), high, read_only,
             "How long the committed offsets of an empty group are kept.");
    r.define("offsets.retention.check.interval.ms", int64, "600000", at_least(1), high, read_only,
             "How often expired committed offsets are looked for.");
    r.define("offsets.commit.timeout.ms", int32, "5000", at_least(1), high, read_only,
             "How long an offset commit may wait for its write to be replicated.");
    r.define("offset.metadata.max.bytes", int32, "4096", {}, high, read_only,
             "The largest metadata string stored with a committed offset.");
    r.define("group.initial.rebalance.delay.ms", int32, "3000", {}, medium, read_only,
             "How long a new group waits for more members before its first rebalance.");
    r.define("group.min.session.timeout.ms", int32, "6000", {}, medium, read_only,
             "The smallest session timeout a group member may ask for.");
    r.define("group.max.session.timeout.ms", int32, "1800000", {}, medium, read_only,
             "The largest session timeout a group member may ask for.");
    r.define("group.max.size", int32, int32_max, at_least(1), medium, read_only,
             "The most members one consumer group may have.");
    r.define("transaction.state.log.num.partitions", int32, "50", at_least(1), high, read_only,
             "Partitions of __transaction_state.");
    r.define("transaction.state.log.replication.factor", int16, "3", at_least(1), high, read_only,
             "Replicas of __transaction_state.");
    r.define("transaction.state.log.min.isr", int32, "2", at_least(1), high, read_only,
             "min.insync.replicas of __transaction_state.");
    r.define("transaction.state.log.segment.bytes", int32, "104857600", at_least(1), high, read_only,
             "Segment size of __transaction_state.");
    r.define("transactional.id.expiration.ms", int32, "604800000", at_least(1), high, read_only,
             "A transactional id with no transaction for this long is forgotten.");
    r.define("transaction.max.timeout.ms", int32, "900000", at_least(1), high, read_only,
             "The longest transaction timeout a producer may ask for.");
    r.define("transaction.abort.timed.out.transaction.cleanup.interval.ms", int32, "10000", at_least(1), low, read_only,
             "How often transactions past their timeout are looked for and aborted.");
    r.define("producer.id.expiration.ms", int32, "86400000", at_least(1), low, cluster_wide,
             "An idle producer id's state is dropped after this long.");
}

void define_runnel(config_registry& r) {
    using enum config_type;
    using enum update_mode;
    using namespace validate;
    r.define_runnel("cluster.id", string, "", [](const config_value& v) -> std::optional<std::string> {
        return std::get<std::string>(v).empty() ? std::nullopt : uuid_text()(v);
    }, read_only,
                    "Runnel: the cluster id to format a new data directory with (a Kafka UUID); empty generates one. "
                    "Once written to meta.properties it must match.");
    r.define_runnel("logger.level", string, "info", one_of({"trace", "debug", "info", "warn", "error"}), per_broker,
                    "Runnel: the least severe log level written to stderr.");
    r.define_runnel("shutdown.drain.ms", int64, "30000", at_least(0), read_only,
                    "Runnel: on SIGTERM, how long the requests in hand may take to finish (after listeners close "
                    "and waiting Fetches and JoinGroups are answered) before the broker stops without them.");
    r.define_runnel("admin.listener", string, "127.0.0.1:9644", host_port_or_empty(), read_only,
                    "Runnel: host:port of the admin HTTP endpoint (metrics, health, cluster state); empty disables it.");
}

} // namespace

void define_server_configs(config_registry& registry) {
    define_identity(registry);
    define_network(registry);
    define_cluster(registry);
    define_coordinators(registry);
    define_runnel(registry);
}

} // namespace runnel::broker
