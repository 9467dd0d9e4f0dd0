"""tests/web/test_bosh.py — BOSH (XEP-0124, XEP-0206) on the wire: session creation, SASL,
restart, binding, messages both ways with a TCP client, and the edge cases: a lost
response sent again for a repeated rid (and the stanza not acted on twice), a rid out of
the window, an unknown sid, an overactive client, the inactivity timeout, terminate with a
final stanza, the wait limit, a stream error inside the terminate body, malformed bodies;
pausing (§12: maxpause offered, the held request answered at once, the session outliving
the inactivity period while paused, a message sent meanwhile delivered after it, the
normal period back afterwards, a pause beyond maxpause not granted) and key sequencing
(§15: a login with keys, a switch to a new sequence, a wrong or missing key ends the
session unprocessed). Run by tests/web/bosh.sh (bosh_inactivity = 4, bosh_polling = 2,
bosh_max_pause = 9)."""
import socket
import sys
import threading
import time

import weblib
from weblib import Bosh, Fail, q, NS_HTTPBIND, NS_SASL
import xmpplib

E = weblib.env()
ALICE, BOB = E["users"][0], E["users"][1]


def check(cond, what):
    if not cond:
        raise Fail(what)


def test_session_login_messages():
    b = Bosh(E, wait=2)
    s = b.create()
    check(s.tag == q(NS_HTTPBIND, "body") and s.get("sid"), "no sid: %r" % b.last_raw)
    check(s.get("hold") == "1" and s.get("requests") == "2", "hold/requests: %r" % b.last_raw)
    check(s.get("wait") == "2" and s.get("authid"), "wait/authid: %r" % b.last_raw)
    check(s.get("{urn:xmpp:xbosh}version") == "1.0", "xmpp:version: %r" % b.last_raw)
    mechs = [m.text for m in b.features.iter(q(NS_SASL, "mechanism"))]
    check("SCRAM-SHA-1" in mechs and "PLAIN" not in mechs, "mechanisms %s" % mechs)
    jid = b.login(*ALICE)
    check(jid == "alice@%s/bosh" % E["domain"], "bound %s" % jid)
    b.send("<presence xmlns='jabber:client'/>")
    bob = xmpplib.login(E, *BOB)
    bob.send("<message to='%s' type='chat' id='m1'><body>to bosh</body></message>" % jid)
    m = b.wait_for(lambda x: x.tag == q("jabber:client", "message"), what="message")
    check(m.findtext(q("jabber:client", "body")) == "to bosh", "got %s" % xmpplib.show(m))
    check(m.get("from") == bob.jid, "from %s" % m.get("from"))
    b.send("<message xmlns='jabber:client' to='%s' type='chat' id='m2'><body>from bosh"
           "</body></message>" % bob.jid)
    m2 = bob.wait_for(lambda x: x.tag == q("jabber:client", "message"), what="message")
    check(m2.findtext(q("jabber:client", "body")) == "from bosh", xmpplib.show(m2))
    check(m2.get("from") == jid, "from %s" % m2.get("from"))
    bob.close()


def logged_in(name="alice", wait=2, hold=1):
    b = Bosh(E, name=name, wait=wait, hold=hold)
    b.create()
    b.login(*ALICE, resource=name)
    return b


def test_lost_response_resent():
    b = logged_in("lost")
    # The ping's request goes out and its connection dies before the answer is read.
    data = b.body_xml("<iq xmlns='jabber:client' type='get' id='p1' to='%s'>"
                      "<ping xmlns='urn:xmpp:ping'/></iq>" % E["domain"])
    s = socket.create_connection((b.ip, b.port))
    s.sendall(("POST /http-bind HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
               % len(data)).encode() + data)
    s.close()
    time.sleep(0.5)
    # The client sends the same request again (same rid): the same answer comes.
    el = b.post(data)
    first = b.last_raw
    pongs = [x for x in el if x.tag == q("jabber:client", "iq") and x.get("id") == "p1"]
    check(len(pongs) == 1 and pongs[0].get("type") == "result", "resent: %r" % first)
    el2 = b.post(data)
    check(b.last_raw == first, "second repeat differs: %r vs %r" % (b.last_raw, first))
    # The ping was handled once: the next request carries no second result.
    el3 = b.request()
    check(not [x for x in el3 if x.get("id") == "p1"], "ping answered twice: %r" % b.last_raw)


def test_bad_rid():
    b = logged_in("badrid")
    b.rid += 20  # far outside the window of 2 requests
    el = b.post(b.body_xml())
    check(el.get("type") == "terminate" and el.get("condition") == "item-not-found",
          "rid outside the window: %r" % b.last_raw)
    el = b.post(b.body_xml())
    check(el.get("type") == "terminate" and el.get("condition") == "item-not-found",
          "session still there: %r" % b.last_raw)


def test_unknown_sid():
    b = Bosh(E)
    b.sid = "0123456789abcdef0123456789abcdef"
    el = b.post(b.body_xml())
    check(el.get("type") == "terminate" and el.get("condition") == "item-not-found",
          "unknown sid: %r" % b.last_raw)


def test_overactive_polling():
    b = Bosh(E, name="poll", hold=0)
    s = b.create()
    check(s.get("hold") == "0" and s.get("polling") == "2", "session: %r" % b.last_raw)
    b.request()  # an empty poll
    el = b.post(b.body_xml())  # another one at once: faster than `polling` allows
    check(el.get("type") == "terminate" and el.get("condition") == "policy-violation",
          "overactive client: %r" % b.last_raw)


def test_inactivity_timeout():
    b = logged_in("idle")
    time.sleep(4 + 2 + 1.5)  # bosh_inactivity plus one sweep plus margin
    el = b.post(b.body_xml())
    check(el.get("type") == "terminate" and el.get("condition") == "item-not-found",
          "after the inactivity timeout: %r" % b.last_raw)
    # The session is gone from the server: its full JID no longer receives.
    bob = xmpplib.login(E, *BOB)
    r = bob.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=b.jid)
    check(r.get("type") == "error", "the timed-out session still answers: %s" % xmpplib.show(r))
    bob.close()


def test_terminate():
    b = logged_in("term")
    el = b.post(b.body_xml("<presence xmlns='jabber:client' type='unavailable'/>",
                           type="terminate"))
    check(el.get("type") == "terminate", "terminate answer: %r" % b.last_raw)
    el = b.post(b.body_xml())
    check(el.get("condition") == "item-not-found", "after terminate: %r" % b.last_raw)


def test_wait_answered_empty():
    b = logged_in("wait", wait=1)
    t = time.time()
    el = b.request()
    took = time.time() - t
    check(len(el) == 0 and took < 1 + 2 + 2, "held %.1f s: %r" % (took, b.last_raw))


def raw_post(b, data):
    s = socket.create_connection((b.ip, b.port), timeout=10)
    s.sendall(("POST /http-bind HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
               % len(data)).encode() + data)
    return s


def test_hold_answers_oldest():
    """§11: data goes to the oldest held request; past `hold`, the oldest comes back."""
    b = logged_in("hold", wait=30)
    s1 = raw_post(b, b.body_xml())
    time.sleep(0.3)
    s2 = raw_post(b, b.body_xml("<iq xmlns='jabber:client' type='get' id='p2' to='%s'>"
                                "<ping xmlns='urn:xmpp:ping'/></iq>" % E["domain"]))
    status, _, body = weblib.http_raw(b.ip, b.port, b"", sock=s1)
    check(status == 200 and b"id='p2'" in body and b"type='result'" in body,
          "the oldest request did not carry the answer: %r" % body)
    t = time.time()
    s3 = raw_post(b, b.body_xml())
    status, _, body = weblib.http_raw(b.ip, b.port, b"", sock=s2)
    check(status == 200 and b"<iq" not in body and time.time() - t < 5,
          "the request over `hold` was not answered at once: %r" % body)
    s1.close()
    s2.close()
    s3.close()


def test_stream_error_in_terminate():
    b = Bosh(E, name="unknown-host")
    el = b.create(to="unknown.example")
    check(el.get("type") == "terminate", "unknown host: %r" % b.last_raw)
    check(b"host-unknown" in b.last_raw, "no host-unknown: %r" % b.last_raw)


def test_malformed():
    for body in (b"not xml", b"<body xmlns='http://jabber.org/protocol/httpbind'/>",
                 b"<other xmlns='x' rid='1'/>"):
        status, _, resp = weblib.post(E["ip"], E["http_port"], "/http-bind", body)
        check(status == 400 and b"bad-request" in resp, "%r: %d %r" % (body, status, resp))
    status, headers, _ = weblib.http_raw(E["ip"], E["http_port"],
                                         b"GET /http-bind HTTP/1.1\r\nHost: x\r\n\r\n")
    check(status == 405 and "POST" in headers.get("allow", ""), "GET: %d" % status)
    status, headers, _ = weblib.http_raw(
        E["ip"], E["http_port"], b"OPTIONS /http-bind HTTP/1.1\r\nHost: x\r\n"
        b"Origin: http://web.example\r\nAccess-Control-Request-Method: POST\r\n\r\n")
    check(status == 200 and headers.get("access-control-allow-origin") == "*" and
          "POST" in headers.get("access-control-allow-methods", ""), "CORS preflight: %s" % headers)


def gone(b):
    """True when the session no longer exists (an empty request gets item-not-found)."""
    el = b.post(b.body_xml())
    return el.get("type") == "terminate" and el.get("condition") == "item-not-found"


def test_pause():
    b = Bosh(E, name="pause", wait=10)
    s = b.create()
    check(s.get("maxpause") == "9", "no maxpause in the session response: %r" % b.last_raw)
    jid = b.login(*ALICE, resource="pause")
    b.send("<presence xmlns='jabber:client'/>")
    held = {}

    def hold():
        t0 = time.time()
        held["el"] = b.post(b.body_xml(), timeout=20)
        held["took"] = time.time() - t0
    t = threading.Thread(target=hold)
    t.start()
    time.sleep(1)  # the empty request is held (wait 10)
    t0 = time.time()
    el = b.post(b.body_xml(pause="8"))
    t.join(15)
    check(el.get("type") is None and len(el) == 0, "pause answer: %r" % b.last_raw)
    check(held.get("took", 99) < 3 and time.time() - t0 < 3,
          "the held request was not answered at once: %s" % held)
    bob = xmpplib.login(E, *BOB)
    bob.send("<message to='%s' type='chat' id='pz'><body>while paused</body></message>" % jid)
    time.sleep(6.5)  # past the inactivity period (4 s + a sweep), within the pause (8 s)
    m = b.wait_for(lambda x: x.tag == q("jabber:client", "message"), what="message")
    check(m.findtext(q("jabber:client", "body")) == "while paused",
          "after the pause: %s" % xmpplib.show(m))
    bob.close()
    # The pause is over: the normal inactivity period applies again.
    time.sleep(7)
    check(gone(b), "the session outlived its inactivity period after the pause")


def test_pause_beyond_maxpause():
    b = logged_in("longpause", wait=1)
    el = b.post(b.body_xml(pause="60"))  # not granted: an ordinary request, held for wait
    check(el.get("type") is None, "pause 60: %r" % b.last_raw)
    time.sleep(7)
    check(gone(b), "a pause beyond maxpause was granted")


def test_key_sequence():
    b = Bosh(E, name="keys")
    b.create_attrs["newkey"] = b.use_keys(30)  # K(30); K(29) .. K(1) follow
    b.create()
    b.login(*ALICE, resource="keys")
    # Switch (§15.4): the last key of the old sequence with the new sequence's K(n).
    while len(b.keys) > 1:
        b.request()
    last = b.keys.pop()
    newkey = b.use_keys(5)
    el = b.post(b.body_xml(key=last, newkey=newkey))
    check(el.get("type") is None, "switching sequences: %r" % b.last_raw)
    el = b.request()
    check(el.get("type") is None, "a key of the new sequence: %r" % b.last_raw)
    el = b.post(b.body_xml(key="0" * 40))
    check(el.get("type") == "terminate" and el.get("condition") == "item-not-found",
          "a wrong key: %r" % b.last_raw)
    check(gone(b), "the session lived on after a wrong key")
    # A request without its key is not processed either.
    c = Bosh(E, name="nokey")
    c.create_attrs["newkey"] = c.use_keys(20)
    c.create()
    c.keys = None
    el = c.post(c.body_xml("<iq xmlns='jabber:client' type='get' id='x'/>"))
    check(el.get("type") == "terminate" and el.get("condition") == "item-not-found",
          "no key: %r" % c.last_raw)


if __name__ == "__main__":
    sys.exit(xmpplib.run([(n, f) for n, f in globals().items() if n.startswith("test_")]))
