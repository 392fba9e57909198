"""Runs a real Runnel broker for end-to-end tests with stock Kafka clients.

The `Broker` class starts the `runnel` binary on free 127.0.0.1 ports with a
temporary data directory, waits (bounded) until it accepts connections,
captures its output to a log file that is printed when anything fails, and
stops it with SIGTERM, checking the exit code and that no sanitizer report
appeared. It can also kill -9 and restart on the same data directory.

Used two ways:
  * imported by the Python client tests: `harness.run_test(check)` gives the
    check an Endpoint; `harness.run_broker_test(check)` gives it the Broker,
    to restart (SIGTERM or kill -9) on the same data directory;
  * as a wrapper for other clients (node, kcat scripts):
      harness.py --broker build/x/broker/runnel -- node kafkajs_metadata.js
    which starts a broker, runs the command with RUNNEL_BOOTSTRAP,
    RUNNEL_HOST, RUNNEL_PORT and RUNNEL_NODE_ID in its environment, and stops
    the broker; the exit code is the command's (or 1 if the broker misbehaved).

`--bootstrap HOST:PORT` instead of `--broker` points a test at a broker that
is already running (or at a closed port, to see that the test fails).

Standard library only: it runs under Debian's /usr/bin/python3, which has
python3-confluent-kafka and python3-kafka.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_CONFIG = os.path.join(REPO_ROOT, "config", "server.properties")

HOST = "127.0.0.1"
NODE_ID = 1  # config/server.properties sets node.id=1

START_TIMEOUT_S = 60  # a sanitized debug build on a busy 2-core machine can be slow
STOP_TIMEOUT_S = 30
LOG_TAIL_BYTES = 64 * 1024

# Lines that mean a sanitizer found a bug, whatever the exit code says.
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",  # UndefinedBehaviorSanitizer
    "SUMMARY: UndefinedBehaviorSanitizer",
    "WARNING: ThreadSanitizer",
)


class HarnessError(Exception):
    """The broker did not behave: it failed to start, to stop, or reported a bug."""


def free_ports(count):
    """Distinct ports that were free a moment ago (held open together so none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def port_accepts(host, port, timeout_s=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


class Endpoint:
    """Where a test's client connects, and what the broker should say about itself."""

    def __init__(self, host, port, node_id=NODE_ID):
        self.host = host
        self.port = port
        self.node_id = node_id

    @property
    def bootstrap(self):
        return f"{self.host}:{self.port}"


class Broker:
    """One runnel process. Ports and data directory stay the same across restarts."""

    def __init__(self, binary, config=DEFAULT_CONFIG, overrides=(), work_dir=None, name="broker"):
        if not os.access(binary, os.X_OK):
            raise HarnessError(f"broker binary {binary!r} is not an executable file")
        self.binary = os.path.abspath(binary)
        self.config = config
        self.extra_overrides = list(overrides)
        self.name = name
        self.owns_work_dir = work_dir is None
        self.work_dir = work_dir or tempfile.mkdtemp(prefix="runnel-e2e-")
        self.data_dir = os.path.join(self.work_dir, "data")
        self.log_path = os.path.join(self.work_dir, f"{name}.log")
        self.port, self.controller_port, self.admin_port = free_ports(3)
        self.process = None
        self.starts = 0

    @property
    def endpoint(self):
        return Endpoint(HOST, self.port)

    def command(self):
        overrides = [
            f"listeners=PLAINTEXT://{HOST}:{self.port}",
            f"log.dirs={self.data_dir}",
            # Own ports for the quorum and the admin endpoint, so that tests can run in parallel.
            f"controller.quorum.voters={NODE_ID}@{HOST}:{self.controller_port}",
            f"admin.listener={HOST}:{self.admin_port}",
        ]
        # Two shards unless the test sets its own count or asks for the
        # default (RUNNEL_E2E_SHARDS=default): the default leaves a core to
        # the clients, which on a two-core machine means one shard, and the
        # tests should go through the hand-offs between shards as well.
        if os.environ.get("RUNNEL_E2E_SHARDS", "2") != "default" and \
                not any(o.startswith("num.io.threads=") for o in self.extra_overrides):
            overrides.append(f"num.io.threads={os.environ.get('RUNNEL_E2E_SHARDS', '2')}")
        overrides += self.extra_overrides
        cmd = [self.binary, "--config", self.config]
        for o in overrides:
            cmd += ["--override", o]
        return cmd

    def start(self, timeout_s=START_TIMEOUT_S):
        """Starts the broker and returns once its client port accepts connections."""
        if self.process is not None:
            raise HarnessError("start() while the broker is running")
        os.makedirs(self.data_dir, exist_ok=True)
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"==== harness: start #{self.starts}: {' '.join(self.command())}\n".encode())
            log.flush()
            self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, env=env, cwd=self.work_dir)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                self.process = None
                raise HarnessError(f"the broker exited with code {code} before accepting connections")
            if port_accepts(HOST, self.port, timeout_s=1.0):
                return self
            time.sleep(0.05)
        raise HarnessError(f"the broker did not accept connections on {HOST}:{self.port} within {timeout_s} s")

    def stop(self, timeout_s=STOP_TIMEOUT_S):
        """SIGTERM by PID; the broker must exit 0 within the timeout with no sanitizer report."""
        if self.process is None:
            return
        process, self.process = self.process, None
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_s)
            raise HarnessError(f"the broker did not exit within {timeout_s} s of SIGTERM (killed)")
        self.check_sanitizers()
        if code != 0:
            raise HarnessError(f"the broker exited with code {code} after SIGTERM (expected 0)")

    def kill(self, timeout_s=STOP_TIMEOUT_S):
        """kill -9 by PID, as a crash would; the data directory stays for a restart."""
        if self.process is None:
            return
        process, self.process = self.process, None
        process.kill()
        process.wait(timeout=timeout_s)
        self.check_sanitizers()

    def restart(self, hard=False):
        """Stops (SIGTERM, or kill -9 when hard) and starts again on the same data and ports."""
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start()

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def check_sanitizers(self):
        report = [line for line in self.log_text().splitlines() if any(m in line for m in SANITIZER_MARKERS)]
        if report:
            raise HarnessError("sanitizer report in the broker's output:\n  " + "\n  ".join(report[:20]))

    def print_log(self, out=sys.stderr):
        text = self.log_text()
        if len(text) > LOG_TAIL_BYTES:
            text = "[... cut ...]\n" + text[-LOG_TAIL_BYTES:]
        print(f"---- {self.name} log ({self.log_path}) ----", file=out)
        print(text, file=out)
        print(f"---- end of {self.name} log ----", file=out)

    def cleanup(self, keep=False):
        """Kills a still-running broker and removes the work directory unless asked to keep it."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)
            self.process = None
        if self.owns_work_dir and not keep:
            shutil.rmtree(self.work_dir, ignore_errors=True)


def parse_args(argv=None, description=None):
    p = argparse.ArgumentParser(description=description)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--broker", help="path of the runnel binary to start")
    where.add_argument("--bootstrap", help="HOST:PORT of a broker that is already running (no start/stop)")
    p.add_argument("--node-id", type=int, default=NODE_ID, help="the node id the broker should report")
    p.add_argument("command", nargs="*", help="with --: a command to run against the broker")
    return p.parse_args(argv)


def run_test(check, argv=None, description=None):
    """Runs check(endpoint) against a fresh broker (or --bootstrap) and exits 0 only if
    check returns and the broker started, answered and stopped cleanly."""
    args = parse_args(argv, description)
    sys.exit(_run(args, check))


def run_broker_test(check, argv=None, description=None, overrides=()):
    """Runs check(broker) with a started Broker that the check may restart or kill;
    exits 0 only if check returns and the broker then stops cleanly. `overrides`
    are extra broker config overrides (key=value)."""
    args = parse_args(argv, description)
    if not args.broker:
        print("this test starts the broker itself: give --broker", file=sys.stderr)
        sys.exit(2)
    sys.exit(_run(args, check, pass_broker=True, overrides=overrides))


def _run(args, check, pass_broker=False, overrides=()):
    name = getattr(check, "__name__", "test")
    if args.bootstrap:
        host, _, port = args.bootstrap.rpartition(":")
        try:
            check(Endpoint(host, int(port), args.node_id))
        except Exception:
            traceback.print_exc()
            print(f"FAIL {name}")
            return 1
        print(f"PASS {name}")
        return 0
    broker = None
    failed = True
    try:
        broker = Broker(args.broker, overrides=overrides)
        broker.start()
        check(broker if pass_broker else broker.endpoint)
        if broker.process is None:
            raise HarnessError("the check left the broker stopped; it must end with the broker running")
        broker.stop()
        failed = False
    except Exception:
        traceback.print_exc()
    finally:
        if broker is not None:
            if failed:
                broker.print_log()
                print(f"(work directory kept: {broker.work_dir})", file=sys.stderr)
            broker.cleanup(keep=failed)
    print(f"{'FAIL' if failed else 'PASS'} {name}")
    return 1 if failed else 0


def run_command(args, timeout_s):
    """The wrapper mode: runs args.command against the broker; its exit code decides."""
    def check(endpoint):
        env = dict(os.environ, RUNNEL_BOOTSTRAP=endpoint.bootstrap, RUNNEL_HOST=endpoint.host,
                   RUNNEL_PORT=str(endpoint.port), RUNNEL_NODE_ID=str(endpoint.node_id))
        try:
            code = subprocess.run(args.command, env=env, timeout=timeout_s, stdin=subprocess.DEVNULL).returncode
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{args.command[0]} did not finish within {timeout_s} s")
        if code != 0:
            raise AssertionError(f"{' '.join(args.command)} exited with code {code}")
    check.__name__ = os.path.basename(args.command[-1]) if args.command else "command"
    return _run(args, check)


def main():
    args = parse_args(description="Run a command against a fresh Runnel broker.")
    if not args.command:
        print("harness.py: give a command after --", file=sys.stderr)
        return 2
    return run_command(args, timeout_s=float(os.environ.get("RUNNEL_E2E_COMMAND_TIMEOUT", "90")))


if __name__ == "__main__":
    sys.exit(main())
