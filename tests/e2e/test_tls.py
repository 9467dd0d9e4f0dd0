"""tests/e2e/test_tls.py — the TLS layer under real OpenSSL clients (openssl s_client and
Python's ssl): TLS 1.3 KeyUpdate in both directions on the compact record layer (RFC 8446
§4.6.3), TLS 1.2 clients (which keep OpenSSL's record layer) with ECDHE and AEAD ciphers
only, tls-unique offered for SCRAM-PLUS only with the extended master secret (RFC 7627,
RFC 9266 §1), TLS 1.3 resumption with session tickets (RFC 8446 §2.2: full and resumed
handshakes both hand over to the compact record layer after their tickets), and TLS 1.1
refused. Each exchange must carry XMPP data after the event,
proving both sides still decrypt what the other sends."""
import os
import ssl
import subprocess
import sys
import time

import xmpplib as X

E = X.env()
HEADER = ("<stream:stream to='%s' xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>\n" % E["domain"])


def s_client(lines, *opts):
    """Runs s_client against the direct-TLS port, feeding `lines` with pauses; returns
    (exit code, everything it printed)."""
    cmd = ["openssl", "s_client", "-connect", "%s:%d" % (E["ip"], E["direct_port"]),
           "-servername", E["domain"], "-CAfile", E["cafile"], "-verify_return_error",
           "-quiet", "-ign_eof"] + list(opts)
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    for line in lines:
        time.sleep(0.4)
        try:
            p.stdin.write(line.encode())
            p.stdin.flush()
        except BrokenPipeError:
            break
    time.sleep(0.8)
    try:
        p.stdin.close()
    except BrokenPipeError:
        pass
    p.stdin = None  # communicate() must not touch it again
    try:
        out, _ = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    return p.returncode, out.decode(errors="replace")


def key_update_requested():
    # "K": KeyUpdate with update_requested: the server must switch its receive keys, answer
    # with its own KeyUpdate and switch its send keys; the stanza after it must get its
    # stream error back, readable.
    rc, out = s_client([HEADER, "K\n", "<iq type='get' id='k1'><ping xmlns='urn:xmpp:ping'/></iq>\n"],
                       "-tls1_3")
    if "<stream:features>" not in out or "not-authorized" not in out:
        raise X.Fail("after KeyUpdate: expected features then <not-authorized/>, got %r"
                     % out[-400:])


def key_update_not_requested():
    rc, out = s_client([HEADER, "k\n", "</stream:stream>\n"], "-tls1_3")
    if "<stream:features>" not in out or not out.rstrip().endswith("</stream:stream>"):
        raise X.Fail("after KeyUpdate (not requested): expected </stream:stream>, got %r"
                     % out[-400:])


def tls12_client():
    rc, out = s_client([HEADER, "</stream:stream>\n"], "-tls1_2")
    if "<stream:features>" not in out or "</stream:stream>" not in out:
        raise X.Fail("TLS 1.2 client: got %r" % out[-400:])


def s_client_once(data, *opts):
    """Runs s_client with all of `data` at once; returns what it printed."""
    cmd = ["openssl", "s_client", "-connect", "%s:%d" % (E["ip"], E["direct_port"]),
           "-servername", E["domain"], "-CAfile", E["cafile"], "-verify_return_error",
           "-quiet", "-ign_eof"] + list(opts)
    p = subprocess.run(cmd, input=data.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=20)
    return p.stdout.decode(errors="replace")


def tls12_ciphers():
    # Forward secrecy and AEAD only: ECDHE with AES-GCM or ChaCha20-Poly1305 (the test
    # certificate is ECDSA; the RSA variants are the same list for RSA certificates).
    for c in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
              "ECDHE-ECDSA-CHACHA20-POLY1305"):
        out = s_client_once(HEADER + "</stream:stream>\n", "-tls1_2", "-cipher", c)
        if "<stream:features>" not in out:
            raise X.Fail("TLS 1.2 with %s refused: %r" % (c, out[-300:]))
    for c in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA256",
              "ECDHE-ECDSA-AES256-SHA384", "AES128-GCM-SHA256", "AES128-SHA",
              "DHE-RSA-AES128-GCM-SHA256"):
        out = s_client_once(HEADER + "</stream:stream>\n", "-tls1_2", "-cipher", c)
        if "<stream:features>" in out:
            raise X.Fail("TLS 1.2 with %s (CBC or no ECDHE) accepted" % c)


def tls12_stream(ems):
    """A direct TLS 1.2 stream, with or without the extended master secret."""
    s = X.Stream(E["ip"], E["direct_port"], E["domain"], E["cafile"], name="tls12")
    ctx = ssl.create_default_context(cafile=E["cafile"])
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if not ems:
        ctx.options |= 0x1  # SSL_OP_NO_EXTENDED_MASTER_SECRET (OpenSSL 3.0)
    s.sock = ctx.wrap_socket(s.sock, server_hostname=E["domain"])
    s.tls = True
    s.open()
    return s


def cb_types(s):
    el = s.features.find("{urn:xmpp:sasl-cb:0}sasl-channel-binding")
    return [c.get("type") for c in el] if el is not None else []


def tls_unique(s):
    return s.sock.get_channel_binding("tls-unique")


def tls_unique_with_ems():
    user, pw = E["users"][0]
    s = tls12_stream(True)
    if "tls-unique" not in cb_types(s):
        raise X.Fail("tls-unique not offered with the extended master secret: %s"
                     % cb_types(s))
    ok, el = s.auth(user, pw, "SCRAM-SHA-256-PLUS", cb_type="tls-unique", cb_data=tls_unique(s))
    if not ok:
        raise X.Fail("SCRAM-SHA-256-PLUS with tls-unique refused: %s" % X.show(el))
    s.close()


def tls_unique_without_ems():
    # Without it a triple handshake makes tls-unique relayable (RFC 7627 §1): only
    # tls-server-end-point is offered, and a client that binds to tls-unique is refused.
    user, pw = E["users"][0]
    s = tls12_stream(False)
    if cb_types(s) != ["tls-server-end-point"]:
        raise X.Fail("without EMS expected only tls-server-end-point, got %s" % cb_types(s))
    ok, el = s.auth(user, pw, "SCRAM-SHA-256-PLUS", cb_type="tls-unique", cb_data=tls_unique(s))
    if ok:
        raise X.Fail("SCRAM-SHA-256-PLUS with tls-unique accepted without EMS")
    s.close()
    s = tls12_stream(False)
    ok, el = s.auth(user, pw, "SCRAM-SHA-256-PLUS")
    if not ok:
        raise X.Fail("tls-server-end-point refused without EMS: %s" % X.show(el))
    s.close()


def tls13_stream(ctx, session, starttls, name):
    """A TLS 1.3 stream on `ctx`, resuming `session` if given, direct or with STARTTLS."""
    port = E["starttls_port"] if starttls else E["direct_port"]
    s = X.Stream(E["ip"], port, E["domain"], E["cafile"], name=name)
    if starttls:
        s.open()
        s.send("<starttls xmlns='%s'/>" % X.NS_TLS)
        if s.next().tag != X.q(X.NS_TLS, "proceed"):
            raise X.Fail("%s: STARTTLS not accepted" % name)
    s.sock = ctx.wrap_socket(s.sock, server_hostname=E["domain"], session=session)
    s.tls = True
    s._new_parser()
    s.open()
    return s


def message_to(s, to, body):
    s.send("<message to='%s' type='chat'><body>%s</body></message>" % (to, body))


def expect_body(s, body):
    def is_it(el):
        return el.tag == X.q(X.NS_CLIENT, "message") and \
            el.findtext(X.q(X.NS_CLIENT, "body")) == body
    s.wait_for(is_it, what="message %r..." % body[:20])


def exchange(a, b, tag):
    """Messages both ways, 40,000 bytes of them to `a` at once (several TLS records): each
    side decrypts what the compact record layer sealed, so its sequence numbers are right."""
    message_to(a, b.jid, tag + " from a")
    expect_body(b, tag + " from a")
    for i in range(20):
        message_to(b, a.jid, "%s %d %s" % (tag, i, "x" * 2000))
    for i in range(20):
        expect_body(a, "%s %d %s" % (tag, i, "x" * 2000))
    message_to(b, a.jid, tag + " from b")
    expect_body(a, tag + " from b")


def resumed_login():
    # RFC 8446 §2.2: the tickets sent after a handshake (full or resumed) move the server's
    # send sequence before the compact record layer takes over (server/net/tlsrec.c).
    user, pw = E["users"][0]
    buser, bpw = E["users"][1]
    b = X.login(E, buser, bpw, resource="peer", presence=True)
    ctx = ssl.create_default_context(cafile=E["cafile"])
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    session = None
    # Full handshake, then a resumption of its ticket (direct TLS), then a resumption of
    # the ticket the resumed connection got (STARTTLS).
    for round_, starttls in ((0, False), (1, False), (2, True)):
        a = tls13_stream(ctx, session, starttls, "resume%d" % round_)
        if a.sock.version() != "TLSv1.3":
            raise X.Fail("expected TLS 1.3, got %s" % a.sock.version())
        if a.sock.session_reused != (round_ > 0):
            raise X.Fail("round %d: session_reused is %s" % (round_, a.sock.session_reused))
        ok, el = a.auth(user, pw, "PLAIN")
        if not ok:
            raise X.Fail("round %d: login failed: %s" % (round_, X.show(el)))
        a.bind("r%d" % round_)
        a.send("<presence/>")
        exchange(a, b, "round%d" % round_)
        session = a.sock.session
        if session is None or not session.has_ticket:
            raise X.Fail("round %d: no session ticket received" % round_)
        a.close()
    b.close()


def one_ticket_per_handshake():
    # RFC 8446 §4.6.1: Myna sends one NewSessionTicket after a full handshake and one after
    # a resumed one (an XMPP client keeps one connection; a second ticket was wasted work).
    import re
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        sess = os.path.join(d, "sess.pem")
        for round_, opts in ((0, ["-sess_out", sess]), (1, ["-sess_in", sess])):
            out = s_client_once(HEADER + "</stream:stream>\n", "-tls1_3", "-msg", *opts)
            tickets = len(re.findall(r"<<< .*NewSessionTicket", out))
            if tickets != 1:
                raise X.Fail("round %d: %d session tickets, want 1" % (round_, tickets))
            resumed = not re.search(r"<<< .*Handshake .*Certificate\b", out)
            if resumed != (round_ == 1):
                raise X.Fail("round %d: resumed is %s" % (round_, resumed))


def tls11_refused():
    rc, out = s_client([HEADER], "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    if "<stream:features>" in out:
        raise X.Fail("a TLS 1.1 client got a stream")


if E["server"] != "myna" or not E["direct_port"]:
    print("SKIP: needs Myna with a direct TLS listener")
    sys.exit(77)
sys.exit(X.run([("TLS 1.3 KeyUpdate, update requested", key_update_requested),
                ("TLS 1.3 KeyUpdate, not requested", key_update_not_requested),
                ("TLS 1.2 client", tls12_client),
                ("TLS 1.2 ciphers: ECDHE and AEAD only", tls12_ciphers),
                ("TLS 1.2 tls-unique with extended master secret", tls_unique_with_ems),
                ("TLS 1.2 no tls-unique without extended master secret",
                 tls_unique_without_ems),
                ("TLS 1.3 resumed logins (tickets, record layer handed over)",
                 resumed_login),
                ("TLS 1.3 one session ticket per handshake, full and resumed",
                 one_ticket_per_handshake),
                ("TLS 1.1 refused", tls11_refused)]))
