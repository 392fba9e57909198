// libFuzzer target for the configuration path: the Java-properties parser,
// the loader that types and validates every key (file entries, then
// `--override` flags), and the per-topic validation that CreateTopics and
// AlterConfigs apply to what clients send. Besides "no crash" it checks
// round trips: parsed entries written back with escapes parse to the same
// entries, and a loaded configuration written back as a file loads to the
// same values.
//
// Input: the file's text, then optionally a NUL byte and overrides
// (`key=value`) separated by NUL bytes.
//
// Run with `--write-seeds=DIR` to write seeds: every broker key and every
// topic key with its default value (the shipped config/*.properties and the
// hand-written escape cases are committed beside them).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "broker/config.h"
#include "broker/properties_file.h"
#include "protocol/fuzz/seed_files.h"

namespace {

using namespace runnel::broker;

constexpr std::string_view file_name = "fuzz.properties";

void require(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "properties_fuzz: %s\n", what);
        std::abort();
    }
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

// Writes text so that the parser reads it back unchanged: backslashes, line
// breaks and blanks are escaped everywhere, and in keys the separators and
// comment starters too.
std::string escape(std::string_view text, bool key) {
    std::string out;
    for (char c : text) {
        if (c == '\\' || is_blank(c) || (key && (c == '=' || c == ':' || c == '#' || c == '!'))) {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else {
            out += c;
        }
    }
    return out;
}

std::string write_properties(const std::vector<std::pair<std::string, std::string>>& entries) {
    std::string out;
    for (const auto& [key, value] : entries) {
        out += escape(key, true) + "=" + escape(value, false) + "\n";
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> key_values(const std::vector<property>& entries) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const property& p : entries) {
        out.emplace_back(p.key, p.value);
    }
    return out;
}

// Parsed entries written back parse to the same keys and values.
void check_properties_round_trip(const std::vector<property>& entries) {
    const auto original = key_values(entries);
    parsed<std::vector<property>> again = parse_properties(write_properties(original));
    require(again.ok(), "escaped entries do not parse");
    require(key_values(*again.value) == original, "escaped entries parse to different entries");
}

// A value's text parses back to the same value (floats by their text: NaN
// never equals itself).
void check_value_round_trip(const config_entry& entry) {
    const std::optional<std::string> text = format_value(entry.value);
    if (!text) {
        return; // null
    }
    parsed<config_value> again = parse_value(entry.definition->type, *text);
    require(again.ok(), "a loaded value's text does not parse");
    if (entry.definition->type == config_type::float64) {
        require(format_value(*again.value) == text, "a float value's text changes");
    } else {
        require(*again.value == entry.value, "a loaded value's text parses to another value");
    }
}

// The loaded configuration, written back as a file of the values that did
// not come from defaults, loads to the same values.
void check_config_round_trip(const broker_config& config) {
    std::vector<std::pair<std::string, std::string>> set;
    for (const config_entry& entry : config.all_entries()) {
        check_value_round_trip(entry);
        if (entry.source != value_source::default_value) {
            if (std::optional<std::string> text = format_value(entry.value)) {
                set.emplace_back(std::string(entry.definition->name), *text);
            }
        }
    }
    (void)format_all_entries(config);
    config_load_result again = broker_config::parse(write_properties(set), file_name, {});
    require(again.config.has_value(), "a loaded configuration written back does not load");
    const auto before = config.all_entries();
    const auto after = again.config->all_entries();
    require(before.size() == after.size(), "entry counts differ");
    for (size_t i = 0; i < before.size(); ++i) {
        if (before[i].definition->type == config_type::float64) {
            require(format_value(before[i].value) == format_value(after[i].value), "a float value differs after reload");
        } else {
            require(before[i].value == after[i].value, "a value differs after reload");
        }
    }
}

// ---------------------------------------------------------------- seed writer

using runnel::fuzz::write_file;

bool write_seeds(const std::string& dir) {
    const broker_config defaults = broker_config::defaults();
    std::vector<std::pair<std::string, std::string>> broker_keys;
    for (const config_entry& entry : defaults.all_entries()) {
        broker_keys.emplace_back(std::string(entry.definition->name), format_value(entry.value).value_or(""));
    }
    std::vector<std::pair<std::string, std::string>> topic_keys;
    for (const topic_config_default& d : defaults.topic_defaults()) {
        topic_keys.emplace_back(std::string(d.definition->name), format_value(d.value).value_or(""));
    }
    return write_file(dir + "/every-broker-key", write_properties(broker_keys)) &&
           write_file(dir + "/every-topic-key", write_properties(topic_keys));
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
    runnel::fuzz::write_seeds_if_asked(*argc, *argv, write_seeds);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const size_t nul = input.find('\0');
    const std::string_view text = input.substr(0, nul);
    std::vector<std::string> overrides;
    if (nul != std::string_view::npos) {
        std::string_view rest = input.substr(nul + 1);
        for (;;) {
            const size_t end = rest.find('\0');
            overrides.emplace_back(rest.substr(0, end));
            if (end == std::string_view::npos) {
                break;
            }
            rest = rest.substr(end + 1);
        }
    }

    parsed<std::vector<property>> entries = parse_properties(text);
    if (entries.ok()) {
        check_properties_round_trip(*entries.value);
    }
    config_load_result loaded = broker_config::parse(text, file_name, overrides);
    require(loaded.config.has_value() == loaded.errors.empty(), "a config and errors, or neither");
    static const broker_config defaults = broker_config::defaults();
    const broker_config& config = loaded.config ? *loaded.config : defaults;
    if (loaded.config) {
        check_config_round_trip(config);
    }
    // What clients send in CreateTopics and AlterConfigs goes through this.
    if (entries.ok()) {
        for (const property& p : *entries.value) {
            (void)config.validate_topic_config(p.key, p.value);
        }
    }
    return 0;
}
