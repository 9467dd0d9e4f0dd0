"""tests/e2e/procs.py — the server processes of the test harnesses (tests/e2e/harness.py for
one server, tests/s2s/fed.py for several side by side): waiting until one listens, stopping
one with SIGTERM, and the check of mynad's log for sanitizer reports."""
import signal
import socket
import subprocess
import time


def wait_port(ip, port, proc, timeout=30):
    """True once ip:port accepts a connection; False when proc (if any) exits first or the
    timeout passes."""
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection((ip, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def stop_process(proc, what, timeout=15, exit_zero=False):
    """SIGTERM, then up to `timeout` s for the exit (SIGKILL after). Returns a problem
    description (it died before, it did not exit in time, or with exit_zero a status other
    than 0), or None."""
    if proc.poll() is not None:
        return "%s died during the test (exit status %s)" % (what, proc.returncode)
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "%s did not exit within %d s of SIGTERM" % (what, timeout)
    if exit_zero and rc != 0:
        return "%s exited with status %d on SIGTERM (expected 0)" % (what, rc)
    return None


def sanitizer_problem(log_path, what):
    """A problem description if the log holds an ASan, LSan or UBSan report, else None."""
    with open(log_path, "rb") as f:
        text = f.read()
    if b"ERROR: AddressSanitizer" in text or b"runtime error:" in text or \
            b"ERROR: LeakSanitizer" in text:
        return "sanitizer report in the log of %s" % what
    return None
