"""tests/modules/crashlib.py — for tests that run mynad themselves to kill and restart it
(the module tests' harness runs one server for the whole test): start a server on a temp
dir, kill it with SIGKILL, stop it with SIGTERM, start it again on the same config and
data, and the one main() that reports, prints the server log on failure and cleans up.
Set MODTEST_* variables before importing modharness (they shape the config).
"""
import os
import shutil
import signal
import subprocess
import tempfile

import harness  # tests/e2e/harness.py (modharness put it on the path and patched it)


def start_again(server):
    """Starts mynad on the same config and data after it stopped or was killed."""
    server.log = open(server.log_path, "ab")
    server.proc = subprocess.Popen(server.command(), stdout=server.log, stderr=subprocess.STDOUT,
                                   cwd=server.tmp, env=server.server_env())
    if not harness.wait_port(server.starttls_port, server.proc, 30):
        raise RuntimeError("mynad did not come back (exit %s)" % server.proc.poll())


def kill9(server):
    """SIGKILL: no unload, nothing flushed."""
    server.proc.kill()
    server.proc.wait()
    server.log.close()


def stop_clean(server):
    server.proc.send_signal(signal.SIGTERM)
    rc = server.proc.wait(timeout=30)
    server.log.close()
    if rc != 0:
        raise RuntimeError("mynad exited %d on SIGTERM" % rc)


def main(argv, prefix, body):
    """Starts mynad, runs body(server) (which raises on failure), stops it; returns the
    automake exit code."""
    opts = {"builddir": os.environ.get("E2E_BUILDDIR", os.getcwd())}
    for arg in argv:
        if arg.startswith("--builddir="):
            opts["builddir"] = arg.split("=", 1)[1]
    tmp = tempfile.mkdtemp(prefix=prefix)
    server = None
    rc = 1
    try:
        try:
            server = harness.Myna(tmp, opts)
        except FileNotFoundError as e:
            print("SKIP: mynad not built (%s)" % e)
            return 77
        server.start()
        os.environ.update(server.env())
        body(server)
        rc = 0
    except Exception as e:  # noqa: BLE001
        print("FAIL: %s: %s" % (type(e).__name__, e), flush=True)
    finally:
        problem = server.stop() if server else None
        if problem:
            print("FAIL: " + problem)
            rc = 1
        if rc != 0 and server:
            with open(server.log_path, "rb") as f:
                for line in f.read().decode("utf-8", "replace").splitlines()[-40:]:
                    print("#   " + line)
        shutil.rmtree(tmp, ignore_errors=True)
    return rc
