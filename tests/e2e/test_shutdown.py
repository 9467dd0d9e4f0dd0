"""tests/e2e/test_shutdown.py — SIGTERM with clients connected: output is held until the end
of a loop iteration (after the storage commit), so the shutdown must still reach everyone.
A bound session and a client that has only opened its stream each receive the
<system-shutdown/> stream error, then </stream:stream>, then the TCP close, and mynad exits
with status 0 (RFC 6120 §4.9.3.22). The server is then started again on the same data and
serves a new login."""
import xmpplib as X

E = X.env()
(U0, P0), (U1, P1) = E["users"][:2]


def shutdown_reaches_everyone():
    bound = X.login(E, U0, P0, resource="desk", name="bound", presence=True)
    bound.ping()
    early = X.Stream(E["ip"], E["starttls_port"], E["domain"], E["cafile"], name="early")
    early.open()
    X.server_control("stop")
    for s in (bound, early):
        cond = s.expect_stream_error(["system-shutdown"])
        if cond != "system-shutdown":
            raise X.Fail("%s: %s" % (s.name, cond))
    X.server_control("start")
    again = X.login(E, U1, P1, resource="after", name="after")
    again.ping()
    again.close()


if __name__ == "__main__":
    raise SystemExit(X.run([("shutdown_reaches_everyone", shutdown_reaches_everyone)]))
