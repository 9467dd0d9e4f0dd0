"""tests/web/test_forwarded.py — clients behind a reverse proxy (http.trusted_proxies, run by
tests/web/forwarded.sh with trusted_proxies = [ "127.0.0.51" ], limits.preauth_per_address
= 2 and auth_failures_address = 2). Requests from the trusted proxy count under the client
X-Forwarded-For names, so one client's flood or password guessing does not shut out the
others behind the same proxy; from any other address the header is ignored, so a client
cannot pick its own address.
- WebSocket and BOSH: two unauthenticated streams for client A through the proxy; a third
  for A is refused (HTTP 503 / policy-violation), one for client B is served.
- A client that only appends to the header (A's own "X-Forwarded-For: B" left of what the
  proxy appends) is still A.
- From 127.0.0.52 (not a proxy), streams "for" different clients all count under
  127.0.0.52: the third is refused.
- Login throttling: two wrong passwords over WebSocket for client C lock C (a right
  password is then refused with temporary-auth-failure), while client D behind the same
  proxy logs in."""
import sys
import time

import weblib
from weblib import Fail, Bosh, WebSocket, q
import xmpplib

E = weblib.env()
(A_USER, A_PW) = E["users"][0]
PROXY, OTHER = "127.0.0.51", "127.0.0.52"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"


def check(cond, what):
    if not cond:
        raise Fail(what)


def xff(*clients):
    return "".join("X-Forwarded-For: %s\r\n" % c for c in clients)


def ws(source, *clients):
    w = WebSocket(E, source=source, headers=xff(*clients))
    if w.status != 101:
        return w.status
    w.open()
    return w


def bosh(source, *clients):
    b = Bosh(E, source=source, headers=xff(*clients))
    el = b.create()
    if el.get("type") == "terminate":
        return el.get("condition")
    return b


def closeall(held):
    for h in held:
        if isinstance(h, WebSocket):
            h.sock.close()
        elif isinstance(h, Bosh):
            h.post(h.body_xml(type="terminate"))
    time.sleep(0.5)


def test_websocket_per_client():
    held = [ws(PROXY, "203.0.113.1"), ws(PROXY, "203.0.113.1")]
    check(all(isinstance(h, WebSocket) for h in held), "A's first two: %s" % held)
    check(ws(PROXY, "203.0.113.1") == 503, "A's third WebSocket was served")
    b = ws(PROXY, "203.0.113.2")
    check(isinstance(b, WebSocket), "B behind the same proxy refused: %s" % b)
    held.append(b)
    # A writes B's address itself; the proxy appends A's: still A.
    check(ws(PROXY, "203.0.113.2, 203.0.113.1") == 503, "A passed itself off as B")
    check(ws(PROXY, "203.0.113.2", "203.0.113.1") == 503,
          "A passed itself off as B (two header lines)")
    closeall(held)


def test_bosh_per_client():
    held = [bosh(PROXY, "198.51.100.1"), bosh(PROXY, "198.51.100.1")]
    check(all(isinstance(h, Bosh) for h in held), "A's first two: %s" % held)
    check(bosh(PROXY, "198.51.100.1") == "policy-violation", "A's third BOSH session served")
    b = bosh(PROXY, "2001:db8::7")
    check(isinstance(b, Bosh), "B behind the same proxy refused: %s" % b)
    held.append(b)
    closeall(held)


def test_header_ignored_from_others():
    held = [ws(OTHER, "192.0.2.1"), ws(OTHER, "192.0.2.2")]
    check(all(isinstance(h, WebSocket) for h in held), "first two: %s" % held)
    check(ws(OTHER, "192.0.2.3") == 503, "a non-proxy chose its address with the header")
    closeall(held)


def login_result(client, password):
    w = WebSocket(E, source=PROXY, headers=xff(client))
    check(w.status == 101, "WebSocket for %s: %d" % (client, w.status))
    w.open()
    ok, el = xmpplib.Stream.auth(w, A_USER, password, mech="SCRAM-SHA-1")
    w.sock.close()
    if ok:
        return "success"
    cond = [c for c in el if c.tag.startswith("{%s}" % NS_SASL) and c.tag != q(NS_SASL, "text")]
    return cond[0].tag.split("}")[1] if cond else xmpplib.show(el)


def test_login_throttling_per_client():
    for _ in range(2):
        r = login_result("203.0.113.9", "wrong password")
        check(r == "not-authorized", "a wrong password: %s" % r)
    r = login_result("203.0.113.9", A_PW)
    check(r == "temporary-auth-failure", "C not locked after two failures: %s" % r)
    r = login_result("203.0.113.10", A_PW)
    check(r == "success", "D behind the same proxy locked out with C: %s" % r)


if __name__ == "__main__":
    sys.exit(xmpplib.run([(n, f) for n, f in globals().items() if n.startswith("test_")]))
