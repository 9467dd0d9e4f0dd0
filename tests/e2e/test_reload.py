"""tests/e2e/test_reload.py — reloads free what they replace: 300 reloads (control socket)
while a component, a client on OpenSSL's record layer, a client on the compact layer and a
direct-TLS connection that has not started its handshake stay open. `mynactl stats` must
show the heap, the descriptors and the TLS contexts flat (the old contexts live only while
an SSL made from them does), no retired config, and every one of those connections must
still work afterwards: the component gets a message, both clients answer pings, the old
handshake completes on the contexts it started with and logs in."""
import hashlib
import os
import socket
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xmpplib as X  # noqa: E402

E = X.env()
D = E["domain"]
CTL = os.path.join(os.environ["E2E_TMPDIR"], "data", "mynad.sock")
COMP = os.environ["E2E_COMPONENT_DOMAIN"]


def ctl(cmd):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(60)
    c.connect(CTL)
    c.sendall(cmd.encode() + b"\n")
    out = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        out += b
    c.close()
    return out.decode()


def stats():
    return dict(line.split("=", 1) for line in ctl("stats").splitlines() if "=" in line and
                not line.startswith("host="))


def component():
    s = X.Stream(E["ip"], int(os.environ["E2E_COMPONENT_PORT"]), D, E["cafile"], name="comp")
    s.send("<stream:stream xmlns='jabber:component:accept' "
           "xmlns:stream='http://etherx.jabber.org/streams' to='%s'>" % COMP)
    while s.header is None:
        s._read_more(__import__("time").time() + X.TIMEOUT)
    sid = s.header.get("id")
    s.send("<handshake>%s</handshake>" % hashlib.sha1(
        (sid + os.environ["E2E_COMPONENT_SECRET"]).encode()).hexdigest())
    s.wait_for(lambda e: e.tag.endswith("handshake"), what="handshake answer")
    return s


def reloads(n):
    for _ in range(n):
        out = ctl("reload")
        if not out.startswith("ok"):
            raise X.Fail("reload: %s" % out)


def reload_frees():
    (u1, p1), (u2, p2) = E["users"][0], E["users"][1]
    comp = component()
    ossl = X.Stream(E["ip"], int(os.environ["E2E_DIRECT_OPENSSL_PORT"]), D, E["cafile"],
                    direct_tls=True, name="openssl-layer")
    ossl.open()
    ok, el = ossl.auth(u1, p1)
    if not ok:
        raise X.Fail("login on the OpenSSL layer: %s" % X.show(el))
    ossl.bind("ossl")
    compact = X.login(E, u2, p2, "compact", direct_tls=True)
    # A direct-TLS connection whose SSL exists (made at accept) but no byte was sent yet.
    held = socket.create_connection((E["ip"], E["direct_port"]))
    compact.ping()
    reloads(20)  # warm up: allocator pools, OpenSSL's caches, the first retired contexts
    before = stats()
    reloads(300)
    after = stats()
    grow = int(after["heap_used_bytes"]) - int(before["heap_used_bytes"])
    print("# heap %s -> %s bytes, fds %s -> %s, tls contexts %s -> %s, rss %s -> %s KiB" % (
        before["heap_used_bytes"], after["heap_used_bytes"], before["fds"], after["fds"],
        before["tls_contexts"], after["tls_contexts"], before["rss_kib"], after["rss_kib"]))
    if grow > 300 * 200:  # a kept config and context is tens of KiB per reload
        raise X.Fail("heap grew by %d bytes over 300 reloads" % grow)
    if after["fds"] != before["fds"]:
        raise X.Fail("descriptors %s -> %s over 300 reloads" % (before["fds"], after["fds"]))
    # The current contexts, plus the ones the OpenSSL-layer session and the held handshake
    # were made from.
    if int(after["tls_contexts"]) > 3 or after["configs_retired"] != "0":
        raise X.Fail("old contexts or configs kept: %s" % after)
    print("PASS: heap, descriptors and contexts flat over 300 reloads")

    # Everything still works.
    compact.send("<message to='someone@%s' id='m1'><body>hi</body></message>" % COMP)
    got = comp.wait_for(lambda e: e.get("id") == "m1", what="message at the component")
    if got.get("from") != compact.jid:
        raise X.Fail("component got %s" % X.show(got))
    ossl.ping()
    compact.ping()
    ctx = ssl.create_default_context(cafile=E["cafile"])
    tls = ctx.wrap_socket(held, server_hostname=D)
    s = X.Stream.__new__(X.Stream)
    s.__init__(E["ip"], E["direct_port"], D, E["cafile"], name="held")
    s.sock.close()
    s.sock, s.tls = tls, True
    s.open()
    ok, el = s.auth(u1, p1)
    if not ok:
        raise X.Fail("the held handshake's login: %s" % X.show(el))
    s.bind("held")
    s.ping()
    print("PASS: component, both record layers and a handshake started before the reloads "
          "still work")
    for c in (s, ossl, compact, comp):
        c.close()
    compact.sock = None
    X.login(E, u2, p2, "after").ping()  # barrier: the closes above were handled
    left = stats()
    if int(left["tls_contexts"]) != 1:
        raise X.Fail("contexts left after the last old SSL went: %s" % left["tls_contexts"])
    print("PASS: the old contexts went with their last connection")


if __name__ == "__main__":
    sys.exit(X.run([("reload_frees", reload_frees)]))
