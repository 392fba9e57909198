// The fuzzers' --write-seeds=DIR option: LLVMFuzzerInitialize hands DIR to
// the fuzzer's own seed writer and exits before any fuzzing (0 when every
// seed was written).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace runnel::fuzz {

// Writes data (anything with data() and size() over bytes) to path.
template <typename Bytes>
bool write_file(const std::string& path, const Bytes& data) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
        std::perror(path.c_str());
        return false;
    }
    const bool written = std::fwrite(data.data(), 1, data.size(), f) == data.size();
    return std::fclose(f) == 0 && written;
}

// When argv holds --write-seeds=DIR: exits with write(DIR)'s verdict.
template <typename Write>
void write_seeds_if_asked(int argc, char** argv, Write write) {
    constexpr std::string_view flag = "--write-seeds=";
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg.starts_with(flag)) {
            std::exit(write(std::string(arg.substr(flag.size()))) ? 0 : 1);
        }
    }
}

} // namespace runnel::fuzz
