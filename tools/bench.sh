#!/usr/bin/env bash
# Runs runnel-bench's standard suite: builds the release broker and
# runnel-bench (-j2 unless RUNNEL_JOBS says otherwise: the machine is shared),
# then tools/runnel-bench/suite.py measures the machine's baselines, starts a
# fresh broker on free 127.0.0.1 ports with a temporary log directory, runs
# the suite against it and against librdkafka's mock cluster, stops the
# broker by its PID and writes the table into docs/PERFORMANCE.md.
#
#   tools/bench.sh                 build, run, write docs/PERFORMANCE.md
#   tools/bench.sh --no-write      run and print the table only
#   tools/bench.sh --quick         tiny counts: checks the suite, measures nothing
#   tools/bench.sh --no-build ...  use the binaries as they are
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

build=1
args=()
for a in "$@"; do
  if [ "$a" = "--no-build" ]; then build=0; else args+=("$a"); fi
done
if [ "$build" = 1 ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release -j "${RUNNEL_JOBS:-2}" --target runnel runnel-bench
fi
echo "bench.sh: load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
exec /usr/bin/python3 tools/runnel-bench/suite.py "${args[@]}"
