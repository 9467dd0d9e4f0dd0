"""tests/e2e/test_passwd.py — `mynactl passwd` and the sessions opened with the old password.

Asserts: with mynad running, both of alice's sessions get a <reset/> stream error and
mynactl says it ended 2 sessions; bob's session is untouched; the new password logs in and
the old one no longer does. With mynad stopped, mynactl says plainly that no session was
ended (there is none), and the new password works once mynad runs again.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xmpplib as X  # noqa: E402

E = X.env()
(A, PA), (B, PB) = E["users"][:2]
CTL, CONF = os.environ["E2E_MYNACTL"], os.environ["E2E_CONF"]


def passwd(user, password):
    r = subprocess.run([CTL, "-c", CONF, "passwd", "%s@%s" % (user, E["domain"]), password],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = r.stdout.decode()
    if r.returncode != 0:
        raise X.Fail("mynactl passwd: %d %s" % (r.returncode, out))
    return out


def refused(user, password):
    s = X.Stream(E["ip"], E["starttls_port"], E["domain"], E["cafile"], name="old")
    s.open()
    s.starttls()
    ok, _ = s.auth(user, password)
    s.close()
    return not ok


def running():
    a1 = X.login(E, A, PA, resource="one")
    a2 = X.login(E, A, PA, resource="two")
    b = X.login(E, B, PB, resource="b")
    out = passwd(A, "new-secret")
    if "2 session(s) of %s@%s ended" % (A, E["domain"]) not in out:
        raise X.Fail("mynactl output: %r" % out)
    for s in (a1, a2):
        s.expect_stream_error("reset")
    b.ping()
    b.close()
    X.login(E, A, "new-secret", resource="again").close()
    if not refused(A, PA):
        raise X.Fail("the old password still logs in")


def stopped():
    X.server_control("stop")
    out = passwd(A, "third-secret")
    if "mynad is not running: no session of %s@%s to end" % (A, E["domain"]) not in out:
        raise X.Fail("mynactl output without mynad: %r" % out)
    X.server_control("start")
    X.login(E, A, "third-secret").close()


if __name__ == "__main__":
    sys.exit(X.run([
        ("passwd with mynad running ends the user's sessions", running),
        ("passwd with mynad stopped says so", stopped),
    ]))
