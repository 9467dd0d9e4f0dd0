"""tests/e2e/test_login_abuse.py — login throttling across connections (server/stream/authfail.c).

Run with low limits (login-abuse.sh): 3 password failures from one address, 5 for one account,
then 60 s of refusals. Each case connects from its own 127.0.0.x address so the cases do not
share address counts. Asserts what a client receives: <temporary-auth-failure/> for a locked
address or account even with the right password, while other addresses and accounts log in;
failures that checked no password (mechanism probing, as Debian's slixmpp does with
SCRAM-*-PLUS, invalid mechanisms, aborts) never lock anyone out; every failure is logged with
its mechanism and reason. Real clients: slixmpp logs in again and again from one address.
"""
import asyncio
import base64
import os
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xmpplib as X  # noqa: E402

E = X.env()
(A, PA), (B, PB), (C, PC) = E["users"][:3]


def connect(source, name):
    s = X.Stream(E["ip"], E["starttls_port"], E["domain"], E["cafile"], name=name,
                 source=source)
    s.open()
    s.starttls()
    return s


def attempt(source, user, password, mech="PLAIN"):
    """One SASL attempt on a fresh connection; returns the answer's condition or 'success'."""
    s = connect(source, "%s@%s" % (user, source))
    ok, el = s.auth(user, password, mech)
    s.close()
    if ok:
        return "success"
    return X.sasl_condition(el)


def expect(got, want, what):
    if got != want:
        raise X.Fail("%s: got %s, expected %s" % (what, got, want))


def address_lockout():
    src = "127.0.0.2"
    for i in range(3):
        expect(attempt(src, A, "wrong%d" % i), "not-authorized", "wrong password %d" % i)
    # The address is refused now, whatever account it names and however right the password.
    expect(attempt(src, B, PB), "temporary-auth-failure", "right password from a locked address")
    expect(attempt(src, B, PB, "SCRAM-SHA-256"), "temporary-auth-failure",
           "SCRAM from a locked address")
    expect(attempt("127.0.0.9", B, PB), "success", "another address")
    expect(attempt("127.0.0.9", A, PA), "success", "the account tried from the locked address")


def account_lockout():
    n = 0
    for src in ("127.0.0.3", "127.0.0.4", "127.0.0.5"):
        for _ in range(2):
            if n == 5:
                break
            expect(attempt(src, C, "wrong%d" % n), "not-authorized", "wrong password %d" % n)
            n += 1
    # Five failures for carol from three addresses (none of them locked): carol is refused.
    expect(attempt("127.0.0.6", C, PC), "temporary-auth-failure", "locked account, PLAIN")
    expect(attempt("127.0.0.6", C, PC, "SCRAM-SHA-1"), "temporary-auth-failure",
           "locked account, SCRAM")
    expect(attempt("127.0.0.6", B, PB), "success", "another account from the same address")


def probing_not_throttled():
    src = "127.0.0.7"
    for round_ in range(6):
        s = connect(src, "probe%d" % round_)
        for mech in ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS",
                     "SCRAM-SHA-1-PLUS"):
            # A channel-binding type the connection does not have: malformed-request.
            ok, el = s.auth(A, PA, mech, cb_type="tls-unique", cb_data=b"")
            expect(X.sasl_condition(el), "malformed-request", mech + " with tls-unique")
        s.send("<auth xmlns='%s' mechanism='X-BOGUS'>AA==</auth>" % X.NS_SASL)
        expect(X.sasl_condition(s.next()), "invalid-mechanism", "unknown mechanism")
        s.send("<auth xmlns='%s' mechanism='SCRAM-SHA-1'/>" % X.NS_SASL)
        if s.next().tag != X.q(X.NS_SASL, "challenge"):
            raise X.Fail("no empty challenge")
        s.send("<abort xmlns='%s'/>" % X.NS_SASL)
        expect(X.sasl_condition(s.next()), "aborted", "abort")
        ok, el = s.auth(A, PA, "PLAIN")
        expect("success" if ok else X.sasl_condition(el), "success", "PLAIN after probing")
        s.close()


def failures_logged():
    with open(os.environ["E2E_SERVER_LOG"], "rb") as f:
        log = f.read().decode("utf-8", "replace")
    for want in ("mechanism=SCRAM-SHA-256-PLUS reason=malformed-request",
                 "mechanism=(not offered) reason=invalid-mechanism",
                 "mechanism=SCRAM-SHA-1 reason=aborted",
                 "mechanism=PLAIN reason=not-authorized",
                 "reason=temporary-auth-failure"):
        if want not in log:
            raise X.Fail("not in the server log: %r" % want)


def slixmpp_logs_in_repeatedly():
    """Debian's slixmpp tries SCRAM-*-PLUS first and fails with malformed-request (it cannot
    do the channel binding) before PLAIN: six logins from one address must all succeed."""
    sys.path.insert(0, "/usr/lib/python3/dist-packages")
    import slixmpp

    class Client(slixmpp.ClientXMPP):
        def __init__(self):
            super().__init__("%s@%s/s" % (B, E["domain"]), PB)
            self.ssl_context = ssl.create_default_context(cafile=E["cafile"])
            self.started = asyncio.Event()
            self.failed = asyncio.Event()
            self.add_event_handler("session_start", lambda _e: self.started.set())
            self.add_event_handler("failed_all_auth", lambda _e: self.failed.set())

    async def once(i):
        c = Client()
        c.connect(address=(E["ip"], E["starttls_port"]), force_starttls=True)  # from 127.0.0.1
        done, _ = await asyncio.wait([asyncio.ensure_future(c.started.wait()),
                                      asyncio.ensure_future(c.failed.wait())],
                                     timeout=20, return_when=asyncio.FIRST_COMPLETED)
        ok = c.started.is_set()
        c.disconnect()
        await asyncio.sleep(0.2)
        if not ok:
            raise X.Fail("slixmpp login %d failed" % i)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    for i in range(6):
        loop.run_until_complete(once(i))


if __name__ == "__main__":
    sys.exit(X.run([
        ("3 password failures lock the address, across connections", address_lockout),
        ("5 failures from several addresses lock the account", account_lockout),
        ("mechanism probing, unknown mechanisms and aborts are not throttled",
         probing_not_throttled),
        ("every SASL failure logged with mechanism and reason", failures_logged),
        ("slixmpp logs in again and again from one address", slixmpp_logs_in_repeatedly),
    ]))
