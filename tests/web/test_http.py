"""tests/web/test_http.py — the HTTP listener on the wire: XEP-0156 host-meta (XRD and
JSON), keep-alive and pipelining, clear 4xx for what it refuses (unknown path, oversized
headers, oversized body, request smuggling patterns: Content-Length with
Transfer-Encoding, two Content-Lengths; no Host), slowloris (408 while others are served),
and RFC 7395 over raw WebSocket frames: the handshake and its refusals, <open/> answered
with <open/> and features as separate messages that declare their namespaces, a stanza
per message with xmlns='jabber:client', <close/>, stream errors, binary and oversized
messages; XEP-0198 and CSI over WebSocket; wss:// on a TLS listener (PLAIN and -PLUS
offered, host-meta naming wss://); the request rate limit (429). Run by
tests/web/http.sh."""
import json
import os
import socket
import ssl
import sys
import threading
import time
import xml.etree.ElementTree as ET

import weblib
from weblib import Fail, q, WebSocket, NS_FRAMING, NS_STREAM, NS_SASL
import xmpplib

E = weblib.env()
IP, PORT = E["ip"], E["http_port"]


def check(cond, what):
    if not cond:
        raise Fail(what)


def get(path, extra=""):
    return weblib.http_raw(IP, PORT, ("GET %s HTTP/1.1\r\nHost: chat.example:%d\r\n%s\r\n"
                                      % (path, PORT, extra)).encode())


def test_host_meta():
    status, h, body = get("/.well-known/host-meta")
    check(status == 200 and h["content-type"].startswith("application/xrd+xml"), "%d %s" % (status, h))
    check(h.get("access-control-allow-origin") == "*", "no CORS on host-meta")
    xrd = ET.fromstring(body)
    links = {l.get("rel"): l.get("href") for l in xrd.iter("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")}
    check(links.get("urn:xmpp:alt-connections:xbosh") == "http://chat.example:%d/http-bind" % PORT, links)
    check(links.get("urn:xmpp:alt-connections:websocket") ==
          "ws://chat.example:%d/xmpp-websocket" % PORT, links)
    status, h, body = get("/.well-known/host-meta.json")
    check(status == 200 and h["content-type"] == "application/json", "%d %s" % (status, h))
    links = {l["rel"]: l["href"] for l in json.loads(body)["links"]}
    check(links.get("urn:xmpp:alt-connections:websocket") ==
          "ws://chat.example:%d/xmpp-websocket" % PORT, links)
    status, _, _ = weblib.http_raw(IP, PORT, b"GET /.well-known/host-meta HTTP/1.1\r\n"
                                   b"Host: evil.example/<x>\r\n\r\n")
    check(status == 400, "a Host that is no authority: %d" % status)


def test_not_found_and_methods():
    status, _, body = get("/nothing-here")
    check(status == 404 and b"404" in body, "unknown path: %d %r" % (status, body))
    status, _, _ = weblib.http_raw(IP, PORT, b"GET / HTTP/1.1\r\n\r\n")
    check(status == 400, "no Host: %d" % status)


def test_keepalive_and_pipelining():
    s = socket.create_connection((IP, PORT), timeout=10)
    req = b"GET /.well-known/host-meta.json HTTP/1.1\r\nHost: a\r\n\r\n"
    s.sendall(req * 3)  # three pipelined requests, answered in order on one connection
    for i in range(3):
        status, h, body = weblib.http_raw(IP, PORT, b"", sock=s)
        check(status == 200 and b"links" in body, "pipelined answer %d: %d" % (i, status))
        check(h.get("connection") != "close", "closed after answer %d" % i)
    s.sendall(b"GET /nothing HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    status, h, _ = weblib.http_raw(IP, PORT, b"", sock=s)
    check(status == 404 and h.get("connection") == "close", "Connection: close: %s" % h)
    check(s.recv(10) == b"", "connection not closed after Connection: close")
    s.close()


def refused(data, want, what):
    status, _, _ = weblib.http_raw(IP, PORT, data)
    check(status == want, "%s: %d (want %d)" % (what, status, want))


def test_oversized_headers():
    refused(b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431,
            "9000-byte header")
    refused(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 431, "9000-byte URL")
    refused(b"".join(b"X-H%d: v\r\n" % i for i in range(2000)).join(
        [b"GET / HTTP/1.1\r\nHost: a\r\n", b"\r\n"]), 431, "2000 headers")


def test_oversized_body():
    refused(b"POST /http-bind HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n", 413,
            "2 MB body announced")
    chunk = b"100000\r\n" + b"a" * 0x100000 + b"\r\n"
    s = socket.create_connection((IP, PORT), timeout=10)
    try:
        s.sendall(b"POST /http-bind HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + chunk + chunk)
    except OSError:
        pass  # the server may answer and close before reading everything
    status, _, _ = weblib.http_raw(IP, PORT, b"", sock=s)
    check(status == 413, "2 MiB chunked body: %d" % status)


def test_smuggling():
    body = b"<body xmlns='http://jabber.org/protocol/httpbind' rid='1'/>"
    refused(b"POST /http-bind HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % len(body) + body, 400,
            "Content-Length with Transfer-Encoding")
    refused(b"POST /http-bind HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
            b"Content-Length: 60\r\n\r\n" + body, 400, "two Content-Lengths")
    refused(b"POST /http-bind HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n", 400,
            "negative Content-Length")
    refused(b"POST /http-bind HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\nab", 400,
            "Content-Length with two numbers")
    refused(b"POST /http-bind HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"zz\r\nab\r\n0\r\n\r\n", 400, "a chunk size that is no number")
    refused(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400, "TLS on a plain listener")


def test_slowloris():
    """A request dribbled byte by byte gets 408 after 10 s; others are served meanwhile."""
    slow = socket.create_connection((IP, PORT), timeout=30)
    slow.sendall(b"GET /.well-known/host-meta HTTP/1.1\r\n")
    result = {}

    def dribble():
        try:
            for i in range(40):
                slow.sendall(b"X-%d: y\r\n" % i)
                time.sleep(0.5)
        except OSError:
            pass
    t = threading.Thread(target=dribble, daemon=True)
    t.start()
    served = 0
    end = time.time() + 8
    while time.time() < end:
        status, _, _ = get("/.well-known/host-meta.json")
        check(status == 200, "others not served during slowloris: %d" % status)
        served += 1
        time.sleep(0.5)
    status, _, _ = weblib.http_raw(IP, PORT, b"", sock=slow, timeout=15)
    check(status == 408, "slow request: %d" % status)
    check(served >= 5, "only %d requests served meanwhile" % served)


def test_ws_handshake_refusals():
    ws = WebSocket(E, protocol=None)
    check(ws.status == 400, "no xmpp subprotocol: %d" % ws.status)
    ws = WebSocket(E, protocol="chat")
    check(ws.status == 400, "another subprotocol: %d" % ws.status)
    ws = WebSocket(E, version="8")
    check(ws.status == 426 and ws.headers.get("sec-websocket-version") == "13",
          "version 8: %d %s" % (ws.status, ws.headers))
    status, _, _ = get("/xmpp-websocket")
    check(status == 426, "plain GET: %d" % status)


def test_ws_origin():
    """RFC 6455 §10.2: browsers of other sites are refused (403); no Origin (not a
    browser), the server's own origin and the listed one (webharness.py) are accepted."""
    page = "http://%s:%s" % (IP, os.environ["E2E_PAGE_PORT"])
    for origin, host, want in (("https://evil.example", None, 403),
                               ("null", None, 403),
                               ("http://%s:%d" % (IP, PORT + 1), "%s:%d" % (IP, PORT), 403),
                               (page + "/", None, 403),
                               (page, None, 101),
                               (page.upper().replace("HTTP:", "http:"), None, 101),
                               ("https://%s:%d" % (IP, PORT), "%s:%d" % (IP, PORT), 101),
                               (None, None, 101)):
        ws = WebSocket(E, origin=origin, host=host)
        check(ws.status == want, "Origin %s (Host %s): %d, expected %d"
              % (origin, host, ws.status, want))
        if want == 101:
            ws.open()
            check(ws.features is not None, "no features after Origin %s" % origin)
        ws.sock.close()


def test_ws_framing():
    ws = WebSocket(E, protocol="chat, xmpp")
    check(ws.status == 101 and ws.accept_ok(), "handshake: %d %s" % (ws.status, ws.headers))
    check(ws.headers.get("sec-websocket-protocol") == "xmpp", ws.headers)
    ws.send("<open xmlns='%s' to='%s' version='1.0'/>" % (NS_FRAMING, E["domain"]))
    m = ws.message()
    o = ET.fromstring(m)
    check(o.tag == q(NS_FRAMING, "open") and o.get("from") == E["domain"] and o.get("id") and
          o.get("version") == "1.0", "open: %r" % m)
    m = ws.message()
    check(m.startswith("<stream:features xmlns:stream='%s'" % NS_STREAM), "features: %r" % m)
    ws.login(*E["users"][0], resource="raw", opened=True)
    ws.send("<iq type='get' id='p1' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>" % E["domain"])
    m = ws.message()
    check(m.startswith("<iq xmlns='jabber:client'") and "id='p1'" in m, "pong: %r" % m)
    ws.send("<close xmlns='%s'/>" % NS_FRAMING)
    m = ws.message()
    check(m == "<close xmlns='%s'/>" % NS_FRAMING, "close answer: %r" % m)
    check(ws.message() is None and ws.close_code == 1000, "no close frame")


def test_ws_errors():
    ws = WebSocket(E)
    ws.send("<open xmlns='%s' to='unknown.example' version='1.0'/>" % NS_FRAMING)
    check(ET.fromstring(ws.message()).tag == q(NS_FRAMING, "open"), "open first")
    m = ws.message()
    check(m.startswith("<stream:error xmlns:stream='%s'>" % NS_STREAM) and "host-unknown" in m,
          "stream error: %r" % m)
    check(ws.message() == "<close xmlns='%s'/>" % NS_FRAMING, "close after the error")
    ws = WebSocket(E)
    ws.open()
    ws.send_frame(b"<presence/>", opcode=2)
    check(ws.message() is None and ws.close_code == 1003, "binary message: %s" %
          getattr(ws, "close_code", None))
    ws = WebSocket(E)
    ws.open()
    ws.send("<message>" + "a" * (E["limit"] + 10) + "</message>")
    check(ws.message() is None and ws.close_code == 1009, "oversized message: %s" %
          getattr(ws, "close_code", None))
    ws = WebSocket(E)
    ws.send_frame(b"<open xmlns='x'/>", mask=False)  # clients must mask (RFC 6455 §5.1)
    check(ws.message() is None, "an unmasked frame was accepted")
    ws = WebSocket(E)
    ws.open()
    ws.send("<iq type='get' id='x'><query xmlns='jabber:iq:roster'/></iq>")
    m = ws.message()
    check(m.startswith("<stream:error") and "not-authorized" in m, "stanza before auth: %r" % m)


def test_ws_stream_management_and_csi():
    """XEP-0198 and XEP-0352 run unchanged over WebSocket: enable, acks, inactive."""
    ws = WebSocket(E)
    ws.login(*E["users"][0], resource="sm")
    ws.send("<enable xmlns='urn:xmpp:sm:3'/>")
    en = ws.next()
    check(en.tag == q("urn:xmpp:sm:3", "enabled"), "enable: %s" % xmpplib.show(en))
    ws.send("<iq type='get' id='p1' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>" % E["domain"])
    check(ws.next().get("id") == "p1", "ping result")
    ws.send("<r xmlns='urn:xmpp:sm:3'/>")
    a = ws.next()
    check(a.tag == q("urn:xmpp:sm:3", "a") and a.get("h") == "1", "ack: %s" % xmpplib.show(a))
    ws.send("<inactive xmlns='urn:xmpp:csi:0'/>")
    ws.send("<iq type='get' id='p2' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>" % E["domain"])
    check(ws.next().get("id") == "p2", "ping after <inactive/> (iqs are never held)")


def test_wss_tls_listener():
    """wss://: TLS from the first byte; the stream starts secured, so PLAIN and the -PLUS
    mechanisms are offered; host-meta over https names wss://."""
    ws = WebSocket(E, tls=True)
    check(ws.status == 101 and ws.accept_ok(), "wss handshake: %d" % ws.status)
    ws.open()
    mechs = [m.text for m in ws.features.iter(q(NS_SASL, "mechanism"))]
    check("PLAIN" in mechs and "SCRAM-SHA-256-PLUS" in mechs, "mechanisms over wss: %s" % mechs)
    ok, el = xmpplib.Stream.auth(ws, E["users"][1][0], E["users"][1][1], mech="PLAIN")
    check(ok, "PLAIN over wss: %s" % xmpplib.show(el))
    s = socket.create_connection((E["ip"], int(os.environ["E2E_HTTPS_PORT"])), timeout=10)
    s = ssl.create_default_context(cafile=E["cafile"]).wrap_socket(s, server_hostname=E["domain"])
    status, _, body = weblib.http_raw(E["ip"], 0, b"GET /.well-known/host-meta.json HTTP/1.1\r\n"
                                      b"Host: chat.example\r\n\r\n", sock=s)
    check(status == 200 and b'"wss://chat.example/xmpp-websocket"' in body and
          b'"https://chat.example/http-bind"' in body, "host-meta over https: %r" % body)


def test_request_rate_limit():
    s = socket.create_connection((IP, PORT), timeout=10)
    s.sendall(b"GET /.well-known/host-meta.json HTTP/1.1\r\nHost: a\r\n\r\n" * 210)
    codes = []
    for _ in range(210):
        status, _, _ = weblib.http_raw(IP, PORT, b"", sock=s)
        codes.append(status)
    check(codes[:200] == [200] * 200 and 429 in codes[200:], "rate limit: %s" % codes[195:])


if __name__ == "__main__":
    sys.exit(xmpplib.run([(n, f) for n, f in globals().items() if n.startswith("test_")]))
