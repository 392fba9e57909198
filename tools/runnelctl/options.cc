// Parses runnelctl's command line with Boost.Program_options. The command
// words (`topic create`, `produce`, ...) are found first; then the remaining
// arguments are parsed against the global options plus that command's own.
#include "tools/runnelctl/options.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <sstream>

#include <boost/program_options.hpp>

namespace runnel::ctl {
namespace {

namespace po = boost::program_options;

constexpr std::string_view program = "runnelctl";
// Nothing sensible has more partitions or replicas than these.
constexpr int32_t partitions_max = 1'000'000;
constexpr int32_t replication_factor_max = 32'767;

// The command words, and what each one does, for help and for dispatch.
struct command_info {
    std::string_view words;
    std::string_view synopsis;
};
constexpr std::array<command_info, 11> commands{{
    {"topic create", "topic create NAME [--partitions N] [--replication-factor N] [--config k=v]... [--validate-only]"},
    {"topic list", "topic list"},
    {"topic describe", "topic describe NAME"},
    {"topic delete", "topic delete NAME"},
    {"topic alter-config",
     "topic alter-config NAME [--set k=v]... [--delete k]... [--append k=v]... [--subtract k=v]... [--validate-only]"},
    {"produce",
     "produce TOPIC [--key-separator SEP] [--header k=v]... [--partition N] [--compression "
     "none|gzip|snappy|lz4|zstd] [--acks all|-1|0|1] [--idempotent] [--print-offsets] [--line-bytes-max N]"},
    {"consume",
     "consume TOPIC [--from-beginning | --offset N | --timestamp MS] [--partition N] [--max-messages N] "
     "[--exit-at-end] [--format FMT | --json]"},
    {"group list", "group list [--state STATE]... [--json]"},
    {"group describe", "group describe GROUP [--json]"},
    {"group delete", "group delete GROUP"},
    {"group reset-offsets",
     "group reset-offsets GROUP --topic TOPIC [--partition N] (--to-earliest | --to-latest | --to-offset N | "
     "--shift-by N | --to-timestamp MS) [--execute]"},
}};

po::options_description global_description() {
    po::options_description d("Global options");
    d.add_options()
        ("bootstrap-server,b", po::value<std::string>()->value_name("HOST:PORT[,...]"),
         "brokers to contact first (default 127.0.0.1:9092)")
        ("timeout-ms", po::value<int32_t>()->value_name("MS"),
         "bound on the whole command (default 30000)")
        ("property,X", po::value<std::vector<std::string>>()->composing()->value_name("k=v"),
         "a librdkafka client property, repeatable")
        ("help,h", "print help and exit");
    return d;
}

po::options_description command_description(std::string_view words) {
    po::options_description d("Command options");
    if (words == "topic create") {
        d.add_options()
            ("partitions", po::value<int32_t>()->value_name("N"), "partition count (default: the broker's)")
            ("replication-factor", po::value<int32_t>()->value_name("N"), "replicas per partition (default: the broker's)")
            ("config", po::value<std::vector<std::string>>()->composing()->value_name("k=v"), "topic config, repeatable")
            ("validate-only", "ask the broker to check the request without creating the topic");
    } else if (words == "topic alter-config") {
        d.add_options()
            ("set", po::value<std::vector<std::string>>()->composing()->value_name("k=v"), "set a config")
            ("delete", po::value<std::vector<std::string>>()->composing()->value_name("k"), "revert a config to its default")
            ("append", po::value<std::vector<std::string>>()->composing()->value_name("k=v"), "append to a list config")
            ("subtract", po::value<std::vector<std::string>>()->composing()->value_name("k=v"), "remove from a list config")
            ("validate-only", "ask the broker to check the change without applying it");
    } else if (words == "produce") {
        d.add_options()
            ("key-separator", po::value<std::string>()->value_name("SEP"), "split each line into key SEP value")
            ("header", po::value<std::vector<std::string>>()->composing()->value_name("k=v"), "a header on every record, repeatable")
            ("partition", po::value<int32_t>()->value_name("N"), "send every record to this partition")
            ("compression", po::value<std::string>()->value_name("CODEC"), "none, gzip, snappy, lz4 or zstd")
            ("acks", po::value<std::string>()->value_name("ACKS"), "all (-1), 1 or 0 (default all)")
            ("idempotent", "idempotent producer (enable.idempotence=true; needs acks=all)")
            ("print-offsets", "print LINE<TAB>PARTITION<TAB>OFFSET for each acknowledged record")
            ("line-bytes-max", po::value<uint64_t>()->value_name("N"), "longest accepted input line (default 1 MiB)");
    } else if (words == "consume") {
        d.add_options()
            ("from-beginning", "start at each partition's log start offset")
            ("offset", po::value<int64_t>()->value_name("N"), "start at this offset")
            ("timestamp", po::value<int64_t>()->value_name("MS"), "start at the first record with timestamp >= MS")
            ("partition", po::value<int32_t>()->value_name("N"), "read only this partition")
            ("max-messages", po::value<int64_t>()->value_name("N"), "stop after N records")
            ("exit-at-end", "stop once every partition has been read to its end")
            ("format", po::value<std::string>()->value_name("FMT"),
             "output format: %t topic, %p partition, %o offset, %k key, %v value, %T timestamp, %h headers, "
             "%K key length, %S value length, %%; escapes \\n \\t \\r \\\\ (default %v\\n)")
            ("json", "print each record as one JSON object per line");
    } else if (words == "group list") {
        d.add_options()
            ("state", po::value<std::vector<std::string>>()->composing()->value_name("STATE"),
             "only groups in this state (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead), repeatable")
            ("json", "print the groups as one JSON array");
    } else if (words == "group describe") {
        d.add_options()("json", "print the description as one JSON object");
    } else if (words == "group reset-offsets") {
        d.add_options()
            ("topic", po::value<std::string>()->value_name("TOPIC"), "the topic whose offsets move")
            ("partition", po::value<int32_t>()->value_name("N"), "only this partition (default: all)")
            ("to-earliest", "to each partition's log start offset")
            ("to-latest", "to each partition's log end offset")
            ("to-offset", po::value<int64_t>()->value_name("N"), "to this offset (kept within the log)")
            ("shift-by", po::value<int64_t>()->value_name("N"), "by N from the committed offset (kept within the log)")
            ("to-timestamp", po::value<int64_t>()->value_name("MS"), "to the first record with timestamp >= MS")
            ("execute", "apply the plan (without it, the plan is only printed)");
    }
    return d;
}

bool takes_name(std::string_view words) { return words != "topic list" && words != "group list"; }

bool is_group_command(std::string_view words) { return words.starts_with("group "); }

std::string usage_text() {
    std::ostringstream out;
    out << "usage: " << program << " [--bootstrap-server HOST:PORT] [--timeout-ms MS] [-X k=v]... COMMAND\n\ncommands:\n";
    for (const auto& c : commands) {
        out << "  " << c.synopsis << "\n";
    }
    out << "\n" << global_description();
    out << "\nExit codes: 0 success, 1 an error from the broker or the client, 2 a usage error.\n";
    return out.str();
}

std::string command_help(std::string_view words) {
    std::ostringstream out;
    for (const auto& c : commands) {
        if (c.words == words) {
            out << "usage: " << program << " [global options] " << c.synopsis << "\n\n";
        }
    }
    out << command_description(words) << "\n" << global_description();
    return out.str();
}

bool is_global_option_with_value(std::string_view arg) {
    return arg == "--bootstrap-server" || arg == "-b" || arg == "--timeout-ms" || arg == "-X" || arg == "--property";
}

// Splits args into the command words and the rest. Command words are the
// first tokens that are neither options nor values of global options.
struct split_args {
    std::vector<std::string> words;
    std::vector<std::string> rest;
};
split_args split_command_words(std::span<const std::string> args) {
    split_args out;
    size_t want = 1; // "topic" wants a second word
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (out.words.size() < want && !arg.empty() && arg[0] != '-') {
            out.words.push_back(arg);
            if (out.words.size() == 1 && (arg == "topic" || arg == "group")) {
                want = 2;
            }
            continue;
        }
        out.rest.push_back(arg);
        if (is_global_option_with_value(arg) && i + 1 < args.size()) {
            out.rest.push_back(args[++i]);
        }
    }
    return out;
}

struct usage_error {
    std::string message;
};

template <typename T>
std::optional<T> get(const po::variables_map& vm, const char* name) {
    if (vm.count(name) == 0) {
        return std::nullopt;
    }
    return vm[name].as<T>();
}

std::vector<std::string> get_list(const po::variables_map& vm, const char* name) {
    return get<std::vector<std::string>>(vm, name).value_or(std::vector<std::string>{});
}

std::vector<key_value> key_values(const po::variables_map& vm, const char* name) {
    std::vector<key_value> out;
    for (const auto& text : get_list(vm, name)) {
        auto kv = parse_key_value(text);
        if (!kv) {
            throw usage_error{"--" + std::string(name) + " wants key=value, got '" + text + "'"};
        }
        out.push_back(std::move(*kv));
    }
    return out;
}

global_options read_global(const po::variables_map& vm) {
    global_options g;
    if (auto b = get<std::string>(vm, "bootstrap-server")) {
        if (b->empty()) {
            throw usage_error{"--bootstrap-server is empty"};
        }
        g.bootstrap_server = *b;
    }
    if (auto t = get<int32_t>(vm, "timeout-ms")) {
        if (*t <= 0 || *t > timeout_ms_max) {
            throw usage_error{"--timeout-ms must be between 1 and " + std::to_string(timeout_ms_max)};
        }
        g.timeout_ms = *t;
    }
    g.client_properties = key_values(vm, "property");
    return g;
}

topic_create_command read_topic_create(const po::variables_map& vm, std::string name) {
    topic_create_command c;
    c.topic = std::move(name);
    if (auto p = get<int32_t>(vm, "partitions")) {
        if (*p < 1 || *p > partitions_max) {
            throw usage_error{"--partitions must be between 1 and " + std::to_string(partitions_max)};
        }
        c.partitions = *p;
    }
    if (auto r = get<int32_t>(vm, "replication-factor")) {
        if (*r < 1 || *r > replication_factor_max) {
            throw usage_error{"--replication-factor must be between 1 and " + std::to_string(replication_factor_max)};
        }
        c.replication_factor = static_cast<int16_t>(*r);
    }
    c.configs = key_values(vm, "config");
    c.validate_only = vm.count("validate-only") > 0;
    return c;
}

// Keeps the order the user wrote the changes in, across the four options.
topic_alter_config_command read_topic_alter_config(const po::parsed_options& parsed, const po::variables_map& vm,
                                                   std::string name) {
    topic_alter_config_command c;
    c.topic = std::move(name);
    for (const auto& option : parsed.options) {
        const std::string& key = option.string_key;
        for (const auto& text : option.value) {
            if (key == "delete") {
                if (text.empty() || text.find('=') != std::string::npos) {
                    throw usage_error{"--delete wants a config name, got '" + text + "'"};
                }
                c.changes.push_back({config_operation::remove, text, ""});
                continue;
            }
            config_operation op;
            if (key == "set") {
                op = config_operation::set;
            } else if (key == "append") {
                op = config_operation::append;
            } else if (key == "subtract") {
                op = config_operation::subtract;
            } else {
                continue; // a global option
            }
            auto kv = parse_key_value(text);
            if (!kv) {
                throw usage_error{"--" + key + " wants key=value, got '" + text + "'"};
            }
            c.changes.push_back({op, std::move(kv->key), std::move(kv->value)});
        }
    }
    if (c.changes.empty()) {
        throw usage_error{"topic alter-config needs at least one --set, --delete, --append or --subtract"};
    }
    c.validate_only = vm.count("validate-only") > 0;
    return c;
}

compression_codec parse_compression(const std::string& text) {
    for (auto c : {compression_codec::none, compression_codec::gzip, compression_codec::snappy, compression_codec::lz4,
                   compression_codec::zstd}) {
        if (text == to_string(c)) {
            return c;
        }
    }
    throw usage_error{"--compression must be none, gzip, snappy, lz4 or zstd, got '" + text + "'"};
}

int16_t parse_acks(const std::string& text) {
    if (text == "all" || text == "-1") {
        return acks_all;
    }
    if (text == "0" || text == "1") {
        return static_cast<int16_t>(text[0] - '0');
    }
    throw usage_error{"--acks must be all, -1, 0 or 1, got '" + text + "'"};
}

std::optional<int32_t> read_partition(const po::variables_map& vm) {
    auto p = get<int32_t>(vm, "partition");
    if (p && *p < 0) {
        throw usage_error{"--partition must be >= 0"};
    }
    return p;
}

produce_command read_produce(const po::variables_map& vm, std::string topic) {
    produce_command c;
    c.topic = std::move(topic);
    c.key_separator = get<std::string>(vm, "key-separator");
    if (c.key_separator && c.key_separator->empty()) {
        throw usage_error{"--key-separator is empty"};
    }
    c.headers = key_values(vm, "header");
    c.partition = read_partition(vm);
    if (auto codec = get<std::string>(vm, "compression")) {
        c.compression = parse_compression(*codec);
    }
    if (auto acks = get<std::string>(vm, "acks")) {
        c.acks = parse_acks(*acks);
    }
    c.idempotent = vm.count("idempotent") > 0;
    if (c.idempotent && c.acks != acks_all) {
        throw usage_error{"--idempotent needs --acks all"};
    }
    c.print_offsets = vm.count("print-offsets") > 0;
    if (auto n = get<uint64_t>(vm, "line-bytes-max")) {
        if (*n == 0 || *n > line_bytes_max_limit) {
            throw usage_error{"--line-bytes-max must be between 1 and " + std::to_string(line_bytes_max_limit)};
        }
        c.line_bytes_max = *n;
    }
    return c;
}

consume_command read_consume(const po::variables_map& vm, std::string topic) {
    consume_command c;
    c.topic = std::move(topic);
    c.partition = read_partition(vm);
    const auto starts = vm.count("from-beginning") + vm.count("offset") + vm.count("timestamp");
    if (starts > 1) {
        throw usage_error{"give at most one of --from-beginning, --offset and --timestamp"};
    }
    if (vm.count("from-beginning")) {
        c.start = start_kind::beginning;
    } else if (auto o = get<int64_t>(vm, "offset")) {
        if (*o < 0) {
            throw usage_error{"--offset must be >= 0"};
        }
        c.start = start_kind::offset;
        c.start_value = *o;
    } else if (auto t = get<int64_t>(vm, "timestamp")) {
        if (*t < 0) {
            throw usage_error{"--timestamp must be >= 0 (milliseconds since the epoch)"};
        }
        c.start = start_kind::timestamp;
        c.start_value = *t;
    }
    if (auto n = get<int64_t>(vm, "max-messages")) {
        if (*n < 1) {
            throw usage_error{"--max-messages must be >= 1"};
        }
        c.max_messages = n;
    }
    c.exit_at_end = vm.count("exit-at-end") > 0;
    c.json = vm.count("json") > 0;
    if (auto f = get<std::string>(vm, "format")) {
        if (c.json) {
            throw usage_error{"give --format or --json, not both"};
        }
        c.format = *f;
    }
    return c;
}

group_reset_offsets_command read_group_reset_offsets(const po::variables_map& vm, std::string group) {
    group_reset_offsets_command c;
    c.group = std::move(group);
    c.topic = get<std::string>(vm, "topic").value_or("");
    if (c.topic.empty()) {
        throw usage_error{"group reset-offsets needs --topic"};
    }
    c.partition = read_partition(vm);
    const auto targets = vm.count("to-earliest") + vm.count("to-latest") + vm.count("to-offset") +
                         vm.count("shift-by") + vm.count("to-timestamp");
    if (targets != 1) {
        throw usage_error{"give exactly one of --to-earliest, --to-latest, --to-offset, --shift-by and --to-timestamp"};
    }
    if (vm.count("to-earliest")) {
        c.target = reset_target::earliest;
    } else if (vm.count("to-latest")) {
        c.target = reset_target::latest;
    } else if (auto o = get<int64_t>(vm, "to-offset")) {
        if (*o < 0) {
            throw usage_error{"--to-offset must be >= 0"};
        }
        c.target = reset_target::offset;
        c.value = *o;
    } else if (auto n = get<int64_t>(vm, "shift-by")) {
        c.target = reset_target::shift_by;
        c.value = *n;
    } else if (auto t = get<int64_t>(vm, "to-timestamp")) {
        if (*t < 0) {
            throw usage_error{"--to-timestamp must be >= 0 (milliseconds since the epoch)"};
        }
        c.target = reset_target::timestamp;
        c.value = *t;
    }
    c.execute = vm.count("execute") > 0;
    return c;
}

command read_group_command(std::string_view words, const po::variables_map& vm, std::string name) {
    if (words == "group list") {
        return group_list_command{get_list(vm, "state"), vm.count("json") > 0};
    }
    if (words == "group describe") {
        return group_describe_command{std::move(name), vm.count("json") > 0};
    }
    if (words == "group delete") {
        return group_delete_command{std::move(name)};
    }
    return read_group_reset_offsets(vm, std::move(name));
}

command read_command(std::string_view words, const po::parsed_options& parsed, const po::variables_map& vm) {
    std::string name = get<std::string>(vm, "name").value_or("");
    if (takes_name(words) && name.empty()) {
        throw usage_error{std::string(words) + (is_group_command(words) ? " needs a group id" : " needs a topic name")};
    }
    if (is_group_command(words)) {
        return read_group_command(words, vm, std::move(name));
    }
    if (words == "topic create") {
        return read_topic_create(vm, std::move(name));
    }
    if (words == "topic list") {
        return topic_list_command{};
    }
    if (words == "topic describe") {
        return topic_describe_command{std::move(name)};
    }
    if (words == "topic delete") {
        return topic_delete_command{std::move(name)};
    }
    if (words == "topic alter-config") {
        return read_topic_alter_config(parsed, vm, std::move(name));
    }
    if (words == "produce") {
        return read_produce(vm, std::move(name));
    }
    return read_consume(vm, std::move(name));
}

bool known_command(std::string_view words) {
    return std::any_of(commands.begin(), commands.end(), [&](const auto& c) { return c.words == words; });
}

std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) {
        out += (out.empty() ? "" : " ") + w;
    }
    return out;
}

parse_result help_result(std::string text) {
    parse_result r;
    r.help = std::move(text);
    return r;
}

parse_result error_result(std::string text) {
    parse_result r;
    r.error = std::move(text);
    return r;
}

} // namespace

std::string_view to_string(compression_codec c) {
    switch (c) {
    case compression_codec::none: return "none";
    case compression_codec::gzip: return "gzip";
    case compression_codec::snappy: return "snappy";
    case compression_codec::lz4: return "lz4";
    case compression_codec::zstd: return "zstd";
    }
    return "none";
}

std::optional<key_value> parse_key_value(std::string_view text) {
    const auto eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) {
        return std::nullopt;
    }
    return key_value{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

parse_result parse_command_line(std::span<const std::string> args) {
    const bool wants_help = std::any_of(args.begin(), args.end(), [](const auto& a) { return a == "--help" || a == "-h"; });
    auto split = split_command_words(args);
    const std::string words = join(split.words);
    if (split.words.empty()) {
        return wants_help ? help_result(usage_text()) : error_result("no command given\n\n" + usage_text());
    }
    if (!known_command(words)) {
        if (wants_help && (words == "topic" || words == "group")) {
            return help_result(usage_text());
        }
        return error_result("unknown command '" + words + "'\n\n" + usage_text());
    }
    if (wants_help) {
        return help_result(command_help(words));
    }
    po::options_description all;
    all.add(global_description()).add(command_description(words));
    po::options_description hidden;
    hidden.add_options()("name", po::value<std::string>());
    all.add(hidden);
    po::positional_options_description positional;
    if (takes_name(words)) {
        positional.add("name", 1);
    }
    try {
        auto parsed = po::command_line_parser(split.rest).options(all).positional(positional).run();
        po::variables_map vm;
        po::store(parsed, vm);
        po::notify(vm);
        parse_result r;
        r.run = invocation{read_global(vm), read_command(words, parsed, vm)};
        return r;
    } catch (const po::error& e) {
        return error_result(std::string(e.what()) + "\n\n" + command_help(words));
    } catch (const usage_error& e) {
        return error_result(e.message + "\n\n" + command_help(words));
    }
}

} // namespace runnel::ctl
