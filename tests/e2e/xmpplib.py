"""tests/e2e/xmpplib.py — a small raw XMPP client for hostile and protocol-level tests.

Stdlib only (socket, ssl, xml.etree pull parser, hashlib/hmac). It sends exactly the bytes a
test asks for and parses what the server sends back into ElementTree elements, so tests can
assert on the wire exchange. Implements RFC 6120 stream setup, STARTTLS (§5), SASL PLAIN and
SCRAM-SHA-1/256 with and without channel binding (RFC 5802, RFC 7677, RFC 5929
tls-server-end-point) and resource binding (§7). Not a general client: no reconnects, one
stream per object, every wait has a timeout.
"""
import base64
import hashlib
import hmac
import os
import select
import socket
import ssl
import sys
import time
import xml.etree.ElementTree as ET

NS_STREAM = "http://etherx.jabber.org/streams"
NS_CLIENT = "jabber:client"
NS_STREAMS_ERR = "urn:ietf:params:xml:ns:xmpp-streams"
NS_STANZAS_ERR = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_PING = "urn:xmpp:ping"
TIMEOUT = float(os.environ.get("E2E_WAIT", 10))


def env():
    """The server facts the harness exported."""
    e = os.environ
    users = [tuple(u.split(":", 1)) for u in e["E2E_USERS"].split()]
    return {
        "server": e["E2E_SERVER"], "ip": e["E2E_IP"], "domain": e["E2E_DOMAIN"],
        "starttls_port": int(e["E2E_STARTTLS_PORT"]),
        "direct_port": int(e["E2E_DIRECT_PORT"]) if e.get("E2E_DIRECT_PORT") else None,
        "cafile": e["E2E_CAFILE"], "users": users, "limit": int(e["E2E_STANZA_LIMIT"]),
        "mechs": e.get("E2E_MECHS", "").split(),
    }


class Fail(Exception):
    pass


class StreamClosed(Exception):
    """The server ended the stream (end tag seen) or closed the connection."""


def q(ns, name):
    return "{%s}%s" % (ns, name)


def show(el):
    return ET.tostring(el, encoding="unicode") if el is not None else "(none)"


def stream_error_condition(el):
    """Condition name of a <stream:error/> element, or None if el is not one."""
    if el is None or el.tag != q(NS_STREAM, "error"):
        return None
    for c in el:
        if c.tag.startswith("{%s}" % NS_STREAMS_ERR) and not c.tag.endswith("}text"):
            return c.tag.split("}")[1]
    return "(no condition)"


def sasl_condition(el):
    """Condition of a SASL <failure/> (RFC 6120 §6.5), or the element's name otherwise."""
    if el is None:
        return None
    if el.tag != q(NS_SASL, "failure"):
        return el.tag.split("}")[-1]
    for c in el:
        if not c.tag.endswith("}text"):
            return c.tag.split("}")[1]
    return "(no condition)"


def stanza_error_condition(el):
    err = el.find(q(NS_CLIENT, "error"))
    if err is None:
        return None
    for c in err:
        if c.tag.startswith("{%s}" % NS_STANZAS_ERR) and not c.tag.endswith("}text"):
            return c.tag.split("}")[1]
    return "(no condition)"


class Stream:
    def __init__(self, ip, port, domain, cafile, direct_tls=False, name="client", source=None):
        self.domain, self.cafile, self.name = domain, cafile, name
        self.sock = socket.create_connection((ip, port), timeout=TIMEOUT,
                                             source_address=(source, 0) if source else None)
        self.tls = False
        self.features = None
        self.header = None
        self.ended = False      # saw </stream:stream>
        self.eof = False        # connection closed
        self.pending = []       # elements read but not yet consumed
        self.jid = None
        self.idn = 0
        self.trace = os.environ.get("E2E_TRACE")
        if direct_tls:
            self._wrap_tls(alpn=["xmpp-client"])
        self._new_parser()

    # -- transport -------------------------------------------------------------------------
    def _wrap_tls(self, alpn=None):
        ctx = ssl.create_default_context(cafile=self.cafile)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if alpn:
            ctx.set_alpn_protocols(alpn)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=self.domain)
        self.tls = True

    def _new_parser(self):
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.header = None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        if self.trace:
            sys.stdout.write("%s SEND %r\n" % (self.name, data[:2000]))
        self.sock.sendall(data)

    def _read_more(self, deadline):
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("%s: nothing from the server within the timeout" % self.name)
            if not (self.tls and self.sock.pending()):
                r, _, _ = select.select([self.sock], [], [], left)
                if not r:
                    continue
            try:
                data = self.sock.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except (ConnectionResetError, ssl.SSLError, ssl.SSLEOFError, BrokenPipeError):
                data = b""
            if self.trace:
                sys.stdout.write("%s RECV %r\n" % (self.name, data[:2000]))
            if not data:
                self.eof = True
                raise StreamClosed("%s: connection closed by the server" % self.name)
            self._feed(data)
            return

    def _feed(self, data):
        self.parser.feed(data)
        for ev, el in self.parser.read_events():
            if ev == "start":
                self.depth += 1
                if self.depth == 1:
                    self.header = el
            else:
                self.depth -= 1
                if self.depth == 1:
                    self.pending.append(el)
                elif self.depth == 0:
                    self.ended = True

    def next(self, timeout=TIMEOUT):
        """Next top-level element from the server; StreamClosed at end of stream."""
        deadline = time.time() + timeout
        while not self.pending:
            if self.ended:
                raise StreamClosed("%s: server ended the stream" % self.name)
            self._read_more(deadline)
        return self.pending.pop(0)

    def wait_for(self, pred, timeout=TIMEOUT, what="element"):
        """First element satisfying pred; others stay queued in order."""
        deadline = time.time() + timeout
        i = 0
        while True:
            while i < len(self.pending):
                if pred(self.pending[i]):
                    return self.pending.pop(i)
                i += 1
            if self.ended:
                raise StreamClosed("%s: stream ended while waiting for %s" % (self.name, what))
            try:
                self._read_more(deadline)
            except TimeoutError:
                raise TimeoutError("%s: timed out waiting for %s" % (self.name, what))

    def expect_stream_error(self, conditions, timeout=TIMEOUT, allow_eof_only=False):
        """Asserts the server sends <stream:error> with one of `conditions`, then
        </stream:stream>, then closes. Returns the condition."""
        if isinstance(conditions, str):
            conditions = [conditions]
        got = None
        deadline = time.time() + timeout
        try:
            while True:
                el = self.next(max(0.1, deadline - time.time()))
                cond = stream_error_condition(el)
                if cond:
                    got = cond
                    break
        except StreamClosed:
            pass
        if got is None:
            raise Fail("%s: expected stream error %s, got none (ended=%s eof=%s)"
                       % (self.name, "/".join(conditions), self.ended, self.eof))
        if got not in conditions:
            raise Fail("%s: expected stream error %s, got %s"
                       % (self.name, "/".join(conditions), got))
        # After the error: the closing stream tag, then the TCP close (RFC 6120 §4.9.1.1).
        try:
            while not self.ended:
                self._read_more(deadline)
        except StreamClosed:
            pass
        if not self.ended:
            raise Fail("%s: stream error %s not followed by </stream:stream>" % (self.name, got))
        self.expect_close(max(1, deadline - time.time()))
        return got

    def expect_close(self, timeout=TIMEOUT):
        deadline = time.time() + timeout
        try:
            while True:
                self._read_more(deadline)
        except StreamClosed:
            return
        except TimeoutError:
            raise Fail("%s: server did not close the connection" % self.name)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- stream setup ----------------------------------------------------------------------
    def open(self, to=None, ns=NS_CLIENT, stream_ns=NS_STREAM, version="1.0", prolog=True,
             read_features=True):
        to = self.domain if to is None else to
        hdr = "<?xml version='1.0'?>" if prolog else ""
        hdr += ("<stream:stream to='%s' version='%s' xml:lang='en' xmlns='%s' "
                "xmlns:stream='%s'>" % (to, version, ns, stream_ns))
        self.send(hdr)
        if read_features:
            self.features = self.wait_for(lambda e: e.tag == q(NS_STREAM, "features") or
                                          stream_error_condition(e) is not None,
                                          what="stream features")
            if stream_error_condition(self.features):
                raise Fail("%s: stream error at open: %s" % (self.name, show(self.features)))
        return self.features

    def mechanisms(self):
        m = self.features.find(q(NS_SASL, "mechanisms")) if self.features is not None else None
        return [x.text for x in m.findall(q(NS_SASL, "mechanism"))] if m is not None else []

    def starttls(self):
        if self.features.find(q(NS_TLS, "starttls")) is None:
            raise Fail("%s: no <starttls/> in features: %s" % (self.name, show(self.features)))
        self.send("<starttls xmlns='%s'/>" % NS_TLS)
        el = self.next()
        if el.tag != q(NS_TLS, "proceed"):
            raise Fail("%s: STARTTLS answered with %s" % (self.name, show(el)))
        self._wrap_tls()
        self._new_parser()
        return self.open()

    def tls_server_end_point(self):
        """RFC 5929 §4.1: hash of the server certificate (SHA-256 for SHA-1/SHA-256 sigs)."""
        der = self.sock.getpeercert(binary_form=True)
        return hashlib.sha256(der).digest()

    def auth(self, user, password, mech="PLAIN", cb_type="tls-server-end-point",
             cb_data=None, gs2_flag=None):
        """Runs one SASL exchange. Returns (True, success-element) or (False, failure)."""
        if mech == "PLAIN":
            payload = b"\0" + user.encode() + b"\0" + password.encode()
            self.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>"
                      % (NS_SASL, base64.b64encode(payload).decode()))
            el = self.next()
            return el.tag == q(NS_SASL, "success"), el
        if not mech.startswith("SCRAM-"):
            raise ValueError(mech)
        plus = mech.endswith("-PLUS")
        hname = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}[mech.replace("-PLUS", "")]
        if plus:
            gs2 = "p=%s,," % cb_type
            if cb_data is None:
                cb_data = self.tls_server_end_point() if cb_type == "tls-server-end-point" \
                    else None
        else:
            gs2 = gs2_flag or "n,,"
            cb_data = b""
        cnonce = base64.b64encode(os.urandom(18)).decode()
        bare = "n=%s,r=%s" % (user.replace("=", "=3D").replace(",", "=2C"), cnonce)
        self.send("<auth xmlns='%s' mechanism='%s'>%s</auth>"
                  % (NS_SASL, mech, base64.b64encode((gs2 + bare).encode()).decode()))
        el = self.next()
        if el.tag != q(NS_SASL, "challenge"):
            return False, el
        sfirst = base64.b64decode(el.text or "").decode()
        attrs = dict(kv.split("=", 1) for kv in sfirst.split(","))
        if not attrs["r"].startswith(cnonce):
            raise Fail("%s: server nonce does not extend the client nonce" % self.name)
        salt = base64.b64decode(attrs["s"])
        it = int(attrs["i"])
        salted = hashlib.pbkdf2_hmac(hname, password.encode(), salt, it)
        ckey = hmac.new(salted, b"Client Key", hname).digest()
        stored = hashlib.new(hname, ckey).digest()
        cbind = base64.b64encode(gs2.encode() + cb_data).decode()
        final_wo = "c=%s,r=%s" % (cbind, attrs["r"])
        authmsg = ",".join([bare, sfirst, final_wo]).encode()
        csig = hmac.new(stored, authmsg, hname).digest()
        proof = bytes(a ^ b for a, b in zip(ckey, csig))
        final = final_wo + ",p=" + base64.b64encode(proof).decode()
        self.send("<response xmlns='%s'>%s</response>"
                  % (NS_SASL, base64.b64encode(final.encode()).decode()))
        el = self.next()
        if el.tag != q(NS_SASL, "success"):
            return False, el
        skey = hmac.new(salted, b"Server Key", hname).digest()
        ssig = base64.b64encode(hmac.new(skey, authmsg, hname).digest()).decode()
        extra = base64.b64decode(el.text or "").decode()
        if extra != "v=" + ssig:
            raise Fail("%s: bad server signature in <success/>: %r" % (self.name, extra))
        return True, el

    def bind(self, resource=None):
        self._new_parser()
        self.open()
        if self.features.find(q(NS_BIND, "bind")) is None:
            raise Fail("%s: no <bind/> after SASL: %s" % (self.name, show(self.features)))
        res = "<resource>%s</resource>" % resource if resource else ""
        r = self.iq("set", "<bind xmlns='%s'>%s</bind>" % (NS_BIND, res))
        if r.get("type") != "result":
            raise Fail("%s: bind failed: %s" % (self.name, show(r)))
        self.jid = r.find("%s/%s" % (q(NS_BIND, "bind"), q(NS_BIND, "jid"))).text
        return self.jid

    def next_id(self):
        self.idn += 1
        return "%s-%d" % (self.name, self.idn)

    def iq(self, type_, payload="", to=None, timeout=TIMEOUT):
        iid = self.next_id()
        to_attr = " to='%s'" % to if to else ""
        self.send("<iq type='%s' id='%s'%s>%s</iq>" % (type_, iid, to_attr, payload))
        return self.wait_for(lambda e: e.tag == q(NS_CLIENT, "iq") and e.get("id") == iid and
                             e.get("type") in ("result", "error"), timeout, "iq reply " + iid)

    def ping(self, to=None):
        r = self.iq("get", "<ping xmlns='%s'/>" % NS_PING, to or self.domain)
        if r.get("type") != "result":
            raise Fail("%s: ping %s failed: %s" % (self.name, to or self.domain, show(r)))
        return r


def login(e, user, password, resource=None, direct_tls=False, mech="PLAIN", name=None,
          presence=False):
    """Connects, secures, authenticates and binds. Returns the Stream."""
    port = e["direct_port"] if direct_tls else e["starttls_port"]
    s = Stream(e["ip"], port, e["domain"], e["cafile"], direct_tls=direct_tls,
               name=name or user)
    s.open()
    if not direct_tls:
        s.starttls()
    ok, el = s.auth(user, password, mech)
    if not ok:
        raise Fail("%s: SASL %s failed: %s" % (s.name, mech, show(el)))
    s.bind(resource)
    if presence:
        s.send("<presence/>")
    return s


_server_pid = None


def server_pid():
    """PID of the running server (follows restarts made through server_control)."""
    global _server_pid
    if _server_pid is None:
        _server_pid = int(os.environ["E2E_SERVER_PID"])
    return _server_pid


def kill_server():
    """SIGKILL the server at once (a crash: nothing is flushed or committed after this)."""
    import signal
    os.kill(server_pid(), signal.SIGKILL)


def server_control(cmd, timeout=60):
    """Asks the harness to "start" the killed server again on the same data, "kill9" it,
    "restart" it (both), or "stop" it with SIGTERM (it must exit 0); waits for the answer.
    Returns the PID."""
    global _server_pid
    path = os.environ["E2E_CONTROL"]
    with open(path + ".req", "w") as f:
        f.write(cmd + "\n")
    os.rename(path + ".req", path)
    deadline = time.time() + timeout
    while not os.path.exists(path + ".done"):
        if time.time() > deadline:
            raise Fail("harness did not answer %r" % cmd)
        time.sleep(0.02)
    with open(path + ".done") as f:
        answer = f.read().strip()
    os.unlink(path + ".done")
    if not answer.startswith("ok "):
        raise Fail("harness: %s" % answer)
    _server_pid = int(answer.split()[1])
    return _server_pid


def run(tests):
    """Runs named test functions; prints one line each; returns the exit code."""
    failed = 0
    for name, fn in tests:
        try:
            fn()
            print("PASS: %s" % name, flush=True)
        except Exception as ex:  # each case reports and the next one still runs
            failed += 1
            print("FAIL: %s: %s: %s" % (name, type(ex).__name__, ex), flush=True)
    return 1 if failed else 0
