// Parses runnel-bench's command line with Boost.Program_options: the first
// word names the command, the rest is parsed against the common options plus
// that command's own.
#include "tools/runnel-bench/options.h"

#include <array>
#include <cmath>
#include <sstream>

#include <boost/program_options.hpp>

namespace runnel::bench {
namespace {

namespace po = boost::program_options;

constexpr std::string_view program = "runnel-bench";

struct command_info {
    std::string_view word;
    std::string_view synopsis;
};
constexpr std::array<command_info, 5> commands{{
    {"produce", "produce [--records N] [--record-size B] [--acks all|1|0] [--compression C] [--linger-ms MS] "
                "[--batch-bytes B] [--idempotence] [--rate R] [--payload random|text]"},
    {"consume", "consume [--records N] [--group G] (reads the topic from the beginning)"},
    {"e2e", "e2e --rate R [--records N] [--record-size B] [--linger-ms MS] [--warmup-s S] (producer and consumer)"},
    {"idle", "idle [--partitions N] [--connections N] [--hold-s S] (topic creation time, idle connections)"},
    {"baseline", "baseline tcp|rtt|write|write-sync [--dir D] [--bytes N] [--block-bytes B] (the machine's limits)"},
}};

struct usage_error {
    std::string message;
};

po::options_description common_description() {
    po::options_description d("Common options");
    d.add_options()
        ("bootstrap,b", po::value<std::string>()->value_name("HOST:PORT"), "broker to contact (default 127.0.0.1:9092)")
        ("mock", "use librdkafka's in-process mock cluster instead of a broker (the in-memory baseline)")
        ("topic,t", po::value<std::string>()->value_name("NAME"), "topic (default runnel-bench; created when missing)")
        ("partitions,p", po::value<int32_t>()->value_name("N"), "partitions of a topic that has to be created (default 6)")
        ("topic-config", po::value<std::vector<std::string>>()->composing()->value_name("k=v"),
         "config of a topic that has to be created, repeatable")
        ("property,X", po::value<std::vector<std::string>>()->composing()->value_name("k=v"),
         "a librdkafka client property, applied last, repeatable")
        ("time-limit-s", po::value<double>()->value_name("S"), "bound on the measured run (default 60)")
        ("setup-timeout-s", po::value<double>()->value_name("S"), "bound on metadata and topic creation (default 30)")
        ("broker-pid", po::value<int32_t>()->value_name("PID"), "report this process's CPU time and RSS (from /proc)")
        ("no-progress", "no progress line on stderr")
        ("label", po::value<std::string>()->value_name("TEXT"), "copied into the JSON line")
        ("help,h", "print help and exit");
    return d;
}

void add_producer_options(po::options_description& d) {
    d.add_options()
        ("records,n", po::value<int64_t>()->value_name("N"), "records to send (default 1000000)")
        ("record-size,s", po::value<int32_t>()->value_name("B"), "value bytes per record (default 100)")
        ("acks", po::value<std::string>()->value_name("ACKS"), "all (-1), 1 or 0 (default 1)")
        ("compression", po::value<std::string>()->value_name("C"), "none, gzip, snappy, lz4 or zstd (default none)")
        ("linger-ms", po::value<int32_t>()->value_name("MS"), "linger.ms (default librdkafka's, 5)")
        ("batch-bytes", po::value<int32_t>()->value_name("B"), "batch.size (default librdkafka's)")
        ("idempotence", "enable.idempotence=true")
        ("rate", po::value<double>()->value_name("R"), "records/s to send at (default: as fast as possible)")
        ("payload", po::value<std::string>()->value_name("KIND"),
         "random (incompressible, default) or text (words, compresses about 3:1)");
}

po::options_description command_description(std::string_view word) {
    po::options_description d("Command options");
    if (word == "produce" || word == "e2e") {
        add_producer_options(d);
        if (word == "e2e") {
            d.add_options()("warmup-s", po::value<double>()->value_name("S"),
                            "leave the records of the first S seconds out of the latencies (default 1)");
        }
    } else if (word == "consume") {
        d.add_options()
            ("records,n", po::value<int64_t>()->value_name("N"),
             "records to read (default: everything below the high watermarks at the start)")
            ("group,g", po::value<std::string>()->value_name("G"), "subscribe as a member of this group")
            ("record-size,s", po::value<int32_t>()->value_name("B"), "with --mock: size of the records filled in first")
            ("payload", po::value<std::string>()->value_name("KIND"), "with --mock: random or text");
    } else if (word == "idle") {
        d.add_options()
            ("connections", po::value<int32_t>()->value_name("N"), "connections to open and leave idle (default 1000)")
            ("hold-s", po::value<double>()->value_name("S"), "how long they stay idle before RSS is read (default 2)");
    } else if (word == "baseline") {
        d.add_options()
            ("dir", po::value<std::string>()->value_name("D"), "directory for write and write-sync (default /tmp)")
            ("bytes", po::value<int64_t>()->value_name("N"), "bytes to move at most (default 1 GiB)")
            ("block-bytes", po::value<int32_t>()->value_name("B"), "bytes per write (default 16384)")
            ("keep", "write: leave the file in place (its pages stay in the page cache) instead of deleting it");
    }
    return d;
}

std::string usage_text() {
    std::ostringstream out;
    out << "usage: " << program << " COMMAND [options]\n\ncommands:\n";
    for (const auto& c : commands) {
        out << "  " << c.synopsis << "\n";
    }
    out << "\n" << common_description();
    out << "\nEach run prints a progress line on stderr, then a summary and one JSON line on stdout.\n"
           "Exit codes: 0 the run completed, 1 it failed or stopped at the time limit, 2 a usage error.\n";
    return out.str();
}

std::string command_help(std::string_view word) {
    std::ostringstream out;
    for (const auto& c : commands) {
        if (c.word == word) {
            out << "usage: " << program << " " << c.synopsis << "\n\n";
        }
    }
    out << command_description(word) << "\n" << common_description();
    return out.str();
}

template <typename T>
std::optional<T> get(const po::variables_map& vm, const char* name) {
    if (vm.count(name) == 0) {
        return std::nullopt;
    }
    return vm[name].as<T>();
}

std::vector<key_value> key_values(const po::variables_map& vm, const char* name) {
    std::vector<key_value> out;
    for (const auto& text : get<std::vector<std::string>>(vm, name).value_or(std::vector<std::string>{})) {
        auto kv = parse_key_value(text);
        if (!kv) {
            throw usage_error{"--" + std::string(name) + " wants key=value, got '" + text + "'"};
        }
        out.push_back(std::move(*kv));
    }
    return out;
}

template <typename T>
T in_range(const po::variables_map& vm, const char* name, T fallback, T low, T high) {
    const auto v = get<T>(vm, name);
    if (!v) {
        return fallback;
    }
    // `!(... )` so that a NaN is out of range too.
    if (!(*v >= low && *v <= high)) {
        std::ostringstream out;
        out << "--" << name << " must be between " << low << " and " << high;
        throw usage_error{out.str()};
    }
    return *v;
}

common_options read_common(const po::variables_map& vm) {
    common_options c;
    if (auto b = get<std::string>(vm, "bootstrap")) {
        if (b->empty()) {
            throw usage_error{"--bootstrap is empty"};
        }
        c.bootstrap = *b;
    }
    c.mock = vm.count("mock") > 0;
    if (auto t = get<std::string>(vm, "topic")) {
        if (t->empty()) {
            throw usage_error{"--topic is empty"};
        }
        c.topic = *t;
    }
    c.partitions = in_range<int32_t>(vm, "partitions", c.partitions, 1, partitions_max);
    c.topic_configs = key_values(vm, "topic-config");
    c.client_properties = key_values(vm, "property");
    c.time_limit_s = in_range<double>(vm, "time-limit-s", c.time_limit_s, 0.1, time_limit_s_max);
    c.setup_timeout_s = in_range<double>(vm, "setup-timeout-s", c.setup_timeout_s, 0.1, time_limit_s_max);
    c.broker_pid = in_range<int32_t>(vm, "broker-pid", 0, 1, INT32_MAX);
    c.progress = vm.count("no-progress") == 0;
    c.label = get<std::string>(vm, "label").value_or("");
    return c;
}

payload_kind parse_payload(const std::optional<std::string>& text) {
    if (!text || *text == "random") {
        return payload_kind::random;
    }
    if (*text == "text") {
        return payload_kind::text;
    }
    throw usage_error{"--payload must be random or text, got '" + *text + "'"};
}

producer_options read_producer(const po::variables_map& vm) {
    producer_options p;
    p.records = in_range<int64_t>(vm, "records", p.records, 1, records_max);
    p.record_size = in_range<int32_t>(vm, "record-size", p.record_size, 0, record_size_max);
    if (auto a = get<std::string>(vm, "acks")) {
        if (*a != "all" && *a != "-1" && *a != "1" && *a != "0") {
            throw usage_error{"--acks must be all, -1, 1 or 0, got '" + *a + "'"};
        }
        p.acks = *a == "-1" ? "all" : *a;
    }
    if (auto c = get<std::string>(vm, "compression")) {
        if (*c != "none" && *c != "gzip" && *c != "snappy" && *c != "lz4" && *c != "zstd") {
            throw usage_error{"--compression must be none, gzip, snappy, lz4 or zstd, got '" + *c + "'"};
        }
        p.compression = *c;
    }
    if (vm.count("linger-ms")) {
        p.linger_ms = in_range<int32_t>(vm, "linger-ms", 0, 0, 900'000);
    }
    if (vm.count("batch-bytes")) {
        p.batch_bytes = in_range<int32_t>(vm, "batch-bytes", 0, 1, 2'147'483'647);
    }
    p.idempotence = vm.count("idempotence") > 0;
    if (p.idempotence && p.acks != "all") {
        throw usage_error{"--idempotence needs --acks all"};
    }
    p.rate = in_range<double>(vm, "rate", 0, 0, 1e9);
    p.payload = parse_payload(get<std::string>(vm, "payload"));
    return p;
}

command read_command(std::string_view word, const po::variables_map& vm, const std::vector<std::string>& positional) {
    const size_t positional_wanted = word == "baseline" ? 1 : 0;
    if (positional.size() != positional_wanted) {
        throw usage_error{positional.size() < positional_wanted ? "baseline needs a kind: tcp, rtt, write or write-sync"
                                                                : "unexpected argument '" + positional.back() + "'"};
    }
    if (word == "produce") {
        return produce_command{read_common(vm), read_producer(vm)};
    }
    if (word == "e2e") {
        e2e_command e{read_common(vm), read_producer(vm), 1};
        if (e.producer.rate <= 0) {
            throw usage_error{"e2e needs --rate (records/s)"};
        }
        if (e.producer.record_size < record_stamp_bytes) {
            throw usage_error{"e2e needs --record-size of at least " + std::to_string(record_stamp_bytes) +
                              " (the send time travels in the record)"};
        }
        e.warmup_s = in_range<double>(vm, "warmup-s", e.warmup_s, 0, time_limit_s_max);
        return e;
    }
    if (word == "consume") {
        consume_command c;
        c.common = read_common(vm);
        c.records = in_range<int64_t>(vm, "records", 0, 1, records_max);
        c.group = get<std::string>(vm, "group");
        if (c.group && c.group->empty()) {
            throw usage_error{"--group is empty"};
        }
        c.record_size = in_range<int32_t>(vm, "record-size", c.record_size, 0, record_size_max);
        c.payload = parse_payload(get<std::string>(vm, "payload"));
        if (c.common.mock && c.records == 0) {
            throw usage_error{"consume --mock needs --records (the mock topic is filled with them first)"};
        }
        return c;
    }
    if (word == "idle") {
        idle_command c;
        c.common = read_common(vm);
        if (c.common.mock) {
            throw usage_error{"idle measures a broker process; it has no --mock"};
        }
        c.connections = in_range<int32_t>(vm, "connections", c.connections, 0, connections_max);
        c.hold_s = in_range<double>(vm, "hold-s", c.hold_s, 0, time_limit_s_max);
        return c;
    }
    baseline_command b;
    const std::string& kind = positional[0];
    if (kind == "tcp") {
        b.kind = baseline_kind::tcp;
    } else if (kind == "rtt") {
        b.kind = baseline_kind::rtt;
    } else if (kind == "write") {
        b.kind = baseline_kind::write;
    } else if (kind == "write-sync") {
        b.kind = baseline_kind::write_sync;
    } else {
        throw usage_error{"baseline kind must be tcp, rtt, write or write-sync, got '" + kind + "'"};
    }
    b.dir = get<std::string>(vm, "dir").value_or(b.dir);
    b.bytes = in_range<int64_t>(vm, "bytes", b.bytes, 1, int64_t{1} << 40);
    b.block_bytes = in_range<int32_t>(vm, "block-bytes", b.block_bytes, 1, 64 << 20);
    b.keep = vm.count("keep") > 0;
    b.time_limit_s = in_range<double>(vm, "time-limit-s", b.time_limit_s, 0.1, time_limit_s_max);
    b.label = get<std::string>(vm, "label").value_or("");
    return b;
}

} // namespace

std::optional<key_value> parse_key_value(std::string_view text) {
    const auto eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) {
        return std::nullopt;
    }
    return key_value{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

std::string_view to_string(payload_kind k) { return k == payload_kind::random ? "random" : "text"; }

std::string_view to_string(baseline_kind k) {
    switch (k) {
    case baseline_kind::tcp: return "tcp";
    case baseline_kind::rtt: return "rtt";
    case baseline_kind::write: return "write";
    case baseline_kind::write_sync: return "write-sync";
    }
    return "?";
}

parse_result parse_command_line(std::span<const std::string> args) {
    parse_result out;
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        if (args.empty()) {
            out.error = usage_text();
        } else {
            out.help = usage_text();
        }
        return out;
    }
    const std::string word = args[0];
    bool known = false;
    for (const auto& c : commands) {
        known = known || c.word == word;
    }
    if (!known) {
        out.error = "unknown command '" + word + "'\n\n" + usage_text();
        return out;
    }
    po::options_description all;
    all.add(command_description(word)).add(common_description());
    all.add_options()("positional", po::value<std::vector<std::string>>()->composing(), "");
    po::positional_options_description positional;
    positional.add("positional", -1);
    try {
        const std::vector<std::string> rest(args.begin() + 1, args.end());
        po::variables_map vm;
        po::store(po::command_line_parser(rest).options(all).positional(positional).run(), vm);
        po::notify(vm);
        if (vm.count("help")) {
            out.help = command_help(word);
            return out;
        }
        out.run = read_command(word, vm, get<std::vector<std::string>>(vm, "positional").value_or(std::vector<std::string>{}));
    } catch (const usage_error& e) {
        out.error = e.message + "\n(" + std::string(program) + " " + word + " --help lists the options)\n";
    } catch (const po::error& e) {
        out.error = std::string(e.what()) + "\n(" + std::string(program) + " " + word + " --help lists the options)\n";
    }
    return out;
}

} // namespace runnel::bench
