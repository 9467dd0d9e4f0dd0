"""tests/e2e/test_component_limits.py — the XEP-0114 component listener under attack.

Run with auth_timeout = 2, auth_failures_address = 3, preauth_stanza_size = 4096,
component_rate = 16384 (component-limits.sh). Asserts what the peer receives: wrong secrets
lock the address (the right secret then gets not-authorized too) while another address
still authenticates; a connection that never sends its handshake gets connection-timeout;
an element over 4 KiB before the handshake gets policy-violation; and what a component
sends is held to its rate (80 KiB at 16 KiB/s take seconds to reach the client).
"""
import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xmpplib as X  # noqa: E402

E = X.env()
ENV = os.environ
PORT, DOMAIN = int(ENV["E2E_COMPONENT_PORT"]), ENV["E2E_COMPONENT_DOMAIN"]
SECRET = ENV["E2E_COMPONENT_SECRET"]
NS_COMPONENT = "jabber:component:accept"


def connect(source):
    s = X.Stream(E["ip"], PORT, DOMAIN, E["cafile"], name="comp@" + source, source=source)
    s.open(to=DOMAIN, ns=NS_COMPONENT, read_features=False)
    deadline = time.time() + X.TIMEOUT
    while s.header is None:
        s._read_more(deadline)
    return s


def handshake(source, secret):
    """Returns (stream, True) after <handshake/>, or (stream, stream error condition)."""
    s = connect(source)
    digest = hashlib.sha1((s.header.get("id") + secret).encode()).hexdigest()
    s.send("<handshake>%s</handshake>" % digest)
    el = s.next()
    if el.tag == "{%s}handshake" % NS_COMPONENT:
        return s, True
    cond = X.stream_error_condition(el)
    s.close()
    return s, cond


def wrong_secrets_lock_the_address():
    for i in range(3):
        _, r = handshake("127.0.0.2", "wrong%d" % i)
        if r != "not-authorized":
            raise X.Fail("wrong secret %d: %r" % (i, r))
    _, r = handshake("127.0.0.2", SECRET)
    if r != "not-authorized":
        raise X.Fail("the right secret from a locked address: %r" % r)
    s, r = handshake("127.0.0.3", SECRET)
    if r is not True:
        raise X.Fail("the right secret from another address: %r" % r)
    s.close()


def no_handshake_times_out():
    s = connect("127.0.0.4")
    t0 = time.time()
    s.expect_stream_error("connection-timeout", timeout=15)
    if time.time() - t0 > 10:
        raise X.Fail("timeout took %.1f s with auth_timeout = 2" % (time.time() - t0))


def big_before_handshake():
    s = connect("127.0.0.5")
    s.send("<handshake>%s</handshake>" % ("a" * 6000))
    s.expect_stream_error("policy-violation")


def rate_limited():
    a = X.login(E, E["users"][0][0], E["users"][0][1], resource="rate")
    s, r = handshake("127.0.0.6", SECRET)
    if r is not True:
        raise X.Fail("handshake: %r" % r)
    body = "y" * 2000
    t0 = time.time()
    n = 40
    s.send("".join("<message from='bot@%s' to='%s' type='chat'><body>%d %s</body></message>"
                   % (DOMAIN, a.jid, i, body) for i in range(n)))
    for i in range(n):
        a.wait_for(lambda e: e.tag == X.q(X.NS_CLIENT, "message"), timeout=60,
                   what="message %d" % i)
    took = time.time() - t0
    # 80 KiB at 16 KiB/s with a 16 KiB bucket: at least 4 s; allow for timer slack.
    if took < 2.5:
        raise X.Fail("80 KiB from the component arrived in %.2f s: no rate limit" % took)
    s.close()
    a.close()


if __name__ == "__main__":
    sys.exit(X.run([
        ("wrong component secrets lock the address", wrong_secrets_lock_the_address),
        ("no handshake within auth_timeout: connection-timeout", no_handshake_times_out),
        ("an element over 4 KiB before the handshake: policy-violation", big_before_handshake),
        ("a component is held to component_rate", rate_limited),
    ]))
