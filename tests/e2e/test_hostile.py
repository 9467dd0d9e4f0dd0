"""tests/e2e/test_hostile.py — hostile raw XML against the server (RFC 6120 §4.9.3, §11).

Each case opens a fresh stream, sends bad bytes either before TLS or after logging in, and
asserts the exact stream error, then </stream:stream>, then the TCP close. A healthy session
(logged in before all cases) must still answer a ping after every case, and a message with a
jid-malformed address gets a stanza error without losing the stream.
"""
import sys

import xmpplib as X

E = X.env()
USER, PW = E["users"][0]
LIMIT = E["limit"]
healthy = None

BILLION_LAUGHS = ("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
                  "<!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"
                  "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>]>")


def stream_header(to=None, ns=X.NS_CLIENT, stream_ns=X.NS_STREAM):
    return ("<stream:stream to='%s' version='1.0' xmlns='%s' xmlns:stream='%s'>"
            % (to or E["domain"], ns, stream_ns))


def fresh(phase):
    """A stream ready for stanzas: 'plain' = header sent, pre-TLS; 'auth' = logged in."""
    if phase == "auth":
        return X.login(E, USER, PW, resource="hostile", name="hostile")
    s = X.Stream(E["ip"], E["starttls_port"], E["domain"], E["cafile"], name="hostile")
    s.open()
    return s


def check_healthy():
    healthy.ping()


def case(phase, payload, conditions):
    def run():
        s = fresh(phase)
        try:
            s.send(payload)
            s.expect_stream_error(conditions)
        finally:
            s.close()
        check_healthy()
    return run


def header_case(raw, conditions):
    """Bad bytes at the very start of the connection (no valid header before them)."""
    def run():
        s = X.Stream(E["ip"], E["starttls_port"], E["domain"], E["cafile"], name="hostile")
        try:
            s.send(raw)
            s.expect_stream_error(conditions)
        finally:
            s.close()
        check_healthy()
    return run


def jid_malformed():
    s = X.login(E, USER, PW, resource="jidtest", name="jidtest")
    try:
        for bad in ("@" + E["domain"], "a@b@" + E["domain"], "user@" + E["domain"] + "/",
                    "us\u0000er@" if False else "us er@" + E["domain"]):
            iid = s.next_id()
            s.send("<message to='%s' id='%s' type='chat'><body>x</body></message>" % (bad, iid))
            el = s.wait_for(lambda e: e.get("id") == iid, what="error for to=%r" % bad)
            cond = X.stanza_error_condition(el)
            if el.get("type") != "error" or cond != "jid-malformed":
                raise X.Fail("to=%r: expected jid-malformed error, got %s" % (bad, X.show(el)))
        s.ping()    # the stream survived
    finally:
        s.close()
    check_healthy()


def under_limit_passes():
    """A stanza just under the limit is delivered intact (the limit is not off by much)."""
    s = X.login(E, USER, PW, resource="big", name="big")
    try:
        body = "y" * (LIMIT // 2)
        iid = s.next_id()
        s.send("<message to='%s' id='%s' type='chat'><body>%s</body></message>"
               % (healthy.jid, iid, body))
        el = healthy.wait_for(lambda e: e.get("id") == iid, what="large message")
        if el.findtext(X.q(X.NS_CLIENT, "body")) != body:
            raise X.Fail("large body altered in transit")
    finally:
        s.close()


def main():
    global healthy
    healthy = X.login(E, USER, PW, resource="healthy", name="healthy")
    big = "<message to='%s' type='chat'><body>%s</body></message>" % (healthy.jid,
                                                                          "x" * (LIMIT + 1024))
    cases = []
    for phase in ("plain", "auth"):
        cases += [
            (phase + ": not-well-formed (mismatched tag)",
             case(phase, "<message><body>x</message>", "not-well-formed")),
            (phase + ": comment -> restricted-xml",
             case(phase, "<!-- hello -->", "restricted-xml")),
            (phase + ": processing instruction -> restricted-xml",
             case(phase, "<?evil data?>", "restricted-xml")),
            (phase + ": entity reference -> restricted-xml",
             case(phase, "<message><body>&lol;</body></message>", "restricted-xml")),
            (phase + ": invalid UTF-8",
             case(phase, b"<message><body>\xff\xfe\xc3\x28</body></message>",
                  ["unsupported-encoding", "not-well-formed"])),
            (phase + ": oversized stanza -> policy-violation",
             case(phase, big, "policy-violation")),
        ]
    cases += [
        ("DOCTYPE (billion laughs) before the header -> restricted-xml",
         header_case(BILLION_LAUGHS + stream_header(), "restricted-xml")),
        ("DOCTYPE inside the stream -> restricted-xml or not-well-formed",
         case("plain", "<!DOCTYPE x [<!ENTITY a 'b'>]>",
              ["restricted-xml", "not-well-formed"])),
        ("bad 'to' host -> host-unknown",
         header_case(stream_header(to="nowhere.invalid"), "host-unknown")),
        ("wrong stream namespace -> invalid-namespace",
         header_case(stream_header(stream_ns="http://example.com/streams"),
                     "invalid-namespace")),
        ("wrong content namespace -> invalid-namespace",
         header_case(stream_header(ns="jabber:wrong"), "invalid-namespace")),
        ("stanza before auth (after TLS) -> not-authorized",
         lambda: before_auth()),
        ("message to a malformed JID -> jid-malformed stanza error", jid_malformed),
        ("stanza under the size limit is delivered", under_limit_passes),
        ("healthy session still answers at the end", check_healthy),
    ]
    rc = X.run(cases)
    healthy.close()
    return rc


def before_auth():
    s = X.Stream(E["ip"], E["starttls_port"], E["domain"], E["cafile"], name="preauth")
    try:
        s.open()
        s.starttls()
        s.send("<message to='%s@%s' type='chat'><body>spam</body></message>"
               % (E["users"][1][0], E["domain"]))
        s.expect_stream_error("not-authorized")
    finally:
        s.close()
    check_healthy()


if __name__ == "__main__":
    sys.exit(main())
