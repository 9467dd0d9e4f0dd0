"""tests/web/test_web_preauth.py — the cap on unauthenticated client connections
(limits.preauth_per_address = 3, preauth_total = 5; run by tests/web/web-preauth.sh) covers
WebSocket and BOSH sessions too, counted together with TCP clients: with three
unauthenticated ones from one address (WebSocket, BOSH, TCP) a fourth is refused the
documented way over each transport — WebSocket: HTTP 503 before the upgrade; BOSH: the
session request answered with a `policy-violation` terminate body; TCP: closed before any
stream header — while another address is served and users who logged in over WebSocket
and BOSH before keep chatting; a slot comes back when a WebSocket closes or a BOSH
session authenticates; and with five in all a sixth from a new address is refused."""
import sys
import time

import weblib
from weblib import Fail, Bosh, WebSocket, q
import xmpplib

E = weblib.env()
(A, PA), (B, PB) = E["users"][:2]
NS_C = "jabber:client"


def check(cond, what):
    if not cond:
        raise Fail(what)


def ws(source, opened=True):
    """An unauthenticated WebSocket stream from `source`, or the refusal's HTTP status."""
    w = WebSocket(E, source=source)
    if w.status != 101:
        return w.status
    if opened:
        w.open()
    return w


def bosh(source):
    """An unauthenticated BOSH session from `source`, or its terminate condition."""
    b = Bosh(E, source=source)
    el = b.create()
    if el.get("type") == "terminate":
        return el.get("condition")
    check(b.sid and b.features is not None, "BOSH session without sid or features")
    return b


def tcp_refused(source):
    try:
        s = xmpplib.Stream(E["ip"], E["starttls_port"], E["domain"], E["cafile"],
                           name="tcp-" + source, source=source)
        s.open()
    except (xmpplib.StreamClosed, ConnectionError, OSError):
        return True
    s.close()
    return False


def terminate(b):
    b.post(b.body_xml(type="terminate"))


def chat_ok(sender, receiver_jid, receiver, body):
    sender.send("<message xmlns='%s' to='%s' type='chat'><body>%s</body></message>"
                % (NS_C, receiver_jid, body))
    end = time.time() + 15
    while time.time() < end:
        e = receiver.next()
        if e.tag == q(NS_C, "message") and e.findtext(q(NS_C, "body")) == body:
            return
    raise Fail("no message %r" % body)


def eventually(pred, what, timeout=10):
    end = time.time() + timeout
    while not pred():
        check(time.time() < end, "not within %d s: %s" % (timeout, what))
        time.sleep(0.2)


def test_per_address():
    src = "127.0.0.31"
    # Logged in before the flood, from the same address: they do not count.
    alice = WebSocket(E, source=src)
    alice_jid = alice.login(A, PA, resource="ws")
    bob = Bosh(E, source=src)
    bob.create()
    bob_jid = bob.login(B, PB, resource="bosh")
    held = [ws(src), bosh(src)]
    check(all(not isinstance(h, (int, str)) for h in held), "first two refused: %s" % held)
    tcp = xmpplib.Stream(E["ip"], E["starttls_port"], E["domain"], E["cafile"], name="tcp",
                         source=src)
    tcp.open()
    check(ws(src) == 503, "a 4th over WebSocket was not answered 503")
    check(bosh(src) == "policy-violation", "a 4th over BOSH was not refused with "
          "policy-violation")
    check(tcp_refused(src), "a 4th over TCP was served")
    other = ws("127.0.0.32")
    check(not isinstance(other, int), "another address refused: %s" % other)
    other.sock.close()
    # The users who logged in keep working, both ways and across transports.
    chat_ok(alice, bob_jid, bob, "ws to bosh under the cap")
    chat_ok(bob, alice_jid, alice, "bosh to ws under the cap")
    # A closed WebSocket gives its slot back (refused probes take none).
    held[0].sock.close()
    probe = []
    eventually(lambda: probe.append(ws(src)) or isinstance(probe[-1], WebSocket),
               "a slot freed by a closed WebSocket")
    check(ws(src) == 503, "the freed slot is taken again")
    # A BOSH session that authenticates gives its slot back too.
    held[1].login(A, PA, resource="bosh2")
    eventually(lambda: probe.append(ws(src)) or isinstance(probe[-1], WebSocket),
               "a slot freed by a BOSH login")
    for p in probe:
        if isinstance(p, WebSocket):
            p.sock.close()
    terminate(held[1])
    tcp.close()
    alice.sock.close()
    terminate(bob)


def test_total():
    time.sleep(1)  # the previous case's connections are gone
    held = []
    for i, src in enumerate(("127.0.0.41", "127.0.0.42", "127.0.0.43", "127.0.0.44",
                             "127.0.0.45")):
        h = ws(src) if i % 2 == 0 else bosh(src)
        check(not isinstance(h, (int, str)), "connection %d from %s refused: %s" % (i, src, h))
        held.append(h)
    check(ws("127.0.0.46") == 503, "a 6th in all over WebSocket was not answered 503")
    check(bosh("127.0.0.47") == "policy-violation", "a 6th in all over BOSH was served")
    for h in held:
        if isinstance(h, Bosh):
            terminate(h)
        else:
            h.sock.close()


if __name__ == "__main__":
    sys.exit(xmpplib.run([(n, f) for n, f in globals().items() if n.startswith("test_")]))
