// The runnel broker: reads the configuration, prepares the log directory,
// builds the metadata image and serves the Kafka protocol until SIGINT/SIGTERM.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "broker/config.h"
#include "broker/dispatch.h"
#include "broker/logging.h"
#include "broker/meta_properties.h"
#include "broker/metadata_image.h"
#include "broker/server.h"

namespace po = boost::program_options;
using namespace runnel::broker;

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

} // namespace

int main(int argc, char** argv) {
    const auto started = std::chrono::steady_clock::now();
    int exit_code = 0;
    auto cli = parse_command_line(argc, argv, exit_code);
    if (!cli) {
        return exit_code;
    }
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

    auto image = std::make_shared<metadata_image>();
    image->cluster_id = identity.cluster_id;
    image->controller_id = config.node_id().value();
    image->brokers.push_back(advertised_endpoint(config, listeners.front()));
    metadata_cache metadata(std::move(image));

    const dispatch_table table = make_dispatch_table();
    broker_state state;
    state.node_id = config.node_id().value();
    state.metadata = &metadata;
    state.dispatch = &table;

    const auto cores = std::max(1u, std::thread::hardware_concurrency());
    shard_set shards(std::min<size_t>(cores, static_cast<size_t>(std::max(1, config.num_io_threads()))));
    state.shards = &shards;
    server_options options;
    options.listeners = listeners;
    options.limits.request_bytes_max = config.socket_request_max_bytes();
    server srv(options, state, shards);
    try {
        srv.bind();
    } catch (const std::exception& e) {
        log->error("{}", e.what());
        return exit_startup_error;
    }
    std::string bound;
    for (size_t i = 0; i < listeners.size(); ++i) {
        bound += fmt::format("{}{}://{}:{}", i ? "," : "", listeners[i].name, listeners[i].host, srv.bound_port(i));
    }
    const auto startup_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    log->info("runnel {} started in {:.1f} ms: node {}, cluster {}, listeners {}, log dir {}, {} shard(s)",
              RUNNEL_VERSION, startup_ms, state.node_id, identity.cluster_id, bound, log_dir, shards.size());
    srv.run();
    log->info("runnel stopped");
    return 0;
}
