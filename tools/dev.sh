#!/usr/bin/env bash
# The project's entry point: installs what is missing, builds, and runs the
# broker or the test suite. `tools/dev.sh run` and `tools/dev.sh test` are the
# two commands the README starts with.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

jobs=${RUNNEL_JOBS:-$(nproc)}

packages_of() { # prints the packages of a section of tools/deps.txt
  awk -v want="[$1]" '/^\[/{on=($0==want);next} on && NF && $1 !~ /^#/ {print $1}' tools/deps.txt
}

install_missing() {
  local missing=()
  for p in "$@"; do
    if [[ $p == *\?* ]]; then
      command -v "${p#*\?}" >/dev/null 2>&1 || missing+=("${p%%\?*}")
      continue
    fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
}

install_node_modules() {
  # kafkajs and its codecs come from the npm registry, pinned by
  # tests/e2e/package-lock.json; `npm ci` runs again whenever package.json
  # names a package (or a version) that node_modules does not have.
  local stale
  stale=$(cd tests/e2e && node -e '
    const fs = require("fs");
    const deps = require("./package.json").dependencies;
    for (const [name, version] of Object.entries(deps)) {
      const p = `node_modules/${name}/package.json`;
      if (!fs.existsSync(p) || JSON.parse(fs.readFileSync(p)).version !== version) console.log(name);
    }' 2>/dev/null || echo unknown)
  if [ -n "$stale" ]; then
    (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

build() { # build PRESET
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1" -j "$jobs"
}

case "${1:-}" in
  run)
    install_missing $(packages_of build)
    build release
    mkdir -p data
    exec build/release/broker/runnel --config config/server.properties \
      --override log.dirs="$root/data" "${@:2}"
    ;;
  test)
    install_missing $(packages_of build) $(packages_of test)
    install_node_modules
    # The suite runs under ASan+UBSan, built with clang so that the libFuzzer
    # targets build too; a g++ release build checks the other compiler.
    build ci
    build release
    ctest --preset ci -j "$jobs" "${@:2}"
    ;;
  *)
    echo "usage: tools/dev.sh run [--override key=value]... | test [ctest args]" >&2
    exit 2
    ;;
esac
