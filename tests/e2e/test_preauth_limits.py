"""tests/e2e/test_preauth_limits.py — limits before authentication and per account.

Run with preauth_stanza_size = 4096, preauth_per_address = 3, preauth_total = 5,
sessions_per_account = 2 (preauth-limits.sh; c2s_stanza_size stays the harness's 16384).
Asserts what clients receive: an element over 4 KiB before authentication ends the stream
with policy-violation (before and after TLS) while the same size after login is fine; a
4th unauthenticated connection from one address, or a 6th in all, is closed before any
stream header, while other addresses and logged-in sessions are not affected and a slot
comes back when a connection ends or authenticates, and bound sessions keep working; a 3rd resource of one account gets a
resource-constraint bind error (RFC 6120 §7.6.2.1) while rebinding a bound one works.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xmpplib as X  # noqa: E402

E = X.env()
(A, PA), (B, PB), (C, PC) = E["users"][:3]


def stream(source, tls=False):
    s = X.Stream(E["ip"], E["starttls_port"], E["domain"], E["cafile"], name=source,
                 source=source)
    s.open()
    if tls:
        s.starttls()
    return s


def refused(source):
    """True if a connection from `source` is closed before any stream header."""
    try:
        s = stream(source)
    except (X.StreamClosed, ConnectionError, OSError):
        return True
    s.close()
    return False


def eventually(pred, what, timeout=10):
    deadline = time.time() + timeout
    while not pred():
        if time.time() > deadline:
            raise X.Fail("not within %d s: %s" % (timeout, what))
        time.sleep(0.1)


def big_before_auth():
    big = "<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (X.NS_SASL, "A" * 6000)
    s = stream("127.0.0.2")
    s.send(big)
    s.expect_stream_error("policy-violation")
    s = stream("127.0.0.2", tls=True)
    s.send(big)
    s.expect_stream_error("policy-violation")
    # After login the configured stanza size applies again.
    a = X.login(E, A, PA, resource="big")
    a.send("<message to='%s' type='chat'><body>%s</body></message>" % (a.jid, "x" * 10000))
    m = a.wait_for(lambda e: e.tag == X.q(X.NS_CLIENT, "message"), what="own message")
    if len(m.findtext(X.q(X.NS_CLIENT, "body")) or "") != 10000:
        raise X.Fail("10000-byte message after login not delivered whole")
    a.ping()
    a.close()


def per_address():
    held = [stream("127.0.0.3") for _ in range(3)]
    if not refused("127.0.0.3"):
        raise X.Fail("a 4th unauthenticated connection from one address was served")
    other = stream("127.0.0.4")  # another address is not affected
    other.close()
    held.pop().close()  # a slot comes back when a connection ends
    eventually(lambda: not refused("127.0.0.3"), "a slot freed by a closed connection")
    # A connection that authenticates frees its slot too.
    s = held.pop()
    s.starttls()
    ok, _ = s.auth(B, PB)
    if not ok:
        raise X.Fail("login failed")
    s._new_parser()
    s.open()
    more = [stream("127.0.0.3"), stream("127.0.0.3")]
    for x in more + held + [s]:
        x.close()


def in_total():
    eventually(lambda: not refused("127.0.0.5"), "earlier connections released")
    c = X.login(E, C, PC, resource="total")
    held = [stream("127.0.0.5") for _ in range(3)] + [stream("127.0.0.6") for _ in range(2)]
    try:
        if not refused("127.0.0.7"):
            raise X.Fail("a 6th unauthenticated connection in all was served")
        # Sessions are not counted against it: carol's keeps working.
        c.ping()
    finally:
        for x in held + [c]:
            x.close()
    eventually(lambda: not refused("127.0.0.7"), "slots freed")


def sessions_per_account():
    s1 = X.login(E, A, PA, resource="r1")
    s2 = X.login(E, A, PA, resource="r2")
    s = X.Stream(E["ip"], E["starttls_port"], E["domain"], E["cafile"], name="r3")
    s.open()
    s.starttls()
    ok, _ = s.auth(A, PA)
    if not ok:
        raise X.Fail("login failed")
    s._new_parser()
    s.open()
    r = s.iq("set", "<bind xmlns='%s'><resource>r3</resource></bind>" % X.NS_BIND)
    if r.get("type") != "error" or X.stanza_error_condition(r) != "resource-constraint":
        raise X.Fail("3rd resource: %s" % X.show(r))
    # Rebinding a bound resource replaces it (conflict), the limit does not apply.
    r = s.iq("set", "<bind xmlns='%s'><resource>r1</resource></bind>" % X.NS_BIND)
    if r.get("type") != "result":
        raise X.Fail("rebinding r1: %s" % X.show(r))
    s.ping()
    s1.expect_stream_error("conflict")
    s2.ping()
    b = X.login(E, B, PB, resource="r3")  # another account is not affected
    for x in (s, s2, b):
        x.close()


if __name__ == "__main__":
    sys.exit(X.run([
        ("an element over preauth_stanza_size before login: policy-violation",
         big_before_auth),
        ("unauthenticated connections per address", per_address),
        ("unauthenticated connections in all", in_total),
        ("bound resources per account: resource-constraint", sessions_per_account),
    ]))
