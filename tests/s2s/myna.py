#!/usr/bin/python3
"""tests/s2s/myna.py — Myna federating with Myna (tests/s2s/fed.py sets the servers up).

Scenarios (argument 1):
  external   two servers with certificates from one CA: SASL EXTERNAL both ways (one way
             over XEP-0368 direct TLS to an s2s listener with tls = "direct"), one
             XEP-0288 bidirectional stream carrying both directions; messages
             both ways, iq ping to the remote server and to a remote user, `mynactl s2s`
             and stats list the connections, `mynactl s2s close` closes them and the next
             message opens a new one; an unreachable domain bounces the message to its
             sender with remote-server-not-found after the retries, a server that accepts
             the connection and stays mute with remote-server-timeout; an idle stream is
             closed after idle_timeout and the next message opens a new one.
  hostile    a raw peer with a valid certificate: a stanza with a `from` it did not
             authenticate (invalid-from, nothing delivered), a `to` not served here
             (host-unknown), a stanza without `from` (improper-addressing), stanzas before
             authentication (not-authorized), garbage (not-well-formed), a flood over the
             stanza size limit; local users stay connected and keep chatting.
  dialback   two servers whose certificates nobody trusts, policy "dialback", bidi off: Server
             Dialback (XEP-0220) with a callback both ways; the secret is a 32-byte file
             (mode 600) in the data directory that survives a restart, and keys still
             verify after it. The verification connection checks the authoritative
             server's certificate and, under "dialback", tolerates and logs one that
             does not verify: untrusted (b.test) or trusted but for another name
             (c.test, as a hosting provider's would be): messages flow both ways.
  metrics    /metrics counts s2s connections by direction as the s2s layer has them: none
             at first, one out and one in on each server once messages went both ways
             (XEP-0288 off, so each direction has its own stream), the same numbers as
             `mynactl stats`, and none on either side after `mynactl s2s close`.
  refused    policy "verify" (the default) refuses a peer with an untrusted certificate
             and one with a certificate for another name, both ways (its dialback is
             answered "invalid"), and "deny" refuses a domain both ways: every message
             bounces to its sender with remote-server-not-found, nothing is delivered.
  flood      a.test with s2s.rate = 4096 and flood_grace = 2: a raw peer (b.test's
             certificate, SASL EXTERNAL) that keeps sending presence far past the rate is
             closed with a policy-violation stream error, after the grace and not before;
             meanwhile two local users chat, and b.test's own server, within the rate,
             exchanges messages before and after.
  limits     a.test with s2s.max_incoming = 3, max_incoming_per_ip = 2, auth_timeout = 3:
             raw peers (b.test's certificate): a third connection from one address and a
             fourth in total get resource-constraint, one that does not authenticate gets
             connection-timeout after auth_timeout (not before), and the authenticated
             ones keep delivering.
  dns        a.test finds its peers through DNS only (s2s.dns_servers = a tiny DNS server
             of the test, on its own address): SRV priority first (the preferred target
             is down: the next one is used; a weight-0 twin and a lower priority are never
             tried), an _xmpps-server target over direct TLS, STARTTLS and direct TLS
             records merged by priority, and the domain's A record on port 5269 without SRV.
  piggyback  XEP-0220 §2.4: a.test's stream to b.test also carries conference.a.test (a
             room on a.test with a b.test occupant): the user message and the room's
             presence and message travel over one TCP connection (`mynactl s2s` shows one
             conn id, stats one s2s_out, b.test one incoming stream with both domains);
             a third host, a2.test, which a.test's certificate does not name, is refused
             on that stream by b.test's policy: its message bounces to its sender with
             remote-server-not-found and the stream keeps working for the others.
"""
import re
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fed  # noqa: E402
import xmpplib as X  # noqa: E402
from fed import check  # noqa: E402

NS_C = X.NS_CLIENT


def is_msg(body=None, frm=None, typ=None):
    def pred(e):
        if e.tag != X.q(NS_C, "message"):
            return False
        if typ and e.get("type") != typ:
            return False
        if frm and not (e.get("from") or "").startswith(frm):
            return False
        if body is not None and e.findtext(X.q(NS_C, "body")) != body:
            return False
        return True
    return pred


def chat(a, to, body):
    a.send("<message to='%s' type='chat' id='m-%s'><body>%s</body></message>"
           % (to, abs(hash(body)), body))


def exchange(c1, c2, j1, j2, tag):
    chat(c1, j2, "hello " + tag)
    m = c2.wait_for(is_msg("hello " + tag), 20, "message " + tag)
    check("%s: %s receives the message from %s" % (tag, j2, j1),
          m.get("from", "").startswith(j1), X.show(m))
    chat(c2, j1, "reply " + tag)
    m = c1.wait_for(is_msg("reply " + tag), 20, "reply " + tag)
    check("%s: %s receives the answer from %s" % (tag, j1, j2),
          m.get("from", "").startswith(j2), X.show(m))


def external(w):
    w.certs("a.test", "b.test")
    a = fed.Myna(w, "a.test", 1, s2s_extra="retries = 1; retry_delay = 1; auth_timeout = 3; "
                 "idle_timeout = 3;")
    b = fed.Myna(w, "b.test", 2, direct_tls_port=5270)
    # a.test reaches b.test with XEP-0368 direct TLS (b.test comes back with STARTTLS);
    # c.test: a route to an address where nothing listens; d.test: a server that accepts
    # the connection and never says a word.
    a.routes = {"b.test": (b.ip, 5270, True), "c.test": w.ip(9), "d.test": w.ip(10)}
    import socket
    import threading
    silent = socket.socket()
    silent.bind((w.ip(10), 5269))
    silent.listen(8)
    held = []
    threading.Thread(target=lambda: [held.append(silent.accept()) for _ in range(4)],
                     daemon=True).start()
    a.start()
    b.start()
    alice = a.login("alice")
    bob = b.login("bob")
    exchange(alice, bob, "alice@a.test", "bob@b.test", "external")

    r = alice.ping("b.test")
    check("iq ping to the remote server is answered", r.get("type") == "result", X.show(r))
    r = alice.iq("get", "<ping xmlns='urn:xmpp:ping'/>", "bob@b.test")
    check("iq ping to a remote account is answered by its server",
          r.get("type") == "result" and r.get("from") == "bob@b.test", X.show(r))
    alice.send("<iq type='get' id='p-full' to='bob@b.test/r'><ping xmlns='urn:xmpp:ping'/></iq>")
    q = bob.wait_for(lambda e: e.get("id") == "p-full", 20, "ping at bob")
    check("iq ping to a remote full JID reaches the client", q.get("from") == "alice@a.test/r",
          X.show(q))
    bob.send("<iq type='result' id='p-full' to='alice@a.test/r'/>")
    r = alice.wait_for(lambda e: e.get("id") == "p-full", 20, "ping answer")
    check("... and the client's answer comes back", r.get("type") == "result", X.show(r))
    rc, out = a.ctl("s2s")
    check("mynactl s2s lists the outgoing stream to b.test, over direct TLS on 5270",
          rc == 0 and "out a.test b.test ready" in out and ":5270 tls" in out, out)
    check("XEP-0288: the one stream is bidirectional (a.test asked, b.test accepted)",
          " bidi" in out and "in a.test b.test" not in out, out)
    rc, out = b.ctl("s2s")
    check("... b.test answers on a.test's stream and opened none of its own",
          "in b.test a.test authenticated" in out and " bidi" in out and
          "out b.test a.test" not in out, out)
    rc, out = a.ctl("stats")
    check("mynactl stats shows s2s connections", "s2s_out" in out and "s2s_in" in out, out)
    rc, out = a.ctl("s2s", "close", "b.test")
    check("mynactl s2s close b.test", rc == 0, out)
    time.sleep(0.5)
    exchange(alice, bob, "alice@a.test", "bob@b.test", "after close")

    t0 = time.time()
    alice.send("<message to='carol@c.test' type='chat' id='lost-1'><body>x</body></message>")
    e = alice.wait_for(lambda e: e.get("id") == "lost-1", 30, "bounce")
    took = time.time() - t0
    check("a message to an unreachable domain bounces to its sender",
          e.get("type") == "error" and e.get("from") == "carol@c.test", X.show(e))
    check("... with remote-server-not-found",
          X.stanza_error_condition(e) == "remote-server-not-found", X.show(e))
    check("... after the retry (1 s later at least)", took >= 0.9, took)

    t0 = time.time()
    alice.send("<message to='dave@d.test' type='chat' id='mute-1'><body>x</body></message>")
    e = alice.wait_for(lambda e: e.get("id") == "mute-1", 40, "bounce from a mute server")
    took = time.time() - t0
    check("a server that never answers: the message bounces with remote-server-timeout",
          e.get("type") == "error" and X.stanza_error_condition(e) == "remote-server-timeout",
          X.show(e))
    check("... after two attempts of auth_timeout (3 s) and the retry delay", took >= 6.5,
          took)
    silent.close()

    # idle_timeout: the unused stream to b.test is closed, and the next message opens one.
    time.sleep(4)
    rc, out = a.ctl("s2s")
    check("an idle outgoing stream is closed after idle_timeout", "out a.test b.test" not in out,
          out)
    exchange(alice, bob, "alice@a.test", "bob@b.test", "after the idle close")
    alice.send("<presence type='unavailable'/>")
    bob.send("<presence type='unavailable'/>")
    alice.close()
    bob.close()


def hostile(w):
    w.certs("a.test", "b.test", "evil.test")
    a = fed.Myna(w, "a.test", 1)
    b = fed.Myna(w, "b.test", 2)
    a.start()
    b.start()
    alice = a.login("alice")
    bob = b.login("bob")
    cert = lambda d: (os.path.join(w.certdir, d + ".crt"), os.path.join(w.certdir, d + ".key"))

    def peer():
        c, k = cert("b.test")
        p = fed.RawPeer(a.ip, "a.test", "b.test", w.cafile(), c, k, source=w.ip(2))
        f = p.secure()
        mechs = [m.text for m in f.iter(X.q(X.NS_SASL, "mechanism"))]
        check("EXTERNAL is offered to a peer whose certificate verifies",
              "EXTERNAL" in mechs, X.show(f))
        check("SASL EXTERNAL succeeds", p.external())
        return p

    p = peer()
    p.send("<message from='mallory@evil.test' to='alice@a.test' type='chat'>"
           "<body>forged</body></message>")
    check("a from outside the authenticated domain: invalid-from",
          p.expect_stream_error("invalid-from") == "invalid-from")
    p = peer()
    p.send("<message from='bob@b.test' to='nobody@elsewhere.test' type='chat'>"
           "<body>relay</body></message>")
    check("a to outside our domains: host-unknown",
          p.expect_stream_error("host-unknown") == "host-unknown")
    p = peer()
    p.send("<message to='alice@a.test' type='chat'><body>no from</body></message>")
    check("no from: improper-addressing",
          p.expect_stream_error("improper-addressing") == "improper-addressing")
    p = peer()
    p.send("<message from='bob@b.test' to='alice@a.test'><body>ok <<<</message>")
    check("garbage: not-well-formed", p.expect_stream_error("not-well-formed") ==
          "not-well-formed")
    p = peer()
    p.send("<message from='bob@b.test' to='alice@a.test' type='chat'><body>" + "x" * 300000)
    check("a stanza over the size limit: policy-violation",
          p.expect_stream_error(["policy-violation", "resource-constraint"]) is not None)

    # Before authentication, stanzas are refused.
    c, k = cert("b.test")
    p = fed.RawPeer(a.ip, "a.test", "b.test", w.cafile(), c, k, source=w.ip(2))
    p.secure()
    p.send("<message from='bob@b.test' to='alice@a.test' type='chat'><body>early</body>"
           "</message>")
    check("a stanza before authentication: not-authorized",
          p.expect_stream_error("not-authorized") == "not-authorized")

    # A certificate for another domain: EXTERNAL not offered for b.test.
    c, k = cert("evil.test")
    p = fed.RawPeer(a.ip, "a.test", "b.test", w.cafile(), c, k, source=w.ip(2))
    f = p.secure()
    mechs = [m.text for m in f.iter(X.q(X.NS_SASL, "mechanism"))]
    check("a certificate that does not name the claimed domain: no EXTERNAL", "EXTERNAL"
          not in mechs, X.show(f))
    p.external()
    p.close()

    try:
        alice.wait_for(is_msg("forged"), 1, "forged")
        check("nothing forged was delivered", False)
    except TimeoutError:
        check("nothing forged was delivered", True)
    exchange(alice, bob, "alice@a.test", "bob@b.test", "after the attacks")
    alice.close()
    bob.close()


def flood(w):
    import select
    import socket
    w.certs("a.test", "b.test")
    a = fed.Myna(w, "a.test", 1, s2s_extra="rate = 4096; flood_grace = 2;")
    b = fed.Myna(w, "b.test", 2, users=(("bob", "bob-pw-2"),))
    a.start()
    b.start()
    alice, bob_a = a.login("alice"), a.login("bob")
    bob = b.login("bob")
    exchange(alice, bob, "alice@a.test", "bob@b.test", "within the rate")
    c, k = (os.path.join(w.certdir, "b.test." + e) for e in ("crt", "key"))
    p = fed.RawPeer(a.ip, "a.test", "b.test", w.cafile(), c, k, source=w.ip(3))
    p.secure()
    check("the flooding peer authenticates", p.external())
    # Unavailable presence from a stranger: dropped quietly, so only the rate matters.
    chunk = ("<presence from='flood@b.test/x' to='alice@a.test' type='unavailable'/>"
             * 50).encode()
    p.sock.settimeout(1)
    t0 = time.time()
    sent, talked = 0, False
    while time.time() - t0 < 20:
        try:
            p.sock.sendall(chunk)
            sent += len(chunk)
        except (OSError, socket.timeout):
            break  # our buffers are full: A reads no faster than its rate
        if p.sock.pending() or select.select([p.sock], [], [], 0)[0]:
            break  # A said something
        time.sleep(0.05)
        if sent > 40000 and not talked:
            talked = True  # a local conversation while the peer floods
            exchange(alice, bob_a, "alice@a.test", "bob@a.test", "local, during the flood")
    cond = None
    try:
        cond = p.expect_stream_error("policy-violation", timeout=15)
    except X.Fail as ex:
        print(ex)
    took = time.time() - t0
    check("a peer over the s2s rate for longer than flood_grace gets policy-violation",
          cond == "policy-violation", "sent %d bytes in %.1f s" % (sent, took))
    check("... not before the grace (2 s) ran out", took >= 2.0, took)
    check("... the local users talked meanwhile", talked)
    check("... and well within the time it kept flooding", took < 20, took)
    exchange(alice, bob_a, "alice@a.test", "bob@a.test", "local, after the flood")
    exchange(alice, bob, "alice@a.test", "bob@b.test", "b.test's own stream, after the flood")
    log = open(a.log_path, errors="replace").read()
    check("a.test's log says why", "Sending faster than allowed for too long" in log,
          log[-2000:])
    for cl in (alice, bob_a, bob):
        cl.close()


def limits(w):
    w.certs("a.test", "b.test")
    a = fed.Myna(w, "a.test", 1, s2s_extra="max_incoming = 3; max_incoming_per_ip = 2; "
                 "auth_timeout = 3;", routes={})
    a.start()
    alice = a.login("alice")
    c, k = (os.path.join(w.certdir, "b.test." + e) for e in ("crt", "key"))

    def raw(ipn):
        return fed.RawPeer(a.ip, "a.test", "b.test", w.cafile(), c, k, source=w.ip(ipn))

    def deliver(p, body):
        p.send("<message from='bob@b.test/r' to='alice@a.test' type='chat'><body>%s</body>"
               "</message>" % body)
        alice.wait_for(is_msg(body), 20, body)
        return True

    def refused(p, what):
        f = p.open_s2s()
        cond = X.stream_error_condition(f)
        if cond is None:  # the error may follow the features
            try:
                cond = p.expect_stream_error("resource-constraint", timeout=10)
            except X.Fail as ex:
                cond = str(ex)
        check(what, cond == "resource-constraint", cond)

    def incoming():
        return [ln for ln in a.ctl("s2s")[1].splitlines() if ln.startswith("in ")]

    p1, p2 = raw(5), raw(5)
    for i, p in enumerate((p1, p2)):
        p.secure()
        check("peer %d from one address authenticates" % (i + 1), p.external())
    refused(raw(5), "a third connection from that address: resource-constraint")
    deadline = time.time() + 10
    while len(incoming()) != 2 and time.time() < deadline:
        time.sleep(0.1)
    check("... and it is gone", len(incoming()) == 2, incoming())
    mute = raw(6)
    t0 = time.time()
    mute.secure()  # and never authenticates
    refused(raw(7), "a fourth connection in total: resource-constraint")
    try:
        cond = mute.expect_stream_error("connection-timeout", timeout=15)
    except X.Fail as ex:
        cond = str(ex)
    took = time.time() - t0
    check("a peer that does not authenticate: connection-timeout", cond == "connection-timeout",
          cond)
    check("... after auth_timeout (3 s), not before", 2.8 <= took < 12, took)
    check("the authenticated peers still deliver", deliver(p1, "one still") and
          deliver(p2, "two still"))
    p3 = raw(7)
    p3.secure()
    check("a freed slot takes a new peer", p3.external() and deliver(p3, "three"))
    for p in (p1, p2, p3):
        p.close()
    alice.close()


def dns(w):
    import socket
    import threading
    doms = ["prio.test", "tls.test", "mixed.test", "plain.test"]
    w.certs("a.test", "b.test", *doms)
    b_ip = w.ip(2)
    zone = {
        "_xmpp-server._tcp.prio.test": [("SRV", (1, 0, 5269, "down.prio.test")),
                                        ("SRV", (2, 65535, 5269, "up.prio.test")),
                                        ("SRV", (2, 0, 5269, "zero.prio.test")),
                                        ("SRV", (3, 0, 5269, "last.prio.test"))],
        "down.prio.test": [("A", w.ip(20))], "up.prio.test": [("A", b_ip)],
        "zero.prio.test": [("A", w.ip(22))], "last.prio.test": [("A", w.ip(22))],
        "_xmpps-server._tcp.tls.test": [("SRV", (1, 0, 5270, "xmpps.tls.test"))],
        "_xmpp-server._tcp.tls.test": [("SRV", (1, 0, 5269, "xmpp.tls.test"))],
        "xmpps.tls.test": [("A", b_ip)], "xmpp.tls.test": [("A", b_ip)],
        "_xmpps-server._tcp.mixed.test": [("SRV", (10, 0, 5270, "b.mixed.test"))],
        "_xmpp-server._tcp.mixed.test": [("SRV", (5, 0, 5269, "b.mixed.test"))],
        "b.mixed.test": [("A", b_ip)],
        "plain.test": [("A", b_ip)],
    }
    w.dns = fed.ZoneDNS(w, 53, zone)
    # What must never be tried: the weight-0 twin and the lower priority.
    trap = socket.socket()
    trap.bind((w.ip(22), 5269))
    trap.listen(8)
    trapped = []
    threading.Thread(target=lambda: [trapped.append(trap.accept()) for _ in range(8)],
                     daemon=True).start()
    a = fed.Myna(w, "a.test", 1, routes={},
                 s2s_extra='dns_servers = [ "%s:53" ]; connect_timeout = 3;' % w.dns.ip)
    b = fed.Myna(w, "b.test", 2, extra_hosts=doms, direct_tls_port=5270)
    a.start()
    b.start()
    alice = a.login("alice")
    for d in doms:
        r = alice.ping(d)
        check("iq ping to %s (found through DNS) is answered" % d, r.get("type") == "result",
              X.show(r))
    rc, out = a.ctl("s2s")
    peers = {}
    for line in out.splitlines():
        f = line.split()
        m = re.search(r" peer=(\S+)( tls)?", line)
        if len(f) > 3 and f[0] == "out" and m:
            peers[f[2]] = m.group(1)
    log = open(a.log_path, errors="replace").read()
    check("prio.test: the priority-1 target was tried first (refused)",
          "connect to %s:5269" % w.ip(20) in log, log[-3000:])
    check("... then the priority-2 target with the weight took the stream",
          peers.get("prio.test") == b_ip + ":5269", out)
    check("... and neither the weight-0 twin nor priority 3 was tried", not trapped, trapped)
    check("tls.test: the _xmpps-server target, over direct TLS (XEP-0368)",
          peers.get("tls.test") == b_ip + ":5270" and
          re.search(r"out a\.test tls\.test ready .*:5270 tls", out), out)
    check("mixed.test: a STARTTLS record of better priority comes before a direct TLS one",
          peers.get("mixed.test") == b_ip + ":5269", out)
    check("plain.test: no SRV records, the domain's A record on port 5269",
          peers.get("plain.test") == b_ip + ":5269", out)
    check("... after asking for both SRV records",
          ("_xmpp-server._tcp.plain.test", 33) in w.dns.queries and
          ("_xmpps-server._tcp.plain.test", 33) in w.dns.queries, w.dns.queries)
    trap.close()
    alice.close()


def out_conns(out, remote):
    """{local: conn id} of the outgoing streams to `remote` in `mynactl s2s` output."""
    got = {}
    for line in out.splitlines():
        f = line.split()
        m = re.search(r" conn=(\d+)", line)
        if len(f) > 3 and f[0] == "out" and f[2] == remote and f[3] == "ready" and m:
            got[f[1]] = m.group(1)
    return got


def piggyback(w):
    w.certs("a.test", "b.test", "a2.test")
    # Without XEP-0288, so that a.test's own stream is the only way to b.test.
    a = fed.Myna(w, "a.test", 1, extra_hosts=["a2.test"], s2s_extra="bidi = false;",
                 users=(("alice", "alice-pw-1"), ("carol@a2.test", "carol-pw-3")))
    b = fed.Myna(w, "b.test", 2, s2s_extra="bidi = false;")
    a.start()
    b.start()
    alice = a.login("alice")
    carol = a.login("carol@a2.test")
    bob = b.login("bob")
    exchange(alice, bob, "alice@a.test", "bob@b.test", "piggyback")
    room = "lounge@conference.a.test"
    muc = "http://jabber.org/protocol/muc"
    alice.send("<presence to='%s/Alice'><x xmlns='%s'/></presence>" % (room, muc))
    alice.wait_for(lambda e: e.get("from") == room + "/Alice", 20, "alice in the room")
    r = alice.iq("set", "<query xmlns='%s#owner'><x xmlns='jabber:x:data' type='submit'/>"
                 "</query>" % muc, room)
    check("the room on a.test is created", r.get("type") == "result", X.show(r))
    bob.send("<presence to='%s/Bob'><x xmlns='%s'/></presence>" % (room, muc))
    p = bob.wait_for(lambda e: e.get("from") == room + "/Bob", 20, "bob's own presence")
    check("bob@b.test enters the room on conference.a.test", p.get("type") is None, X.show(p))
    alice.send("<message to='%s' type='groupchat'><body>room hello</body></message>" % room)
    m = bob.wait_for(is_msg("room hello", typ="groupchat"), 20, "room message")
    check("... and receives the room's message", m.get("from") == room + "/Alice", X.show(m))
    rc, out = a.ctl("s2s")
    conns = out_conns(out, "b.test")
    check("a.test and conference.a.test both send to b.test on one connection",
          set(conns) == {"a.test", "conference.a.test"} and len(set(conns.values())) == 1,
          out)
    rc, st = a.ctl("stats")
    check("... stats count one outgoing s2s connection", "s2s_out=1\n" in st, st)
    rc, bout = b.ctl("s2s")
    ins = [ln for ln in bout.splitlines() if ln.startswith("in b.test ")]
    check("b.test has one incoming stream, authenticated for both domains",
          len(ins) == 1 and " a.test " in ins[0] and "+conference.a.test" in ins[0], bout)
    log = open(b.log_path, errors="replace").read()
    check("... conference.a.test by a.test's certificate (XEP-0344: *.a.test)",
          "dialback for conference.a.test: valid (certificate)" in log, log[-2000:])

    # a2.test is served by the same server, but its certificate is not the stream's.
    bounced(carol, "bob@b.test", "remote-server-not-found", "a refused piggybacked pair")
    try:
        bob.wait_for(is_msg(frm="carol@a2.test"), 1, "carol's message")
        check("nothing from a2.test reached bob", False)
    except TimeoutError:
        check("nothing from a2.test reached bob", True)
    exchange(alice, bob, "alice@a.test", "bob@b.test", "after the refused pair")
    alice.send("<message to='%s' type='groupchat'><body>room again</body></message>" % room)
    bob.wait_for(is_msg("room again", typ="groupchat"), 20, "room message again")
    rc, out = a.ctl("s2s")
    check("the authenticated pairs kept their connection",
          out_conns(out, "b.test") == conns, out)
    rc, st = a.ctl("stats")
    check("... still one outgoing s2s connection", "s2s_out=1\n" in st, st)
    for cl in (alice, bob, carol):
        cl.close()


def untrusted_certs(w, *domains):
    """Certificates for `domains` from a CA nobody trusts, in their own directory."""
    d = os.path.join(w.tmp, "other-ca")
    w.certs(*domains, certdir=d)
    return d


def wrong_name_certs(w, domain, name):
    """A certificate for `name` (trusted CA) installed as `domain`'s."""
    import shutil
    d = os.path.join(w.tmp, "wrong-" + domain)
    os.makedirs(d, exist_ok=True)
    w.certs(name)
    for ext in ("crt", "key"):
        shutil.copy(os.path.join(w.certdir, "%s.%s" % (name, ext)),
                    os.path.join(d, "%s.%s" % (domain, ext)))
    return d


def bounced(client, to, cond, what, timeout=40):
    mid = "b-%d" % abs(hash(to + what))
    client.send("<message to='%s' type='chat' id='%s'><body>%s</body></message>"
                % (to, mid, what))
    e = client.wait_for(lambda e: e.get("id") == mid, timeout, "bounce " + what)
    got = X.stanza_error_condition(e)
    check("%s: the message bounces with %s" % (what, cond),
          e.get("type") == "error" and got == cond, X.show(e))


def dialback(w):
    w.certs("a.test", "b.test")  # the CA everyone trusts (the certificates go unused)
    other = untrusted_certs(w, "a.test", "b.test")
    # Without XEP-0288, so that each side opens its own stream and dialback runs both ways.
    wrong = wrong_name_certs(w, "c.test", "somebody-else.test")
    a = fed.Myna(w, "a.test", 1, certdir=other, policy="dialback", s2s_extra="bidi = false;")
    b = fed.Myna(w, "b.test", 2, certdir=other, policy="dialback", s2s_extra="bidi = false;")
    c = fed.Myna(w, "c.test", 3, certdir=wrong, policy="dialback",
                 s2s_extra="bidi = false; retries = 0;")
    a.start()
    b.start()
    c.start()
    alice = a.login_other("alice", other)
    bob = b.login_other("bob", other)
    exchange(alice, bob, "alice@a.test", "bob@b.test", "dialback")
    rc, out = a.ctl("s2s")
    check("dialback: both streams authenticated", "out a.test b.test ready" in out and
          "in a.test b.test authenticated" in out, out)
    log = open(a.log_path, errors="replace").read()
    check("dialback: b.test was verified by a callback",
          "dialback for b.test: valid" in log and "(certificate)" not in log, log[-3000:])
    check("... whose untrusted certificate the verification connection tolerated (policy)",
          "a.test -> b.test: verification connection: certificate not verified" in log,
          log[-3000:])
    carol = c.login_other("alice", wrong, name="alice@c.test")
    exchange(carol, alice, "alice@c.test", "alice@a.test",
             "dialback with a hosting provider's certificate")
    log = open(a.log_path, errors="replace").read()
    check("... a.test logged that certificate on the verification connection",
          "a.test -> c.test: verification connection: certificate not verified (the "
          "certificate does not name the domain)" in log and "dialback for c.test: valid" in log,
          log[-3000:])
    carol.close()
    secret = os.path.join(b.dir, "data", "dialback.secret")
    before = open(secret, "rb").read()
    check("the dialback secret is kept in the data directory (32 bytes, mode 600)",
          len(before) == 32 and (os.stat(secret).st_mode & 0o777) == 0o600)
    bob.close()
    b.stop()
    b.start()
    check("the dialback secret survives a restart", open(secret, "rb").read() == before)
    bob = b.login_other("bob", other)
    exchange(alice, bob, "alice@a.test", "bob@b.test", "dialback after restart")
    alice.close()
    bob.close()


def refused(w):
    w.certs("a.test", "d.test")
    other = untrusted_certs(w, "b.test")
    wrong = wrong_name_certs(w, "c.test", "somebody-else.test")
    # a.test requires verified certificates (the default); b.test's is from an unknown CA,
    # c.test's names another domain; d.test is denied by policy.
    a = fed.Myna(w, "a.test", 1, s2s_extra='retries = 0;\n    domains = ( '
                 '{ domain = "b.test"; host = "%s"; }, { domain = "c.test"; host = "%s"; }, '
                 '{ domain = "d.test"; host = "%s"; policy = "deny"; } );'
                 % (w.ip(2), w.ip(3), w.ip(4)), routes={})
    b = fed.Myna(w, "b.test", 2, certdir=other, policy="dialback", s2s_extra="retries = 0;")
    c = fed.Myna(w, "c.test", 3, certdir=wrong, policy="dialback", s2s_extra="retries = 0;")
    d = fed.Myna(w, "d.test", 4, s2s_extra="retries = 0;")
    for n in (a, b, c, d):
        n.start()
    alice = a.login("alice")
    bob = b.login_other("bob", other)
    carol = c.login_other("alice", wrong, name="alice@c.test")
    dave = d.login("alice")
    bounced(alice, "bob@b.test", "remote-server-not-found", "to an untrusted certificate")
    bounced(alice, "alice@c.test", "remote-server-not-found", "to a wrong-name certificate")
    bounced(alice, "alice@d.test", "remote-server-not-found", "to a denied domain")
    bounced(bob, "alice@a.test", "remote-server-not-found",
            "from an untrusted certificate (dialback refused by policy)")
    bounced(carol, "alice@a.test", "remote-server-not-found",
            "from a wrong-name certificate (dialback refused by policy)")
    bounced(dave, "alice@a.test", "remote-server-not-found", "from a denied domain")
    log = open(a.log_path, errors="replace").read()
    check("a.test says why it refused b.test's certificate",
          "Certificate of b.test not accepted" in log, log[-2000:])
    try:
        alice.wait_for(is_msg(), 1, "anything")
        check("nothing reached alice@a.test", False)
    except TimeoutError:
        check("nothing reached alice@a.test", True)
    for cl in (alice, bob, carol, dave):
        cl.close()


def metrics(w):
    w.certs("a.test", "b.test")
    a = fed.Myna(w, "a.test", 1, s2s_extra="bidi = false;", metrics_port=5280)
    b = fed.Myna(w, "b.test", 2, s2s_extra="bidi = false;", metrics_port=5280)
    a.start()
    b.start()
    IN, OUT = 'myna_s2s_connections{direction="in"}', 'myna_s2s_connections{direction="out"}'

    def gauges(n):
        m = n.metrics()
        return m.get(IN), m.get(OUT)

    def settle(n, want, what):
        end = time.time() + 20
        while time.time() < end and gauges(n) != want:
            time.sleep(0.2)
        check("%s: %s in/out %s" % (n.domain, what, want), gauges(n) == want, gauges(n))

    check("no s2s connection at first", gauges(a) == (0, 0) and gauges(b) == (0, 0),
          (gauges(a), gauges(b)))
    alice, bob = a.login("alice"), b.login("bob")
    exchange(alice, bob, "alice@a.test", "bob@b.test", "metrics")
    for n in (a, b):
        settle(n, (1, 1), "messages both ways")
        _, out = n.ctl("stats")
        stats = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        check("%s: /metrics agrees with mynactl stats" % n.domain,
              (float(stats.get("s2s_in", -1)), float(stats.get("s2s_out", -1))) == gauges(n),
              out)
    rc, out = a.ctl("s2s", "close", "b.test")
    check("mynactl s2s close", rc == 0, out)
    settle(a, (0, 0), "closed")
    settle(b, (0, 0), "closed by the peer")
    alice.close()
    bob.close()


if __name__ == "__main__":
    sys.exit(fed.main({"external": external, "hostile": hostile, "dialback": dialback,
                       "refused": refused, "piggyback": piggyback,
                       "flood": flood, "limits": limits,
                       "dns": dns, "metrics": metrics}, sys.argv[1:]))
