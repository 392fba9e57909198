// The runnel broker: reads the configuration, opens the log directory,
// replays the metadata log into the image, hosts the partitions and serves
// the Kafka protocol until SIGINT/SIGTERM, then closes the logs cleanly.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <thread>

#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <asio/co_spawn.hpp>
#include <asio/post.hpp>

#include "broker/config.h"
#include "broker/controller.h"
#include "broker/data_path.h"
#include "broker/drain_gate.h"
#include "broker/log_compactor.h"
#include "broker/dispatch.h"
#include "broker/group/coordinator.h"
#include "broker/logging.h"
#include "broker/meta_properties.h"
#include "broker/metadata_image.h"
#include "broker/metadata_log.h"
#include "broker/partition_manager.h"
#include "broker/server.h"
#include "broker/topic_config.h"
#include "storage/flusher.h"
#include "storage/log_manager.h"

namespace po = boost::program_options;
using namespace runnel::broker;
namespace storage = runnel::storage;

namespace {

constexpr int exit_config_error = 2;
constexpr int exit_startup_error = 1;

struct command_line {
    std::optional<std::string> config_file;
    std::vector<std::string> overrides;
};

std::optional<command_line> parse_command_line(int argc, char** argv, int& exit_code) {
    po::options_description options("runnel " RUNNEL_VERSION ": a Kafka-compatible broker.\nOptions");
    options.add_options()
        ("help,h", "print this help and exit")
        ("version", "print the version and exit")
        ("config,c", po::value<std::string>(), "the properties file (Kafka's key=value format)")
        ("override,o", po::value<std::vector<std::string>>()->composing(),
         "key=value, overriding the file; may be repeated");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(options).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "runnel: " << e.what() << "\n" << options << "\n";
        exit_code = exit_config_error;
        return std::nullopt;
    }
    if (vm.count("help")) {
        std::cout << options << "\n";
        exit_code = 0;
        return std::nullopt;
    }
    if (vm.count("version")) {
        std::cout << "runnel " RUNNEL_VERSION "\n";
        exit_code = 0;
        return std::nullopt;
    }
    command_line out;
    if (vm.count("config")) {
        out.config_file = vm["config"].as<std::string>();
    }
    if (vm.count("override")) {
        out.overrides = vm["override"].as<std::vector<std::string>>();
    }
    return out;
}

// The listeners clients connect to: every listener but the controller's.
std::vector<listener_address> client_listeners(const broker_config& config) {
    std::vector<listener_address> out;
    const auto& controller_names = config.controller_listener_names();
    for (const auto& l : config.listeners()) {
        if (std::find(controller_names.begin(), controller_names.end(), l.name) != controller_names.end()) {
            continue;
        }
        out.push_back({l.name, l.host, l.port});
    }
    return out;
}

// Where clients are told to connect: the advertised listener of the same
// name, else the listener itself (with a wildcard host replaced by loopback).
broker_endpoint advertised_endpoint(const broker_config& config, const listener_address& first) {
    broker_endpoint out{config.node_id().value(), first.host, first.port, config.broker_rack()};
    for (const auto& a : config.advertised_listeners()) {
        if (a.name == first.name) {
            out.host = a.host;
            out.port = a.port;
        }
    }
    if (out.host.empty() || out.host == "0.0.0.0" || out.host == "::") {
        out.host = "127.0.0.1";
    }
    return out;
}

// Runs `work` on shard 0 with every shard's loop running, and returns its
// outcome once it is done; the shards are then ready to run() again. Used
// for startup steps that must finish before the first request is served.
storage::status run_before_serving(shard_set& shards, std::function<asio::awaitable<storage::status>()> work) {
    std::vector<std::thread> helpers;
    for (size_t i = 1; i < shards.size(); ++i) {
        helpers.emplace_back([&shards, i] { shards.context(i).run(); });
    }
    storage::status outcome = storage::make_error(storage::errc::io_error, "startup did not finish");
    asio::co_spawn(shards.context(0), std::move(work),
                   [&](std::exception_ptr e, storage::status s) {
                       outcome = e ? storage::make_error(storage::errc::io_error, "startup threw an exception")
                                   : std::move(s);
                       for (size_t i = 0; i < shards.size(); ++i) {
                           shards.context(i).stop();
                       }
                   });
    shards.context(0).run();
    for (auto& t : helpers) {
        t.join();
    }
    for (size_t i = 0; i < shards.size(); ++i) {
        shards.context(i).restart();
    }
    return outcome;
}

// Request frames above a connection's receive buffer (Produce requests of
// about 1 MiB) and their decoded record sets are allocated and freed once per
// request. glibc serves such sizes with mmap/munmap, so every request faulted
// its pages in again and the kernel zeroed them: a quarter of the broker's CPU
// when ingesting 1 KiB records (perf: exc_page_fault, clear_page_erms,
// unmap_page_range). Serving them from the heap reuses the same pages; the
// heap is trimmed once more than heap_trim_bytes sit free at its top.
constexpr int heap_mmap_threshold_bytes = 32 << 20;
constexpr int heap_trim_bytes = 64 << 20;
void keep_request_buffers_in_heap() {
    mallopt(M_MMAP_THRESHOLD, heap_mmap_threshold_bytes);
    mallopt(M_TRIM_THRESHOLD, heap_trim_bytes);
}

// SIGINT and SIGTERM wait (pending, not lost) until the server's handler is
// in place: a signal during startup then still means an orderly shutdown.
// Threads started meanwhile inherit the mask and never take them.
void hold_stop_signals(bool hold) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &set, nullptr);
}

int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace

int main(int argc, char** argv) {
    const auto started = std::chrono::steady_clock::now();
    keep_request_buffers_in_heap();
    int exit_code = 0;
    auto cli = parse_command_line(argc, argv, exit_code);
    if (!cli) {
        return exit_code;
    }
    hold_stop_signals(true);
    // A client that closes its socket while we sendfile() to it must cost
    // that connection an EPIPE, not the broker its life.
    std::signal(SIGPIPE, SIG_IGN);
    setup_logging("info");
    auto log = get_logger("runnel");
    auto loaded = broker_config::load(cli->config_file, cli->overrides);
    for (const auto& w : loaded.warnings) {
        log->warn("config: {}", w);
    }
    if (!loaded.config) {
        for (const auto& e : loaded.errors) {
            log->error("config: {}", to_string(e));
        }
        return exit_config_error;
    }
    const broker_config& config = *loaded.config;
    setup_logging(config.get_string("logger.level"));

    std::vector<listener_address> listeners = client_listeners(config);
    if (listeners.empty()) {
        log->error("config: listeners has no client listener (every one is a controller listener)");
        return exit_config_error;
    }
    const std::string log_dir = config.log_dirs().front();
    auto meta = load_or_create_meta_properties(log_dir, config.node_id().value(), config.cluster_id().value_or(""));
    if (auto* error = std::get_if<std::string>(&meta)) {
        log->error("{}", *error);
        return exit_startup_error;
    }
    const auto& identity = std::get<meta_properties>(meta);

    if (auto dir = config.get_optional_string("metadata.log.dir"); dir && *dir != log_dir) {
        log->warn("metadata.log.dir={} is not supported yet: the metadata log is kept in {}", *dir, log_dir);
    }

    // The logs of the first log dir: partitions and the metadata log. Until
    // the metadata is replayed, logs open with the static topic defaults.
    auto fs = storage::make_posix_file_system();
    const metadata_image no_metadata;
    const storage::log_config static_log_config =
        config_view(config, no_metadata, config.node_id().value()).log_config({});
    storage::log_manager_options log_options;
    log_options.log_dir = log_dir;
    log_options.default_config = static_log_config;
    log_options.now_ms = wall_clock_ms();
    auto opened = storage::log_manager::open(fs, log_options);
    if (!opened.ok()) {
        log->error("opening log dir {}: {}", log_dir, opened.err().message);
        return exit_startup_error;
    }
    std::unique_ptr<storage::log_manager> logs = std::move(*opened);
    storage::flusher flusher;

    auto image = std::make_shared<metadata_image>();
    image->cluster_id = identity.cluster_id;
    image->controller_id = config.node_id().value();
    metadata_cache metadata(std::move(image));

    const bool io_threads_set = config.entry("num.io.threads").source != value_source::default_value;
    auto shards = std::make_unique<shard_set>(
        shard_count(io_threads_set ? std::optional<int32_t>(config.num_io_threads()) : std::nullopt,
                    std::thread::hardware_concurrency()));
    auto metadata_log = local_metadata_log::open(*logs, flusher, shards->executor(controller::controller_shard));
    if (!metadata_log.ok()) {
        log->error("opening the metadata log: {}", metadata_log.err().message);
        return exit_startup_error;
    }
    partition_manager partitions(*shards, fs, *logs, flusher, config);
    controller_options controller_config;
    controller_config.node_id = config.node_id().value();
    controller_config.endpoint = advertised_endpoint(config, listeners.front());
    controller_config.listener_name = listeners.front().name;
    controller_config.cluster_id = identity.cluster_id;
    controller ctrl(controller_config, *shards, **metadata_log, metadata, partitions, config);
    if (auto replayed = ctrl.replay(); !replayed.ok()) {
        log->error("replaying the metadata log: {}", replayed.err().message);
        return exit_startup_error;
    }

    const dispatch_table table = make_dispatch_table();
    broker_state state;
    state.node_id = config.node_id().value();
    state.metadata = &metadata;
    state.dispatch = &table;
    state.shards = shards.get();
    state.config = &config;
    state.controller = &ctrl;
    state.partitions = &partitions;

    // The data path (Produce, Fetch, offsets, producer ids): its state rides
    // on each partition, attached before the first partition is hosted.
    data_path_options data_options;
    data_options.sessions.slots = static_cast<size_t>(config.get_int32("max.incremental.fetch.session.cache.slots"));
    data_options.partitions.producers.expiration_ms = config.get_int32("producer.id.expiration.ms");
    data_options.fetch_max_bytes = config.fetch_max_bytes();
    control_plane_hooks hooks;
    hooks.auto_create_topics = [&ctrl](std::vector<std::string> names)
        -> asio::awaitable<std::vector<runnel::proto::error_code>> {
        std::vector<runnel::proto::error_code> codes;
        for (const auto& e : co_await ctrl.auto_create_topics(std::move(names))) {
            codes.push_back(e.code);
        }
        co_return codes;
    };
    hooks.allocate_producer_ids = [&ctrl](int32_t count) -> asio::awaitable<producer_id_range> {
        producer_id_block block = co_await ctrl.allocate_producer_ids(count);
        co_return producer_id_range{block.error.code, block.first_id, block.count};
    };
    data_path data(data_options, *shards, partitions, std::move(hooks), fs);
    partitions.add_observer(&data);
    state.data = &data;

    // Consumer groups: each group lives with its __consumer_offsets
    // partition, replayed when the partition opens (after the data path
    // has attached its state to it).
    coordinator_options group_options;
    group_options.groups.min_session_timeout_ms = config.group_min_session_timeout_ms();
    group_options.groups.max_session_timeout_ms = config.group_max_session_timeout_ms();
    group_options.groups.max_size = config.group_max_size();
    group_options.groups.initial_rebalance_delay_ms = config.group_initial_rebalance_delay_ms();
    group_options.groups.offsets_retention_ms = config.offsets_retention_ms();
    group_options.groups.offset_metadata_max_bytes = config.get_int32("offset.metadata.max.bytes");
    group_options.offsets_topic_partitions = config.offsets_topic_num_partitions();
    group_options.offsets_topic_replication_factor =
        static_cast<int16_t>(config.offsets_topic_replication_factor());
    group_options.offsets_topic_segment_bytes = config.get_int32("offsets.topic.segment.bytes");
    group_options.retention_check_interval_ms = config.get_int64("offsets.retention.check.interval.ms");
    group_coordinator groups(group_options, *shards, partitions, metadata,
                             [&ctrl](new_topic topic) -> asio::awaitable<admin_error> {
                                 std::vector<new_topic> topics;
                                 topics.push_back(std::move(topic));
                                 auto results = co_await ctrl.create_topics(std::move(topics), false);
                                 co_return results.empty() ? admin_error{} : results.front().error;
                             });
    partitions.add_observer(&groups);
    state.groups = &groups;

    // Compaction of cleanup.policy=compact logs, __consumer_offsets included.
    compactor_options compaction;
    compaction.enabled = config.get_bool("log.cleaner.enable") && config.get_int32("log.cleaner.threads") > 0;
    compaction.backoff_ms = config.get_int64("log.cleaner.backoff.ms");
    compaction.offset_map_entries_max =
        static_cast<size_t>(std::max<int64_t>(1, config.get_int64("log.cleaner.dedupe.buffer.size") / 24));
    log_compactor compactor(compaction, *shards, partitions, fs);
    drain_gate drain(shards->size());
    state.drain = &drain;

    server_options options;
    options.listeners = listeners;
    options.limits.request_bytes_max = config.socket_request_max_bytes();
    options.limits.idle_ms = config.connections_max_idle_ms();
    options.max_connections = config.max_connections();
    options.max_connections_per_ip = config.max_connections_per_ip();
    options.request_memory_bytes = config.queued_max_request_bytes();
    options.max_queued_requests = config.get_int32("queued.max.requests");
    options.drain_ms = config.get_int64("shutdown.drain.ms");
    options.on_drain = {[&data] { data.wake_fetch_waiters(); }, [&groups] { groups.abandon_waiting(); }};
    auto srv = std::make_unique<server>(options, state, *shards);
    try {
        srv->bind();
    } catch (const std::exception& e) {
        log->error("{}", e.what());
        return exit_startup_error;
    }
    // Registration and hosting every partition of the image come before
    // the first request, so that no client sees a half-started broker.
    auto started_up = run_before_serving(*shards, [&ctrl]() { return ctrl.start(); });
    if (!started_up.ok()) {
        log->error("starting the controller: {}", started_up.err().message);
        return exit_startup_error;
    }
    partitions.start_housekeeping();
    compactor.start();
    data.start_housekeeping();
    groups.start();

    std::string bound;
    for (size_t i = 0; i < listeners.size(); ++i) {
        bound += fmt::format("{}{}://{}:{}", i ? "," : "", listeners[i].name, listeners[i].host, srv->bound_port(i));
    }
    const auto startup_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    log->info("runnel {} started in {:.1f} ms: node {}, cluster {}, listeners {}, log dir {}, {} shard(s), "
              "{} partition(s)",
              RUNNEL_VERSION, startup_ms, state.node_id, identity.cluster_id, bound, log_dir, shards->size(),
              partitions.partition_count());
    // Runs on shard 0 once run() has installed the signal handler.
    asio::post(shards->context(0), [] { hold_stop_signals(false); });
    srv->run();

    // Shutdown: no fsync may complete into a shard that is gone, and no
    // suspended request may outlive what it refers to; then the logs close
    // and leave the clean-shutdown marker.
    flusher.stop();
    srv.reset();
    compactor.stop();
    ctrl.close();
    shards.reset();
    // From here on every write is part of the clean shutdown: one syncfs in
    // logs->close() makes all of them durable before the marker is written.
    fs->defer_syncs();
    partitions.close_all();
    if (auto closed = logs->close(); !closed.ok()) {
        log->error("closing the logs: {}", closed.err().message);
        return exit_startup_error;
    }
    log->info("runnel stopped");
    return 0;
}
