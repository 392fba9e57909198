"""The broker's configuration at the process level: a bad value makes
`runnel` exit non-zero with an error naming the key and the value (before it
listens), and an unknown key is a warning naming it while the broker starts."""

import os
import subprocess

import harness


def bad_value_exits_non_zero(binary):
    port, = harness.free_ports(1)
    work = harness.tempfile.mkdtemp(prefix="runnel-e2e-")
    try:
        cmd = [binary, "--config", harness.DEFAULT_CONFIG,
               "--override", f"listeners=PLAINTEXT://{harness.HOST}:{port}",
               "--override", f"log.dirs={os.path.join(work, 'data')}",
               "--override", "num.partitions=lots"]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, cwd=work)
        output = result.stdout + result.stderr
        print(output)
        assert result.returncode not in (0, None), f"exit code {result.returncode}"
        assert result.returncode > 0, f"killed by signal {-result.returncode}, not a clean error exit"
        assert "num.partitions" in output and "lots" in output, "the error names neither the key nor the value"
        assert "AddressSanitizer" not in output and "runtime error:" not in output, "sanitizer report"
        assert not harness.port_accepts(harness.HOST, port), "it listened anyway"
    finally:
        harness.shutil.rmtree(work, ignore_errors=True)


def unknown_key_is_a_warning(binary):
    broker = harness.Broker(binary, overrides=["log.retention.hour=12"])
    failed = True
    try:
        broker.start()
        broker.stop()
        log = broker.log_text()
        assert "log.retention.hour" in log, "no warning names the unknown key"
        failed = False
    finally:
        if failed:
            broker.print_log()
        broker.cleanup()


if __name__ == "__main__":
    args = harness.parse_args(description=__doc__)
    if not args.broker:
        raise SystemExit("test_config_errors.py needs --broker (it starts the binary itself)")
    failures = 0
    for test in (bad_value_exits_non_zero, unknown_key_is_a_warning):
        try:
            test(os.path.abspath(args.broker))
            print(f"PASS {test.__name__}")
        except Exception:
            harness.traceback.print_exc()
            print(f"FAIL {test.__name__}")
            failures += 1
    raise SystemExit(1 if failures else 0)
