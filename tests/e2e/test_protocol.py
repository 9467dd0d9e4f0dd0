"""tests/e2e/test_protocol.py — stream-level protocol rules over raw XML.

Covers: TLS before authentication (RFC 6120 §5.3.1, §6.4.1: no PLAIN and no SASL before
STARTTLS), every SASL mechanism the server must offer over STARTTLS and direct TLS (XEP-0368),
wrong passwords (not-authorized), SCRAM channel binding (RFC 5802 §6: a client that could bind
but says "y" must fail when the server offers -PLUS; wrong binding data fails), whitespace
keepalives (RFC 6120 §4.6.1) and the clean close handshake (§4.4).
"""
import base64
import sys
import time

import xmpplib as X

E = X.env()
(U1, P1), (U2, P2) = E["users"][0], E["users"][1]


def plain_stream():
    s = X.Stream(E["ip"], E["starttls_port"], E["domain"], E["cafile"], name="pre-tls")
    s.open()
    return s


def no_plain_before_tls():
    s = plain_stream()
    try:
        st = s.features.find(X.q(X.NS_TLS, "starttls"))
        if st is None:
            raise X.Fail("no <starttls/> offered: %s" % X.show(s.features))
        if st.find(X.q(X.NS_TLS, "required")) is None:
            raise X.Fail("<starttls/> lacks <required/> although TLS is mandatory")
        if "PLAIN" in s.mechanisms():
            raise X.Fail("PLAIN offered before TLS: %s" % s.mechanisms())
    finally:
        s.close()


def sasl_before_tls_refused():
    s = plain_stream()
    try:
        import base64
        payload = base64.b64encode(("\0%s\0%s" % (U1, P1)).encode()).decode()
        s.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (X.NS_SASL, payload))
        try:
            el = s.next()
        except X.StreamClosed:
            raise X.Fail("connection closed without a SASL failure or stream error")
        if el.tag == X.q(X.NS_SASL, "success"):
            raise X.Fail("PLAIN login succeeded over cleartext!")
        if el.tag == X.q(X.NS_SASL, "failure"):
            conds = [c.tag.split("}")[1] for c in el]
            if "encryption-required" not in conds:
                raise X.Fail("SASL failure without encryption-required: %s" % X.show(el))
            return
        cond = X.stream_error_condition(el)
        if cond not in ("policy-violation", "not-authorized", "encryption-required"):
            raise X.Fail("unexpected answer to SASL before TLS: %s" % X.show(el))
    finally:
        s.close()


def mech_login(mech, direct):
    def run():
        port = E["direct_port"] if direct else E["starttls_port"]
        s = X.Stream(E["ip"], port, E["domain"], E["cafile"], direct_tls=direct,
                     name="%s/%s" % (mech, "direct" if direct else "starttls"))
        try:
            s.open()
            if not direct:
                s.starttls()
            if mech not in s.mechanisms():
                raise X.Fail("%s not offered after TLS (offered: %s)" % (mech, s.mechanisms()))
            ok, el = s.auth(U1, P1, mech)
            if not ok:
                raise X.Fail("login failed: %s" % X.show(el))
            jid = s.bind("m")
            if jid != "%s@%s/m" % (U1, E["domain"]):
                raise X.Fail("bound JID %r" % jid)
            s.ping()
        finally:
            s.close()
    return run


def secured(name="neg"):
    s = X.Stream(E["ip"], E["starttls_port"], E["domain"], E["cafile"], name=name)
    s.open()
    s.starttls()
    return s


def expect_failure(ok, el, condition="not-authorized"):
    if ok:
        raise X.Fail("authentication succeeded but must fail")
    if el.tag != X.q(X.NS_SASL, "failure"):
        raise X.Fail("expected SASL <failure/>, got %s" % X.show(el))
    conds = [c.tag.split("}")[1] for c in el if not c.tag.endswith("}text")]
    if condition not in conds:
        raise X.Fail("expected <%s/>, got %s" % (condition, X.show(el)))


def wrong_password(mech):
    def run():
        s = secured()
        try:
            expect_failure(*s.auth(U1, P1 + "x", mech))
            # RFC 6120 §6.4.5: the client may retry on the same stream.
            ok, el = s.auth(U1, P1, mech)
            if not ok:
                raise X.Fail("retry with the right password failed: %s" % X.show(el))
        finally:
            s.close()
    return run


def unknown_user():
    s = secured()
    try:
        expect_failure(*s.auth("nosuchuser", "whatever", "SCRAM-SHA-1"))
    finally:
        s.close()


def plus_wrong_binding(mech):
    def run():
        s = secured()
        try:
            expect_failure(*s.auth(U1, P1, mech, cb_data=b"\0" * 32))
        finally:
            s.close()
    return run


def downgrade_flag_refused(mech):
    """RFC 5802 §6: gs2 flag 'y' means 'I think you can't bind'; a server offering -PLUS fails it."""
    def run():
        s = secured()
        try:
            ok, el = s.auth(U1, P1, mech, gs2_flag="y,,")
            if ok:
                raise X.Fail("'y' flag accepted although the server offers -PLUS")
        finally:
            s.close()
    return run


def whitespace_keepalive():
    s = X.login(E, U1, P1, resource="ka", name="keepalive")
    try:
        for _ in range(3):
            s.send(" \n\t ")
        s.ping()
        s.send("\n")
        s.ping()
    finally:
        s.close()


def clean_close():
    s = X.login(E, U1, P1, resource="bye", name="close")
    try:
        s.send("</stream:stream>")
        try:
            while True:
                el = s.next()
                if X.stream_error_condition(el):
                    raise X.Fail("stream error on clean close: %s" % X.show(el))
        except X.StreamClosed:
            pass
        if not s.ended:
            raise X.Fail("server closed the TCP connection without </stream:stream>")
        s.expect_close()
    finally:
        s.close()


def close_before_auth():
    s = plain_stream()
    try:
        s.send("</stream:stream>")
        try:
            while True:
                s.next()
        except X.StreamClosed:
            pass
        if not s.ended:
            raise X.Fail("no </stream:stream> in answer to </stream:stream> before TLS")
    finally:
        s.close()


def plain_with_authzid(authzid, user, pw):
    s = secured("authzid")
    payload = authzid.encode() + b"\0" + user.encode() + b"\0" + pw.encode()
    s.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>"
           % (X.NS_SASL, base64.b64encode(payload).decode()))
    return s, s.next()


def authzid_other_refused():
    """RFC 6120 §6.3.8: acting as another account is refused with invalid-authzid."""
    other = "%s@%s" % (E["users"][1][0], E["domain"])
    s, el = plain_with_authzid(other, U1, P1)
    try:
        expect_failure(False, el, "invalid-authzid")
    finally:
        s.close()


def authzid_self_accepted():
    s, el = plain_with_authzid("%s@%s" % (U1, E["domain"]), U1, P1)
    try:
        if el.tag != X.q(X.NS_SASL, "success"):
            raise X.Fail("authzid equal to the account was refused: %s" % X.show(el))
    finally:
        s.close()


def scram_authzid_other_refused():
    s = secured("authzid")
    other = "%s@%s" % (E["users"][1][0], E["domain"])
    try:
        expect_failure(*s.auth(U1, P1, "SCRAM-SHA-256", gs2_flag="n,a=%s," % other),
                       condition="invalid-authzid")
    finally:
        s.close()


def spoofed_from_refused():
    """The server stamps 'from'; a client claiming another JID gets invalid-from."""
    s = X.login(E, U1, P1, resource="spoof", name="spoof")
    other = "%s@%s/x" % (E["users"][1][0], E["domain"])
    s.send("<message from='%s' to='%s' type='chat'><body>forged</body></message>"
           % (other, other))
    s.expect_stream_error(["invalid-from"])


def failure_delay_grows():
    """Repeated wrong passwords for one account are answered more and more slowly. From an
    address of its own and for an account no other case fails on, so the counts are ours."""
    s = X.Stream(E["ip"], E["starttls_port"], E["domain"], E["cafile"], name="delay",
                 source="127.0.0.77")
    s.open()
    s.starttls()
    user, pw = E["users"][2]
    try:
        times = []
        for _ in range(3):
            t0 = time.monotonic()
            expect_failure(*s.auth(user, pw + "wrong", "SCRAM-SHA-1"))
            times.append(time.monotonic() - t0)
        print("# failure delays: %s" % ", ".join("%.2f s" % t for t in times))
        if not (times[0] >= 0.2 and times[2] > times[0] * 1.5):
            raise X.Fail("failure delay does not grow: %s" % times)
    finally:
        s.close()


def main():
    expected = E["mechs"]
    cases = [("starttls required, no PLAIN before TLS", no_plain_before_tls),
             ("SASL before STARTTLS refused", sasl_before_tls_refused)]
    for mech in expected:
        cases.append(("login %s over STARTTLS" % mech, mech_login(mech, False)))
        if E["direct_port"]:
            cases.append(("login %s over direct TLS" % mech, mech_login(mech, True)))
        if not mech.endswith("-PLUS"):
            cases.append(("wrong password %s -> not-authorized then retry" % mech,
                          wrong_password(mech)))
        else:
            cases.append(("%s with wrong binding data fails" % mech, plus_wrong_binding(mech)))
            base = mech[:-5]
            cases.append(("%s with gs2 flag y fails while -PLUS is offered" % base,
                          downgrade_flag_refused(base)))
    if E["server"] == "myna":
        cases += [("PLAIN authzid of another account -> invalid-authzid", authzid_other_refused),
                  ("PLAIN authzid equal to the account accepted", authzid_self_accepted),
                  ("SCRAM authzid of another account -> invalid-authzid",
                   scram_authzid_other_refused),
                  ("spoofed from -> invalid-from", spoofed_from_refused),
                  ("failure delay grows", failure_delay_grows)]
    cases += [("unknown user -> not-authorized", unknown_user),
              ("whitespace keepalives accepted", whitespace_keepalive),
              ("clean close gets </stream:stream>", clean_close),
              ("close before TLS gets </stream:stream>", close_before_auth)]
    return X.run(cases)


if __name__ == "__main__":
    sys.exit(main())
