"""tests/e2e/test_scram_salts.py — SCRAM does not tell whether an account exists (issue 13).

Run with scram_iterations = 5000 (scram-salts.sh). Asserts what a client sees in the
server-first-message: an unknown user's salt differs between SCRAM-SHA-1 and SCRAM-SHA-256
like a real account's, stays the same on every try and across a server restart (the secret
is in the store), and carries the iteration count real accounts made with this config have.
"""
import base64
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xmpplib as X  # noqa: E402

E = X.env()
(A, PA) = E["users"][0]


def first(user, mech):
    """(salt, iterations) of the server-first-message for user with mech."""
    s = X.Stream(E["ip"], E["direct_port"], E["domain"], E["cafile"], direct_tls=True,
                 name="salt")
    s.open()
    bare = "n=%s,r=abcdefghijklmnop" % user
    s.send("<auth xmlns='%s' mechanism='%s'>%s</auth>"
           % (X.NS_SASL, mech, base64.b64encode(("n,," + bare).encode()).decode()))
    el = s.next()
    s.close()
    if el.tag != X.q(X.NS_SASL, "challenge"):
        raise X.Fail("no challenge for %s/%s: %s" % (user, mech, X.show(el)))
    attrs = dict(kv.split("=", 1) for kv in base64.b64decode(el.text).decode().split(","))
    return attrs["s"], int(attrs["i"])


def salts():
    return {(u, m): first(u, m) for u in (A, "nosuchuser")
            for m in ("SCRAM-SHA-1", "SCRAM-SHA-256")}


before = {}


def per_hash_like_real():
    before.update(salts())
    for u in (A, "nosuchuser"):
        if before[(u, "SCRAM-SHA-1")][0] == before[(u, "SCRAM-SHA-256")][0]:
            raise X.Fail("%s: the same salt for SHA-1 and SHA-256" % u)
    for (u, m), (_salt, it) in before.items():
        if it != 5000:
            raise X.Fail("%s/%s: %d iterations, expected the configured 5000" % (u, m, it))
    if salts() != before:
        raise X.Fail("salts changed between tries")


def stable_across_restart():
    X.server_control("restart")
    after = salts()
    if after != before:
        raise X.Fail("salts changed across a restart: %r -> %r" % (before, after))
    X.login(E, A, PA, mech="SCRAM-SHA-256").close()


if __name__ == "__main__":
    sys.exit(X.run([
        ("unknown user: a salt per hash and the configured iterations, like a real account",
         per_hash_like_real),
        ("the same salts after a restart", stable_across_restart),
    ]))
