"""tests/modules/test_resume.py — XEP-0198 resumption (§5) with a raw client that counts
every stanza it parsed (its h) and remembers the messages it saw. The server runs with a
3 s resumption timeout and a cap of 50 unacknowledged stanzas (resume.sh).

- The TCP connection is cut (closed without </stream:stream>, or reset) while 40 messages
  are in flight; a new stream resumes: the client sees every message exactly once, in order,
  across both streams; the sender gets no error.
- A resume while the old stream is still open takes the session over; the old stream gets
  <conflict/>.
- <enabled/> carries the client's max up to the server's, and the listener's location, else
  the host's.
- Unknown, foreign (another account's) and expired ids fail with item-not-found (h only for
  this account's expired id) and the stream can still bind.
- Not resumed in time: iq requests waiting for the session get an error, contacts see it
  unavailable only then, and its unacknowledged messages reach offline storage before the
  messages stored while it was held (it had negative priority): the next login gets them
  all in the order they were sent.
- Binding the held session's resource anew ends the held session (its messages come back
  through offline storage), and its id no longer resumes.
- A client that never acknowledges is closed with policy-violation past the cap; nothing
  is lost.
- A clean shutdown (SIGTERM) while a session is held puts what waited for it into offline
  storage: the next login after the restart gets it."""
import os
import socket
import struct
import subprocess
import time

import modlib as M
import xmpplib as X

NS_SM = "urn:xmpp:sm:3"
STANZAS = {M.q(M.C, n) for n in ("message", "presence", "iq")}
TIMEOUT_S = 3  # sm_resume_timeout in resume.sh


class SMStream(X.Stream):
    """Counts every stanza it parses after <enabled/> or <resumed/> (XEP-0198 h, mod 2^32;
    after <resumed/> from the h it sent in <resume/>) and keeps the bodies of the messages,
    in order, with the h each one made. The stanzas the server sends right after either
    answer may arrive in the same TLS record as the answer: they are counted too."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.counting, self.h, self.bodies, self.h_at = False, 0, [], {}
        self.resume_h = None

    def _feed(self, data):
        before = len(self.pending)
        super()._feed(data)
        for el in self.pending[before:]:
            if el.tag == M.q(NS_SM, "enabled"):
                self.counting = True
            elif el.tag == M.q(NS_SM, "resumed") and self.resume_h is not None:
                self.counting, self.h = True, self.resume_h
            elif self.counting and el.tag in STANZAS:
                self.h = (self.h + 1) % 2 ** 32
                b = el.find(M.q(M.C, "body"))
                if el.tag == M.q(M.C, "message") and b is not None:
                    self.bodies.append(b.text)
                    self.h_at[b.text] = self.h


def authed(user, name, direct=False):
    port = M.E["direct_port"] if direct else M.E["starttls_port"]
    s = SMStream(M.E["ip"], port, M.D, M.E["cafile"], direct_tls=direct, name=name)
    s.open()
    if not direct:
        s.starttls()
    ok, el = s.auth(user, M.PW[user], "PLAIN")
    M.expect(ok, "%s: login failed: %s" % (name, M.show(el)))
    return s


def sm_el(s, names, what):
    return s.wait_for(lambda e: e.tag in [M.q(NS_SM, n) for n in names], what=what)


def enable(s, attrs=" resume='true'"):
    s.send("<enable xmlns='%s'%s/>" % (NS_SM, attrs))
    el = sm_el(s, ("enabled", "failed"), "<enabled/>")
    M.expect(el.tag == M.q(NS_SM, "enabled"), "enable refused: %s" % M.show(el))
    s.counting = True
    return el


def sm_login(user, resource, presence="<presence/>", attrs=" resume='true'"):
    s = authed(user, "%s/%s" % (user, resource))
    s.bind(resource)
    el = enable(s, attrs)
    s.smid = el.get("id")
    M.expect(el.get("resume") in ("true", "1") and s.smid and len(s.smid) >= 16,
             "no resumable session: %s" % M.show(el))
    if presence:
        s.send(presence)
    M.barrier(s)
    return s


def resume(user, previd, h, name):
    """A new stream for `user` sends <resume/>; returns (stream, answer element)."""
    s = authed(user, name)
    s._new_parser()
    s.open()
    M.expect(s.features.find(M.q(NS_SM, "sm")) is not None, "no <sm/> feature")
    s.resume_h = h
    s.send("<resume xmlns='%s' previd='%s' h='%d'/>" % (NS_SM, previd, h))
    el = sm_el(s, ("resumed", "failed"), "<resumed/> or <failed/>")
    return s, el


def cut(s, reset=False):
    """The client's connection dies: no </stream:stream>, no TLS close_notify; with
    `reset` the kernel sends RST instead of FIN."""
    if reset:
        s.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.sock.close()


def stats():
    out = subprocess.run([os.environ["E2E_MYNACTL"], "-c", os.environ["E2E_CONF"], "stats"],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    return dict(line.split("=", 1) for line in out.splitlines() if line.startswith("sm."))


def all_stats():
    out = subprocess.run([os.environ["E2E_MYNACTL"], "-c", os.environ["E2E_CONF"], "stats"],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def wait_held(n):
    """Until the server holds n sessions (mynactl stats: sm.held), e.g. once it has seen a
    cut connection."""
    deadline = time.time() + 20
    while int(stats()["sm.held"]) != n:
        if time.time() > deadline:
            raise X.Fail("the server holds %s sessions, expected %d" % (stats()["sm.held"], n))
        time.sleep(0.05)


def msg(to, body, typ="chat"):
    return "<message to='%s' type='%s'><body>%s</body></message>" % (to, typ, body)


def errors(els):
    return [M.show(e) for e in els if e.get("type") == "error"]


def wait_body(s, body, what=None):
    s.wait_for(lambda e: e.tag == M.q(M.C, "message") and
               e.findtext(M.q(M.C, "body")) == body, what=what or "message %s" % body)


def resume_in_flight(reset):
    u, a = ("u00", "u01") if not reset else ("u02", "u03")
    B = sm_login(u, "phone")
    A = M.connect(a, "a")
    want = ["m%02d" % i for i in range(1, 41)]
    for w in want[:30]:
        A.send(msg(B.jid, w))
    wait_body(B, "m10")  # the client handled some; the rest is in flight
    sent_by_b = 1         # its presence after <enable/>
    sent_by_b += 1        # the barrier's ping
    cut(B, reset)
    for w in want[30:]:
        A.send(msg(B.jid, w))
    M.barrier(A)
    seen = list(B.bodies)
    B2, el = resume(u, B.smid, B.h, "%s/again" % u)
    M.expect(el.tag == M.q(NS_SM, "resumed") and el.get("previd") == B.smid,
             "resume failed: %s" % M.show(el))
    M.expect(el.get("h") == str(sent_by_b),
             "server handled %s of the client's stanzas, it sent %d" % (el.get("h"), sent_by_b))
    wait_body(B2, "m40")
    M.barrier(B2)
    got = seen + B2.bodies
    M.expect(got == want, "after the cut and resume the client saw %s" % got)
    # The session is the same one: its full JID still gets messages on the new stream.
    A.send(msg(B.jid, "after"))
    wait_body(B2, "after")
    M.expect(errors(M.drain(A)) == [], "the sender got errors")
    B2.send("<a xmlns='%s' h='%d'/>" % (NS_SM, B2.h))
    M.barrier(B2)
    A.close(), B2.close()


def resume_after_close():
    resume_in_flight(False)


def resume_after_reset():
    resume_in_flight(True)


def resume_old_stream_open():
    B = sm_login("u04", "phone")
    A = M.connect("u05", "a")
    A.send(msg(B.jid, "one"))
    wait_body(B, "one")
    B2, el = resume("u04", B.smid, B.h, "u04/new")
    M.expect(el.tag == M.q(NS_SM, "resumed"), "resume failed: %s" % M.show(el))
    B.expect_stream_error(["conflict"])
    A.send(msg(B.jid, "two"))
    wait_body(B2, "two")
    M.expect(B2.bodies == ["two"], "new stream got %s" % B2.bodies)
    A.close(), B2.close()


def resume_failures():
    B = sm_login("u06", "phone")
    C = sm_login("u07", "phone")
    # Unknown id: failed, no h, and the same stream can bind.
    s, el = resume("u06", "0123456789abcdef0123456789abcdef", 0, "u06/unknown")
    M.expect(el.tag == M.q(NS_SM, "failed") and el.get("h") is None and
             el.find(M.q(X.NS_STANZAS_ERR, "item-not-found")) is not None,
             "unknown id: %s" % M.show(el))
    s.iq("set", "<bind xmlns='%s'><resource>fresh</resource></bind>" % X.NS_BIND)
    s.ping()
    s.close()
    # Another account's id: the same answer, nothing about that session, which goes on.
    s, el = resume("u06", C.smid, 0, "u06/foreign")
    M.expect(el.tag == M.q(NS_SM, "failed") and el.get("h") is None and
             el.find(M.q(X.NS_STANZAS_ERR, "item-not-found")) is not None,
             "foreign id: %s" % M.show(el))
    s.close()
    A = M.connect("u08", "a")
    A.send(msg(C.jid, "still-here"))
    wait_body(C, "still-here")
    C.close()
    # Expired: the client asked for max=1; resumed after the session ended.
    E = sm_login("u09", "phone", attrs=" resume='true' max='1'")
    A.send(msg(E.jid, "x"))
    wait_body(E, "x")
    e_in = 2  # presence and the barrier's ping
    cut(E)
    iq_to_held(A, E.jid)
    s, el = resume("u09", E.smid, E.h, "u09/late")
    M.expect(el.tag == M.q(NS_SM, "failed") and
             el.find(M.q(X.NS_STANZAS_ERR, "item-not-found")) is not None and
             el.get("h") == str(e_in), "expired id: %s" % M.show(el))
    s.close(), A.close(), B.close()


def iq_to_held(A, full):
    """An iq request to a held session waits; it is answered with an error when the session
    ends (the resumption timeout). Returns once that happened."""
    iid = A.next_id()
    A.send("<iq type='get' id='%s' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>" % (iid, full))
    r = A.wait_for(lambda e: e.tag == M.q(M.C, "iq") and e.get("id") == iid,
                   timeout=TIMEOUT_S + 20, what="the iq's answer")
    M.expect(r.get("type") == "error", "iq to a held session: %s" % M.show(r))
    return r


def befriend(u, c):
    U, C = M.connect(u, "setup"), M.connect(c, "setup")
    for typ in ("subscribe", "subscribed"):
        for s, o in ((U, M.jid(c)), (C, M.jid(u))):
            s.send("<presence type='%s' to='%s'/>" % (typ, o))
            M.barrier(s, U, C)
    U.close(), C.close()


def timeout_to_offline_in_order():
    befriend("u10", "u12")
    C = M.connect("u12", "watch")
    B = sm_login("u10", "phone", presence="<presence><priority>-1</priority></presence>")
    A = M.connect("u11", "a")
    for w in ("o1", "o2", "o3"):
        A.send(msg(B.jid, w))
    wait_body(B, "o3")
    B.send("<a xmlns='%s' h='%d'/>" % (NS_SM, B.h_at["o1"]))  # only o1 acknowledged
    M.barrier(B)
    M.drain(C)
    t0 = time.time()
    cut(B)
    # Held: to the bare JID these go to offline storage (its priority is negative), newer
    # than o2 and o3, which wait unacknowledged in the held session.
    for w in ("o4", "o5"):
        A.send(msg(M.jid("u10"), w))
    M.barrier(A, C)
    M.expect(not [e for e in M.drain(C) if M.is_presence(e, "unavailable")],
             "contacts saw the held session go unavailable")
    iq_to_held(A, B.jid)
    M.expect(time.time() - t0 >= TIMEOUT_S - 0.5, "the session ended before its timeout")
    un = C.wait_for(lambda e: M.is_presence(e, "unavailable", B.jid), timeout=10,
                    what="unavailable presence after the timeout")
    M.expect(un.get("from") == B.jid, "unavailable from %s" % un.get("from"))
    A.send(msg(M.jid("u10"), "o6"))
    M.barrier(A)
    B2 = M.connect("u10", "laptop")
    els = M.drain(B2)
    got = [e.findtext(M.q(M.C, "body")) for e in els if e.tag == M.q(M.C, "message")]
    M.expect(got == ["o2", "o3", "o4", "o5", "o6"], "offline after the timeout: %s" % got)
    d = [e for e in els if e.tag == M.q(M.C, "message")][0].find(M.q("urn:xmpp:delay", "delay"))
    M.expect(d is not None and d.get("stamp"), "a rerouted message has no <delay/>")
    A.close(), B2.close(), C.close()


def rebind_ends_held():
    B = sm_login("u13", "phone")
    A = M.connect("u14", "a")
    A.send(msg(B.jid, "p1"))
    wait_body(B, "p1")
    cut(B)
    M.barrier(A)
    time.sleep(0.3)  # let the server see the close (either way the result is the same)
    B2 = M.connect("u13", "phone")
    got = [e.findtext(M.q(M.C, "body")) for e in M.drain(B2) if e.tag == M.q(M.C, "message")]
    M.expect(got == ["p1"], "the replaced held session's message: %s" % got)
    s, el = resume("u13", B.smid, B.h, "u13/late")
    M.expect(el.tag == M.q(NS_SM, "failed"), "resume after a rebind: %s" % M.show(el))
    s.close(), A.close(), B2.close()


def unacked_cap():
    B = sm_login("u15", "phone")
    A = M.connect("u16", "a")
    want = ["c%02d" % i for i in range(60)]
    for w in want:
        A.send(msg(B.jid, w))
    B.expect_stream_error(["policy-violation"])
    M.barrier(A)
    B2 = M.connect("u15", "laptop")
    got = [e.findtext(M.q(M.C, "body")) for e in M.drain(B2) if e.tag == M.q(M.C, "message")]
    M.expect(got == want, "after the cap: %s" % got)
    A.close(), B2.close()


def location_and_max():
    s = authed("u17", "u17/max")
    s.bind("r")
    el = enable(s, " resume='true' max='2'")
    M.expect(el.get("max") == "2", "client's max not honoured: %s" % M.show(el))
    s.close()
    s = authed("u17", "u17/big")
    s.bind("r2")
    el = enable(s, " resume='1' max='100000'")
    M.expect(el.get("max") == str(TIMEOUT_S), "max above the server's: %s" % M.show(el))
    M.expect(el.get("location") == "[2001:db8::7]:5222", "the listener's location: %s"
             % M.show(el))
    s.close()
    s = authed("u17", "u17/direct", direct=True)
    s.bind("r4")
    el = enable(s)
    M.expect(el.get("location") == "resume.myna.test:5222", "the host's location: %s"
             % M.show(el))
    s.close()
    s = authed("u17", "u17/none")
    s.bind("r3")
    el = enable(s, "")
    M.expect(el.get("id") is None and el.get("resume") is None, "not asked: %s" % M.show(el))
    s.close()


def csi_held_presence_resumed():
    """A contact's presence that CSI holds back (client inactive) when the stream breaks is
    delivered on the resumed stream. (Any stanza to B would flush what CSI holds, so B
    gets no barrier after <inactive/>: C's barrier orders C's presence before the cut.)"""
    befriend("u24", "u25")
    B = sm_login("u24", "phone")
    C = M.connect("u25", "c")
    B.wait_for(lambda e: M.is_presence(e, frm=M.jid("u25")), what="C's presence")
    B.send("<inactive xmlns='urn:xmpp:csi:0'/>")
    M.barrier(B)
    C.send("<presence><show>away</show><status>held</status></presence>")
    M.barrier(C)
    cut(B)
    wait_held(1)
    B2, el = resume("u24", B.smid, B.h, "u24/again")
    M.expect(el.tag == M.q(NS_SM, "resumed"), "resume: %s" % M.show(el))
    p = B2.wait_for(lambda e: M.is_presence(e, frm=M.jid("u25")), what="the held presence")
    M.expect(p.findtext(M.q(M.C, "status")) == "held", "got %s" % M.show(p))
    B2.close(), C.close()


def tables_back_to_baseline():
    """After resumes, cuts, rebinds and clean closes, `mynactl stats` shows the XEP-0198
    tables and the output queues empty again (what bench/soak.sh watches over hours)."""
    wait_held(0)  # earlier cases' held sessions time out first
    B = sm_login("u26", "phone")
    A = M.connect("u27", "a")
    A.send(msg(B.jid, "t1"))
    wait_body(B, "t1")
    cut(B, reset=True)
    wait_held(1)
    B2, el = resume("u26", B.smid, B.h, "u26/again")
    M.expect(el.tag == M.q(NS_SM, "resumed"), "resume: %s" % M.show(el))
    C = sm_login("u28", "c")
    cut(C)
    wait_held(1)
    C2 = M.connect("u28", "c")  # the rebind ends the held session
    B2.close(), C2.close(), A.close()
    deadline = time.time() + 20
    want = {"sessions": "0", "sm.held": "0", "sm.ids": "0", "queued_bytes": "0",
            "pending_iqs": "0", "streams": "0"}
    while True:
        st = all_stats()
        got = {k: st.get(k) for k in want}
        if got == want:
            break
        M.expect(time.time() < deadline, "after every session ended: %s" % got)
        time.sleep(0.05)


def shutdown_keeps_messages():
    """SIGTERM while a session is held: what waited for it is in offline storage after the
    restart, in order."""
    B = sm_login("u18", "phone")
    A = M.connect("u19", "a")
    A.send(msg(B.jid, "s1"))
    wait_body(B, "s1")
    before = int(stats()["sm.expired"])
    cut(B)
    # Held (or, on a slow machine, already past the 3 s timeout): either way both
    # messages must be in offline storage after the restart.
    deadline = time.time() + 20
    while int(stats()["sm.held"]) != 1 and int(stats()["sm.expired"]) == before:
        M.expect(time.time() < deadline, "the server never saw the cut")
        time.sleep(0.05)
    A.send(msg(B.jid, "s2"))
    M.barrier(A)
    A.close()
    X.server_control("stop")
    X.server_control("start")
    B2 = M.connect("u18", "laptop")
    got = [e.findtext(M.q(M.C, "body")) for e in M.drain(B2) if e.tag == M.q(M.C, "message")]
    M.expect(got == ["s1", "s2"], "after a shutdown with a held session: %s" % got)
    B2.close()


if __name__ == "__main__":
    raise SystemExit(M.run([
        ("location_and_max", location_and_max),
        ("resume_after_close", resume_after_close),
        ("resume_after_reset", resume_after_reset),
        ("resume_old_stream_open", resume_old_stream_open),
        ("resume_failures", resume_failures),
        ("timeout_to_offline_in_order", timeout_to_offline_in_order),
        ("rebind_ends_held", rebind_ends_held),
        ("unacked_cap", unacked_cap),
        ("csi_held_presence_resumed", csi_held_presence_resumed),
        ("tables_back_to_baseline", tables_back_to_baseline),
        ("shutdown_keeps_messages", shutdown_keeps_messages)]))
