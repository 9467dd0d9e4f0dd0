"""tests/web/weblib.py — raw clients for the HTTP listener's protocols, stdlib only: a BOSH
client (XEP-0124/0206) and a WebSocket client (RFC 6455, RFC 7395) that send exactly the
bytes a test asks for and parse what comes back, plus plain HTTP requests on raw sockets.
Both XMPP clients offer send()/next() like tests/e2e/xmpplib.Stream, so its SASL code
(PLAIN, SCRAM) runs over them unchanged.
"""
import base64
import hashlib
import os
import random
import socket
import ssl
import struct
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import xmpplib  # noqa: E402
from xmpplib import Fail, q, NS_SASL, NS_BIND, NS_STREAM  # noqa: E402,F401

NS_HTTPBIND = "http://jabber.org/protocol/httpbind"
NS_XBOSH = "urn:xmpp:xbosh"
NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"


def env():
    e = xmpplib.env()
    e["http_port"] = int(os.environ["E2E_HTTP_PORT"])
    return e


def http_raw(ip, port, data, timeout=10.0, sock=None, source=None):
    """Sends raw bytes, returns (status, headers dict lower-case, body) of one response.
    With `sock`, bytes read past that response are kept for the next call on it; with
    `source`, a new connection comes from that address."""
    s = sock or socket.create_connection((ip, port), timeout=timeout,
                                         source_address=(source, 0) if source else None)
    s.settimeout(timeout)
    if data:
        s.sendall(data)
    buf = _leftover.pop(s, b"")
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise Fail("connection closed before a response (got %r)" % buf[:200])
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    if not sock:
        s.close()
    elif rest[n:]:
        _leftover[s] = rest[n:]
    return status, headers, rest[:n]


_leftover = {}


def post(ip, port, path, body, timeout=10.0, headers="", source=None):
    req = ("POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: text/xml; charset=utf-8\r\n"
           "Content-Length: %d\r\n%s\r\n" % (path, ip, port, len(body), headers)).encode() + body
    return http_raw(ip, port, req, timeout, source=source)


class Bosh:
    """One BOSH session: each request on its own connection (what browsers do when they
    hold one request and send another)."""

    def __init__(self, e, name="bosh", wait=2, hold=1, ack=False, source=None, headers=""):
        self.e, self.name, self.source, self.headers = e, name, source, headers
        self.ip, self.port, self.domain = e["ip"], e["http_port"], e["domain"]
        self.rid = random.randint(1 << 20, 1 << 40)
        self.sid = None
        self.queue = []
        self.idn = 0
        self.create_attrs = {"wait": str(wait), "hold": str(hold), "ack": "1" if ack else None}
        self.features = None
        self.last_raw = None
        self.keys = None  # XEP-0124 §15: the key sequence, next key last (use_keys)

    def use_keys(self, n):
        """Key sequencing (XEP-0124 §15): a fresh sequence of n keys; returns K(n), the
        newkey to announce. Each later body takes the next key (K(n-1) .. K(1))."""
        k = [hashlib.sha1(os.urandom(20)).hexdigest()]
        for _ in range(n - 1):
            k.append(hashlib.sha1(k[-1].encode()).hexdigest())
        newkey = k.pop()
        self.keys = k
        return newkey

    def body_xml(self, payload="", **attrs):
        self.rid += 1
        a = {"rid": str(self.rid), "xmlns": NS_HTTPBIND}
        if self.sid:
            a["sid"] = self.sid
            if self.keys and "key" not in attrs:
                a["key"] = self.keys.pop()
        a.update({k.replace("__", ":"): v for k, v in attrs.items() if v is not None})
        s = "<body " + " ".join("%s='%s'" % kv for kv in a.items())
        return (s + (">%s</body>" % payload if payload else "/>")).encode()

    def post(self, data, timeout=15.0):
        status, headers, body = post(self.ip, self.port, "/http-bind", data, timeout,
                                     headers=self.headers, source=self.source)
        self.last_raw = body
        if status != 200:
            raise Fail("%s: HTTP %d: %r" % (self.name, status, body))
        return ET.fromstring(body)

    def request(self, payload="", timeout=15.0, **attrs):
        el = self.post(self.body_xml(payload, **attrs), timeout)
        if el.tag != q(NS_HTTPBIND, "body"):
            raise Fail("%s: not a body: %r" % (self.name, self.last_raw))
        if el.get("type") == "terminate":
            raise xmpplib.StreamClosed("%s: terminated: %s" % (self.name, el.get("condition")))
        self.queue.extend(list(el))
        return el

    def create(self, to=None):
        body = self.body_xml(to=to or self.domain, ver="1.11", xml__lang="en",
                             xmpp__version="1.0", xmlns__xmpp=NS_XBOSH, **self.create_attrs)
        el = self.post(body)
        self.session = el
        self.sid = el.get("sid")
        self.queue.extend(list(el))
        if self.sid:
            self.features = self.next()
        return el

    def send(self, data):
        self.request(data)

    def next(self, timeout=15.0):
        end = time.time() + timeout
        while not self.queue:
            if time.time() > end:
                raise Fail("%s: nothing came" % self.name)
            self.request()
        return self.queue.pop(0)

    def wait_for(self, pred, timeout=15.0, what="element"):
        end = time.time() + timeout
        while time.time() < end:
            el = self.next(timeout=end - time.time())
            if pred(el):
                return el
        raise Fail("%s: no %s" % (self.name, what))

    def login(self, user, password, mech="SCRAM-SHA-1", resource="bosh"):
        ok, el = xmpplib.Stream.auth(self, user, password, mech=mech)
        if not ok:
            raise Fail("%s: SASL failed: %s" % (self.name, xmpplib.show(el)))
        self.request(**{"xmpp__restart": "true", "xmlns__xmpp": NS_XBOSH, "to": self.domain})
        self.features = self.next()
        if self.features.find(q(NS_BIND, "bind")) is None:
            raise Fail("%s: no bind after restart: %s" % (self.name, xmpplib.show(self.features)))
        self.idn += 1
        self.send("<iq xmlns='jabber:client' type='set' id='b%d'><bind xmlns='%s'>"
                  "<resource>%s</resource></bind></iq>" % (self.idn, NS_BIND, resource))
        r = self.wait_for(lambda x: x.tag == q("jabber:client", "iq"), what="bind result")
        self.jid = r.find("%s/%s" % (q(NS_BIND, "bind"), q(NS_BIND, "jid"))).text
        return self.jid


class WebSocket:
    """A WebSocket client (RFC 6455 §5: masked frames) speaking RFC 7395."""

    def __init__(self, e, name="ws", protocol="xmpp", version="13", path="/xmpp-websocket",
                 tls=False, origin=None, host=None, source=None, headers=""):
        self.e, self.name = e, name
        port = int(os.environ["E2E_HTTPS_PORT"]) if tls else e["http_port"]
        self.sock = socket.create_connection((e["ip"], port), timeout=10,
                                             source_address=(source, 0) if source else None)
        if tls:
            ctx = ssl.create_default_context(cafile=e["cafile"])
            self.sock = ctx.wrap_socket(self.sock, server_hostname=e["domain"])
        self.key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: %s\r\n" % (
                   path, host or e["domain"], self.key, version))
        if origin:
            req += "Origin: %s\r\n" % origin
        if protocol:
            req += "Sec-WebSocket-Protocol: %s\r\n" % protocol
        req += headers
        self.status, self.headers, self.body = http_raw(e["ip"], port,
                                                        (req + "\r\n").encode(), sock=self.sock)
        self.buf = _leftover.pop(self.sock, b"")
        self.queue = []
        self.idn = 0
        self.features = None

    def accept_ok(self):
        want = base64.b64encode(hashlib.sha1(
            (self.key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        return self.headers.get("sec-websocket-accept") == want

    def send_frame(self, payload, opcode=1, fin=True, mask=True):
        if isinstance(payload, str):
            payload = payload.encode()
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        m = 0x80 if mask else 0
        if n < 126:
            head += bytes([m | n])
        elif n < 65536:
            head += bytes([m | 126]) + struct.pack(">H", n)
        else:
            head += bytes([m | 127]) + struct.pack(">Q", n)
        if mask:
            key = os.urandom(4)
            head += key
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + payload)

    def recv_frame(self, timeout=10.0):
        """(opcode, payload) of the next frame, or (None, b'') when the connection ended."""
        self.sock.settimeout(timeout)

        def need(n):
            while len(self.buf) < n:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError
                self.buf += chunk
        try:
            need(2)
            op, n = self.buf[0] & 0x0F, self.buf[1] & 0x7F
            off = 2
            if n == 126:
                need(4)
                n = struct.unpack(">H", self.buf[2:4])[0]
                off = 4
            elif n == 127:
                need(10)
                n = struct.unpack(">Q", self.buf[2:10])[0]
                off = 10
            if self.buf[1] & 0x80:
                raise Fail("%s: the server masked a frame (RFC 6455 §5.1)" % self.name)
            need(off + n)
        except (EOFError, ConnectionResetError):
            return None, b""
        payload = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return op, payload

    def message(self, timeout=10.0):
        """The next text message as text (pings answered), or None when closed."""
        while True:
            op, payload = self.recv_frame(timeout)
            if op == 9:
                self.send_frame(payload, opcode=10)
                continue
            if op == 1:
                return payload.decode()
            if op == 8:
                self.close_code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                return None
            if op is None:
                return None

    def send(self, data):
        self.send_frame(data)

    def next(self, timeout=10.0):
        m = self.message(timeout)
        if m is None:
            raise xmpplib.StreamClosed(self.name)
        return ET.fromstring(m)

    def open(self, to=None):
        self.send("<open xmlns='%s' to='%s' version='1.0'/>" % (NS_FRAMING, to or self.e["domain"]))
        o = self.next()
        if o.tag != q(NS_FRAMING, "open"):
            raise Fail("%s: expected <open/>, got %s" % (self.name, xmpplib.show(o)))
        self.features = self.next()
        return o

    def login(self, user, password, mech="SCRAM-SHA-1", resource="ws", opened=False):
        if not opened:
            self.open()
        ok, el = xmpplib.Stream.auth(self, user, password, mech=mech)
        if not ok:
            raise Fail("%s: SASL failed: %s" % (self.name, xmpplib.show(el)))
        self.open()
        self.send("<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='%s'>"
                  "<resource>%s</resource></bind></iq>" % (NS_BIND, resource))
        r = self.next()
        self.jid = r.find("%s/%s" % (q(NS_BIND, "bind"), q(NS_BIND, "jid"))).text
        return self.jid
